/**
 * Rendering channel history for the `fetch_messages` tool: one line per
 * message, oldest first, in a form no message can imitate.
 *
 * @module
 */

import { cleanMetaValue, neutralizeContent } from "./sanitize.ts";

/** One fetched message, reduced to the plain data the tool shows. */
export interface HistoryRow {
  id: string;
  /** ISO 8601 creation time. */
  timestamp: string;
  authorId: string;
  authorName: string;
  content: string;
  attachmentCount: number;
}

/** What a line break in content is shown as. */
const NEWLINE_MARK = " ⏎ ";
const LINE_BREAK_RE = /\r\n|[\r\n\v\f\u0085\u2028\u2029]/g;
const MAX_NAME = 64;
/**
 * A timestamp bracket where a row would start (content start or right after a
 * shown line break): its `[` becomes a full-width `［`, so even a reader that
 * takes ` ⏎ ` for a line break does not see a forged row.
 */
const FAKE_ROW_RE = /(^\s*|⏎ \s*)\[(?=\s*\d{4}-\d{2}-\d{2})/g;

/**
 * Formats messages as lines like
 * `[2026-11-21T06:00:00.000Z] alice: text (id: 123, +2 att)`, oldest first,
 * with the bot itself shown as `me`. Returns `(no messages)` for none.
 *
 * Line breaks in content are shown as ` ⏎ `, so a message cannot start a line
 * of its own and forge a row, for example a fake `[…] me: approved` from the
 * bot (a timestamp bracket where a row would start is made full-width as
 * well); fake wrapper tags are defanged with {@link neutralizeContent}. Names are
 * flattened to one line, and a user whose name is `me` gets their ID added so
 * they cannot pass for the bot.
 */
export function formatHistory(rows: readonly HistoryRow[], botId: string): string {
  if (rows.length === 0) return "(no messages)";
  return [...rows].sort(compareRows).map((row) => formatRow(row, botId)).join("\n");
}

function formatRow(row: HistoryRow, botId: string): string {
  const time = cleanMetaValue(row.timestamp, 40, "?");
  const id = cleanMetaValue(row.id, 40, "?");
  const text = neutralizeContent(
    row.content.replace(LINE_BREAK_RE, NEWLINE_MARK).replace(FAKE_ROW_RE, "$1\uFF3B"),
  ).trim();
  const count = Number.isFinite(row.attachmentCount)
    ? Math.max(0, Math.floor(row.attachmentCount))
    : 0;
  const att = count > 0 ? `, +${count} att` : "";
  return `[${time}] ${authorLabel(row, botId)}: ${text || "(no text)"} (id: ${id}${att})`;
}

function authorLabel(row: HistoryRow, botId: string): string {
  if (row.authorId === botId) return "me";
  const name = cleanMetaValue(row.authorName, MAX_NAME, "unknown");
  // Anyone can pick the display name "me"; the ID tells them apart from the bot.
  if (name.trim().toLowerCase() === "me") {
    return `${name} (user ${cleanMetaValue(row.authorId, 40, "?")})`;
  }
  return name;
}

/** Oldest first by time, then by snowflake ID (which also grows with time). */
function compareRows(a: HistoryRow, b: HistoryRow): number {
  const ta = Date.parse(a.timestamp);
  const tb = Date.parse(b.timestamp);
  if (Number.isFinite(ta) && Number.isFinite(tb) && ta !== tb) return ta - tb;
  return compareIds(a.id, b.id);
}

function compareIds(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
