import assert from "node:assert/strict";
import { AccessFileError, AccessStore, StaticModeError } from "../lib/access/store.ts";
import type { Access } from "../lib/access/schema.ts";
import { finish, spawnWithTaskPermissions } from "./helpers/tasks.ts";

const A = "111111111111111111";
const B = "222222222222222222";

/** Runs `fn` with a fresh temp state dir (not yet created) and removes it afterwards. */
async function withStateDir(fn: (stateDir: string) => void | Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "access_store_test_" });
  try {
    await fn(`${root}/state`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function quietStore(stateDir: string, mode: "live" | "static" = "live") {
  const warnings: string[] = [];
  const store = new AccessStore({ stateDir, mode, warn: (m) => warnings.push(m) });
  return { store, warnings };
}

function writeJson(stateDir: string, value: unknown): void {
  Deno.mkdirSync(stateDir, { recursive: true });
  Deno.writeTextFileSync(`${stateDir}/access.json`, JSON.stringify(value, null, 2));
}

function access(store: AccessStore): Access {
  const r = store.read();
  assert.ok(r.ok, r.ok ? "" : r.error);
  return r.access;
}

Deno.test("an absent file reads as defaults (pairing policy) and creates nothing", async () => {
  await withStateDir((dir) => {
    const { store } = quietStore(dir);
    const a = access(store);
    assert.equal(a.dmPolicy, "pairing");
    assert.deepEqual([a.allowFrom, a.groups, a.pending], [[], {}, {}]);
    assert.throws(() => Deno.statSync(dir), Deno.errors.NotFound);
  });
});

Deno.test("an edit is seen by the very next read, without a restart", async () => {
  await withStateDir((dir) => {
    const { store } = quietStore(dir);
    writeJson(dir, { dmPolicy: "allowlist", allowFrom: [A] });
    assert.deepEqual(access(store).allowFrom, [A]);
    assert.equal(store.read(), store.read(), "unchanged file: cached result");
    // Same size, same inode, rewritten in place at once: still detected.
    const file = `${dir}/access.json`;
    Deno.writeTextFileSync(file, Deno.readTextFileSync(file).replace(A, B));
    assert.deepEqual(access(store).allowFrom, [B]);
    Deno.writeTextFileSync(file, JSON.stringify({ dmPolicy: "disabled" }));
    assert.equal(access(store).dmPolicy, "disabled");
    Deno.removeSync(file);
    assert.equal(access(store).dmPolicy, "pairing", "deleted: back to defaults");
  });
});

Deno.test("reads are frozen so no caller can corrupt the shared cache", async () => {
  await withStateDir((dir) => {
    const { store } = quietStore(dir);
    const a = access(store);
    assert.throws(() => a.allowFrom.push(A), TypeError);
    assert.deepEqual(access(store).allowFrom, []);
  });
});

Deno.test("a corrupt file is reported with its line and column, logged once", async () => {
  await withStateDir((dir) => {
    Deno.mkdirSync(dir);
    Deno.writeTextFileSync(`${dir}/access.json`, '{\n  "dmPolicy": "allowlist",\n}\n');
    const { store, warnings } = quietStore(dir);
    for (let i = 0; i < 5; i++) {
      const r = store.read();
      assert.equal(r.ok, false);
      assert.match(
        r.ok ? "" : r.error,
        /access\.json is not valid JSON \(line 3, column 1: trailing comma before '\}'/,
      );
    }
    assert.equal(warnings.length, 1, "one log line, not one per message");
    assert.match(warnings[0], /ignoring all messages/);
  });
});

Deno.test("a schema violation names the offending key", async () => {
  await withStateDir((dir) => {
    writeJson(dir, { dmPolicy: "open", groups: { "1": { requireMention: "yes" } } });
    const r = quietStore(dir).store.read();
    assert.equal(r.ok, false);
    const error = r.ok ? "" : r.error;
    assert.match(error, /has invalid settings: dmPolicy: Invalid option/);
    assert.match(error, /groups\.1\.requireMention: Invalid input: expected boolean/);
  });
});

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("update never overwrites or deletes a corrupt file", async () => {
  await withStateDir(async (dir) => {
    Deno.mkdirSync(dir);
    const broken = '{"allowFrom": ["1"';
    Deno.writeTextFileSync(`${dir}/access.json`, broken);
    const { store } = quietStore(dir);
    await assert.rejects(
      store.update((a) => ({ ...a, allowFrom: [A] })),
      (err: Error) =>
        err instanceof AccessFileError && /left untouched/.test(err.message) &&
        /--fresh/.test(err.message),
    );
    assert.equal(Deno.readTextFileSync(`${dir}/access.json`), broken);
    assert.deepEqual(names(dir), ["access.json", "access.json.lock"], "no temp file, no backup");
  });
});

Deno.test("update with fresh backs a corrupt file up, then starts from defaults", async () => {
  await withStateDir(async (dir) => {
    Deno.mkdirSync(dir);
    Deno.writeTextFileSync(`${dir}/access.json`, "not json");
    const { store } = quietStore(dir);
    const result = await store.update((a) => ({ ...a, allowFrom: [A] }), { fresh: true });
    assert.ok(result.backupPath);
    assert.match(result.backupPath, /access\.json\.corrupt-\d+$/);
    assert.equal(Deno.readTextFileSync(result.backupPath), "not json");
    assert.equal(Deno.statSync(result.backupPath).mode! & 0o777, 0o600);
    assert.deepEqual(access(store).allowFrom, [A]);
    assert.equal(access(store).dmPolicy, "pairing");
  });
});

Deno.test("writes create the dir 0700 and the file 0600, leave no temp and the lock free", async () => {
  await withStateDir(async (dir) => {
    const { store } = quietStore(dir);
    const result = await store.update((a) => ({ ...a, allowFrom: [A] }));
    assert.equal(result.changed, true);
    assert.equal(Deno.statSync(dir).mode! & 0o777, 0o700);
    assert.equal(Deno.statSync(`${dir}/access.json`).mode! & 0o777, 0o600);
    // The lock file stays (an OS lock on it is the lock, not its existence).
    assert.deepEqual(names(dir), ["access.json", "access.json.lock"]);
    assert.equal(Deno.statSync(store.lockPath).mode! & 0o777, 0o600);
    const lock = Deno.openSync(store.lockPath, { read: true, write: true });
    assert.equal(lock.tryLockSync(true), true, "nobody holds it after the write");
    lock.close();
    const text = Deno.readTextFileSync(`${dir}/access.json`);
    assert.ok(text.startsWith('{\n  "dmPolicy": "pairing"'), "2-space JSON");
    assert.ok(text.endsWith("}\n"));
  });
});

Deno.test("unknown keys survive a write, top-level and nested", async () => {
  await withStateDir(async (dir) => {
    writeJson(dir, {
      futureSetting: { x: 1 },
      groups: { "923456789012345678": { requireMention: false, outputChannelIds: ["1"] } },
      pending: {
        abc123: { senderId: A, chatId: B, createdAt: 1, expiresAt: 9e15, replies: 1, note: "n" },
      },
    });
    const { store } = quietStore(dir);
    await store.update((a) => ({ ...a, allowFrom: [B] }));
    const saved = JSON.parse(Deno.readTextFileSync(`${dir}/access.json`));
    assert.deepEqual(saved.futureSetting, { x: 1 });
    assert.deepEqual(saved.groups["923456789012345678"].outputChannelIds, ["1"]);
    assert.equal(saved.pending.abc123.note, "n");
    assert.deepEqual(saved.allowFrom, [B]);
  });
});

Deno.test("a mutator returning null writes nothing; an invalid result is refused", async () => {
  await withStateDir(async (dir) => {
    const { store } = quietStore(dir);
    const r = await store.update(() => null);
    assert.equal(r.changed, false);
    assert.throws(() => Deno.statSync(`${dir}/access.json`), Deno.errors.NotFound);
    await assert.rejects(
      store.update((a) => ({ ...a, dmPolicy: "open" as "pairing" })),
      /refusing to write an invalid access\.json: dmPolicy/,
    );
    assert.throws(() => Deno.statSync(`${dir}/access.json`), Deno.errors.NotFound);
  });
});

Deno.test("parallel updates from two stores in one process all survive", async () => {
  await withStateDir(async (dir) => {
    // Two store instances, so they contend on the lock file, not just the queue.
    const stores = [quietStore(dir).store, quietStore(dir).store];
    const ids = Array.from(
      { length: 20 },
      (_, i) => `3000000000000000${String(i).padStart(2, "0")}`,
    );
    await Promise.all(
      ids.map((id, i) => stores[i % 2].update((a) => ({ ...a, allowFrom: [...a.allowFrom, id] }))),
    );
    assert.deepEqual([...access(stores[0]).allowFrom].sort(), ids);
  });
});

Deno.test("concurrent writer processes never lose each other's changes", async () => {
  await withStateDir(async (dir) => {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const perWorker = 40;
    // Launched with the permissions of the tasks that write access.json (the
    // bridge and the CLI); every worker waits for the same start instant,
    // then updates in a tight loop, so their read-modify-write cycles overlap.
    const startAt = String(Date.now() + 3000);
    const workers = [["start", "10"], ["start", "11"], ["access", "12"], ["access", "13"]].map((
      [task, n],
    ) =>
      finish(spawnWithTaskPermissions(
        task,
        "tests/helpers/access_writer.ts",
        [dir, "allow", "4000000000000" + n, String(perWorker), startAt],
        { env: { DISCORD_STATE_DIR: dir } },
      ))
    );
    const results = await Promise.all(workers);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const ids = access(quietStore(dir).store).allowFrom;
    assert.equal(ids.length, 4 * perWorker, `lost updates: got ${ids.length} of ${4 * perWorker}`);
    assert.equal(new Set(ids).size, 4 * perWorker);
  });
});

Deno.test("mention patterns are compiled; unsafe ones are skipped with one warning", async () => {
  await withStateDir((dir) => {
    writeJson(dir, { mentionPatterns: ["^claude\\b", "(a)\\1"] });
    const { store, warnings } = quietStore(dir);
    const r = store.read();
    assert.ok(r.ok);
    assert.deepEqual(r.mentionPatterns.map((p) => p.source), ["^claude\\b"]);
    assert.ok(r.mentionPatterns[0].test("CLAUDE, hi"));
    writeJson(dir, { mentionPatterns: ["^claude\\b", "(a)\\1"], allowFrom: [A] });
    store.read();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /"\(a\)\\\\1" uses a backreference.*skipped/);
  });
});

Deno.test("keys inside a group other than requireMention/allowFrom are warned about once", async () => {
  await withStateDir((dir) => {
    writeJson(dir, { groups: { "923456789012345678": { mentionPatterns: ["x"] } } });
    const { store, warnings } = quietStore(dir);
    store.read();
    writeJson(dir, { groups: { "923456789012345678": { mentionPatterns: ["x"] } }, a: 1 });
    store.read();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /groups\["923456789012345678"\]\.mentionPatterns is ignored/);
    assert.match(warnings[0], /top-level keys/);
  });
});

Deno.test("static mode: snapshot at start, pairing downgraded once, writes refused", async () => {
  await withStateDir(async (dir) => {
    writeJson(dir, {
      allowFrom: [A],
      pending: { abc123: { senderId: B, chatId: B, createdAt: 1, expiresAt: 9e15 } },
    });
    const { store, warnings } = quietStore(dir, "static");
    writeJson(dir, { dmPolicy: "disabled", allowFrom: [] });
    for (let i = 0; i < 3; i++) {
      const a = access(store);
      assert.equal(a.dmPolicy, "allowlist");
      assert.deepEqual(a.allowFrom, [A]);
      assert.deepEqual(a.pending, {});
    }
    assert.deepEqual(warnings, ['static mode: dmPolicy "pairing" downgraded to "allowlist"']);
    await assert.rejects(store.update((a) => a), StaticModeError);
    assert.equal(JSON.parse(Deno.readTextFileSync(`${dir}/access.json`)).dmPolicy, "disabled");
  });
});

Deno.test("static mode with a corrupt file stays an error (the caller fails closed)", async () => {
  await withStateDir((dir) => {
    Deno.mkdirSync(dir);
    Deno.writeTextFileSync(`${dir}/access.json`, "{");
    const { store } = quietStore(dir, "static");
    writeJson(dir, {});
    assert.equal(store.read().ok, false);
  });
});
