/**
 * Rendering permission prompts as Discord REST v10 message bodies (plain
 * JSON: content, button rows, allowed mentions).
 *
 * Every field of a request is untrusted and unbounded: `input_preview` can
 * reach ~15,000 characters, and the tool name and description can hold
 * Markdown, mentions or backticks. So text outside code blocks is
 * Markdown-escaped, code blocks cannot be closed from inside, hidden
 * characters are shown as `⟨U+…⟩` markers, every payload pings nobody, and
 * no content exceeds 2,000 characters whatever the input.
 *
 * Buttons: a prompt carries Allow (success), Deny (danger) and Details
 * (secondary). The Details view keeps Allow and Deny and shows Details
 * disabled, since there is nothing more to expand. Outcome and expiry views
 * carry no components, which removes the buttons when the message is edited.
 *
 * @module
 */

import { z } from "zod";
import { DISCORD_MESSAGE_LIMIT } from "../access/schema.ts";
import { cleanMetaValue, cutUnits, revealInvisible } from "../text/sanitize.ts";
import { isRequestId, permissionButtonId } from "./verdict.ts";

/** The params of Claude Code's `notifications/claude/channel/permission_request`. */
export const PermissionRequestSchema = z.object({
  request_id: z.string(),
  tool_name: z.string(),
  description: z.string(),
  input_preview: z.string(),
});
/** A parsed permission request. */
export type PermissionRequest = z.infer<typeof PermissionRequestSchema>;

/** A Discord button (component type 2) with a custom ID. */
export interface ButtonComponent {
  type: 2;
  /** 2 secondary (grey), 3 success (green), 4 danger (red). */
  style: 2 | 3 | 4;
  label: string;
  custom_id: string;
  emoji?: { name: string };
  disabled?: boolean;
}

/** A Discord action row (component type 1). */
export interface ActionRow {
  type: 1;
  components: ButtonComponent[];
}

/** A message body for create or edit; `allowed_mentions.parse: []` pings nobody. */
export interface PromptPayload {
  content: string;
  components: ActionRow[];
  allowed_mentions: { parse: [] };
}

/** Options for {@link renderPrompt} and {@link renderDetails}. */
export interface PromptOptions {
  /** When the bridge stops accepting answers (ms since the epoch). */
  expiresAt?: number;
}

/** How a request was answered, for {@link renderOutcome}. */
export interface OutcomeOptions {
  behavior: "allow" | "deny";
  /** Display name of whoever answered. */
  decidedBy: string;
  via?: "button" | "text";
}

/** Raw characters of `input_preview` shown in the compact prompt. */
export const SHORT_PREVIEW_CHARS = 300;

const MAX_TOOL_NAME = 80;
const MAX_DESCRIPTION = 500;
/** Rendered cap of the description: escapes and `⟨U+…⟩` markers can grow it. */
const MAX_DESCRIPTION_RENDERED = 700;
const MAX_OUTCOME_DESCRIPTION = 200;
const MAX_NAME = 64;
const ZWSP = "\u200b";

/**
 * The compact prompt: who wants to run what, the description, the first
 * {@link SHORT_PREVIEW_CHARS} characters of the input in a code block, the
 * request ID with the `yes`/`no` text fallback, the expiry as a Discord
 * relative timestamp, and Allow / Deny / Details buttons.
 */
export function renderPrompt(req: PermissionRequest, opts: PromptOptions = {}): PromptPayload {
  const preview = collapseBlanks(normalizeBreaks(req.input_preview));
  const shown = fit(cutUnits(preview, SHORT_PREVIEW_CHARS), codeSafe, 450);
  const truncated = shown.rawLength < preview.length;
  const parts = [header(req), description(req.description, MAX_DESCRIPTION)];
  if (preview.trim() !== "") {
    parts.push(codeBlock(shown.text + (truncated ? "\n…" : ""), ""));
    if (truncated) {
      const more = preview.length - shown.rawLength;
      parts.push(`-# ${formatCount(more)} more characters: press Details to see them.`);
    }
  }
  parts.push(...footer(req, opts));
  return payload(join(parts), buttons(req, false));
}

/**
 * Shortens long runs of blanks (spaces, tabs, escaped `\n`/`\t`) in the
 * compact preview. Padding is how a command hides its tail past the
 * preview's cut: `ls` + 500 spaces + `; rm -rf ~` must show the `rm`.
 */
export function collapseBlanks(text: string): string {
  return text.replace(/(?:[ \t]|\\[nrt]){8,}/g, (run) => ` ⟨${run.length} blank⟩ `);
}

/**
 * The same prompt expanded in place: the whole input, pretty-printed when it
 * parses as JSON, else as it came, in one code block; cut to fit with a
 * `… [truncated: N more characters — see the terminal]` line. Allow and Deny
 * stay; Details is shown disabled.
 */
export function renderDetails(req: PermissionRequest, opts: PromptOptions = {}): PromptPayload {
  const { text: full, lang } = prettyInput(normalizeBreaks(req.input_preview));
  const head = [header(req), description(req.description, MAX_DESCRIPTION)];
  const foot = footer(req, opts);
  const fixed = join([...head, codeBlock("", lang), ...foot]).length;
  let body = full.trim() === "" ? "(empty)" : full;
  let marker = "";
  const room = DISCORD_MESSAGE_LIMIT - fixed;
  if (codeSafe(body).length > room) {
    // Reserve room for the marker with the largest count it could show.
    const reserve = truncationMarker(full.length).length + 1;
    const shown = fit(full, codeSafe, room - reserve);
    marker = truncationMarker(full.length - shown.rawLength);
    body = shown.text;
  } else {
    body = codeSafe(body);
  }
  const parts = [...head, "```" + lang + "\n" + body + "\n```"];
  if (marker) parts.push(marker);
  parts.push(...foot);
  return payload(join(parts), buttons(req, true));
}

/** The prompt after an answer: who allowed or denied it, and no buttons. */
export function renderOutcome(req: PermissionRequest, opts: OutcomeOptions): PromptPayload {
  const who = escapeMarkdown(cleanMetaValue(opts.decidedBy, MAX_NAME, "someone"));
  const verdict = opts.behavior === "allow" ? `✅ Allowed by ${who}` : `❌ Denied by ${who}`;
  const via = opts.via === "button" ? " (button)" : opts.via === "text" ? " (text reply)" : "";
  const summary = summaryLine(req);
  return payload(join([verdict + via, summary, `Request ${idLabel(req)}`]), []);
}

/**
 * The prompt after it expired unanswered here. Claude Code does not tell the
 * channel when the terminal answers first, so the terminal may still be
 * waiting; the message says so. No buttons.
 */
export function renderExpired(req: PermissionRequest): PromptPayload {
  return payload(
    join([
      "⌛ This permission request expired without an answer here.",
      summaryLine(req),
      `Request ${idLabel(req)}. The terminal may still be waiting for an answer: answer it there.`,
    ]),
    [],
  );
}

/**
 * Escapes Discord Markdown in text shown outside code blocks, so a tool name
 * or description cannot add formatting, masked links (`[safe](https://evil)`),
 * headings, quotes, spoilers, code spans, or mentions and timestamps (`<@id>`,
 * `<t:…>`); `@everyone` and `@here` also get a zero-width space after the
 * `@`, so they read as text even where a client ignores `allowed_mentions`.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\\`*_~|<>#\-\[\]()]/g, "\\$&")
    // List markers that are not otherwise escaped: "1. step", "+ item".
    .replace(/^(\s*\d+)\./gm, "$1\\.")
    .replace(/^(\s*)\+/gm, "$1\\+")
    .replace(/@(?=everyone|here)/gi, "@" + ZWSP);
}

function payload(content: string, components: ActionRow[]): PromptPayload {
  // Defensive only: the budgets above keep content in bounds by construction.
  const safe = content.length <= DISCORD_MESSAGE_LIMIT
    ? content
    : cutUnits(content, DISCORD_MESSAGE_LIMIT - 1) + "…";
  return { content: safe, components, allowed_mentions: { parse: [] } };
}

function join(parts: string[]): string {
  return parts.filter((p) => p !== "").join("\n");
}

function header(req: PermissionRequest): string {
  const tool = escapeMarkdown(cleanMetaValue(req.tool_name, MAX_TOOL_NAME, "a tool"));
  return `🔐 Claude wants to run **${tool}**`;
}

function description(text: string, maxRaw: number): string {
  const flat = normalizeBreaks(text).replace(/\n{3,}/g, "\n\n").trim();
  if (flat === "") return "";
  const raw = cutUnits(flat, maxRaw);
  const shown = fit(raw, describe, MAX_DESCRIPTION_RENDERED);
  return shown.text + (shown.rawLength < flat.length ? "…" : "");
}

function describe(text: string): string {
  return escapeMarkdown(revealInvisible(text));
}

function summaryLine(req: PermissionRequest): string {
  const tool = escapeMarkdown(cleanMetaValue(req.tool_name, MAX_TOOL_NAME, "a tool"));
  const desc = cleanMetaValue(req.description, MAX_OUTCOME_DESCRIPTION);
  return `🔐 **${tool}**` + (desc ? `: ${escapeMarkdown(desc)}` : "");
}

function footer(req: PermissionRequest, opts: PromptOptions): string[] {
  const expires = opts.expiresAt !== undefined && Number.isFinite(opts.expiresAt) &&
      opts.expiresAt > 0
    ? ` · expires <t:${Math.floor(opts.expiresAt / 1000)}:R>`
    : "";
  if (!isRequestId(req.request_id)) {
    return [
      `Request ${idLabel(req)}${expires}`,
      "This request has an unexpected ID, so it can only be answered in the terminal.",
    ];
  }
  const id = req.request_id;
  return [
    `Request \`${id}\`${expires}`,
    `Press Allow or Deny, or reply \`yes ${id}\` / \`no ${id}\`.`,
  ];
}

/** The request ID as inline code; a malformed one is cleaned and shortened first. */
function idLabel(req: PermissionRequest): string {
  if (isRequestId(req.request_id)) return `\`${req.request_id}\``;
  const cleaned = cleanMetaValue(req.request_id, 24, "?").replace(/`/g, "'");
  return `\`${cleaned}\``;
}

function buttons(req: PermissionRequest, detailsShown: boolean): ActionRow[] {
  // An ID that could not be parsed back from a click gets no buttons at all.
  if (!isRequestId(req.request_id)) return [];
  const id = req.request_id;
  const details: ButtonComponent = {
    type: 2,
    style: 2,
    label: "Details",
    custom_id: permissionButtonId("details", id),
  };
  if (detailsShown) details.disabled = true;
  return [{
    type: 1,
    components: [
      { type: 2, style: 3, label: "Allow", custom_id: permissionButtonId("allow", id) },
      { type: 2, style: 4, label: "Deny", custom_id: permissionButtonId("deny", id) },
      details,
    ],
  }];
}

/** Text made safe inside a ``` block: hidden characters shown, no run of backticks left. */
function codeSafe(text: string): string {
  // Discord closes a code block at any ```, even mid-line, and has no longer
  // fences; a zero-width space between backticks keeps the block shut.
  return revealInvisible(text).replace(/`(?=`)/g, "`" + ZWSP);
}

function codeBlock(safeText: string, lang: string): string {
  return "```" + lang + "\n" + safeText + "\n```";
}

function prettyInput(preview: string): { text: string; lang: string } {
  try {
    return { text: JSON.stringify(JSON.parse(preview), null, 2), lang: "json" };
  } catch {
    return { text: preview, lang: "" };
  }
}

function truncationMarker(more: number): string {
  return `… [truncated: ${formatCount(more)} more characters — see the terminal]`;
}

function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

function normalizeBreaks(text: string): string {
  return text.replace(/\r\n/g, "\n");
}

/**
 * The longest prefix of `raw` whose rendering fits in `max` units, rendered.
 * Rendering is character-local, so the rendered length grows with the prefix
 * and a binary search finds it.
 */
function fit(
  raw: string,
  render: (s: string) => string,
  max: number,
): { text: string; rawLength: number } {
  const whole = render(raw);
  if (whole.length <= max) return { text: whole, rawLength: raw.length };
  let lo = 0;
  let hi = raw.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (render(cutUnits(raw, mid)).length <= max) lo = mid;
    else hi = mid - 1;
  }
  const prefix = cutUnits(raw, lo);
  return { text: render(prefix), rawLength: prefix.length };
}

/** A line every rendering of a prompt starts one of its lines with. */
const PROMPT_TITLE_RE = /^🔐 /m;
/** The request line every rendering carries (`Request \`abcde\``, also for a malformed ID). */
const PROMPT_REQUEST_RE = /^Request `[^`\n]*`/m;

/**
 * Recognises a permission prompt from what Discord returns for a message, in
 * every state: open or expanded (its buttons carry `perm:` custom IDs), and
 * answered or expired (no buttons left, but the text keeps the 🔐 line and the
 * `Request \`abcde\`` line that {@link renderPrompt}, {@link renderDetails},
 * {@link renderOutcome} and {@link renderExpired} all write).
 *
 * This needs no memory of what was posted, so it holds after a restart and
 * across sessions. An edit cannot strip the marker first: any edit of a
 * message that carries it is refused. A message of the bot's that merely
 * looks like a prompt is refused too, which errs on the safe side.
 */
export function isPermissionPromptMessage(
  m: { content: string; hasComponents?: boolean },
): boolean {
  // Buttons: only prompts carry them; editing keeps them, so never allowed.
  if (m.hasComponents) return true;
  return PROMPT_TITLE_RE.test(m.content) && PROMPT_REQUEST_RE.test(m.content);
}

/**
 * A line that starts, after blanks, invisible characters, list or quote
 * markers and Markdown emphasis, with 🔐: the mark every rendering of a
 * prompt opens with.
 */
const PROMPT_LOOKALIKE_RE = /^[\s\u200b-\u200f\u2060\ufeff>#*_~|`\\\-+.)\d]*🔐/m;

/** Why a tool refuses text that reads as a permission prompt (reply, edit_message). */
export const COUNTERFEIT_REFUSAL =
  "the text has a line starting with 🔐, which marks the bridge's permission prompts; " +
  "messages must not look like one (use another emoji); nothing was sent";

/**
 * True when text Claude wants to post (a reply, an edit) would read as a
 * permission prompt: one of its lines starts with 🔐. Tools refuse such text,
 * so a hijacked session can neither post a counterfeit prompt ("✅ Allowed by
 * alice … Request `abcde`", or an open-looking one asking for `yes abcde`
 * under a harmless description) nor turn one of its messages into one.
 */
export function imitatesPermissionPrompt(text: string): boolean {
  return PROMPT_LOOKALIKE_RE.test(text) || isPermissionPromptMessage({ content: text });
}
