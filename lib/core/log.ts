/**
 * Logging to stderr, the only safe place: stdout carries the MCP wire, and a
 * stray line there breaks the connection to Claude Code.
 *
 * Every line passes through {@link redact}, so a secret registered with
 * {@link addSecret} (the bot token) never reaches the terminal or Claude
 * Code's debug log, even when it is embedded in an error message from a
 * dependency.
 *
 * @module
 */

const secrets = new Set<string>();
const encoder = new TextEncoder();

/** Registers a value that must never be written anywhere (e.g. the token). */
export function addSecret(secret: string | undefined): void {
  // Very short strings would mangle ordinary text; tokens are ~70 chars.
  if (secret && secret.length >= 8) secrets.add(secret);
}

/** Replaces every registered secret in `text` with a placeholder. */
export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) out = out.replaceAll(secret, "[redacted]");
  return out;
}

/** Renders an unknown thrown value as one readable, redacted line. */
export function describeError(err: unknown): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  return redact(text.replace(/\s+/g, " ").trim());
}

/** Writes one line to stderr, prefixed so it is easy to find in Claude Code's log. */
export function log(message: string): void {
  try {
    Deno.stderr.writeSync(encoder.encode(`discord channel: ${redact(message)}\n`));
  } catch {
    // stderr closed: nothing sensible left to do with a log line.
  }
}
