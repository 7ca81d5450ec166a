/**
 * One bridge per state directory. Two bridges logged in with the same token
 * fight over the bot: each gets every message (so Claude answers twice, in
 * two sessions), pairing codes and permission prompts collide, and every
 * restart of the loser burns one of Discord's 1,000 daily identifies.
 *
 * The lock is an OS advisory lock (`flock`) on `$STATE_DIR/bridge.lock`, not
 * the file's existence: the kernel releases it when the holder dies, however
 * it dies (SIGKILL, OOM, power loss of a container), so a lock left by a dead
 * process is never "stale" and needs no pid guessing. The pid and start time
 * written into the file only serve to tell the user who holds it.
 *
 * A second bridge keeps serving MCP without logging in, says why (tools and
 * stderr), and waits on the lock; when the holder's session ends it takes
 * over and logs in.
 *
 * @module
 */

/** What the holder writes into the lock file (informational only). */
export interface LockHolder {
  pid: number;
  startedAt: string;
  hostname?: string;
}

/** The instance lock of one bridge. */
export interface InstanceLock {
  /** Why this bridge may not log in now, or undefined when it holds the lock. */
  blocked(): string | undefined;
  /** Resolves once this bridge holds the lock (at once when it was free). */
  readonly acquired: Promise<void>;
  /** Gives the lock up (removing the file if it is ours); idempotent. */
  release(): void;
}

const LOCK_NAME = "bridge.lock";

/** `$stateDir/bridge.lock`. */
export function lockPath(stateDir: string): string {
  return `${stateDir.replace(/\/+$/, "")}/${LOCK_NAME}`;
}

/**
 * Takes the instance lock for `stateDir`, or starts waiting for it. Never
 * throws: when the lock file cannot be opened at all (read-only state
 * directory), the bridge is let through with a warning rather than kept off
 * Discord forever.
 */
export function claimInstanceLock(
  stateDir: string,
  log: (line: string) => void,
): InstanceLock {
  const path = lockPath(stateDir);
  let file: Deno.FsFile | undefined;
  let held = false;
  let released = false;
  let reason: string | undefined;
  let resolveAcquired!: () => void;
  const acquired = new Promise<void>((r) => resolveAcquired = r);

  const open = (): Deno.FsFile =>
    Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 });

  // flock belongs to the open file, not to the name: if the holder removed
  // the file (clean exit) between our open() and our lock, we would hold a
  // lock on a deleted inode while a newcomer locks the new file. Only a lock
  // on the inode the name still points to counts.
  const isCurrent = (f: Deno.FsFile): boolean => {
    try {
      return Deno.statSync(path).ino === f.statSync().ino;
    } catch {
      return false;
    }
  };

  const takeOver = (f: Deno.FsFile) => {
    file = f;
    held = true;
    reason = undefined;
    const me: LockHolder = { pid: Deno.pid, startedAt: new Date().toISOString() };
    try {
      me.hostname = Deno.hostname();
    } catch {
      // no --allow-sys=hostname: the pid is enough on one machine
    }
    try {
      f.truncateSync(0);
      f.seekSync(0, Deno.SeekMode.Start);
      f.writeSync(new TextEncoder().encode(JSON.stringify(me) + "\n"));
    } catch {
      // informational only
    }
    resolveAcquired();
  };

  const waitForHolder = async () => {
    while (!released) {
      let f: Deno.FsFile;
      try {
        f = open();
        await f.lock(true);
      } catch (err) {
        log(`instance lock: stopped waiting for ${path}: ${err}`);
        return;
      }
      if (released) {
        f.close();
        return;
      }
      if (isCurrent(f)) {
        log("the session that held the Discord bot has ended; this session takes over");
        takeOver(f);
        return;
      }
      f.close(); // the file was replaced under us: queue on the new one
    }
  };

  for (let attempt = 0;; attempt++) {
    let f: Deno.FsFile;
    try {
      f = open();
    } catch (err) {
      log(
        `warning: cannot open ${path} (${err}); starting without the one-bridge-per-state-directory guarantee`,
      );
      held = true;
      resolveAcquired();
      break;
    }
    if (f.tryLockSync(true)) {
      if (isCurrent(f)) {
        takeOver(f);
        break;
      }
      f.close();
      if (attempt < 5) continue;
    } else {
      f.close();
    }
    reason = describeHolder(path, readHolder(path));
    void waitForHolder();
    break;
  }

  return {
    blocked: () => (held ? undefined : reason),
    acquired,
    release() {
      if (released) return;
      released = true;
      if (!file) return;
      // Remove the name while still holding the lock (see isCurrent), then close.
      try {
        if (held && isCurrent(file)) Deno.removeSync(path);
      } catch {
        // already gone
      }
      try {
        file.close();
      } catch {
        // already closed
      }
      file = undefined;
      held = false;
    },
  };
}

/** Reads the holder's note from the lock file; undefined if absent or garbled. */
export function readHolder(path: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(Deno.readTextFileSync(path));
    if (typeof parsed?.pid !== "number") return undefined;
    return {
      pid: parsed.pid,
      startedAt: typeof parsed.startedAt === "string" ? parsed.startedAt : "?",
      hostname: typeof parsed.hostname === "string" ? parsed.hostname : undefined,
    };
  } catch {
    return undefined;
  }
}

function describeHolder(path: string, holder: LockHolder | undefined): string {
  const who = holder
    ? `bridge process ${holder.pid}, started ${holder.startedAt}`
    : "another process";
  return `another Claude Code session already holds the Discord bot for this state directory (${who}; lock ${path}). ` +
    `This session stays off Discord so the bot is not logged in twice, and takes over automatically when that session ends. ` +
    `To use Discord here, end the other session (or set DISCORD_STATE_DIR to a directory with another bot's token).`;
}
