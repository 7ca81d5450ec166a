/**
 * The official Discord plugin (`external_plugins/discord` of the public
 * `anthropics/claude-plugins-official` repository) as a side-by-side peer for
 * `deno task bench --peer <dir>`.
 *
 * Its code is never part of this repository: the bench copies a checkout the
 * user already has into a scratch directory under `.bench/`, points that
 * copy's discord.js client at the emulator through its `rest.api` option (the
 * one line it changes, printed in the output), and launches it exactly as its
 * own `.mcp.json` says (`bun run --cwd … --shell=bun --silent start`, which
 * runs `bun install` and then `bun server.ts`), with Bun from the npm
 * registry.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";

/** A prepared peer: how to launch it and what was changed to measure it. */
export interface Peer {
  /** The checkout the user named (or that was found). */
  source: string;
  /** The scratch copy that is actually launched. */
  dir: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  bunVersion: string;
  /** What the bench changed in the scratch copy, for the report. */
  patch: string;
}

/** How to get a checkout, printed when there is none. */
export const PEER_HOWTO =
  "no peer: pass --peer <dir> with a checkout of external_plugins/discord from the public " +
  "anthropics/claude-plugins-official repository (or install the plugin in Claude Code: " +
  "`/plugin install discord@claude-plugins-official` puts it under ~/.claude/plugins/, " +
  "where the bench finds it). Only our column is printed.";

/** Whether `dir` looks like the official plugin (package name and entry file). */
export function isPeerDir(dir: string): boolean {
  try {
    const pkg = JSON.parse(Deno.readTextFileSync(join(dir, "package.json")));
    Deno.statSync(join(dir, "server.ts"));
    return pkg?.name === "claude-channel-discord";
  } catch {
    return false;
  }
}

/** Looks for an installed copy under `~/.claude/plugins/` (marketplaces and cache), newest first. */
export function findInstalledPeer(home: string | undefined): string | undefined {
  if (!home) return undefined;
  const found: { dir: string; mtime: number }[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 6) return;
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      return;
    }
    if (isPeerDir(dir)) {
      found.push({ dir, mtime: Deno.statSync(join(dir, "server.ts")).mtime?.getTime() ?? 0 });
      return;
    }
    for (const e of entries) {
      if (e.isDirectory && e.name !== "node_modules" && !e.name.startsWith(".")) {
        walk(join(dir, e.name), depth + 1);
      }
    }
  };
  walk(join(home, ".claude", "plugins"), 0);
  return found.sort((a, b) => b.mtime - a.mtime)[0]?.dir;
}

async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
) {
  const out = await new Deno.Command(cmd, { args, ...opts, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).slice(-500)}`,
    );
  }
  return text;
}

/**
 * A Bun binary: `bun` on PATH, else one installed from the npm registry into
 * `cacheDir` (the `bun` package ships the binary in a per-platform package).
 */
export async function ensureBun(cacheDir: string, log: (s: string) => void): Promise<string> {
  try {
    await run("bun", ["--version"]);
    return "bun";
  } catch {
    // not on PATH
  }
  const local = join(cacheDir, "node_modules", ".bin", "bun");
  try {
    await run(local, ["--version"]);
    return local;
  } catch {
    // not installed yet
  }
  log(`peer: installing Bun from the npm registry into ${cacheDir}`);
  await Deno.mkdir(cacheDir, { recursive: true });
  await run("npm", ["install", "--prefix", cacheDir, "--no-audit", "--no-fund", "bun"]);
  await run(local, ["--version"]);
  return local;
}

/** The line inserted into `new Client({` of the scratch copy. */
export const REST_API_LINE =
  "  rest: { api: process.env.DISCORD_API_URL ?? 'https://discord.com/api' }, // bench: emulator";

/**
 * Points the plugin's discord.js client at `DISCORD_API_URL` through its
 * `rest.api` option (the gateway URL then comes from the emulator's
 * `/gateway/bot`). Returns the patched source; throws when the constructor is
 * not where it was, rather than measuring a client that talks to discord.com.
 */
export function patchServerSource(src: string): string {
  const at = src.indexOf("new Client({");
  if (at < 0) {
    throw new Error("peer: `new Client({` not found in server.ts; cannot point it at the emulator");
  }
  const end = at + "new Client({".length;
  return `${src.slice(0, end)}\n${REST_API_LINE}${src.slice(end)}`;
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.name === "node_modules" || e.name === ".git") continue;
    const a = join(from, e.name), b = join(to, e.name);
    if (e.isDirectory) await copyTree(a, b);
    else if (e.isFile) await Deno.copyFile(a, b);
  }
}

/** Copies, patches and warms the peer; returns its launch as its `.mcp.json` gives it. */
export async function preparePeer(
  source: string,
  benchDir: string,
  log: (s: string) => void,
): Promise<Peer> {
  if (!isPeerDir(source)) {
    throw new Error(
      `--peer ${source}: not a checkout of the official plugin (no package.json named claude-channel-discord with server.ts)`,
    );
  }
  const bun = await ensureBun(join(benchDir, "bun"), log);
  const bunPath = bun === "bun" ? bun : await Deno.realPath(bun);
  const bunVersion = await run(bunPath, ["--version"]);
  const dir = join(benchDir, "peer", basename(source));
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await copyTree(source, dir);
  const serverTs = join(dir, "server.ts");
  await Deno.writeTextFile(serverTs, patchServerSource(await Deno.readTextFile(serverTs)));

  const env: Record<string, string> = { CLAUDE_PLUGIN_ROOT: dir };
  if (bun !== "bun") env.PATH = `${dirname(bunPath)}:${Deno.env.get("PATH") ?? ""}`;
  // Its start script runs `bun install` on every launch; do the first one
  // now so a measured start-up does not include the download.
  log(`peer: bun install in ${dir}`);
  await run(bunPath, ["install", "--no-summary"], {
    cwd: dir,
    env: { ...Deno.env.toObject(), ...env },
  });

  const mcp = JSON.parse(await Deno.readTextFile(join(dir, ".mcp.json")));
  const entry = mcp.mcpServers?.discord;
  if (!entry?.command) throw new Error(`peer: no mcpServers.discord in ${dir}/.mcp.json`);
  const sub = (s: string) => s.replaceAll("${CLAUDE_PLUGIN_ROOT}", dir);
  return {
    source,
    dir,
    command: entry.command === "bun" ? bunPath : sub(entry.command),
    args: (entry.args ?? []).map(sub),
    env,
    bunVersion,
    patch: `server.ts: inserted after \`new Client({\`: ${REST_API_LINE.trim()}`,
  };
}
