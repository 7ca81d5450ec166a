/**
 * Entry point.
 *
 * - `deno run main.ts` (no arguments): run the Discord channel bridge, an MCP
 *   server on stdio, as Claude Code spawns it from `.mcp.json`.
 * - `deno run main.ts access …`: manage who may talk to the session.
 *
 * @module
 */
import { type Bridge, startBridge } from "./lib/bridge.ts";
import { type Config, loadConfig, resolveStateDir } from "./lib/config.ts";
import { addSecret, describeError, log } from "./lib/log.ts";
import { openAccessSource } from "./lib/access_source.ts";

/** Runs the bridge until Claude Code goes away; never writes to stdout itself. */
export async function runBridge(env: Record<string, string | undefined>): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    // Keep serving MCP so every tool call can explain the problem.
    log(describeError(err));
    config = {
      DISCORD_BOT_TOKEN: undefined,
      DISCORD_STATE_DIR: safeStateDir(env),
      DISCORD_API_URL: "https://discord.com/api",
      DISCORD_ACCESS_MODE: "live",
    };
  }
  addSecret(config.DISCORD_BOT_TOKEN);
  addSecret(env.DISCORD_BOT_TOKEN);

  const access = openAccessSource(config);
  const bridge: Bridge = await startBridge({ config, access });
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    try {
      Deno.addSignalListener(signal, () => void bridge.shutdown(signal));
    } catch {
      // Signal not supported on this platform.
    }
  }
  await bridge.closed;
  Deno.exit(0);
}

function safeStateDir(env: Record<string, string | undefined>): string {
  try {
    return resolveStateDir(env);
  } catch {
    return "/nonexistent-discord-state";
  }
}

if (import.meta.main) {
  const [command, ...rest] = Deno.args;
  if (command === "access") {
    const { runAccessCli } = await import("./lib/access/cli.ts");
    const code = await runAccessCli(rest, {
      env: Deno.env.toObject(),
      stdout: (s: string) => console.log(s),
      stderr: (s: string) => console.error(s),
    });
    Deno.exit(code);
  } else if (command === undefined) {
    globalThis.addEventListener("unhandledrejection", (e) => {
      e.preventDefault();
      log(`unexpected error: ${describeError(e.reason)}`);
    });
    await runBridge(Deno.env.toObject());
  } else {
    console.error(
      `unknown command "${command}". Usage: main.ts          run the bridge (MCP on stdio)
       main.ts access …  manage access (see: main.ts access --help)`,
    );
    Deno.exit(2);
  }
}
