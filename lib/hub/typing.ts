/**
 * Keeps Discord's typing indicator alive while Claude works on a message.
 * Discord shows it for about 10 seconds per call, so it is refreshed until
 * the bridge replies in that chat or a cap passes (Claude may never answer,
 * and an indicator that never ends would tell the user a reply is coming).
 *
 * @module
 */

/** Default refresh period: a little under Discord's ~10 s indicator. */
export const DEFAULT_TYPING_INTERVAL_MS = 8_000;
/** Default cap: give up after this long without a reply. */
export const DEFAULT_TYPING_MAX_MS = 180_000;

/** The timer functions the indicator uses; tests pass a fake clock. */
export interface TypingClock {
  now(): number;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const realClock: TypingClock = {
  now: () => Date.now(),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
};

/** Options for {@link TypingIndicator}. */
export interface TypingOptions {
  send(chatId: string): Promise<void>;
  /** Refresh period; Discord's indicator lasts ~10 s. */
  intervalMs?: number;
  /** Give up after this long without a reply. */
  maxMs?: number;
  clock?: TypingClock;
}

/** Tracks one refreshing typing indicator per chat. */
export class TypingIndicator {
  #timers = new Map<string, { interval: unknown; stopAt: number }>();
  #send: (chatId: string) => Promise<void>;
  #intervalMs: number;
  #maxMs: number;
  #clock: TypingClock;

  constructor(opts: TypingOptions) {
    this.#send = opts.send;
    this.#intervalMs = Math.max(1, opts.intervalMs ?? DEFAULT_TYPING_INTERVAL_MS);
    this.#maxMs = Math.max(0, opts.maxMs ?? DEFAULT_TYPING_MAX_MS);
    this.#clock = opts.clock ?? realClock;
  }

  /** Starts (or extends) the indicator in a chat. */
  start(chatId: string): void {
    const clock = this.#clock;
    const existing = this.#timers.get(chatId);
    const stopAt = clock.now() + this.#maxMs;
    if (existing) {
      // Already showing: the refresh timer keeps it alive. Sending again per
      // message would flood Discord (a burst of 2,000 messages queued 2,000
      // typing calls behind the replies, and real Discord answers 429).
      existing.stopAt = stopAt;
      return;
    } else {
      const interval = clock.setInterval(() => {
        const t = this.#timers.get(chatId);
        // A refresh that would run past the cap is not sent: it would show
        // "typing" for another ~10 s after the bridge gave up.
        if (!t || clock.now() + this.#intervalMs > t.stopAt) return this.stop(chatId);
        this.#send(chatId).catch(() => {});
      }, this.#intervalMs);
      this.#timers.set(chatId, { interval, stopAt });
    }
    this.#send(chatId).catch(() => {});
  }

  /** Stops the indicator in a chat (the bridge just replied there). */
  stop(chatId: string): void {
    const t = this.#timers.get(chatId);
    if (!t) return;
    this.#clock.clearInterval(t.interval);
    this.#timers.delete(chatId);
  }

  /** Chats with a live indicator. */
  active(): string[] {
    return [...this.#timers.keys()];
  }

  /** Stops every indicator (shutdown). */
  stopAll(): void {
    for (const chatId of [...this.#timers.keys()]) this.stop(chatId);
  }
}
