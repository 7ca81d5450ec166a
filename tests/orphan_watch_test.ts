/**
 * The orphan watcher on its own (Linux): a stand-in "Claude Code" (sh) with
 * a stand-in "deno task" below it, watched exactly as the `start` task's
 * first step watches the real ones. The end-to-end case (the real task, the
 * real bridge) is in lifecycle_test.ts.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  claudeArgvFromEnv,
  encodeClaudeArgv,
  MAX_ARG_CHARS,
  parseWatchOutput,
  startOrphanWatch,
} from "../lib/lifecycle/orphan_watch.ts";
import { waitUntil } from "./helpers/bridge.ts";
import { alive, children, killIfAlive, processesWithArgs } from "./helpers/process.ts";

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

const watchers = (task: number) => processesWithArgs("discord-orphan-watch", String(task));

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
