/**
 * Planning one `reply`: Claude's Markdown shaped for Discord, split into
 * messages that keep code blocks and tables whole, long output folded into
 * an attached `.md` file, and link embeds suppressed when a reply carries
 * many links.
 *
 * @module
 */
import type { MessageBody } from "../discord/port.ts";
import { planMessage, type SplitMode } from "./chunk.ts";
import { shapeForDiscord } from "./discord_markdown.ts";

/** Default number of messages a reply may take before the rest goes to a file. */
export const DEFAULT_MAX_REPLY_MESSAGES = 8;
/** More links than this in one reply and Discord's link previews are suppressed. */
export const EMBED_LINK_THRESHOLD = 3;
/** Discord's SUPPRESS_EMBEDS message flag. */
export const SUPPRESS_EMBEDS = 1 << 2;
/** Name of the file that carries the rest of a long reply. */
export const OVERFLOW_FILE_NAME = "reply-continued.md";

/** Options for {@link planOutbound}. */
export interface OutboundOptions {
  limit: number;
  mode: SplitMode;
  /** Most messages one reply may take (at least 2); past that the rest is attached as a file. */
  maxMessages?: number;
  replyTo?: string;
  replyToMode: "off" | "first" | "all";
}

/** What a reply sends: message bodies in order, and the file for the last one if any. */
export interface OutboundPlan {
  bodies: MessageBody[];
  /** The rest of a long reply, attached to the last body. */
  overflow?: { name: string; text: string };
  /** The Markdown after shaping (what the messages and the file carry together). */
  shaped: string;
}

/** Counts links Discord would preview: bare and masked `http(s)` URLs, not `<url>` ones. */
export function countPreviewLinks(text: string): number {
  let n = 0;
  for (const m of text.matchAll(/<?https?:\/\/[^\s<>()]+>?/g)) {
    if (!(m[0].startsWith("<") && m[0].endsWith(">"))) n++;
  }
  return n;
}

/**
 * Plans the messages of one reply. Text is shaped with
 * {@link shapeForDiscord}, split at `limit` keeping tables and code blocks
 * that fit in one message whole; when that takes more than `maxMessages`
 * messages, the first `maxMessages - 1` are sent and a last short message
 * says that the rest is in the attached file. Every body disables mention
 * parsing; `replyTo` is quoted per `replyToMode`.
 */
export function planOutbound(text: string, opts: OutboundOptions): OutboundPlan {
  const shaped = shapeForDiscord(text);
  const plan = planMessage(shaped.text, {
    limit: opts.limit,
    mode: opts.mode,
    atomic: shaped.atomic,
  });
  const chunks: { content: string; offset: number; prefix: string }[] = [];
  let offset = 0;
  for (const c of plan) {
    if (c.prefix !== "" || c.suffix !== "" || c.body.trim() !== "") {
      chunks.push({ content: c.prefix + c.body + c.suffix, offset, prefix: c.prefix });
    }
    offset += c.body.length;
  }
  // Two at least: the first part and the message that carries the file.
  const max = Math.max(2, Math.floor(opts.maxMessages ?? DEFAULT_MAX_REPLY_MESSAGES));
  let contents = chunks.map((c) => c.content);
  let overflow: OutboundPlan["overflow"];
  if (chunks.length > max) {
    const keep = max - 1;
    // A file that starts inside a code block reopens it (fence and language),
    // as the next message would have, so the file's Markdown stays balanced.
    // Blank lines are trimmed off the start only outside code.
    const tail = shaped.text.slice(chunks[keep].offset);
    const rest = chunks[keep].prefix ? chunks[keep].prefix + tail : tail.replace(/^\s*\n/, "");
    overflow = { name: OVERFLOW_FILE_NAME, text: rest };
    contents = [
      ...contents.slice(0, keep),
      `-# The reply continues in the attached file ${OVERFLOW_FILE_NAME} (${rest.length} more characters, about ${
        chunks.length - keep
      } messages).`,
    ];
  }
  // Files without text still need one message to carry them.
  if (contents.length === 0) contents.push("");
  const suppress = countPreviewLinks(shaped.text) > EMBED_LINK_THRESHOLD;
  const bodies = contents.map((content, i) => {
    const body: MessageBody = {
      ...(content ? { content } : {}),
      // Replies never ping @everyone, @here or roles, whatever the text says:
      // Claude may echo text a stranger wrote.
      allowed_mentions: { parse: [], replied_user: false },
    };
    if (suppress) body.flags = SUPPRESS_EMBEDS;
    const quote = opts.replyTo &&
      (opts.replyToMode === "all" || (opts.replyToMode === "first" && i === 0));
    if (quote) body.message_reference = { message_id: opts.replyTo!, fail_if_not_exists: false };
    return body;
  });
  return { bodies, overflow, shaped: shaped.text };
}
