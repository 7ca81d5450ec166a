/**
 * One real Claude Code session wired to our bridge, offline: the Discord
 * emulator with an allowlisted user (alice), the fake Messages API, an
 * isolated HOME and scratch project, and `claude` running interactively in a
 * private tmux session with our channel loaded as a development channel.
 *
 * Everything here relies on internals of Claude Code 2.1.332 (flag cache,
 * dialogs, debug-log lines): the version is pinned in {@link CLAUDE_VERSION}.
 *
 * @module
 */
import { type DiscordEmulator, startEmulator } from "../emulator/mod.ts";
import { makeStateDir } from "../helpers/bridge.ts";
import { denoDir, DUMMY_API_KEY, writeClaudeWorld } from "./claude_home.ts";
import { type FakeAnthropic, type Script, startFakeAnthropic } from "./fake_anthropic.ts";
import { startTerminal, type Terminal } from "./tmux.ts";

/** The Claude Code version these tests were written against (`npm i -g @anthropic-ai/claude-code@2.1.332`). */
export const CLAUDE_VERSION = "2.1.332";

/** Generous bounds for a loaded 2-core machine. */
export const SLOW_MS = 45_000;

/**
 * Checks that `claude` is on PATH at the pinned version; throws a clear
 * error otherwise (the test must fail, not skip, when it cannot run).
 */
export async function requirePinnedClaude(): Promise<void> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("claude", {
      args: ["--version"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { DISABLE_AUTOUPDATER: "1" },
    }).output();
  } catch (err) {
    throw new Error(
      `the Claude Code CLI is not installed (${err}); install it with ` +
        `\`npm install -g @anthropic-ai/claude-code@${CLAUDE_VERSION}\` (.ci/run does)`,
    );
  }
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!text.startsWith(`${CLAUDE_VERSION} `)) {
    throw new Error(
      `Claude Code ${CLAUDE_VERSION} is required (these tests use its internals), found ` +
        `"${text}"; install it with \`npm install -g @anthropic-ai/claude-code@${CLAUDE_VERSION}\``,
    );
  }
  const tmux = await new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" })
    .output().catch(() => undefined);
  if (!tmux?.success) {
    throw new Error("tmux is not installed; install it (`apt-get install -y tmux`; .ci/run does)");
  }
}

/** Polls `probe` every 50 ms until truthy. */
export async function until<T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = SLOW_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A running session. */
export interface RealClaude {
  emu: DiscordEmulator;
  fake: FakeAnthropic;
  term: Terminal;
  alice: { id: string; username: string };
  aliceDm: string;
  root: string;
  project: string;
  stateDir: string;
  debugFile: string;
  /** The debug log so far. */
  debugLog(): string;
  /** Waits for `text` in the debug log. */
  waitForLog(text: string | RegExp, timeoutMs?: number): Promise<void>;
  /** Sends a DM from alice. */
  dm(content: string): void;
  close(): Promise<void>;
}

/** Options for {@link startRealClaude}. */
export interface RealClaudeOptions {
  script?: Script;
  /** Extra environment for Claude Code (and so for the bridge it spawns). */
  env?: Record<string, string>;
  /** Extra arguments before the channel flag (e.g. a prompt). */
  prompt?: string;
  /** Wait for this debug-log line before returning (default: channel registered). */
  readyLine?: string | RegExp;
  /**
   * Run `claude` under a shell that stays the terminal's session leader, as
   * when it is started from a script: killing it then sends no SIGHUP.
   */
  underShell?: boolean;
}

/** Starts everything and waits until Claude Code has registered our channel. */
export async function startRealClaude(opts: RealClaudeOptions = {}): Promise<RealClaude> {
  await requirePinnedClaude();
  const root = await Deno.makeTempDir({ prefix: "real-claude-" });
  const { home, project } = await writeClaudeWorld(root, CLAUDE_VERSION);
  const emu = await startEmulator({ heartbeatIntervalMs: 5000 });
  const fake = startFakeAnthropic(opts.script);
  const alice = emu.addUser({ username: "alice" });
  const guild = emu.addGuild({ name: "test guild" });
  emu.addMember(guild.id, alice.id);
  const aliceDm = emu.dmChannel(alice.id).id;
  const stateDir = await makeStateDir({ dmPolicy: "allowlist", allowFrom: [alice.id], groups: {} });
  const debugFile = `${root}/claude-debug.log`;
  const env: Record<string, string> = {
    HOME: home,
    PATH: Deno.env.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin",
    TERM: "xterm-256color",
    LANG: "C.UTF-8",
    DENO_DIR: await denoDir(),
    ANTHROPIC_BASE_URL: fake.url,
    ANTHROPIC_API_KEY: DUMMY_API_KEY,
    DISABLE_AUTOUPDATER: "1",
    DISCORD_BOT_TOKEN: emu.token,
    DISCORD_API_URL: emu.apiUrl,
    DISCORD_STATE_DIR: stateDir,
    ...opts.env,
  };
  const argv = [
    "env",
    "-i",
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    ...(opts.underShell ? ["sh", "-c", 'claude "$@"; exec sleep 600', "sh"] : []),
    "claude",
    ...(opts.prompt !== undefined ? [opts.prompt] : []),
    "--dangerously-load-development-channels",
    "server:discord",
    "--permission-mode",
    "default",
    "--allowedTools",
    "mcp__discord__reply",
    "--debug-file",
    debugFile,
  ];
  const term = await startTerminal({ dir: root, cwd: project, argv });
  const debugLog = () => {
    try {
      return Deno.readTextFileSync(debugFile);
    } catch {
      return "";
    }
  };
  const session: RealClaude = {
    emu,
    fake,
    term,
    alice,
    aliceDm,
    root,
    project,
    stateDir,
    debugFile,
    debugLog,
    async waitForLog(text, timeoutMs = SLOW_MS) {
      await until(
        () => typeof text === "string" ? debugLog().includes(text) : text.test(debugLog()),
        `debug log line ${text}`,
        timeoutMs,
      ).catch(async (err) => {
        throw new Error(
          `${err.message}\nscreen:\n${await term.screen()}\nlog tail:\n${debugLog().slice(-3000)}`,
        );
      });
    },
    dm(content) {
      emu.sendMessage({ channelId: aliceDm, authorId: alice.id, content });
    },
    async close() {
      await term.close();
      await fake.close();
      await emu.close();
      await Deno.remove(root, { recursive: true }).catch(() => {});
      await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    },
  };
  try {
    // The development-channels warning (Enter accepts it) shows only while
    // channels are available; either way, wait for the gate's verdict.
    const ready = opts.readyLine ?? "Channel notifications registered";
    const logHas = (text: string | RegExp) =>
      typeof text === "string" ? debugLog().includes(text) : text.test(debugLog());
    let accepted = false;
    await until(async () => {
      if (!accepted && /development channel|dangerously/i.test(await term.screen())) {
        await term.keys("Enter");
        accepted = true;
      }
      return logHas(ready) || logHas(/Channel notifications skipped/);
    }, `the channel gate's verdict in the debug log (${ready})`).catch(async (err) => {
      throw new Error(
        `${err.message}\nscreen:\n${await term.screen()}\nlog tail:\n${debugLog().slice(-3000)}`,
      );
    });
    if (!logHas(ready)) {
      const skipped = /Channel notifications skipped[^\n]*/.exec(debugLog())?.[0];
      throw new Error(`Claude Code did not register our channel: ${skipped}`);
    }
    // The bridge logs into Discord after the MCP handshake: wait until the
    // emulator has sent READY and GUILD_CREATE, so a DM sent now is delivered.
    await until(
      () => emu.gateway.connected && emu.gateway.sentDispatches >= 2,
      "the bridge's Discord login",
    );
  } catch (err) {
    await session.close();
    throw err;
  }
  return session;
}
