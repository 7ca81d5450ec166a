/**
 * A local Discord (API v10) emulator for end-to-end tests: REST, gateway and
 * attachment CDN on one ephemeral 127.0.0.1 port, faithful enough that the
 * real discord.js 14 client logs in and works against it.
 *
 * ```ts
 * const emu = await startEmulator({ heartbeatIntervalMs: 1000 });
 * const guild = emu.addGuild({ name: "g" });
 * const channel = emu.addTextChannel(guild.id);
 * // ... run the code under test with DISCORD_API_URL=emu.apiUrl and emu.token
 * await emu.close();
 * ```
 *
 * @module
 */
import { Gateway, type GatewayStats, Intents, type SessionStartLimit } from "./gateway.ts";
import {
  type ApplicationCommand,
  type InteractionOutcome,
  type InteractionRecord,
  Interactions,
  randomToken,
} from "./interactions.ts";
import { type FileInput, Messages } from "./messages.ts";
import { TcpFront } from "./proxy.ts";
import { DEFAULT_RATE_LIMITS, type RateLimitConfig, RateLimiter } from "./ratelimit.ts";
import { type Fault, json, type RecordedRequest, RestApi } from "./rest.ts";
import { type Channel, type Guild, makeUser, type Message, type User, World } from "./state.ts";
import { MAX_USER_CONTENT, parseEmoji } from "./validate.ts";

export type { Attachment, Channel, Guild, Message, User } from "./state.ts";
export type { InteractionOutcome, InteractionRecord } from "./interactions.ts";
export type { RecordedRequest } from "./rest.ts";
export type { GatewayStats, SessionStartLimit } from "./gateway.ts";
export type { RateLimitConfig } from "./ratelimit.ts";
export { Intents } from "./gateway.ts";

/** Options for {@link startEmulator}. */
export interface EmulatorOptions {
  /** The only bot token accepted (default: a realistic random token). */
  token?: string;
  /** HELLO heartbeat_interval in ms (Discord: 41250). */
  heartbeatIntervalMs?: number;
  /** Bot username (default "test-bot"). */
  botName?: string;
  /** Rate-limit overrides (merged over the defaults). */
  rateLimits?: Partial<RateLimitConfig>;
  /** Leave `channel_type` out of MESSAGE_CREATE/UPDATE, as Discord did before 2024. */
  omitChannelType?: boolean;
  /** Check every REST request against Discord's OpenAPI spec (`openapi.ts`); default true. */
  spec?: boolean;
}

/** A user-sent message for {@link DiscordEmulator.sendMessage}. */
export interface SendMessageOptions {
  channelId: string;
  authorId: string;
  content: string;
  /** Mentioned user ids (`<@id>` in content is also parsed, as Discord does). */
  mentions?: string[];
  /** Id of a message in the same channel to reply to (type 19 + message_reference). */
  replyTo?: string;
  attachments?: { filename: string; contentType?: string; data: Uint8Array }[];
  /**
   * Forwards a stored message (Discord's "Forward"): `content` must be "",
   * the message gets `message_reference.type` 1, `message_snapshots` and the
   * HAS_SNAPSHOT flag, as Discord builds them.
   */
  forward?: { channelId: string; messageId: string };
  /** Rich embeds: only bots and webhooks can post them (users get link previews only). */
  embeds?: Record<string, unknown>[];
  /** Guild or standard stickers, sent as `sticker_items`. */
  stickers?: { id: string; name: string }[];
  /** A poll (question and answer texts), as Discord stores it. */
  poll?: {
    question: string;
    answers: string[];
    allowMultiselect?: boolean;
    durationHours?: number;
  };
  /** A voice message: IS_VOICE_MESSAGE flag, one `voice-message.ogg` attachment with `duration_secs`. */
  voice?: { durationSecs: number; data: Uint8Array };
}

/** A running emulator. */
export interface DiscordEmulator {
  /** REST base without version, e.g. `http://127.0.0.1:PORT/api`. */
  readonly apiUrl: string;
  /** `http://127.0.0.1:PORT`, which also serves the attachment CDN. */
  readonly origin: string;
  /** `ws://127.0.0.1:PORT/gateway`. */
  readonly gatewayUrl: string;
  /** The only bot token accepted. */
  readonly token: string;
  /** The bot user. */
  readonly bot: User;
  /** The application id (equal to the bot user id, as for modern Discord apps). */
  readonly applicationId: string;
  /** Every REST call in arrival order. */
  readonly requests: RecordedRequest[];
  /** Gateway counters. */
  readonly gateway: GatewayStats;
  /** Every interaction created by {@link clickButton}, in order. */
  readonly interactions: readonly InteractionRecord[];
  /** Closes sockets, server and timers. */
  close(): Promise<void>;
  /** Creates a user. */
  addUser(opts: { username: string; bot?: boolean; id?: string; globalName?: string }): User;
  /** Creates a guild the bot is a member of (or not, with `botIsMember: false`). */
  addGuild(opts?: { name?: string; id?: string; botIsMember?: boolean }): Guild;
  /** Makes a user a member of a guild (users also join on their first message there). */
  addMember(guildId: string, userId: string): void;
  /** Creates a guild text channel; `hidden` denies the bot VIEW_CHANNEL (REST then answers 50001). */
  addTextChannel(guildId: string, opts?: { name?: string; id?: string; hidden?: boolean }): Channel;
  /** Creates a public thread under a text channel. */
  addThread(parentId: string, opts?: { name?: string; id?: string }): Channel;
  /** Registers a custom guild emoji (so `name:id` reactions validate). */
  addEmoji(
    guildId: string,
    name: string,
    opts?: { id?: string; animated?: boolean },
  ): { id: string; name: string };
  /** The DM channel between the bot and a user (created on first use). */
  dmChannel(userId: string): Channel;
  /** Sends a message as a user: stored and dispatched as MESSAGE_CREATE. */
  sendMessage(opts: SendMessageOptions): Message;
  /**
   * Edits a user's own message as Discord's client does: new content,
   * `edited_timestamp` set, MESSAGE_UPDATE dispatched with the full message.
   */
  editMessage(
    opts: { channelId: string; messageId: string; authorId: string; content: string },
  ): Message;
  /**
   * Adds a link-preview embed to a message the way Discord does after it
   * unfurls a URL: MESSAGE_UPDATE without an edit (`edited_timestamp` unchanged).
   */
  unfurl(channelId: string, messageId: string, embed: Record<string, unknown>): void;
  /** Adds a reaction as a user (dispatches MESSAGE_REACTION_ADD). */
  react(opts: { userId: string; channelId: string; messageId: string; emoji: string }): void;
  /** The application's registered global commands (PUT /applications/{app}/commands). */
  readonly commands: readonly ApplicationCommand[];
  /** Runs a registered slash command as a user in a channel (INTERACTION_CREATE type 2). */
  runCommand(
    opts: { userId: string; channelId: string; name: string; options?: Record<string, string> },
  ): Promise<InteractionOutcome>;
  /** Clicks a button on a bot message (or on an ephemeral response the user saw) as a user. */
  clickButton(
    opts: { userId: string; messageId: string; customId: string; lateByMs?: number },
  ): Promise<InteractionOutcome>;
  /** Stored channel history, oldest first (excludes ephemeral). */
  messages(channelId: string): Message[];
  /** One stored message. */
  message(channelId: string, messageId: string): Message | undefined;
  /** Reactions on a message: emoji is the unicode char or `name:id`. */
  reactions(channelId: string, messageId: string): { emoji: string; userIds: string[] }[];
  /** Number of typing indicators (POST /typing) in a channel. */
  typingCount(channelId: string): number;
  /** Polls `probe` every ~10 ms until truthy; rejects after `timeoutMs` (default 5000). */
  waitFor<T>(
    probe: () => T | undefined | null | false,
    opts?: { timeoutMs?: number; message?: string },
  ): Promise<T>;
  /** Registers a hook called with `performance.now()` whenever a dispatch is written to a socket. */
  onDispatch(fn: (event: string, data: unknown, sentAt: number) => void): void;
  /** Makes the next `times` matching REST calls return `response`. */
  failNext(
    match: { method?: string; path: string | RegExp },
    response: { status: number; retryAfter?: number; global?: boolean; body?: unknown },
    times?: number,
  ): void;
  /** Cuts every gateway TCP connection without a close frame (client sees 1006); sessions stay resumable. */
  dropConnections(): void;
  /** Sends op 7 RECONNECT. */
  requestReconnect(): void;
  /** Sends op 1 (server-requested heartbeat). */
  requestHeartbeat(): void;
  /** Sends op 9 INVALID_SESSION with `d: resumable`. */
  invalidateSession(resumable: boolean): void;
  /** Closes every gateway connection with a close code. */
  closeGateway(code: number, reason?: string): void;
  /** Closes the next `times` IDENTIFYs with `code` (e.g. 4004) instead of READY. */
  failNextIdentify(code: number, reason?: string, times?: number): void;
  /** Withholds op 11 ACKs when false (zombie connection). */
  setHeartbeatAcks(enabled: boolean): void;
  /** Changes the session start limit reported by GET /gateway/bot. */
  setSessionStartLimit(limit: Partial<SessionStartLimit>): void;
  /** When false, IDENTIFY with privileged intents (MESSAGE_CONTENT...) is closed with 4014. */
  setIntentsAllowed(ok: boolean): void;
  /** Lists the guild in READY as unavailable and never sends its GUILD_CREATE (an outage). */
  setGuildUnavailable(guildId: string, unavailable?: boolean): void;
}

const CLOSE_REASONS: Record<number, string> = {
  4000: "Unknown error.",
  4001: "Unknown opcode.",
  4002: "Error while decoding payload.",
  4003: "Not authenticated.",
  4004: "Authentication failed.",
  4005: "Already authenticated.",
  4007: "Invalid seq.",
  4008: "Rate limited.",
  4009: "Session timed out.",
  4010: "Invalid shard.",
  4011: "Sharding required.",
  4012: "Invalid API version.",
  4013: "Invalid intent(s).",
  4014: "Disallowed intent(s).",
};

class Emulator implements DiscordEmulator {
  readonly apiUrl: string;
  readonly origin: string;
  readonly gatewayUrl: string;
  readonly token: string;
  readonly bot: User;
  readonly applicationId: string;
  readonly requests: RecordedRequest[] = [];
  readonly #world: World;
  readonly #gateway: Gateway;
  readonly #messages: Messages;
  readonly #interactions: Interactions;
  readonly #rest: RestApi;
  readonly #faults: Fault[] = [];
  readonly #commands: ApplicationCommand[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #front: TcpFront;
  #closed = false;

  constructor(opts: EmulatorOptions) {
    const world = new World("0", opts.botName ?? "test-bot");
    // Re-key the bot with a real snowflake now that the generator exists.
    const botId = world.ids.next();
    world.users.delete("0");
    Object.assign(world.bot, { id: botId });
    world.users.set(botId, world.bot);
    this.#world = world;
    this.bot = world.bot;
    this.applicationId = botId;
    this.token = opts.token ?? makeToken(botId);
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req, info) => this.#handle(req, info),
    );
    this.#front = new TcpFront(this.#server.addr.port);
    const port = this.#front.port;
    this.origin = `http://127.0.0.1:${port}`;
    this.apiUrl = `${this.origin}/api`;
    this.gatewayUrl = `ws://127.0.0.1:${port}/gateway`;
    this.#gateway = new Gateway({
      world,
      token: () => this.token,
      applicationId: this.applicationId,
      heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 41_250,
      url: () => this.gatewayUrl,
      drop: (p) => this.#front.drop(p),
    });
    this.#messages = new Messages(world, this.#gateway, () => this.origin);
    this.#messages.includeChannelType = !opts.omitChannelType;
    this.#interactions = new Interactions(world, this.#gateway, this.#messages, this.applicationId);
    this.#rest = new RestApi({
      world,
      gateway: this.#gateway,
      messages: this.#messages,
      interactions: this.#interactions,
      limiter: new RateLimiter({ ...DEFAULT_RATE_LIMITS, ...opts.rateLimits }),
      token: () => this.token,
      applicationId: this.applicationId,
      origin: () => this.origin,
      gatewayUrl: () => this.gatewayUrl,
      requests: this.requests,
      faults: this.#faults,
      commands: this.#commands,
      spec: opts.spec,
    });
  }

  get gateway(): GatewayStats {
    return { ...this.#gateway.stats };
  }

  get interactions(): readonly InteractionRecord[] {
    return this.#interactions.records;
  }

  #handle(req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>): Response | Promise<Response> {
    const url = new URL(req.url);
    const path = url.pathname;
    if (req.headers.get("upgrade")?.toLowerCase() === "websocket") {
      if (path === "/gateway" || path === "/gateway/" || path === "/") {
        return this.#gateway.upgrade(req, info.remoteAddr.port);
      }
      return json(404, { message: "404: Not Found", code: 0 });
    }
    if (path.startsWith("/attachments/") || path.startsWith("/proxy/attachments/")) {
      return this.#rest.cdn(path);
    }
    const api = /^\/api(?:\/v(\d+))?(\/.*)?$/.exec(path);
    if (!api) return json(404, { message: "404: Not Found", code: 0 });
    if (api[1] !== undefined && api[1] !== "10") {
      return json(400, { message: "Invalid API version", code: 50041 });
    }
    return this.#rest.handle(req, api[2] ?? "/");
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#interactions.shutdown();
    await this.#gateway.shutdown();
    await this.#front.close();
    await this.#server.shutdown();
  }

  addUser(opts: { username: string; bot?: boolean; id?: string; globalName?: string }): User {
    const id = opts.id ?? this.#world.ids.next();
    if (this.#world.users.has(id)) throw new Error(`user ${id} already exists`);
    const user = makeUser(id, opts.username, {
      bot: opts.bot,
      globalName: opts.globalName ?? null,
    });
    this.#world.users.set(id, user);
    return { ...user };
  }

  addGuild(opts: { name?: string; id?: string; botIsMember?: boolean } = {}): Guild {
    const guild = this.#world.addGuild(opts);
    if (this.#world.botInGuild(guild.id)) {
      this.#gateway.dispatch("GUILD_CREATE", this.#gateway.guildCreatePayload(guild.id));
    }
    return structuredClone(guild);
  }

  addMember(guildId: string, userId: string): void {
    this.#world.addMember(guildId, userId);
  }

  addTextChannel(
    guildId: string,
    opts: { name?: string; id?: string; hidden?: boolean } = {},
  ): Channel {
    const channel = this.#world.addTextChannel(guildId, opts);
    if (this.#world.botInGuild(guildId)) {
      this.#gateway.dispatch("CHANNEL_CREATE", channel, { intent: Intents.Guilds });
    }
    return structuredClone(channel);
  }

  addThread(parentId: string, opts: { name?: string; id?: string } = {}): Channel {
    const thread = this.#world.addThread(parentId, opts);
    if (this.#world.botInGuild(thread.guild_id!)) {
      this.#gateway.dispatch("THREAD_CREATE", { ...thread, newly_created: true }, {
        intent: Intents.Guilds,
      });
    }
    return structuredClone(thread);
  }

  addEmoji(guildId: string, name: string, opts: { id?: string; animated?: boolean } = {}) {
    const e = this.#world.addEmoji(guildId, name, opts);
    return { id: e.id, name: e.name };
  }

  dmChannel(userId: string): Channel {
    return structuredClone(this.#world.dmChannel(userId).channel);
  }

  #userChannel(channelId: string, userId: string): Channel {
    const world = this.#world;
    const channel = world.channels.get(channelId);
    if (!channel) throw new Error(`unknown channel ${channelId}`);
    if (!world.users.has(userId)) throw new Error(`unknown user ${userId}`);
    if (channel.type === 1) {
      if (!channel.recipients?.some((u) => u.id === userId) && userId !== world.bot.id) {
        throw new Error(`user ${userId} is not a recipient of DM channel ${channelId}`);
      }
    } else if (!world.userCanView(channel, userId)) {
      world.addMember(channel.guild_id!, userId);
    }
    return channel;
  }

  sendMessage(opts: SendMessageOptions): Message {
    const world = this.#world;
    const channel = this.#userChannel(opts.channelId, opts.authorId);
    const author = world.users.get(opts.authorId)!;
    // People with Nitro may send 4,000 characters; bots are held to 2,000.
    if ([...opts.content].length > MAX_USER_CONTENT) {
      throw new Error(`sendMessage: content is longer than ${MAX_USER_CONTENT} characters`);
    }
    const files: FileInput[] = (opts.attachments ?? []).map((a) => ({ ...a }));
    const rich = this.#richInput(opts, author, files);
    if (opts.content.length === 0 && files.length === 0 && !rich.nonEmpty) {
      throw new Error("sendMessage: empty message");
    }
    if (opts.replyTo && !world.findMessage(channel.id, opts.replyTo)) {
      throw new Error(`sendMessage: replyTo ${opts.replyTo} is not in channel ${channel.id}`);
    }
    const message = this.#messages.create(channel, author, {
      content: opts.content,
      files,
      mentionIds: opts.mentions,
      reference: opts.replyTo ? { message_id: opts.replyTo, channel_id: channel.id } : undefined,
      nonce: randomNonce(),
      embeds: opts.embeds,
      extra: rich.extra,
      attachmentFields: rich.attachmentFields,
    });
    return this.#messages.serialize(message, "full");
  }

  /** Forward, stickers, poll and voice fields of a user message, built as Discord builds them. */
  #richInput(opts: SendMessageOptions, author: User, files: FileInput[]) {
    const extra: Record<string, unknown> = {};
    let attachmentFields: Record<string, unknown>[] | undefined;
    let nonEmpty = false;
    if (opts.embeds?.length && !author.bot) {
      throw new Error("sendMessage: users cannot post rich embeds (Discord adds link previews)");
    }
    if (opts.embeds?.length) nonEmpty = true;
    if (opts.forward) {
      if (opts.content || files.length) {
        throw new Error("sendMessage: a forward carries no content");
      }
      const src = this.#world.findMessage(opts.forward.channelId, opts.forward.messageId);
      if (!src) throw new Error(`sendMessage: no message ${opts.forward.messageId} to forward`);
      const srcChannel = this.#world.channels.get(src.channel_id)!;
      extra.message_reference = {
        type: 1,
        message_id: src.id,
        channel_id: src.channel_id,
        ...(srcChannel.guild_id ? { guild_id: srcChannel.guild_id } : {}),
      };
      extra.message_snapshots = [{
        message: {
          type: src.type,
          content: src.content,
          embeds: structuredClone(src.embeds),
          attachments: structuredClone(src.attachments),
          timestamp: src.timestamp,
          edited_timestamp: src.edited_timestamp,
          flags: src.flags,
          mentions: [],
          mention_roles: [],
          components: [],
          ...(src.sticker_items ? { sticker_items: structuredClone(src.sticker_items) } : {}),
        },
      }];
      extra.flags = 1 << 14; // HAS_SNAPSHOT
      nonEmpty = true;
    }
    if (opts.stickers?.length) {
      extra.sticker_items = opts.stickers.map((st) => ({
        id: st.id,
        name: st.name,
        format_type: 1,
      }));
      nonEmpty = true;
    }
    if (opts.poll) {
      const hours = opts.poll.durationHours ?? 24;
      extra.poll = {
        question: { text: opts.poll.question },
        answers: opts.poll.answers.map((text, i) => ({ answer_id: i + 1, poll_media: { text } })),
        expiry: new Date(Date.now() + hours * 3_600_000).toISOString(),
        allow_multiselect: opts.poll.allowMultiselect ?? false,
        layout_type: 1,
        results: { is_finalized: false, answer_counts: [] },
      };
      nonEmpty = true;
    }
    if (opts.voice) {
      if (opts.content || files.length) {
        throw new Error("sendMessage: a voice message is only audio");
      }
      files.push({
        filename: "voice-message.ogg",
        contentType: "audio/ogg",
        data: opts.voice.data,
      });
      attachmentFields = [{
        duration_secs: opts.voice.durationSecs,
        waveform: btoa("\0".repeat(32)),
      }];
      extra.flags = 1 << 13; // IS_VOICE_MESSAGE
    }
    return { extra, attachmentFields, nonEmpty };
  }

  editMessage(
    opts: { channelId: string; messageId: string; authorId: string; content: string },
  ): Message {
    const message = this.#world.findMessage(opts.channelId, opts.messageId);
    if (!message) throw new Error(`unknown message ${opts.messageId}`);
    if (message.author.id !== opts.authorId) {
      throw new Error("editMessage: people can only edit their own messages");
    }
    this.#messages.edit(message, { content: opts.content });
    return this.#messages.serialize(message, "full");
  }

  unfurl(channelId: string, messageId: string, embed: Record<string, unknown>): void {
    const message = this.#world.findMessage(channelId, messageId);
    if (!message) throw new Error(`unknown message ${messageId}`);
    message.embeds = [...message.embeds, { type: "link", ...embed }];
    const channel = this.#world.channels.get(channelId)!;
    this.#gateway.dispatch("MESSAGE_UPDATE", this.#messages.serialize(message, "gateway"), {
      intent: channel.type === 1 ? Intents.DirectMessages : Intents.GuildMessages,
      message,
    });
  }

  react(opts: { userId: string; channelId: string; messageId: string; emoji: string }): void {
    const channel = this.#userChannel(opts.channelId, opts.userId);
    const message = this.#world.findMessage(channel.id, opts.messageId);
    if (!message) throw new Error(`unknown message ${opts.messageId}`);
    const emoji = parseEmoji(opts.emoji);
    if (!emoji) throw new Error(`not an emoji: ${opts.emoji}`);
    this.#messages.addReaction(channel, message, opts.userId, emoji);
  }

  get commands(): readonly ApplicationCommand[] {
    return structuredClone(this.#commands);
  }

  runCommand(
    opts: { userId: string; channelId: string; name: string; options?: Record<string, string> },
  ): Promise<InteractionOutcome> {
    return this.#interactions.runCommand(opts, this.#commands);
  }

  clickButton(
    opts: { userId: string; messageId: string; customId: string; lateByMs?: number },
  ): Promise<InteractionOutcome> {
    return this.#interactions.clickButton(opts);
  }

  messages(channelId: string): Message[] {
    return (this.#world.history.get(channelId) ?? []).map((m) =>
      this.#messages.serialize(m, "full")
    );
  }

  message(channelId: string, messageId: string): Message | undefined {
    const m = this.#world.findMessage(channelId, messageId);
    return m ? this.#messages.serialize(m, "full") : undefined;
  }

  reactions(channelId: string, messageId: string): { emoji: string; userIds: string[] }[] {
    if (!this.#world.findMessage(channelId, messageId)) return [];
    return (this.#world.reactionsByMessage.get(messageId) ?? []).map((r) => ({
      emoji: r.emoji.id === null ? r.emoji.name : `${r.emoji.name}:${r.emoji.id}`,
      userIds: [...r.userIds],
    }));
  }

  typingCount(channelId: string): number {
    return this.#world.typing.get(channelId) ?? 0;
  }

  async waitFor<T>(
    probe: () => T | undefined | null | false,
    opts: { timeoutMs?: number; message?: string } = {},
  ): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    const deadline = performance.now() + timeoutMs;
    let lastError: unknown;
    while (true) {
      try {
        const value = probe();
        if (value) return value;
      } catch (e) {
        lastError = e;
      }
      if (performance.now() >= deadline) {
        const last = this.requests.slice(-5).map((r) => `${r.method} ${r.path} -> ${r.status}`);
        throw new Error(
          `waitFor timed out after ${timeoutMs} ms${opts.message ? `: ${opts.message}` : ""}` +
            (lastError ? `\n  last probe error: ${lastError}` : "") +
            `\n  gateway: ${JSON.stringify(this.gateway)}` +
            `\n  last requests: ${last.length ? last.join(", ") : "(none)"}`,
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  onDispatch(fn: (event: string, data: unknown, sentAt: number) => void): void {
    this.#gateway.onDispatch(fn);
  }

  failNext(
    match: { method?: string; path: string | RegExp },
    response: { status: number; retryAfter?: number; global?: boolean; body?: unknown },
    times = 1,
  ): void {
    this.#faults.push({ method: match.method, path: match.path, response, remaining: times });
  }

  dropConnections(): void {
    this.#gateway.dropAll();
  }

  requestReconnect(): void {
    this.#gateway.requestReconnect();
  }

  requestHeartbeat(): void {
    this.#gateway.requestHeartbeat();
  }

  invalidateSession(resumable: boolean): void {
    this.#gateway.invalidateSession(resumable);
  }

  closeGateway(code: number, reason?: string): void {
    this.#gateway.closeAll(code, reason ?? CLOSE_REASONS[code] ?? "");
  }

  failNextIdentify(code: number, reason?: string, times = 1): void {
    this.#gateway.identifyFault = { code, reason: reason ?? CLOSE_REASONS[code] ?? "", times };
  }

  setHeartbeatAcks(enabled: boolean): void {
    this.#gateway.heartbeatAcks = enabled;
  }

  setSessionStartLimit(limit: Partial<SessionStartLimit>): void {
    Object.assign(this.#gateway.sessionStartLimit, limit);
  }

  setIntentsAllowed(ok: boolean): void {
    this.#gateway.intentsAllowed = ok;
  }

  setGuildUnavailable(guildId: string, unavailable = true): void {
    if (unavailable) this.#gateway.unavailableGuilds.add(guildId);
    else this.#gateway.unavailableGuilds.delete(guildId);
  }
}

function makeToken(botId: string): string {
  const head = btoa(botId).replace(/=+$/, "");
  return `${head}.${randomToken(6)}.${randomToken(38)}`;
}

function randomNonce(): string {
  return String(BigInt(Date.now() - 1420070400000) << 22n);
}

/** Starts an emulator on an ephemeral 127.0.0.1 port. */
export function startEmulator(opts: EmulatorOptions = {}): Promise<DiscordEmulator> {
  return Promise.resolve(new Emulator(opts));
}
