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
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // No `create` race to handle: O_CREAT without O_EXCL opens the file
    // whoever created it. A permission error here is thrown, never taken
    // as "free".
    const file = Deno.openSync(lockPath, { read: true, write: true, create: true, mode: 0o600 });
    let locked: boolean;
    try {
      locked = file.tryLockSync(true) || await waitForLock(file, deadline - Date.now());
    } catch (err) {
      file.close();
      throw err;
    }
    if (!locked) {
      const note = readLockNote(lockPath);
      const who = note
        ? `process ${note.pid} (for ${Math.round((Date.now() - note.since) / 1000)}s)`
        : "another process";
      throw new LockTimeoutError(
        `${lockPath} is held by ${who}; gave up after ${timeoutMs} ms. A bridge or ` +
          `access command is stuck mid-write; end it and retry.`,
      );
    }
    if (isCurrent(lockPath, file)) {
      noteHolder(file);
      return file;
    }
    // The name was removed or replaced after we opened it: lock the new file.
    file.close();
  }
}

/**
 * Blocks in the kernel until the lock is free (so waiters are woken when it
 * is released, rather than polling and losing the race to a busy writer), or
 * until `ms` pass. A blocked `flock` cannot be cancelled: after a timeout the
 * pending wait closes the file the moment it gets the lock, releasing it.
 */
async function waitForLock(file: Deno.FsFile, ms: number): Promise<boolean> {
  if (ms <= 0) return false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const pending = file.lock(true).then(() => {
    if (timedOut) file.close();
    return true;
  }, (err) => {
    if (timedOut) file.close();
    throw err;
  });
  const expiry = new Promise<false>((resolve) => {
    timer = setTimeout(() => {
      timedOut = true;
      resolve(false);
    }, ms);
  });
  try {
    return await Promise.race([pending, expiry]);
  } finally {
    clearTimeout(timer);
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
