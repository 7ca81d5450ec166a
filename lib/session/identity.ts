/**
 * Who a session is: its short name (the project directory's base name, made
 * unique by the hub) and its ID (`CLAUDE_CODE_SESSION_ID`, stable across
 * `claude --resume`). Pure functions; the environment is read by the caller.
 *
 * @module
 */

/** Longest session name; longer base names are cut. */
export const MAX_NAME = 32;

/** What a session says about itself when it connects to the hub. */
export interface SessionIdentity {
  sessionId: string;
  name: string;
  project: string;
}

/**
 * A session's wanted name: the base name of `CLAUDE_PROJECT_DIR` (what
 * Claude Code passes to stdio servers), else of the working directory,
 * reduced to characters that are safe in Markdown and in `@name`.
 */
export function sessionName(projectDir: string | undefined, cwd: string | undefined): string {
  const dir = (projectDir?.trim() || cwd?.trim() || "").replace(/[\\/]+$/, "");
  const base = dir.split(/[\\/]/).at(-1) ?? "";
  const safe = base.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[-.]+|[-.]+$/g, "")
    .slice(0, MAX_NAME).replace(/[-.]+$/, "");
  return safe || "session";
}

/** `wanted`, or `wanted-2`, `wanted-3`, … : the first one no other session uses (case-insensitive). */
export function uniqueName(wanted: string, taken: Iterable<string>): string {
  const used = new Set([...taken].map((n) => n.toLowerCase()));
  if (!used.has(wanted.toLowerCase())) return wanted;
  for (let i = 2;; i++) {
    const suffix = `-${i}`;
    const candidate = wanted.slice(0, MAX_NAME - suffix.length) + suffix;
    if (!used.has(candidate.toLowerCase())) return candidate;
  }
}

/** The session's identity from the environment Claude Code gives it. */
export function identityFrom(
  env: Record<string, string | undefined>,
  cwd: string | undefined,
  randomId: () => string = () => crypto.randomUUID(),
): SessionIdentity {
  const project = env.CLAUDE_PROJECT_DIR?.trim() || cwd || "";
  const id = env.CLAUDE_CODE_SESSION_ID?.trim();
  return {
    sessionId: id && id.length <= 200 ? id : randomId(),
    name: sessionName(env.CLAUDE_PROJECT_DIR, cwd),
    project,
  };
}
