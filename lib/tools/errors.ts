/**
 * Readable descriptions of Discord REST failures for tool results, without
 * importing discord.js (tools must load before it).
 *
 * @module
 */
import { describeError } from "../core/log.ts";

/** `Discord answered 403 (code 50001): Missing Access`, or the plain error text. */
export function describeDiscordErrorLite(err: unknown): string {
  const e = err as { status?: unknown; code?: unknown; rawError?: unknown };
  if (typeof e?.status === "number" && e.rawError !== undefined) {
    return `Discord answered ${e.status} (code ${String(e.code)}): ${describeError(err)}`;
  }
  return describeError(err);
}
