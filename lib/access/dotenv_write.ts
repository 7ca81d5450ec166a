/**
 * Storing the bot token in `$STATE_DIR/.env`, the file the bridge (and the
 * official plugin) loads at start.
 *
 * @module
 */
import { writeFileAtomic } from "./atomic_write.ts";

/**
 * Returns `text` with `key` set to `value`: every existing definition of the
 * key (with or without `export`) is replaced by one `KEY=value` line at the
 * first one's place, or appended; all other lines are kept verbatim. The line
 * is unquoted because the official plugin's loader reads `^(\w+)=(.*)$`.
 */
export function upsertDotEnv(text: string, key: string, value: string): string {
  const definesKey = new RegExp(`^\\s*(?:export\\s+)?${key}\\s*=`);
  const lines = text === "" ? [] : text.replace(/\r?\n$/, "").split(/\r?\n/);
  const out: string[] = [];
  let placed = false;
  for (const line of lines) {
    if (!definesKey.test(line)) {
      out.push(line);
    } else if (!placed) {
      out.push(`${key}=${value}`);
      placed = true;
    }
  }
  if (!placed) out.push(`${key}=${value}`);
  return out.join("\n") + "\n";
}

/** Writes the token into `$stateDir/.env` (dir 0700, file 0600, atomically). */
export function storeBotToken(stateDir: string, token: string): string {
  Deno.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = `${stateDir.replace(/\/+$/, "")}/.env`;
  let text = "";
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  writeFileAtomic(path, upsertDotEnv(text, "DISCORD_BOT_TOKEN", token), 0o600);
  return path;
}

/** A form of the token safe to print: its first and last 4 characters and its length. */
export function maskToken(token: string): string {
  if (token.length < 16) return `(${token.length} characters)`;
  return `${token.slice(0, 4)}…${token.slice(-4)} (${token.length} characters)`;
}
