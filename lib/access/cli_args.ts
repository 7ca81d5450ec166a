/**
 * Argument parsing for the `access` CLI: argv in, a validated command object
 * (or a usage error) out. Pure, so every verb and every rejection is unit
 * tested without touching the disk. All validation of user input happens
 * here, before anything is read or written.
 *
 * @module
 */
import { type Access, AccessSchema, type DmPolicy, DmPolicySchema } from "./schema.ts";
import { isSnowflake } from "./ids.ts";
import { compileMentionPatterns } from "./patterns.ts";

/** Top-level keys `set`/`unset` may change (the rest have dedicated verbs). */
export const SETTABLE_KEYS = [
  "ackReaction",
  "replyToMode",
  "textChunkLimit",
  "chunkMode",
  "mentionPatterns",
  "permissionPrompts",
  "permissionTimeoutSeconds",
  "maxReplyMessages",
  "statusReactions",
  "reactionEvents",
  "editEvents",
] as const;
/** A key accepted by `set` and `unset`. */
export type SettableKey = typeof SETTABLE_KEYS[number];

/** Verbs that have their own `--help` page. */
export const HELP_TOPICS = [
  "status",
  "pair",
  "deny",
  "allow",
  "remove",
  "policy",
  "group",
  "set",
  "unset",
  "configure",
] as const;
/** A verb with a help page. */
export type HelpTopic = typeof HELP_TOPICS[number];

/** A fully validated CLI command. Write commands carry `fresh` (see `--fresh`). */
export type AccessCommand =
  | { verb: "help"; topic?: HelpTopic }
  | { verb: "status" }
  | { verb: "pair"; code: string; fresh: boolean }
  | { verb: "deny"; code: string; fresh: boolean }
  | { verb: "allow"; userId: string; fresh: boolean }
  | { verb: "remove"; userId: string; fresh: boolean }
  | { verb: "policy"; policy: DmPolicy; fresh: boolean }
  | {
    verb: "group-add";
    channelId: string;
    requireMention: boolean;
    allowFrom: string[];
    fresh: boolean;
  }
  | { verb: "group-rm"; channelId: string; fresh: boolean }
  | { verb: "set"; key: SettableKey; value: NonNullable<Access[SettableKey]>; fresh: boolean }
  | { verb: "unset"; key: SettableKey; fresh: boolean }
  | { verb: "configure"; token: string }
  | { verb: "configure"; fromStdin: true };

/** The parser's answer: a command, or a usage error (exit code 2). */
export type ParsedArgs =
  | { ok: true; command: AccessCommand }
  | { ok: false; error: string; topic?: HelpTopic };

/** Pairing codes as the official plugin makes them are 6 hex chars; accept a little more. */
const CODE_RE = /^[A-Za-z0-9]{4,32}$/;

/**
 * Discord bot tokens: three base64url segments joined by dots. The strict
 * charset also blocks `.env` injection (a "token" containing a newline could
 * add arbitrary variables to the file the bridge loads).
 */
export const TOKEN_RE = /^[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}$/;

/** Parses `access` CLI arguments (everything after `access`). */
export function parseAccessArgs(args: readonly string[]): ParsedArgs {
  const [verb, ...rest] = args;
  if (verb === undefined) return ok({ verb: "status" });
  if (verb === "-h" || verb === "--help" || verb === "help") {
    const topic = rest[0];
    if (topic === undefined) return ok({ verb: "help" });
    if (isTopic(topic)) return ok({ verb: "help", topic });
    return usage(`no help for '${topic}'`);
  }
  switch (verb) {
    case "status":
      return withOptions(rest, "status", {}, (o) => {
        if (o.positionals.length) return usage("status takes no arguments", "status");
        return ok({ verb: "status" });
      });
    case "pair":
    case "deny":
      return withOptions(rest, verb, { "--fresh": "flag" }, (o) => {
        const [code, ...extra] = o.positionals;
        if (code === undefined) {
          return usage(
            `${verb} needs the pairing code the bot sent, e.g. ${verb} a1b2c3 ` +
              "(run status to list pending codes)",
            verb,
          );
        }
        if (extra.length) return usage(`${verb} takes one code`, verb);
        if (!CODE_RE.test(code)) {
          return usage(`'${clip(code)}' is not a pairing code (they look like a1b2c3)`, verb);
        }
        return ok({ verb, code: code.toLowerCase(), fresh: o.fresh });
      });
    case "allow":
    case "remove":
      return withOptions(rest, verb, { "--fresh": "flag" }, (o) => {
        const [userId, ...extra] = o.positionals;
        if (userId === undefined) return usage(`${verb} needs a Discord user ID`, verb);
        if (extra.length) return usage(`${verb} takes one user ID`, verb);
        const bad = snowflakeError(userId, "user");
        if (bad) return usage(bad, verb);
        return ok({ verb, userId, fresh: o.fresh });
      });
    case "policy":
      return withOptions(rest, "policy", { "--fresh": "flag" }, (o) => {
        const [mode, ...extra] = o.positionals;
        if (mode === undefined || extra.length) {
          return usage("policy needs exactly one of: pairing, allowlist, disabled", "policy");
        }
        const parsed = DmPolicySchema.safeParse(mode);
        if (!parsed.success) {
          return usage(
            `unknown policy '${clip(mode)}': use pairing, allowlist or disabled`,
            "policy",
          );
        }
        return ok({ verb: "policy", policy: parsed.data, fresh: o.fresh });
      });
    case "group":
      return parseGroup(rest);
    case "set":
      return withOptions(rest, "set", { "--fresh": "flag" }, (o) => {
        const [key, value, ...extra] = o.positionals;
        if (key === undefined) return usage(`set needs a key: ${SETTABLE_KEYS.join(", ")}`, "set");
        const k = settableKey(key);
        if (typeof k !== "string") return k;
        if (value === undefined) {
          return usage(
            `set ${k} needs a value` + (k === "ackReaction" ? ' (use "" to disable)' : ""),
            "set",
          );
        }
        if (extra.length) {
          return usage("set takes one value; quote it if it contains spaces", "set");
        }
        const parsed = parseSetting(k, value);
        if ("error" in parsed) return usage(parsed.error, "set");
        return ok({ verb: "set", key: k, value: parsed.value, fresh: o.fresh });
      });
    case "unset":
      return withOptions(rest, "unset", { "--fresh": "flag" }, (o) => {
        const [key, ...extra] = o.positionals;
        if (key === undefined) {
          return usage(`unset needs a key: ${SETTABLE_KEYS.join(", ")}`, "unset");
        }
        if (extra.length) return usage("unset takes one key", "unset");
        const k = settableKey(key, "unset");
        if (typeof k !== "string") return k;
        return ok({ verb: "unset", key: k, fresh: o.fresh });
      });
    case "configure":
      return withOptions(rest, "configure", {}, (o) => {
        const [token, ...extra] = o.positionals;
        if (extra.length) return usage("configure takes one token", "configure");
        // No token (or -): read it from a hidden prompt or standard input,
        // so it never appears in shell history or the process list.
        if (token === undefined || token === "-") return ok({ verb: "configure", fromStdin: true });
        const bad = tokenError(token);
        if (bad) return usage(bad, "configure");
        return ok({ verb: "configure", token });
      });
    default: {
      const guess = closestVerb(verb);
      return usage(
        `unknown command '${clip(verb)}'` + (guess ? ` (did you mean '${guess}'?)` : ""),
      );
    }
  }
}

/** Why `token` is not a plausible bot token, without ever quoting it. */
export function tokenError(token: string): string | undefined {
  if (TOKEN_RE.test(token.trim()) && token.trim().length <= 200) return undefined;
  return "that does not look like a Discord bot token (expected three dot-separated " +
    "base64url parts, as shown once by Developer Portal > Bot > Reset Token)";
}

/** Parses and validates a `set` value for `key`, using the schema as the authority. */
export function parseSetting(
  key: SettableKey,
  raw: string,
): { value: NonNullable<Access[SettableKey]> } | { error: string } {
  let candidate: unknown = raw;
  if (
    key === "textChunkLimit" || key === "permissionTimeoutSeconds" || key === "maxReplyMessages"
  ) {
    if (!/^\d{1,9}$/.test(raw.trim())) return { error: `${key} must be a whole number` };
    candidate = Number(raw.trim());
  } else if (key === "mentionPatterns") {
    try {
      candidate = JSON.parse(raw);
    } catch {
      return { error: `mentionPatterns must be a JSON array of strings, e.g. '["^claude\\\\b"]'` };
    }
    if (!Array.isArray(candidate) || !candidate.every((p) => typeof p === "string")) {
      return { error: "mentionPatterns must be a JSON array of strings" };
    }
    // The bridge's own verdict, the patterns' shared size budget included.
    const [first] = compileMentionPatterns(candidate as string[]).rejected;
    if (first) return { error: `pattern ${JSON.stringify(first.pattern)} ${first.reason}` };
  } else if (key === "ackReaction") {
    if (!plausibleEmoji(raw)) {
      return {
        error: 'ackReaction must be one emoji (e.g. 👀) or a custom emoji name:id, or ""',
      };
    }
  } else if (key === "reactionEvents" || key === "editEvents") {
    const flag = raw.trim();
    if (flag !== "true" && flag !== "false") return { error: `${key} must be true or false` };
    candidate = flag === "true";
  } else if (key === "statusReactions") {
    const value = raw.trim();
    const hint = `statusReactions must be true (👀 delivered, ✅ replied, ⚠️ a tool failed), ` +
      `false, or a JSON object choosing each, e.g. '{"delivered":"👀","replied":"✅","failed":""}'`;
    if (value === "true" || value === "false") candidate = value === "true";
    else {
      try {
        candidate = JSON.parse(value);
      } catch {
        return { error: hint };
      }
      if (candidate === null || typeof candidate !== "object" || Array.isArray(candidate)) {
        return { error: hint };
      }
      for (const [name, emoji] of Object.entries(candidate)) {
        if (typeof emoji === "string" && !plausibleEmoji(emoji)) {
          return {
            error: `statusReactions.${clip(name)} must be one emoji or a custom emoji name:id, ` +
              'or "" to turn it off',
          };
        }
      }
    }
    // The shape (known keys, string values) is the schema's to judge.
    if (!AccessSchema.shape.statusReactions.safeParse(candidate).success) return { error: hint };
  }
  const result = AccessSchema.shape[key].safeParse(candidate);
  if (!result.success) {
    return { error: `${key}: ${result.error.issues[0]?.message ?? "invalid value"}` };
  }
  return { value: result.data as NonNullable<Access[SettableKey]> };
}

/**
 * Reaction emoji are short and have no spaces; anything else is a typo (or
 * text meant for another key) that Discord would reject on every message.
 */
function plausibleEmoji(raw: string): boolean {
  return raw.length <= 64 && !/[\s\p{Cc}]/u.test(raw);
}

function parseGroup(args: readonly string[]): ParsedArgs {
  const [sub, ...rest] = args;
  if (sub === undefined) return usage("group needs add or rm", "group");
  if (sub === "-h" || sub === "--help") return ok({ verb: "help", topic: "group" });
  if (sub === "add") {
    return withOptions(
      rest,
      "group",
      { "--fresh": "flag", "--no-mention": "flag", "--allow": "value" },
      (o) => {
        const [channelId, ...extra] = o.positionals;
        if (channelId === undefined) return usage("group add needs a channel ID", "group");
        if (extra.length) return usage("group add takes one channel ID", "group");
        const bad = snowflakeError(channelId, "channel");
        if (bad) return usage(bad, "group");
        const allowFrom: string[] = [];
        const list = o.values.get("--allow");
        if (list !== undefined) {
          for (const id of list.split(",").map((s) => s.trim()).filter(Boolean)) {
            const badId = snowflakeError(id, "user");
            if (badId) return usage(`--allow: ${badId}`, "group");
            if (!allowFrom.includes(id)) allowFrom.push(id);
          }
          if (allowFrom.length === 0) {
            return usage("--allow needs a comma-separated list of user IDs", "group");
          }
        }
        return ok({
          verb: "group-add",
          channelId,
          requireMention: !o.flags.has("--no-mention"),
          allowFrom,
          fresh: o.fresh,
        });
      },
    );
  }
  if (sub === "rm" || sub === "remove") {
    return withOptions(rest, "group", { "--fresh": "flag" }, (o) => {
      const [channelId, ...extra] = o.positionals;
      if (channelId === undefined) return usage("group rm needs a channel ID", "group");
      if (extra.length) return usage("group rm takes one channel ID", "group");
      const bad = snowflakeError(channelId, "channel");
      if (bad) return usage(bad, "group");
      return ok({ verb: "group-rm", channelId, fresh: o.fresh });
    });
  }
  return usage(`unknown group command '${clip(sub)}': use group add or group rm`, "group");
}

interface Options {
  positionals: string[];
  flags: Set<string>;
  values: Map<string, string>;
  fresh: boolean;
}

/**
 * Splits a verb's arguments into positionals and its known options, then
 * hands them to `build`. `-h`/`--help` anywhere asks for the verb's help;
 * `--` ends options (for values that start with a dash).
 */
function withOptions(
  args: readonly string[],
  topic: HelpTopic,
  spec: Record<string, "flag" | "value">,
  build: (options: Options) => ParsedArgs,
): ParsedArgs {
  const o: Options = { positionals: [], flags: new Set(), values: new Map(), fresh: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      o.positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg === "-h" || arg === "--help") return ok({ verb: "help", topic });
    if (!arg.startsWith("-") || arg === "-" || /^-\d/.test(arg)) {
      o.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const kind = spec[name];
    if (kind === undefined) return usage(`unknown option '${clip(name)}'`, topic);
    if (kind === "flag") {
      if (eq > 0) return usage(`${name} takes no value`, topic);
      o.flags.add(name);
    } else {
      const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
      if (value === undefined) return usage(`${name} needs a value`, topic);
      o.values.set(name, value);
    }
  }
  o.fresh = o.flags.has("--fresh");
  return build(o);
}

function settableKey(key: string, verb = "set"): SettableKey | ParsedArgs {
  if ((SETTABLE_KEYS as readonly string[]).includes(key)) return key as SettableKey;
  const hint = key === "dmPolicy"
    ? " (use the policy command)"
    : key === "allowFrom"
    ? " (use allow / remove)"
    : key === "groups"
    ? " (use group add / group rm)"
    : key === "pending"
    ? " (use pair / deny)"
    : "";
  return usage(
    `unknown key '${clip(key)}'${hint}; keys: ${SETTABLE_KEYS.join(", ")}`,
    verb as HelpTopic,
  );
}

function snowflakeError(id: string, kind: "user" | "channel"): string | undefined {
  if (isSnowflake(id)) return undefined;
  const how = kind === "user"
    ? "right-click the user > Copy User ID"
    : "right-click the channel > Copy Channel ID";
  return `'${clip(id)}' is not a Discord ${kind} ID (17-20 digits; with Developer Mode on, ${how})`;
}

function isTopic(value: string): value is HelpTopic {
  return (HELP_TOPICS as readonly string[]).includes(value);
}

function closestVerb(input: string): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const verb of HELP_TOPICS) {
    const d = editDistance(input.toLowerCase(), verb);
    if (d < bestDistance) [best, bestDistance] = [verb, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/** Shortens user input quoted back in messages (and strips control chars). */
function clip(text: string): string {
  // deno-lint-ignore no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, "?");
  return clean.length > 40 ? `${clean.slice(0, 37)}...` : clean;
}

function ok(command: AccessCommand): ParsedArgs {
  return { ok: true, command };
}

function usage(error: string, topic?: HelpTopic): ParsedArgs {
  return { ok: false, error, topic };
}
