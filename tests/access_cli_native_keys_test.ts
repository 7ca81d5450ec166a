/**
 * The access.json keys of the Discord-native features (issue 14) are set,
 * shown and unset through `deno task access`, launched as users run it, and
 * validated by the same schema the bridge reads the file with.
 */
import assert from "node:assert/strict";
import { parseAccessArgs } from "../lib/access/cli_args.ts";
import { runTask } from "./helpers/tasks.ts";

async function withState(
  fn: (access: (...args: string[]) => ReturnType<typeof runTask>, dir: string) => Promise<void>,
) {
  const root = await Deno.makeTempDir({ prefix: "access_native_keys_" });
  const dir = `${root}/state`;
  const access = (...args: string[]) =>
    runTask("access", args, { env: { DISCORD_STATE_DIR: dir, HOME: root } });
  try {
    await fn(access, dir);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

const readAccess = (dir: string) => JSON.parse(Deno.readTextFileSync(`${dir}/access.json`));

Deno.test("deno task access: set, status and unset the native keys", async () => {
  await withState(async (access, dir) => {
    const sets: [string, string, unknown][] = [
      ["maxReplyMessages", "4", 4],
      ["reactionEvents", "false", false],
      ["editEvents", "false", false],
      ["statusReactions", "true", true],
    ];
    for (const [key, raw, value] of sets) {
      const r = await access("set", key, raw);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`${key} = ${JSON.stringify(value)}`));
      assert.deepEqual(readAccess(dir)[key], value);
    }
    const custom = await access("set", "statusReactions", '{"delivered":"👀","failed":""}');
    assert.equal(custom.code, 0, custom.stderr);
    assert.deepEqual(readAccess(dir).statusReactions, { delivered: "👀", failed: "" });

    const status = await access("status");
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /maxReplyMessages\s+4\n/);
    assert.match(status.stdout, /reactionEvents\s+false\n/);
    assert.match(status.stdout, /editEvents\s+false\n/);
    assert.match(status.stdout, /statusReactions\s+\{"delivered":"👀","failed":""\}\n/);

    const unset = await access("unset", "statusReactions");
    assert.equal(unset.code, 0, unset.stderr);
    assert.equal(readAccess(dir).statusReactions, undefined);
  });
});

Deno.test("deno task access: bad native values are refused with a reason, nothing written", async () => {
  await withState(async (access, dir) => {
    const bad: [string, string, RegExp][] = [
      ["maxReplyMessages", "1", /maxReplyMessages/],
      ["maxReplyMessages", "51", /maxReplyMessages/],
      ["maxReplyMessages", "eight", /whole number/],
      ["reactionEvents", "yes", /true or false/],
      ["editEvents", "1", /true or false/],
      ["statusReactions", "on", /statusReactions must be true/],
      ["statusReactions", '{"seen":"👀"}', /statusReactions must be true/],
      ["statusReactions", '{"delivered":7}', /statusReactions must be true/],
      ["statusReactions", '["👀"]', /statusReactions must be true/],
      ["statusReactions", '{"replied":"thumbs up"}', /statusReactions\.replied must be one emoji/],
    ];
    for (const [key, raw, reason] of bad) {
      const r = await access("set", key, raw);
      assert.equal(r.code, 2, `${key} ${raw}: ${r.stdout}`);
      assert.match(r.stderr, reason, `${key} ${raw}`);
    }
    let exists = true;
    try {
      Deno.statSync(`${dir}/access.json`);
    } catch {
      exists = false;
    }
    assert.equal(exists, false, "no refused value reached access.json");
  });
});

Deno.test("deno task access: set --help lists the native keys", async () => {
  const r = await runTask("access", ["set", "--help"]);
  assert.equal(r.code, 0, r.stderr);
  for (const key of ["maxReplyMessages", "statusReactions", "reactionEvents", "editEvents"]) {
    assert.match(r.stdout, new RegExp(`^  ${key} `, "m"));
  }
});

Deno.test("set parses the native keys through the schema", () => {
  const value = (...args: string[]) => {
    const p = parseAccessArgs(["set", ...args]);
    return p.ok && p.command.verb === "set" ? p.command.value : p.ok ? undefined : p.error;
  };
  assert.equal(value("maxReplyMessages", "2"), 2);
  assert.equal(value("maxReplyMessages", "50"), 50);
  assert.equal(value("statusReactions", "false"), false);
  assert.deepEqual(value("statusReactions", '{"replied":"<:ok:123456789012345678>"}'), {
    replied: "<:ok:123456789012345678>",
  });
  assert.equal(value("editEvents", "true"), true);
});
