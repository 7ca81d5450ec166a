/**
 * Per-route rate-limit buckets and the global limit, producing Discord's
 * `X-RateLimit-*` headers and 429 bodies.
 *
 * @module
 */

/** A bucket's limit: `limit` requests per `windowMs`. */
export interface BucketLimit {
  limit: number;
  windowMs: number;
}

/** Rate-limit configuration; defaults follow Discord's usual values, tuned to keep tests fast. */
export interface RateLimitConfig {
  /** POST /channels/{id}/messages per channel (Discord: 5 / 5 s). */
  messages: BucketLimit;
  /** Reaction PUT/DELETE per channel (Discord: 1 / 0.25 s). */
  reactions: BucketLimit;
  /** Everything else, per route and major parameter. */
  other: BucketLimit;
  /** Global requests per second (Discord: 50). */
  globalPerSecond: number;
}

/** Default limits: Discord's shapes, with a 5-per-second window for message sends. */
export const DEFAULT_RATE_LIMITS: RateLimitConfig = {
  messages: { limit: 5, windowMs: 1_000 },
  reactions: { limit: 1, windowMs: 250 },
  other: { limit: 50, windowMs: 1_000 },
  globalPerSecond: 50,
};

interface BucketState {
  remaining: number;
  resetAt: number;
}

/** Outcome of taking a token from a bucket. */
export interface RateDecision {
  headers: Record<string, string>;
  /** Set when the request must be answered with 429. */
  limited?: { retryAfter: number; global: boolean; scope: "user" | "global" };
}

/** Tracks every bucket of one emulator. */
export class RateLimiter {
  readonly #buckets = new Map<string, BucketState>();
  #globalCount = 0;
  #globalResetAt = 0;

  /** Creates a limiter with the given limits. */
  constructor(readonly config: RateLimitConfig) {}

  /** Picks the bucket for a route (`routeKey` is e.g. `POST /channels/:channel/messages`). */
  limitFor(routeKey: string): BucketLimit {
    if (routeKey === "POST /channels/:channel/messages") return this.config.messages;
    if (routeKey.includes("/reactions/")) return this.config.reactions;
    return this.config.other;
  }

  /** Consumes one request of `routeKey` for major parameter `major`; interaction routes skip the global limit. */
  take(routeKey: string, major: string, countsGlobally: boolean): RateDecision {
    const now = Date.now();
    if (countsGlobally) {
      if (now >= this.#globalResetAt) {
        this.#globalCount = 0;
        this.#globalResetAt = now + 1000;
      }
      if (this.#globalCount >= this.config.globalPerSecond) {
        const retryAfter = (this.#globalResetAt - now) / 1000;
        return {
          headers: { "X-RateLimit-Global": "true", "X-RateLimit-Scope": "global" },
          limited: { retryAfter, global: true, scope: "global" },
        };
      }
      this.#globalCount++;
    }
    const limit = this.limitFor(routeKey);
    const bucketHash = hashBucket(routeKey);
    const key = `${bucketHash}:${major}`;
    let state = this.#buckets.get(key);
    if (!state || now >= state.resetAt) {
      state = { remaining: limit.limit, resetAt: now + limit.windowMs };
      this.#buckets.set(key, state);
    }
    const resetAfter = Math.max(0, state.resetAt - now) / 1000;
    if (state.remaining <= 0) {
      return {
        headers: {
          "X-RateLimit-Limit": String(limit.limit),
          "X-RateLimit-Remaining": "0",
          "X-RateLimit-Reset": (state.resetAt / 1000).toFixed(3),
          "X-RateLimit-Reset-After": resetAfter.toFixed(3),
          "X-RateLimit-Bucket": bucketHash,
          "X-RateLimit-Scope": "user",
        },
        limited: { retryAfter: resetAfter, global: false, scope: "user" },
      };
    }
    state.remaining--;
    return {
      headers: {
        "X-RateLimit-Limit": String(limit.limit),
        "X-RateLimit-Remaining": String(state.remaining),
        "X-RateLimit-Reset": (state.resetAt / 1000).toFixed(3),
        "X-RateLimit-Reset-After": resetAfter.toFixed(3),
        "X-RateLimit-Bucket": bucketHash,
      },
    };
  }
}

/** A stable 32-hex-digit bucket id for a route, like Discord's opaque hashes. */
export function hashBucket(routeKey: string): string {
  let h1 = 0x811c9dc5, h2 = 0x01000193;
  for (let i = 0; i < routeKey.length; i++) {
    const c = routeKey.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x811c9dc5) >>> 0;
  }
  return [h1, h2, h1 ^ h2, (h1 + h2) >>> 0].map((n) => n.toString(16).padStart(8, "0")).join("");
}

/** The 429 JSON body. */
export function rateLimitedBody(retryAfter: number, global: boolean): Record<string, unknown> {
  return {
    message: "You are being rate limited.",
    retry_after: Number(retryAfter.toFixed(3)),
    global,
  };
}
