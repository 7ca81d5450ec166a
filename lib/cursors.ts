/**
 * Where the bridge left off in each chat: the last delivered message ID per
 * chat, kept in `$DISCORD_STATE_DIR/cursors.json` so that messages sent while
 * no bridge was running can be caught up on at the next start.
 *
 * Writes are debounced (at most one per `flushDelayMs`, plus one at
 * shutdown): the bridge may deliver hundreds of messages a second, and a
 * synchronous fsync per message would be the bottleneck. The price of a hard
 * kill is at most one debounce window of cursor progress; catch-up then
 * re-fetches those messages (bounded like any catch-up).
 *
 * @module
 */
import { writeFileAtomic } from "./access/atomic_write.ts";

/** The file name inside the state directory. */
export const CURSORS_FILE = "cursors.json";
/** Chats remembered at most (the least recently active are forgotten first). */
export const MAX_CURSOR_CHATS = 200;

/** One chat's cursor. */
export interface Cursor {
  chatId: string;
  /** ID of the last message delivered from this chat. */
  lastId: string;
  /** When it was delivered (ms since epoch). */
  at: number;
}

interface CursorFile {
  version: 1;
  chats: Record<string, { last: string; at: string }>;
}

/** Orders Discord snowflakes (decimal strings) numerically without BigInt. */
export function compareSnowflakes(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Parses the file's text; anything malformed is skipped entry by entry. */
export function parseCursors(text: string): Cursor[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return [];
  }
  const chats = (raw as Partial<CursorFile> | null)?.chats;
  if (!chats || typeof chats !== "object") return [];
  const out: Cursor[] = [];
  for (const [chatId, v] of Object.entries(chats)) {
    const entry = v as { last?: unknown; at?: unknown } | null;
    if (!/^\d{1,25}$/.test(chatId) || typeof entry?.last !== "string") continue;
    if (!/^\d{1,25}$/.test(entry.last)) continue;
    const at = typeof entry.at === "string" ? Date.parse(entry.at) : NaN;
    out.push({ chatId, lastId: entry.last, at: Number.isFinite(at) ? at : 0 });
  }
  return out;
}

/** Renders cursors as the file's text. */
export function serializeCursors(cursors: Iterable<Cursor>): string {
  const file: CursorFile = { version: 1, chats: {} };
  for (const c of cursors) {
    file.chats[c.chatId] = { last: c.lastId, at: new Date(c.at).toISOString() };
  }
  return JSON.stringify(file, null, 2) + "\n";
}

/** Options for {@link CursorStore}. */
export interface CursorStoreOptions {
  /** Debounce window for writes (default 1,000 ms). */
  flushDelayMs?: number;
  maxChats?: number;
  now?: () => number;
  log?: (line: string) => void;
  /** Replaces the file (default: atomic write, mode 0600). */
  write?: (path: string, text: string) => void;
  read?: (path: string) => string | undefined;
}

/** The in-memory cursors plus their debounced file. */
export class CursorStore {
  readonly path: string;
  // Map order = least recently updated first, so eviction drops the stalest chat.
  readonly #cursors = new Map<string, Cursor>();
  readonly #opts: Required<Omit<CursorStoreOptions, "read">>;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #dirty = false;
  #closed = false;

  constructor(stateDir: string, opts: CursorStoreOptions = {}) {
    this.path = `${stateDir}/${CURSORS_FILE}`;
    this.#opts = {
      flushDelayMs: opts.flushDelayMs ?? 1_000,
      maxChats: opts.maxChats ?? MAX_CURSOR_CHATS,
      now: opts.now ?? Date.now,
      log: opts.log ?? (() => {}),
      write: opts.write ?? ((p, t) => {
        // The state directory normally exists (access.json); create it like the CLI does if not.
        Deno.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
        writeFileAtomic(p, t);
      }),
    };
    const text = (opts.read ?? readIfExists)(this.path);
    if (text !== undefined) {
      const loaded = parseCursors(text).sort((a, b) => a.at - b.at);
      if (loaded.length === 0 && text.trim()) {
        this.#opts.log(`${this.path} is unreadable; catch-up starts from scratch`);
      }
      for (const c of loaded.slice(-this.#opts.maxChats)) this.#cursors.set(c.chatId, c);
    }
  }

  /** Every remembered chat, most recently delivered first. */
  entries(): Cursor[] {
    return [...this.#cursors.values()].reverse();
  }

  get(chatId: string): Cursor | undefined {
    return this.#cursors.get(chatId);
  }

  /** Records a delivered message; older IDs than the stored one are ignored. */
  note(chatId: string, messageId: string): void {
    if (this.#closed) return;
    const old = this.#cursors.get(chatId);
    if (old && compareSnowflakes(messageId, old.lastId) <= 0) return;
    this.#cursors.delete(chatId);
    this.#cursors.set(chatId, { chatId, lastId: messageId, at: this.#opts.now() });
    if (this.#cursors.size > this.#opts.maxChats) {
      this.#cursors.delete(this.#cursors.keys().next().value!);
    }
    this.#dirty = true;
    if (this.#timer === undefined) {
      const timer = setTimeout(() => {
        this.#timer = undefined;
        this.flush();
      }, this.#opts.flushDelayMs);
      this.#timer = timer;
      // A pending write must not keep a finished process alive; shutdown flushes.
      Deno.unrefTimer(timer as unknown as number);
    }
  }

  /** Writes the file now if anything changed. Never throws (a log line instead). */
  flush(): void {
    if (!this.#dirty) return;
    this.#dirty = false;
    try {
      this.#opts.write(this.path, serializeCursors(this.#cursors.values()));
    } catch (err) {
      this.#opts.log(
        `could not save ${this.path} (catch-up may repeat or miss messages): ${
          err instanceof Error ? err.message : String(err)
        }`,
      );
    }
  }

  /** Final flush; later notes are ignored. */
  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.flush();
    this.#closed = true;
  }
}

function readIfExists(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}
