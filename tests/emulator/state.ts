/**
 * The emulator's world model: users, guilds, channels, messages, reactions and
 * attachments, plus Discord snowflake generation. Objects are stored in an
 * internal shape and serialized to Discord API v10 shapes on demand.
 *
 * @module
 */

/** Discord's epoch (2015-01-01T00:00:00.000Z) in milliseconds. */
export const DISCORD_EPOCH = 1420070400000;

/** Generates real-format, strictly increasing snowflakes. */
export class SnowflakeGenerator {
  #lastMs = 0;
  #increment = 0;
  /** Returns a new snowflake string: (ms since the Discord epoch) << 22 | worker | process | increment. */
  next(): string {
    let ms = Math.max(Date.now() - DISCORD_EPOCH, this.#lastMs);
    if (ms === this.#lastMs) {
      this.#increment++;
      if (this.#increment > 0xfff) {
        ms++;
        this.#increment = 0;
      }
    } else this.#increment = 0;
    this.#lastMs = ms;
    const id = (BigInt(ms) << 22n) | (1n << 17n) | (BigInt(Deno.pid & 0x1f) << 12n) |
      BigInt(this.#increment);
    return id.toString();
  }
}

/** Extracts the creation time (ms since the Unix epoch) from a snowflake. */
export function snowflakeTime(id: string): number {
  return Number(BigInt(id) >> 22n) + DISCORD_EPOCH;
}

/** A Discord user object (v10). */
export interface User {
  id: string;
  username: string;
  discriminator: string;
  global_name: string | null;
  avatar: string | null;
  bot?: boolean;
  public_flags?: number;
}

/** A Discord role object (v10). */
export interface Role {
  id: string;
  name: string;
  color: number;
  colors: { primary_color: number; secondary_color: null; tertiary_color: null };
  hoist: boolean;
  icon: null;
  unicode_emoji: null;
  position: number;
  permissions: string;
  managed: boolean;
  mentionable: boolean;
  flags: number;
}

/** A Discord guild object as served by the emulator (the GUILD_CREATE extras are added by the gateway). */
export interface Guild {
  id: string;
  name: string;
  icon: null;
  owner_id: string;
  roles: Role[];
  [key: string]: unknown;
}

/** A permission overwrite on a guild channel. */
export interface Overwrite {
  id: string;
  type: 0 | 1;
  allow: string;
  deny: string;
}

/** A Discord channel object (v10): text (0), DM (1) or public thread (11). */
export interface Channel {
  id: string;
  type: number;
  guild_id?: string;
  name?: string;
  parent_id?: string | null;
  position?: number;
  topic?: string | null;
  nsfw?: boolean;
  last_message_id: string | null;
  permission_overwrites?: Overwrite[];
  rate_limit_per_user?: number;
  recipients?: User[];
  flags: number;
  [key: string]: unknown;
}

/** A Discord attachment object (v10). */
export interface Attachment {
  id: string;
  filename: string;
  size: number;
  url: string;
  proxy_url: string;
  content_type?: string;
  description?: string;
  width?: number;
  height?: number;
}

/** A Discord message object (v10) as the emulator stores it. */
export interface Message {
  id: string;
  channel_id: string;
  guild_id?: string;
  author: User;
  member?: unknown;
  content: string;
  timestamp: string;
  edited_timestamp: string | null;
  tts: boolean;
  mention_everyone: boolean;
  mentions: User[];
  mention_roles: string[];
  attachments: Attachment[];
  embeds: unknown[];
  reactions?: unknown[];
  nonce?: string | number;
  pinned: boolean;
  type: number;
  flags: number;
  components: unknown[];
  message_reference?: {
    type: number;
    message_id: string;
    channel_id: string;
    guild_id?: string;
  };
  referenced_message?: Message | null;
  webhook_id?: string;
  application_id?: string;
  interaction_metadata?: unknown;
  [key: string]: unknown;
}

/** A reaction as the world stores it: the emoji and who reacted, in order. */
export interface ReactionRecord {
  emoji: { id: string | null; name: string; animated?: boolean };
  userIds: string[];
}

/** A custom emoji known to the world (so that `name:id` reactions can be validated). */
export interface EmojiRecord {
  id: string;
  name: string;
  animated: boolean;
  guildId: string;
}

/** Stored binary content for an attachment served by the CDN route. */
export interface StoredFile {
  data: Uint8Array;
  contentType: string;
  filename: string;
}

interface GuildRecord {
  guild: Guild;
  memberIds: string[];
  joinedAt: Map<string, string>;
  botIsMember: boolean;
}

/** Builds a user object in the v10 shape. */
export function makeUser(
  id: string,
  username: string,
  opts: { bot?: boolean; globalName?: string | null } = {},
): User {
  const user: User = {
    id,
    username,
    discriminator: "0",
    global_name: opts.globalName ?? null,
    avatar: null,
    public_flags: 0,
  };
  if (opts.bot) user.bot = true;
  return user;
}

/** The mutable world: every entity the emulated Discord knows about. */
export class World {
  /** Snowflake source shared by every entity. */
  readonly ids = new SnowflakeGenerator();
  /** Users by id. */
  readonly users = new Map<string, User>();
  /** Channels by id. */
  readonly channels = new Map<string, Channel>();
  /** Channel histories, oldest first (ephemeral messages are never stored here). */
  readonly history = new Map<string, Message[]>();
  /** Reactions by message id, in the order they were first added. */
  readonly reactionsByMessage = new Map<string, ReactionRecord[]>();
  /** Custom emojis by id. */
  readonly emojis = new Map<string, EmojiRecord>();
  /** Attachment bytes by attachment id. */
  readonly files = new Map<string, StoredFile>();
  /** Typing indicator count per channel. */
  readonly typing = new Map<string, number>();
  readonly #guilds = new Map<string, GuildRecord>();
  readonly #dms = new Map<string, string>();
  /** The bot user. */
  readonly bot: User;

  constructor(botId: string, botName: string) {
    this.bot = makeUser(botId, botName, { bot: true });
    this.users.set(botId, this.bot);
  }

  /** All guild ids in creation order. */
  guildIds(): string[] {
    return [...this.#guilds.keys()];
  }

  /** The guild object, or undefined. */
  guild(id: string): Guild | undefined {
    return this.#guilds.get(id)?.guild;
  }

  /** Whether the bot is a member of the guild. */
  botInGuild(guildId: string): boolean {
    return this.#guilds.get(guildId)?.botIsMember ?? false;
  }

  /** Creates a guild with an @everyone role; the bot joins unless `botIsMember` is false. */
  addGuild(
    opts: { name?: string; id?: string; botIsMember?: boolean; ownerId?: string } = {},
  ): Guild {
    const id = opts.id ?? this.ids.next();
    if (this.#guilds.has(id)) throw new Error(`guild ${id} already exists`);
    const everyone: Role = {
      id,
      name: "@everyone",
      color: 0,
      colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
      hoist: false,
      icon: null,
      unicode_emoji: null,
      position: 0,
      permissions: "1071698660929", // Discord's current default @everyone permissions
      managed: false,
      mentionable: false,
      flags: 0,
    };
    const ownerId = opts.ownerId ?? this.bot.id;
    const guild: Guild = {
      id,
      name: opts.name ?? "Test Guild",
      icon: null,
      owner_id: ownerId,
      roles: [everyone],
    };
    const now = new Date().toISOString();
    const record: GuildRecord = {
      guild,
      memberIds: [],
      joinedAt: new Map(),
      botIsMember: opts.botIsMember ?? true,
    };
    if (record.botIsMember) {
      record.memberIds.push(this.bot.id);
      record.joinedAt.set(this.bot.id, now);
    }
    this.#guilds.set(id, record);
    return guild;
  }

  /** Adds a user to a guild's member list (idempotent). */
  addMember(guildId: string, userId: string): void {
    const record = this.#guilds.get(guildId);
    if (!record) throw new Error(`unknown guild ${guildId}`);
    if (!this.users.has(userId)) throw new Error(`unknown user ${userId}`);
    if (record.joinedAt.has(userId)) return;
    record.memberIds.push(userId);
    record.joinedAt.set(userId, new Date().toISOString());
  }

  /** A guild member object (v10), with or without the nested user. */
  member(guildId: string, userId: string, withUser: boolean): Record<string, unknown> | undefined {
    const record = this.#guilds.get(guildId);
    const joined = record?.joinedAt.get(userId);
    if (!record || !joined) return undefined;
    const member: Record<string, unknown> = {
      avatar: null,
      banner: null,
      communication_disabled_until: null,
      deaf: false,
      flags: 0,
      joined_at: joined,
      mute: false,
      nick: null,
      pending: false,
      premium_since: null,
      roles: [],
    };
    if (withUser) member.user = this.users.get(userId);
    return member;
  }

  /** Member ids of a guild in join order. */
  memberIds(guildId: string): string[] {
    return [...(this.#guilds.get(guildId)?.memberIds ?? [])];
  }

  /** Creates a guild text channel (type 0). `hidden` denies VIEW_CHANNEL to the bot. */
  addTextChannel(
    guildId: string,
    opts: { name?: string; id?: string; hidden?: boolean } = {},
  ): Channel {
    if (!this.#guilds.has(guildId)) throw new Error(`unknown guild ${guildId}`);
    const id = opts.id ?? this.ids.next();
    const position =
      [...this.channels.values()].filter((c) => c.guild_id === guildId && c.type === 0)
        .length;
    const channel: Channel = {
      id,
      type: 0,
      guild_id: guildId,
      name: opts.name ?? "general",
      position,
      parent_id: null,
      topic: null,
      nsfw: false,
      last_message_id: null,
      rate_limit_per_user: 0,
      permission_overwrites: opts.hidden
        ? [{ id: this.bot.id, type: 1, allow: "0", deny: "1024" }]
        : [],
      flags: 0,
    };
    this.#addChannel(channel);
    return channel;
  }

  /** Creates a public thread (type 11) under a guild text channel. */
  addThread(
    parentId: string,
    opts: { name?: string; id?: string; ownerId?: string } = {},
  ): Channel {
    const parent = this.channels.get(parentId);
    if (!parent || parent.type !== 0 || !parent.guild_id) {
      throw new Error(`thread parent ${parentId} is not a guild text channel`);
    }
    const id = opts.id ?? this.ids.next();
    const now = new Date().toISOString();
    const channel: Channel = {
      id,
      type: 11,
      guild_id: parent.guild_id,
      name: opts.name ?? "thread",
      parent_id: parentId,
      owner_id: opts.ownerId ?? this.bot.id,
      last_message_id: null,
      rate_limit_per_user: 0,
      message_count: 0,
      member_count: 1,
      total_message_sent: 0,
      thread_metadata: {
        archived: false,
        auto_archive_duration: 1440,
        archive_timestamp: now,
        locked: false,
        create_timestamp: now,
      },
      flags: 0,
    };
    this.#addChannel(channel);
    return channel;
  }

  /** The DM channel (type 1) between the bot and `userId`, created on first use. */
  dmChannel(userId: string): { channel: Channel; created: boolean } {
    const user = this.users.get(userId);
    if (!user) throw new Error(`unknown user ${userId}`);
    const existing = this.#dms.get(userId);
    if (existing) return { channel: this.channels.get(existing)!, created: false };
    const channel: Channel = {
      id: this.ids.next(),
      type: 1,
      last_message_id: null,
      recipients: [user],
      flags: 0,
    };
    this.#dms.set(userId, channel.id);
    this.#addChannel(channel);
    return { channel, created: true };
  }

  /** The user on the other side of a DM channel. */
  dmRecipient(channel: Channel): User | undefined {
    return channel.recipients?.[0];
  }

  /** Whether the bot can see (VIEW_CHANNEL) the channel. */
  botCanView(channel: Channel): boolean {
    if (channel.type === 1) return true;
    if (!channel.guild_id || !this.botInGuild(channel.guild_id)) return false;
    const target = channel.type === 11 ? this.channels.get(channel.parent_id ?? "") : channel;
    const denied = target?.permission_overwrites?.some((o) =>
      o.id === this.bot.id && (BigInt(o.deny) & 1024n) !== 0n
    );
    return !denied;
  }

  /** Whether `userId` may read the channel (guild member, or DM recipient). */
  userCanView(channel: Channel, userId: string): boolean {
    if (userId === this.bot.id) return this.botCanView(channel);
    if (channel.type === 1) return channel.recipients?.some((u) => u.id === userId) ?? false;
    return channel.guild_id
      ? this.#guilds.get(channel.guild_id)?.joinedAt.has(userId) ?? false
      : false;
  }

  /** Guild channels (non-thread) of a guild. */
  guildChannels(guildId: string): Channel[] {
    return [...this.channels.values()].filter((c) => c.guild_id === guildId && c.type !== 11);
  }

  /** Active threads of a guild. */
  guildThreads(guildId: string): Channel[] {
    return [...this.channels.values()].filter((c) => c.guild_id === guildId && c.type === 11);
  }

  #addChannel(channel: Channel): void {
    if (this.channels.has(channel.id)) throw new Error(`channel ${channel.id} already exists`);
    this.channels.set(channel.id, channel);
    this.history.set(channel.id, []);
  }

  /** Registers a custom emoji in a guild so reactions with `name:id` validate. */
  addEmoji(
    guildId: string,
    name: string,
    opts: { id?: string; animated?: boolean } = {},
  ): EmojiRecord {
    const emoji: EmojiRecord = {
      id: opts.id ?? this.ids.next(),
      name,
      animated: opts.animated ?? false,
      guildId,
    };
    this.emojis.set(emoji.id, emoji);
    return emoji;
  }

  /** Finds a stored message by id in a channel. */
  findMessage(channelId: string, messageId: string): Message | undefined {
    return this.history.get(channelId)?.find((m) => m.id === messageId);
  }

  /** Finds a stored message by id in any channel. */
  findMessageAnywhere(messageId: string): Message | undefined {
    for (const list of this.history.values()) {
      const found = list.find((m) => m.id === messageId);
      if (found) return found;
    }
    return undefined;
  }

  /** Appends a message to its channel's history and updates `last_message_id`. */
  storeMessage(message: Message): void {
    const list = this.history.get(message.channel_id);
    if (!list) throw new Error(`unknown channel ${message.channel_id}`);
    list.push(message);
    const channel = this.channels.get(message.channel_id)!;
    channel.last_message_id = message.id;
    if (channel.type === 11) {
      channel.message_count = Number(channel.message_count ?? 0) + 1;
      channel.total_message_sent = Number(channel.total_message_sent ?? 0) + 1;
    }
  }

  /** Removes a message from its channel's history; returns whether it existed. */
  deleteMessage(channelId: string, messageId: string): boolean {
    const list = this.history.get(channelId);
    const index = list?.findIndex((m) => m.id === messageId) ?? -1;
    if (!list || index < 0) return false;
    list.splice(index, 1);
    this.reactionsByMessage.delete(messageId);
    return true;
  }

  /** The message's `reactions` array as Discord serializes it, from `viewerId`'s point of view. */
  reactionSummary(messageId: string, viewerId: string): unknown[] | undefined {
    const records = this.reactionsByMessage.get(messageId);
    if (!records || records.length === 0) return undefined;
    return records.map((r) => ({
      count: r.userIds.length,
      count_details: { burst: 0, normal: r.userIds.length },
      me: r.userIds.includes(viewerId),
      me_burst: false,
      emoji: r.emoji.id === null
        ? { id: null, name: r.emoji.name }
        : { id: r.emoji.id, name: r.emoji.name, animated: r.emoji.animated ?? false },
      burst_colors: [],
    }));
  }
}
