/**
 * Keeps live messages back while catch-up runs, so that no live delivery
 * moves a chat's cursor before that chat's missed messages were fetched, and
 * the missed ones reach Claude first, oldest first.
 *
 * A fresh gateway session (READY) may dispatch messages before every guild
 * has loaded, and catch-up starts only once discord.js is ready (up to its
 * guild timeout later). So from READY on every live message waits
 * ({@link LiveHold.holdAll}); when catch-up has planned its chats
 * ({@link LiveHold.planned}) the chats it will fetch keep waiting until each
 * is done ({@link LiveHold.release}) and every other chat flows at once.
 *
 * @module
 */
import { compareSnowflakes } from "./cursors.ts";

/** What the hold needs of a message. */
export interface HeldMessage {
  id: string;
  channelId: string;
}

/** How long everything may be held before catch-up planned (a READY with no ready client). */
export const HOLD_ALL_MAX_MS = 30_000;

/** The live messages waiting for catch-up, per chat. */
export class LiveHold<M extends HeldMessage> {
  readonly #deliver: (m: M) => void;
  readonly #log: (line: string) => void;
  readonly #maxAllMs: number;
  /** Chats being caught up on: their live messages wait. */
  readonly #chats = new Map<string, M[]>();
  /** Set while every chat waits (READY seen, catch-up not planned yet). */
  #all: M[] | undefined;
  #allTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(opts: { deliver: (m: M) => void; log?: (line: string) => void; maxAllMs?: number }) {
    this.#deliver = opts.deliver;
    this.#log = opts.log ?? (() => {});
    this.#maxAllMs = opts.maxAllMs ?? HOLD_ALL_MAX_MS;
  }

  /** A fresh session began: every live message waits until catch-up has planned. */
  holdAll(): void {
    this.#all ??= [];
    if (this.#allTimer !== undefined) clearTimeout(this.#allTimer);
    this.#allTimer = setTimeout(() => {
      if (this.#all?.length) this.#log("catch-up did not start in time; live messages flow again");
      this.planned();
    }, this.#maxAllMs);
    Deno.unrefTimer(this.#allTimer as unknown as number);
  }

  /** Live messages of this chat wait until {@link release}. */
  hold(chatId: string): void {
    if (!this.#chats.has(chatId)) this.#chats.set(chatId, []);
  }

  /** Catch-up has held the chats it will fetch: everything else flows now, in order. */
  planned(): void {
    if (this.#allTimer !== undefined) clearTimeout(this.#allTimer);
    this.#allTimer = undefined;
    const waiting = this.#all ?? [];
    this.#all = undefined;
    const flow: M[] = [];
    for (const m of waiting) {
      const queue = this.#chats.get(m.channelId);
      if (queue) queue.push(m);
      else flow.push(m);
    }
    this.#flush(flow);
  }

  /** True when the message was kept back (it will be delivered on release). */
  offer(m: M): boolean {
    const queue = this.#chats.get(m.channelId) ?? this.#all;
    if (!queue) return false;
    queue.push(m);
    return true;
  }

  /** Whether this message is waiting (catch-up then leaves it to the live path). */
  holds(chatId: string, id: string): boolean {
    return (this.#chats.get(chatId) ?? this.#all ?? []).some((m) => m.id === id);
  }

  /**
   * The chat's catch-up is over: its waiting live messages go, oldest first.
   * If a newer session began meanwhile (a second READY, its catch-up not
   * planned yet), they wait for that plan instead: the gap before the new
   * session may hold missed messages of this chat too.
   */
  release(chatId: string): void {
    const queue = this.#chats.get(chatId) ?? [];
    this.#chats.delete(chatId);
    if (this.#all) this.#all.push(...queue);
    else this.#flush(queue);
  }

  /** Lets everything go (shutdown, or no catch-up will run). */
  releaseAll(): void {
    this.planned();
    for (const chatId of [...this.#chats.keys()]) this.release(chatId);
  }

  #flush(messages: M[]): void {
    // A message may be held again while we deliver (a new READY): offer()
    // then queues it, so nothing is delivered out of turn.
    // One message that cannot be delivered must not take the others with it.
    for (const m of messages.sort((a, b) => compareSnowflakes(a.id, b.id))) {
      try {
        this.#deliver(m);
      } catch (err) {
        this.#log(
          `could not deliver held message ${m.id}: ${err instanceof Error ? err.message : err}`,
        );
      }
    }
  }
}
