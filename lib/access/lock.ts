/**
 * An inter-process lock file, so that the running bridge and the `access`
 * CLI never interleave their read-modify-write cycles on `access.json` (the
 * bridge adding a pairing code while the CLI approves another would
 * otherwise lose one of the two changes).
 *
 * The lock is a file created with O_EXCL holding the owner's pid, the time
 * and a random token. A lock whose owner is dead, or which is older than the
 * stale limit (a hung or crashed owner), is taken over; waiting is bounded.
 *
 * @module
 */
import process from "node:process";
import { randomHex } from "./atomic_write.ts";

/** Tuning for {@link withFileLock}. */
export interface LockOptions {
  /** Give up waiting after this long (default 5 s). */
  timeoutMs?: number;
  /** A lock older than this is presumed abandoned (default 10 s). */
  staleMs?: number;
  /** Base delay between attempts (default 20 ms, plus jitter). */
  retryMs?: number;
}

/** Thrown when the lock stays held by a live owner for the whole wait. */
export class LockTimeoutError extends Error {
  override name = "LockTimeoutError";
}

interface Holder {
  pid?: number;
  time: number;
  token?: string;
  ino: number | null;
}

/** Runs `fn` while holding the lock file at `lockPath`; always releases it. */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => T | Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const token = await acquire(lockPath, options);
  try {
    return await fn();
  } finally {
    release(lockPath, token);
  }
}

async function acquire(lockPath: string, options: LockOptions): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const staleMs = options.staleMs ?? 10_000;
  const retryMs = options.retryMs ?? 20;
  const deadline = Date.now() + timeoutMs;
  const token = randomHex(8);
  for (;;) {
    try {
      const file = Deno.openSync(lockPath, { write: true, createNew: true, mode: 0o600 });
      try {
        const body = JSON.stringify({ pid: Deno.pid, time: Date.now(), token });
        file.writeSync(new TextEncoder().encode(body));
      } finally {
        file.close();
      }
      return token;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
    const holder = readHolder(lockPath);
    if (!holder) continue; // released between our attempt and the read: retry at once
    if (isStale(holder, staleMs)) {
      breakStaleLock(lockPath, holder);
      continue;
    }
    if (Date.now() >= deadline) {
      const age = Math.round((Date.now() - holder.time) / 1000);
      throw new LockTimeoutError(
        `${lockPath} is held by process ${holder.pid ?? "?"} (for ${age}s); ` +
          `gave up after ${timeoutMs} ms. If no bridge or access command is running, ` +
          `delete that file and retry.`,
      );
    }
    await new Promise((r) => setTimeout(r, retryMs + Math.random() * retryMs));
  }
}

function readHolder(lockPath: string): Holder | undefined {
  let info: Deno.FileInfo;
  let text: string;
  try {
    info = Deno.statSync(lockPath);
    text = Deno.readTextFileSync(lockPath);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  const fallback = info.mtime?.getTime() ?? Date.now();
  try {
    const parsed = JSON.parse(text) as { pid?: unknown; time?: unknown; token?: unknown };
    return {
      pid: typeof parsed.pid === "number" ? parsed.pid : undefined,
      time: typeof parsed.time === "number" ? parsed.time : fallback,
      token: typeof parsed.token === "string" ? parsed.token : undefined,
      ino: info.ino,
    };
  } catch {
    // Created but not yet written (or garbage): judge it by its age alone.
    return { time: fallback, ino: info.ino };
  }
}

function isStale(holder: Holder, staleMs: number): boolean {
  if (Date.now() - holder.time > staleMs) return true;
  return holder.pid !== undefined && holder.pid !== Deno.pid && !isAlive(holder.pid);
}

/** Whether a process with this pid exists (signal 0 probes without sending). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as { code?: string }).code === "EPERM";
  }
}

/**
 * Removes a stale lock without ever removing a fresh one: two waiters may
 * both judge the same lock stale, and the slower one must not delete the
 * lock the faster one has just created. Renaming is atomic, so we move the
 * file aside and check it is the very file (inode) we judged; if it is not,
 * we put it back with link(), which refuses to overwrite.
 */
function breakStaleLock(lockPath: string, holder: Holder): void {
  const aside = `${lockPath}.stale-${Deno.pid}-${randomHex(4)}`;
  try {
    Deno.renameSync(lockPath, aside);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  try {
    const moved = Deno.statSync(aside);
    if (holder.ino !== null && moved.ino !== holder.ino) {
      try {
        Deno.linkSync(aside, lockPath);
      } catch {
        // Someone else holds it now; the moved lock's owner will find its
        // token gone on release and leave the new one alone.
      }
    }
  } finally {
    try {
      Deno.removeSync(aside);
    } catch {
      // already gone
    }
  }
}

function release(lockPath: string, token: string): void {
  // Only delete the lock if it is still ours: if we overran the stale limit
  // and another process took over, removing its lock would let a third in.
  try {
    const current = JSON.parse(Deno.readTextFileSync(lockPath)) as { token?: unknown };
    if (current.token === token) Deno.removeSync(lockPath);
  } catch {
    // gone or unreadable: nothing of ours to remove
  }
}
