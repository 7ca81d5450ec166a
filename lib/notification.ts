/**
 * How a delivered Discord message becomes a `notifications/claude/channel`
 * event. Claude Code drops a whole event when any meta value is not a string
 * and drops meta keys that are not identifiers, silently; it does not escape
 * the content. Everything here makes sure that an event always arrives, and
 * that nothing a Discord user types can pose as structure around it.
 *
 * @module
 */
import type { InboundFacts } from "./gate.ts";
import { cleanMetaValue, neutralizeContent, safeFileName, shapeMeta } from "./text/sanitize.ts";

/** An attachment as listed (not downloaded) on an inbound message. */
export interface AttachmentInfo {
  id: string;
  name: string;
  contentType?: string;
  size: number;
  url: string;
}

/** A Discord message reduced to the plain data the core works with. */
export interface InboundMessage extends InboundFacts {
  id: string;
  guildId?: string;
  /** The author's username (unique handle). */
  authorName: string;
  /** ISO 8601 creation time. */
  createdAt: string;
  attachments: AttachmentInfo[];
  /** The message this one replies to, if any. */
  replyToId?: string;
}

/** The params of a `notifications/claude/channel` event. */
export interface ChannelEvent {
  content: string;
  meta: Record<string, string>;
}

/** Formats a byte count the way people read it (e.g. `12 KB`). */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** One attachment's listing: `name (type, size)`, with the uploader-controlled name made safe. */
export function describeAttachment(att: AttachmentInfo): string {
  const type = cleanMetaValue(att.contentType ?? "", 64) || "unknown";
  return `${safeFileName(att.name, att.id)} (${type}, ${formatSize(att.size)})`;
}

/** Builds the channel event for a message that passed the gate. */
export function toChannelEvent(msg: InboundMessage, opts: { missed?: boolean } = {}): ChannelEvent {
  const meta: Record<string, unknown> = {
    chat_id: msg.channelId,
    message_id: msg.id,
    user: cleanMetaValue(msg.authorName, 64) || msg.authorId,
    user_id: msg.authorId,
    ts: msg.createdAt,
  };
  if (msg.guildId) meta.guild_id = msg.guildId;
  if (msg.parentId) meta.parent_channel_id = msg.parentId;
  if (msg.replyToId) meta.reply_to = msg.replyToId;
  if (msg.attachments.length > 0) {
    meta.attachment_count = String(msg.attachments.length);
    // Listed in meta only: an annotation in the content could be forged by
    // any allowlisted sender typing the same text.
    meta.attachments = msg.attachments.map(describeAttachment).join("; ");
  }
  if (opts.missed) meta.missed = "true";
  const text = neutralizeContent(msg.content);
  const content = text || (msg.attachments.length > 0 ? "(attachment)" : "(empty message)");
  return { content, meta: shapeMeta(meta) };
}
