/**
 * The hub's inbound pipeline: every message from the gateway (or caught up
 * from history) passes the author gate once, strangers go to pairing,
 * `yes abcde` replies go to the permission relay, and what is left is handed
 * to `deliver` (which picks the session). Discord may hand a message over
 * twice (resume replay, catch-up overlapping live events); cursors remember
 * where each chat was left so a restart (or a takeover) can catch up;
 * `held` keeps a chat's live messages back while its missed ones are
 * fetched, so order is kept.
 *
 * @module
 */
import type { AccessView } from "./access_source.ts";
import type { Access } from "../access/schema.ts";
import { CATCHUP_FETCH_LIMIT, CATCHUP_LIMITS, runCatchUp } from "./catchup.ts";
import type { CursorStore, Delivery } from "./cursors.ts";
import { LiveHold } from "./live_hold.ts";
import { RecentIds } from "./dedupe.ts";
import type { DiscordConnection } from "../discord/client.ts";
import { checkOutbound, decideInbound } from "../access/gate.ts";
import type { InboundMessage } from "../core/notification.ts";
import type { PairingFlow } from "./pairing_flow.ts";
import type { PermissionRelay } from "../permission/relay.ts";

/** What the pipeline needs. */
export interface InboundDeps {
  access(): AccessView;
  discord(): DiscordConnection | undefined;
  /** Open once this process holds the bot (read at lock time, never by a waiting process). */
  cursors(): CursorStore | undefined;
  pairing: PairingFlow;
  relay: PermissionRelay;
  /**
   * A message that passed every check: route it to a session, then call
   * `delivery.done()` once its event was handed to that session's link.
   * `access` is the configuration the gate just passed it with.
   */
  deliver(
    msg: InboundMessage,
    missed: boolean,
    delivery: Delivery | undefined,
    access: Access,
  ): void;
  /** Whether the hub is shutting down. */
  stopping(): boolean;
  /**
   * This hub took over from one that ended: its first catch-up covers a gap
   * of seconds that sessions were waiting through, so it delivers a whole
   * history page per chat instead of the newest few.
   */
  takeover?: boolean;
  log(line: string): void;
}

/** Gate, dedupe, catch-up and hand-off of inbound messages. */
export class InboundPipeline {
  #deps: InboundDeps;
  #recent = new RecentIds();
  #hold: LiveHold<InboundMessage>;
  #catchUpRun: Promise<unknown> = Promise.resolve();
  #firstCatchUp = true;

  constructor(deps: InboundDeps) {
    this.#deps = deps;
    this.#hold = new LiveHold<InboundMessage>({ deliver: (m) => this.onMessage(m), log: deps.log });
  }

  /** A gateway session (re)started: live messages wait until catch-up planned its chats. */
  holdAll(): void {
    this.#hold.holdAll();
  }

  /** A fresh gateway session began: fetch what was missed, chat by chat. */
  catchUp(): void {
    const deps = this.#deps;
    const limits = this.#firstCatchUp && deps.takeover
      ? { ...CATCHUP_LIMITS, maxPerChat: CATCHUP_FETCH_LIMIT }
      : CATCHUP_LIMITS;
    this.#firstCatchUp = false;
    this.#catchUpRun = this.#catchUpRun.then(() => {
      const d = deps.discord();
      if (!d || deps.stopping()) {
        this.#hold.releaseAll();
        return;
      }
      const gate = (m: InboundMessage) => {
        const v = deps.access();
        return v.ok && decideInbound(v.access, m, v.mentionPatterns).action === "deliver";
      };
      return runCatchUp({
        cursors: deps.cursors()?.entries() ?? [],
        chatAllowed: async (chatId) => {
          const v = deps.access();
          return v.ok && checkOutbound(v.access, await d.chatFacts(chatId)) === undefined;
        },
        fetchRecent: (chatId) => d.fetchRecentInbound(chatId, CATCHUP_FETCH_LIMIT),
        wouldDeliver: gate,
        // A live copy waiting in the hold goes out as live, on release.
        deliver: (m) => this.#hold.holds(m.channelId, m.id) || this.onMessage(m, true),
        hold: (chatId) => this.#hold.hold(chatId),
        planned: () => this.#hold.planned(),
        release: (chatId) => this.#hold.release(chatId),
        log: deps.log,
        now: Date.now,
      }, limits);
    });
  }

  /** One message from the gateway (`missed` when caught up from history). */
  onMessage(msg: InboundMessage, missed = false): void {
    const deps = this.#deps;
    // Cursors are closed: not delivered now, so the next hub catches it up.
    if (deps.stopping()) return;
    if (!missed && this.#hold.offer(msg)) return;
    if (!this.#recent.firstTime(msg.id)) return;
    const view = deps.access();
    if (!view.ok) return; // fail closed; the store already explained why on stderr
    const decision = decideInbound(view.access, msg, view.mentionPatterns);
    if (decision.action === "pair") {
      // Never delivered: a stranger gets a code (or a reminder, or silence).
      if (!missed) void deps.pairing.stranger(msg);
      return;
    }
    // A `yes abcde` reply is not chat for Claude, so a channel's mention rule
    // does not apply to it: a bare reply under a prompt posted there must
    // work. The rest of the gate (opt-in, group allowFrom) still does.
    const verdictOnly = decision.action === "drop" && decision.reason === "no-mention";
    if (decision.action !== "deliver" && !verdictOnly) return;
    // Journaled before the event is handed on (see cursors.ts).
    const delivery: Delivery | undefined = decision.action === "deliver"
      ? deps.cursors()?.begin(msg.channelId, msg.id)
      : undefined;
    if (deps.relay.interceptText(msg, view.access) || verdictOnly) return delivery?.done();
    deps.deliver(msg, missed, delivery, view.access);
  }
}
