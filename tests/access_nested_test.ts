/**
 * A deeply nested `access.json` (issue 10, defect 10) fails closed with a
 * clear "nested too deeply" reason everywhere it is read: the parser, the
 * bridge (stderr), the tools' results and `deno task access status`, instead
 * of overflowing the stack.
 */
import assert from "node:assert/strict";
import { findExcessiveNesting, MAX_JSON_DEPTH } from "../lib/access/json_error.ts";
import { parseAccessJson } from "../lib/access/parse.ts";
import { runTask } from "./helpers/tasks.ts";
import { makeWorld } from "./helpers/world.ts";

const e2e = { sanitizeOps: false, sanitizeResources: false };
const DEPTH = 100_000;
/** An object whose one unknown key holds 100,000 nested arrays. */
const DEEP = `{"dmPolicy": "allowlist", "x": ${"[".repeat(DEPTH)}${"]".repeat(DEPTH)}}`;
const TOO_DEEP = /nested too deeply \(more than 64 levels/;

const nest = (levels: number) => "[".repeat(levels) + "]".repeat(levels);

Deno.test("the parser refuses deep nesting with its position, and accepts the limit itself", () => {
  for (
    const text of [
      DEEP,
      nest(DEPTH),
      `{"x": ${"[".repeat(DEPTH)}`, // unterminated as well
      `{"x": ${'{"a":'.repeat(DEPTH)}1${"}".repeat(DEPTH)}}`,
    ]
  ) {
    const r = parseAccessJson(text, "/s/access.json");
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error, /^\/s\/access\.json is nested too deeply/);
  }
  const at = parseAccessJson(`{\n  "x": ${nest(DEPTH)}}`, "a");
  assert.ok(!at.ok && /at line 2, column 71\)/.test(at.error), !at.ok ? at.error : "");
  // The top-level object is level 1: 63 more levels are fine, 64 are not.
  assert.equal(parseAccessJson(`{"x": ${nest(MAX_JSON_DEPTH - 1)}}`, "a").ok, true);
  assert.equal(parseAccessJson(`{"x": ${nest(MAX_JSON_DEPTH)}}`, "a").ok, false);
});

Deno.test("brackets inside strings do not count as nesting", () => {
  const inString = JSON.stringify({ x: "[".repeat(1000), y: '\\"[[[', z: "{".repeat(1000) });
  assert.equal(findExcessiveNesting(inString), undefined);
  assert.equal(parseAccessJson(inString, "a").ok, true);
});

async function withDeepStateDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "access_nested_" });
  const dir = `${root}/state`;
  Deno.mkdirSync(dir, { mode: 0o700 });
  Deno.writeTextFileSync(`${dir}/access.json`, DEEP);
  try {
    await fn(dir);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("`deno task access status` says nested too deeply; writes refuse until --fresh", async () => {
  await withDeepStateDir(async (dir) => {
    const env = { DISCORD_STATE_DIR: dir };
    const status = await runTask("access", ["status"], { env });
    assert.equal(status.code, 1);
    assert.equal(status.stdout, "");
    assert.match(status.stderr, TOO_DEEP);
    assert.doesNotMatch(status.stderr, /call stack/i);

    const write = await runTask("access", ["allow", "123456789012345678"], { env });
    assert.equal(write.code, 1);
    assert.match(write.stderr, TOO_DEEP);
    assert.equal(Deno.readTextFileSync(`${dir}/access.json`), DEEP, "left untouched");

    const fresh = await runTask("access", ["allow", "123456789012345678", "--fresh"], { env });
    assert.equal(fresh.code, 0, fresh.stderr);
    const saved = JSON.parse(Deno.readTextFileSync(`${dir}/access.json`));
    assert.deepEqual(saved.allowFrom, ["123456789012345678"]);
    const backups = [...Deno.readDirSync(dir)].filter((e) => e.name.includes(".corrupt-"));
    assert.equal(backups.length, 1);
  });
});

Deno.test(
  "the bridge fails closed on a deeply nested access.json, says why on stderr and in tool results, and keeps serving",
  e2e,
  async () => {
    const w = await makeWorld({});
    try {
      const path = `${w.stateDir}/access.json`;
      await Deno.writeTextFile(path, DEEP);
      w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: "lost?" });
      await w.bridge.waitForStderr(TOO_DEEP);
      const r = await w.bridge.call("reply", { chat_id: w.aliceDm, text: "x" });
      assert.equal(r.isError, true);
      assert.match(r.text, TOO_DEEP);
      assert.doesNotMatch(w.bridge.stderr(), /call stack/i);
      assert.equal(
        w.bridge.notifications.filter((n) => n.method === "notifications/claude/channel").length,
        0,
        "nothing is delivered while the file is unusable",
      );
      assert.equal(w.emu.messages(w.aliceDm).filter((m) => m.author.id === w.emu.bot.id).length, 0);

      // Still serving: fixing the file brings delivery back without a restart.
      await Deno.writeTextFile(
        path,
        JSON.stringify({ dmPolicy: "allowlist", allowFrom: [w.alice.id] }),
      );
      w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: "fixed" });
      await w.bridge.waitForNotification(
        "notifications/claude/channel",
        (p) => p.content === "fixed",
      );
    } finally {
      await w.dispose();
    }
  },
);
