/**
 * An inter-process lock, so that the running bridge and the `access` CLI
 * never interleave their read-modify-write cycles on `access.json` (the
 * bridge adding a pairing code while the CLI approves another would
 * otherwise lose one of the two changes).
 *
 * The lock is an OS advisory lock (`flock`, via `Deno.FsFile.tryLock`) on a
 * lock file in the state directory, the same mechanism as `bridge.lock`. The
 * kernel releases it when its holder closes the file or dies, however it
 * dies, so there is no liveness check at all: no `kill(pid, 0)` (which needs
 * `--allow-run`, a permission neither `deno task start` nor `deno task access`
 * has) and no staleness guess. A lock is either held by a live process or
 * free. Opening and locking the file needs only write access to the state
 * directory, which both tasks grant.
 *
 * The file's existence means nothing, so a file left behind by an older
 * version of this bridge (which used an O_EXCL lock file of the same name)
 * or by anything else is simply reused. The file is never deleted: deleting
 * would let a newcomer lock a fresh inode while an old holder still holds the
 * unlinked one. Should someone delete or replace it anyway, a process that
 * finds it locked an inode the name no longer points to lets go and retries.
 *
 * @module
 */

/** Tuning for {@link withFileLock}. */
export interface LockOptions {
  /** Give up waiting after this long (default 10 s). */
  timeoutMs?: number;
  /** Base delay between attempts (default 5 ms, growing to 50 ms, plus jitter). */
  retryMs?: number;
}

/** Thrown when the lock stays held by a live process for the whole wait. */
export class LockTimeoutError extends Error {
  override name = "LockTimeoutError";
}

/** Who holds the lock, as its holder notes in the file (informational only). */
export interface LockNote {
  pid: number;
  since: number;
}

/** Runs `fn` while holding the OS lock on `lockPath`; always releases it. */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => T | Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const file = await acquire(lockPath, options);
  try {
    return await fn();
  } finally {
    // Closing the descriptor releases the flock; the file itself stays.
    file.close();
  }
}

async function acquire(lockPath: string, options: LockOptions): Promise<Deno.FsFile> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const baseMs = options.retryMs ?? 5;
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0;; attempt++) {
    // No `create` race to handle: O_CREAT without O_EXCL opens the file
    // whoever created it. A permission error here is thrown, never taken
    // as "free".
    const file = Deno.openSync(lockPath, { read: true, write: true, create: true, mode: 0o600 });
    let locked: boolean;
    try {
      locked = file.tryLockSync(true);
    } catch (err) {
      file.close();
      throw err;
    }
    if (locked) {
      if (isCurrent(lockPath, file)) {
        noteHolder(file);
        return file;
      }
      // The name was removed or replaced after we opened it: lock the new file.
      file.close();
      continue;
    }
    file.close();
    if (Date.now() >= deadline) {
      const note = readLockNote(lockPath);
      const who = note
        ? `process ${note.pid} (for ${Math.round((Date.now() - note.since) / 1000)}s)`
        : "another process";
      throw new LockTimeoutError(
        `${lockPath} is held by ${who}; gave up after ${timeoutMs} ms. A bridge or ` +
          `access command is stuck mid-write; end it and retry.`,
      );
    }
    const step = Math.min(baseMs * 2 ** Math.min(attempt, 4), 50);
    await new Promise((r) => setTimeout(r, step + Math.random() * step));
  }
}

/** Whether the open file is still the one the path names (see the module doc). */
function isCurrent(lockPath: string, file: Deno.FsFile): boolean {
  try {
    return Deno.statSync(lockPath).ino === file.statSync().ino;
  } catch {
    return false;
  }
}

/** Writes who holds the lock, for the timeout message of a waiter. */
function noteHolder(file: Deno.FsFile): void {
  const note: LockNote = { pid: Deno.pid, since: Date.now() };
  try {
    file.truncateSync(0);
    file.writeSync(new TextEncoder().encode(JSON.stringify(note) + "\n"));
  } catch {
    // informational only
  }
}

/** The holder's note in the lock file; undefined if absent or garbled. */
export function readLockNote(lockPath: string): LockNote | undefined {
  try {
    const parsed = JSON.parse(Deno.readTextFileSync(lockPath));
    if (typeof parsed?.pid !== "number") return undefined;
    const since = typeof parsed.since === "number" ? parsed.since : typeof parsed.time === "number" // the older O_EXCL scheme's field
      ? parsed.time
      : Date.now();
    return { pid: parsed.pid, since };
  } catch {
    return undefined;
  }
}
