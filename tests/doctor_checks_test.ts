/**
 * `deno task doctor`'s checks as specifications: each one over plain facts,
 * what passes, what fails, and the fix it names.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  type CheckResult,
  compareVersions,
  type DoctorFacts,
  exitCode,
  formatResult,
  runChecks,
} from "../lib/doctor/checks.ts";

/** A healthy setup; each test breaks one thing. */
function healthy(): DoctorFacts {
  return {
    stateDir: "/home/me/.claude/channels/discord",
    tokenSource: ".env",
    apiUrl: "https://discord.com/api",
    me: { ok: true, value: { id: "1", username: "mybot" } },
    app: { ok: true, value: { flags: 1 << 19 } },
    members: [{ userId: "42", guild: "home" }],
    access: { ok: true, exists: true, allowFrom: ["42"], dmPolicy: "allowlist" },
    stateDirMode: 0o40700,
    envFileMode: 0o100600,
    lock: { held: false },
    denoVersion: "2.9.6",
    claude: { found: true, version: "2.1.332 (Claude Code)" },
    env: {},
    registrations: [{ where: "plugin", detail: "discord@claude-channels" }],
  };
}

const byName = (facts: DoctorFacts, name: string): CheckResult => {
  const r = runChecks(facts).find((c) => c.name === name);
  if (!r) throw new Error(`no check ${name}`);
  return r;
};

Deno.test("doctor: a healthy setup passes every check, one line each, exit 0", () => {
  const results = runChecks(healthy());
  assertEquals(results.map((r) => r.status), results.map(() => "ok"));
  assertEquals(results.map((r) => r.name), [
    "token",
    "token accepted",
    "Message Content intent",
    "shared server",
    "access.json",
    "state directory",
    "bot holder",
    "Deno",
    "Claude Code",
    "channel variables",
    "registered",
  ]);
  assertEquals(exitCode(results), 0);
  for (const r of results) assert(!formatResult(r).includes("\n"));
  assert(
    byName(healthy(), "registered").detail.includes(
      "claude --dangerously-load-development-channels plugin:discord@claude-channels",
    ),
  );
});

Deno.test("doctor: no token fails, and the checks that need it say they were not run", () => {
  const f = {
    ...healthy(),
    tokenSource: undefined,
    me: undefined,
    app: undefined,
    members: undefined,
  };
  const t = byName(f, "token");
  assertEquals(t.status, "fail");
  assert(t.fix?.includes("Reset Token"));
  assert(/not checked/.test(byName(f, "token accepted").detail));
  assertEquals(exitCode(runChecks(f)), 1);
});

Deno.test("doctor: a rejected token (401) and an unreachable Discord are told apart", () => {
  const rejected = byName(
    { ...healthy(), me: { ok: false, status: 401, error: "HTTP 401" } },
    "token accepted",
  );
  assertEquals(rejected.status, "fail");
  assert(/rejected the token/.test(rejected.detail) && rejected.fix?.includes("Reset Token"));
  const offline = byName(
    { ...healthy(), me: { ok: false, error: "connection refused" } },
    "token accepted",
  );
  assert(/could not ask Discord/.test(offline.detail) && /network/.test(offline.fix!));
});

Deno.test("doctor: the Message Content intent is read from the application flags (1<<18 or 1<<19)", () => {
  const withFlags = (flags: number) =>
    byName({ ...healthy(), app: { ok: true, value: { flags } } }, "Message Content intent");
  assertEquals(withFlags(1 << 18).status, "ok");
  assertEquals(withFlags(1 << 19).status, "ok");
  const off = withFlags((1 << 12) | (1 << 15)); // presence/members intents only
  assertEquals(off.status, "fail");
  assert(off.fix?.includes("MESSAGE CONTENT INTENT"));
});

Deno.test("doctor: every allowlisted user must share a server with the bot", () => {
  const f = { ...healthy(), members: [{ userId: "42", guild: "home" }, { userId: "43" }] };
  const r = byName(f, "shared server");
  assertEquals(r.status, "fail");
  assert(r.detail.includes("43") && !r.detail.includes("42"), r.detail);
  assert(r.fix?.includes("invite the bot"));
  assertEquals(byName({ ...healthy(), members: [] }, "shared server").status, "ok");
  assertEquals(
    byName({ ...healthy(), members: [{ userId: "42", error: "HTTP 500" }] }, "shared server")
      .status,
    "fail",
  );
});

Deno.test("doctor: an unusable access.json fails with how to recover", () => {
  const r = byName(
    { ...healthy(), access: { ok: false, error: "line 3: Unexpected token" } },
    "access.json",
  );
  assertEquals(r.status, "fail");
  assert(r.detail.includes("line 3") && r.fix?.includes("--fresh"));
});

Deno.test("doctor: the state directory must be private (0700, .env 0600)", () => {
  assertEquals(byName({ ...healthy(), stateDirMode: 0o40755 }, "state directory").status, "fail");
  const env = byName({ ...healthy(), envFileMode: 0o100644 }, "state directory");
  assertEquals(env.status, "fail");
  assert(env.fix?.includes("chmod 600"), String(env.fix));
  assertEquals(
    byName({ ...healthy(), stateDirMode: null, envFileMode: null }, "state directory").status,
    "ok",
  );
});

Deno.test("doctor: the bot holder is reported, not failed", () => {
  const r = byName({
    ...healthy(),
    lock: { held: true, holder: { pid: 4242, startedAt: "2026-11-29T10:00:00Z" } },
  }, "bot holder");
  assertEquals(r.status, "ok");
  assert(r.detail.includes("4242"));
});

Deno.test("doctor: Claude Code must be found and at least 2.1.81; Deno at least 2", () => {
  assertEquals(compareVersions("2.1.81", "2.1.332") < 0, true);
  assertEquals(compareVersions("2.1.81", "2.1.81"), 0);
  assertEquals(
    byName(
      { ...healthy(), claude: { found: true, version: "2.1.80 (Claude Code)" } },
      "Claude Code",
    ).status,
    "fail",
  );
  assertEquals(
    byName(
      { ...healthy(), claude: { found: true, version: "2.1.81 (Claude Code)" } },
      "Claude Code",
    ).status,
    "ok",
  );
  const missing = byName(
    { ...healthy(), claude: { found: false, error: "not found" } },
    "Claude Code",
  );
  assert(missing.status === "fail" && missing.fix?.includes("@anthropic-ai/claude-code"));
  assertEquals(byName({ ...healthy(), denoVersion: "1.46.3" }, "Deno").status, "fail");
});

Deno.test("doctor: a variable that switches channels off fails; one the disk cache neutralises passes", () => {
  const r = byName({ ...healthy(), env: { DO_NOT_TRACK: "1" } }, "channel variables");
  assertEquals(r.status, "fail");
  assert(r.fix?.includes("unset DO_NOT_TRACK"));
  const cache = { CLAUDE_CODE_GB_DISK_CACHE_WHEN_TELEMETRY_OFF: "1" };
  const kept = { ...healthy(), env: { ...cache, DISABLE_TELEMETRY: "1" } };
  assertEquals(byName(kept, "channel variables").status, "ok");
  assertEquals(exitCode(runChecks(kept)), 0);
  const flags = { ...healthy(), env: { ...cache, DISABLE_GROWTHBOOK: "1" } };
  assertEquals(byName(flags, "channel variables").status, "fail");
});

Deno.test("doctor: not registered anywhere fails with the install command", () => {
  const r = byName({ ...healthy(), registrations: [] }, "registered");
  assertEquals(r.status, "fail");
  assert(r.fix?.includes("claude plugin install discord@claude-channels"));
});

Deno.test("doctor: a token kept only in the plugin's secure options counts as present; what needs it warns", () => {
  const f: DoctorFacts = {
    ...healthy(),
    tokenSource: undefined,
    pluginTokens: ["discord@claude-channels"],
    me: undefined,
    app: undefined,
    members: undefined,
  };
  assertEquals(byName(f, "token").status, "ok");
  assert(byName(f, "token").detail.includes("discord@claude-channels"));
  for (const name of ["token accepted", "Message Content intent", "shared server"]) {
    assertEquals(byName(f, name).status, "warn", name);
  }
  assertEquals(exitCode(runChecks(f)), 0);
});
