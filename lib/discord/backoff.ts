/**
 * Exponential backoff with a cap and jitter, as a pure function so the
 * schedule is unit-tested. Jitter keeps several bridges (or a bridge and its
 * own restarts) from retrying in lockstep against a Discord that is already
 * struggling.
 *
 * @module
 */

/** How a retry schedule grows. */
export interface BackoffPolicy {
  /** Delay before the first retry. */
  baseMs: number;
  /** No delay is ever longer than this. */
  capMs: number;
}

/** Logging in again after a failed login: 1 s, 2 s, 4 s … at most 5 minutes. */
export const LOGIN_BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 5 * 60_000 };

/**
 * Identifying again after an identify that did not lead to a READY: Discord
 * allows one identify per 5 s, and each counts against the daily budget of
 * (usually) 1,000, after which Discord resets the token. 5 s, 10 s … 10 min.
 */
export const IDENTIFY_BACKOFF: BackoffPolicy = { baseMs: 5_000, capMs: 10 * 60_000 };

/**
 * The delay before retry number `attempt` (0 for the first retry):
 * `min(cap, base * 2^attempt)`, of which the upper half is random ("equal
 * jitter"), so the delay never drops below half the nominal value.
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const n = Math.max(0, Math.floor(attempt));
  // 2^n overflows to Infinity for huge n; min() then caps it, which is what we want.
  const nominal = Math.min(policy.capMs, policy.baseMs * 2 ** n);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(nominal / 2 + (nominal / 2) * r);
}

/** `90 s`, `4 min`, `2 h`: a delay as people read it in a log line. */
export function formatDelay(ms: number): string {
  const s = Math.ceil(ms / 1000);
  if (s < 120) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 120) return `${min} min`;
  return `${Math.round(min / 60)} h`;
}
