/**
 * `AccessStore`: the one gateway to `$STATE_DIR/access.json`.
 *
 * - {@link AccessStore.read} is called on every inbound message. It costs one
 *   `stat` when nothing changed, and re-parses the file as soon as it did, so
 *   a hand edit or a CLI change applies to the very next message.
 * - {@link AccessStore.update} is an atomic read-modify-write under an
 *   inter-process lock, written via temp file + rename with mode 0600.
 * - A corrupt or invalid file is reported, never repaired behind the user's
 *   back: reads return an error (the caller fails closed) and updates throw.
 *   (The official plugin moves a corrupt file aside and starts fresh, which
 *   silently re-opens pairing to strangers; we refuse instead.)
 *
 * @module
 */
import { type Access, AccessSchema, defaultAccess } from "./schema.ts";
import { parseAccessJson, serializeAccess } from "./parse.ts";
import { compileMentionPatterns, type MentionPattern } from "./patterns.ts";
import { writeFileAtomic } from "./atomic_write.ts";
import { type LockOptions, withFileLock } from "./lock.ts";
import { log } from "../log.ts";

/** `live` re-reads on change; `static` snapshots once at start and refuses writes. */
export type AccessMode = "live" | "static";

/** The answer of {@link AccessStore.read}. The access object is deeply frozen. */
export type AccessReadResult =
  | { ok: true; access: Access; mentionPatterns: MentionPattern[] }
  | { ok: false; error: string };

/** Construction options for {@link AccessStore}. */
export interface AccessStoreOptions {
  stateDir: string;
  mode?: AccessMode;
  /** Where warnings go (default: the stderr logger). */
  warn?: (message: string) => void;
  lock?: LockOptions;
  /** Log read errors via `warn` (default true; the CLI reports them itself). */
  logReadErrors?: boolean;
}

/** Options for one {@link AccessStore.update}. */
export interface UpdateOptions {
  /**
   * If the file is corrupt or invalid, copy it to
   * `access.json.corrupt-<ms>` and start from defaults instead of failing.
   */
  fresh?: boolean;
}

/** What {@link AccessStore.update} did. */
export interface UpdateResult {
  /** The access now on disk (or unchanged, when the mutator returned null). */
  access: Access;
  changed: boolean;
  /** Set when `fresh` backed up a corrupt file. */
  backupPath?: string;
}

/** Thrown by `update` when the file on disk is corrupt or invalid. */
export class AccessFileError extends Error {
  override name = "AccessFileError";
}

/** Thrown by `update` in static mode. */
export class StaticModeError extends Error {
  override name = "StaticModeError";
}

/** How long after a change reads also compare content (timestamps are only ms-precise). */
const RECENT_CHANGE_MS = 1000;

/** The largest `access.json` we agree to parse; anything bigger is not ours. */
export const MAX_ACCESS_FILE_BYTES = 1024 * 1024;

/** Reads and writes `access.json` for one state directory. */
export class AccessStore {
  /** The state directory (`$DISCORD_STATE_DIR` or `~/.claude/channels/discord`). */
  readonly stateDir: string;
  /** Absolute path of `access.json`. */
  readonly path: string;
  /** The lock file guarding writes. */
  readonly lockPath: string;
  readonly mode: AccessMode;
  readonly #warn: (message: string) => void;
  readonly #lock: LockOptions;
  readonly #logReadErrors: boolean;
  readonly #warned = new Set<string>();
  #cacheKey: string | undefined;
  #cached: AccessReadResult | undefined;
  #cachedText: string | undefined;
  #loggedError: string | undefined;
  #snapshot: AccessReadResult | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: AccessStoreOptions) {
    this.stateDir = options.stateDir.replace(/\/+$/, "") || "/";
    this.path = `${this.stateDir}/access.json`;
    this.lockPath = `${this.path}.lock`;
    this.mode = options.mode ?? "live";
    this.#warn = options.warn ?? log;
    this.#lock = options.lock ?? {};
    this.#logReadErrors = options.logReadErrors ?? true;
    if (this.mode === "static") this.#snapshot = this.#takeSnapshot();
  }

  /**
   * The current access rules. Cheap: one `stat` per call (plus a small
   * read during the first second after a change), a re-parse only when the
   * file's identity, size, times or content changed. An absent file means
   * defaults (`dmPolicy: pairing`). Problems are logged once per distinct
   * file state, not once per message.
   */
  read(): AccessReadResult {
    if (this.#snapshot) return this.#snapshot;
    const { key, changedAt } = this.#stat();
    if (key === this.#cacheKey && this.#cached) {
      // File times have millisecond resolution, so a same-size rewrite in the
      // same millisecond would look unchanged. While the file is that fresh,
      // compare the (small) content too; afterwards one stat is enough.
      if (Date.now() - changedAt > RECENT_CHANGE_MS) return this.#cached;
      if (this.#readText() === this.#cachedText) return this.#cached;
    }
    const result = this.#load(key);
    this.#cacheKey = key;
    this.#cached = result;
    return result;
  }

  /**
   * Atomically applies `mutator` to the access on disk, under the lock, so
   * concurrent writers (the bridge and the CLI) never lose each other's
   * changes. The mutator gets a fresh mutable copy and returns the new value
   * (it may be the same object, mutated), or null to write nothing. The result
   * is validated against the schema before it is written. Unknown keys are
   * preserved. Throws {@link AccessFileError} if the file is corrupt (unless
   * `fresh`), {@link StaticModeError} in static mode, and a lock timeout error
   * if another writer holds the lock too long.
   */
  update(
    mutator: (current: Access) => Access | null,
    options: UpdateOptions = {},
  ): Promise<UpdateResult> {
    if (this.mode === "static") {
      return Promise.reject(
        new StaticModeError(
          "access.json is read-only in static mode (DISCORD_ACCESS_MODE=static); " +
            "edit the file and restart the bridge",
        ),
      );
    }
    // Serialise this process's own writers first, so they queue instead of
    // polling the lock file against each other.
    const run = this.#queue.then(() => this.#updateLocked(mutator, options));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #updateLocked(
    mutator: (current: Access) => Access | null,
    options: UpdateOptions,
  ): Promise<UpdateResult> {
    Deno.mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    return await withFileLock(this.lockPath, () => {
      let current: Access;
      let backupPath: string | undefined;
      const text = readTextIfExists(this.path);
      if (text === undefined) {
        current = defaultAccess();
      } else {
        const parsed = parseAccessJson(text, this.path);
        if (parsed.ok) {
          current = parsed.access;
        } else if (options.fresh) {
          backupPath = this.#backup(text);
          current = defaultAccess();
        } else {
          throw new AccessFileError(
            `${parsed.error}. It was left untouched; fix it by hand, or start over ` +
              `from defaults with --fresh (which keeps a backup copy).`,
          );
        }
      }
      const next = mutator(current);
      if (next === null) return { access: current, changed: false, backupPath };
      const checked = AccessSchema.safeParse(next);
      if (!checked.success) {
        const why = checked.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
        throw new Error(`refusing to write an invalid access.json: ${why.join("; ")}`);
      }
      writeFileAtomic(this.path, serializeAccess(checked.data), 0o600);
      this.#cacheKey = undefined; // the next read() parses what we wrote
      return { access: checked.data, changed: true, backupPath };
    }, this.#lock);
  }

  /** Keeps a copy of a corrupt file before `fresh` replaces it. */
  #backup(text: string): string {
    const base = `${this.path}.corrupt-${Date.now()}`;
    for (let n = 0;; n++) {
      const candidate = n === 0 ? base : `${base}-${n}`;
      try {
        Deno.writeTextFileSync(candidate, text, { createNew: true, mode: 0o600 });
        return candidate;
      } catch (err) {
        if (!(err instanceof Deno.errors.AlreadyExists) || n > 100) throw err;
      }
    }
  }

  #stat(): { key: string; changedAt: number } {
    try {
      const s = Deno.statSync(this.path);
      const mtime = s.mtime?.getTime() ?? 0;
      const ctime = s.ctime?.getTime() ?? 0;
      // Rename-based writers change the inode; in-place editors change
      // mtime/ctime/size. Together they catch every realistic edit.
      return {
        key: [s.dev, s.ino, s.size, mtime, ctime, s.isFile].join(":"),
        changedAt: Math.max(mtime, ctime),
      };
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return { key: "absent", changedAt: 0 };
      return { key: `error:${(err as Error).message}`, changedAt: 0 };
    }
  }

  #readText(): string | undefined {
    try {
      return readTextIfExists(this.path);
    } catch {
      return undefined;
    }
  }

  #load(key: string): AccessReadResult {
    this.#cachedText = undefined;
    if (key === "absent") return this.#finish(defaultAccess());
    let text: string | undefined;
    try {
      const size = Deno.statSync(this.path).size;
      if (size > MAX_ACCESS_FILE_BYTES) {
        return this.#fail(key, `${this.path} is ${size} bytes, too large for an access file`);
      }
      text = readTextIfExists(this.path);
    } catch (err) {
      return this.#fail(key, `cannot read ${this.path}: ${(err as Error).message}`);
    }
    if (text === undefined) return this.#finish(defaultAccess()); // deleted meanwhile
    this.#cachedText = text;
    const parsed = parseAccessJson(text, this.path);
    if (!parsed.ok) return this.#fail(key, parsed.error);
    for (const w of parsed.warnings) this.#warnOnce(w);
    return this.#finish(parsed.access);
  }

  #fail(key: string, error: string): AccessReadResult {
    // Logged once per distinct file state: the caller asks on every message.
    const state = `${key}\n${error}`;
    if (this.#logReadErrors && state !== this.#loggedError) {
      this.#loggedError = state;
      this.#warn(`${error}; ignoring all messages until it is fixed`);
    }
    return { ok: false, error };
  }

  #finish(access: Access): AccessReadResult {
    const compiled = compileMentionPatterns(access.mentionPatterns ?? []);
    for (const r of compiled.rejected) {
      this.#warnOnce(
        `access.json mentionPatterns entry ${JSON.stringify(r.pattern)} ${r.reason}; skipped`,
      );
    }
    // Frozen: the cached object is shared by every caller until the file changes.
    return { ok: true, access: deepFreeze(access), mentionPatterns: compiled.patterns };
  }

  #warnOnce(message: string): void {
    if (this.#warned.has(message)) return;
    this.#warned.add(message);
    this.#warn(message);
  }

  #takeSnapshot(): AccessReadResult {
    const result = this.#load(this.#stat().key);
    if (!result.ok) return result;
    const access = structuredClone(result.access) as Access;
    if (access.dmPolicy === "pairing") {
      // Pairing needs to write codes; handing out codes nobody can approve
      // would be worse than not answering.
      this.#warn('static mode: dmPolicy "pairing" downgraded to "allowlist"');
      access.dmPolicy = "allowlist";
    }
    access.pending = {};
    return { ok: true, access: deepFreeze(access), mentionPatterns: result.mentionPatterns };
  }
}

function readTextIfExists(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
