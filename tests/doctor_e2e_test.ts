/**
 * `deno task --quiet doctor` end to end, launched exactly as a person runs
 * it (the shipped task and its permissions), against the Discord emulator
 * through DISCORD_API_URL. It reports what Discord says about the token, the
 * intent and the shared servers, and who holds the bot, one line per check;
 * exit code 0 only when every check passes. Claude Code must be on PATH (the
 * check looks for it).
 */
import { ok as assert } from "node:assert/strict";
import { startEmulator } from "./emulator/mod.ts";
import { makeStateDir } from "./helpers/bridge.ts";
import { E2E, withWorld } from "./helpers/world.ts";

const REPO = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

async function doctor(env: Record<string, string>): Promise<{ code: number; out: string }> {
  const home = await Deno.makeTempDir({ prefix: "doctor-home-" });
  try {
    const res = await new Deno.Command("deno", {
      args: ["task", "--quiet", "doctor"],
      cwd: REPO,
      clearEnv: true,
      env: {
        HOME: home,
        PATH: Deno.env.get("PATH") ?? "",
        DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
        NO_COLOR: "1",
        ...env,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: res.code, out: dec.decode(res.stdout) + dec.decode(res.stderr) };
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
}

const line = (out: string, name: string) =>
  out.split("\n").find((l) => l.slice(5).startsWith(`${name}:`)) ?? `(no ${name} line in:\n${out})`;

Deno.test(
  "doctor e2e: everything in order → one ok line per check, the running bridge named as holder, exit 0",
  E2E,
  () =>
    withWorld(async (w) => {
      w.emu.addMember(w.guildId, w.alice.id);
      const { code, out } = await doctor({
        DISCORD_BOT_TOKEN: w.emu.token,
        DISCORD_API_URL: w.emu.apiUrl,
        DISCORD_STATE_DIR: w.stateDir,
      });
      assert(code === 0, out);
      assert(
        line(out, "token accepted").startsWith("ok   token accepted: Discord knows it as bot"),
        out,
      );
      assert(line(out, "Message Content intent").startsWith("ok  "), out);
      assert(line(out, "shared server").includes(`${w.alice.id} in test guild`), out);
      assert(line(out, "bot holder").includes(`bridge process`), out);
      assert(line(out, "registered").includes(".mcp.json (discord)"), out);
      assert(line(out, "Claude Code").startsWith("ok  "), out);
      assert(!out.includes(w.emu.token), "the token is never printed");
      assert(out.trimEnd().endsWith("All checks passed."), out);
    }),
);

Deno.test(
  "doctor e2e: intent off, a user without a shared server, a channel-off variable → each fails with its fix, exit 1",
  E2E,
  async () => {
    const emu = await startEmulator();
    const guild = emu.addGuild({ name: "g" });
    const alice = emu.addUser({ username: "alice" });
    const bob = emu.addUser({ username: "bob" });
    emu.addMember(guild.id, alice.id);
    const stateDir = await makeStateDir({ dmPolicy: "allowlist", allowFrom: [alice.id, bob.id] });
    try {
      emu.setIntentsAllowed(false);
      const env = {
        DISCORD_BOT_TOKEN: emu.token,
        DISCORD_API_URL: emu.apiUrl,
        DISCORD_STATE_DIR: stateDir,
        DISABLE_TELEMETRY: "1",
      };
      const { code, out } = await doctor(env);
      assert(code === 1, out);
      assert(line(out, "Message Content intent").startsWith("FAIL"), out);
      assert(line(out, "Message Content intent").includes("MESSAGE CONTENT INTENT"), out);
      const shared = line(out, "shared server");
      assert(
        shared.startsWith("FAIL") && shared.includes(bob.id) && !shared.includes(alice.id),
        out,
      );
      assert(line(out, "channel variables").includes("Fix: unset DISABLE_TELEMETRY"), out);
      assert(/^\d+ check\(s\) failed\.$/m.test(out), out);

      // A wrong token: Discord (the emulator) answers 401.
      const wrong = await doctor({ ...env, DISCORD_BOT_TOKEN: "MTIz.bad.token" });
      assert(wrong.code === 1, wrong.out);
      assert(line(wrong.out, "token accepted").includes("rejected the token (401"), wrong.out);
      assert(!wrong.out.includes("MTIz.bad.token"), "the token is never printed");
    } finally {
      await emu.close();
      await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    }
  },
);
