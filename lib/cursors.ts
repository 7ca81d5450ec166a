/**
 * Where the bridge left off in each chat: the last delivered message ID per
 * chat, so that messages sent while no bridge was running can be caught up on
 * at the next start, and nothing delivered is delivered again.
 *
 * Two files in `$DISCORD_STATE_DIR`:
 *
 * - `cursors.journal`, append-only: one line per delivery, written with one
 *   `write(2)` each: `d CHAT ID` just BEFORE the event is written to stdout,
 *   `k CHAT ID AT` just after. Data handed to the kernel survives the death
 *   of the process (SIGKILL, OOM, a crash), so a restart knows every delivery
 *   up to the last instant. A `d` without its `k` is a delivery that may or
 *   may not have reached Claude Code (the process died between the two
 *   writes); catch-up re-delivers it marked as a possible duplicate.
 * - `cursors.json`, the compacted state (cursors plus those uncertain IDs),
 *   replaced atomically (fsync + rename) at most once per `flushDelayMs`
 *   while messages flow, at start and at shutdown; the journal is then
 *   truncated. Replaying a journal over a newer `cursors.json` is harmless
 *   (cursors only move forward).
 *
 * The journal is not fsynced: on a machine crash (power loss, kernel panic)
 * the deliveries of the last moments before it (until the kernel wrote the
 * journal or the last compaction back, typically seconds, at most ~30 s) may
 * be caught up on again, unmarked.
 *
 * Only the bridge holding the instance lock opens the store: a waiting
 * session neither reads (its view would be stale at takeover) nor writes
 * (it would overwrite the holder's progress).
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
  /** Deliveries that may or may not have reached Claude Code: message ID → chat ID. */
  uncertain?: Record<string, string>;
}

/** The journal's file name inside the state directory. */
export const JOURNAL_FILE = "cursors.journal";
/** Uncertain deliveries remembered at most. */
export const MAX_UNCERTAIN = 500;
const SNOWFLAKE_RE = /^\d{1,25}$/;
/** The latest time a Date can hold: a larger `at` could never be written back to cursors.json. */
const MAX_TIME_MS = 8.64e15;

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

/** Parses the uncertain deliveries of the file's text (message ID → chat ID). */
export function parseUncertain(text: string): Map<string, string> {
  const out = new Map<string, string>();
  try {
    const raw = (JSON.parse(text) as Partial<CursorFile> | null)?.uncertain;
    if (!raw || typeof raw !== "object") return out;
    for (const [id, chat] of Object.entries(raw)) {
      if (SNOWFLAKE_RE.test(id) && typeof chat === "string" && SNOWFLAKE_RE.test(chat)) {
        out.set(id, chat);
      }
    }
  } catch {
    // malformed: nothing uncertain
  }
  return out;
}

/** Renders cursors (and uncertain deliveries, message ID → chat ID) as the file's text. */
export function serializeCursors(
  cursors: Iterable<Cursor>,
  uncertain?: ReadonlyMap<string, string>,
): string {
  const file: CursorFile = { version: 1, chats: {} };
  for (const c of cursors) {
    file.chats[c.chatId] = { last: c.lastId, at: new Date(c.at).toISOString() };
  }
  if (uncertain?.size) file.uncertain = Object.fromEntries(uncertain);
  return JSON.stringify(file, null, 2) + "\n";
}

/** One record of the journal. */
export type JournalRecord =
  | { kind: "begin"; chatId: string; messageId: string }
  | { kind: "done"; chatId: string; messageId: string; at: number };

/** Renders one journal record as its line (with the newline). */
export function journalLine(r: JournalRecord): string {
  return r.kind === "begin"
    ? `d ${r.chatId} ${r.messageId}\n`
    : `k ${r.chatId} ${r.messageId} ${r.at}\n`;
}

/** Parses a journal; a torn or malformed line (a machine crash mid-write) is skipped. */
export function parseJournal(text: string): JournalRecord[] {
  const out: JournalRecord[] = [];
  for (const line of text.split("\n")) {
    const [kind, chatId, messageId, at, extra] = line.split(" ");
    if (extra !== undefined || !SNOWFLAKE_RE.test(chatId ?? "")) continue;
    if (!SNOWFLAKE_RE.test(messageId ?? "")) continue;
    if (kind === "d" && at === undefined) out.push({ kind: "begin", chatId, messageId });
    else if (kind === "k" && /^\d{1,16}$/.test(at ?? "") && Number(at) <= MAX_TIME_MS) {
      out.push({ kind: "done", chatId, messageId, at: Number(at) });
    }
  }
  return out;
}

/** Where journal lines go; the default is `cursors.journal` opened for appending. */
export interface Journal {
  /** The journal's current text (at open). */
  read(): string;
  /** Appends one line with a single write. */
  append(line: string): void;
  /** Empties the journal (after a compaction). */
  truncate(): void;
  close(): void;
}

/** Opens `path` as a journal: O_APPEND, mode 0600, one `write(2)` per line. */
export function openFileJournal(path: string): Journal {
  const file = Deno.openSync(path, { read: true, append: true, create: true, mode: 0o600 });
  const encoder = new TextEncoder();
  return {
    read: () => readIfExists(path) ?? "",
    append(line) {
      const bytes = encoder.encode(line);
      // A short write to a regular file happens only when the disk is full;
      // finish it rather than leave half a line.
      let off = 0;
      while (off < bytes.length) off += file.writeSync(off === 0 ? bytes : bytes.subarray(off));
    },
    truncate: () => file.truncateSync(0),
    close: () => file.close(),
  };
}

/** One delivery in progress: {@link CursorStore.begin} wrote its `d` line. */
export interface Delivery {
  /** True when an earlier run may already have delivered this message (a crash mid-delivery). */
  readonly repeat: boolean;
  /** Records that the event was written to Claude Code (its `k` line); idempotent. */
  done(): void;
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
  /**
   * The delivery journal. Default: `cursors.journal` in the state directory,
   * unless `write` is given (then none unless given too); `false` for none.
   */
  journal?: Journal | false;
}

/** The in-memory cursors plus their debounced file. */
export class CursorStore {
  readonly path: string;
  // Map order = least recently updated first, so eviction drops the stalest chat.
  readonly #cursors = new Map<string, Cursor>();
  readonly #opts: Required<Omit<CursorStoreOptions, "read" | "journal">>;
  /** Deliveries that may have reached Claude Code before a crash: message ID → chat ID. */
  readonly #uncertain = new Map<string, string>();
  /** Deliveries begun in this run and not yet done: message ID → chat ID. */
  readonly #inFlight = new Map<string, string>();
  #journal: Journal | undefined;
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
      for (const [id, chat] of parseUncertain(text)) this.#uncertain.set(id, chat);
    }
    this.#journal = this.#openJournal(stateDir, opts);
    if (this.#journal) {
      // Replay what the last run delivered after its last compaction.
      const pending = new Map<string, string>();
      const text = this.#journal.read();
      const records = parseJournal(text);
      const lines = text.split("\n").filter((l) => l !== "").length;
      if (lines > records.length) {
        this.#opts.log(
          `${stateDir}/${JOURNAL_FILE}: ${
            lines - records.length
          } unreadable line(s) skipped (a torn write or foreign data); the rest is used`,
        );
      }
      for (const r of records) {
        if (r.kind === "begin") pending.set(r.messageId, r.chatId);
        else {
          pending.delete(r.messageId);
          this.#uncertain.delete(r.messageId);
          this.#advance(r.chatId, r.messageId, r.at);
        }
      }
      for (const [id, chat] of pending) this.#uncertain.set(id, chat);
      if (lines > 0) {
        this.#dirty = true;
        this.flush();
      }
    }
  }

  #openJournal(stateDir: string, opts: CursorStoreOptions): Journal | undefined {
    if (opts.journal === false) return undefined;
    if (opts.journal) return opts.journal;
    if (opts.write) return undefined;
    const path = `${stateDir}/${JOURNAL_FILE}`;
    try {
      Deno.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      return openFileJournal(path);
    } catch (err) {
      this.#opts.log(
        `cannot open ${path} (${
          err instanceof Error ? err.message : String(err)
        }); a crash may repeat up to ${this.#opts.flushDelayMs} ms of deliveries`,
      );
      return undefined;
    }
  }

  /** Moves a chat's cursor forward (never back) and marks the store dirty. */
  #advance(chatId: string, messageId: string, at: number): boolean {
    const old = this.#cursors.get(chatId);
    if (old && compareSnowflakes(messageId, old.lastId) <= 0) return false;
    this.#cursors.delete(chatId);
    this.#cursors.set(chatId, { chatId, lastId: messageId, at });
    if (this.#cursors.size > this.#opts.maxChats) {
      this.#cursors.delete(this.#cursors.keys().next().value!);
    }
    this.#dirty = true;
    return true;
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
    this.begin(chatId, messageId).done();
  }

  /**
   * Starts the delivery of a message: journals it BEFORE the caller writes
   * the event, so a crash between the two is known at the next start. Call
   * `done()` once the event was written.
   */
  begin(chatId: string, messageId: string): Delivery {
    const repeat = this.#uncertain.has(messageId);
    if (this.#closed) return { repeat, done: () => {} };
    this.#append({ kind: "begin", chatId, messageId });
    this.#inFlight.set(messageId, chatId);
    let finished = false;
    return {
      repeat,
      done: () => {
        if (finished || this.#closed) return;
        finished = true;
        const at = this.#opts.now();
        this.#append({ kind: "done", chatId, messageId, at });
        this.#inFlight.delete(messageId);
        this.#uncertain.delete(messageId);
        this.#advance(chatId, messageId, at);
        this.#dirty = true;
        this.#schedule();
      },
    };
  }

  #append(r: JournalRecord): void {
    if (!this.#journal) return;
    try {
      this.#journal.append(journalLine(r));
    } catch (err) {
      this.#opts.log(
        `could not append to the delivery journal (a crash may repeat recent deliveries): ${
          err instanceof Error ? err.message : String(err)
        }`,
      );
      this.#journal = undefined;
    }
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    const timer = setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, this.#opts.flushDelayMs);
    this.#timer = timer;
    // A pending write must not keep a finished process alive; shutdown flushes.
    Deno.unrefTimer(timer as unknown as number);
  }

  /** Writes the file now if anything changed. Never throws (a log line instead). */
  flush(): void {
    if (!this.#dirty) return;
    this.#dirty = false;
    // An uncertain delivery at or behind its chat's cursor can no longer be
    // caught up on: forget it. Deliveries in flight count as uncertain in
    // the file (their `k` line in the journal settles them).
    for (const [id, chat] of this.#uncertain) {
      const c = this.#cursors.get(chat);
      if (!c || compareSnowflakes(id, c.lastId) <= 0) this.#uncertain.delete(id);
    }
    while (this.#uncertain.size > MAX_UNCERTAIN) {
      this.#uncertain.delete(this.#uncertain.keys().next().value!);
    }
    const unsure = new Map([...this.#uncertain, ...this.#inFlight]);
    try {
      this.#opts.write(this.path, serializeCursors(this.#cursors.values(), unsure));
      // Compacted: the journal's lines are all in the file now.
      this.#journal?.truncate();
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
    try {
      this.#journal?.close();
    } catch {
      // already closed
    }
    this.#journal = undefined;
  }
}

function readIfExists(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}
