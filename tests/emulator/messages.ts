/**
 * Message life cycle shared by the REST routes, the interaction flow and the
 * test-facing world-building API: creation (with mentions, replies and
 * attachments), edits, deletion, reactions, typing, and their gateway
 * dispatches.
 *
 * @module
 */
import { Gateway, Intents } from "./gateway.ts";
import { type Attachment, type Channel, type Message, type User, World } from "./state.ts";
import { ApiError, formError } from "./validate.ts";

/** A file to attach to a new message. */
export interface FileInput {
  filename: string;
  contentType?: string;
  data: Uint8Array;
  description?: string;
}

/** Everything needed to create a message. */
export interface CreateInput {
  content?: string;
  tts?: boolean;
  embeds?: unknown[];
  components?: unknown[];
  flags?: number;
  nonce?: string | number;
  files?: FileInput[];
  /** Explicit mentioned user ids (in addition to `<@id>` parsed from content). */
  mentionIds?: string[];
  /** Discord's `allowed_mentions`; undefined means "parse everything" (the API default). */
  allowedMentions?: Record<string, unknown>;
  reference?: Record<string, unknown>;
  /** Extra top-level fields (webhook_id, application_id, interaction_metadata...). */
  extra?: Record<string, unknown>;
  /** Do not store in channel history nor dispatch (ephemeral interaction replies). */
  ephemeral?: boolean;
  /** Skip the user-facing reply mention (users' clients mention replied users by default). */
  repliedUserMention?: boolean;
  /** Extra fields per stored attachment, by index (a voice message's `duration_secs`, `waveform`). */
  attachmentFields?: Record<string, unknown>[];
}

/** Flags a sender may set on a message: SUPPRESS_EMBEDS, EPHEMERAL, SUPPRESS_NOTIFICATIONS, IS_COMPONENTS_V2. */
const SETTABLE_FLAGS = (1 << 2) | (1 << 6) | (1 << 12) | (1 << 15);

/** Creates, edits, deletes and reacts to messages, keeping the gateway informed. */
export class Messages {
  /** Creates the service over a world and its gateway. */
  constructor(
    private readonly world: World,
    private readonly gateway: Gateway,
    private readonly origin: () => string,
  ) {}

  /** Whether gateway payloads carry `channel_type` (Discord added it in 2024; older servers omit it). */
  includeChannelType = true;

  /** Serializes a stored message: `rest` (REST shape, reactions from the bot's view), `gateway` (with guild_id/member) or `full` (both). */
  serialize(m: Message, mode: "rest" | "gateway" | "full", depth = 0): Message {
    const out: Message = { ...m, mentions: m.mentions.map((u) => ({ ...u })) };
    if (mode === "rest") {
      delete out.guild_id;
      delete out.member;
    }
    if (mode === "gateway" && this.includeChannelType) {
      // Real MESSAGE_CREATE/UPDATE payloads carry the channel type (discord.js uses it for DMs).
      out.channel_type = this.world.channels.get(m.channel_id)?.type;
    }
    if (mode === "gateway" && m.guild_id) {
      out.mentions = m.mentions.map((u) => {
        const member = this.world.member(m.guild_id!, u.id, false);
        return member ? { ...u, member } : { ...u };
      });
    }
    if (mode !== "gateway") {
      const reactions = this.world.reactionSummary(m.id, this.world.bot.id);
      if (reactions) out.reactions = reactions;
      else delete out.reactions;
    }
    if (m.message_reference && m.type === 19) {
      const ref = this.world.findMessage(
        m.message_reference.channel_id,
        m.message_reference.message_id,
      );
      out.referenced_message = ref && depth === 0 ? this.serialize(ref, mode, 1) : null;
      if (depth > 0) delete out.referenced_message;
    }
    return out;
  }

  /** Builds, stores and dispatches a message by `author` in `channel`. */
  create(channel: Channel, author: User, input: CreateInput): Message {
    const world = this.world;
    // A message in an archived thread unarchives it, unless it is also locked.
    const threadMeta = channel.thread_metadata as Record<string, unknown> | undefined;
    if (threadMeta?.archived) {
      if (threadMeta.locked) {
        throw new ApiError(400, {
          message: "Operation was attempted on an archived thread",
          code: 50083,
        });
      }
      threadMeta.archived = false;
      threadMeta.archive_timestamp = new Date().toISOString();
      this.gateway.dispatch("THREAD_UPDATE", channel, { intent: Intents.Guilds });
    }
    const id = world.ids.next();
    const guildId = channel.guild_id;
    let reference: Message["message_reference"];
    let referenced: Message | undefined;
    if (input.reference) {
      const ref = input.reference;
      const refChannelId = typeof ref.channel_id === "string" ? ref.channel_id : channel.id;
      const refId = String(ref.message_id ?? "");
      referenced = world.findMessage(refChannelId, refId);
      if (!referenced || refChannelId !== channel.id) {
        if (ref.fail_if_not_exists !== false) {
          throw formError(
            ["message_reference"],
            "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
            "Unknown message",
          );
        }
        referenced = undefined;
      } else {
        reference = { type: 0, message_id: referenced.id, channel_id: channel.id };
        if (guildId) reference.guild_id = guildId;
      }
    }
    const content = input.content ?? "";
    const mentions = this.#resolveMentions(content, input, referenced, channel);
    const am = input.allowedMentions;
    const parse = Array.isArray(am?.parse) ? am!.parse as string[] : undefined;
    const everyoneAllowed = am === undefined || (parse?.includes("everyone") ?? false);
    const roleIds = [...content.matchAll(/<@&(\d{15,20})>/g)].map((m) => m[1]);
    const allowedRoles = am === undefined || (parse?.includes("roles") ?? false)
      ? roleIds
      : roleIds.filter((r) => Array.isArray(am?.roles) && (am!.roles as string[]).includes(r));
    const guildRoles = guildId ? new Set(world.guild(guildId)!.roles.map((r) => r.id)) : new Set();
    const message: Message = {
      type: reference ? 19 : 0,
      content,
      mentions,
      mention_roles: [...new Set(allowedRoles)].filter((r) => guildRoles.has(r) && r !== guildId),
      attachments: (input.files ?? []).map((f, i) => ({
        ...this.#storeFile(channel.id, f),
        ...input.attachmentFields?.[i],
      })),
      embeds: (input.embeds ?? []).map((e) => ({ type: "rich", ...(e as object) })),
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      flags: (input.flags ?? 0) & SETTABLE_FLAGS,
      components: input.components ?? [],
      id,
      channel_id: channel.id,
      author: { ...author },
      pinned: false,
      mention_everyone: everyoneAllowed && /@(everyone|here)\b/.test(content) && !!guildId,
      tts: input.tts ?? false,
      ...input.extra,
    };
    if (input.nonce !== undefined) message.nonce = input.nonce;
    if (reference) message.message_reference = reference;
    if (guildId) {
      message.guild_id = guildId;
      if (!author.bot || world.member(guildId, author.id, false)) {
        message.member = world.member(guildId, author.id, false);
      }
    }
    if (input.ephemeral) return message;
    world.storeMessage(message);
    this.gateway.dispatch("MESSAGE_CREATE", this.serialize(message, "gateway"), {
      intent: channel.type === 1 ? Intents.DirectMessages : Intents.GuildMessages,
      message,
    });
    return message;
  }

  #resolveMentions(
    content: string,
    input: CreateInput,
    referenced: Message | undefined,
    channel: Channel,
  ): User[] {
    const world = this.world;
    const am = input.allowedMentions;
    const parse = Array.isArray(am?.parse) ? am!.parse as string[] : undefined;
    const allowedUsers = Array.isArray(am?.users) ? am!.users as string[] : [];
    const parsed = [...content.matchAll(/<@!?(\d{15,20})>/g)].map((m) => m[1]);
    const ids: string[] = [];
    for (const uid of parsed) {
      const allowed = am === undefined || (parse?.includes("users") ?? false) ||
        allowedUsers.includes(uid);
      if (allowed) ids.push(uid);
    }
    for (const uid of input.mentionIds ?? []) ids.push(uid);
    if (referenced) {
      const mentionReplied = input.repliedUserMention ??
        (am === undefined ? true : am.replied_user === true);
      if (mentionReplied) ids.push(referenced.author.id);
    }
    const seen = new Set<string>();
    const users: User[] = [];
    for (const uid of ids) {
      if (seen.has(uid)) continue;
      seen.add(uid);
      const user = world.users.get(uid);
      // Discord only resolves mentions of users who can see the channel.
      if (user && (channel.type === 1 ? true : world.userCanView(channel, uid))) {
        users.push({ ...user });
      }
    }
    return users;
  }

  #storeFile(channelId: string, f: FileInput): Attachment {
    const id = this.world.ids.next();
    // Discord derives content_type itself; generic part types fall back to the file extension.
    const contentType = f.contentType && f.contentType !== "application/octet-stream"
      ? f.contentType
      : guessContentType(f.filename);
    const filename = f.filename.replace(/[^\w.\-]/g, "_");
    this.world.files.set(id, { data: f.data, contentType, filename });
    const url = `${this.origin()}/attachments/${channelId}/${id}/${encodeURIComponent(filename)}`;
    const attachment: Attachment = {
      id,
      filename,
      size: f.data.byteLength,
      url,
      proxy_url: url.replace("/attachments/", "/proxy/attachments/"),
      content_type: contentType,
    };
    if (f.description) attachment.description = f.description;
    return attachment;
  }

  /** Applies an edit (content, embeds, components, flags, attachments to keep, new files) and dispatches MESSAGE_UPDATE. */
  edit(message: Message, body: Record<string, unknown>, files: FileInput[] = []): Message {
    if ("content" in body) message.content = (body.content as string | null) ?? "";
    if ("embeds" in body) {
      message.embeds = ((body.embeds as unknown[] | null) ?? []).map((e) => ({
        type: "rich",
        ...(e as object),
      }));
    }
    if ("components" in body) message.components = (body.components as unknown[] | null) ?? [];
    if ("flags" in body && typeof body.flags === "number") {
      message.flags = (message.flags & ~(1 << 2)) | (body.flags & (1 << 2));
    }
    if ("attachments" in body || files.length > 0) {
      const keep = Array.isArray(body.attachments)
        ? (body.attachments as Record<string, unknown>[]).map((a) => String(a.id))
        : message.attachments.map((a) => a.id);
      const kept = message.attachments.filter((a) => keep.includes(a.id));
      message.attachments = [...kept, ...files.map((f) => this.#storeFile(message.channel_id, f))];
    }
    if ("content" in body) {
      message.mentions = this.#resolveMentions(
        message.content,
        { allowedMentions: body.allowed_mentions as Record<string, unknown> | undefined },
        undefined,
        this.world.channels.get(message.channel_id)!,
      );
    }
    if (
      message.content === "" && message.embeds.length === 0 && message.components.length === 0 &&
      message.attachments.length === 0
    ) {
      throw new ApiError(400, { message: "Cannot send an empty message", code: 50006 });
    }
    message.edited_timestamp = new Date().toISOString();
    const channel = this.world.channels.get(message.channel_id);
    if (channel && this.world.findMessage(channel.id, message.id)) {
      this.gateway.dispatch("MESSAGE_UPDATE", this.serialize(message, "gateway"), {
        intent: channel.type === 1 ? Intents.DirectMessages : Intents.GuildMessages,
        message,
      });
    }
    return message;
  }

  /** Deletes a stored message and dispatches MESSAGE_DELETE. */
  remove(channel: Channel, message: Message): void {
    this.world.deleteMessage(channel.id, message.id);
    const d: Record<string, unknown> = { id: message.id, channel_id: channel.id };
    if (channel.guild_id) d.guild_id = channel.guild_id;
    this.gateway.dispatch("MESSAGE_DELETE", d, {
      intent: channel.type === 1 ? Intents.DirectMessages : Intents.GuildMessages,
    });
  }

  /** Adds `userId`'s reaction (idempotent) and dispatches MESSAGE_REACTION_ADD; returns whether it was new. */
  addReaction(
    channel: Channel,
    message: Message,
    userId: string,
    emoji: { id: string | null; name: string; animated?: boolean },
  ): boolean {
    const list = this.world.reactionsByMessage.get(message.id) ?? [];
    this.world.reactionsByMessage.set(message.id, list);
    let record = list.find((r) => sameEmoji(r.emoji, emoji));
    if (!record) {
      record = { emoji, userIds: [] };
      list.push(record);
    }
    if (record.userIds.includes(userId)) return false;
    record.userIds.push(userId);
    const d: Record<string, unknown> = {
      user_id: userId,
      type: 0,
      channel_id: channel.id,
      message_id: message.id,
      message_author_id: message.author.id,
      emoji: emoji.id === null
        ? { id: null, name: emoji.name }
        : { ...emoji, animated: emoji.animated ?? false },
      burst: false,
      burst_colors: [],
    };
    if (channel.guild_id) {
      d.guild_id = channel.guild_id;
      d.member = this.world.member(channel.guild_id, userId, true);
    }
    this.gateway.dispatch("MESSAGE_REACTION_ADD", d, {
      intent: channel.type === 1 ? Intents.DirectMessageReactions : Intents.GuildMessageReactions,
    });
    return true;
  }

  /** Removes `userId`'s reaction and dispatches MESSAGE_REACTION_REMOVE if it existed. */
  removeReaction(
    channel: Channel,
    message: Message,
    userId: string,
    emoji: { id: string | null; name: string },
  ): void {
    const list = this.world.reactionsByMessage.get(message.id) ?? [];
    const index = list.findIndex((r) => sameEmoji(r.emoji, emoji));
    if (index < 0 || !list[index].userIds.includes(userId)) return;
    const record = list[index];
    record.userIds = record.userIds.filter((u) => u !== userId);
    if (record.userIds.length === 0) list.splice(index, 1);
    const d: Record<string, unknown> = {
      user_id: userId,
      type: 0,
      channel_id: channel.id,
      message_id: message.id,
      emoji: emoji.id === null
        ? { id: null, name: emoji.name }
        : { id: emoji.id, name: emoji.name },
      burst: false,
    };
    if (channel.guild_id) d.guild_id = channel.guild_id;
    this.gateway.dispatch("MESSAGE_REACTION_REMOVE", d, {
      intent: channel.type === 1 ? Intents.DirectMessageReactions : Intents.GuildMessageReactions,
    });
  }

  /** Counts a typing indicator and dispatches TYPING_START. */
  typing(channel: Channel, userId: string): void {
    this.world.typing.set(channel.id, (this.world.typing.get(channel.id) ?? 0) + 1);
    const d: Record<string, unknown> = {
      channel_id: channel.id,
      user_id: userId,
      timestamp: Math.floor(Date.now() / 1000),
    };
    if (channel.guild_id) {
      d.guild_id = channel.guild_id;
      d.member = this.world.member(channel.guild_id, userId, true);
    }
    this.gateway.dispatch("TYPING_START", d, {
      intent: channel.type === 1 ? Intents.DirectMessageTyping : Intents.GuildMessageTyping,
    });
  }
}

function sameEmoji(
  a: { id: string | null; name: string },
  b: { id: string | null; name: string },
): boolean {
  return a.id !== null || b.id !== null ? a.id === b.id : a.name === b.name;
}

/** Guesses a MIME type from a file name, as Discord's CDN does. */
export function guessContentType(filename: string): string {
  const ext = filename.split(".").pop()?.toLowerCase() ?? "";
  const map: Record<string, string> = {
    txt: "text/plain; charset=utf-8",
    md: "text/markdown; charset=utf-8",
    json: "application/json; charset=utf-8",
    png: "image/png",
    jpg: "image/jpeg",
    jpeg: "image/jpeg",
    gif: "image/gif",
    webp: "image/webp",
    pdf: "application/pdf",
    zip: "application/zip",
    mp4: "video/mp4",
    mp3: "audio/mpeg",
    ts: "video/mp2t",
    csv: "text/csv; charset=utf-8",
    html: "text/html; charset=utf-8",
  };
  return map[ext] ?? "application/octet-stream";
}
