import assert from "node:assert/strict";
import { LockTimeoutError, readLockNote, withFileLock } from "../lib/access/lock.ts";
import { REPO, runTask, spawnWithTaskPermissions } from "./helpers/tasks.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "access_lock_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Whether the lock at `path` can be taken at once (from another descriptor). */
function isFree(path: string): boolean {
  const f = Deno.openSync(path, { read: true, write: true });
  try {
    const got = f.tryLockSync(true);
    if (got) f.unlockSync();
    return got;
  } finally {
    f.close();
  }
}

/** Reads the first line a child prints, then lets the rest of its output go. */
async function firstLine(child: Deno.ChildProcess): Promise<string> {
  void child.stderr.cancel();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  void reader.cancel();
  return text.split("\n")[0];
}

Deno.test("while held the lock is an OS lock noting pid and time; after release it is free", async () => {
  await withTempDir(async (dir) => {
    const lock = `${dir}/access.json.lock`;
    const seen = await withFileLock(lock, () => ({ note: readLockNote(lock), free: isFree(lock) }));
    assert.equal(seen.note?.pid, Deno.pid);
    assert.ok(Math.abs(seen.note!.since - Date.now()) < 5000);
    assert.equal(seen.free, false, "another descriptor cannot take it");
    assert.equal(isFree(lock), true);
    assert.equal(Deno.statSync(lock).mode! & 0o777, 0o600);
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
    assert.equal(await withFileLock(lock, () => "again", { timeoutMs: 100 }), "again");
  });
});

Deno.test("a live holder makes waiters time out with a clear, bounded error", async () => {
  await withTempDir(async (dir) => {
    const lock = `${dir}/access.json.lock`;
    await withFileLock(lock, async () => {
      const started = Date.now();
      await assert.rejects(
        withFileLock(lock, () => "entered", { timeoutMs: 200 }),
        (err: Error) =>
          err instanceof LockTimeoutError &&
          err.message.includes(`held by process ${Deno.pid}`),
      );
      assert.ok(Date.now() - started < 2000, "the wait is bounded");
    });
  });
});

Deno.test("lock files left by the old O_EXCL scheme, even naming a live pid, do not block", async () => {
  await withTempDir(async (dir) => {
    const lock = `${dir}/access.json.lock`;
    for (const body of [JSON.stringify({ pid: Deno.pid, time: Date.now() }), "", "garbage"]) {
      Deno.writeTextFileSync(lock, body);
      assert.equal(await withFileLock(lock, () => "entered", { timeoutMs: 100 }), "entered");
    }
  });
});

Deno.test("waiters in one process are served one at a time", async () => {
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

Deno.test("a slow live holder in the bridge's sandbox is waited for by `deno task access`", async () => {
  await withTempDir(async (root) => {
    const dir = `${root}/state`;
    Deno.mkdirSync(dir, { mode: 0o700 });
    Deno.writeTextFileSync(`${dir}/access.json`, JSON.stringify({ allowFrom: [] }));
    const env = { DISCORD_STATE_DIR: dir };
    const holder = spawnWithTaskPermissions(
      "start",
      "tests/helpers/access_writer.ts",
      [dir, "slow", "111111111111111111", "1500"],
      { env },
    );
    assert.match(await firstLine(holder), /^held \d+$/);
    const cli = await runTask("access", ["allow", "222222222222222222"], { env });
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal((await holder.status).code, 0);
    const saved = JSON.parse(Deno.readTextFileSync(`${dir}/access.json`)).allowFrom;
    assert.deepEqual(saved, ["111111111111111111", "222222222222222222"]);
  });
});

Deno.test("a holder killed with SIGKILL leaves no lock behind", async () => {
  await withTempDir(async (root) => {
    const dir = `${root}/state`;
    Deno.mkdirSync(dir, { mode: 0o700 });
    Deno.writeTextFileSync(`${dir}/access.json`, JSON.stringify({ allowFrom: [] }));
    const env = { DISCORD_STATE_DIR: dir };
    const holder = spawnWithTaskPermissions(
      "access",
      "tests/helpers/access_writer.ts",
      [dir, "slow", "111111111111111111", "60000"],
      { env },
    );
    const writerPid = Number(/^held (\d+)$/.exec(await firstLine(holder))?.[1]);
    assert.ok(writerPid > 0);
    assert.equal(isFree(`${dir}/access.json.lock`), false);
    Deno.kill(writerPid, "SIGKILL");
    await holder.status;
    const cli = await runTask("access", ["allow", "222222222222222222"], { env });
    assert.equal(cli.code, 0, cli.stderr);
  });
});

Deno.test("a writer that may not open the lock file fails with the permission error and writes nothing", async () => {
  await withTempDir(async (root) => {
    const dir = `${root}/state`;
    Deno.mkdirSync(dir, { mode: 0o700 });
    const before = JSON.stringify({ allowFrom: ["1"] });
    Deno.writeTextFileSync(`${dir}/access.json`, before);
    // Deliberately narrower than any task (reads only): the lock cannot be
    // opened, and that must never be taken as "free".
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--no-prompt",
        "--allow-read",
        "tests/helpers/access_writer.ts",
        dir,
        "allow",
        "9000000000000",
        "1",
        "0",
      ],
      cwd: REPO,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.notEqual(r.code, 0);
    assert.match(new TextDecoder().decode(r.stderr), /NotCapable|write access/);
    assert.equal(Deno.readTextFileSync(`${dir}/access.json`), before);
  });
});
