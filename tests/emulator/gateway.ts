/**
 * The emulated Discord gateway (v10, JSON encoding, no compression): HELLO,
 * heartbeats, IDENTIFY, READY + GUILD_CREATE, sequence numbers, RESUME with
 * replay of missed dispatches, op 7 / op 9, close codes, intents and the
 * session start limit.
 *
 * @module
 */
import type { Channel, Message, World } from "./state.ts";

/** Gateway opcodes. */
export const Op = {
  Dispatch: 0,
  Heartbeat: 1,
  Identify: 2,
  PresenceUpdate: 3,
  VoiceStateUpdate: 4,
  Resume: 6,
  Reconnect: 7,
  RequestGuildMembers: 8,
  InvalidSession: 9,
  Hello: 10,
  HeartbeatAck: 11,
  RequestSoundboardSounds: 31,
} as const;

/** Gateway intents the emulator filters on. */
export const Intents = {
  Guilds: 1 << 0,
  GuildMembers: 1 << 1,
  GuildPresences: 1 << 8,
  GuildMessages: 1 << 9,
  GuildMessageReactions: 1 << 10,
  GuildMessageTyping: 1 << 11,
  DirectMessages: 1 << 12,
  DirectMessageReactions: 1 << 13,
  DirectMessageTyping: 1 << 14,
  MessageContent: 1 << 15,
} as const;

/** Every intent bit Discord defines (0-16, 20, 21, 24, 25). */
const VALID_INTENTS = 0x1ffff | (1 << 20) | (1 << 21) | (1 << 24) | (1 << 25);
const PRIVILEGED = Intents.GuildMembers | Intents.GuildPresences | Intents.MessageContent;
/** Close codes after which Discord will not let the session be resumed. */
const NON_RESUMABLE_CLOSES = new Set([4004, 4007, 4010, 4011, 4012, 4013, 4014]);

/** Session start limit as reported by GET /gateway/bot. */
export interface SessionStartLimit {
  total: number;
  remaining: number;
  reset_after: number;
  max_concurrency: number;
}

/** Counters exposed as `emulator.gateway`. */
export interface GatewayStats {
  identifies: number;
  resumes: number;
  connections: number;
  connected: boolean;
  sentDispatches: number;
  heartbeats: number;
}

interface Payload {
  op: number;
  d: unknown;
  s: number | null;
  t: string | null;
}

interface Session {
  id: string;
  seq: number;
  intents: number;
  /** Every dispatch of this session, for RESUME replay. */
  buffer: { s: number; t: string; d: unknown }[];
  connection: Connection | null;
  valid: boolean;
}

interface Connection {
  socket: WebSocket;
  upstreamPort: number;
  session: Session | null;
  open: boolean;
}

/** Options for {@link Gateway}. */
export interface GatewayOptions {
  world: World;
  token: () => string;
  applicationId: string;
  heartbeatIntervalMs: number;
  /** ws:// URL of the gateway, without query. */
  url: () => string;
  /** Cuts the TCP connection behind a socket (abnormal closure). */
  drop: (upstreamPort: number) => boolean;
}

/** A dispatch filter: which intent (if any) the receiving session needs. */
export interface DispatchOptions {
  intent?: number;
  /** For message events: strip content unless the session has MESSAGE_CONTENT (Discord's rules). */
  message?: Message;
}

/** All gateway sessions of the bot and the connections carrying them. */
export class Gateway {
  /** Public counters. */
  readonly stats: GatewayStats = {
    identifies: 0,
    resumes: 0,
    connections: 0,
    connected: false,
    sentDispatches: 0,
    heartbeats: 0,
  };
  /** Session start limit; IDENTIFY decrements `remaining`. */
  sessionStartLimit: SessionStartLimit = {
    total: 1000,
    remaining: 1000,
    reset_after: 86_400_000,
    max_concurrency: 1,
  };
  /** Whether privileged intents (MESSAGE_CONTENT etc.) are enabled for the app. */
  intentsAllowed = true;
  /**
   * Guilds listed in READY whose GUILD_CREATE is never sent, as for a guild
   * in an outage (Discord keeps it unavailable until it recovers).
   */
  unavailableGuilds = new Set<string>();
  /** Whether op 1 heartbeats get an op 11 ACK. */
  heartbeatAcks = true;
  /** Close code for the next IDENTIFYs (fault injection), with how many remain. */
  identifyFault: { code: number; reason: string; times: number } | null = null;
  readonly #opts: GatewayOptions;
  readonly #sessions = new Map<string, Session>();
  readonly #connections = new Set<Connection>();
  readonly #listeners: ((event: string, data: unknown, sentAt: number) => void)[] = [];
  readonly #closed: Promise<void>[] = [];

  /** Creates the gateway for a world. */
  constructor(opts: GatewayOptions) {
    this.#opts = opts;
  }

  /** Registers a dispatch hook (called when a dispatch is written to a socket). */
  onDispatch(fn: (event: string, data: unknown, sentAt: number) => void): void {
    this.#listeners.push(fn);
  }

  /** Handles an HTTP upgrade request to /gateway. */
  upgrade(req: Request, upstreamPort: number): Response {
    const url = new URL(req.url);
    const version = url.searchParams.get("v");
    const encoding = url.searchParams.get("encoding") ?? "json";
    const compress = url.searchParams.get("compress");
    const { socket, response } = Deno.upgradeWebSocket(req);
    const conn: Connection = { socket, upstreamPort, session: null, open: false };
    this.#connections.add(conn);
    this.stats.connections++;
    let resolveClosed!: () => void;
    this.#closed.push(new Promise<void>((r) => (resolveClosed = r)));
    socket.onopen = () => {
      conn.open = true;
      this.#refreshConnected();
      if (version !== null && version !== "10") {
        return this.#close(conn, 4012, "Invalid API version");
      }
      if (encoding !== "json") return this.#close(conn, 4002, "Error while decoding payload.");
      if (compress !== null) return this.#close(conn, 4002, "Error while decoding payload.");
      this.#send(conn, {
        op: Op.Hello,
        d: { heartbeat_interval: this.#opts.heartbeatIntervalMs, _trace: ['["gateway-emu",{}]'] },
        s: null,
        t: null,
      });
    };
    socket.onmessage = (ev) => this.#onMessage(conn, ev.data);
    socket.onclose = (ev) => {
      conn.open = false;
      this.#connections.delete(conn);
      const session = conn.session;
      if (session && session.connection === conn) {
        session.connection = null;
        // A client closing with 1000/1001 ends its session; anything else keeps it resumable.
        if (ev.code === 1000 || ev.code === 1001 || NON_RESUMABLE_CLOSES.has(ev.code)) {
          session.valid = false;
        }
      }
      this.#refreshConnected();
      resolveClosed();
    };
    socket.onerror = () => {};
    return response;
  }

  #refreshConnected(): void {
    this.stats.connected = [...this.#connections].some((c) => c.open && c.session !== null);
  }

  #send(conn: Connection, payload: Payload): void {
    if (!conn.open || conn.socket.readyState !== WebSocket.OPEN) return;
    conn.socket.send(JSON.stringify(payload));
  }

  #close(conn: Connection, code: number, reason: string): void {
    if (conn.session && NON_RESUMABLE_CLOSES.has(code)) conn.session.valid = false;
    try {
      conn.socket.close(code, reason);
    } catch {
      // already closing
    }
  }

  #onMessage(conn: Connection, raw: unknown): void {
    let payload: { op?: unknown; d?: unknown };
    try {
      if (typeof raw !== "string") throw new Error("binary");
      payload = JSON.parse(raw);
      if (typeof payload !== "object" || payload === null) throw new Error("not an object");
    } catch {
      return this.#close(conn, 4002, "Error while decoding payload.");
    }
    switch (payload.op) {
      case Op.Heartbeat:
        this.stats.heartbeats++;
        if (this.heartbeatAcks) {
          this.#send(conn, { op: Op.HeartbeatAck, d: null, s: null, t: null });
        }
        return;
      case Op.Identify:
        return this.#identify(conn, payload.d);
      case Op.Resume:
        return this.#resume(conn, payload.d);
      case Op.PresenceUpdate:
      case Op.VoiceStateUpdate:
      case Op.RequestGuildMembers:
      case Op.RequestSoundboardSounds:
        if (!conn.session) return this.#close(conn, 4003, "Not authenticated.");
        return;
      default:
        return this.#close(conn, 4001, "Unknown opcode.");
    }
  }

  #identify(conn: Connection, d: unknown): void {
    if (conn.session) return this.#close(conn, 4005, "Already authenticated.");
    const data = (d ?? {}) as Record<string, unknown>;
    if (typeof data.token !== "string" || typeof data.properties !== "object") {
      return this.#close(conn, 4002, "Error while decoding payload.");
    }
    const token = data.token.replace(/^Bot\s+/i, "");
    if (token !== this.#opts.token()) return this.#close(conn, 4004, "Authentication failed.");
    if (this.identifyFault && this.identifyFault.times > 0) {
      const fault = this.identifyFault;
      if (--fault.times === 0) this.identifyFault = null;
      return this.#close(conn, fault.code, fault.reason);
    }
    const intents = data.intents;
    if (
      typeof intents !== "number" || !Number.isInteger(intents) || (intents & ~VALID_INTENTS) !== 0
    ) {
      return this.#close(conn, 4013, "Invalid intent(s).");
    }
    if (!this.intentsAllowed && (intents & PRIVILEGED) !== 0) {
      return this.#close(conn, 4014, "Disallowed intent(s).");
    }
    const shard = data.shard ?? [0, 1];
    if (
      !Array.isArray(shard) || shard.length !== 2 || typeof shard[0] !== "number" ||
      typeof shard[1] !== "number" || shard[1] < 1 || shard[0] < 0 || shard[0] >= shard[1]
    ) {
      return this.#close(conn, 4010, "Invalid shard.");
    }
    if (this.sessionStartLimit.remaining <= 0) {
      // Discord answers an IDENTIFY it cannot start a session for with op 9 (d: false).
      this.#send(conn, { op: Op.InvalidSession, d: false, s: null, t: null });
      return;
    }
    this.sessionStartLimit.remaining--;
    this.stats.identifies++;
    const session: Session = {
      id: crypto.randomUUID().replaceAll("-", ""),
      seq: 0,
      intents,
      buffer: [],
      connection: conn,
      valid: true,
    };
    this.#sessions.set(session.id, session);
    conn.session = session;
    this.#refreshConnected();
    const world = this.#opts.world;
    const guildIds = world.guildIds().filter((id) => world.botInGuild(id));
    this.#dispatchTo(session, "READY", {
      v: 10,
      user_settings: {},
      user: { ...world.bot, flags: 0, mfa_enabled: false, verified: true, email: null },
      guilds: guildIds.map((id) => ({ id, unavailable: true })),
      session_id: session.id,
      session_type: "normal",
      resume_gateway_url: this.#opts.url(),
      shard,
      application: { id: this.#opts.applicationId, flags: this.#applicationFlags() },
      private_channels: [],
      presences: [],
      relationships: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: ["us-east"],
      auth: {},
      _trace: ['["gateway-emu",{}]'],
    });
    for (const id of guildIds) {
      if (this.unavailableGuilds.has(id)) continue;
      this.#dispatchTo(session, "GUILD_CREATE", this.guildCreatePayload(id));
    }
  }

  #applicationFlags(): number {
    // GATEWAY_MESSAGE_CONTENT_LIMITED (1 << 19) when the privileged intent is enabled.
    return this.intentsAllowed ? 1 << 19 : 0;
  }

  #resume(conn: Connection, d: unknown): void {
    if (conn.session) return this.#close(conn, 4005, "Already authenticated.");
    const data = (d ?? {}) as Record<string, unknown>;
    if (typeof data.token !== "string" || typeof data.session_id !== "string") {
      return this.#close(conn, 4002, "Error while decoding payload.");
    }
    if (data.token.replace(/^Bot\s+/i, "") !== this.#opts.token()) {
      return this.#close(conn, 4004, "Authentication failed.");
    }
    const session = this.#sessions.get(data.session_id);
    if (!session || !session.valid) {
      this.#send(conn, { op: Op.InvalidSession, d: false, s: null, t: null });
      return;
    }
    const seq = typeof data.seq === "number" ? data.seq : 0;
    if (seq > session.seq) return this.#close(conn, 4007, "Invalid seq.");
    if (session.connection && session.connection !== conn) {
      // The old connection is superseded, as on Discord.
      const old = session.connection;
      old.session = null;
      this.#close(old, 4000, "Session resumed elsewhere.");
    }
    this.stats.resumes++;
    session.connection = conn;
    conn.session = session;
    this.#refreshConnected();
    for (const entry of session.buffer) {
      if (entry.s > seq) this.#write(conn, { op: Op.Dispatch, d: entry.d, s: entry.s, t: entry.t });
    }
    this.#dispatchTo(session, "RESUMED", { _trace: ['["gateway-emu",{}]'] });
  }

  /** The GUILD_CREATE payload for a guild, as Discord sends it to a bot. */
  guildCreatePayload(guildId: string): Record<string, unknown> {
    const world = this.#opts.world;
    const guild = world.guild(guildId)!;
    const memberIds = world.memberIds(guildId);
    return {
      ...guild,
      afk_channel_id: null,
      afk_timeout: 300,
      application_command_counts: {},
      application_id: null,
      banner: null,
      channels: world.guildChannels(guildId).map((c) => stripGuildId(c)),
      default_message_notifications: 0,
      description: null,
      discovery_splash: null,
      embedded_activities: [],
      emojis: [...world.emojis.values()].filter((e) => e.guildId === guildId).map((e) => ({
        id: e.id,
        name: e.name,
        animated: e.animated,
        available: true,
        managed: false,
        require_colons: true,
        roles: [],
      })),
      explicit_content_filter: 0,
      features: [],
      guild_scheduled_events: [],
      home_header: null,
      hub_type: null,
      incidents_data: null,
      joined_at: (world.member(guildId, world.bot.id, false)?.joined_at as string) ??
        new Date().toISOString(),
      large: false,
      latest_onboarding_question_id: null,
      lazy: true,
      max_members: 500000,
      max_stage_video_channel_users: 50,
      max_video_channel_users: 25,
      member_count: memberIds.length,
      members: memberIds.map((id) => world.member(guildId, id, true)),
      mfa_level: 0,
      nsfw: false,
      nsfw_level: 0,
      preferred_locale: "en-US",
      premium_progress_bar_enabled: false,
      premium_subscription_count: 0,
      premium_tier: 0,
      presences: [],
      public_updates_channel_id: null,
      region: "deprecated",
      rules_channel_id: null,
      safety_alerts_channel_id: null,
      soundboard_sounds: [],
      splash: null,
      stage_instances: [],
      stickers: [],
      system_channel_flags: 0,
      system_channel_id: null,
      threads: world.guildThreads(guildId),
      unavailable: false,
      vanity_url_code: null,
      verification_level: 0,
      voice_states: [],
    };
  }

  #write(conn: Connection, payload: Payload): void {
    if (!conn.open || conn.socket.readyState !== WebSocket.OPEN) return;
    conn.socket.send(JSON.stringify(payload));
    this.stats.sentDispatches++;
    const at = performance.now();
    for (const fn of this.#listeners) fn(payload.t!, payload.d, at);
  }

  #dispatchTo(session: Session, t: string, d: unknown): void {
    const s = ++session.seq;
    session.buffer.push({ s, t, d });
    if (session.buffer.length > 5000) session.buffer.shift();
    if (session.connection) this.#write(session.connection, { op: Op.Dispatch, d, s, t });
  }

  /**
   * Dispatches an event to every live or resumable session that has the needed
   * intent. Sessions without a connection buffer it for RESUME.
   */
  dispatch(t: string, d: unknown, opts: DispatchOptions = {}): void {
    for (const session of this.#sessions.values()) {
      if (!session.valid) continue;
      if (opts.intent !== undefined && (session.intents & opts.intent) === 0) continue;
      let data = d;
      if (opts.message && (session.intents & Intents.MessageContent) === 0) {
        data = this.#withoutContent(opts.message, d as Message);
      }
      this.#dispatchTo(session, t, data);
    }
  }

  /** Discord blanks content, embeds, attachments, components and poll without MESSAGE_CONTENT, except for DMs, the bot's own messages and messages mentioning the bot. */
  #withoutContent(original: Message, data: Message): Message {
    const world = this.#opts.world;
    if (!original.guild_id) return data;
    if (original.author.id === world.bot.id) return data;
    if (original.mentions.some((u) => u.id === world.bot.id)) return data;
    const out: Message = { ...data, content: "", embeds: [], attachments: [], components: [] };
    delete out.poll;
    return out;
  }

  /** Whether any session exists that is still valid. */
  hasSessions(): boolean {
    return [...this.#sessions.values()].some((s) => s.valid);
  }

  /** Sends op 7 RECONNECT on every authenticated connection. */
  requestReconnect(): void {
    for (const conn of this.#connections) {
      if (conn.session) this.#send(conn, { op: Op.Reconnect, d: null, s: null, t: null });
    }
  }

  /** Sends op 1 (server-requested heartbeat) on every connection. */
  requestHeartbeat(): void {
    for (const conn of this.#connections) {
      this.#send(conn, { op: Op.Heartbeat, d: null, s: null, t: null });
    }
  }

  /** Sends op 9 on every authenticated connection; non-resumable also ends the sessions. */
  invalidateSession(resumable: boolean): void {
    for (const conn of this.#connections) {
      const session = conn.session;
      if (!session) continue;
      if (!resumable) session.valid = false;
      // The connection no longer carries an authenticated session; the client resumes or identifies next.
      conn.session = null;
      if (session.connection === conn) session.connection = null;
      this.#send(conn, { op: Op.InvalidSession, d: resumable, s: null, t: null });
    }
    this.#refreshConnected();
  }

  /** Closes every connection with a close frame carrying `code`. */
  closeAll(code: number, reason = ""): void {
    for (const conn of [...this.#connections]) this.#close(conn, code, reason);
  }

  /** Cuts every connection without a close frame; sessions stay resumable. */
  dropAll(): void {
    for (const conn of [...this.#connections]) {
      if (!this.#opts.drop(conn.upstreamPort)) this.#close(conn, 4000, "Unknown error.");
    }
  }

  /** Closes all connections and waits until their close events have fired. */
  async shutdown(): Promise<void> {
    for (const conn of [...this.#connections]) {
      if (!this.#opts.drop(conn.upstreamPort)) this.#close(conn, 1001, "");
    }
    await Promise.all(this.#closed);
  }

  /** Whether a channel's events go to a session with the given intents (helper for callers). */
  static messageIntent(channel: Channel): number {
    return channel.type === 1 ? Intents.DirectMessages : Intents.GuildMessages;
  }
}

function stripGuildId(c: Channel): Channel {
  const { guild_id: _g, ...rest } = c;
  return rest as Channel;
}
