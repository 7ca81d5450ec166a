/**
 * Reading raw Discord message payloads defensively. Discord itself always
 * sends a valid `timestamp` and fills `mentions`; a Discord-compatible server
 * may not, and one odd field must never cost a whole message.
 *
 * @module
 */

/** Discord's epoch (2015-01-01T00:00:00Z), the base of snowflake timestamps. */
const DISCORD_EPOCH = 1_420_070_400_000n;

/**
 * A message's creation time as ISO 8601: its `timestamp` when that parses,
 * else the time encoded in its snowflake ID, else now.
 */
export function messageTime(timestamp: unknown, id: string, now = Date.now()): string {
  if (typeof timestamp === "string" || typeof timestamp === "number") {
    const t = new Date(timestamp);
    if (!Number.isNaN(t.getTime())) return t.toISOString();
  }
  if (/^\d{17,20}$/.test(id)) {
    const ms = Number((BigInt(id) >> 22n) + DISCORD_EPOCH);
    if (ms <= now + 86_400_000) return new Date(ms).toISOString();
  }
  return new Date(now).toISOString();
}

/**
 * True when a message mentions `userId`: in its `mentions` array, or as a
 * `<@id>` / `<@!id>` (nickname form) in its content when the array was left out.
 */
export function mentionsUser(
  m: { content?: string | null; mentions?: { id: string }[] | null },
  userId: string,
): boolean {
  if (!userId) return false;
  if ((m.mentions ?? []).some((u) => u?.id === userId)) return true;
  const content = m.content ?? "";
  return content.includes(`<@${userId}>`) || content.includes(`<@!${userId}>`);
}

/** Discord's IS_VOICE_MESSAGE message flag. */
export const IS_VOICE_MESSAGE = 1 << 13;
/** `message_reference.type` of a forward (0, or absent, is a reply). */
export const REFERENCE_FORWARD = 1;

/** The parts of a raw message payload that {@link readRich} reads; every field may be missing. */
export interface RawRich {
  content?: string | null;
  flags?: number | null;
  message_reference?: {
    type?: number | null;
    message_id?: string | null;
    channel_id?: string | null;
    guild_id?: string | null;
  } | null;
  referenced_message?: {
    content?: string | null;
    author?: { id?: string; username?: string; global_name?: string | null } | null;
    embeds?: RawEmbed[] | null;
    attachments?: unknown[] | null;
  } | null;
  message_snapshots?: { message?: RawSnapshot | null }[] | null;
  embeds?: RawEmbed[] | null;
  sticker_items?: { id?: string; name?: string }[] | null;
  poll?: {
    question?: { text?: string | null } | null;
    answers?: { answer_id?: number; poll_media?: { text?: string | null; emoji?: RawEmoji } }[];
    allow_multiselect?: boolean;
    expiry?: string | null;
  } | null;
  attachments?: RawAttachment[] | null;
}

/** A forwarded message's snapshot (a partial message: no author, no id). */
export interface RawSnapshot {
  content?: string | null;
  embeds?: RawEmbed[] | null;
  attachments?: RawAttachment[] | null;
  sticker_items?: { id?: string; name?: string }[] | null;
  timestamp?: string;
  flags?: number | null;
}

/** An attachment as Discord sends it (voice messages add `duration_secs`). */
export interface RawAttachment {
  id: string;
  filename: string;
  content_type?: string;
  size: number;
  url: string;
  duration_secs?: number;
}

/** An emoji in a reaction or poll answer. */
export interface RawEmoji {
  id?: string | null;
  name?: string | null;
  animated?: boolean;
}

/** An embed as Discord sends it (the fields read here). */
export interface RawEmbed {
  type?: string;
  title?: string;
  description?: string;
  url?: string;
  author?: { name?: string } | null;
  provider?: { name?: string } | null;
  footer?: { text?: string } | null;
  fields?: { name?: string; value?: string }[] | null;
}

/** An embed reduced to the text a reader sees. */
export interface EmbedPart {
  title?: string;
  url?: string;
  author?: string;
  description?: string;
  fields: { name: string; value: string }[];
  footer?: string;
}

/** A forwarded message's content. */
export interface ForwardPart {
  text: string;
  embeds: EmbedPart[];
  attachments: RawAttachment[];
  stickers: string[];
  /** Where the original lives (may be a chat the bot cannot read). */
  originChatId?: string;
  originMessageId?: string;
  originGuildId?: string;
}

/** A poll's question and answers. */
export interface PollPart {
  question: string;
  answers: string[];
  multiselect: boolean;
  expiry?: string;
}

/** Everything in a message beyond its own text and attachments. */
export interface RichParts {
  /** The replied-to message, when Discord included it. */
  quote?: { authorId: string; authorName: string; text: string };
  forwards: ForwardPart[];
  embeds: EmbedPart[];
  stickers: string[];
  poll?: PollPart;
  /** Set for a voice message: the audio is the (first) attachment. */
  voice?: { durationSecs?: number };
}

const str = (v: unknown): string | undefined => typeof v === "string" && v !== "" ? v : undefined;

/** The message a reply points at: a forward's reference is not a reply. */
export function replyReferenceId(m: RawRich): string | undefined {
  const ref = m.message_reference;
  if (!ref || ref.type === REFERENCE_FORWARD) return undefined;
  return str(ref.message_id);
}

function readEmbed(e: RawEmbed): EmbedPart | undefined {
  const part: EmbedPart = {
    title: str(e.title),
    url: str(e.url),
    author: str(e.author?.name) ?? str(e.provider?.name),
    description: str(e.description),
    fields: (Array.isArray(e.fields) ? e.fields : [])
      .map((f) => ({ name: str(f?.name) ?? "", value: str(f?.value) ?? "" }))
      .filter((f) => f.name || f.value),
    footer: str(e.footer?.text),
  };
  const empty = !part.title && !part.url && !part.description && part.fields.length === 0 &&
    !part.author && !part.footer;
  return empty ? undefined : part;
}

function readEmbeds(list: RawEmbed[] | null | undefined): EmbedPart[] {
  return (Array.isArray(list) ? list : []).map(readEmbed).filter((e): e is EmbedPart => !!e);
}

function readStickers(list: { name?: string }[] | null | undefined): string[] {
  return (Array.isArray(list) ? list : []).map((s) => str(s?.name)).filter((s): s is string => !!s);
}

/**
 * Reads replies' quoted text, forwards (`message_reference.type` 1 with
 * `message_snapshots`), embeds, stickers (`sticker_items`), polls and voice
 * messages (flag {@link IS_VOICE_MESSAGE}, `duration_secs`) out of a raw
 * message payload. Missing or odd fields are skipped, never thrown on.
 */
export function readRich(m: RawRich): RichParts {
  const parts: RichParts = {
    forwards: [],
    embeds: readEmbeds(m.embeds),
    stickers: readStickers(m.sticker_items),
  };
  const ref = m.message_reference;
  const quoted = m.referenced_message;
  if (ref?.type !== REFERENCE_FORWARD && quoted && typeof quoted === "object") {
    const author = quoted.author ?? {};
    let text = str(quoted.content) ?? "";
    if (!text && readEmbeds(quoted.embeds).length) text = "(embed)";
    if (!text && Array.isArray(quoted.attachments) && quoted.attachments.length) {
      text = "(attachment)";
    }
    parts.quote = {
      authorId: str(author.id) ?? "",
      authorName: str(author.username) ?? str(author.id) ?? "unknown",
      text,
    };
  }
  if (ref?.type === REFERENCE_FORWARD && Array.isArray(m.message_snapshots)) {
    for (const snap of m.message_snapshots) {
      const s = snap?.message;
      if (!s || typeof s !== "object") continue;
      parts.forwards.push({
        text: str(s.content) ?? "",
        embeds: readEmbeds(s.embeds),
        attachments: (Array.isArray(s.attachments) ? s.attachments : []).filter((a) =>
          a && typeof a.id === "string"
        ),
        stickers: readStickers(s.sticker_items),
        originChatId: str(ref.channel_id),
        originMessageId: str(ref.message_id),
        originGuildId: str(ref.guild_id),
      });
    }
  }
  const poll = m.poll;
  if (poll && typeof poll === "object") {
    parts.poll = {
      question: str(poll.question?.text) ?? "(no question)",
      answers: (Array.isArray(poll.answers) ? poll.answers : []).map((a) => {
        const text = str(a?.poll_media?.text) ?? "";
        const emoji = str(a?.poll_media?.emoji?.name);
        return [emoji, text].filter(Boolean).join(" ");
      }).filter(Boolean),
      multiselect: poll.allow_multiselect === true,
      expiry: str(poll.expiry ?? undefined),
    };
  }
  if (typeof m.flags === "number" && (m.flags & IS_VOICE_MESSAGE) !== 0) {
    const first = Array.isArray(m.attachments) ? m.attachments[0] : undefined;
    const d = first?.duration_secs;
    parts.voice = { durationSecs: typeof d === "number" && Number.isFinite(d) ? d : undefined };
  }
  return parts;
}

/** How a reaction's emoji reads: the character itself, or `:name:` for a custom one. */
export function emojiLabel(e: RawEmoji | null | undefined): string {
  if (!e) return "?";
  if (e.id) return `:${e.name ?? "emoji"}:`;
  return e.name ?? "?";
}

/** A MESSAGE_REACTION_ADD dispatch's payload (the fields read here). */
export interface RawReactionAdd {
  user_id?: string;
  channel_id?: string;
  message_id?: string;
  guild_id?: string;
  message_author_id?: string;
  member?: { user?: { id?: string; username?: string; bot?: boolean } } | null;
  emoji?: RawEmoji | null;
  burst?: boolean;
}

/** A reaction someone added, reduced to what the core decides on. */
export interface ReactionFacts {
  chatId: string;
  messageId: string;
  userId: string;
  /** Known in guilds (from `member`); DMs carry only the ID. */
  userName?: string;
  userIsBot: boolean;
  /** The emoji as it reads: the character, or `:name:` for a custom one. */
  emoji: string;
  /** A custom emoji's ID. */
  emojiId?: string;
  isDm: boolean;
  guildId?: string;
  /** The message reacted to was written by the bot. */
  onBotMessage: boolean;
}

/**
 * Reads a MESSAGE_REACTION_ADD payload; undefined when ids are missing.
 * Whether the message is the bot's comes from `message_author_id` (sent by
 * Discord since 2023) or, when absent, from `isOwn`.
 */
export function readReaction(
  d: RawReactionAdd,
  botId: string,
  isOwn: (messageId: string) => boolean,
): ReactionFacts | undefined {
  if (!d?.user_id || !d.channel_id || !d.message_id) return undefined;
  const onBotMessage = d.message_author_id
    ? d.message_author_id === botId && botId !== ""
    : isOwn(d.message_id);
  return {
    chatId: d.channel_id,
    messageId: d.message_id,
    userId: d.user_id,
    userName: str(d.member?.user?.username),
    userIsBot: d.member?.user?.bot === true,
    emoji: emojiLabel(d.emoji),
    emojiId: str(d.emoji?.id ?? undefined),
    isDm: !d.guild_id,
    guildId: str(d.guild_id),
    onBotMessage,
  };
}
