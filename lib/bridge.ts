/**
 * The bridge: wires the MCP server, the access configuration and the Discord
 * connection together. It answers the MCP handshake first and loads
 * discord.js afterwards, so Claude Code never waits on Discord.
 *
 * @module
 */
import type { MentionPattern } from "./access/patterns.ts";
import type { Access } from "./access/schema.ts";
import type { Config } from "./config.ts";
import type { DiscordConnection } from "./discord/client.ts";
import type { ButtonClick, DiscordPort, DiscordState, InteractionAnswer } from "./discord/port.ts";
import { CATCHUP_FETCH_LIMIT, runCatchUp } from "./catchup.ts";
import { CursorStore, type Delivery } from "./cursors.ts";
import { LiveHold } from "./live_hold.ts";
import { RecentIds } from "./dedupe.ts";
import { checkOutbound, decideInbound, groupFor } from "./gate.ts";
import { describeError, log } from "./log.ts";
import { createMcpServer, type McpBridge, type PermissionRequest } from "./mcp/server.ts";
import { DenoStdioTransport } from "./mcp/stdio_transport.ts";
import { type InboundMessage, toChannelEvent } from "./notification.ts";
import { PairingFlow, type PairingStore } from "./pairing_flow.ts";
import { PromptLedger } from "./permission/ledger.ts";
import { PermissionRelay } from "./permission/relay.ts";
import { withholdQuote } from "./tools/author_gate.ts";
import { TOOLS } from "./tools/mod.ts";
import { type ToolContext, ToolError } from "./tools/tool.ts";
import { TypingIndicator } from "./typing.ts";
import { NativeEvents, reportToolFailures } from "./native/events.ts";

/** How long a tool call waits for a login in progress before it gives up. */
const CONNECT_WAIT_MS = 5_000;

/** The access configuration as the bridge sees it at one moment. */
export type AccessView =
  | { ok: true; access: Access; mentionPatterns: MentionPattern[] }
  | { ok: false; error: string };

/**
 * Where the bridge reads `access.json` from (re-read only when it changed)
 * and writes pairing codes to (atomically, under the inter-process lock).
 */
export interface AccessSource extends PairingStore {
  read(): AccessView;
}

/** A running bridge. */
export interface Bridge {
  mcp: McpBridge;
  /** Resolves when the bridge has shut down. */
  closed: Promise<void>;
  shutdown(reason: string): Promise<void>;
}

/** Options for {@link startBridge}. */
export interface BridgeOptions {
  config: Config;
  access: AccessSource;
  /** Why the bridge may not log in even with a token (e.g. another session holds it). */
  loginBlocked?: () => string | undefined;
  /** When login was blocked: resolves once it may proceed (the other session ended). */
  loginAllowed?: Promise<void>;
}

/** Starts the bridge: MCP over stdio at once, then the Discord login. */
export async function startBridge(opts: BridgeOptions): Promise<Bridge> {
  const { config } = opts;
  let discord: DiscordConnection | undefined;
  let discordState: DiscordState = config.DISCORD_BOT_TOKEN
    ? { state: "starting" }
    : { state: "failed", reason: missingTokenReason(config) };
  let lastGuildChat: string | undefined;

  const typing = new TypingIndicator({
    send: (chatId) => discord ? discord.sendTyping(chatId) : Promise.resolve(),
    intervalMs: config.DISCORD_TYPING_INTERVAL_MS,
    maxMs: config.DISCORD_TYPING_MAX_MS,
  });

  const readAccess = (): Access => {
    const view = opts.access.read();
    if (!view.ok) {
      throw new ToolError(
        `access.json is unusable, so nothing is sent or delivered until it is fixed: ${view.error}`,
      );
    }
    return view.access;
  };

  const context: ToolContext = {
    stateDir: config.DISCORD_STATE_DIR,
    apiUrl: config.DISCORD_API_URL,
    access: readAccess,
    async discord(): Promise<DiscordPort> {
      // A call made while the bridge is still logging in (Claude may act on
      // the handshake at once) waits a little rather than failing.
      const deadline = Date.now() + CONNECT_WAIT_MS;
      while (discordState.state === "starting" && !stopping && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const s = discordState;
      if (discord && (s.state === "ready" || s.state === "reconnecting")) return discord;
      if (s.state === "failed") throw new ToolError(`Discord is not connected: ${s.reason}`);
      if (s.state === "stopped") throw new ToolError("the bridge is shutting down");
      throw new ToolError("Discord is still connecting; try again in a few seconds");
    },
    onSent: (chatId) => {
      typing.stop(chatId);
      native.replied(chatId);
    },
  };

  // Discord-native events (issue 14): reactions, edits, status reactions.
  const native: NativeEvents = new NativeEvents({
    access: () => {
      const v = opts.access.read();
      return v.ok ? v : undefined;
    },
    sendEvent: (ev) => mcp.sendEvent(ev),
    discord: () => connected(),
    log,
  });

  const mcp = createMcpServer({
    tools: reportToolFailures(TOOLS, (chatId) => native.toolFailed(chatId)),
    context,
    log,
    onPermissionRequest: (req: PermissionRequest) => void relay.request(req),
  });

  const connected = (): DiscordPort | undefined =>
    discord && (discordState.state === "ready" || discordState.state === "reconnecting")
      ? discord
      : undefined;
  const relay = new PermissionRelay({
    discord: connected,
    access: () => {
      const view = opts.access.read();
      return view.ok ? view.access : undefined;
    },
    sendVerdict: (id, behavior) => mcp.sendVerdict(id, behavior),
    ledger: new PromptLedger(`${config.DISCORD_STATE_DIR}/prompts.json`, log),
    lastGuildChat: () => {
      const view = opts.access.read();
      // Only while that channel is still opted in.
      if (!lastGuildChat || !view.ok) return undefined;
      return groupFor(view.access, lastGuildChat, lastGuildParent) ? lastGuildChat : undefined;
    },
    log,
  });
  let lastGuildParent: string | undefined;
  const pairing = new PairingFlow(opts.access, connected, log);

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => resolveClosed = r);
  let stopping = false;
  const shutdown = async (reason: string) => {
    if (stopping) return closed;
    stopping = true;
    log(`shutting down (${reason})`);
    typing.stopAll();
    relay.stop();
    pairing.stop();
    cursors?.close();
    // Never hang: Claude Code waits for us, and an orphan would keep the bot login.
    const hardStop = setTimeout(() => Deno.exit(0), 1_500);
    try {
      await discord?.stop();
    } catch (err) {
      log(`error while closing Discord: ${describeError(err)}`);
    }
    await mcp.server.close().catch(() => {});
    clearTimeout(hardStop);
    resolveClosed();
  };

  // Reports stdin EOF (Claude Code went away) as onclose.
  const transport = new DenoStdioTransport();
  transport.onclose = () => void shutdown("stdin closed");
  transport.onerror = (err) => log(`MCP transport: ${describeError(err)}`);
  // discord.js takes ~200 ms to load and blocks the event loop meanwhile, so
  // it is loaded only once the handshake is done: Claude Code gets its
  // initialize answer at once (or after a short grace period when no client
  // speaks first, e.g. started by hand).
  const handshakeDone = new Promise<void>((resolve) => {
    mcp.server.oninitialized = () => resolve();
    const grace = setTimeout(resolve, 750);
    Deno.unrefTimer(grace);
  });
  await mcp.server.connect(transport);

  // Resilience (issue 6): Discord may hand a message over twice (resume
  // replay, catch-up overlapping live events); cursors remember where each
  // chat was left so a restart can catch up; `hold` keeps live messages back
  // while missed ones are fetched, so order is kept and no live delivery
  // moves a cursor first. Cursors are opened only once this bridge may log
  // in (it holds the instance lock): a waiting session never reads or writes them.
  const recent = new RecentIds();
  let cursors: CursorStore | undefined;
  const hold = new LiveHold<InboundMessage>({ deliver: (m) => onMessage(m), log });
  let catchUpRun: Promise<unknown> = Promise.resolve();
  const catchUp = () => {
    catchUpRun = catchUpRun.then(() => {
      const d = discord;
      if (!d || stopping) {
        hold.releaseAll();
        return;
      }
      const gate = (m: InboundMessage) => {
        const v = opts.access.read();
        return v.ok && decideInbound(v.access, m, v.mentionPatterns).action === "deliver";
      };
      return runCatchUp({
        cursors: cursors?.entries() ?? [],
        chatAllowed: async (chatId) => {
          const v = opts.access.read();
          return v.ok && checkOutbound(v.access, await d.chatFacts(chatId)) === undefined;
        },
        fetchRecent: (chatId) => d.fetchRecentInbound(chatId, CATCHUP_FETCH_LIMIT),
        wouldDeliver: gate,
        // A live copy waiting in the hold goes out as live, on release.
        deliver: (m) => hold.holds(m.channelId, m.id) || onMessage(m, true),
        hold: (chatId) => hold.hold(chatId),
        planned: () => hold.planned(),
        release: (chatId) => hold.release(chatId),
        log,
        now: Date.now,
      });
    });
  };

  const onMessage = (msg: InboundMessage, missed = false) => {
    // Cursors are closed: not delivered now, so the next session catches it up.
    if (stopping) return;
    if (!missed && hold.offer(msg)) return;
    if (!recent.firstTime(msg.id)) return;
    const view = opts.access.read();
    if (!view.ok) return; // fail closed; the store already explained why on stderr
    const decision = decideInbound(view.access, msg, view.mentionPatterns);
    if (decision.action === "pair") {
      // Never delivered: a stranger gets a code (or a reminder, or silence).
      if (!missed) void pairing.stranger(msg);
      return;
    }
    // A `yes abcde` reply is not chat for Claude, so a channel's mention rule
    // does not apply to it: a bare reply under a prompt posted there must
    // work. The rest of the gate (opt-in, group allowFrom) still does.
    const verdictOnly = decision.action === "drop" && decision.reason === "no-mention";
    if (decision.action !== "deliver" && !verdictOnly) return;
    // Journaled before the event is written (see cursors.ts).
    const delivery: Delivery | undefined = decision.action === "deliver"
      ? cursors?.begin(msg.channelId, msg.id)
      : undefined;
    if (relay.interceptText(msg, view.access) || verdictOnly) return delivery?.done();
    if (!msg.isDm) {
      lastGuildChat = msg.channelId;
      lastGuildParent = msg.parentId;
    }
    const event = toChannelEvent(withholdQuote(view.access, msg), { missed });
    // An earlier run died between journaling and writing this one: say so.
    if (delivery?.repeat) event.meta = { ...event.meta, possible_duplicate: "true" };
    mcp.sendEvent(event).then(() => delivery?.done(), (err) => {
      log(`could not deliver message ${msg.id} to Claude Code: ${describeError(err)}`);
    });
    native.delivered(msg, event);
    typing.start(msg.channelId);
    const ack = view.access.ackReaction;
    if (ack && discord) {
      discord.addReaction(msg.channelId, msg.id, ack).catch((err) => {
        log(`could not add ackReaction ${JSON.stringify(ack)}: ${describeError(err)}`);
      });
    }
  };

  const token = config.DISCORD_BOT_TOKEN;
  const login = async (token: string) => {
    await handshakeDone;
    const { connectDiscord } = await import("./discord/client.ts");
    if (!stopping) {
      // Read now, not at process start: a session that waited for the lock
      // sees what the one before it delivered.
      cursors ??= new CursorStore(config.DISCORD_STATE_DIR, { log });
      discord = connectDiscord({ token, apiUrl: config.DISCORD_API_URL, log }, {
        onMessage,
        onSessionStart: () => hold.holdAll(),
        onFreshSession: catchUp,
        onEdit: (msg) =>
          void native.edited(msg).catch((err) =>
            log(`could not deliver an edit: ${describeError(err)}`)
          ),
        onReaction: (r, excerpt) =>
          void native.reacted(r, excerpt).catch((err) =>
            log(`could not deliver a reaction: ${describeError(err)}`)
          ),
        onButton: (click: ButtonClick): Promise<InteractionAnswer> => relay.click(click),
        onState(next) {
          const before = discordState.state;
          discordState = next;
          if (next.state === "ready") pairing.start();
          if (next.state === "ready") void relay.recover();
          if (next.state === "ready" && before !== "ready") {
            log(`connected to Discord as ${next.botName} (${next.botId})`);
          } else if (next.state === "failed") {
            log(next.reason);
          } else if (next.state === "reconnecting") {
            log("gateway connection lost; reconnecting");
          }
        },
      });
    }
  };
  const blocked = opts.loginBlocked?.();
  if (blocked) {
    discordState = { state: "failed", reason: blocked };
    log(blocked);
    // Another session holds the bot; take over when it ends.
    opts.loginAllowed?.then(() => {
      if (stopping || !token) return;
      discordState = { state: "starting" };
      return login(token);
    }).catch((err) => log(`login after takeover failed: ${describeError(err)}`));
  } else if (!token) {
    log((discordState as { reason: string }).reason);
  } else {
    await login(token);
  }

  return { mcp, closed, shutdown };
}

function missingTokenReason(config: Config): string {
  return `DISCORD_BOT_TOKEN is not set. Fix: run \`deno task access configure\` in a terminal (it prompts for the token and stores it in ${config.DISCORD_STATE_DIR}/.env), or set DISCORD_BOT_TOKEN in the environment, then restart the session.`;
}
