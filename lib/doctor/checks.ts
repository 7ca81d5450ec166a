/**
 * `deno task doctor`: every check a person would otherwise do by hand, as
 * pure functions over facts gathered beforehand (`gather.ts`). One result
 * per check, each with the fix when it fails.
 *
 * @module
 */
import { type DeliveryProblem, envProblems, launchCommand } from "../diagnose/delivery.ts";

/** Claude Code's first version with the permission relay. */
export const MIN_CLAUDE_VERSION = "2.1.81";
/** The Deno major version the bridge is written for. */
export const MIN_DENO_MAJOR = 2;
/** Application flags: the Message Content intent, for verified (1<<18) and other (1<<19) bots. */
export const GATEWAY_MESSAGE_CONTENT = 1 << 18;
/** See {@link GATEWAY_MESSAGE_CONTENT}. */
export const GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19;

/** The result of one check. `warn` is an uncertainty: reported, not a failure. */
export interface CheckResult {
  name: string;
  status: "ok" | "fail" | "warn";
  detail: string;
  fix?: string;
}

/** The outcome of one HTTP call to Discord. */
export type Fetched<T> =
  | { ok: true; value: T }
  | { ok: false; status?: number; error: string };

/** Everything the checks look at. Absent optional facts mean "not gathered" (a prerequisite failed). */
export interface DoctorFacts {
  stateDir: string;
  /** Where the token came from, or undefined when there is none. */
  tokenSource?: "environment" | ".env";
  /** Plugin ids whose `bot_token` option is set (kept in Claude Code's secure storage, unread). */
  pluginTokens?: string[];
  /** An invalid configuration (e.g. a malformed DISCORD_API_URL). */
  configError?: string;
  apiUrl: string;
  /** GET /users/@me. */
  me?: Fetched<{ id: string; username: string }>;
  /** GET /applications/@me. */
  app?: Fetched<{ flags: number }>;
  /** For each allowlisted user: the name of a server they share with the bot, or why not known. */
  members?: { userId: string; guild?: string; error?: string }[];
  access:
    | { ok: true; exists: boolean; allowFrom: string[]; dmPolicy: string }
    | { ok: false; error: string };
  /** File modes (permission bits); null when the path does not exist. */
  stateDirMode: number | null;
  envFileMode: number | null;
  /** Who holds the bot (bridge.lock). */
  lock: { held: false } | { held: true; holder?: { pid: number; startedAt: string } } | {
    error: string;
  };
  denoVersion: string;
  claude: { found: true; version: string } | { found: false; error: string };
  /** The shell's values of the channel-switch variables. */
  env: Record<string, string | undefined>;
  /** Where this server is registered for Claude Code. */
  registrations: { where: string; detail: string }[];
}

const TOKEN_FIX =
  "Discord Developer Portal → your app → Bot → Reset Token, then `deno task access configure` (it prompts for it) or /discord:configure <token>";
const INTENT_FIX =
  "Discord Developer Portal → your app → Bot → Privileged Gateway Intents → turn on MESSAGE CONTENT INTENT";

/** Runs every check in a fixed order. */
export function runChecks(f: DoctorFacts): CheckResult[] {
  return [
    checkToken(f),
    checkTokenAccepted(f),
    checkIntent(f),
    checkSharedServer(f),
    checkAccess(f),
    checkStateDir(f),
    checkHolder(f),
    checkDeno(f),
    checkClaude(f),
    checkEnv(f),
    checkRegistration(f),
  ];
}

/** Exit code: 0 only when no check failed. */
export function exitCode(results: readonly CheckResult[]): number {
  return results.some((r) => r.status === "fail") ? 1 : 0;
}

/** One line per check: `ok   name: detail`, `FAIL name: detail. Fix: …`. */
export function formatResult(r: CheckResult): string {
  const mark = r.status === "ok" ? "ok  " : r.status === "warn" ? "warn" : "FAIL";
  return `${mark} ${r.name}: ${r.detail}${r.fix ? `. Fix: ${r.fix}` : ""}`;
}

export function checkToken(f: DoctorFacts): CheckResult {
  const name = "token";
  if (f.configError) {
    return {
      name,
      status: "fail",
      detail: f.configError,
      fix: "correct the variable named (environment or .env)",
    };
  }
  if (!f.tokenSource && f.pluginTokens?.length) {
    return {
      name,
      status: "ok",
      detail: `set in the options of plugin ${
        f.pluginTokens.join(", ")
      } (Claude Code's secure storage, which this check does not read)`,
    };
  }
  if (!f.tokenSource) {
    return {
      name,
      status: "fail",
      detail: `DISCORD_BOT_TOKEN is not set (environment, or ${f.stateDir}/.env)`,
      fix: TOKEN_FIX,
    };
  }
  return {
    name,
    status: "ok",
    detail: `present (from ${f.tokenSource === ".env" ? `${f.stateDir}/.env` : "the environment"})`,
  };
}

/** The token lives only in Claude Code's secure storage: Discord cannot be asked with it. */
function secureOnly(f: DoctorFacts, name: string): CheckResult | undefined {
  if (f.tokenSource || !f.pluginTokens?.length) return undefined;
  return {
    name,
    status: "warn",
    detail:
      "not checked: the token is only in the plugin's secure options; run `DISCORD_BOT_TOKEN=… deno task doctor` to check it",
  };
}

export function checkTokenAccepted(f: DoctorFacts): CheckResult {
  const name = "token accepted";
  if (!f.me) {
    return secureOnly(f, name) ?? { name, status: "fail", detail: "not checked: no usable token" };
  }
  if (f.me.ok) {
    return {
      name,
      status: "ok",
      detail: `Discord knows it as bot ${f.me.value.username} (${f.me.value.id})`,
    };
  }
  if (f.me.status === 401) {
    return {
      name,
      status: "fail",
      detail: "Discord rejected the token (401 Unauthorized)",
      fix: TOKEN_FIX,
    };
  }
  return {
    name,
    status: "fail",
    detail: `could not ask Discord (${f.apiUrl}): ${f.me.error}`,
    fix: "check the network, and DISCORD_API_URL if you set it",
  };
}

export function checkIntent(f: DoctorFacts): CheckResult {
  const name = "Message Content intent";
  if (!f.app) {
    return secureOnly(f, name) ??
      { name, status: "fail", detail: "not checked: the token was not accepted" };
  }
  if (!f.app.ok) {
    return { name, status: "fail", detail: `could not read the application: ${f.app.error}` };
  }
  const on = (f.app.value.flags & (GATEWAY_MESSAGE_CONTENT | GATEWAY_MESSAGE_CONTENT_LIMITED)) !==
    0;
  return on ? { name, status: "ok", detail: "enabled" } : {
    name,
    status: "fail",
    detail: "not enabled: the bot cannot log in with it (disallowed intents)",
    fix: INTENT_FIX,
  };
}

export function checkSharedServer(f: DoctorFacts): CheckResult {
  const name = "shared server";
  if (!f.members) {
    return secureOnly(f, name) ??
      { name, status: "fail", detail: "not checked: the token was not accepted" };
  }
  if (f.members.length === 0) {
    return {
      name,
      status: "ok",
      detail: "nobody is allowlisted yet (DM the bot to get a pairing code)",
    };
  }
  const unknown = f.members.filter((m) => m.error);
  const alone = f.members.filter((m) => !m.error && !m.guild);
  if (alone.length > 0) {
    return {
      name,
      status: "fail",
      detail: `no server in common with the bot: ${
        alone.map((m) => m.userId).join(", ")
      } (Discord delivers no DM between them)`,
      fix:
        "invite the bot to a server they are in (Developer Portal → OAuth2 → URL Generator, scope bot)",
    };
  }
  if (unknown.length > 0) {
    return {
      name,
      status: "fail",
      detail: `could not check ${unknown.map((m) => `${m.userId} (${m.error})`).join(", ")}`,
    };
  }
  return {
    name,
    status: "ok",
    detail: f.members.map((m) => `${m.userId} in ${m.guild}`).join(", "),
  };
}

export function checkAccess(f: DoctorFacts): CheckResult {
  const name = "access.json";
  if (!f.access.ok) {
    return {
      name,
      status: "fail",
      detail: `unusable, so nothing is delivered: ${f.access.error}`,
      fix:
        "correct the file at the place named, or start over with `deno task access policy pairing --fresh` (keeps a backup)",
    };
  }
  const who = `${f.access.allowFrom.length} allowed user(s), DM policy ${f.access.dmPolicy}`;
  return {
    name,
    status: "ok",
    detail: f.access.exists ? `valid: ${who}` : `not created yet (defaults: ${who})`,
  };
}

export function checkStateDir(f: DoctorFacts): CheckResult {
  const name = "state directory";
  const octal = (m: number) => `0${(m & 0o777).toString(8)}`;
  if (f.stateDirMode === null) {
    return {
      name,
      status: "ok",
      detail: `${f.stateDir} does not exist yet (created 0700 on first use)`,
    };
  }
  const problems: string[] = [];
  const fixes: string[] = [];
  if ((f.stateDirMode & 0o077) !== 0) {
    problems.push(`${f.stateDir} is ${octal(f.stateDirMode)}`);
    fixes.push(`chmod 700 '${f.stateDir}'`);
  }
  if (f.envFileMode !== null && (f.envFileMode & 0o077) !== 0) {
    problems.push(`.env is ${octal(f.envFileMode)} (others can read the token)`);
    fixes.push(`chmod 600 '${f.stateDir}/.env'`, "consider resetting the token");
  }
  if (problems.length > 0) {
    return {
      name,
      status: "fail",
      detail: `not private: ${problems.join("; ")}`,
      fix: fixes.join("; "),
    };
  }
  return {
    name,
    status: "ok",
    detail: `${f.stateDir} is ${octal(f.stateDirMode)}${
      f.envFileMode === null ? "" : `, .env is ${octal(f.envFileMode)}`
    }`,
  };
}

export function checkHolder(f: DoctorFacts): CheckResult {
  const name = "bot holder";
  if ("error" in f.lock) {
    return { name, status: "warn", detail: `cannot tell: ${f.lock.error}` };
  }
  if (!f.lock.held) return { name, status: "ok", detail: "no session holds the bot now" };
  const h = f.lock.holder;
  return {
    name,
    status: "ok",
    detail: `held by ${
      h ? `bridge process ${h.pid} (started ${h.startedAt})` : "another process"
    }; a new session waits for it to end`,
  };
}

export function checkDeno(f: DoctorFacts): CheckResult {
  const major = Number(f.denoVersion.split(".")[0]);
  return major >= MIN_DENO_MAJOR ? { name: "Deno", status: "ok", detail: f.denoVersion } : {
    name: "Deno",
    status: "fail",
    detail: `${f.denoVersion} is too old`,
    fix: "install Deno 2 (npm install -g deno)",
  };
}

/** Compares dotted versions numerically (`2.1.81` < `2.1.332`). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map((n) => parseInt(n, 10) || 0);
  const pb = b.split(".").map((n) => parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function checkClaude(f: DoctorFacts): CheckResult {
  const name = "Claude Code";
  if (!f.claude.found) {
    return {
      name,
      status: "fail",
      detail: `not found (${f.claude.error})`,
      fix: "npm install -g @anthropic-ai/claude-code",
    };
  }
  const version = /(\d+\.\d+\.\d+)/.exec(f.claude.version)?.[1];
  if (!version) {
    return { name, status: "warn", detail: `unknown version ${JSON.stringify(f.claude.version)}` };
  }
  return compareVersions(version, MIN_CLAUDE_VERSION) >= 0
    ? { name, status: "ok", detail: `${version} (permission relay needs ${MIN_CLAUDE_VERSION})` }
    : {
      name,
      status: "fail",
      detail: `${version} is older than ${MIN_CLAUDE_VERSION} (no channels permission relay)`,
      fix: "claude update",
    };
}

export function checkEnv(f: DoctorFacts): CheckResult {
  const name = "channel variables";
  const problems: DeliveryProblem[] = envProblems(f.env);
  if (problems.length === 0) {
    return { name, status: "ok", detail: "none of the variables that switch channels off is set" };
  }
  const certain = problems.some((p) => p.certain);
  return {
    name,
    status: certain ? "fail" : "warn",
    detail: problems.map((p) => p.what).join("; "),
    fix: problems.map((p) => p.fix).join("; "),
  };
}

export function checkRegistration(f: DoctorFacts): CheckResult {
  const name = "registered";
  if (f.registrations.length === 0) {
    return {
      name,
      status: "fail",
      detail:
        "no project .mcp.json, user config (~/.claude.json) or installed plugin starts this server",
      fix:
        "`claude plugin marketplace add <this repo>` then `claude plugin install discord@claude-channels`, or run claude from this checkout (its .mcp.json registers it)",
    };
  }
  const starts = f.registrations.map((r) =>
    r.where === "plugin"
      ? launchCommand({ kind: "plugin", name: "discord", marketplace: r.detail.split("@")[1] })
      : launchCommand({ kind: "server", likelyName: r.detail })
  );
  return {
    name,
    status: "ok",
    detail: `${f.registrations.map((r) => `${r.where} (${r.detail})`).join(", ")}; start with: ${
      [...new Set(starts)].join(" or ")
    }`,
  };
}
