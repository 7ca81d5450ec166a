/**
 * The `access.json` lock as shipped: every process here is launched with
 * exactly the permissions of a `deno.json` task (`deno task access …`, or a
 * writer under the flags of `start` / `access`, see tests/helpers/tasks.ts),
 * never with `-A`. Under those permissions a live holder must be honoured:
 * no update is lost, and no write undoes another.
 */
import assert from "node:assert/strict";
import {
  finish,
  runTask,
  spawnTask,
  spawnWithTaskPermissions,
  type TaskRun,
} from "./helpers/tasks.ts";
import { makeWorld } from "./helpers/world.ts";

const WRITER = "tests/helpers/access_writer.ts";

async function withStateDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "access_lock_tasks_" });
  try {
    await fn(`${root}/state`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function readAccess(dir: string) {
  return JSON.parse(Deno.readTextFileSync(`${dir}/access.json`));
}

const cli = (dir: string, ...args: string[]) =>
  runTask("access", args, { env: { DISCORD_STATE_DIR: dir } });

const ok = (r: TaskRun, what: string) => assert.equal(r.code, 0, `${what}: ${r.stderr}`);

Deno.test("20 concurrent `deno task access allow` all succeed and all 20 ids survive", async () => {
  await withStateDir(async (dir) => {
    const ids = Array.from(
      { length: 20 },
      (_, i) => `5000000000000000${String(i).padStart(2, "0")}`,
    );
    const runs = await Promise.all(
      ids.map((id) =>
        finish(spawnTask(["access", "allow", id], { env: { DISCORD_STATE_DIR: dir } }))
      ),
    );
    runs.forEach((r, i) => {
      ok(r, `allow ${ids[i]}`);
      assert.equal(r.stdout, `Allowed user ${ids[i]}.\n`);
    });
    const saved: string[] = readAccess(dir).allowFrom;
    assert.deepEqual([...saved].sort(), ids, `lost: ${ids.filter((id) => !saved.includes(id))}`);
  });
});

Deno.test("a writer under `start` permissions and one under `access` permissions lose none of 600 updates", async () => {
  await withStateDir(async (dir) => {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const perWriter = 300;
    // Both wait for the same instant after their (slow) start, so their
    // read-modify-write cycles really overlap.
    const startAt = String(Date.now() + 4000);
    const env = { DISCORD_STATE_DIR: dir };
    const writers = [
      spawnWithTaskPermissions("start", WRITER, [
        dir,
        "allow",
        "41000000000000",
        String(perWriter),
        startAt,
      ], { env }),
      spawnWithTaskPermissions("access", WRITER, [
        dir,
        "allow",
        "42000000000000",
        String(perWriter),
        startAt,
      ], { env }),
    ];
    const runs = await Promise.all(writers.map(finish));
    for (const r of runs) {
      ok(r, "writer");
      assert.equal(r.stdout.trim(), String(perWriter));
    }
    const saved: string[] = readAccess(dir).allowFrom;
    assert.equal(saved.length, 2 * perWriter, `lost ${2 * perWriter - saved.length} updates`);
    assert.equal(new Set(saved).size, 2 * perWriter);
  });
});

Deno.test("`access remove` is not undone by the bridge's concurrent pairing writes", async () => {
  await withStateDir(async (dir) => {
    const victims = Array.from(
      { length: 8 },
      (_, i) => `6000000000000000${String(i).padStart(2, "0")}`,
    );
    const keep = "699999999999999999";
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    Deno.writeTextFileSync(
      `${dir}/access.json`,
      JSON.stringify({
        dmPolicy: "pairing",
        allowFrom: [...victims, keep],
        groups: {},
        pending: {},
      }),
      { mode: 0o600 },
    );
    const stopFile = `${dir}/../stop`;
    // The pairing writer runs with the bridge's sandbox (`deno task start`).
    const writer = spawnWithTaskPermissions(
      "start",
      WRITER,
      [dir, "pairing", stopFile, "0"],
      { env: { DISCORD_STATE_DIR: dir } },
    );
    try {
      // Wait until it is writing, then remove the victims two at a time.
      const deadline = Date.now() + 30_000;
      while (Object.keys(readAccess(dir).pending).length === 0) {
        assert.ok(Date.now() < deadline, "the pairing writer never wrote");
        await new Promise((r) => setTimeout(r, 20));
      }
      for (let i = 0; i < victims.length; i += 2) {
        const pair = await Promise.all(victims.slice(i, i + 2).map((id) => cli(dir, "remove", id)));
        pair.forEach((r, j) => {
          ok(r, "remove");
          assert.equal(r.stdout, `Removed user ${victims[i + j]} from the allowlist.\n`);
        });
      }
    } finally {
      Deno.writeTextFileSync(stopFile, "");
    }
    const run = await finish(writer);
    ok(run, "pairing writer");
    assert.ok(Number(run.stdout) > 0, "the pairing writer made updates");
    assert.deepEqual(readAccess(dir).allowFrom, [keep]);
  });
});

Deno.test(
  "the bridge (launched as .mcp.json does) records pairing codes while 10 `access allow` run: nothing is lost",
  { sanitizeOps: false, sanitizeResources: false },
  async () => {
    const w = await makeWorld({ access: { dmPolicy: "pairing" } });
    try {
      const strangers = [
        w.mallory,
        w.emu.addUser({ username: "s2" }),
        w.emu.addUser({ username: "s3" }),
      ]
        .map((u) => ({ id: u.id, dm: w.emu.dmChannel(u.id).id }));
      const ids = Array.from(
        { length: 10 },
        (_, i) => `7100000000000000${String(i).padStart(2, "0")}`,
      );
      const env = { DISCORD_STATE_DIR: w.stateDir };
      const clis = ids.map((id) => finish(spawnTask(["access", "allow", id], { env })));
      // Each stranger writes twice (a code, then its one reminder): six bridge writes.
      for (const round of ["hello", "still there?"]) {
        for (const s of strangers) {
          w.emu.sendMessage({ channelId: s.dm, authorId: s.id, content: round });
        }
        await w.emu.waitFor(
          () =>
            strangers.every((s) =>
              w.emu.messages(s.dm).filter((m) => m.author.id === w.emu.bot.id).length >=
                (round === "hello" ? 1 : 2)
            ),
          { timeoutMs: 30_000 },
        );
      }
      for (const r of await Promise.all(clis)) ok(r, "allow");
      const saved = readAccess(w.stateDir);
      assert.deepEqual([...saved.allowFrom].sort(), [w.alice.id, ...ids].sort());
      for (const s of strangers) {
        const sent = w.emu.messages(s.dm).filter((m) => m.author.id === w.emu.bot.id);
        const code = /pair ([0-9a-f]{6})/.exec(sent[0].content)?.[1];
        assert.ok(code, sent[0].content);
        assert.equal(saved.pending[code]?.senderId, s.id, `code ${code} of ${s.id} was lost`);
        assert.equal(saved.pending[code].replies, 2, "the reminder's write was kept");
      }
    } finally {
      await w.dispose();
    }
  },
);
