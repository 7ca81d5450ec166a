/**
 * A bounded memory of recently delivered message IDs. Discord may hand the
 * bridge the same message twice: replayed after a resume, seen live and again
 * in the catch-up fetch, or re-sent after a reconnect. Claude Code does not
 * deduplicate, so the bridge must.
 *
 * @module
 */

/** How many IDs the bridge remembers (a few minutes of heavy traffic). */
export const DEDUPE_CAPACITY = 5_000;

/** Remembers the last `capacity` IDs; the oldest is forgotten first. */
export class RecentIds {
  readonly #capacity: number;
  // A Set iterates in insertion order, so its first entry is the oldest: O(1) eviction.
  readonly #ids = new Set<string>();

  constructor(capacity = DEDUPE_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("capacity must be >= 1");
    this.#capacity = capacity;
  }

  /** True the first time an ID is offered (and remembers it); false for a repeat. */
  firstTime(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    if (this.#ids.size > this.#capacity) this.#ids.delete(this.#ids.values().next().value!);
    return true;
  }

  /** Whether an ID is currently remembered. */
  has(id: string): boolean {
    return this.#ids.has(id);
  }

  get size(): number {
    return this.#ids.size;
  }
}
