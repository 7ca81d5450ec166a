/**
 * What a bridge process does before it takes any role: guard stdout and
 * errors, read only the granted environment, read its configuration (or fall
 * back so MCP still serves and every tool can explain the problem), hide the
 * token from every log line, and secure the state directory.
 *
 * @module
 */
import { type Config, loadConfig, parseDotEnv, resolveStateDir } from "../core/config.ts";
import { describeSandbox, NO_STATE_DIR } from "../lifecycle/permissions.ts";
import { secureStateDir } from "../lifecycle/state_dir.ts";
import { guardConsole } from "../lifecycle/output_guard.ts";
import { addSecret, describeError, log } from "../core/log.ts";

/**
 * Loads the configuration from `env`; on a bad one, logs why and returns a
 * token-less fallback (the process keeps serving MCP so tool calls can
 * explain). Registers the token for redaction, secures the state directory
 * and logs the sandbox.
 */
export function bootConfig(env: Record<string, string | undefined>): Config {
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
  return config;
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

function safeStateDir(env: Record<string, string | undefined>): string {
  try {
    return resolveStateDir(env);
  } catch {
    return NO_STATE_DIR;
  }
}

/** The working directory, or undefined when it is gone or not readable. */
export function safeCwd(): string | undefined {
  try {
    return Deno.cwd();
  } catch {
    return undefined;
  }
}

/**
 * Keeps stdout for MCP alone and every error redacted: console output goes
 * to the log, and an unhandled rejection or uncaught error is logged (Deno
 * would print it raw, unredacted, and exit) and the process keeps serving.
 */
export function guardProcess(): void {
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
}
