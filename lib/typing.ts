/**
 * Keeps Discord's typing indicator alive while Claude works on a message.
 * Discord shows it for about 10 seconds per call, so it is refreshed until
 * the bridge replies in that chat or a cap passes (Claude may never answer).
 *
 * @module
 */

/** Options for {@link TypingIndicator}. */
export interface TypingOptions {
  send(chatId: string): Promise<void>;
  /** Refresh period; Discord's indicator lasts ~10 s. */
  intervalMs?: number;
  /** Give up after this long without a reply. */
  maxMs?: number;
}

/** Tracks one refreshing typing indicator per chat. */
export class TypingIndicator {
  #timers = new Map<string, { interval: ReturnType<typeof setInterval>; stopAt: number }>();
  #send: (chatId: string) => Promise<void>;
  #intervalMs: number;
  #maxMs: number;

  constructor(opts: TypingOptions) {
    this.#send = opts.send;
    this.#intervalMs = opts.intervalMs ?? 8_000;
    this.#maxMs = opts.maxMs ?? 180_000;
  }

  /** Starts (or extends) the indicator in a chat. */
  start(chatId: string): void {
    const existing = this.#timers.get(chatId);
    const stopAt = Date.now() + this.#maxMs;
    if (existing) {
      existing.stopAt = stopAt;
    } else {
      const interval = setInterval(() => {
        const t = this.#timers.get(chatId);
        if (!t || Date.now() >= t.stopAt) return this.stop(chatId);
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
    clearInterval(t.interval);
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
