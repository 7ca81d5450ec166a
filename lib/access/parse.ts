/**
 * Turns the text of `access.json` into a validated {@link Access}, or into one
 * readable sentence saying what is wrong and where. Pure: no file access.
 *
 * @module
 */
import { type Access, AccessSchema } from "./schema.ts";
import { findExcessiveNesting, findJsonSyntaxProblem, MAX_JSON_DEPTH } from "./json_error.ts";

/** The keys a group entry understands; anything else there is a misplaced setting. */
export const GROUP_KEYS: readonly string[] = ["requireMention", "allowFrom"];

/** The result of parsing `access.json`. */
export type ParsedAccess =
  | { ok: true; access: Access; warnings: string[] }
  | { ok: false; error: string };

/**
 * Parses and validates the file's text. `path` is only used in messages.
 * Warnings are non-fatal oddities the user should hear about once (a group
 * entry with keys the gate never reads).
 */
export function parseAccessJson(text: string, path: string): ParsedAccess {
  // Checked first: every step below (JSON.parse, the syntax locator, the
  // schema, freezing) recurses, and a deep enough file overflows the stack.
  const deep = findExcessiveNesting(text);
  if (deep) {
    return {
      ok: false,
      error: `${path} is nested too deeply (more than ${MAX_JSON_DEPTH} levels of objects ` +
        `and arrays, at line ${deep.line}, column ${deep.column}); access.json is only a ` +
        `few levels deep, so this is not a valid access file`,
    };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const p = findJsonSyntaxProblem(text);
    const where = p ? `line ${p.line}, column ${p.column}: ${p.message}` : (err as Error).message;
    return { ok: false, error: `${path} is not valid JSON (${where})` };
  }
  const result = AccessSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.slice(0, 5).map((issue) => {
      const at = issue.path.length ? issue.path.map(String).join(".") : "(top level)";
      return `${at}: ${issue.message}`;
    });
    const more = result.error.issues.length > 5
      ? ` (and ${result.error.issues.length - 5} more)`
      : "";
    return { ok: false, error: `${path} has invalid settings: ${problems.join("; ")}${more}` };
  }
  return { ok: true, access: result.data, warnings: groupKeyWarnings(result.data) };
}

/**
 * Names keys inside group entries that the gate ignores. A common mistake is
 * putting `mentionPatterns` or `ackReaction` inside a group, where it silently
 * does nothing; the official plugin warns about it too.
 */
export function groupKeyWarnings(access: Access): string[] {
  const out: string[] = [];
  for (const [channel, policy] of Object.entries(access.groups)) {
    for (const key of Object.keys(policy)) {
      if (GROUP_KEYS.includes(key)) continue;
      out.push(
        `access.json groups[${JSON.stringify(channel)}].${key} is ignored: groups only ` +
          "support requireMention and allowFrom; mentionPatterns, ackReaction and " +
          "replyToMode are top-level keys",
      );
    }
  }
  return out;
}

/** Serialises access the way the official plugin does: 2-space JSON plus a newline. */
export function serializeAccess(access: Access): string {
  return JSON.stringify(access, null, 2) + "\n";
}
