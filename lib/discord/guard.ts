/**
 * Pure decisions that keep the gateway connection honest, unit-tested
 * without discord.js:
 *
 * - {@link planIdentify}: when the next IDENTIFY may be sent. Each one counts
 *   against Discord's daily session start limit (usually 1,000; Discord
 *   resets the bot token when it is exceeded), so a bridge stuck in a
 *   login loop must slow down instead of burning the budget.
 * - {@link checkGateway}: whether a connection that looks alive is in fact
 *   half-dead and must be forced to recover.
 *
 * @module
 */
import { backoffDelay, IDENTIFY_BACKOFF } from "./backoff.ts";

/** `session_start_limit` from `GET /gateway/bot`. */
export interface SessionStartLimit {
  total: number;
  remaining: number;
  /** ms until `remaining` is reset to `total`. */
  reset_after: number;
  max_concurrency: number;
}

/** Discord allows one IDENTIFY per 5 s (max_concurrency 1). */
export const IDENTIFY_SPACING_MS = 5_000;
/** Identifies per rolling hour that are never slowed down (restarts, op 9, the odd reconnect). */
export const FREE_IDENTIFIES_PER_HOUR = 5;
const HOUR = 3_600_000;

/** What the bridge remembers about its own identifies. */
export interface IdentifyHistory {
  /** When recent identifies were sent (ms since epoch); older than an hour may be pruned. */
  times: readonly number[];
  /** Identifies since the last READY (0 when the last one worked). */
  streak: number;
}

/** When to identify, and why the wait (for the log). */
export interface IdentifyPlan {
  waitMs: number;
  reason: "now" | "spacing" | "backoff" | "budget";
}

/**
 * Decides how long to wait before the next IDENTIFY. The daily budget wins
 * (none left: wait for Discord's reset); then failed identifies and more
 * than {@link FREE_IDENTIFIES_PER_HOUR} in an hour back off exponentially
 * (so a session that is invalidated right after every READY cannot loop
 * either); otherwise only Discord's 5 s spacing applies.
 */
export function planIdentify(
  history: IdentifyHistory,
  now: number,
  limit: SessionStartLimit | undefined,
  random: () => number = Math.random,
): IdentifyPlan {
  if (limit && limit.remaining <= 0) {
    return { waitMs: Math.max(1_000, limit.reset_after), reason: "budget" };
  }
  const last = history.times.length ? Math.max(...history.times) : undefined;
  const inLastHour = history.times.filter((t) => now - t < HOUR).length;
  const failures = Math.max(history.streak, inLastHour - FREE_IDENTIFIES_PER_HOUR);
  if (last !== undefined && failures > 0) {
    const wait = last +
      Math.max(IDENTIFY_SPACING_MS, backoffDelay(failures - 1, IDENTIFY_BACKOFF, random)) - now;
    if (wait > 0) return { waitMs: wait, reason: "backoff" };
  }
  if (last !== undefined && now - last < IDENTIFY_SPACING_MS) {
    return { waitMs: last + IDENTIFY_SPACING_MS - now, reason: "spacing" };
  }
  return { waitMs: 0, reason: "now" };
}

/** A connection whose close handshake got no answer for this long is declared dead. */
export const CLOSE_GRACE_MS = 3_000;
/** Reconnecting for longer than this: start over with a fresh login (and its backoff). */
export const RECONNECT_GIVE_UP_MS = 60_000;
/** No heartbeat ACK for this many intervals: the connection is a zombie. */
export const SILENT_INTERVALS = 3;

/** What the watchdog sees of the gateway connection. */
export interface GatewayHealth {
  now: number;
  /** Since when the socket has been closing (close frame sent, no answer). */
  closingSince?: number;
  /** Since when the bridge has been reconnecting without success. */
  reconnectingSince?: number;
  /** Last heartbeat ACK or dispatch while ready. */
  lastAliveAt?: number;
  /** The heartbeat interval, once known. */
  heartbeatMs?: number;
}

/** The watchdog's verdict. */
export type GatewayVerdict = "ok" | "force-close" | "relogin";

/**
 * Decides whether the gateway needs help. `force-close` finishes a close
 * handshake that will never complete (a half-open TCP connection: Deno's
 * WebSocket then waits forever, and discord.js with it), after which
 * discord.js resumes; `relogin` throws the client away and logs in again
 * with backoff (discord.js retries a dead network every 500 ms, forever).
 */
export function checkGateway(h: GatewayHealth): GatewayVerdict {
  if (h.closingSince !== undefined && h.now - h.closingSince > CLOSE_GRACE_MS) return "force-close";
  if (h.reconnectingSince !== undefined && h.now - h.reconnectingSince > RECONNECT_GIVE_UP_MS) {
    return "relogin";
  }
  if (
    h.reconnectingSince === undefined && h.lastAliveAt !== undefined && h.heartbeatMs !== undefined
  ) {
    const limit = Math.max(SILENT_INTERVALS * h.heartbeatMs, 5_000);
    if (h.now - h.lastAliveAt > limit) return "force-close";
  }
  return "ok";
}
