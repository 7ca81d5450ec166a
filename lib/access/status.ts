/**
 * The `access status` report, as a pure function of the access value and the
 * clock, so its wording is testable.
 *
 * @module
 */
import { type Access, AccessSchema } from "./schema.ts";
import { GROUP_KEYS } from "./parse.ts";
import { compileMentionPatterns } from "./patterns.ts";
import { MAX_REPLIES } from "./pairing.ts";

const POLICY_MEANING = {
  pairing: "unknown users who DM the bot get a pairing code",
  allowlist: "only allowed users get through",
  disabled: "the bot ignores everyone",
} as const;

const DELIVERY_KEYS = [
  "ackReaction",
  "replyToMode",
  "textChunkLimit",
  "chunkMode",
  "permissionPrompts",
  "permissionTimeoutSeconds",
  "maxReplyMessages",
  "statusReactions",
  "reactionEvents",
  "editEvents",
] as const;

/** Renders the status report for `access` as of `now`. */
export function formatStatus(
  access: Access,
  context: { path: string; exists: boolean; now: number },
): string {
  const lines: string[] = [];
  lines.push(
    context.exists
      ? `access.json: ${context.path}`
      : `access.json: ${context.path} (not created yet; showing defaults)`,
  );
  lines.push(`DM policy: ${access.dmPolicy} (${POLICY_MEANING[access.dmPolicy]})`);

  lines.push(`Allowed users (${access.allowFrom.length}):`);
  for (const id of access.allowFrom) lines.push(`  ${id}`);

  const pending = Object.entries(access.pending);
  lines.push(`Pending pairing codes (${pending.length}):`);
  for (const [code, p] of pending) {
    const age = `asked ${duration(context.now - p.createdAt)} ago`;
    const expiry = p.expiresAt < context.now
      ? `expired ${duration(context.now - p.expiresAt)} ago`
      : `expires in ${duration(p.expiresAt - context.now)}`;
    lines.push(
      `  ${code}  from user ${p.senderId}, ${age}, ${expiry}, answered ${p.replies}/${MAX_REPLIES}`,
    );
  }
  if (pending.length) lines.push(`  approve with: pair <code>   reject with: deny <code>`);

  const groups = Object.entries(access.groups);
  lines.push(`Group channels (${groups.length}):`);
  for (const [channel, g] of groups) {
    const who = g.allowFrom.length ? `only users ${g.allowFrom.join(", ")}` : "any member";
    const when = g.requireMention ? "when the bot is mentioned" : "every message";
    lines.push(`  ${channel}  ${when}, ${who}`);
    const ignored = Object.keys(g).filter((k) => !GROUP_KEYS.includes(k));
    if (ignored.length) {
      lines.push(`    ignored keys here: ${ignored.join(", ")} (settings are top-level keys)`);
    }
  }

  lines.push("Delivery settings:");
  for (const key of DELIVERY_KEYS) {
    const value = access[key];
    const shown = value === undefined
      ? "(not set: default)"
      : value === ""
      ? '"" (disabled)'
      : JSON.stringify(value);
    lines.push(`  ${key.padEnd(26)}${shown}`);
  }

  const patterns = access.mentionPatterns ?? [];
  lines.push(`Mention patterns (${patterns.length}):`);
  // The bridge's own verdicts, the shared size budget included.
  const why = new Map(compileMentionPatterns(patterns).rejected.map((r) => [r.index, r.reason]));
  patterns.forEach((pattern, i) => {
    const reason = why.get(i);
    lines.push(`  ${JSON.stringify(pattern)}${reason === undefined ? "" : `  SKIPPED: ${reason}`}`);
  });

  const known = Object.keys(AccessSchema.shape);
  const other = Object.keys(access).filter((k) => !known.includes(k));
  if (other.length) lines.push(`Other keys (kept as they are): ${other.join(", ")}`);
  return lines.join("\n") + "\n";
}

/** "45s", "12m", "1h 5m". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
}
