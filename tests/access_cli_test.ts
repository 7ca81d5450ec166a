import assert from "node:assert/strict";
import { runAccessCli } from "../lib/access/cli.ts";
import { AccessStore } from "../lib/access/store.ts";
import { decidePairing, PAIRING_CODE_TTL_MS } from "../lib/access/pairing.ts";
import { runTask } from "./helpers/tasks.ts";

const USER = "123456789012345678";
const USER2 = "223456789012345678";
const DM = "923456789012345678";
const CHANNEL = "823456789012345678";
const TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.abcdefghijklmnopqrstuvwxyz0123456789AB";

interface Run {
  code: number;
  out: string;
  err: string;
}

/** A temp state dir plus a `cli(...args)` runner bound to it. */
async function withCli(
  fn: (ctx: { dir: string; cli: (...args: string[]) => Promise<Run> }) => Promise<void>,
  options: { now?: () => number; stdin?: string } = {},
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "access_cli_test_" });
  const dir = `${root}/state`;
  const cli = async (...args: string[]): Promise<Run> => {
    let out = "";
    let err = "";
    const code = await runAccessCli(args, {
      env: { DISCORD_STATE_DIR: dir, HOME: root },
      stdout: (s) => out += s,
      stderr: (s) => err += s,
      now: options.now,
      readStdin: () => Promise.resolve(options.stdin ?? ""),
      stdinIsTerminal: () => false,
    });
    return { code, out, err };
  };
  try {
    await fn({ dir, cli });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function readAccess(dir: string) {
  return JSON.parse(Deno.readTextFileSync(`${dir}/access.json`));
}

/** Puts a pending pairing code in place the way the bridge would. */
async function seedPairing(dir: string, now: number): Promise<string> {
  let code = "";
  await new AccessStore({ stateDir: dir, warn: () => {} }).update((a) => {
    const d = decidePairing(a, { senderId: USER, chatId: DM }, { now });
    assert.equal(d.action, "send_code");
    if (d.action === "send_code") code = d.code;
    return d.access;
  });
  return code;
}

Deno.test("status on a fresh install shows defaults and creates nothing", async () => {
  await withCli(async ({ dir, cli }) => {
    for (const r of [await cli(), await cli("status")]) {
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /not created yet; showing defaults/);
      assert.match(r.out, /DM policy: pairing/);
      assert.match(r.out, /Allowed users \(0\)/);
      assert.match(r.out, /Pending pairing codes \(0\)/);
    }
    assert.throws(() => Deno.statSync(dir), Deno.errors.NotFound);
  });
});

Deno.test("help: top level, per verb, and usage errors exit 2 pointing at --help", async () => {
  await withCli(async ({ dir, cli }) => {
    const top = await cli("--help");
    assert.equal(top.code, 0);
    for (const verb of ["status", "pair", "deny", "allow", "remove", "policy", "group", "set"]) {
      assert.match(top.out, new RegExp(`\\n  ${verb}\\b`));
    }
    const pair = await cli("pair", "--help");
    assert.equal(pair.code, 0);
    assert.match(pair.out, /Usage: deno task access pair <code>/);

    const unknown = await cli("approve", "x");
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown command 'approve'/);
    assert.match(unknown.err, /Run 'deno task access --help'/);
    const bad = await cli("allow", "bob");
    assert.equal(bad.code, 2);
    assert.match(bad.err, /'bob' is not a Discord user ID/);
    assert.match(bad.err, /deno task access allow --help/);
    assert.throws(() => Deno.statSync(dir), Deno.errors.NotFound, "usage errors write nothing");
  });
});

Deno.test("pair approves a pending code and queues the confirmation DM", async () => {
  const t0 = Date.now();
  await withCli(async ({ dir, cli }) => {
    const code = await seedPairing(dir, t0 - 5 * 60_000);
    const status = await cli("status");
    assert.match(
      status.out,
      new RegExp(`${code}  from user ${USER}, asked 5m ago, expires in 55m`),
    );

    const r = await cli("pair", code.toUpperCase());
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`Approved user ${USER}`));
    assert.match(r.out, /bridge will DM them a confirmation/);
    const saved = readAccess(dir);
    assert.deepEqual(saved.allowFrom, [USER]);
    assert.deepEqual(saved.pending, {});
    assert.equal(Deno.readTextFileSync(`${dir}/approved/${USER}`).trim(), DM);

    const again = await cli("pair", code);
    assert.equal(again.code, 1);
    assert.match(again.err, /no pending pairing code/);
    assert.match(again.err, /status' to list pending codes/);
  }, { now: () => t0 });
});

Deno.test("pair refuses an expired code; deny removes a code without allowing", async () => {
  const t0 = Date.now();
  await withCli(async ({ dir, cli }) => {
    const code = await seedPairing(dir, t0 - PAIRING_CODE_TTL_MS - 1000);
    const status = await cli("status");
    assert.match(status.out, /expired 1s ago/);
    const r = await cli("pair", code);
    assert.equal(r.code, 1);
    assert.match(r.err, /expired/);
    assert.deepEqual(readAccess(dir).allowFrom, []);
    assert.throws(() => Deno.statSync(`${dir}/approved`), Deno.errors.NotFound);

    const d = await cli("deny", code);
    assert.equal(d.code, 0, d.err);
    assert.match(d.out, new RegExp(`Denied code ${code} \\(from user ${USER}\\)`));
    assert.deepEqual(readAccess(dir).pending, {});
    assert.deepEqual(readAccess(dir).allowFrom, []);
  }, { now: () => t0 });
});

Deno.test("allow / remove / policy edit the file and say when nothing changed", async () => {
  await withCli(async ({ dir, cli }) => {
    assert.match((await cli("allow", USER)).out, /Allowed user/);
    assert.match((await cli("allow", USER)).out, /already allowed; nothing changed/);
    assert.match((await cli("allow", USER2)).out, /Allowed user/);
    assert.deepEqual(readAccess(dir).allowFrom, [USER, USER2]);
    assert.match((await cli("remove", USER)).out, /Removed user/);
    const missing = await cli("remove", USER);
    assert.equal(missing.code, 0);
    assert.match(missing.out, /was not on the allowlist; nothing changed/);
    assert.deepEqual(readAccess(dir).allowFrom, [USER2]);
    assert.match((await cli("policy", "allowlist")).out, /DM policy is now allowlist/);
    assert.equal(readAccess(dir).dmPolicy, "allowlist");
    assert.match((await cli("status")).out, /DM policy: allowlist \(only allowed users/);
  });
});

Deno.test("group add replaces the whole entry; group rm removes it", async () => {
  await withCli(async ({ dir, cli }) => {
    Deno.mkdirSync(dir, { recursive: true });
    Deno.writeTextFileSync(
      `${dir}/access.json`,
      JSON.stringify({ groups: { [CHANNEL]: { requireMention: true, stale: 1 } } }),
    );
    const r = await cli("group", "add", CHANNEL, "--no-mention", "--allow", `${USER},${USER2}`);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /users .* on every message/);
    assert.deepEqual(readAccess(dir).groups[CHANNEL], {
      requireMention: false,
      allowFrom: [USER, USER2],
    });
    assert.match((await cli("status")).out, new RegExp(`${CHANNEL}  every message, only users`));
    assert.match((await cli("group", "rm", CHANNEL)).out, /removed/);
    assert.deepEqual(readAccess(dir).groups, {});
    assert.match((await cli("group", "rm", CHANNEL)).out, /was not configured; nothing changed/);
  });
});

Deno.test("set and unset delivery keys, shown by status", async () => {
  await withCli(async ({ dir, cli }) => {
    const sets: [string, string, unknown][] = [
      ["ackReaction", "👀", "👀"],
      ["replyToMode", "all", "all"],
      ["textChunkLimit", "1500", 1500],
      ["chunkMode", "newline", "newline"],
      ["mentionPatterns", '["^claude\\\\b"]', ["^claude\\b"]],
      ["permissionPrompts", "both", "both"],
      ["permissionTimeoutSeconds", "300", 300],
    ];
    for (const [key, raw, value] of sets) {
      const r = await cli("set", key, raw);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(readAccess(dir)[key], value);
    }
    const status = (await cli("status")).out;
    assert.match(status, /textChunkLimit\s+1500/);
    assert.match(status, /Mention patterns \(1\):\n {2}"\^claude\\\\b"/);
    assert.match((await cli("set", "ackReaction", "")).out, /ackReaction = ""/);
    assert.match((await cli("status")).out, /ackReaction\s+"" \(disabled\)/);
    assert.match((await cli("unset", "textChunkLimit")).out, /unset; the default applies/);
    assert.equal("textChunkLimit" in readAccess(dir), false);
    assert.match((await cli("unset", "textChunkLimit")).out, /was not set; nothing changed/);
    const unsafe = await cli("set", "mentionPatterns", '["(a)\\\\1"]');
    assert.equal(unsafe.code, 2);
    assert.match(unsafe.err, /uses a backreference/);
    assert.deepEqual(readAccess(dir).mentionPatterns, ["^claude\\b"]);
  });
});

Deno.test("a corrupt file: status explains and fails, writes refuse, --fresh backs up", async () => {
  await withCli(async ({ dir, cli }) => {
    Deno.mkdirSync(dir, { recursive: true });
    const broken = '{\n  "allowFrom": ["123456789012345678",]\n}\n';
    Deno.writeTextFileSync(`${dir}/access.json`, broken);

    const status = await cli("status");
    assert.equal(status.code, 1);
    assert.match(status.err, /line 2, column 38: trailing comma before '\]'/);
    assert.match(status.err, /the bridge ignores every message/);
    assert.match(status.err, /--fresh/);
    assert.equal(status.err.match(/not valid JSON/g)?.length, 1, "reported once");

    const write = await cli("allow", USER2);
    assert.equal(write.code, 1);
    assert.match(write.err, /left untouched/);
    assert.equal(Deno.readTextFileSync(`${dir}/access.json`), broken);

    const fresh = await cli("allow", USER2, "--fresh");
    assert.equal(fresh.code, 0, fresh.err);
    const backups = [...Deno.readDirSync(dir)].filter((e) => e.name.includes(".corrupt-"));
    assert.equal(backups.length, 1);
    assert.equal(Deno.readTextFileSync(`${dir}/${backups[0].name}`), broken);
    assert.match(fresh.err, /kept as .*access\.json\.corrupt-\d+/);
    assert.deepEqual(readAccess(dir).allowFrom, [USER2]);
  });
});

Deno.test("configure stores the token 0600 in .env, keeps other lines, never echoes it", async () => {
  await withCli(async ({ dir, cli }) => {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o755 });
    Deno.writeTextFileSync(
      `${dir}/.env`,
      "# mine\nDISCORD_API_URL=http://localhost:1\nexport DISCORD_BOT_TOKEN=old\nX=1\n",
    );
    const r = await cli("configure", TOKEN);
    assert.equal(r.code, 0, r.err);
    assert.ok(!r.out.includes(TOKEN) && !r.err.includes(TOKEN), "token echoed");
    assert.match(r.err, /stays in your shell history; run .* configure' without it/);
    assert.match(r.out, /MTIz…9AB \(\d+ characters\)|MTIz…89AB \(\d+ characters\)/);
    assert.equal(
      Deno.readTextFileSync(`${dir}/.env`),
      `# mine\nDISCORD_API_URL=http://localhost:1\nDISCORD_BOT_TOKEN=${TOKEN}\nX=1\n`,
    );
    assert.equal(Deno.statSync(`${dir}/.env`).mode! & 0o777, 0o600);
  });
});

Deno.test("configure creates the state dir 0700 and reads - from stdin", async () => {
  await withCli(async ({ dir, cli }) => {
    const r = await cli("configure", "-");
    assert.equal(r.code, 0, r.err);
    assert.equal(Deno.statSync(dir).mode! & 0o777, 0o700);
    assert.equal(Deno.readTextFileSync(`${dir}/.env`), `DISCORD_BOT_TOKEN=${TOKEN}\n`);
    assert.ok(!r.out.includes(TOKEN));
  }, { stdin: `${TOKEN}\n` });
  await withCli(async ({ dir, cli }) => {
    const r = await cli("configure", "-");
    assert.equal(r.code, 2);
    assert.match(r.err, /does not look like a Discord bot token/);
    assert.ok(!r.err.includes("oops-secret"));
    assert.throws(() => Deno.statSync(`${dir}/.env`), Deno.errors.NotFound);
  }, { stdin: "oops-secret\n" });
});

Deno.test("the state dir is resolved as the bridge does (HOME fallback)", async () => {
  const home = await Deno.makeTempDir({ prefix: "access_cli_home_" });
  try {
    let out = "";
    const code = await runAccessCli(["allow", USER], {
      env: { HOME: home },
      stdout: (s) => out += s,
      stderr: () => {},
    });
    assert.equal(code, 0);
    const saved = JSON.parse(
      Deno.readTextFileSync(`${home}/.claude/channels/discord/access.json`),
    );
    assert.deepEqual(saved.allowFrom, [USER]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("end to end as `deno task access`: exit codes, stdout and stderr", async () => {
  const root = await Deno.makeTempDir({ prefix: "access_cli_e2e_" });
  const run = async (...args: string[]) => {
    const r = await runTask("access", args, { env: { DISCORD_STATE_DIR: `${root}/state` } });
    return { code: r.code, out: r.stdout, err: r.stderr };
  };
  try {
    const ok = await run("allow", USER);
    assert.equal(ok.code, 0, ok.err);
    assert.equal(ok.out, `Allowed user ${USER}.\n`);
    assert.equal(ok.err, "");
    const usage = await run("policy", "open");
    assert.equal(usage.code, 2);
    assert.equal(usage.out, "");
    assert.match(usage.err, /^error: unknown policy 'open'/);
    const status = await run("status");
    assert.equal(status.code, 0);
    assert.match(status.out, new RegExp(`Allowed users \\(1\\):\\n  ${USER}`));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
