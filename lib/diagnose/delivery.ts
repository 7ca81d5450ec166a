/**
 * Whether Claude Code will drop what the bridge delivers, decided from what
 * the bridge can see: the environment it inherits from Claude Code, and (when
 * the launcher could learn it) the Claude Code process's command line.
 *
 * Claude Code acknowledges nothing: an event for a session that did not
 * enable the channel, or while the channel feature is off, vanishes, and the
 * Discord user watches a typing indicator that never ends. The MCP handshake
 * is identical either way, so these are the only clues. Each rule here is
 * what Claude Code 2.1.332 does (read from its code and run); where the clues
 * do not settle it, the verdict is "cannot tell", never a guess.
 *
 * Pure: plain data in, plain data out.
 *
 * @module
 */
import { claudeArgvFromEnv } from "../lifecycle/orphan_watch.ts";

/** One reason messages will (or may) be dropped, with the one fix. */
export interface DeliveryProblem {
  /** Stable identifier, e.g. `env:DISABLE_TELEMETRY`, `argv:channel-flag`. */
  id: string;
  /** True when the drop is certain; false when it is only possible. */
  certain: boolean;
  /** What is wrong, in one sentence. */
  what: string;
  /** The one thing to do about it. */
  fix: string;
}

/**
 * Variables that switch Claude Code's channel feature off, and how Claude
 * Code reads each: `set` = any non-empty value, `truthy` = 1/true/yes/on.
 * The first three turn telemetry off, which takes the remote flags (and with
 * them channels) down unless `CLAUDE_CODE_GB_DISK_CACHE_WHEN_TELEMETRY_OFF`
 * keeps the cached flags; the last two disable the flag system itself, and
 * the cache does not help against them.
 */
export const CHANNEL_OFF_ENV: readonly {
  name: string;
  reads: "set" | "truthy";
  kind: "telemetry" | "flags";
}[] = [
  { name: "DISABLE_TELEMETRY", reads: "set", kind: "telemetry" },
  { name: "DO_NOT_TRACK", reads: "truthy", kind: "telemetry" },
  { name: "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", reads: "set", kind: "telemetry" },
  { name: "DISABLE_GROWTHBOOK", reads: "truthy", kind: "flags" },
  { name: "CLAUDE_CODE_DISABLE_FEATURE_FLAGS", reads: "truthy", kind: "flags" },
];

/** Keeps the cached flags (channels included) when telemetry is off. */
export const DISK_CACHE_ENV = "CLAUDE_CODE_GB_DISK_CACHE_WHEN_TELEMETRY_OFF";

/** The launcher's hand-over of Claude Code's argv (a JSON array of strings). */
export const CLAUDE_ARGV_ENV = "DISCORD_CLAUDE_ARGV";

/** Every variable {@link envProblems} reads. */
export const CHANNEL_SWITCH_ENV: readonly string[] = [
  ...CHANNEL_OFF_ENV.map((v) => v.name),
  DISK_CACHE_ENV,
];

/** Every variable {@link deliveryProblems} reads. */
export const DELIVERY_ENV: readonly string[] = [
  ...CHANNEL_SWITCH_ENV,
  CLAUDE_ARGV_ENV,
  "CLAUDE_PLUGIN_ROOT",
];

/** Claude Code's reading of a boolean variable. */
export function envTruthy(value: string | undefined): boolean {
  return value !== undefined && ["1", "true", "yes", "on"].includes(value.trim().toLowerCase());
}

/**
 * The variables in `env` that switch channels off. A kept disk cache makes
 * the telemetry ones harmless, not the flag-system ones (Claude Code keeps
 * the cache only while the flag system is on; checked with 2.1.332).
 */
export function envProblems(env: Record<string, string | undefined>): DeliveryProblem[] {
  const cacheKept = envTruthy(env[DISK_CACHE_ENV]);
  const problems: DeliveryProblem[] = [];
  for (const v of CHANNEL_OFF_ENV) {
    const value = env[v.name];
    const on = v.reads === "set" ? value !== undefined && value !== "" : envTruthy(value);
    if (!on) continue;
    if (cacheKept && v.kind === "telemetry") continue;
    problems.push({
      id: `env:${v.name}`,
      certain: true,
      what:
        `${v.name}=${value} is set in Claude Code's environment, which switches channels off: ` +
        `Claude Code drops every Discord message`,
      fix: v.kind === "telemetry"
        ? `unset ${v.name} (or also set ${DISK_CACHE_ENV}=1) where Claude Code is started, then restart the session`
        : `unset ${v.name} where Claude Code is started (shell or the "env" block of its settings), then restart the session`,
    });
  }
  return problems;
}

/** Who this bridge is in Claude Code's configuration. */
export type BridgeIdentity =
  /** Started by a plugin: channel entries name it as `plugin:<name>@<marketplace>`. */
  | { kind: "plugin"; name: string; marketplace?: string }
  /** Started from `.mcp.json` or user config, under a name it cannot see (usually `discord`). */
  | { kind: "server"; likelyName: string };

/** One entry of `--channels` / `--dangerously-load-development-channels`. */
export interface ChannelEntry {
  dev: boolean;
  kind: "server" | "plugin";
  name: string;
  marketplace?: string;
}

const CHANNEL_FLAGS = new Map([
  ["--channels", false],
  ["--dangerously-load-development-channels", true],
]);

/**
 * The channel entries of a Claude Code command line, as Claude Code's parser
 * takes them: both flags are variadic (values run until the next argument
 * that starts with `-`), may repeat, and accept `--flag=value`; `--` ends
 * the options. An entry must be `server:<name>` or
 * `plugin:<name>@<marketplace>` (Claude Code refuses to start otherwise, so
 * other values are skipped here). `-p`/`--print` is reported because print
 * mode ignores the development flag.
 */
export function parseChannelFlags(argv: readonly string[]): {
  entries: ChannelEntry[];
  print: boolean;
} {
  const entries: ChannelEntry[] = [];
  let print = false;
  let collecting: boolean | undefined; // dev flag of the variadic being collected
  const add = (value: string, dev: boolean) => {
    const entry = parseEntry(value, dev);
    if (entry) entries.push(entry);
  };
  for (const arg of argv) {
    if (arg === "--") break;
    const isOption = arg.length > 1 && arg.startsWith("-");
    if (!isOption) {
      if (collecting !== undefined) add(arg, collecting);
      continue;
    }
    collecting = undefined;
    if (arg === "-p" || arg === "--print") {
      print = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const dev = CHANNEL_FLAGS.get(name);
    if (dev === undefined) continue;
    if (eq > 0) add(arg.slice(eq + 1), dev);
    else collecting = dev;
  }
  return { entries, print };
}

function parseEntry(value: string, dev: boolean): ChannelEntry | undefined {
  if (value.startsWith("plugin:")) {
    const rest = value.slice(7);
    const at = rest.indexOf("@");
    if (at <= 0 || at === rest.length - 1) return undefined;
    return { dev, kind: "plugin", name: rest.slice(0, at), marketplace: rest.slice(at + 1) };
  }
  if (value.startsWith("server:") && value.length > 7) {
    return { dev, kind: "server", name: value.slice(7) };
  }
  return undefined;
}

/**
 * The problem with the session's channel flags, if the command line shows
 * one; undefined when the flags enable this bridge or when it cannot be
 * told (argv unknown, or an entry that may name this bridge under a name it
 * cannot see).
 */
export function argvProblem(
  argv: readonly string[] | undefined,
  self: BridgeIdentity,
): DeliveryProblem | undefined {
  if (!argv || !looksLikeClaudeCode(argv)) return undefined;
  const { entries, print } = parseChannelFlags(argv);
  // Print mode ignores the development flag.
  const usable = entries.filter((e) => !(e.dev && print));
  const fix = `restart Claude Code with \`${launchCommand(self)}\``;
  if (self.kind === "plugin") {
    const mine = usable.filter((e) => e.kind === "plugin" && e.name === self.name);
    if (mine.some((e) => e.dev)) return undefined;
    // Under --channels a plugin is loaded only when it is on an allowlist
    // (Anthropic's or the organisation's): not something the bridge can see.
    if (mine.length > 0) return undefined;
  } else {
    const servers = usable.filter((e) => e.kind === "server" && e.dev);
    // Our name in the user's config is invisible to us: any development
    // server entry might be it, unless it is the usual one.
    if (servers.length > 0) return undefined;
  }
  const wrongFlag = self.kind === "server" &&
    usable.some((e) => e.kind === "server" && !e.dev);
  const what = entries.length === 0
    ? "Claude Code was started without a channel flag, so it drops every Discord message"
    : print && entries.some((e) => e.dev)
    ? "Claude Code runs in print mode (-p), which ignores --dangerously-load-development-channels: it drops every Discord message"
    : wrongFlag
    ? "Claude Code loads a `server:` channel only with --dangerously-load-development-channels (under --channels it is skipped), so it drops every Discord message"
    : "the session's channel flags do not name this channel, so Claude Code drops every Discord message";
  return { id: "argv:channel-flag", certain: true, what, fix };
}

/**
 * Whether a command line is Claude Code's own: its binary (`claude`,
 * `claude.exe`, or a file of the native installer's `claude/versions/`), or
 * a JavaScript runtime running its package's `cli.js`. The argv of anything
 * else (a test runner, a wrapper script such as `claude-discord.sh` or one
 * kept under a `claude-code-…` folder) says nothing about channels, so only
 * exact names count: a wrong "yes" here would tell the user their messages
 * are dropped when they are not.
 */
export function looksLikeClaudeCode(argv: readonly string[]): boolean {
  const [head, script] = argv;
  if (head === undefined) return false;
  const path = head.replaceAll("\\", "/");
  const base = path.split("/").at(-1) ?? "";
  if (/^claude(\.exe)?$/i.test(base) || /\/claude\/versions\/[^/]+$/.test(path)) return true;
  return /^(node|nodejs|bun)(\.exe)?$/i.test(base) && script !== undefined &&
    /(^|[\\/])@anthropic-ai[\\/]claude-code[\\/]cli\.m?js$/.test(script);
}

/** The command that starts a session with this channel enabled. */
export function launchCommand(self: BridgeIdentity): string {
  const entry = self.kind === "plugin"
    ? `plugin:${self.name}@${self.marketplace ?? "claude-channels"}`
    : `server:${self.likelyName}`;
  return `claude --dangerously-load-development-channels ${entry}`;
}

/** The plugin this bridge was started by, or the usual server name. */
export function identityFromEnv(env: Record<string, string | undefined>): BridgeIdentity {
  const root = env.CLAUDE_PLUGIN_ROOT?.trim();
  if (!root) return { kind: "server", likelyName: "discord" };
  // Installed plugins live in …/plugins/cache/<marketplace>/<plugin>/<version>.
  const parts = root.replace(/\/+$/, "").split("/");
  const i = parts.lastIndexOf("cache");
  const marketplace = i >= 0 && parts.length >= i + 3 ? parts[i + 1] : undefined;
  return { kind: "plugin", name: "discord", marketplace };
}

/**
 * Claude Code's argv from the launcher's variable: a JSON array of strings,
 * or undefined when absent or malformed (then nothing is concluded from it).
 * Decoded by the launcher's own {@link claudeArgvFromEnv}.
 */
export function argvFromEnv(env: Record<string, string | undefined>): string[] | undefined {
  return claudeArgvFromEnv(env[CLAUDE_ARGV_ENV]);
}

/** Everything the bridge can tell at start about messages being dropped. */
export function deliveryProblems(env: Record<string, string | undefined>): DeliveryProblem[] {
  const problems = envProblems(env);
  const argv = argvProblem(argvFromEnv(env), identityFromEnv(env));
  if (argv) problems.push(argv);
  return problems;
}

/** The stderr line for a problem. */
export function describeProblem(p: DeliveryProblem): string {
  return `${
    p.certain ? "messages will be dropped" : "messages may be dropped"
  }: ${p.what}. Fix: ${p.fix}.`;
}

/**
 * What an approver is told in Discord, instead of a typing indicator that
 * never ends: only certain problems, each with its fix. Undefined when there
 * is none.
 */
export function approverNotice(problems: readonly DeliveryProblem[]): string | undefined {
  const certain = problems.filter((p) => p.certain);
  if (certain.length === 0) return undefined;
  const lines = certain.map((p) => `• ${p.what}.\n  Fix: ${p.fix}.`);
  return `⚠️ This Claude Code session cannot receive your messages:\n${lines.join("\n")}`;
}

/**
 * Answers each approver once per session while delivery is known to fail:
 * the first message of each user in `allowFrom` gets {@link approverNotice};
 * later ones, and everyone else, get nothing (and no typing indicator).
 */
export class DropNotice {
  readonly #text: string | undefined;
  readonly #answered = new Set<string>();

  constructor(problems: readonly DeliveryProblem[]) {
    this.#text = approverNotice(problems);
  }

  /** Whether delivered messages are known to be dropped by Claude Code. */
  get active(): boolean {
    return this.#text !== undefined;
  }

  /** The notice for this author's first message, if they are an approver; else undefined. */
  firstFor(authorId: string, allowFrom: readonly string[]): string | undefined {
    if (!this.#text || !allowFrom.includes(authorId) || this.#answered.has(authorId)) {
      return undefined;
    }
    this.#answered.add(authorId);
    return this.#text;
  }
}
