/**
 * Gathers the facts `deno task doctor` checks: the configuration, what
 * Discord says about the token (REST only; no gateway login, so a running
 * session is not disturbed), the state directory, the lock, the Deno and
 * Claude Code versions, the shell's variables and Claude Code's
 * configuration files. Reads only; writes nothing.
 *
 * @module
 */
import { readEnv } from "../core/env.ts";
import { DEFAULT_API_URL, loadConfig, resolveStateDir } from "../core/config.ts";
import { AccessStore } from "../access/store.ts";
import { lockPath, readHolder } from "../lifecycle/instance_lock.ts";
import { CHANNEL_SWITCH_ENV } from "../diagnose/delivery.ts";
import { addSecret, describeError } from "../core/log.ts";
import type { DoctorFacts, Fetched } from "./checks.ts";

/** The variables the doctor reads (its task's `--allow-env` list). */
export const DOCTOR_ENV: readonly string[] = [
  "HOME",
  "USERPROFILE",
  "INIT_CWD",
  "DISCORD_BOT_TOKEN",
  "DISCORD_STATE_DIR",
  "DISCORD_API_URL",
  "DISCORD_ACCESS_MODE",
  ...CHANNEL_SWITCH_ENV,
];

const REST_TIMEOUT_MS = 10_000;
const MAX_GUILD_PAGES = 5;

/** Side effects the gatherer needs, injectable for tests. */
export interface GatherIo {
  env: Record<string, string | undefined>;
  fetch: typeof fetch;
  /** `claude --version`'s output, or throws. */
  claudeVersion(): Promise<string>;
  /** `claude plugin configure <id> --json`'s output, or throws. */
  pluginOptions?(id: string): Promise<string>;
  cwd: string;
}

/** Collects every fact; never throws. */
export async function gatherFacts(io: GatherIo): Promise<DoctorFacts> {
  const env = io.env;
  let stateDir: string;
  try {
    stateDir = resolveStateDir(env);
  } catch (err) {
    stateDir = `(unknown: ${describeError(err)})`;
  }
  let token: string | undefined;
  let apiUrl = DEFAULT_API_URL;
  let configError: string | undefined;
  let tokenSource: DoctorFacts["tokenSource"];
  try {
    const config = loadConfig(env);
    token = config.DISCORD_BOT_TOKEN;
    addSecret(token);
    apiUrl = config.DISCORD_API_URL;
    if (token) tokenSource = env.DISCORD_BOT_TOKEN?.trim() ? "environment" : ".env";
  } catch (err) {
    configError = describeError(err);
  }

  const facts: DoctorFacts = {
    stateDir,
    tokenSource,
    configError,
    apiUrl,
    access: readAccess(stateDir),
    stateDirMode: modeOf(stateDir),
    envFileMode: modeOf(`${stateDir}/.env`),
    lock: lockState(stateDir),
    denoVersion: Deno.version.deno,
    claude: await io.claudeVersion().then(
      (version) => ({ found: true as const, version: version.trim() }),
      (err) => ({ found: false as const, error: describeError(err) }),
    ),
    env: Object.fromEntries(CHANNEL_SWITCH_ENV.map((n) => [n, env[n]])),
    registrations: registrations(env, io.cwd),
  };

  if (!token && io.pluginOptions) {
    facts.pluginTokens = [];
    for (const r of facts.registrations.filter((r) => r.where === "plugin")) {
      try {
        const options = JSON.parse(await io.pluginOptions(r.detail));
        if (options?.configured?.includes?.("bot_token")) facts.pluginTokens.push(r.detail);
      } catch {
        // unknown: treated as not set
      }
    }
  }
  if (token && !configError) {
    const get = <T>(path: string) => rest<T>(io.fetch, apiUrl, token!, path);
    facts.me = await get<{ id: string; username: string }>("/users/@me");
    if (facts.me.ok) {
      facts.app = await get<{ flags: number }>("/applications/@me");
      const allowFrom = facts.access.ok ? facts.access.allowFrom : [];
      facts.members = await sharedGuilds(get, allowFrom);
    }
  }
  return facts;
}

/** One REST GET with the bot token; 429s are waited out once. */
async function rest<T>(
  fetchFn: typeof fetch,
  apiUrl: string,
  token: string,
  path: string,
): Promise<Fetched<T>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    let res: Response;
    try {
      res = await fetchFn(`${apiUrl}/v10${path}`, {
        headers: { Authorization: `Bot ${token}`, "User-Agent": "DiscordBot (doctor, 0.1)" },
        signal: AbortSignal.timeout(REST_TIMEOUT_MS),
      });
    } catch (err) {
      return { ok: false, error: describeError(err) };
    }
    const text = await res.text();
    if (res.status === 429 && attempt === 0) {
      const wait = Number(res.headers.get("retry-after") ?? "1");
      await new Promise((r) => setTimeout(r, Math.min(5, wait) * 1000));
      continue;
    }
    if (!res.ok) {
      let message = text.slice(0, 200);
      try {
        message = JSON.parse(text).message ?? message;
      } catch {
        // not JSON
      }
      return { ok: false, status: res.status, error: `HTTP ${res.status}: ${message}` };
    }
    try {
      return { ok: true, value: JSON.parse(text) as T };
    } catch (err) {
      return { ok: false, status: res.status, error: `not JSON: ${describeError(err)}` };
    }
  }
  return { ok: false, status: 429, error: "rate limited" };
}

/** For each user: a server shared with the bot (bot's guilds × member lookup). */
async function sharedGuilds(
  get: <T>(path: string) => Promise<Fetched<T>>,
  userIds: string[],
): Promise<NonNullable<DoctorFacts["members"]>> {
  if (userIds.length === 0) return [];
  const guilds: { id: string; name: string }[] = [];
  let after: string | undefined;
  for (let page = 0; page < MAX_GUILD_PAGES; page++) {
    const q = after ? `?limit=200&after=${after}` : "?limit=200";
    const res = await get<{ id: string; name: string }[]>(`/users/@me/guilds${q}`);
    if (!res.ok) return userIds.map((userId) => ({ userId, error: res.error }));
    guilds.push(...res.value);
    if (res.value.length < 200) break;
    after = res.value.at(-1)!.id;
  }
  const out: NonNullable<DoctorFacts["members"]> = [];
  for (const userId of userIds) {
    let found: string | undefined;
    let error: string | undefined;
    for (const g of guilds) {
      const res = await get<unknown>(`/guilds/${g.id}/members/${userId}`);
      if (res.ok) {
        found = g.name;
        break;
      }
      if (res.status !== 404) error = res.error;
    }
    out.push(found ? { userId, guild: found } : error ? { userId, error } : { userId });
  }
  return out;
}

function readAccess(stateDir: string): DoctorFacts["access"] {
  const store = new AccessStore({ stateDir, mode: "live", warn: () => {}, logReadErrors: false });
  const result = store.read();
  if (!result.ok) return { ok: false, error: result.error };
  return {
    ok: true,
    exists: modeOf(store.path) !== null,
    allowFrom: [...result.access.allowFrom],
    dmPolicy: result.access.dmPolicy,
  };
}

function modeOf(path: string): number | null {
  try {
    return Deno.statSync(path).mode ?? 0;
  } catch {
    return null;
  }
}

/**
 * Whether a bridge holds `bridge.lock`: a shared lock is refused while the
 * holder has its exclusive one. The file is opened read-only and released at
 * once.
 */
function lockState(stateDir: string): DoctorFacts["lock"] {
  const path = lockPath(stateDir);
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { held: false };
    return { error: describeError(err) };
  }
  try {
    if (file.tryLockSync(false)) {
      file.unlockSync();
      return { held: false };
    }
    return { held: true, holder: readHolder(path) };
  } catch (err) {
    return { error: describeError(err) };
  } finally {
    file.close();
  }
}

type McpServers = Record<string, { command?: string; args?: string[] }>;

/** A server entry that starts this bridge (`deno task … start`, or `deno run … main.ts`). */
function looksLikeOurs(entry: { command?: string; args?: string[] }): boolean {
  const command = (entry.command ?? "").split("/").at(-1);
  const args = entry.args ?? [];
  return command === "deno" &&
    ((args.includes("task") && args.includes("start")) ||
      args.some((a) => a.endsWith("main.ts")));
}

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(path));
  } catch {
    return undefined;
  }
}

function ours(servers: unknown): string[] {
  if (!servers || typeof servers !== "object") return [];
  return Object.entries(servers as McpServers).filter(([, e]) => e && looksLikeOurs(e)).map((
    [name],
  ) => name);
}

/** Where Claude Code would find this server: project, user config, plugin. */
function registrations(
  env: Record<string, string | undefined>,
  cwd: string,
): DoctorFacts["registrations"] {
  const found: DoctorFacts["registrations"] = [];
  const home = env.HOME ?? env.USERPROFILE;
  const project = readJson(`${cwd}/.mcp.json`);
  for (const name of ours(project?.mcpServers)) {
    const rejectedIn = rejectedProjectServer(name, home, cwd);
    found.push({
      where: `project ${cwd}/.mcp.json`,
      detail: name,
      ...(rejectedIn ? { rejectedIn } : {}),
    });
  }
  if (!home) return found;
  const user = readJson(`${home}/.claude.json`);
  for (const name of ours(user?.mcpServers)) {
    found.push({ where: "user config ~/.claude.json", detail: name });
  }
  const local = (user?.projects as Record<string, { mcpServers?: unknown }> | undefined)?.[cwd];
  for (const name of ours(local?.mcpServers)) {
    found.push({ where: `~/.claude.json for ${cwd}`, detail: name });
  }
  const installed = readJson(`${home}/.claude/plugins/installed_plugins.json`);
  // Enabled in user settings, or in this project's shared or local settings (later wins).
  const enabled: Record<string, unknown> = {};
  for (
    const file of [
      `${home}/.claude/settings.json`,
      `${cwd}/.claude/settings.json`,
      `${cwd}/.claude/settings.local.json`,
    ]
  ) {
    Object.assign(enabled, readJson(file)?.enabledPlugins ?? {});
  }
  const plugins = (installed?.plugins ?? {}) as Record<string, { installPath?: string }[]>;
  for (const [id, copies] of Object.entries(plugins)) {
    if (enabled[id] !== true || !Array.isArray(copies)) continue;
    // Ours, not another plugin of the same name (the official one runs on Bun).
    const isOurs = copies.some((c) =>
      typeof c?.installPath === "string" &&
      ours(readJson(`${c.installPath}/.claude-plugin/plugin.json`)?.mcpServers).length > 0
    );
    if (isOurs) found.push({ where: "plugin", detail: id });
  }
  return found;
}

/**
 * The settings file that rejects a project `.mcp.json` server, if any:
 * answering Claude Code's "New MCP server found" dialog with its default
 * (Enter: "Continue without using this MCP server") writes the name to
 * `disabledMcpjsonServers`, and every later session skips the server
 * without a word.
 */
function rejectedProjectServer(
  name: string,
  home: string | undefined,
  cwd: string,
): string | undefined {
  const files = [
    ...(home ? [`${home}/.claude/settings.json`] : []),
    `${cwd}/.claude/settings.json`,
    `${cwd}/.claude/settings.local.json`,
  ];
  return files.find((file) => {
    const list = readJson(file)?.disabledMcpjsonServers;
    return Array.isArray(list) ? list.includes(name) : list === name;
  });
}

/** Reads the doctor's variables from the process (unset when not granted). */
export function readDoctorEnv(): Record<string, string | undefined> {
  return readEnv(DOCTOR_ENV);
}
