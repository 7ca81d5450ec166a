/**
 * Rendering what people send in Discord beyond plain text (forwards,
 * embeds, polls, stickers, voice messages, the message a reply quotes) into
 * a channel event's content and meta, so nothing arrives empty.
 *
 * Long parts (a forwarded message, an embed, a poll) go into the content
 * under a bracketed header, quoted line by line; short facts (the quoted
 * reply, sticker names, a voice message's length) go into meta, whose
 * values the sender cannot make look like structure: meta is written by the
 * bridge alone, so `forwarded="true"` tells Claude what a `[forwarded
 * message]` header typed by hand cannot.
 *
 * @module
 */
import type { EmbedPart, ForwardPart, PollPart, RichParts } from "../discord/raw.ts";
import { cleanMetaValue, cutUnits, safeFileName } from "./sanitize.ts";

/** Longest quoted reply text in meta. */
export const QUOTE_META_MAX = 200;
const MAX_EMBEDS = 5;
const MAX_FIELDS = 10;
const MAX_DESCRIPTION = 1000;
const MAX_FIELD_VALUE = 300;
const MAX_FORWARD = 3000;

function cut(text: string, max: number): string {
  return text.length <= max ? text : cutUnits(text, max - 1).trimEnd() + "…";
}

/**
 * Prefixes every line with `> ` (a Markdown quote). Every line break a reader
 * (or a model) may see counts, lone `\r`, NEL and U+2028/U+2029 included, so
 * quoted text cannot end the quote and pose as the sender's own line.
 */
function quoteLines(text: string): string {
  return text.split(/\r\n|[\n\r\u0085\u2028\u2029]/).map((l) => (l ? `> ${l}` : ">")).join(
    "\n",
  );
}

/**
 * One embed as `[embed] Title (url)` and quoted description and fields. The
 * head is outside the quote, so its parts (chosen by whoever made the embed,
 * a website for a link preview) are kept to one line.
 */
export function renderEmbed(e: EmbedPart): string {
  const line = (t: string | undefined) => cleanMetaValue(t ?? "", 300);
  const head = [
    "[embed]",
    line(e.author) ? `${line(e.author)}:` : "",
    line(e.title),
    line(e.url) ? `(${line(e.url)})` : "",
  ].filter(Boolean).join(" ");
  const body: string[] = [];
  if (e.description) body.push(cut(e.description, MAX_DESCRIPTION));
  for (const f of e.fields.slice(0, MAX_FIELDS)) {
    body.push(`${f.name}: ${cut(f.value, MAX_FIELD_VALUE)}`);
  }
  if (e.fields.length > MAX_FIELDS) body.push(`(+${e.fields.length - MAX_FIELDS} more fields)`);
  if (e.footer) body.push(cut(e.footer, 200));
  return body.length ? `${head}\n${quoteLines(body.join("\n"))}` : head;
}

/** A poll as `[poll] question` and numbered answers. */
export function renderPoll(p: PollPart): string {
  const lines = [
    `[poll] ${cut(p.question, 300)}${p.multiselect ? " (several answers allowed)" : ""}`,
  ];
  p.answers.forEach((a, i) => lines.push(`${i + 1}. ${cut(a, 100)}`));
  return lines.join("\n");
}

/** A forwarded message as `[forwarded message]` and its quoted text, embeds and files. */
export function renderForward(f: ForwardPart): string {
  const body: string[] = [];
  if (f.text) body.push(cut(f.text, MAX_FORWARD));
  for (const e of f.embeds.slice(0, MAX_EMBEDS)) body.push(renderEmbed(e));
  for (const a of f.attachments) body.push(`(attachment: ${safeFileName(a.filename, a.id)})`);
  for (const s of f.stickers) body.push(`(sticker: ${cleanMetaValue(s, 40)})`);
  return `[forwarded message]\n${quoteLines(body.join("\n") || "(empty)")}`;
}

/** Seconds as people read them: `12 s`, `2 min 5 s`. */
export function formatDuration(secs: number): string {
  const s = Math.max(0, Math.round(secs));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/**
 * The event content for a message's own text plus its rich parts:
 * forwards, embeds and a poll are appended as blocks; when nothing else is
 * there, a sticker or voice message is named so the event is not empty.
 */
export function renderRich(content: string, rich: RichParts): string {
  const blocks: string[] = [];
  if (content) blocks.push(content);
  for (const f of rich.forwards) blocks.push(renderForward(f));
  for (const e of rich.embeds.slice(0, MAX_EMBEDS)) blocks.push(renderEmbed(e));
  if (rich.embeds.length > MAX_EMBEDS) {
    blocks.push(`(+${rich.embeds.length - MAX_EMBEDS} more embeds)`);
  }
  if (rich.poll) blocks.push(renderPoll(rich.poll));
  if (blocks.length === 0 && rich.voice) {
    const d = rich.voice.durationSecs;
    blocks.push(`(voice message${d !== undefined ? `, ${formatDuration(d)}` : ""})`);
  }
  if (blocks.length === 0 && rich.stickers.length) {
    blocks.push(`(sticker: ${rich.stickers.map((s) => cleanMetaValue(s, 40)).join(", ")})`);
  }
  return blocks.join("\n\n");
}

/**
 * Meta for a message's rich parts: `reply_to_text` / `reply_to_user` for
 * the quoted message, `forwarded` and the original's ids, `embed_count`,
 * `stickers`, `poll`, `voice_message` and `voice_duration_secs`. Values are
 * plain strings, keys identifiers (the host drops anything else).
 */
export function richMeta(rich: RichParts): Record<string, string> {
  const meta: Record<string, string> = {};
  if (rich.quote) {
    meta.reply_to_user = cleanMetaValue(rich.quote.authorName, 64, "unknown");
    if (rich.quote.authorId) meta.reply_to_user_id = rich.quote.authorId;
    meta.reply_to_text = cleanMetaValue(rich.quote.text, QUOTE_META_MAX, "(no text)");
  }
  const fwd = rich.forwards[0];
  if (fwd) {
    meta.forwarded = "true";
    if (fwd.originChatId) meta.forwarded_from_chat_id = fwd.originChatId;
    if (fwd.originMessageId) meta.forwarded_message_id = fwd.originMessageId;
    if (fwd.originGuildId) meta.forwarded_from_guild_id = fwd.originGuildId;
    const files = rich.forwards.flatMap((f) => f.attachments);
    if (files.length) {
      meta.forwarded_attachments = files.map((a) => safeFileName(a.filename, a.id)).join("; ");
    }
  }
  if (rich.embeds.length) meta.embed_count = String(rich.embeds.length);
  if (rich.stickers.length) meta.stickers = rich.stickers.join(", ");
  if (rich.poll) meta.poll = "true";
  if (rich.voice) {
    meta.voice_message = "true";
    const d = rich.voice.durationSecs;
    if (d !== undefined) meta.voice_duration_secs = String(Math.round(d * 10) / 10);
  }
  return meta;
}
