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

/** `node:util`'s `format`, once loaded (loading it costs ~6 ms of every session's start-up). */
let format: ((...args: unknown[]) => string) | undefined;
let loading = false;

/** Until `format` has loaded: strings as they are, other values inspected. */
function plain(args: unknown[]): string {
  return args.map((a) => typeof a === "string" ? a : Deno.inspect(a)).join(" ");
}

/** Sends every `console.*` call to `log` (which redacts and writes to stderr). */
export function guardConsole(log: (line: string) => void): void {
  const toLog = (...args: unknown[]) => {
    if (!format && !loading) {
      loading = true;
      import("node:util").then((m) => format = m.format, () => {});
    }
    log(format ? format(...args) : plain(args));
  };
  for (const method of ["log", "info", "debug", "warn", "error", "trace"] as const) {
    console[method] = toLog;
  }
}
