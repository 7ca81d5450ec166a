/**
 * The `access` command line: the terminal-side counterpart of the official
 * plugin's `/discord:access` skill. Only the person at the terminal runs it,
 * which is the point: access changes must never be downstream of a Discord
 * message (a prompt-injected "please approve the pending code").
 *
 * @module
 */
import { resolveStateDir } from "../config.ts";
import { describeError } from "../log.ts";
import { type AccessCommand, parseAccessArgs, tokenError } from "./cli_args.ts";
import { CLI_NAME, helpText } from "./cli_help.ts";
import { formatStatus } from "./status.ts";
import { AccessFileError, AccessStore } from "./store.ts";
import { approvePairing, denyPairing } from "./pairing.ts";
import { writeApproval } from "./approvals.ts";
import { maskToken, storeBotToken } from "./dotenv_write.ts";
import { PromptCancelled, readAllStdin, readHiddenLine } from "./secret_input.ts";
import type { Access } from "./schema.ts";

export { parseAccessArgs } from "./cli_args.ts";

/** What the CLI may touch besides the file system. */
export interface AccessCliIo {
  env: Record<string, string | undefined>;
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Reads all of standard input (`configure` from a pipe or file); defaults to Deno.stdin. */
  readStdin?: () => Promise<string>;
  /** Whether standard input is a terminal; defaults to Deno.stdin.isTerminal(). */
  stdinIsTerminal?: () => boolean;
  /** Prompts on a terminal and reads a line without echo; defaults to {@link readHiddenLine}. */
  readHidden?: (prompt: string) => Promise<string>;
  /** The clock (for tests); defaults to Date.now. */
  now?: () => number;
}

/** Runs one `access` command and returns its exit code (0 ok, 1 failed, 2 usage). */
export async function runAccessCli(args: string[], io: AccessCliIo): Promise<number> {
  const parsed = parseAccessArgs(args);
  if (!parsed.ok) {
    const more = parsed.topic ? `${CLI_NAME} ${parsed.topic} --help` : `${CLI_NAME} --help`;
    io.stderr(`error: ${parsed.error}\nRun '${more}' for usage.\n`);
    return 2;
  }
  const command = parsed.command;
  if (command.verb === "help") {
    io.stdout(helpText(command.topic));
    return 0;
  }
  let stateDir: string;
  try {
    stateDir = resolveStateDir(io.env);
  } catch (err) {
    io.stderr(`error: ${describeError(err)}\n`);
    return 1;
  }
  try {
    return await execute(command, stateDir, io);
  } catch (err) {
    io.stderr(`error: ${describeError(err)}\n`);
    return 1;
  }
}

async function execute(
  command: Exclude<AccessCommand, { verb: "help" }>,
  stateDir: string,
  io: AccessCliIo,
): Promise<number> {
  const now = io.now ?? Date.now;
  const store = new AccessStore({
    stateDir,
    mode: "live", // the CLI always edits the file; static mode only affects the bridge
    warn: (m) => io.stderr(`warning: ${m}\n`),
    logReadErrors: false, // reported below, with how to fix it
  });
  const out = (s: string) => io.stdout(`${s}\n`);

  if (command.verb === "status") return status(store, io, now());
  if (command.verb === "configure") return await configure(command, stateDir, io);

  if (io.env.DISCORD_ACCESS_MODE?.toLowerCase() === "static") {
    io.stderr(
      "note: DISCORD_ACCESS_MODE=static: a running bridge will only see this change " +
        "after a restart\n",
    );
  }
  const fresh = command.fresh;
  const write = async (mutator: (a: Access) => Access | null) => {
    try {
      const result = await store.update(mutator, { fresh });
      if (result.backupPath) {
        io.stderr(`the corrupt file was kept as ${result.backupPath}; starting from defaults\n`);
      }
      return result;
    } catch (err) {
      if (err instanceof AccessFileError) {
        io.stderr(`error: ${err.message}\n`);
        return undefined;
      }
      throw err;
    }
  };

  switch (command.verb) {
    case "pair": {
      let outcome: ReturnType<typeof approvePairing> | undefined;
      const result = await write((a) => {
        outcome = approvePairing(a, command.code, now());
        return outcome.ok ? outcome.access : null;
      });
      if (!result || !outcome) return 1;
      if (!outcome.ok) {
        io.stderr(`error: ${outcome.error}\nRun '${CLI_NAME} status' to list pending codes.\n`);
        return 1;
      }
      out(`Approved user ${outcome.senderId}: they can now DM the bot.`);
      try {
        await writeApproval(stateDir, { senderId: outcome.senderId, chatId: outcome.chatId });
        out("The running bridge will DM them a confirmation.");
      } catch (err) {
        io.stderr(`warning: no confirmation DM will be sent: ${describeError(err)}\n`);
      }
      return 0;
    }
    case "deny": {
      let outcome: ReturnType<typeof denyPairing> | undefined;
      const result = await write((a) => {
        outcome = denyPairing(a, command.code);
        return outcome.ok ? outcome.access : null;
      });
      if (!result || !outcome) return 1;
      if (!outcome.ok) {
        io.stderr(`error: ${outcome.error}\nRun '${CLI_NAME} status' to list pending codes.\n`);
        return 1;
      }
      out(`Denied code ${command.code} (from user ${outcome.senderId}).`);
      return 0;
    }
    case "allow": {
      const result = await write((a) =>
        a.allowFrom.includes(command.userId)
          ? null
          : { ...a, allowFrom: [...a.allowFrom, command.userId] }
      );
      if (!result) return 1;
      out(
        result.changed
          ? `Allowed user ${command.userId}.`
          : `User ${command.userId} was already allowed; nothing changed.`,
      );
      return 0;
    }
    case "remove": {
      const result = await write((a) =>
        a.allowFrom.includes(command.userId)
          ? { ...a, allowFrom: a.allowFrom.filter((id) => id !== command.userId) }
          : null
      );
      if (!result) return 1;
      out(
        result.changed
          ? `Removed user ${command.userId} from the allowlist.`
          : `User ${command.userId} was not on the allowlist; nothing changed.`,
      );
      return 0;
    }
    case "policy": {
      const result = await write((a) =>
        a.dmPolicy === command.policy ? null : { ...a, dmPolicy: command.policy }
      );
      if (!result) return 1;
      out(
        result.changed
          ? `DM policy is now ${command.policy}.`
          : `DM policy was already ${command.policy}; nothing changed.`,
      );
      return 0;
    }
    case "group-add": {
      const entry = { requireMention: command.requireMention, allowFrom: command.allowFrom };
      // Replaces the whole entry, as the official skill does: stale keys from
      // an older entry must not keep applying.
      const result = await write((a) => ({
        ...a,
        groups: { ...a.groups, [command.channelId]: entry },
      }));
      if (!result) return 1;
      const who = entry.allowFrom.length ? `users ${entry.allowFrom.join(", ")}` : "any member";
      const when = entry.requireMention ? "when they mention the bot" : "on every message";
      out(`Channel ${command.channelId} added: ${who}, ${when}.`);
      return 0;
    }
    case "group-rm": {
      const result = await write((a) => {
        if (!Object.hasOwn(a.groups, command.channelId)) return null;
        const { [command.channelId]: _gone, ...groups } = a.groups;
        return { ...a, groups };
      });
      if (!result) return 1;
      out(
        result.changed
          ? `Channel ${command.channelId} removed.`
          : `Channel ${command.channelId} was not configured; nothing changed.`,
      );
      return 0;
    }
    case "set": {
      const result = await write((a) => ({ ...a, [command.key]: command.value }));
      if (!result) return 1;
      out(`${command.key} = ${JSON.stringify(command.value)}`);
      return 0;
    }
    case "unset": {
      const result = await write((a) => {
        if (a[command.key] === undefined) return null;
        const next = { ...a };
        delete next[command.key];
        return next;
      });
      if (!result) return 1;
      out(
        result.changed
          ? `${command.key} unset; the default applies.`
          : `${command.key} was not set; nothing changed.`,
      );
      return 0;
    }
  }
}

function status(store: AccessStore, io: AccessCliIo, now: number): number {
  const result = store.read();
  if (!result.ok) {
    io.stderr(
      `error: ${result.error}\n` +
        "While access.json is broken the bridge ignores every message.\n" +
        "To fix it: correct the file by hand at the place named above, or run any write\n" +
        `command with --fresh to start over from defaults (e.g. '${CLI_NAME} policy ` +
        "pairing --fresh');\nthe broken file is then kept as access.json.corrupt-<time>.\n",
    );
    return 1;
  }
  let exists = true;
  try {
    Deno.statSync(store.path);
  } catch {
    exists = false;
  }
  io.stdout(formatStatus(result.access, { path: store.path, exists, now }));
  return 0;
}

async function configure(
  command: Extract<AccessCommand, { verb: "configure" }>,
  stateDir: string,
  io: AccessCliIo,
): Promise<number> {
  let token: string;
  if ("fromStdin" in command) {
    const isTerminal = io.stdinIsTerminal ?? (() => Deno.stdin.isTerminal());
    try {
      if (isTerminal()) {
        const hidden = io.readHidden ?? ((p: string) => readHiddenLine(p, io.stderr));
        token = (await hidden("Paste the bot token (input is hidden), then press Enter: "))
          .trim();
      } else {
        token = (await (io.readStdin ?? readAllStdin)()).trim();
      }
    } catch (err) {
      if (!(err instanceof PromptCancelled)) throw err;
      io.stderr("cancelled; nothing was saved\n");
      return 1;
    }
    const bad = token === ""
      ? "no token was given: run this in a terminal to be prompted for it, or pass it on " +
        `standard input (${CLI_NAME} configure < token.txt)`
      : tokenError(token);
    if (bad) {
      io.stderr(`error: ${bad}\n`);
      return 2;
    }
  } else {
    token = command.token.trim();
    io.stderr(
      "note: a token given as an argument stays in your shell history; run " +
        `'${CLI_NAME} configure' without it to be prompted instead\n`,
    );
  }
  const path = storeBotToken(stateDir, token);
  io.stdout(`Saved DISCORD_BOT_TOKEN ${maskToken(token)} to ${path} (mode 0600).\n`);
  io.stdout("Restart the bridge (or Claude Code) for it to take effect.\n");
  return 0;
}
