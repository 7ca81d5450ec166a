/**
 * Keeps dependencies from writing where they must not. stdout is the MCP
 * wire: one `console.log` from a dependency (discord.js warnings, a debug
 * print) would corrupt it and drop the session's connection. And anything a
 * dependency prints bypasses the logger's redaction, so an error that embeds
 * the token (an `Authorization: Bot …` header in a request dump) would reach
 * Claude Code's log. Every console method is therefore routed through the
 * redacting stderr logger.
 *
 * @module
 */
import { format } from "node:util";

/** Sends every `console.*` call to `log` (which redacts and writes to stderr). */
export function guardConsole(log: (line: string) => void): void {
  const toLog = (...args: unknown[]) => log(format(...args));
  for (const method of ["log", "info", "debug", "warn", "error", "trace"] as const) {
    console[method] = toLog;
  }
}
