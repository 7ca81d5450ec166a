/**
 * Does the MCP handshake wait for discord.js? Spawns `deno run -A main.ts`
 * with and without a token (without one, discord.js is never imported) and
 * times spawn → initialize result, plus the permissions pre-step the `start`
 * task runs before the bridge.
 *
 *   deno run -A bench/probe_handshake.ts [--runs 7]
 *
 * @module
 */
import { startEmulator } from "../tests/emulator/mod.ts";
import { median } from "./stats.ts";
import { spawnWire } from "./wire.ts";

const REPO = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const runs = Number(Deno.args[Deno.args.indexOf("--runs") + 1] || 7) || 7;
const home = Deno.env.get("HOME") ?? "/tmp";
const baseEnv = {
  PATH: Deno.env.get("PATH") ?? "",
  HOME: home,
  DENO_DIR: Deno.env.get("DENO_DIR") ?? `${home}/.cache/deno`,
  NO_COLOR: "1",
};

async function handshake(withToken: boolean): Promise<number> {
  const emu = await startEmulator();
  const dir = await Deno.makeTempDir({ prefix: "discord-bench-" });
  const env: Record<string, string> = { ...baseEnv, DISCORD_STATE_DIR: dir };
  if (withToken) Object.assign(env, { DISCORD_BOT_TOKEN: emu.token, DISCORD_API_URL: emu.apiUrl });
  const wire = spawnWire({
    command: Deno.execPath(),
    args: ["run", "--quiet", "-A", "main.ts"],
    cwd: REPO,
    env,
  });
  const init = wire.request("initialize", {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "probe", version: "0" },
  });
  const line = await init.done;
  const ms = line.at - wire.spawnedAt;
  await wire.close();
  await emu.close();
  await Deno.remove(dir, { recursive: true });
  return ms;
}

async function permissionsStep(): Promise<number> {
  const t = performance.now();
  await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      "--allow-read",
      "--allow-env",
      "lib/lifecycle/permissions.ts",
      "net",
    ],
    cwd: REPO,
    stdout: "null",
    stderr: "null",
  }).output();
  return performance.now() - t;
}

for (
  const [label, fn] of [
    ["initialize, no token (discord.js never loaded)", () => handshake(false)],
    ["initialize, with token (discord.js loads after connect)", () => handshake(true)],
    ["lib/lifecycle/permissions.ts pre-step (one of two)", permissionsStep],
  ] as const
) {
  const xs: number[] = [];
  await fn(); // warm-up
  for (let i = 0; i < runs; i++) xs.push(await fn());
  console.log(
    `${label}: median ${median(xs).toFixed(1)} ms  [${xs.map((x) => x.toFixed(0)).join(", ")}]`,
  );
}
