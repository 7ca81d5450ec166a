/**
 * The discord.js adapter: logs in, turns gateway events into the core's plain
 * data, and implements {@link DiscordPort} over Discord's REST API. Nothing
 * outside this folder imports discord.js, so the core stays testable without
 * it and the MCP handshake never waits for it to load.
 *
 * @module
 */
import {
  Client,
  GatewayIntentBits,
  type Interaction,
  MessageFlags,
  Options,
  Partials,
} from "discord.js";
import type { ChatFacts } from "../access/gate.ts";
import { describeError } from "../core/log.ts";
import type { InboundMessage } from "../core/notification.ts";
import type {
  ButtonClick,
  CommandRun,
  DiscordPort,
  DiscordState,
  HistoryMessage,
  InteractionAnswer,
  MessageBody,
} from "./port.ts";
import { backoffDelay, formatDelay, LOGIN_BACKOFF } from "./backoff.ts";
import {
  explainLoginFailure,
  explainRestError,
  FATAL_CLOSE_CODES,
  isFatalLoginFailure,
} from "./errors.ts";
import { checkGateway, planIdentify, type SessionStartLimit } from "./guard.ts";
import { mentionsUser, messageTime } from "./raw.ts";
// Discord-native events (issue 14): rich inbound parts, reactions, edits.
import {
  type RawReactionAdd,
  type RawRich,
  type ReactionFacts,
  readReaction,
  readRich,
  replyReferenceId,
} from "./raw.ts";
import { OwnMessages } from "../native/events.ts";

/** Callbacks from the gateway into the core. */
export interface DiscordHandlers {
  onMessage(msg: InboundMessage): void;
  onButton(click: ButtonClick): Promise<InteractionAnswer>;
  /** A slash command registered by the bridge was run (answered ephemerally). */
  onCommand?(run: CommandRun): Promise<InteractionAnswer>;
  onState(state: DiscordState): void;
  /**
   * A new gateway session started (a READY, not a resume): events sent
   * while there was no session were never delivered, so the core catches up.
   */
  onFreshSession?(): void;
  /**
   * A READY arrived: a new session begins. Its live messages may come before
   * {@link onFreshSession} (discord.js waits for every guild first).
   */
  onSessionStart?(): void;
  /** A person edited a message (MESSAGE_UPDATE with `edited_timestamp`). */
  onEdit?(msg: InboundMessage): void;
  /** Someone added a reaction; `excerpt` is the start of the bot's message reacted to, if known. */
  onReaction?(reaction: ReactionFacts, excerpt?: string): void;
}

/** Options for {@link connectDiscord}. */
export interface DiscordOptions {
  token: string;
  /** REST base without version, e.g. `https://discord.com/api`. */
  apiUrl: string;
  log: (line: string) => void;
}

/** A live Discord connection. */
export interface DiscordConnection extends DiscordPort {
  /**
   * The newest `limit` messages of a chat as inbound messages (any order),
   * for catch-up. Empty for chats that are neither DMs nor guild text.
   */
  fetchRecentInbound(chatId: string, limit: number): Promise<InboundMessage[]>;
  /** Starts a public thread (no starter message) in a guild text channel (sessions' threads). */
  createThread(parentId: string, name: string): Promise<{ id: string }>;
  /** Archives or unarchives a thread. */
  setThreadArchived(threadId: string, archived: boolean): Promise<void>;
  /** Replaces the bot's global application (slash) commands. */
  registerCommands(commands: unknown[]): Promise<void>;
  stop(): Promise<void>;
}

const THREAD_TYPES = new Set([10, 11, 12]);
const DM_TYPES = new Set([1]);
const GUILD_TEXT_TYPES = new Set([0, 2, 5, 13, 15, 16]);
const FACTS_CACHE_LIMIT = 500;
/** REST retries of a request that failed with a 5xx or a timeout (discord.js option). */
const REST_RETRIES = 3;
/** Longer 429 waits fail the call instead: a tool call must not hang for minutes. */
const MAX_RATE_LIMIT_WAIT_MS = 30_000;
const WATCHDOG_TICK_MS = 1_000;

/**
 * Starts logging in; resolves at once with a connection whose state is
 * reported through `onState`.
 *
 * What discord.js 14 / @discordjs/ws 1.2 already do, and this relies on:
 * resume after a dropped socket, op 7 and resumable op 9; a fresh identify
 * after a non-resumable op 9; zombie detection (no ACK before the next
 * heartbeat closes and resumes); waiting out 429s; retrying 5xx and
 * timeouts `REST_RETRIES` times. What it adds: login retries with backoff
 * (discord.js gives up after one failure), a guard on every IDENTIFY (daily
 * budget, backoff when identifies keep failing), and a watchdog for
 * half-open sockets, whose close handshake never completes in Deno and
 * would leave discord.js waiting forever.
 */
export function connectDiscord(opts: DiscordOptions, handlers: DiscordHandlers): DiscordConnection {
  let state: DiscordState = { state: "starting" };
  const setState = (next: DiscordState) => {
    state = next;
    handlers.onState(next);
  };
  let stopped = false;
  let fatal = false;
  const stopController = new AbortController();
  let loginAttempt = 0;

  // One guard for every client this connection creates: the identify
  // history must survive a relogin, or a relogin loop would reset it.
  const identify = {
    times: [] as number[],
    streak: 0,
    pausedForBudget: false,
  };
  const identifyGuard = {
    async waitForIdentify(_shardId: number, signal: AbortSignal): Promise<void> {
      while (true) {
        const limit = await fetchSessionLimit(client).catch(() => undefined);
        const now = Date.now();
        const plan = planIdentify(identify, now, limit);
        if (plan.waitMs <= 0) break;
        if (plan.reason === "budget") {
          if (!identify.pausedForBudget) {
            opts.log(budgetMessage(limit!, plan.waitMs));
            identify.pausedForBudget = true;
          }
        } else if (plan.reason === "backoff") {
          opts.log(
            `${identify.streak} gateway login(s) in a row did not complete; waiting ${
              formatDelay(plan.waitMs)
            } before the next one, to spare the daily login budget`,
          );
        }
        await sleep(plan.waitMs, signal);
      }
      if (identify.pausedForBudget) {
        opts.log("Discord's login budget is available again; logging in");
        identify.pausedForBudget = false;
      }
      const now = Date.now();
      identify.times = [...identify.times.filter((t) => now - t < 3_600_000), now];
      identify.streak++;
    },
  };

  let client: Client = makeClient();
  // Watchdog state for the current client.
  let reconnectingSince: number | undefined;
  let closingSince: number | undefined;
  let lastAliveAt: number | undefined;
  let lastPing: number | undefined;
  let heartbeatMs: number | undefined;
  let lastShardErrorLog = 0;

  function makeClient(): Client {
    const c = new Client({
      intents: [
        GatewayIntentBits.Guilds,
        GatewayIntentBits.GuildMessages,
        GatewayIntentBits.DirectMessages,
        GatewayIntentBits.MessageContent,
        // Reactions on the bot's messages can answer Claude (issue 14).
        GatewayIntentBits.GuildMessageReactions,
        GatewayIntentBits.DirectMessageReactions,
      ],
      // DMs arrive on channels discord.js has never seen; without this partial
      // it drops those messages silently.
      partials: [Partials.Channel],
      // A guild listed in READY whose GUILD_CREATE never comes (an outage)
      // would hold readiness (tools, pairing, catch-up) for the default 15 s.
      waitGuildTimeout: 2_000,
      rest: {
        api: opts.apiUrl,
        retries: REST_RETRIES,
        timeout: 15_000,
        makeRequest: pausingFetch as never,
        rejectOnRateLimit: (info) => info.retryAfter > MAX_RATE_LIMIT_WAIT_MS,
      },
      ws: { buildIdentifyThrottler: () => identifyGuard },
      // The bridge reads history over REST when asked; caching messages would
      // only grow memory with traffic.
      makeCache: Options.cacheWithLimits({
        MessageManager: 0,
        ReactionManager: 0,
        ReactionUserManager: 0,
        GuildMemberManager: { maxSize: 1, keepOverLimit: (m) => m.id === m.client.user.id },
        UserManager: { maxSize: 100, keepOverLimit: (u) => u.id === u.client.user.id },
        PresenceManager: 0,
        VoiceStateManager: 0,
        StageInstanceManager: 0,
        GuildStickerManager: 0,
        GuildEmojiManager: 0,
        GuildScheduledEventManager: 0,
        ThreadMemberManager: 0,
        GuildBanManager: 0,
        GuildInviteManager: 0,
        AutoModerationRuleManager: 0,
        ApplicationCommandManager: 0,
      }),
      sweepers: {
        ...Options.DefaultSweeperSettings,
        users: { interval: 600, filter: () => (u) => u.id !== u.client.user?.id },
      },
    });
    // The token is needed before login for the budget check.
    c.rest.setToken(opts.token);
    skipUnusedMessageActions(c);
    return c;
  }

  const facts = new Map<string, ChatFacts>();
  const remember = (id: string, f: ChatFacts) => {
    if (facts.size >= FACTS_CACHE_LIMIT) facts.delete(facts.keys().next().value!);
    facts.set(id, f);
  };
  const sentByMe = new Set<string>();
  const noteSent = (id: string) => {
    sentByMe.add(id);
    if (sentByMe.size > 500) sentByMe.delete(sentByMe.values().next().value!);
  };

  const botId = () => client.user?.id ?? "";

  async function chatFacts(chatId: string): Promise<ChatFacts> {
    const cached = facts.get(chatId);
    if (cached) return cached;
    const known = client.channels.cache.get(chatId);
    let type: number | undefined;
    let parentId: string | undefined;
    let recipientId: string | undefined;
    let guildId: string | undefined;
    if (known && !known.partial) {
      type = known.type;
      parentId = "parentId" in known ? known.parentId ?? undefined : undefined;
      recipientId = "recipientId" in known ? known.recipientId ?? undefined : undefined;
      guildId = "guildId" in known ? known.guildId ?? undefined : undefined;
    } else {
      const raw = await client.rest.get(`/channels/${chatId}`) as {
        type: number;
        parent_id?: string | null;
        guild_id?: string;
        recipients?: { id: string }[];
      };
      type = raw.type;
      parentId = raw.parent_id ?? undefined;
      recipientId = raw.recipients?.[0]?.id;
      guildId = raw.guild_id;
    }
    let f: ChatFacts;
    if (DM_TYPES.has(type)) f = { kind: "dm", recipientId };
    else if (THREAD_TYPES.has(type)) f = { kind: "guild", channelId: chatId, parentId, guildId };
    else if (GUILD_TEXT_TYPES.has(type)) f = { kind: "guild", channelId: chatId, guildId };
    else f = { kind: "other" };
    // A DM without a known recipient is not cached: a later lookup may learn it.
    if (f.kind !== "dm" || f.recipientId) remember(chatId, f);
    return f;
  }

  /** Wires a client's events; every handler ignores a client that was replaced. */
  function attach(c: Client): void {
    const current = () => c === client && !stopped;
    // Messages are read from the raw gateway dispatch rather than discord.js's
    // messageCreate: discord.js drops a DM whose channel it has not cached
    // when the payload lacks `channel_type`, and builds objects we do not need.
    c.on("interactionCreate", (interaction: Interaction) => {
      if (current() && interaction.isChatInputCommand() && handlers.onCommand) {
        const options: Record<string, string> = {};
        for (const o of interaction.options.data) {
          if (typeof o.value === "string") options[o.name] = o.value;
        }
        handlers.onCommand({
          name: interaction.commandName,
          options,
          userId: interaction.user.id,
          userName: interaction.user.username,
          channelId: interaction.channelId,
        }).then(async (answer) => {
          await interaction.reply({
            content: answer.kind === "ephemeral" ? answer.content : answer.body.content,
            components:
              ((answer.kind === "ephemeral" ? answer.components : answer.body.components) ??
                []) as never,
            flags: MessageFlags.Ephemeral,
            allowedMentions: { parse: [] },
          });
        }).catch((err) => opts.log(`could not answer a command: ${describeError(err)}`));
        return;
      }
      if (!current() || !interaction.isButton()) return;
      const click: ButtonClick = {
        customId: interaction.customId,
        userId: interaction.user.id,
        userName: interaction.user.username,
        channelId: interaction.channelId,
        messageId: interaction.message.id,
        guildId: interaction.guildId ?? undefined,
      };
      handlers.onButton(click).then(async (answer) => {
        try {
          if (answer.kind === "update") {
            await interaction.update({
              content: answer.body.content,
              components: (answer.body.components ?? []) as never,
              allowedMentions: { parse: [] },
            });
          } else {
            await interaction.reply({
              content: answer.content,
              components: (answer.components ?? []) as never,
              flags: MessageFlags.Ephemeral,
            });
          }
        } catch (err) {
          opts.log(`could not answer a button click: ${describeError(err)}`);
          // A late click (10062): the message must still show the outcome.
          if (answer.kind === "update" && answer.patchIfRefused) {
            await rest((c) =>
              c.rest.patch(`/channels/${click.channelId}/messages/${click.messageId}`, {
                body: sendable(answer.body),
              })
            );
            opts.log("updated the clicked message over REST instead");
          }
        }
      }).catch((err) => opts.log(`could not update a clicked message: ${describeError(err)}`));
    });

    // shardReady fires for every READY (the first and each re-identify after
    // a non-resumable session end); clientReady only for the first.
    c.on("shardReady", () => {
      if (!current() || !c.user) return;
      identify.streak = 0;
      loginAttempt = 0;
      reconnectingSince = undefined;
      lastAliveAt = Date.now();
      setState({ state: "ready", botId: c.user.id, botName: c.user.username });
      handlers.onFreshSession?.();
    });
    c.on("shardResume", () => {
      if (!current()) return;
      reconnectingSince = undefined;
      lastAliveAt = Date.now();
      if (state.state === "reconnecting") setState({ ...state, state: "ready" });
    });
    c.on("shardReconnecting", () => {
      if (!current()) return;
      reconnectingSince ??= Date.now();
      // A gap across connections is no heartbeat interval.
      lastPing = undefined;
      if (state.state === "ready") setState({ ...state, state: "reconnecting" });
    });
    c.on("shardDisconnect", (event) => {
      if (!current()) return;
      if (FATAL_CLOSE_CODES.has(event.code)) {
        fatal = true;
        setState({ state: "failed", reason: explainLoginFailure({ closeCode: event.code }) });
        // discord.js stops this shard itself; the client goes too, so
        // nothing retries a close that retrying cannot fix.
        abandon(c);
      }
    });
    c.on("raw", (packet: { t?: string | null; d?: unknown }) => {
      lastAliveAt = Date.now();
      if (packet.t === "READY" && current()) handlers.onSessionStart?.();
      if (packet.t === "MESSAGE_CREATE" && current()) onGatewayMessage(packet.d as GatewayMessage);
      if (packet.t === "MESSAGE_UPDATE" && current()) onGatewayEdit(packet.d as GatewayMessage);
      if (packet.t === "MESSAGE_REACTION_ADD" && current()) {
        onGatewayReaction(packet.d as RawReactionAdd);
      }
    });
    c.on("shardError", (err) => {
      // While the network is down discord.js reports every 500 ms attempt.
      if (!current() || Date.now() - lastShardErrorLog < 30_000) return;
      lastShardErrorLog = Date.now();
      opts.log(`gateway connection error: ${describeError(err)}`);
    });
    c.on("error", (err) => opts.log(`discord.js error: ${describeError(err)}`));
  }

  /** Drops a client for good: no event of it reaches the core any more. */
  function abandon(c: Client): void {
    // Destroy can wait on a close handshake that never ends; do not wait for it.
    c.destroy().catch(() => {}).finally(() => c.removeAllListeners());
  }

  /** Logs in with a fresh client until it works, a fatal error occurs, or stop. */
  async function loginLoop(): Promise<void> {
    while (!stopped && !fatal) {
      const c = client;
      try {
        await waitForLoginBudget(c);
        if (stopped || c !== client) return;
        await c.login(opts.token);
        return;
      } catch (err) {
        if (stopped || fatal || c !== client) return;
        abandon(c);
        if (isFatalLoginFailure({ err })) {
          fatal = true;
          setState({ state: "failed", reason: explainLoginFailure({ err }) });
          return;
        }
        const wait = backoffDelay(loginAttempt++, LOGIN_BACKOFF);
        setState({ state: "failed", reason: explainLoginFailure({ err, retryInMs: wait }) });
        try {
          await sleep(wait, stopController.signal);
        } catch {
          return;
        }
        client = makeClient();
        attach(client);
        resetWatchdog();
      }
    }
  }

  /** Before a login: never start one when Discord says the daily budget is spent. */
  async function waitForLoginBudget(c: Client): Promise<void> {
    let paused = false;
    while (!stopped) {
      const limit = await fetchSessionLimit(c);
      if (limit.remaining > 0) {
        if (paused) opts.log("Discord's login budget is available again; logging in");
        return;
      }
      const wait = Math.max(1_000, limit.reset_after);
      if (!paused) {
        paused = true;
        const reason = budgetMessage(limit, wait);
        setState({ state: "failed", reason });
      }
      await sleep(wait, stopController.signal);
    }
  }

  /** Throws the client away and logs in again (with the login backoff). */
  function relogin(why: string): void {
    if (stopped || fatal) return;
    opts.log(`${why}; logging in again`);
    abandon(client);
    client = makeClient();
    attach(client);
    resetWatchdog();
    if (state.state === "ready") setState({ ...state, state: "reconnecting" });
    void loginLoop();
  }

  function resetWatchdog(): void {
    reconnectingSince = undefined;
    closingSince = undefined;
    lastAliveAt = undefined;
    lastPing = undefined;
    heartbeatMs = undefined;
  }

  // The watchdog: a gateway that went quiet must never be left half-dead.
  const watchdog = setInterval(() => {
    if (stopped || fatal) return;
    const now = Date.now();
    const shard = client.ws.shards.first();
    const ping = shard?.lastPingTimestamp;
    if (ping !== undefined && ping > 0 && ping !== lastPing) {
      // lastPingTimestamp is when the last ACKed heartbeat was sent; its
      // spacing within one connection is the heartbeat interval.
      if (lastPing !== undefined) heartbeatMs = ping - lastPing;
      lastPing = ping;
      lastAliveAt = now;
    }
    const sockets = gatewaySockets(client);
    const closing = sockets.some((s) => s.readyState === WebSocket.CLOSING);
    closingSince = closing ? closingSince ?? now : undefined;
    const loggedIn = state.state === "ready" || state.state === "reconnecting";
    const verdict = checkGateway({
      now,
      closingSince,
      reconnectingSince,
      lastAliveAt: loggedIn ? lastAliveAt : undefined,
      heartbeatMs,
    });
    if (verdict === "force-close") {
      opts.log(
        "the gateway connection went quiet (no heartbeat ACK, close unanswered); dropping it to resume",
      );
      closingSince = undefined;
      lastAliveAt = now;
      forceClose(sockets);
    } else if (verdict === "relogin") {
      relogin(`could not reconnect to the gateway for ${formatDelay(now - reconnectingSince!)}`);
    }
  }, WATCHDOG_TICK_MS);
  Deno.unrefTimer(watchdog);

  attach(client);
  void loginLoop();

  /** Wraps a REST call so that its failure reads well in a tool result. */
  async function rest<T>(call: (c: Client) => Promise<unknown>): Promise<T> {
    try {
      return await call(client) as T;
    } catch (err) {
      throw explainRestError(err, REST_RETRIES);
    }
  }

  const sendable = (body: MessageBody) => ({ allowed_mentions: { parse: [] }, ...body });

  // Per-chat queues: a message that needs a REST lookup (an uncached
  // thread, a reply to an old message) must not be overtaken by the next one.
  const chatQueues = new Map<string, Promise<void>>();

  function onGatewayMessage(d: GatewayMessage): void {
    if (!d?.id || !d.channel_id || !d.author) return;
    if (d.author.id === botId()) {
      noteSent(d.id);
      own.note(d.id, d.content);
      return;
    }
    if (!isPersonMessage(d)) return;
    inChatOrder(d, handlers.onMessage, "message");
  }

  /** Reads `d` after the chat's earlier events, then hands it to `deliver`. */
  function inChatOrder(
    d: GatewayMessage,
    deliver: (msg: InboundMessage) => void,
    what: string,
  ): void {
    const chat = d.channel_id;
    const previous = chatQueues.get(chat) ?? Promise.resolve();
    const next = previous
      .then(() => gatewayToInbound(d))
      .then(deliver, (err) => {
        opts.log(`could not read ${what} ${d.id}: ${describeError(err)}`);
      });
    chatQueues.set(chat, next);
    next.finally(() => {
      if (chatQueues.get(chat) === next) chatQueues.delete(chat);
    });
  }

  const own = new OwnMessages();

  /** A person's edit: read like a new message, handed to `onEdit` in chat order. */
  function onGatewayEdit(d: GatewayMessage): void {
    if (!handlers.onEdit || !d?.id || !d.channel_id || !d.author || !d.edited_timestamp) return;
    if (d.author.id === botId() || !isPersonMessage(d)) return;
    inChatOrder(d, (m) => handlers.onEdit?.(m), "edit of message");
  }

  /** A reaction added by someone else than the bot. */
  function onGatewayReaction(d: RawReactionAdd): void {
    const me = botId();
    const r = readReaction(d, me, (id) => sentByMe.has(id) || own.has(id));
    if (!r || r.userId === me) return;
    handlers.onReaction?.(r, own.excerpt(r.messageId));
  }

  /** A MESSAGE_CREATE payload as the inbound data the gate decides on. */
  async function gatewayToInbound(d: GatewayMessage): Promise<InboundMessage> {
    const isDm = !d.guild_id;
    let f: ChatFacts;
    if (isDm) {
      // A DM's other party is its author: remember it for the outbound gate.
      f = { kind: "dm", recipientId: d.author.id };
      if (!facts.has(d.channel_id)) remember(d.channel_id, f);
    } else {
      f = await chatFacts(d.channel_id).catch(() => ({ kind: "guild", channelId: d.channel_id }));
    }
    const msg = rawToInbound(d.channel_id, d, f);
    msg.isDm = isDm;
    if (!isDm) msg.guildId = d.guild_id;
    if (msg.replyToId && !msg.repliesToBot && d.referenced_message === undefined) {
      // Discord omitted the referenced message: ask rather than guess, so a
      // reply to something the bot said before a restart still counts.
      try {
        const ref = await rest<RawMessage>((c) =>
          c.rest.get(
            `/channels/${
              d.message_reference?.channel_id ?? d.channel_id
            }/messages/${msg.replyToId}`,
          )
        );
        msg.repliesToBot = ref.author.id === botId();
        // The quoted text too (issue 14), since Discord left it out.
        if (msg.rich && !msg.rich.quote) {
          msg.rich.quote = readRich({ referenced_message: ref } as RawRich).quote;
        }
      } catch {
        // deleted or unreadable: not a reply to us
      }
    }
    return msg;
  }

  /** A raw REST message (history) as the inbound data the gate decides on. */
  function rawToInbound(
    chatId: string,
    m: RawMessage,
    f: ChatFacts,
  ): InboundMessage {
    const me = botId();
    const refId = replyReferenceId(m as RawRich);
    let repliesToBot = false;
    if (refId) {
      if (m.referenced_message) repliesToBot = m.referenced_message.author.id === me;
      else repliesToBot = sentByMe.has(refId);
    }
    const known = client.channels.cache.get(chatId);
    // History from REST carries no guild_id: the channel lookup knows it.
    const guildId = m.guild_id ?? (f.kind === "guild" ? f.guildId : undefined) ??
      (known && "guildId" in known ? known.guildId ?? undefined : undefined);
    return {
      id: m.id,
      isDm: f.kind === "dm",
      channelId: chatId,
      parentId: f.kind === "guild" ? f.parentId : undefined,
      guildId: f.kind === "guild" ? guildId : undefined,
      authorId: m.author.id,
      authorName: m.author.username,
      // A webhook post is not a person, whatever name it shows.
      authorIsBot: m.author.bot === true || !!m.webhook_id,
      authorIsSelf: m.author.id === me,
      mentionsBot: mentionsUser(m, me),
      repliesToBot,
      content: m.content ?? "",
      createdAt: messageTime(m.timestamp, m.id),
      attachments: (m.attachments ?? []).map(toAttachment),
      replyToId: refId,
      rich: readRich(m as RawRich),
    };
  }

  return {
    status: () => state,
    chatFacts,
    async openDm(userId) {
      const raw = await rest<{ id: string }>((c) =>
        c.rest.post("/users/@me/channels", { body: { recipient_id: userId } })
      );
      remember(raw.id, { kind: "dm", recipientId: userId });
      return raw.id;
    },
    async sendMessage(chatId, body, files) {
      // With enforce_nonce, Discord creates the message once even when a 5xx
      // or a timeout makes discord.js send the same request again.
      const payload = { ...sendable(body), nonce: makeNonce(), enforce_nonce: true };
      const raw = await rest<{ id: string }>((c) =>
        c.rest.post(`/channels/${chatId}/messages`, {
          body: files?.length
            ? { ...payload, attachments: files.map((f, i) => ({ id: i, filename: f.name })) }
            : payload,
          files: files?.map((f, i) => ({
            key: `files[${i}]`,
            name: f.name,
            data: f.data,
            contentType: f.contentType,
          })),
        })
      );
      noteSent(raw.id);
      return { id: raw.id };
    },
    async editMessage(chatId, messageId, body) {
      const raw = await rest<{ id: string }>((c) =>
        c.rest.patch(`/channels/${chatId}/messages/${messageId}`, { body: sendable(body) })
      );
      return { id: raw.id };
    },
    async addReaction(chatId, messageId, emoji) {
      await rest((c) =>
        c.rest.put(
          `/channels/${chatId}/messages/${messageId}/reactions/${encodeEmoji(emoji)}/@me`,
        )
      );
    },
    async fetchMessages(chatId, { limit, after }) {
      const query = new URLSearchParams({ limit: String(limit) });
      if (after) query.set("after", after);
      const raw = await rest<RawMessage[]>((c) =>
        c.rest.get(`/channels/${chatId}/messages`, { query })
      );
      return raw.map(toHistory);
    },
    async fetchMessage(chatId, messageId) {
      return toHistory(
        await rest<RawMessage>((c) => c.rest.get(`/channels/${chatId}/messages/${messageId}`)),
      );
    },
    async fetchRecentInbound(chatId, limit) {
      const f = await chatFacts(chatId);
      if (f.kind === "other") return [];
      const query = new URLSearchParams({ limit: String(limit) });
      const raw = await rest<RawMessage[]>((c) =>
        c.rest.get(`/channels/${chatId}/messages`, { query })
      );
      // The same filter as live messages: catch-up must not let through
      // what the gateway path drops.
      return raw.filter(isPersonMessage).map((m) => rawToInbound(chatId, m, f));
    },
    async createThread(parentId, name) {
      const raw = await rest<{ id: string }>((c) =>
        c.rest.post(`/channels/${parentId}/threads`, {
          body: { name, type: 11, auto_archive_duration: 10080 },
        })
      );
      remember(raw.id, { kind: "guild", channelId: raw.id, parentId });
      return { id: raw.id };
    },
    async registerCommands(commands) {
      const appId = client.application?.id ??
        (await rest<{ id: string }>((c) => c.rest.get("/applications/@me"))).id;
      await rest((c) => c.rest.put(`/applications/${appId}/commands`, { body: commands }));
    },
    async setThreadArchived(threadId, archived) {
      await rest((c) => c.rest.patch(`/channels/${threadId}`, { body: { archived } }));
    },
    async removeReaction(chatId, messageId, emoji) {
      await rest((c) =>
        c.rest.delete(
          `/channels/${chatId}/messages/${messageId}/reactions/${encodeEmoji(emoji)}/@me`,
        )
      );
    },
    async sendTyping(chatId) {
      await rest((c) => c.rest.post(`/channels/${chatId}/typing`));
    },
    async stop() {
      stopped = true;
      stopController.abort();
      clearInterval(watchdog);
      setState({ state: "stopped" });
      await client.destroy();
    },
  };
}

/** A MESSAGE_CREATE dispatch's payload (the fields the bridge reads). */
interface GatewayMessage extends RawMessage {
  channel_id: string;
}

interface RawMessage {
  id: string;
  edited_timestamp?: string | null;
  type?: number;
  webhook_id?: string;
  timestamp: string;
  content: string;
  guild_id?: string;
  author: { id: string; username: string; bot?: boolean };
  mentions?: { id: string }[];
  message_reference?: { message_id?: string; channel_id?: string };
  referenced_message?: { author: { id: string } } | null;
  attachments?: {
    id: string;
    filename: string;
    content_type?: string;
    size: number;
    url: string;
  }[];
  components?: unknown[];
}

/**
 * Only what people write (default messages and replies): joins, pins, thread
 * starters and other system messages carry no instruction for Claude.
 */
function isPersonMessage(m: { type?: number }): boolean {
  return m.type === undefined || m.type === 0 || m.type === 19;
}

/** A REST attachment as the core's plain listing. */
function toAttachment(a: NonNullable<RawMessage["attachments"]>[number]) {
  return { id: a.id, name: a.filename, contentType: a.content_type, size: a.size, url: a.url };
}

function toHistory(m: RawMessage): HistoryMessage {
  return {
    id: m.id,
    timestamp: messageTime(m.timestamp, m.id),
    authorId: m.author.id,
    authorName: m.author.username,
    authorIsBot: m.author.bot === true || !!m.webhook_id,
    content: m.content ?? "",
    attachments: (m.attachments ?? []).map(toAttachment),
    hasComponents: Array.isArray(m.components) && m.components.length > 0,
  };
}

/** `GET /gateway/bot`'s session start limit. */
async function fetchSessionLimit(c: Client): Promise<SessionStartLimit> {
  const info = await c.rest.get("/gateway/bot") as { session_start_limit: SessionStartLimit };
  return info.session_start_limit;
}

function budgetMessage(limit: SessionStartLimit, waitMs: number): string {
  return `Discord's daily login budget for this bot is used up (0 of ${limit.total} left), so the bridge does not log in until it resets in ${
    formatDelay(waitMs)
  } (${
    new Date(Date.now() + waitMs).toISOString()
  }). Something has been logging in over and over: look for other running copies of this bridge or other programs using the same bot token.`;
}

/**
 * discord.js actions whose only product is a discord.js event the bridge does
 * not listen to (messageCreate, messageUpdate, messageDelete,
 * messageDeleteBulk).
 */
export const SKIPPED_MESSAGE_ACTIONS = [
  "MessageCreate",
  "MessageUpdate",
  "MessageDelete",
  "MessageDeleteBulk",
] as const;

/**
 * Turns discord.js's processing of message dispatches into no-ops. For every
 * MESSAGE_CREATE it would build a Message (plus partial channel and user
 * objects) only to emit messageCreate; the bridge reads the same dispatch raw
 * (the "raw" event, emitted before these handlers run) and nothing in it,
 * tools and button interactions included, reads discord.js's message events
 * or message caches (which are sized 0 anyway). That was pure per-message
 * work and garbage. `Client#actions` is internal API, hence the guard: should
 * discord.js rename it, nothing is patched and everything works as before.
 * The handlers of these dispatches read nothing from the result but
 * MESSAGE_UPDATE's `{ old, updated }`, which an empty object satisfies.
 */
function skipUnusedMessageActions(c: Client): void {
  const actions = (c as unknown as { actions?: Record<string, { handle?: unknown } | undefined> })
    .actions;
  for (const name of SKIPPED_MESSAGE_ACTIONS) {
    const action = actions?.[name];
    if (action && typeof action.handle === "function") action.handle = () => ({});
  }
}

/** Resolves after `ms`, or rejects when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * fetch for discord.js's REST client, pausing briefly after a 5xx: discord.js
 * retries those at once, and an immediate retry against a struggling server
 * mostly fails the same way.
 */
async function pausingFetch(url: string, init: RequestInit): Promise<Response> {
  const res = await fetch(url, init);
  if (res.status >= 500) await new Promise((r) => setTimeout(r, 200 + Math.random() * 300));
  return res;
}

/** A message nonce: a random snowflake-sized decimal string. */
function makeNonce(): string {
  const [a, b] = crypto.getRandomValues(new Uint32Array(2));
  return `${a}${String(b).padStart(10, "0")}`.slice(0, 19);
}

/** The WebSockets behind a client's shards (a private field of @discordjs/ws 1.x). */
function gatewaySockets(c: Client): WebSocket[] {
  const manager = (c.ws as unknown as {
    _ws?: { strategy?: { shards?: Map<number, { connection?: WebSocket | null }> } };
  })._ws;
  const shards = manager?.strategy?.shards;
  if (!shards || typeof shards.values !== "function") return [];
  return [...shards.values()].map((s) => s.connection).filter((s): s is WebSocket => !!s);
}

/**
 * Ends sockets whose close never completes: the close handler discord.js
 * waits on is invoked by hand, as if the peer had answered. discord.js then
 * carries on as after any abnormal close (it resumes the session).
 */
function forceClose(sockets: WebSocket[]): void {
  for (const s of sockets) {
    if (s.readyState === WebSocket.OPEN) {
      try {
        s.close(4000, "heartbeat not acknowledged");
      } catch {
        // already closing
      }
    }
    const handler = s.onclose;
    if (!handler) continue;
    s.onclose = null;
    handler.call(s, new CloseEvent("close", { code: 1006, reason: "no answer", wasClean: false }));
  }
}

/** Encodes an emoji for the reactions route: `<:name:id>` becomes `name:id`. */
export function encodeEmoji(emoji: string): string {
  const custom = /^<a?:([A-Za-z0-9_]{1,32}):(\d{15,25})>$/.exec(emoji.trim());
  if (custom) return encodeURIComponent(`${custom[1]}:${custom[2]}`);
  return encodeURIComponent(emoji.trim());
}
