/**
 * When the bridge may conclude that Claude Code drops its messages, and when
 * it must not guess. Each case is a rule of Claude Code 2.1.332.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  approverNotice,
  argvFromEnv,
  argvProblem,
  type BridgeIdentity,
  deliveryProblems,
  DropNotice,
  envProblems,
  identityFromEnv,
  parseChannelFlags,
} from "../lib/diagnose/delivery.ts";

const server: BridgeIdentity = { kind: "server", likelyName: "discord" };
const plugin: BridgeIdentity = { kind: "plugin", name: "discord", marketplace: "claude-channels" };
const ids = (env: Record<string, string>) => envProblems(env).map((p) => `${p.id}:${p.certain}`);

Deno.test("env: each variable that switches channels off is named, with its fix", () => {
  for (
    const name of [
      "DISABLE_TELEMETRY",
      "DO_NOT_TRACK",
      "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
      "DISABLE_GROWTHBOOK",
      "CLAUDE_CODE_DISABLE_FEATURE_FLAGS",
    ]
  ) {
    const [p, ...rest] = envProblems({ [name]: "1" });
    assertEquals(rest, []);
    assertEquals(p.id, `env:${name}`);
    assert(p.certain);
    assert(p.fix.includes(`unset ${name}`), p.fix);
  }
  assertEquals(envProblems({}), []);
});

Deno.test("env: read as Claude Code reads them (any value for some, 1/true/yes/on for others)", () => {
  // `if (process.env.DISABLE_TELEMETRY)`: even "0" counts.
  assertEquals(ids({ DISABLE_TELEMETRY: "0" }), ["env:DISABLE_TELEMETRY:true"]);
  assertEquals(ids({ CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "false" }), [
    "env:CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC:true",
  ]);
  assertEquals(ids({ DISABLE_TELEMETRY: "" }), []);
  // isEnvTruthy: 1/true/yes/on, any case.
  assertEquals(ids({ DO_NOT_TRACK: "0", DISABLE_GROWTHBOOK: "no" }), []);
  assertEquals(ids({ DO_NOT_TRACK: "TRUE", DISABLE_GROWTHBOOK: " on " }), [
    "env:DO_NOT_TRACK:true",
    "env:DISABLE_GROWTHBOOK:true",
  ]);
});

Deno.test("env: the disk cache makes the telemetry variables harmless, not the flag-system ones (checked with 2.1.332)", () => {
  const cache = { CLAUDE_CODE_GB_DISK_CACHE_WHEN_TELEMETRY_OFF: "1" };
  assertEquals(ids({ ...cache, DISABLE_TELEMETRY: "1", DO_NOT_TRACK: "1" }), []);
  assertEquals(ids({ ...cache, DISABLE_GROWTHBOOK: "1" }), ["env:DISABLE_GROWTHBOOK:true"]);
  assertEquals(ids({ ...cache, CLAUDE_CODE_DISABLE_FEATURE_FLAGS: "yes" }), [
    "env:CLAUDE_CODE_DISABLE_FEATURE_FLAGS:true",
  ]);
  assertEquals(ids({ CLAUDE_CODE_GB_DISK_CACHE_WHEN_TELEMETRY_OFF: "0", DISABLE_TELEMETRY: "1" }), [
    "env:DISABLE_TELEMETRY:true",
  ]);
});

Deno.test("argv: both flags are variadic, repeatable, take --flag=value, and stop at the next option or --", () => {
  const { entries, print } = parseChannelFlags([
    "/usr/bin/claude",
    "hello",
    "--channels",
    "plugin:telegram@claude-plugins-official",
    "server:a",
    "--model",
    "opus",
    "--dangerously-load-development-channels=server:b",
    "server:c", // not part of an `=` value
    "--dangerously-load-development-channels",
    "server:d",
    "untagged", // Claude Code would refuse it; skipped
    "plugin:noat",
    "--",
    "--channels",
    "server:e",
  ]);
  assert(!print);
  assertEquals(entries, [
    { dev: false, kind: "plugin", name: "telegram", marketplace: "claude-plugins-official" },
    { dev: false, kind: "server", name: "a" },
    { dev: true, kind: "server", name: "b" },
    { dev: true, kind: "server", name: "d" },
  ]);
});

Deno.test("argv: unknown argv, or the argv of something else than Claude Code, concludes nothing", () => {
  assertEquals(argvProblem(undefined, server), undefined);
  assertEquals(argvProblem(undefined, plugin), undefined);
  assertEquals(argvProblem(["deno", "test", "-A", "tests/"], server), undefined);
  assertEquals(argvProblem(["/bin/sh", "-c", "deno task start"], server), undefined);
  for (
    const head of [
      ["claude"],
      ["/usr/lib/node_modules/@anthropic-ai/claude-code/bin/claude.exe"],
      ["node", "/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js"],
    ]
  ) {
    assert(argvProblem([...head, "hello"], server)?.certain, head.join(" "));
  }
});

Deno.test("argv: no channel flag at all is a certain drop, with the command that fixes it", () => {
  const p = argvProblem(["claude", "hello"], server)!;
  assert(p.certain);
  assert(/without a channel flag/.test(p.what), p.what);
  assertEquals(
    p.fix,
    "restart Claude Code with `claude --dangerously-load-development-channels server:discord`",
  );
  const q = argvProblem(["claude"], plugin)!;
  assert(q.fix.includes("plugin:discord@claude-channels"), q.fix);
});

Deno.test("argv: a development server entry enables a .mcp.json bridge, whatever its name (ours is invisible)", () => {
  const dev = "--dangerously-load-development-channels";
  assertEquals(argvProblem(["claude", "hi", dev, "server:discord"], server), undefined);
  // Might be our name in the user's config: do not guess.
  assertEquals(argvProblem(["claude", "hi", dev, "server:my-bot"], server), undefined);
  // Only plugin entries: a .mcp.json server is certainly not among them.
  assert(argvProblem(["claude", dev, "plugin:discord@claude-channels"], server)?.certain);
});

Deno.test("argv: a server entry under --channels is skipped by Claude Code", () => {
  const p = argvProblem(["claude", "--channels", "server:discord"], server)!;
  assert(p.certain && /only with --dangerously-load-development-channels/.test(p.what), p.what);
});

Deno.test("argv: print mode ignores the development flag", () => {
  const p = argvProblem([
    "claude",
    "-p",
    "hi",
    "--dangerously-load-development-channels",
    "server:discord",
  ], server)!;
  assert(p.certain && /print mode/.test(p.what), p.what);
});

Deno.test("argv: a plugin bridge needs a plugin:discord@… entry; under --channels it depends on an allowlist it cannot see", () => {
  const dev = "--dangerously-load-development-channels";
  assertEquals(argvProblem(["claude", dev, "plugin:discord@claude-channels"], plugin), undefined);
  assertEquals(argvProblem(["claude", dev, "plugin:discord@elsewhere"], plugin), undefined);
  assertEquals(
    argvProblem(["claude", "--channels", "plugin:discord@claude-channels"], plugin),
    undefined,
  );
  assert(argvProblem(["claude", dev, "server:discord"], plugin)?.certain);
  assert(argvProblem(["claude", dev, "plugin:telegram@x"], plugin)?.certain);
});

Deno.test("identity: a plugin launch is recognised from CLAUDE_PLUGIN_ROOT, with its marketplace", () => {
  assertEquals(identityFromEnv({}), server);
  assertEquals(
    identityFromEnv({
      CLAUDE_PLUGIN_ROOT: "/home/me/.claude/plugins/cache/my-market/discord/0.1.0",
    }),
    { kind: "plugin", name: "discord", marketplace: "my-market" },
  );
  assertEquals(identityFromEnv({ CLAUDE_PLUGIN_ROOT: "/src/checkout" }), {
    kind: "plugin",
    name: "discord",
    marketplace: undefined,
  });
});

Deno.test("DISCORD_CLAUDE_ARGV: a JSON array of strings, anything else is unknown", () => {
  assertEquals(argvFromEnv({ DISCORD_CLAUDE_ARGV: '["claude","x"]' }), ["claude", "x"]);
  assertEquals(argvFromEnv({}), undefined);
  assertEquals(argvFromEnv({ DISCORD_CLAUDE_ARGV: "claude x" }), undefined);
  assertEquals(argvFromEnv({ DISCORD_CLAUDE_ARGV: "[1,2]" }), undefined);
  assertEquals(deliveryProblems({ DISCORD_CLAUDE_ARGV: "not json" }), []);
});

Deno.test("notice: only certain problems reach Discord, each approver once", () => {
  assertEquals(
    approverNotice([{ id: "x", certain: false, what: "maybe", fix: "look" }]),
    undefined,
  );
  const notice = new DropNotice(deliveryProblems({ DISABLE_TELEMETRY: "1" }));
  assert(notice.active);
  const first = notice.firstFor("alice", ["alice"]);
  assert(
    first?.includes("DISABLE_TELEMETRY") && first.includes("Fix: unset DISABLE_TELEMETRY"),
    String(first),
  );
  assertEquals(notice.firstFor("alice", ["alice"]), undefined);
  assertEquals(notice.firstFor("mallory", ["alice"]), undefined);
  const quiet = new DropNotice([]);
  assert(!quiet.active);
  assertEquals(quiet.firstFor("alice", ["alice"]), undefined);
});
