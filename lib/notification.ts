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
import type { RichParts } from "./discord/raw.ts";
import { renderRich, richMeta } from "./text/inbound.ts";
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
  /** Quoted reply, forwards, embeds, stickers, poll, voice (see `readRich`). */
  rich?: RichParts;
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

/**
 * A MIME type reduced to `type/subtype`, or `unknown`. The uploader chooses it,
 * and Discord passes parameters through (`text/plain; charset=utf-8`): a `;`
 * or parenthesis in it could fake an extra entry in the `; `-separated
 * listing, so anything but a plain token pair is not shown.
 */
export function safeContentType(contentType: string | undefined): string {
  const bare = (contentType ?? "").split(";")[0].trim().toLowerCase();
  return /^[a-z0-9][a-z0-9.+-]{0,40}\/[a-z0-9][a-z0-9.+-]{0,80}$/.test(bare) ? bare : "unknown";
}

/** One attachment's listing: `name (type, size)`, with the uploader-controlled name made safe. */
export function describeAttachment(att: AttachmentInfo): string {
  return `${safeFileName(att.name, att.id)} (${safeContentType(att.contentType)}, ${
    formatSize(att.size)
  })`;
}

/**
 * Room for the `attachments` meta value. Ten attachments with long names take
 * about 1,500 characters, more than the 256 other meta values get; this keeps
 * one message's listing whole while bounding what a sender can push into
 * the event's attributes.
 */
export const ATTACHMENTS_META_MAX = 2000;

/**
 * The `attachments` meta value: entries joined by `; `, cut only between
 * entries and then marked `… +N more`, so a listing is never cut mid-name.
 */
export function listAttachments(
  atts: readonly AttachmentInfo[],
  max = ATTACHMENTS_META_MAX,
): string {
  const entries = atts.map(describeAttachment);
  let out = "";
  for (const [i, entry] of entries.entries()) {
    const next = out ? `${out}; ${entry}` : entry;
    const rest = entries.length - i - 1;
    // Keep room for the marker in case a later entry does not fit.
    const reserve = rest > 0 ? `; … +${rest} more`.length : 0;
    if (next.length + reserve > max) {
      const more = `… +${entries.length - i} more`;
      return out ? `${out}; ${more}` : more;
    }
    out = next;
  }
  return out;
}

/**
 * Builds the channel event for a message that passed the gate. `edited`
 * marks the new text of a message Claude already received.
 */
export function toChannelEvent(
  msg: InboundMessage,
  opts: { missed?: boolean; edited?: boolean } = {},
): ChannelEvent {
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
  if (msg.attachments.length > 0) meta.attachment_count = String(msg.attachments.length);
  if (opts.missed) meta.missed = "true";
  if (opts.edited) meta.edited = "true";
  if (msg.rich) Object.assign(meta, richMeta(msg.rich));
  const shaped = shapeMeta(meta);
  if (msg.attachments.length > 0) {
    // Listed in meta only: an annotation in the content could be forged by
    // any allowlisted sender typing the same text. Added after shapeMeta,
    // whose 256-character cap would cut a long listing mid-name; the value
    // still goes through the same cleaning, with its own budget.
    shaped.attachments = cleanMetaValue(
      listAttachments(msg.attachments),
      ATTACHMENTS_META_MAX,
    );
  }
  const text = neutralizeContent(msg.rich ? renderRich(msg.content, msg.rich) : msg.content);
  const content = text || (msg.attachments.length > 0 ? "(attachment)" : "(empty message)");
  return { content, meta: shaped };
}
