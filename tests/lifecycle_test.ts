/**
 * Process lifecycle, end to end: one bridge per state directory, takeover
 * from a dead holder, and no orphan when Claude Code is killed with SIGKILL.
 * Linux only (reads /proc to find processes).
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { startEmulator } from "./emulator/mod.ts";
import { makeStateDir, startBridge, waitUntil } from "./helpers/bridge.ts";
import { makeWorld } from "./helpers/world.ts";
import {
  alive,
  argv,
  bridgePidUnder,
  descendants,
  killIfAlive,
  processesWithArgs,
  REPO,
  waitForExit,
} from "./helpers/process.ts";

const e2e = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "a second session on the same state directory reaches Discord through the first without logging in, and takes over when the first is SIGKILLed",
  e2e,
  async () => {
    const w = await makeWorld();
    const second = await startBridge({
      env: {
        DISCORD_BOT_TOKEN: w.emu.token,
        DISCORD_API_URL: w.emu.apiUrl,
        DISCORD_STATE_DIR: w.stateDir,
      },
    });
    try {
      await second.waitForStderr("another Claude Code session holds the Discord bot");
      const firstPid = await bridgePidUnder(w.bridge.pid);
      assertMatch(second.stderr(), new RegExp(`bridge process ${firstPid}`));
      // Its tools work through the holder's connection.
      const r = await second.call("reply", { chat_id: w.aliceDm, text: "from the second session" });
      assert(!r.isError, r.text);
      // Duplicate logins are what the lock prevents: still one IDENTIFY.
      await new Promise((r) => setTimeout(r, 300));
      assertEquals(w.emu.gateway.identifies, 1);
      // The holder dies without any cleanup: the kernel drops its lock.
      Deno.kill(firstPid, "SIGKILL");
      await second.waitForStderr("this session now holds the Discord bot");
      await second.waitForStderr("connected to Discord as");
      assertEquals(w.emu.gateway.identifies, 2);
      const ok = await second.call("reply", { chat_id: w.aliceDm, text: "second session now" });
      assert(!ok.isError, ok.text);
    } finally {
      await second.close();
      await w.dispose();
    }
  },
);

Deno.test(
  "a lock file left by a dead process does not block, and a clean exit removes the lock",
  e2e,
  async () => {
    const emu = await startEmulator({ heartbeatIntervalMs: 1000 });
    const stateDir = await makeStateDir({});
    // What a crashed bridge leaves behind: a lock file naming a pid that is gone.
    await Deno.writeTextFile(
      `${stateDir}/bridge.lock`,
      JSON.stringify({ pid: 4_194_000, startedAt: "2026-01-01T00:00:00.000Z" }),
    );
    const bridge = await startBridge({
      env: {
        DISCORD_BOT_TOKEN: emu.token,
        DISCORD_API_URL: emu.apiUrl,
        DISCORD_STATE_DIR: stateDir,
      },
    });
    try {
      await bridge.waitForStderr("connected to Discord as");
      const pid = await bridgePidUnder(bridge.pid);
      const holder = JSON.parse(await Deno.readTextFile(`${stateDir}/bridge.lock`));
      assertEquals(holder.pid, pid);
      await bridge.close();
      await waitForExit(pid, 3000);
      // Removed on the way out, so nothing suggests a bridge still runs.
      await Deno.stat(`${stateDir}/bridge.lock`).then(
        () => assert(false, "bridge.lock is still there"),
        (err) => assert(err instanceof Deno.errors.NotFound),
      );
    } finally {
      await bridge.close();
      await emu.close();
      await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    }
  },
);

/**
 * Starts `argv` as "Claude Code" (a wrapper process), waits for the bridge
 * below it to log in, SIGKILLs the wrapper, and checks that the bridge and
 * every launcher process between them exit within 3 s, closing the gateway.
 */
async function parentKilledScenario(wrapperArgv: string[]) {
  const emu = await startEmulator({ heartbeatIntervalMs: 1000 });
  const stateDir = await makeStateDir({});
  const wrapper = new Deno.Command(wrapperArgv[0], {
    args: wrapperArgv.slice(1),
    cwd: REPO,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "/tmp",
      NO_COLOR: "1",
      DISCORD_BOT_TOKEN: emu.token,
      DISCORD_API_URL: emu.apiUrl,
      DISCORD_STATE_DIR: stateDir,
    },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  (async () => {
    for await (const chunk of wrapper.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })().catch(() => {});
  let bridgePid = 0;
  const launcherPids: number[] = [];
  try {
    bridgePid = await bridgePidUnder(wrapper.pid, 8000);
    await emu.waitFor(() => emu.gateway.connected, { timeoutMs: 8000, message: "login" });
    // Everything between the wrapper and the bridge (e.g. `deno task`).
    const parentOf = (pid: number) => {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    };
    for (let p = parentOf(bridgePid); p !== wrapper.pid && p > 1; p = parentOf(p)) {
      launcherPids.push(p);
    }
    wrapper.kill("SIGKILL");
    const killedAt = Date.now();
    await waitForExit(bridgePid, 3000);
    for (const p of launcherPids) await waitForExit(p, 1000);
    assert(Date.now() - killedAt < 3000);
    // It shut down properly (not a hard kill): the gateway connection was closed.
    await emu.waitFor(() => !emu.gateway.connected, { timeoutMs: 1000, message: "disconnect" });
    return await waitUntil(() => /shutting down \(.*\)/.exec(stderr)?.[0], 2000, "shutdown line");
  } finally {
    killIfAlive(bridgePid);
    launcherPids.forEach(killIfAlive);
    await emu.close();
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
}

Deno.test(
  "started as .mcp.json says (deno task), the bridge exits within 3 s when Claude Code is SIGKILLed",
  e2e,
  async () => {
    const json = JSON.parse(await Deno.readTextFile(`${REPO}/.mcp.json`)).mcpServers.discord;
    // "Claude Code": spawns the server with a stdin pipe only it holds (CLOEXEC,
    // as Node does), then hangs until killed.
    const claude = `new Deno.Command(${JSON.stringify(json.command)}, { args: ${
      JSON.stringify(json.args)
    }, stdin: "piped", stdout: "null", stderr: "inherit" }).spawn(); setInterval(() => {}, 1e6);`;
    const line = await parentKilledScenario(["deno", "eval", claude]);
    assertMatch(line, /shutting down \((stdin closed|MCP connection closed|.* is gone)\)/);
  },
);

Deno.test(
  "the bridge exits within 3 s when its parent is SIGKILLed even though stdin stays open",
  e2e,
  async () => {
    // `sleep` holds the write end of the bridge's stdin, so no EOF comes
    // (a parent that leaked the pipe to another child): only the parent
    // watch can notice. Started as the acceptance checks do: deno run -A.
    const line = await parentKilledScenario(["sh", "-c", "sleep 8 | deno run --quiet -A main.ts"]);
    assertMatch(line, /shutting down \(the process that started the bridge \(pid \d+\) is gone\)/);
  },
);

Deno.test(
  "under the shipped launch, SIGKILL of Claude Code while a grandchild holds the bridge's stdin leaves no process of ours after 2 s",
  e2e,
  async () => {
    const emu = await startEmulator({ heartbeatIntervalMs: 1000 });
    const stateDir = await makeStateDir({});
    const json = JSON.parse(await Deno.readTextFile(`${REPO}/.mcp.json`)).mcpServers.discord;
    const launch = [json.command, ...json.args].map((a: string) => `'${a}'`).join(" ");
    // "Claude Code": spawns the server exactly as .mcp.json says, with piped
    // stdio; its other child (`sleep`, our grandchild) holds the write end of
    // the server's stdin, so no EOF comes when "Claude Code" dies.
    const claude = new Deno.Command("sh", {
      args: ["-c", `sleep 60 | ${launch}`],
      cwd: REPO,
      env: {
        PATH: Deno.env.get("PATH") ?? "",
        HOME: Deno.env.get("HOME") ?? "/tmp",
        NO_COLOR: "1",
        DISCORD_BOT_TOKEN: emu.token,
        DISCORD_API_URL: emu.apiUrl,
        DISCORD_STATE_DIR: stateDir,
      },
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let stderr = "";
    (async () => {
      for await (const chunk of claude.stderr.pipeThrough(new TextDecoderStream())) {
        stderr += chunk;
      }
    })().catch(() => {});
    let ours: number[] = [];
    let holder = 0;
    try {
      const bridgePid = await bridgePidUnder(claude.pid, 8000);
      await emu.waitFor(() => emu.gateway.connected, { timeoutMs: 8000, message: "login" });
      // The tree before the kill: deno task, the bridge, and the detached
      // watcher (re-parented away from the tree, found by its argv).
      const tree = descendants(claude.pid);
      const task = tree.find((p) => argv(p).includes("task"))!;
      assert(task, `deno task under ${claude.pid}: ${tree.map((p) => argv(p).join(" "))}`);
      holder = tree.find((p) => argv(p)[0] === "sleep")!;
      ours = [
        ...tree.filter((p) => p !== holder),
        ...processesWithArgs("discord-orphan-watch", String(task)),
      ];
      assert(ours.includes(bridgePid));
      // The bridge learnt who started it (for teammates: the channel flags).
      const environ = Deno.readTextFileSync(`/proc/${bridgePid}/environ`).split("\0");
      const claudeArgv = environ.find((e) => e.startsWith("DISCORD_CLAUDE_ARGV="))?.slice(20);
      const reported = JSON.parse(claudeArgv ?? "null");
      assertMatch(reported[0], /(^|\/)sh$/);
      assertEquals(reported.slice(1), ["-c", `sleep 60 | ${launch}`]);

      claude.kill("SIGKILL");
      const killedAt = Date.now();
      await waitUntil(
        () => ours.every((p) => !alive(p)),
        2000,
        `no process of ours alive 2 s after the kill; alive: ${
          ours.filter(alive).map((p) => `${p} ${argv(p).join(" ").slice(0, 80)}`)
        }`,
      );
      assert(Date.now() - killedAt <= 2000);
      assert(alive(holder), "the stdin holder is still there: no EOF reached the bridge");
      // A clean shutdown, not a hard kill: the gateway connection was closed.
      await emu.waitFor(() => !emu.gateway.connected, { timeoutMs: 1000, message: "disconnect" });
      assertMatch(stderr, /shutting down \(SIGTERM\)/);
    } finally {
      for (const p of [...ours, holder]) if (p) killIfAlive(p);
      await claude.status.catch(() => {});
      await emu.close();
      await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    }
  },
);

Deno.test(
  "under the shipped launch, a normal end (stdin EOF) leaves no watcher behind",
  e2e,
  async () => {
    const stateDir = await makeStateDir({});
    // No token: the bridge serves MCP only; the lifecycle is the same.
    const bridge = await startBridge({ env: { DISCORD_STATE_DIR: stateDir } });
    try {
      const task = bridge.pid; // the process Claude Code spawned: `deno task`
      const bridgePid = await bridgePidUnder(task);
      await waitUntil(() => processesWithArgs("discord-orphan-watch", String(task)).length, 3000);
      await bridge.close();
      await waitUntil(
        () =>
          !alive(task) && !alive(bridgePid) &&
          processesWithArgs("discord-orphan-watch", String(task)).length === 0,
        2000,
        "task, bridge and watcher gone",
      );
    } finally {
      await bridge.close();
      await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    }
  },
);
