/**
 * Catch-up: delivering what was sent to the bot while no gateway session was
 * listening (the bridge was not running, or Discord ended the session and
 * the events of the gap were never sent). For every chat the bridge has
 * delivered from before, the recent history after the remembered cursor is
 * fetched, passed through the same gate as live messages and delivered in
 * order with `meta.missed = "true"`.
 *
 * Bounds, so a long absence does not flood the session: at most
 * {@link CATCHUP_MAX_PER_CHAT} messages per chat (the newest ones), nothing
 * older than {@link CATCHUP_MAX_AGE_MS}, at most {@link CATCHUP_MAX_CHATS}
 * chats (the most recently active).
 *
 * The selection is pure; {@link runCatchUp} only sequences the calls.
 *
 * @module
 */
import { compareSnowflakes, type Cursor } from "./cursors.ts";
import type { InboundMessage } from "./notification.ts";

/** Messages delivered per chat at most: the newest ones that pass the gate. */
export const CATCHUP_MAX_PER_CHAT = 20;
/** Messages older than this are never caught up on. */
export const CATCHUP_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** Chats caught up on at most (the most recently delivered from). */
export const CATCHUP_MAX_CHATS = 50;
/** History read per chat: one REST call, Discord's maximum page. */
export const CATCHUP_FETCH_LIMIT = 100;
/** A chat whose history takes longer than this is given up on (its live messages flow again). */
export const CATCHUP_CHAT_TIMEOUT_MS = 20_000;

/** The bounds of one catch-up. */
export interface CatchUpLimits {
  maxPerChat: number;
  maxAgeMs: number;
  maxChats: number;
  chatTimeoutMs: number;
}

/** The documented defaults. */
export const CATCHUP_LIMITS: CatchUpLimits = {
  maxPerChat: CATCHUP_MAX_PER_CHAT,
  maxAgeMs: CATCHUP_MAX_AGE_MS,
  maxChats: CATCHUP_MAX_CHATS,
  chatTimeoutMs: CATCHUP_CHAT_TIMEOUT_MS,
};

/** What to deliver from one chat's fetched history, and what the bounds left out. */
export interface MissedSelection {
  /** Oldest first. */
  deliver: InboundMessage[];
  /** Passed the gate but older than the age limit. */
  tooOld: number;
  /** Passed the gate but beyond the per-chat limit (the oldest of them). */
  overLimit: number;
}

/**
 * Picks the messages to catch up on from a chat's recent history (any
 * order): newer than the cursor, not the bridge's own, passing the gate,
 * not older than `maxAgeMs`, and at most the newest `maxPerChat`.
 */
export function selectMissed(
  fetched: readonly InboundMessage[],
  afterId: string,
  opts: {
    now: number;
    maxAgeMs: number;
    maxPerChat: number;
    wouldDeliver: (msg: InboundMessage) => boolean;
  },
): MissedSelection {
  const candidates = fetched
    .filter((m) => compareSnowflakes(m.id, afterId) > 0 && !m.authorIsSelf)
    .sort((a, b) => compareSnowflakes(a.id, b.id))
    .filter(opts.wouldDeliver);
  const fresh = candidates.filter((m) => {
    const t = Date.parse(m.createdAt);
    // An unparseable time is treated as old: never flood on bad data.
    return Number.isFinite(t) && opts.now - t <= opts.maxAgeMs;
  });
  const keep = fresh.slice(Math.max(0, fresh.length - opts.maxPerChat));
  return {
    deliver: keep,
    tooOld: candidates.length - fresh.length,
    overLimit: fresh.length - keep.length,
  };
}

/** The chats to catch up on: the most recently delivered from, at most `maxChats`. */
export function planCatchUpChats(cursors: readonly Cursor[], maxChats: number): Cursor[] {
  return [...cursors].sort((a, b) => b.at - a.at).slice(0, maxChats);
}

/** What {@link runCatchUp} needs from the bridge. */
export interface CatchUpDeps {
  cursors: readonly Cursor[];
  /** Whether the chat is still one the gate delivers from (allowlisted DM, opted-in channel). */
  chatAllowed(chatId: string): Promise<boolean>;
  /** The chat's recent history as inbound messages (any order). */
  fetchRecent(chatId: string): Promise<InboundMessage[]>;
  /** The inbound gate's verdict, without side effects. */
  wouldDeliver(msg: InboundMessage): boolean;
  /** Delivers one missed message (through the bridge's normal inbound path). */
  deliver(msg: InboundMessage): void;
  /** Live messages of this chat must wait (they are newer than anything missed). */
  hold(chatId: string): void;
  /** Every planned chat is held: live messages of the other chats may flow. */
  planned?(): void;
  /** Lets the held live messages of this chat through. */
  release(chatId: string): void;
  log(line: string): void;
  now(): number;
}

/** Catches up on every planned chat, a few at a time; never throws. */
export async function runCatchUp(
  deps: CatchUpDeps,
  limits: CatchUpLimits = CATCHUP_LIMITS,
): Promise<{ delivered: number }> {
  const chats = planCatchUpChats(deps.cursors, limits.maxChats);
  // Hold every planned chat before the first fetch: a live message answered
  // before the older missed ones of its chat would arrive out of order.
  for (const c of chats) deps.hold(c.chatId);
  deps.planned?.();
  let delivered = 0;
  const queue = [...chats];
  const worker = async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      // Once given up on, the chat's live messages flow: a history that
      // comes later must not deliver older messages after them.
      let gaveUp = false;
      try {
        delivered += await withTimeout(
          catchUpChat(deps, c, limits, () => gaveUp),
          limits.chatTimeoutMs,
        );
      } catch (err) {
        gaveUp = true;
        deps.log(
          `catch-up of chat ${c.chatId} failed, messages sent there while the bridge was away may be missing: ${
            err instanceof Error ? err.message : String(err)
          }`,
        );
      } finally {
        deps.release(c.chatId);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, chats.length) }, worker));
  if (delivered > 0) deps.log(`caught up on ${delivered} missed message(s)`);
  return { delivered };
}

async function catchUpChat(
  deps: CatchUpDeps,
  c: Cursor,
  limits: CatchUpLimits,
  gaveUp: () => boolean,
): Promise<number> {
  if (!(await deps.chatAllowed(c.chatId))) return 0;
  const fetched = await deps.fetchRecent(c.chatId);
  if (gaveUp()) return 0;
  const pick = selectMissed(fetched, c.lastId, {
    now: deps.now(),
    maxAgeMs: limits.maxAgeMs,
    maxPerChat: limits.maxPerChat,
    wouldDeliver: deps.wouldDeliver,
  });
  if (pick.overLimit > 0 || pick.tooOld > 0) {
    deps.log(
      `catch-up of chat ${c.chatId}: ${
        pick.overLimit + pick.tooOld
      } older missed message(s) not delivered (limits: ${limits.maxPerChat} per chat, ${
        Math.round(limits.maxAgeMs / 3_600_000)
      } h)`,
    );
  }
  for (const m of pick.deliver) deps.deliver(m);
  return pick.deliver.length;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
