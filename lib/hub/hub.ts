/**
 * The hub: the one process on the machine that holds the Discord connection
 * for a state directory (it holds `bridge.lock`). It owns the gateway, the
 * inbound gate, pairing, permission prompts and REST, and serves every
 * connected session over a link: it routes each delivered message to one
 * session, runs the sessions' tool calls (outbound gate included) and sends
 * each permission verdict back to the session that asked, and to no other.
 *
 * With one session connected everything behaves as a single bridge always
 * did; with two or more, the bot's messages carry the session's name.
 *
 * @module
 */
import type { AccessSource } from "./access_source.ts";
import type { Access } from "../access/schema.ts";
import type { Config } from "../core/config.ts";
import { CursorStore } from "./cursors.ts";
import type { CommandRun, DiscordPort, InteractionAnswer, MessageBody } from "../discord/port.ts";
import { groupFor } from "../access/gate.ts";
import type { HubLink } from "../link/link.ts";
import { PROTOCOL_VERSION } from "../link/protocol.ts";
import { describeError } from "../core/log.ts";
import { type InboundMessage, toChannelEvent } from "../core/notification.ts";
import { PairingFlow } from "./pairing_flow.ts";
import type { PermissionRequest } from "../permission/prompt.ts";
import { PromptLedger } from "../permission/ledger.ts";
import { PermissionRelay } from "../permission/relay.ts";
import { withholdQuote } from "../tools/author_gate.ts";
import { parseButtonId } from "../permission/verdict.ts";
import { runTool } from "../tools/run.ts";
import { type Tool, type ToolContext, ToolError } from "../tools/tool.ts";
import { TypingIndicator } from "./typing.ts";
import { NativeEvents, reportToolFailures } from "../native/events.ts";
import type { ChannelEvent } from "../core/notification.ts";
import { DiscordLink } from "./connection.ts";
import { InboundPipeline } from "./inbound.ts";
import { labelContent, labelText, namePromptContent, routeInbound } from "./routing.ts";
import { type ConnectedSession, parseRoutingMemory, SessionTable } from "./sessions.ts";
import { writeFileAtomic } from "../access/atomic_write.ts";

/** Where the hub keeps its routing memory for the next hub. */
export const ROUTES_FILE = "routes.json";
import { SessionThreads } from "./threads.ts";
import { parseFocusButton, renderSessionList, SESSION_COMMANDS } from "./commands.ts";
import { warmReplyPathSoon } from "./warm.ts";

/** Options for {@link startHub}. */
export interface HubOptions {
  config: Config;
  access: AccessSource;
  tools: readonly Tool[];
  log(line: string): void;
  /** This hub replaces one that ended: its first catch-up covers the handover gap in full. */
  takeover?: boolean;
}

/** A running hub. */
export interface Hub {
  /** Serves one session's link until it closes. */
  attach(link: HubLink): void;
  /** Logs in to Discord (loads discord.js). */
  login(): Promise<void>;
  /** Keeps the bot offline for `reason` (Windows fallback: another process holds it). */
  block(reason: string): void;
  /** The connected sessions (for tests and `/sessions`). */
  sessions: SessionTable;
  stop(): Promise<void>;
}

/** Builds the hub; nothing is logged in until {@link Hub.login}. */
export function startHub(opts: HubOptions): Hub {
  const { config, log } = opts;
  const sessions = new SessionTable();
  // Routing memory (focus, who sent what) survives a hub change: the next
  // hub reads it, so replies and focus keep going where they went.
  const routesPath = `${config.DISCORD_STATE_DIR}/${ROUTES_FILE}`;
  try {
    sessions.restore(parseRoutingMemory(Deno.readTextFileSync(routesPath)));
  } catch {
    // none yet
  }
  let routesTimer: ReturnType<typeof setTimeout> | undefined;
  const saveRoutes = () => {
    routesTimer = undefined;
    try {
      writeFileAtomic(routesPath, JSON.stringify(sessions.memory()) + "\n");
    } catch (err) {
      log(`could not save ${routesPath}: ${describeError(err)}`);
    }
  };
  /** Saves the routing memory soon (at most once a second), only while sessions share the bot. */
  const routesChanged = () => {
    if (routesTimer !== undefined || sessions.size < 2) return;
    routesTimer = setTimeout(saveRoutes, 1_000);
    Deno.unrefTimer(routesTimer as unknown as number);
  };
  /** Which session asked each permission request. */
  const askedBy = new Map<string, string>();
  let stopping = false;
  let lastGuildChat: string | undefined;
  let lastGuildParent: string | undefined;
  let commandsRegistered = false;

  const discord: DiscordLink = new DiscordLink({
    config,
    log,
    handlers: {
      onMessage: (m) => inbound.onMessage(m),
      onFreshSession: () => inbound.catchUp(),
      onSessionStart: () => inbound.holdAll(),
      onEdit: (msg) =>
        void native.edited(msg).catch((err) =>
          log(`could not deliver an edit: ${describeError(err)}`)
        ),
      onReaction: (r, excerpt) =>
        void native.reacted(r, excerpt).catch((err) =>
          log(`could not deliver a reaction: ${describeError(err)}`)
        ),
      onCommand: (run) => Promise.resolve(answerCommand(run)),
      onButton: async (click): Promise<InteractionAnswer> => {
        const focusName = parseFocusButton(click.customId);
        if (focusName !== undefined) return focusAnswer(click.userId, focusName, true);
        const answer = await relay.click(click);
        const owner = ownerName(parseButtonId(click.customId)?.requestId);
        if (answer.kind === "update" && owner && answer.body.content) {
          // Keeps patchIfRefused: a late click's copy is still edited over REST.
          return {
            ...answer,
            body: { ...answer.body, content: namePromptContent(answer.body.content, owner) },
          };
        }
        return answer;
      },
    },
    onReady: () => {
      pairing.start();
      void relay.recover();
      registerCommands();
      for (const s of sessions.list()) openThread(s);
      warmReplyPathSoon(opts.tools);
    },
  });

  /** access.json as it is now, or undefined while it is unusable. */
  const usableAccess = (): Access | undefined => {
    const view = opts.access.read();
    return view.ok ? view.access : undefined;
  };
  const threads = new SessionThreads({
    stateDir: config.DISCORD_STATE_DIR,
    discord: () => discord.connected(),
    access: usableAccess,
    log,
  });
  /**
   * `/sessions` and `/focus` are registered once a second session connects:
   * a single session keeps today's behaviour exactly (no extra REST call).
   */
  const registerCommands = () => {
    const d = discord.connected();
    if (commandsRegistered || !d || sessions.size < 2) return;
    commandsRegistered = true;
    d.registerCommands(SESSION_COMMANDS).catch((err) => {
      commandsRegistered = false;
      log(`could not register the /sessions and /focus commands: ${describeError(err)}`);
    });
  };
  /** Sessions whose thread this hub has opened (or is opening). */
  const threadOpened = new Set<string>();
  const openThread = (s: ConnectedSession) => {
    if (threadOpened.has(s.id) || !discord.connected()) return;
    threadOpened.add(s.id);
    void threads.open(s).then((id) => {
      if (!id) threadOpened.delete(s.id);
    });
  };
  const closing = new Set<Promise<void>>();

  const typing = new TypingIndicator({
    send: (chatId) => discord.connected()?.sendTyping(chatId) ?? Promise.resolve(),
    intervalMs: config.DISCORD_TYPING_INTERVAL_MS,
    maxMs: config.DISCORD_TYPING_MAX_MS,
  });

  /**
   * The session `owner` names when it is connected; with no owner known, the
   * only session when there is exactly one. Otherwise nobody: no session
   * receives what was not meant for it.
   */
  const ownerOrOnly = (owner: string | undefined): ConnectedSession | undefined => {
    if (owner) return sessions.get(owner);
    return sessions.size === 1 ? sessions.list()[0] : undefined;
  };

  /** Which session each delivered message went to (edits of it follow it there). */
  const deliveredTo = new Map<string, string>();
  /**
   * Where an edit or a reaction goes: to the session that received the
   * edited message, or that sent the message reacted to; with one session,
   * to it. Otherwise nowhere: no session reads what was not meant for it.
   */
  const nativeTarget = (ev: ChannelEvent): ConnectedSession | undefined => {
    const id = ev.meta.message_id;
    return ownerOrOnly(id ? deliveredTo.get(id) ?? sessions.sentBy(id) : undefined);
  };
  // Discord-native events (issue 14): reactions, edits, status reactions.
  const native: NativeEvents = new NativeEvents({
    access: () => {
      const v = opts.access.read();
      return v.ok ? v : undefined;
    },
    sendEvent: (ev) => {
      const target = nativeTarget(ev);
      target?.send({ t: "event", content: ev.content, meta: ev.meta });
      return Promise.resolve();
    },
    discord: () => discord.connected(),
    log,
  });
  const tools = reportToolFailures(opts.tools, (chatId) => native.toolFailed(chatId));

  const readAccess = (): Access => {
    const view = opts.access.read();
    if (!view.ok) {
      throw new ToolError(
        `access.json is unusable, so nothing is sent or delivered until it is fixed: ${view.error}`,
      );
    }
    return view.access;
  };

  /** The asking session's name while prompts are labelled. */
  const ownerName = (requestId: string | undefined): string | undefined => {
    if (!requestId || !sessions.labelled()) return undefined;
    const owner = askedBy.get(requestId);
    return owner ? sessions.get(owner)?.name : undefined;
  };
  /** Prompt message → request, to name the session on later edits of that copy. */
  const promptOfMessage = new Map<string, string>();
  const promptPort = (port: DiscordPort): DiscordPort => ({
    ...port,
    async sendMessage(chatId, body, files) {
      const requestId = requestIdOf(body);
      const name = ownerName(requestId);
      const sent = await port.sendMessage(chatId, name ? namedPrompt(body, name) : body, files);
      if (requestId) {
        promptOfMessage.set(sent.id, requestId);
        if (promptOfMessage.size > 1000) {
          promptOfMessage.delete(promptOfMessage.keys().next().value!);
        }
      }
      return sent;
    },
    editMessage(chatId, messageId, body) {
      const name = ownerName(promptOfMessage.get(messageId));
      return port.editMessage(chatId, messageId, name ? namedPrompt(body, name) : body);
    },
  });

  const relay: PermissionRelay = new PermissionRelay({
    discord: (): DiscordPort | undefined => {
      const d = discord.connected();
      return d ? promptPort(d) : undefined;
    },
    access: usableAccess,
    sendVerdict: (requestId, behavior) => {
      // An ID no session asked for here goes to nobody (unless only one is connected).
      ownerOrOnly(askedBy.get(requestId))?.send({ t: "verdict", request_id: requestId, behavior });
      return Promise.resolve();
    },
    ledger: new PromptLedger(`${config.DISCORD_STATE_DIR}/prompts.json`, log),
    sessionChats: (req) => {
      const owner = askedBy.get(req.request_id);
      const thread = owner && threadOpened.has(owner) ? threads.threadOf(owner) : undefined;
      return thread ? [thread] : [];
    },
    lastGuildChat: () => {
      const view = opts.access.read();
      // Only while that channel is still opted in.
      if (!lastGuildChat || !view.ok) return undefined;
      return groupFor(view.access, lastGuildChat, lastGuildParent) ? lastGuildChat : undefined;
    },
    log,
  });
  const pairing = new PairingFlow(opts.access, () => discord.connected(), log);
  // Opened at login, i.e. once this process holds the instance lock and may
  // log in: a hub kept off Discord (Windows fallback) never reads or writes them.
  let cursors: CursorStore | undefined;

  const inbound: InboundPipeline = new InboundPipeline({
    access: () => opts.access.read(),
    discord: () => discord.connected(),
    cursors: () => cursors,
    pairing,
    relay,
    stopping: () => stopping,
    takeover: opts.takeover,
    log,
    deliver(msg: InboundMessage, missed: boolean, delivery, access) {
      const route = routeInbound({
        chatId: msg.channelId,
        authorId: msg.authorId,
        content: msg.content,
        replyToId: msg.replyToId,
        sessions: sessions.list(),
        threadOwner: (chatId) => threads.ownerOf(chatId),
        sentBy: (id) => sessions.sentBy(id),
        focus: (user) => sessions.focus(user),
        lastWriter: sessions.lastWriter,
      });
      if (route.session === undefined) {
        // Nobody to hand it to: a closed thread's message is settled; with no
        // session at all it stays unsettled, so the next hub catches it up.
        if (route.why === "thread-closed") delivery?.done();
        log(
          route.why === "thread-closed"
            ? `message ${msg.id} not delivered: its thread's session has ended`
            : `message ${msg.id} not delivered: no session is connected`,
        );
        return;
      }
      const target = sessions.get(route.session)!;
      if (route.focus) {
        sessions.setFocus(msg.authorId, route.focus);
        routesChanged();
      }
      sessions.touch(target.id);
      if (!msg.isDm) {
        lastGuildChat = msg.channelId;
        lastGuildParent = msg.parentId;
      }
      const shown = withholdQuote(access, msg);
      const event = toChannelEvent({ ...shown, content: route.content }, { missed });
      // An earlier hub died between journaling and handing this one on: say so.
      if (delivery?.repeat) event.meta = { ...event.meta, possible_duplicate: "true" };
      target.send({ t: "event", content: event.content, meta: event.meta });
      delivery?.done();
      deliveredTo.set(msg.id, target.id);
      if (deliveredTo.size > 5_000) deliveredTo.delete(deliveredTo.keys().next().value!);
      native.delivered(msg, event);
      // Known to be dropped by that session's Claude Code: tell each approver
      // once rather than show typing forever.
      const notice = target.dropNotice.firstFor(msg.authorId, access.allowFrom);
      const d = discord.connected();
      if (notice && d) {
        void d.sendMessage(msg.channelId, { content: notice }).catch((err) => {
          log(`could not tell ${msg.authorId} that messages are dropped: ${describeError(err)}`);
        });
      }
      if (!target.dropNotice.active) typing.start(msg.channelId);
      const emoji = access.ackReaction;
      if (emoji && d) {
        d.addReaction(msg.channelId, msg.id, emoji).catch((err) => {
          log(`could not add ackReaction ${JSON.stringify(emoji)}: ${describeError(err)}`);
        });
      }
    },
  });

  /** A session's view of Discord: its messages labelled and remembered as its own. */
  const sessionPort = (port: DiscordPort, s: ConnectedSession): DiscordPort => {
    // Labels tell sessions apart in shared chats; a session's own thread needs none.
    const label = (chatId: string, body: MessageBody): MessageBody => ({
      ...body,
      content: labelContent(
        body.content,
        s.name,
        sessions.labelled() && threads.threadOf(s.id) !== chatId,
      ),
    });
    /**
     * Whether a message of a shared chat belongs to another session: a bot
     * message it sent, or a user message routed to it. A session never reads
     * another session's traffic (as far as this hub and the last one knew).
     */
    const othersOnly = (messageId: string): boolean => {
      if (!sessions.labelled()) return false;
      const owner = sessions.sentBy(messageId) ?? deliveredTo.get(messageId);
      return owner !== undefined && owner !== s.id;
    };
    return {
      ...port,
      async fetchMessages(chatId, o) {
        const rows = await port.fetchMessages(chatId, o);
        return rows.filter((r) => !othersOnly(r.id));
      },
      async fetchMessage(chatId, messageId) {
        if (othersOnly(messageId)) {
          throw new ToolError(
            `message ${messageId} belongs to another Claude Code session's conversation`,
          );
        }
        return await port.fetchMessage(chatId, messageId);
      },
      async sendMessage(chatId, body, files) {
        const sent = await port.sendMessage(chatId, label(chatId, body), files);
        sessions.noteSent(s.id, sent.id);
        routesChanged();
        return sent;
      },
      editMessage: (chatId, messageId, body) =>
        port.editMessage(chatId, messageId, label(chatId, body)),
    };
  };

  const contextFor = (s: ConnectedSession): ToolContext => ({
    stateDir: config.DISCORD_STATE_DIR,
    apiUrl: config.DISCORD_API_URL,
    access: () => {
      const a = readAccess();
      if (!sessions.labelled()) return a;
      // Leave room for the label in every chunk of a reply.
      const limit = Math.min(a.textChunkLimit ?? 2000, 2000) - labelText(s.name).length;
      return { ...a, textChunkLimit: limit };
    },
    discord: async () => sessionPort(await discord.forTool(), s),
    onSent: (chatId) => {
      typing.stop(chatId);
      native.replied(chatId);
    },
  });

  /** Only approvers see and steer sessions. */
  const isApprover = (userId: string): boolean => {
    const view = opts.access.read();
    return view.ok && view.access.allowFrom.includes(userId);
  };
  const NOT_AUTHORIZED: InteractionAnswer = {
    kind: "ephemeral",
    content: "You are not authorized to see or steer the sessions of this bot.",
  };
  const focusAnswer = (userId: string, name: string, viaButton: boolean): InteractionAnswer => {
    if (!isApprover(userId)) return NOT_AUTHORIZED;
    const target = sessions.byName(name);
    if (!target) {
      const names = sessions.list().map((s) => s.name).join(", ") || "none";
      return {
        kind: "ephemeral",
        content: `No session is called "${name}" (connected: ${names}).`,
      };
    }
    sessions.setFocus(userId, target.id);
    routesChanged();
    const content = `Your messages now go to **${target.name}**.`;
    return viaButton ? { kind: "update", body: { content, components: [] } } : {
      kind: "ephemeral",
      content,
    };
  };
  const answerCommand = (run: CommandRun): InteractionAnswer => {
    if (!isApprover(run.userId)) return NOT_AUTHORIZED;
    if (run.name === "focus") return focusAnswer(run.userId, run.options.name ?? "", false);
    if (run.name !== "sessions") return { kind: "ephemeral", content: "Unknown command." };
    const open = new Set(relay.openRequests());
    const pending = (id: string) =>
      [...askedBy].filter(([req, owner]) => owner === id && open.has(req)).length;
    const focused = sessions.focus(run.userId) ?? sessions.lastWriter ?? sessions.list()[0]?.id;
    const { content, components } = renderSessionList(
      sessions.list().map((s) => ({
        name: s.name,
        project: s.project,
        lastActiveAt: s.lastActiveAt,
        pendingPrompts: pending(s.id),
        focused: s.id === focused,
      })),
      Date.now(),
    );
    return { kind: "ephemeral", content, components };
  };

  const attach = (link: HubLink) => {
    let me: ConnectedSession | undefined;
    const send = (f: Parameters<HubLink["send"]>[0]) => link.send(f);
    link.onFrame = (frame) => {
      if (!me && frame.t !== "hello") {
        log("link: a session spoke before introducing itself; closing its link");
        link.close();
        return;
      }
      switch (frame.t) {
        case "hello": {
          if (frame.v !== PROTOCOL_VERSION) {
            send({
              t: "refused",
              reason: `protocol version ${frame.v} is not ${PROTOCOL_VERSION}`,
            });
            link.close();
            return;
          }
          me = sessions.add({
            id: frame.sessionId,
            name: frame.name,
            project: frame.project,
            pid: frame.pid,
            problems: frame.problems,
            send,
          });
          send({ t: "welcome", name: me.name });
          // Also for sessions that connected before sessionsChannel was set.
          for (const s of sessions.list()) openThread(s);
          registerCommands();
          if (sessions.size > 1) log(`session "${me.name}" joined (${sessions.size} connected)`);
          break;
        }
        case "tool": {
          const s = me!;
          sessions.touch(s.id);
          void runTool(tools, contextFor(s), frame.name, frame.args, log).then((out) =>
            send({ t: "result", id: frame.id, text: out.text, isError: out.isError })
          );
          break;
        }
        case "permission": {
          const req: PermissionRequest = frame.request;
          const owner = askedBy.get(req.request_id);
          // An ID another session already asked with stays that session's.
          if (owner && owner !== me!.id && sessions.get(owner)) {
            log(
              `ignored permission request ${req.request_id} from "${me!.name}": the ID is in use`,
            );
            return;
          }
          askedBy.set(req.request_id, me!.id);
          if (askedBy.size > 1000) askedBy.delete(askedBy.keys().next().value!);
          void relay.request(req);
          break;
        }
        case "bye": {
          // The session ended (not a hub change): its thread is archived.
          const id = me!.id;
          threadOpened.delete(id);
          const job = threads.close(id).finally(() => closing.delete(job));
          closing.add(job);
          link.close();
          break;
        }
      }
    };
    link.onClose = () => {
      if (me && sessions.remove(me.id, send)) {
        if (sessions.size > 0) log(`session "${me.name}" left (${sessions.size} connected)`);
      }
    };
  };

  return {
    attach,
    sessions,
    login: () => {
      // Read now, not at process start: a process that waited for the lock
      // sees what the one before it delivered.
      cursors ??= new CursorStore(config.DISCORD_STATE_DIR, { log });
      return discord.login();
    },
    block: (reason) => discord.block(reason),
    async stop() {
      if (stopping) return;
      stopping = true;
      typing.stopAll();
      relay.stop();
      pairing.stop();
      cursors?.close();
      if (routesTimer !== undefined) {
        clearTimeout(routesTimer);
        saveRoutes();
      }
      // Let the threads of sessions that just ended be archived (bounded).
      await Promise.race([
        Promise.all(closing),
        new Promise((r) => setTimeout(r, 1_000)),
      ]);
      await discord.stop();
    },
  };
}

/** The request ID a prompt body carries in its buttons, if any. */
function requestIdOf(body: MessageBody): string | undefined {
  for (const row of (body.components ?? []) as { components?: { custom_id?: string }[] }[]) {
    for (const c of row.components ?? []) {
      const parsed = c.custom_id ? parseButtonId(c.custom_id) : null;
      if (parsed) return parsed.requestId;
    }
  }
  return undefined;
}

function namedPrompt(body: MessageBody, name: string): MessageBody {
  return body.content ? { ...body, content: namePromptContent(body.content, name) } : body;
}
