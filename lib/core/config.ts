/**
 * Configuration from the environment, validated with zod. The real
 * environment wins over `$DISCORD_STATE_DIR/.env`, which is where the token
 * usually lives (Claude Code does not pass an env block to plugin servers).
 *
 * @module
 */
import { z } from "zod";

/** Discord's REST base; the gateway URL is discovered from `GET /gateway/bot`. */
export const DEFAULT_API_URL = "https://discord.com/api";

/** Resolves the state directory exactly as the official plugin does. */
export function resolveStateDir(env: Record<string, string | undefined>): string {
  const explicit = env.DISCORD_STATE_DIR?.trim();
  if (explicit) return explicit;
  const home = env.HOME ?? env.USERPROFILE;
  if (!home) throw new Error("cannot find the home directory: set DISCORD_STATE_DIR");
  return `${home}/.claude/channels/discord`;
}

/** Parses a `KEY=value` file; blank lines and `#` comments are skipped. */
export function parseDotEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2];
    const quoted = /^(["'])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2];
    out[m[1]] = value;
  }
  return out;
}

/** The environment variables the bridge reads, and their rules. */
export const ConfigSchema = z.object({
  DISCORD_BOT_TOKEN: z.string().trim().min(1).optional(),
  DISCORD_STATE_DIR: z.string().min(1),
  // discord.js appends `/v10` itself: a base that already names a version
  // (`…/api/v10`, as some Discord-compatible servers document it) loses it.
  DISCORD_API_URL: z.url({ protocol: /^https?$/ }).default(DEFAULT_API_URL)
    .transform((url) => url.replace(/\/+$/, "").replace(/\/v\d+$/, "")),
  DISCORD_ACCESS_MODE: z.enum(["live", "static"]).default("live"),
  /** Typing indicator refresh period in ms (default 8,000; Discord's lasts ~10 s). For tests. */
  DISCORD_TYPING_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).optional(),
  /** How long typing is kept alive without a reply, in ms (default 180,000). For tests. */
  DISCORD_TYPING_MAX_MS: z.coerce.number().int().min(0).max(3_600_000).optional(),
});
/** Validated configuration. `DISCORD_BOT_TOKEN` may be missing: the bridge then serves MCP and explains. */
export type Config = z.infer<typeof ConfigSchema>;

/**
 * Builds the configuration from the process environment and the optional
 * `.env` in the state directory. Throws a readable error for invalid values.
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  readFile: (path: string) => string | undefined = readTextIfExists,
): Config {
  const stateDir = resolveStateDir(env);
  const fromFile = parseDotEnv(readFile(`${stateDir}/.env`) ?? "");
  const merged: Record<string, string | undefined> = { ...fromFile };
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== "") merged[k] = v;
  const parsed = ConfigSchema.safeParse({
    DISCORD_BOT_TOKEN: merged.DISCORD_BOT_TOKEN,
    DISCORD_STATE_DIR: stateDir,
    DISCORD_API_URL: merged.DISCORD_API_URL,
    DISCORD_ACCESS_MODE: merged.DISCORD_ACCESS_MODE?.toLowerCase(),
    DISCORD_TYPING_INTERVAL_MS: merged.DISCORD_TYPING_INTERVAL_MS,
    DISCORD_TYPING_MAX_MS: merged.DISCORD_TYPING_MAX_MS,
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new Error(`invalid configuration: ${problems.join("; ")}`);
  }
  return parsed.data;
}

function readTextIfExists(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}
