/**
 * The least-privilege sandbox for `deno task start`.
 *
 * Deno's permission flags are fixed at launch, but two of the bridge's limits
 * depend on the user's configuration: the state directory (the only place it
 * may write) and the `DISCORD_API_URL` host (an emulator or proxy it must be
 * allowed to reach). The `start` task therefore calls this module first, once
 * per list, through the task shell's `$(…)`, and passes what it prints to the
 * bridge's `--allow-net` and `--allow-write`:
 *
 *     deno run … lib/lifecycle/permissions.ts net    → discord.com:443,…
 *     deno run … lib/lifecycle/permissions.ts write  → /home/me/.claude/channels/discord
 *
 * This module runs with read access and the few variables it needs, and
 * imports nothing from npm, so it costs a few milliseconds. It always prints a
 * non-empty list: an empty `--allow-net=` or `--allow-write=` makes Deno
 * refuse to start (it never widens to "all").
 *
 * The bridge itself reports on stderr what the runtime actually granted it
 * ({@link describeSandbox}).
 *
 * @module
 */

/**
 * Every host the bridge talks to on Discord's side, HTTPS/WSS only: the REST
 * API, the gateway and its per-region resume hosts (`gateway-us-east1-b.…`),
 * and the attachment CDN and media proxy.
 */
export const DISCORD_HOSTS: readonly string[] = [
  "discord.com:443",
  "*.discord.gg:443",
  "cdn.discordapp.com:443",
  "media.discordapp.net:443",
];

/** Environment variables the bridge reads (the `--allow-env` list of `deno task start`). */
export const BRIDGE_ENV: readonly string[] = [
  "DISCORD_BOT_TOKEN",
  "DISCORD_STATE_DIR",
  "DISCORD_API_URL",
  "DISCORD_ACCESS_MODE",
  /** Claude Code's argv as a JSON array, from the orphan-watch step (lifecycle/orphan_watch.ts). */
  "DISCORD_CLAUDE_ARGV",
  "HOME",
  "USERPROFILE",
  // Read only to tell whether Claude Code will drop our messages (lib/diagnose/delivery.ts).
  "DISABLE_TELEMETRY",
  "DO_NOT_TRACK",
  "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
  "DISABLE_GROWTHBOOK",
  "CLAUDE_CODE_DISABLE_FEATURE_FLAGS",
  "CLAUDE_CODE_GB_DISK_CACHE_WHEN_TELEMETRY_OFF",
  "CLAUDE_PLUGIN_ROOT",
  // The session's name and identity across `claude --resume` (several sessions, one bot).
  "CLAUDE_PROJECT_DIR",
  "CLAUDE_CODE_SESSION_ID",
];

/** The variables this launcher step reads (its own `--allow-env` list). Not the token. */
export const LAUNCHER_ENV: readonly string[] = [
  "DISCORD_STATE_DIR",
  "DISCORD_API_URL",
  "DISCORD_EXTRA_HOSTS",
  "HOME",
  "USERPROFILE",
];

/** A host entry as `--allow-net` accepts it: a DNS name, IPv4 or `[IPv6]`, optional port. */
const HOST_ENTRY_RE =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** `host:port` of an http(s) URL, with the scheme's default port made explicit. */
export function hostOfUrl(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return undefined;
  const port = u.port || (u.protocol === "https:" ? "443" : "80");
  const entry = `${u.hostname}:${port}`;
  return HOST_ENTRY_RE.test(entry) ? entry : undefined;
}

/**
 * The `--allow-net` list: Discord's hosts, plus the host of `DISCORD_API_URL`
 * (environment first, then the state directory's `.env`, as the bridge
 * resolves it), plus `DISCORD_EXTRA_HOSTS` (comma-separated `host[:port]`,
 * for a Discord-compatible server whose gateway or CDN lives on another
 * host). Malformed entries are dropped with a warning, never passed through:
 * a stray comma or empty entry would make Deno refuse to start.
 */
export function netAllowList(
  env: Record<string, string | undefined>,
  dotEnv: Record<string, string>,
  warn: (line: string) => void = () => {},
): string[] {
  const hosts = [...DISCORD_HOSTS];
  const apiUrl = env.DISCORD_API_URL || dotEnv.DISCORD_API_URL;
  if (apiUrl) {
    const host = hostOfUrl(apiUrl.trim());
    if (host) hosts.push(host);
    else warn(`DISCORD_API_URL ${JSON.stringify(apiUrl)} is not an http(s) URL; not allowed`);
  }
  const extra = env.DISCORD_EXTRA_HOSTS || dotEnv.DISCORD_EXTRA_HOSTS || "";
  for (const raw of extra.split(",")) {
    const entry = raw.trim();
    if (!entry) continue;
    if (HOST_ENTRY_RE.test(entry)) hosts.push(entry);
    else warn(`DISCORD_EXTRA_HOSTS entry ${JSON.stringify(entry)} is not host[:port]; ignored`);
  }
  return [...new Set(hosts)];
}

/** The session socket's file name (`lib/link/socket.ts`'s SOCKET_NAME; this step loads no npm). */
export const SESSION_SOCKET_NAME = "sessions.sock";

/**
 * The `--allow-net` entries for the session socket (`unix:<stateDir>/sessions.sock`,
 * and through the state directory's real path when it differs): Deno checks
 * a Unix socket against `--allow-net`. Empty when no state directory can be
 * named or its path cannot be written in the flag (a comma).
 */
export function socketAllowList(
  stateDir: string | undefined,
  realPath: (p: string) => string | undefined,
): string[] {
  if (!stateDir || stateDir.includes(",")) return [];
  const dirs = new Set([stateDir.replace(/\/+$/, "")]);
  const real = realPath(stateDir);
  if (real && !real.includes(",")) dirs.add(real.replace(/\/+$/, ""));
  return [...dirs].map((d) => `unix:${d}/${SESSION_SOCKET_NAME}`);
}

/** Used when no usable state directory can be named: nothing may be written then. */
export const NO_STATE_DIR = "/nonexistent-discord-state";

/**
 * The `--allow-write` list: the state directory as configured, plus its real
 * path when that differs (Deno compares paths without resolving symlinks, so a
 * state directory reached through a symlinked home would otherwise be denied).
 * A path with a comma cannot be expressed (Deno splits the flag on commas, and
 * the halves would grant the wrong places), so it is refused.
 */
export function writeAllowList(
  stateDir: string | undefined,
  realPath: (p: string) => string | undefined,
  warn: (line: string) => void = () => {},
): string[] {
  if (!stateDir) return [NO_STATE_DIR];
  if (stateDir.includes(",")) {
    warn(
      `the state directory ${JSON.stringify(stateDir)} contains a comma; nothing can be written`,
    );
    return [NO_STATE_DIR];
  }
  const real = realPath(stateDir);
  return real && real !== stateDir && !real.includes(",") ? [stateDir, real] : [stateDir];
}

/**
 * What the runtime actually granted, as one stderr line, from
 * `Deno.permissions.querySync` (the same state every operation is checked
 * against). A descriptor without host/path answers "granted" only when that
 * permission is unrestricted; the probes check a place outside the state
 * directory and a host that is not Discord's.
 */
export function describeSandbox(stateDir: string): string {
  const granted = (d: Deno.PermissionDescriptor): boolean => {
    try {
      return Deno.permissions.querySync(d).state === "granted";
    } catch {
      return false;
    }
  };
  const kinds = ["net", "write", "env", "run", "ffi", "sys"] as const;
  const unrestricted = kinds.filter((name) => granted({ name }));
  const outside = `${stateDir.replace(/\/+$/, "")}/../not-the-state-dir`;
  const probes = [
    `write outside the state dir ${
      granted({ name: "write", path: outside }) ? "ALLOWED" : "denied"
    }`,
    `net to other hosts ${
      granted({ name: "net", host: "example.com:443" }) ? "ALLOWED" : "denied"
    }`,
    `subprocesses ${granted({ name: "run" }) ? "ALLOWED" : "denied"}`,
  ];
  const head = unrestricted.length === 0
    ? "permissions: least privilege"
    : `permissions: unrestricted ${unrestricted.join(", ")} (deno task start runs least-privilege)`;
  return `${head}; ${probes.join("; ")}`;
}

function readDotEnv(stateDir: string | undefined): Record<string, string> {
  if (!stateDir) return {};
  let text: string;
  try {
    text = Deno.readTextFileSync(`${stateDir}/.env`);
  } catch {
    return {};
  }
  // The same rules as lib/config.ts's parseDotEnv, kept local so this
  // launcher step loads no npm package (zod) before every start.
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(raw);
    if (!m || raw.trim().startsWith("#")) continue;
    const quoted = /^(["'])(.*)\1$/.exec(m[2]);
    out[m[1]] = quoted ? quoted[2] : m[2];
  }
  return out;
}

function stateDirOf(env: Record<string, string | undefined>): string | undefined {
  const explicit = env.DISCORD_STATE_DIR?.trim();
  if (explicit) return explicit;
  const home = env.HOME ?? env.USERPROFILE;
  return home ? `${home}/.claude/channels/discord` : undefined;
}

if (import.meta.main) {
  const env: Record<string, string | undefined> = {};
  for (const name of LAUNCHER_ENV) {
    try {
      env[name] = Deno.env.get(name);
    } catch {
      // not in this step's --allow-env: treat as unset
    }
  }
  const warn = (line: string) => console.error(`discord channel (launcher): ${line}`);
  const stateDir = stateDirOf(env);
  let list: string[];
  const realPath = (p: string) => {
    try {
      return Deno.realPathSync(p);
    } catch {
      return undefined; // not created yet: the bridge creates it (0700)
    }
  };
  if (Deno.args[0] === "net") {
    list = [
      ...netAllowList(env, readDotEnv(stateDir), warn),
      ...socketAllowList(stateDir, realPath),
    ];
  } else if (Deno.args[0] === "write") {
    list = writeAllowList(stateDir, (p) => {
      try {
        return Deno.realPathSync(p);
      } catch {
        return undefined; // not created yet: the bridge creates it (0700)
      }
    }, warn);
  } else {
    console.error("usage: permissions.ts net|write");
    Deno.exit(2);
  }
  console.log(list.join(","));
}
