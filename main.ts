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
import { type Config, loadConfig, parseDotEnv, resolveStateDir } from "./lib/config.ts";
import { addSecret, describeError, log } from "./lib/log.ts";
import { AccessStore } from "./lib/access/store.ts";
import { claimInstanceLock } from "./lib/lifecycle/instance_lock.ts";
import { guardConsole } from "./lib/lifecycle/output_guard.ts";
import { watchParent } from "./lib/lifecycle/parent_watch.ts";
import { BRIDGE_ENV, describeSandbox, NO_STATE_DIR } from "./lib/lifecycle/permissions.ts";
import { secureStateDir } from "./lib/lifecycle/state_dir.ts";
import { deliveryProblems } from "./lib/diagnose/delivery.ts";

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
  registerTokenSecrets(config, env);
  const stateDir = config.DISCORD_STATE_DIR;
  if (stateDir !== NO_STATE_DIR) secureStateDir(stateDir, log);
  log(describeSandbox(stateDir));

  // One bridge per state directory; only a bridge that would log in competes.
  const lock = config.DISCORD_BOT_TOKEN ? claimInstanceLock(stateDir, log) : undefined;
  // The kernel drops the lock on any exit; this also removes the file.
  globalThis.addEventListener("unload", () => lock?.release());

  const access = new AccessStore({
    stateDir: config.DISCORD_STATE_DIR,
    mode: config.DISCORD_ACCESS_MODE,
  });
  const bridge: Bridge = await startBridge({
    config,
    access,
    loginBlocked: () => lock?.blocked(),
    loginAllowed: lock?.acquired,
    deliveryProblems: deliveryProblems(env),
  });
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    try {
      Deno.addSignalListener(signal, () => void bridge.shutdown(signal));
    } catch {
      // Signal not supported on this platform.
    }
  }
  // Claude Code killed with SIGKILL may leave our stdin open: watch for it.
  watchParent((reason) => void bridge.shutdown(reason));
  await bridge.closed;
  lock?.release();
  Deno.exit(0);
}

/**
 * Registers the token for redaction from wherever it may come: the
 * environment, or `.env` even when the rest of the configuration is invalid
 * (the error path must not be the one that prints it). Its last segment (the
 * HMAC, the part that is actually secret) is registered too, so a token cut
 * short by a dependency's message is still hidden.
 */
function registerTokenSecrets(config: Config, env: Record<string, string | undefined>): void {
  const tokens = [config.DISCORD_BOT_TOKEN, env.DISCORD_BOT_TOKEN];
  try {
    tokens.push(
      parseDotEnv(Deno.readTextFileSync(`${config.DISCORD_STATE_DIR}/.env`)).DISCORD_BOT_TOKEN,
    );
  } catch {
    // no .env
  }
  for (const token of tokens) {
    const t = token?.trim();
    addSecret(t);
    addSecret(t?.split(".").at(-1));
  }
}

/**
 * Reads only the variables the bridge uses: `deno task start` grants exactly
 * these (`--allow-env=…`), and `Deno.env.toObject()` would need them all.
 */
function readEnv(names: readonly string[]): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const name of names) {
    try {
      env[name] = Deno.env.get(name);
    } catch {
      // Not granted (a narrower --allow-env than ours): treat it as unset.
    }
  }
  return env;
}

function safeStateDir(env: Record<string, string | undefined>): string {
  try {
    return resolveStateDir(env);
  } catch {
    return NO_STATE_DIR;
  }
}

if (import.meta.main) {
  const [command, ...rest] = Deno.args;
  if (command === "access") {
    const { runAccessCli } = await import("./lib/access/cli.ts");
    const code = await runAccessCli(rest, {
      env: readEnv(["HOME", "USERPROFILE", "DISCORD_STATE_DIR", "DISCORD_ACCESS_MODE"]),
      stdout: (s: string) => Deno.stdout.writeSync(new TextEncoder().encode(s)),
      stderr: (s: string) => Deno.stderr.writeSync(new TextEncoder().encode(s)),
    });
    Deno.exit(code);
  } else if (command === undefined) {
    guardConsole(log);
    globalThis.addEventListener("unhandledrejection", (e) => {
      e.preventDefault();
      log(`unexpected error: ${describeError(e.reason)}`);
    });
    // Deno prints an uncaught error raw (unredacted) and exits; log it instead.
    globalThis.addEventListener("error", (e) => {
      e.preventDefault();
      log(`unexpected error: ${describeError(e.error)}`);
    });
    await runBridge(readEnv(BRIDGE_ENV));
  } else {
    console.error(
      `unknown command "${command}". Usage: main.ts          run the bridge (MCP on stdio)
       main.ts access …  manage access (see: main.ts access --help)`,
    );
    Deno.exit(2);
  }
}
