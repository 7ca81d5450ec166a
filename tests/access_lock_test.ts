import assert from "node:assert/strict";
import { isAlive, LockTimeoutError, withFileLock } from "../lib/access/lock.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "access_lock_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The pid of a process that has already exited. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true", { stdout: "null", stderr: "null" }).spawn();
  await child.status;
  return child.pid;
}

Deno.test("the lock file exists while held, holds pid and time, and is removed after", async () => {
  await withTempDir(async (dir) => {
    const lock = `${dir}/access.json.lock`;
    const seen = await withFileLock(lock, () => JSON.parse(Deno.readTextFileSync(lock)));
    assert.equal(seen.pid, Deno.pid);
    assert.ok(Math.abs(seen.time - Date.now()) < 5000);
    assert.throws(() => Deno.statSync(lock), Deno.errors.NotFound);
  });
});

Deno.test("the lock is released when the critical section throws", async () => {
  await withTempDir(async (dir) => {
    const lock = `${dir}/l`;
    await assert.rejects(
      withFileLock(lock, () => {
        throw new Error("boom");
      }),
      /boom/,
    );
    assert.throws(() => Deno.statSync(lock), Deno.errors.NotFound);
  });
});

Deno.test("a live, recent holder makes waiters time out with a clear error", async () => {
  await withTempDir(async (dir) => {
    const lock = `${dir}/access.json.lock`;
    Deno.writeTextFileSync(lock, JSON.stringify({ pid: Deno.pid, time: Date.now() }));
    const started = Date.now();
    await assert.rejects(
      withFileLock(lock, () => "entered", { timeoutMs: 200 }),
      (err: Error) =>
        err instanceof LockTimeoutError &&
        err.message.includes(`held by process ${Deno.pid}`) &&
        err.message.includes("delete that file"),
    );
    assert.ok(Date.now() - started < 2000, "the wait is bounded");
    assert.ok(Deno.statSync(lock).isFile, "someone else's lock is left alone");
  });
});

Deno.test("a lock whose owner died is taken over at once", async () => {
  await withTempDir(async (dir) => {
    const lock = `${dir}/l`;
    const pid = await deadPid();
    assert.equal(isAlive(pid), false);
    Deno.writeTextFileSync(lock, JSON.stringify({ pid, time: Date.now() }));
    assert.equal(await withFileLock(lock, () => "entered", { timeoutMs: 200 }), "entered");
    assert.deepEqual([...Deno.readDirSync(dir)], [], "no stale leftovers");
  });
});

Deno.test("a lock older than the stale limit is taken over even if its pid lives", async () => {
  await withTempDir(async (dir) => {
    const lock = `${dir}/l`;
    Deno.writeTextFileSync(lock, JSON.stringify({ pid: Deno.pid, time: Date.now() - 11_000 }));
    assert.equal(await withFileLock(lock, () => "entered", { timeoutMs: 200 }), "entered");
  });
});

Deno.test("a holder that overran and lost its lock does not delete the new owner's", async () => {
  await withTempDir(async (dir) => {
    const lock = `${dir}/l`;
    await withFileLock(lock, () => {
      // While we hold it, someone judges us stale and takes over.
      Deno.removeSync(lock);
      Deno.writeTextFileSync(lock, JSON.stringify({ pid: 1, time: Date.now(), token: "theirs" }));
    });
    assert.equal(JSON.parse(Deno.readTextFileSync(lock)).token, "theirs");
  });
});

Deno.test("waiters are served one at a time", async () => {
  await withTempDir(async (dir) => {
    const lock = `${dir}/l`;
    let inside = 0;
    let maxInside = 0;
    await Promise.all(Array.from({ length: 8 }, () =>
      withFileLock(lock, async () => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        await new Promise((r) => setTimeout(r, 5));
        inside--;
      })));
    assert.equal(maxInside, 1);
  });
});

Deno.test("isAlive tells live processes from dead ones", async () => {
  assert.equal(isAlive(Deno.pid), true);
  assert.equal(isAlive(await deadPid()), false);
});
