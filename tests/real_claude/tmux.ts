/**
 * A terminal for the real Claude Code: one tmux session on a private socket,
 * with no user tmux configuration, that the test can type into and read.
 *
 * @module
 */

/** A tmux session running one command. */
export interface Terminal {
  /** The pid of the pane's process (the command itself: it is exec'd). */
  panePid(): Promise<number | undefined>;
  /** The visible screen as text. */
  screen(): Promise<string>;
  /** Types literal text (no Enter). */
  type(text: string): Promise<void>;
  /** Sends named keys, e.g. "Enter", "Escape". */
  keys(...keys: string[]): Promise<void>;
  /** Kills the tmux server (and with it whatever still runs in the pane). */
  close(): Promise<void>;
}

async function tmux(socket: string, args: string[]): Promise<string> {
  const out = await new Deno.Command("tmux", {
    args: ["-S", socket, "-f", "/dev/null", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `tmux ${args[0]} failed: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/** Starts `argv` in a detached 200×50 tmux session on a private socket in `dir`. */
export async function startTerminal(
  opts: { dir: string; cwd: string; argv: string[] },
): Promise<Terminal> {
  const socket = `${opts.dir}/tmux.sock`;
  await tmux(socket, [
    "new-session",
    "-d",
    "-x",
    "200",
    "-y",
    "50",
    "-s",
    "claude",
    "-c",
    opts.cwd,
    "--",
    ...opts.argv,
  ]);
  // Keep the pane (and its pid) readable after the command exits.
  await tmux(socket, ["set-option", "-t", "claude", "remain-on-exit", "on"]).catch(() => {});
  return {
    async panePid() {
      const out = await tmux(socket, ["display-message", "-p", "-t", "claude", "#{pane_pid}"])
        .catch(() => "");
      const pid = Number(out.trim());
      return pid > 0 ? pid : undefined;
    },
    screen: () => tmux(socket, ["capture-pane", "-p", "-t", "claude"]).catch((e) => String(e)),
    async type(text) {
      await tmux(socket, ["send-keys", "-t", "claude", "-l", text]);
    },
    async keys(...keys) {
      await tmux(socket, ["send-keys", "-t", "claude", ...keys]);
    },
    async close() {
      await tmux(socket, ["kill-server"]).catch(() => {});
    },
  };
}
