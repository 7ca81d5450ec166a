/**
 * The orphan watch of `deno task start`: the one launcher step that may look
 * at processes, so that the bridge never has to.
 *
 * Claude Code starts `deno task start`, whose task shell starts the bridge.
 * When Claude Code dies by SIGKILL while some other process still holds the
 * write end of the bridge's stdin, no EOF comes; `deno task` lives on (it
 * waits for the bridge), so the bridge's parent pid does not change either;
 * and under its sandbox the bridge cannot read `/proc` (Deno asks for
 * `--allow-all` for any `/proc/<pid>` access). Without help it would live on,
 * logged in to Discord, blocking the user's next session.
 *
 * So the `start` task runs this module first, with `--allow-run=sh` and
 * nothing else (no read, write, net or env access). It starts a detached
 * POSIX `sh` loop (about 1 MB of memory; only shell built-ins plus one
 * `sleep` every half second) that:
 *
 * - learns who started `deno task` (Claude Code) from `/proc/<task>/stat`;
 * - every 0.5 s checks that `deno task` still has that parent; when it has
 *   not (Claude Code died, `deno task` was re-parented), sends SIGTERM to
 *   `deno task` (which forwards it to the bridge: a clean shutdown), and
 *   SIGKILLs `deno task` and its children if they are still there 1.2 s later;
 * - exits as soon as `deno task` has ended (the normal end of a session), or
 *   its pid was reused (its start time changed), never signalling a stranger:
 *   the start time is checked again before every signal, also during the
 *   grace between SIGTERM and SIGKILL.
 *
 * It also prints Claude Code's argv as a JSON array, which the task passes to
 * the bridge as `DISCORD_CLAUDE_ARGV` (empty when it cannot be known; very
 * long arguments cut, see {@link encodeClaudeArgv}), e.g. to tell whether the
 * session was started with a channel flag.
 *
 * Without `/proc` (macOS) the loop degrades to `kill -0` on Claude Code's pid,
 * learnt once with `ps` (a reused pid could keep it waiting), the task's
 * identity is its `ps -o lstart=` start time (checked before every signal),
 * and the argv is not reported. On Windows no watch is started.
 *
 * @module
 */

import { log } from "../log.ts";

/**
 * The watcher, as one POSIX `sh` script. `$1` is the pid of `deno task`
 * (`$2`, where procfs is mounted, is for tests).
 * Before it detaches from its stdout it prints the launcher's pid on one
 * line and then the launcher's `/proc/<pid>/cmdline` (NUL-separated argv).
 */
export const WATCH_SCRIPT = `
set -f
T=$1
# Where procfs is mounted; tests pass a missing directory to run the macOS path.
R=\${2:-/proc}
# Poll interval, and the grace between SIGTERM and SIGKILL (N waits of G s);
# a sleep without fractions (some minimal systems) gets whole seconds.
I=0.5 G=0.2 N=6 PS=
sleep 0.01 2>/dev/null || { I=1 G=1 N=1; }
# Whether T is still our deno task: alive, not a zombie, and not a new
# process that reused its pid (another start time), so no signal ever
# reaches a stranger, also during the grace below.
running() {
  if [ -z "$PS" ]; then
    read -r s < "$R/$T/stat" 2>/dev/null || return 1
    set -- \${s##*') '}
    [ "$1" != Z ] && [ "\${20}" = "$START" ]
  else
    [ "$(ps -o lstart= -p "$T" 2>/dev/null)" = "$START" ]
  fi
}
# Signals the task (deno task forwards SIGTERM to the bridge); then, if need
# be, SIGKILLs it and its children.
stop() {
  running || exit 0
  kill -TERM "$T" 2>/dev/null
  while [ "$N" -gt 0 ]; do
    sleep "$G"
    running || exit 0
    N=$((N - 1))
  done
  if [ -r "$R/$T/task/$T/children" ]; then
    kids=
    set +f
    for f in "$R/$T"/task/*/children; do
      read -r k < "$f"
      kids="$kids $k"
    done
    set -f
    kill -KILL $kids "$T" 2>/dev/null
  else
    pkill -KILL -P "$T" 2>/dev/null
    kill -KILL "$T" 2>/dev/null
  fi
  exit 0
}
if read -r s < "$R/$T/stat" 2>/dev/null; then
  set -- \${s##*') '}
  P=$2
  START=\${20}
  printf '%s\\n' "$P"
  cat "$R/$P/cmdline" 2>/dev/null
  exec >/dev/null 2>&1 </dev/null
  [ "$P" -gt 1 ] || exit 0
  # A sleep that failed once (killed, or no fork under memory pressure) is
  # retried: one lost sleep must not end the watch silently.
  while sleep "$I" || sleep "$I"; do
    read -r s < "$R/$T/stat" 2>/dev/null || exit 0
    set -- \${s##*') '}
    [ "\${20}" = "$START" ] || exit 0
    [ "$2" = "$P" ] || stop
  done
else
  PS=1
  P=$(ps -o ppid= -p "$T" 2>/dev/null | tr -d ' ')
  START=$(ps -o lstart= -p "$T" 2>/dev/null)
  printf '%s\\n' "$P"
  exec >/dev/null 2>&1 </dev/null
  [ -n "$P" ] && [ "$P" -gt 1 ] && [ -n "$START" ] || exit 0
  # A sleep that failed once (killed, or no fork under memory pressure) is
  # retried: one lost sleep must not end the watch silently.
  while sleep "$I" || sleep "$I"; do
    kill -0 "$T" 2>/dev/null || exit 0
    kill -0 "$P" 2>/dev/null || stop
  done
fi
`;

/** What the watcher reported before it detached. */
export interface LauncherInfo {
  /** Pid of the process that started `deno task` (Claude Code). */
  claudePid?: number;
  /** Its argv, when the platform exposes it exactly. */
  claudeArgv?: string[];
}

/** Parses the watcher's first output: a pid line, then NUL-separated argv. */
export function parseWatchOutput(out: string): LauncherInfo {
  const nl = out.indexOf("\n");
  if (nl < 0) return {};
  const pid = Number(out.slice(0, nl));
  const info: LauncherInfo = {};
  if (Number.isInteger(pid) && pid > 1) info.claudePid = pid;
  const rest = out.slice(nl + 1);
  if (info.claudePid && rest.length > 0) {
    const argv = rest.split("\0");
    if (argv.at(-1) === "") argv.pop();
    if (argv.length > 0) info.claudeArgv = argv;
  }
  return info;
}

/** Arguments longer than this are cut in `DISCORD_CLAUDE_ARGV` (flags are short; prompts may not be). */
export const MAX_ARG_CHARS = 1024;
/** Above this the argv is reported as unknown: an environment string must stay far below 128 KiB. */
export const MAX_ARGV_JSON = 32 * 1024;

/**
 * `DISCORD_CLAUDE_ARGV`'s value for an argv: a JSON array, each argument cut
 * to {@link MAX_ARG_CHARS} (a long prompt given on the command line must not
 * make the bridge's environment too big to start), or undefined when even
 * that is too long.
 */
export function encodeClaudeArgv(argv: readonly string[]): string | undefined {
  const json = JSON.stringify(
    argv.map((a) => (a.length > MAX_ARG_CHARS ? `${a.slice(0, MAX_ARG_CHARS)}…` : a)),
  );
  return json.length <= MAX_ARGV_JSON ? json : undefined;
}

/**
 * Reads `DISCORD_CLAUDE_ARGV` as the bridge receives it: a JSON array of
 * strings, or undefined when it is unset, empty or malformed (unknown).
 */
export function claudeArgvFromEnv(value: string | undefined): string[] | undefined {
  if (!value) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    if (Array.isArray(parsed) && parsed.every((a) => typeof a === "string")) {
      return parsed as string[];
    }
  } catch {
    // fall through: unknown
  }
  return undefined;
}

/**
 * Starts the detached watcher for the `deno task` process `taskPid` and
 * returns what it reported. Never throws: without a watcher the bridge still
 * ends on stdin EOF and on signals, as before (a failure to start is logged).
 */
export async function startOrphanWatch(
  taskPid: number,
  opts: { procRoot?: string; log?: (line: string) => void } = {},
): Promise<LauncherInfo> {
  if (Deno.build.os === "windows" || taskPid <= 1) return {};
  try {
    const args = ["-c", WATCH_SCRIPT, "discord-orphan-watch", String(taskPid)];
    if (opts.procRoot) args.push(opts.procRoot);
    const child = new Deno.Command("sh", {
      args,
      // No token or other secret in the watcher's environment.
      clearEnv: true,
      env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin" },
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      detached: true,
    }).spawn();
    child.unref();
    const out = await new Response(child.stdout).text();
    return parseWatchOutput(out);
  } catch (err) {
    // Said once, on stderr: without the watch an orphan is possible again.
    opts.log?.(
      `orphan watch not started (${
        err instanceof Error ? err.message : String(err)
      }): if Claude Code is killed while another process holds the bridge's stdin, the bridge may outlive it`,
    );
    return {};
  }
}

if (import.meta.main) {
  // Our parent is the `deno task` process (its task shell runs us in `$(…)`).
  const info = await startOrphanWatch(Deno.ppid, { log });
  const value = info.claudeArgv && encodeClaudeArgv(info.claudeArgv);
  if (value) console.log(value);
}
