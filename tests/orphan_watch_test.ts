/**
 * The orphan watcher on its own (Linux): a stand-in "Claude Code" (sh) with
 * a stand-in "deno task" below it, watched exactly as the `start` task's
 * first step watches the real ones. The end-to-end case (the real task, the
 * real bridge) is in lifecycle_test.ts.
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import {
  claudeArgvFromEnv,
  encodeClaudeArgv,
  MAX_ARG_CHARS,
  parseWatchOutput,
  startOrphanWatch,
} from "../lib/lifecycle/orphan_watch.ts";
import { waitUntil } from "./helpers/bridge.ts";
import { alive, children, killIfAlive, processesWithArgs, REPO } from "./helpers/process.ts";

/** Starts `sh -c script` as "Claude Code" and returns it with its one child (the "task"). */
async function claudeWithTask(script: string) {
  const claude = new Deno.Command("sh", {
    args: ["-c", script],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const task = await waitUntil(() => children(claude.pid)[0], 3000, "the task process");
  return { claude, task };
}

/** The watcher of `task`: a fork of it (say `sleep` between fork and exec) shows the same argv. */
const watchers = (task: number) => {
  const found = processesWithArgs("discord-orphan-watch", String(task));
  return found.filter((pid) => !found.includes(parentOf(pid)));
};
const parentOf = (pid: number) => {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return 0;
  }
};

Deno.test("the watcher's report parses into a pid and an exact argv", () => {
  assertEquals(parseWatchOutput("4242\nclaude\0--channels\0a b\0"), {
    claudePid: 4242,
    claudeArgv: ["claude", "--channels", "a b"],
  });
  assertEquals(parseWatchOutput("4242\n"), { claudePid: 4242 });
  assertEquals(parseWatchOutput("\n"), {});
  assertEquals(parseWatchOutput(""), {});
  assertEquals(claudeArgvFromEnv('["claude","--channels","plugin:x"]'), [
    "claude",
    "--channels",
    "plugin:x",
  ]);
  for (const unknown of [undefined, "", "not json", "[1,2]", '{"a":1}']) {
    assertEquals(claudeArgvFromEnv(unknown), undefined, String(unknown));
  }
});

Deno.test("a long prompt on Claude Code's command line is cut, so the bridge can still start", () => {
  const prompt = "x".repeat(200_000);
  const value = encodeClaudeArgv(["claude", prompt, "--channels", "plugin:discord"])!;
  const argv = claudeArgvFromEnv(value)!;
  assertEquals(argv[0], "claude");
  assertEquals(argv[1].length, MAX_ARG_CHARS + 1);
  assertEquals(argv.slice(2), ["--channels", "plugin:discord"]);
  assertEquals(encodeClaudeArgv(Array(100).fill("y".repeat(1000))), undefined, "unknown");
});

Deno.test(
  "when Claude Code is SIGKILLed the watcher ends the task within 2 s, then exits",
  { sanitizeOps: false, sanitizeResources: false },
  async () => {
    const { claude, task } = await claudeWithTask("sleep 30 & wait");
    try {
      const info = await startOrphanWatch(task);
      assertEquals(info.claudePid, claude.pid);
      assertEquals(info.claudeArgv?.slice(1), ["-c", "sleep 30 & wait"]);
      assertEquals(watchers(task).length, 1);
      claude.kill("SIGKILL");
      const t0 = Date.now();
      await waitUntil(
        () => !alive(task) && watchers(task).length === 0,
        2000,
        "task and watcher gone",
      );
      assert(Date.now() - t0 <= 2000);
    } finally {
      killIfAlive(task);
      await claude.status;
    }
  },
);

Deno.test(
  "a task (and its child, the bridge) that ignore SIGTERM are SIGKILLed, still within 2 s",
  { sanitizeOps: false, sanitizeResources: false },
  async () => {
    // An ignored signal stays ignored across exec: the `sleep` child ignores it too.
    const { claude, task } = await claudeWithTask(`sh -c 'trap "" TERM; sleep 30; :' & wait`);
    const child = await waitUntil(() => children(task)[0], 3000, "the task's child");
    try {
      await startOrphanWatch(task);
      claude.kill("SIGKILL");
      await waitUntil(
        () => !alive(task) && !alive(child) && watchers(task).length === 0,
        2000,
        "task, its child and the watcher gone",
      );
    } finally {
      killIfAlive(child);
      killIfAlive(task);
      await claude.status;
    }
  },
);

Deno.test(
  "when the session ends normally the watcher exits and signals nobody",
  { sanitizeOps: false, sanitizeResources: false },
  async () => {
    // The task ends by itself; Claude Code lives on (it would start the next server).
    const { claude, task } = await claudeWithTask("sleep 0.7 & wait; sleep 30");
    try {
      await startOrphanWatch(task);
      assertEquals(watchers(task).length, 1);
      await waitUntil(() => !alive(task), 3000, "the task to end");
      await waitUntil(() => watchers(task).length === 0, 1500, "the watcher to exit");
      assert(alive(claude.pid), "Claude Code untouched");
    } finally {
      claude.kill("SIGKILL");
      await claude.status;
    }
  },
);

Deno.test(
  "without /proc (the macOS path) the watcher still ends the task when Claude Code dies, and reports no argv",
  { sanitizeOps: false, sanitizeResources: false },
  async () => {
    const { claude, task } = await claudeWithTask("sleep 30 & wait");
    try {
      const info = await startOrphanWatch(task, { procRoot: "/nonexistent-proc" });
      assertEquals(info, { claudePid: claude.pid });
      claude.kill("SIGKILL");
      await waitUntil(
        () => !alive(task) && watchers(task).length === 0,
        2000,
        "task and watcher gone",
      );
    } finally {
      killIfAlive(task);
      await claude.status;
    }
  },
);

Deno.test(
  "without /proc, a normal end of the task makes the watcher exit",
  { sanitizeOps: false, sanitizeResources: false },
  async () => {
    const { claude, task } = await claudeWithTask("sleep 0.5 & wait; sleep 30");
    try {
      await startOrphanWatch(task, { procRoot: "/nonexistent-proc" });
      await waitUntil(() => !alive(task), 3000, "the task to end");
      await waitUntil(() => watchers(task).length === 0, 1500, "the watcher to exit");
      assert(alive(claude.pid));
    } finally {
      claude.kill("SIGKILL");
      await claude.status;
    }
  },
);

Deno.test(
  "a task pid taken by another process during the SIGTERM grace is never SIGKILLed",
  { sanitizeOps: false, sanitizeResources: false },
  async () => {
    // A procfs the test controls, so that a pid reuse can be staged: the
    // watched "task" is a real process, but what the watcher reads about it
    // (parent, start time) comes from these files. On SIGTERM the task
    // itself swaps in a stat with another start time: from then on its pid
    // belongs, as far as the watcher can tell, to a stranger.
    const fake = await Deno.makeTempDir();
    const task = new Deno.Command("sh", {
      args: [
        "-c",
        `trap 'mv "$1/next" "$1/$$/stat"' TERM; while :; do sleep 0.05; done`,
        "t",
        fake,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const claude = Deno.pid;
    const stat = (ppid: number, start: number) =>
      `${task.pid} (deno) S ${ppid} ${Array(17).fill(0).join(" ")} ${start} 0 0\n`;
    const put = async (name: string, text: string) => {
      await Deno.writeTextFile(`${fake}/.tmp`, text);
      await Deno.rename(`${fake}/.tmp`, `${fake}/${name}`);
    };
    try {
      await Deno.mkdir(`${fake}/${task.pid}`);
      await put(`${task.pid}/stat`, stat(claude, 111));
      await put("next", stat(1, 222));
      const info = await startOrphanWatch(task.pid, { procRoot: fake });
      assertEquals(info.claudePid, claude);
      // "Claude Code" dies: the task is re-parented; the watcher sends SIGTERM.
      await put(`${task.pid}/stat`, stat(1, 111));
      const swapped = () => {
        try {
          Deno.statSync(`${fake}/next`);
          return false;
        } catch {
          return true;
        }
      };
      await waitUntil(swapped, 5000, "the SIGTERM (the task swapped its stat)");
      await waitUntil(() => watchers(task.pid).length === 0, 5000, "the watcher to exit");
      assert(alive(task.pid), "the process now at that pid was SIGKILLed");
    } finally {
      killIfAlive(task.pid);
      await task.status;
      await Deno.remove(fake, { recursive: true });
    }
  },
);

Deno.test("a watcher that cannot start says so on stderr, and the task still starts", async () => {
  // The same step as the start task's, without the one permission it needs.
  const out = await new Deno.Command("deno", {
    args: ["run", "--quiet", "--no-prompt", "lib/lifecycle/orphan_watch.ts"],
    cwd: REPO,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success);
  assertEquals(new TextDecoder().decode(out.stdout), "");
  assertMatch(
    new TextDecoder().decode(out.stderr),
    /^discord channel: orphan watch not started \(.*\): if Claude Code is killed/,
  );
});

Deno.test(
  "a watcher whose sleep is killed keeps watching",
  { sanitizeOps: false, sanitizeResources: false },
  async () => {
    const { claude, task } = await claudeWithTask("sleep 30 & wait");
    try {
      await startOrphanWatch(task);
      const [watcher] = watchers(task);
      // Its `sleep` (exec'd: argv no longer the watcher's) dies, as under an OOM kill.
      // (Retried if that sleep ended by itself first: a 0.5 s window.)
      for (let tries = 1;; tries++) {
        const nap = await waitUntil(
          () =>
            children(watcher).find((p) =>
              alive(p) && !processesWithArgs("discord-orphan-watch").includes(p)
            ),
          3000,
          "the watcher's sleep",
        );
        try {
          Deno.kill(nap, "SIGKILL");
          break;
        } catch (err) {
          if (tries === 3) throw err;
        }
      }
      await new Promise((r) => setTimeout(r, 700));
      assert(alive(watcher), "the watcher gave up");
      claude.kill("SIGKILL");
      await waitUntil(
        () => !alive(task) && watchers(task).length === 0,
        3000,
        "task and watcher gone",
      );
    } finally {
      killIfAlive(task);
      await claude.status;
    }
  },
);
