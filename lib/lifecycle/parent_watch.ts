/**
 * Exit when Claude Code is gone, even if it never closed our stdin.
 *
 * Normally the session's end reaches us as stdin EOF or a signal. But when
 * Claude Code is killed with SIGKILL while another process still holds the
 * write end of our stdin pipe (a child it leaked the descriptor to, a wrapper
 * script, a terminal multiplexer), neither comes, and the bridge would live on
 * as an orphan holding the bot's gateway login: duplicate logins, wasted
 * identifies, messages answered by nobody.
 *
 * So we poll, cheaply, whether the process that started us has gone: our
 * parent pid changes when the parent dies (we are re-parented to init or a
 * subreaper). Started through `deno task start`, our parent is the `deno task`
 * process and Claude Code is the grandparent; `deno task` outlives a killed
 * Claude Code (it waits for us), so we also watch its parent pid (Linux:
 * /proc, which Deno opens only under `--allow-all`; under the sandbox of
 * `deno task start` the task's own orphan-watch step does this instead, see
 * orphan_watch.ts). Terminals and shells above that are not watched: their end reaches
 * us as SIGHUP or EOF, and watching them would tie the bridge to processes
 * that did not start it.
 *
 * @module
 */

/** Fields of `/proc/<pid>/stat` we use. */
interface ProcStat {
  ppid: number;
  startTime: string;
}

function procStat(pid: number): ProcStat | undefined {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name (field 2) is in parentheses and may contain spaces
    // or parentheses itself: split after the last ")".
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(rest[1]), startTime: rest[19] };
  } catch {
    return undefined;
  }
}

function procArgv(pid: number): string[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/** Whether argv is a `deno task …` invocation (the launcher between Claude Code and us). */
export function isDenoTask(argv: string[]): boolean {
  const exe = (argv[0] ?? "").split(/[\\/]/).pop() ?? "";
  return /^deno(\.exe)?$/i.test(exe) && argv.slice(1).includes("task");
}

/** Stops the watch. */
export type StopWatch = () => void;

/**
 * Calls `onGone` once (with a reason) when the process that launched the
 * bridge is gone. The timer is unref'd: it never keeps the process alive.
 */
export function watchParent(
  onGone: (reason: string) => void,
  opts: { intervalMs?: number } = {},
): StopWatch {
  const parent = Deno.ppid;
  // Already orphaned at start (or started by init itself): nothing to watch.
  if (parent <= 1) return () => {};
  const parentStat = procStat(parent);
  // With /proc, also the launcher's parent when the launcher is `deno task`.
  let grandparent: number | undefined;
  if (parentStat && parentStat.ppid > 1 && isDenoTask(procArgv(parent))) {
    grandparent = parentStat.ppid;
  }

  let done = false;
  const check = () => {
    if (done) return;
    let reason: string | undefined;
    if (Deno.ppid !== parent) {
      reason = `the process that started the bridge (pid ${parent}) is gone`;
    } else if (grandparent !== undefined) {
      const now = procStat(parent);
      // The same pid with another start time is a new process: ours is gone.
      if (!now || now.startTime !== parentStat!.startTime) {
        reason = `the deno task process (pid ${parent}) is gone`;
      } else if (now.ppid !== grandparent) {
        reason = `Claude Code (pid ${grandparent}, which ran deno task) is gone`;
      }
    }
    if (reason) {
      done = true;
      clearInterval(timer);
      onGone(reason);
    }
  };
  const timer = setInterval(check, opts.intervalMs ?? 500);
  Deno.unrefTimer(timer);
  return () => {
    done = true;
    clearInterval(timer);
  };
}
