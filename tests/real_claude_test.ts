/**
 * End to end with the REAL Claude Code, offline: `claude` runs interactively
 * in tmux with our channel loaded from a project `.mcp.json` exactly as ours
 * launches it, a fake Messages API plays the model, and our Discord emulator
 * plays Discord. What is asserted is what the model was sent (recorded
 * request bodies) and what Discord observed.
 *
 * Pinned to Claude Code 2.1.332 (tests/real_claude/session.ts): the flag
 * cache in `~/.claude.json`, the dialogs, the debug-log lines, the shape of
 * the requests and where MCP instructions appear are internals of that
 * version. The test FAILS (it does not skip) when that version or tmux is
 * missing; `.ci/run` installs both.
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { INSTRUCTIONS } from "../lib/instructions.ts";
import { REPLY_HINT } from "../lib/reply_hint.ts";
import type { Message } from "./emulator/mod.ts";
import { alive, argv, children } from "./helpers/process.ts";
import { assertEssentials } from "./real_claude/essentials.ts";
import {
  everythingSent,
  type LastUser,
  type MessagesRequest,
  type Turn,
} from "./real_claude/fake_anthropic.ts";
import { type RealClaude, startRealClaude, until } from "./real_claude/session.ts";

const E2E = { sanitizeOps: false, sanitizeResources: false };

/** A `<channel …>` block: its attributes and content. */
interface ChannelBlock {
  attrs: Record<string, string>;
  content: string;
}

/** Every `<channel …>` block of a text, in order. */
function channelBlocks(text: string): ChannelBlock[] {
  return [...text.matchAll(/<channel ([^>]*)>\n([\s\S]*?)\n<\/channel>/g)].map((m) => ({
    attrs: Object.fromEntries(
      [...m[1].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)].map((a) => [a[1], a[2]]),
    ),
    content: m[2],
  }));
}

/** The last `<channel …>` block of a text. */
const lastChannelBlock = (text: string) => channelBlocks(text).at(-1);

/**
 * The fake model: acts on each Discord message once, by what it says, and
 * ends the turn after a tool result. Claude Code may carry an event that
 * arrived mid-turn on any later request (even one with a tool result, or in
 * a reminder), so the whole request is searched for events not acted on yet.
 */
function model(project: () => string) {
  const handled = new Set<string>();
  return (last: LastUser): Turn | undefined => {
    const block = channelBlocks(everythingSent(last.request)).find((b) =>
      !handled.has(b.attrs.message_id)
    );
    if (!block) return { text: last.toolResults.length ? "Done." : "Hello from the terminal." };
    handled.add(block.attrs.message_id);
    const chat_id = block.attrs.chat_id;
    switch (block.content.trim()) {
      case "please reply":
        return { tool: "mcp__discord__reply", input: { chat_id, text: "pong from the model" } };
      case "find the reply tool":
        // What the hint advises when reply is not loaded.
        return { tool: "ToolSearch", input: { query: "discord reply" } };
      case "run allowed":
      case "run denied": {
        const file = `${project()}/${block.content.trim().split(" ")[1]}.txt`;
        return {
          tool: "Bash",
          input: { command: `touch ${file}`, description: "Create a marker file" },
        };
      }
    }
    return { text: "I do not know that one." };
  };
}

/** Bot messages in a channel. */
const botMessages = (s: RealClaude, chatId: string) =>
  s.emu.messages(chatId).filter((m) => m.author.id === s.emu.bot.id);

/** The custom_id of a button on a message, by its action. */
function button(m: Message, action: "allow" | "deny"): string | undefined {
  for (const row of m.components as { components?: { custom_id?: string }[] }[]) {
    for (const c of row.components ?? []) {
      if (c.custom_id?.startsWith(`perm:${action}:`)) return c.custom_id;
    }
  }
  return undefined;
}

/** The first main-loop request whose last user message satisfies `pred`. */
function requestWhere(s: RealClaude, pred: (r: MessagesRequest) => boolean) {
  return s.fake.mainRequests().find(pred);
}

/**
 * The tool result the model got in a request for a call of `tool` whose
 * input mentions `marker` (as JSON text), if that request carries it.
 */
function toolResult(r: MessagesRequest, tool: string, marker: string): string | undefined {
  const calls = new Set<string>();
  for (const m of r.messages) {
    if (m.role !== "assistant" || typeof m.content === "string") continue;
    for (const b of m.content) {
      if (b.type === "tool_use" && b.name === tool && JSON.stringify(b.input).includes(marker)) {
        calls.add(b.id!);
      }
    }
  }
  const last = r.messages.filter((m) => m.role === "user").at(-1);
  if (!last || typeof last.content === "string") return undefined;
  const res = last.content.find((b) => b.type === "tool_result" && calls.has(b.tool_use_id!));
  if (!res) return undefined;
  return typeof res.content === "string" ? res.content : JSON.stringify(res.content ?? []);
}

/** Every pid below `root`. */
function descendants(root: number): number[] {
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const kids = children(queue.shift()!);
    out.push(...kids);
    queue.push(...kids);
  }
  return out;
}

/**
 * SIGKILLs the `claude` process and checks that every deno process below it
 * (`deno task`, the bridge) is gone within 2 s.
 */
async function killClaude(s: RealClaude): Promise<void> {
  const pane = await s.term.panePid();
  assert(pane, "the terminal runs something");
  const isClaude = (pid: number) => /(^|\/)claude(\.exe)?$/.test(argv(pid)[0] ?? "");
  const claude = isClaude(pane) ? pane : descendants(pane).find(isClaude);
  assert(claude && alive(claude), "claude is running");
  const ours = descendants(claude).filter((pid) => argv(pid).some((a) => /deno/.test(a)));
  assert(ours.length >= 2, `deno task and the bridge below claude: ${ours}`);
  Deno.kill(claude, "SIGKILL");
  const deadline = Date.now() + 2000;
  while (ours.some(alive) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assertEquals(ours.filter(alive), [], "left alive 2 s after the SIGKILL");
}

/** Asks for a Bash run from Discord and answers its relayed prompt with a button. */
async function bashViaDiscord(s: RealClaude, what: "allowed" | "denied") {
  const before = botMessages(s, s.aliceDm).length;
  s.dm(`run ${what}`);
  const prompt = await until(
    () => botMessages(s, s.aliceDm).slice(before).find((m) => button(m, "allow")),
    `the permission prompt for "run ${what}" in alice's DM`,
  );
  assertMatch(prompt.content, /Bash/);
  assertMatch(prompt.content, new RegExp(`${what}\\.txt`));
  // The dialog is open in the terminal too: the first answer wins.
  await until(
    async () => /Do you want to proceed\?/.test(await s.term.screen()),
    "the permission dialog in the terminal",
  );
  const outcome = await s.emu.clickButton({
    userId: s.alice.id,
    messageId: prompt.id,
    customId: button(prompt, what === "allowed" ? "allow" : "deny")!,
  });
  assert(outcome.acknowledged, "the click was acknowledged");
  return await until(
    () => s.fake.mainRequests().map((r) => toolResult(r, "Bash", `${what}.txt`)).find((t) => t),
    `the model request carrying the Bash result ("run ${what}")`,
  );
}

Deno.test("the real Claude Code 2.1.332 drives our channel end to end", E2E, async (t) => {
  const started = Date.now();
  let project = "";
  const s = await startRealClaude({ script: model(() => project) });
  project = s.project;
  try {
    await t.step(
      "a Discord-only session: the DM reaches the model with our meta and the essentials",
      async () => {
        const sent = s.emu.sendMessage({
          channelId: s.aliceDm,
          authorId: s.alice.id,
          content: "please reply",
        });
        const req = await until(
          () => requestWhere(s, (r) => everythingSent(r).includes("please reply")),
          "the model request carrying the DM",
        );
        const block = lastChannelBlock(everythingSent(req))!;
        assertMatch(everythingSent(req), /<channel source="discord" /);
        assertEquals(block.content, "please reply");
        assertEquals(block.attrs.chat_id, s.aliceDm);
        assertEquals(block.attrs.message_id, sent.id);
        assertEquals(block.attrs.user, "alice");
        assertEquals(block.attrs.user_id, s.alice.id);
        assertEquals(new Date(block.attrs.ts).toISOString(), block.attrs.ts);
        // Nobody typed: Claude Code sent the model neither our instructions
        // nor (with tool search on) even our tool names. The essentials ride
        // on the event.
        assert(!everythingSent(req).includes(INSTRUCTIONS.slice(0, 60)), "no instructions yet");
        assertEquals(block.attrs.hint, REPLY_HINT);
        assertEssentials(block.attrs.hint);
      },
    );

    await t.step("the model's reply tool call lands in alice's DM", async () => {
      const m = await until(
        () => botMessages(s, s.aliceDm).find((m) => m.content === "pong from the model"),
        "the reply in alice's DM",
      );
      assertEquals(m.channel_id, s.aliceDm);
    });

    await t.step("ToolSearch finds reply as the hint says", async () => {
      s.dm("find the reply tool");
      const found = await until(
        () =>
          s.fake.mainRequests().map((r) => toolResult(r, "ToolSearch", "discord reply")).find((t) =>
            t
          ),
        "the model request carrying the ToolSearch result",
      );
      assertMatch(found, /mcp__discord__reply/);
      // From then on the request lists the tool, with its description.
      const reply = await until(
        () =>
          s.fake.mainRequests().flatMap((r) => r.tools ?? []).find((t) =>
            t.name === "mcp__discord__reply"
          ),
        "a request listing mcp__discord__reply",
      );
      assertEssentials(reply.description ?? "");
    });

    await t.step("a Bash call is relayed to Discord; Allow runs it", async () => {
      const result = await bashViaDiscord(s, "allowed");
      assert(!/denied/i.test(result), `allowed: ${result}`);
      await Deno.stat(`${project}/allowed.txt`);
    });

    await t.step("Deny refuses it and the model is told so", async () => {
      const result = await bashViaDiscord(s, "denied");
      assertMatch(result, /Denied via channel discord/);
      const exists = await Deno.stat(`${project}/denied.txt`).then(() => true, () => false);
      assertEquals(exists, false);
    });

    // 2.1.332 puts them in a `role: "system"` message of `messages` (after a
    // typed prompt, or after a first tool result), not in the top-level `system`.
    await t.step(
      "after a prompt typed in the terminal the model has our instructions whole",
      async () => {
        await s.term.type("hello from the terminal");
        await s.term.keys("Enter");
        const req = await until(
          () =>
            requestWhere(s, (r) => {
              const last = r.messages.filter((m) => m.role === "user").at(-1);
              return JSON.stringify(last?.content ?? "").includes("hello from the terminal");
            }),
          "the model request carrying the typed prompt",
        );
        assert(everythingSent(req).includes(INSTRUCTIONS), "the instructions, uncut");
      },
    );

    await t.step("Claude Code killed with SIGKILL leaves no process of ours", () => killClaude(s));
  } finally {
    // REAL_CLAUDE_ARTIFACTS=<dir> keeps what the model was sent, the debug log and the screen.
    const keep = Deno.env.get("REAL_CLAUDE_ARTIFACTS");
    if (keep) {
      await Deno.mkdir(keep, { recursive: true });
      await Deno.writeTextFile(`${keep}/requests.json`, JSON.stringify(s.fake.requests, null, 1));
      await Deno.writeTextFile(`${keep}/claude-debug.log`, s.debugLog());
      await Deno.writeTextFile(`${keep}/screen.txt`, await s.term.screen());
    }
    await s.close();
    console.error(`real Claude Code test: ${Date.now() - started} ms`);
  }
});

Deno.test(
  "Claude Code killed with SIGKILL under a shell (no SIGHUP) leaves no process of ours",
  E2E,
  async () => {
    const s = await startRealClaude({ underShell: true });
    try {
      await killClaude(s);
    } finally {
      await s.close();
    }
  },
);

/**
 * The README's launch commands (`claude … --dangerously-load-development-channels
 * …` or `--channels …` in a shell block) pass no prompt argument: Claude Code
 * sends such a prompt before the server connects, and the session then never
 * shows the model our instructions.
 */
Deno.test("the README starts Claude Code without a prompt argument", () => {
  const readme = Deno.readTextFileSync(new URL("../README.md", import.meta.url));
  const blocks = [...readme.matchAll(/```(?:sh|bash|shell)\n([\s\S]*?)```/g)].map((m) => m[1]);
  const launches = blocks.flatMap((b) => b.split("\n")).map((l) => l.trim())
    .filter((l) => /^claude\s/.test(l) && /--(dangerously-load-development-)?channels\b/.test(l));
  assert(launches.length > 0, "the README shows how to launch Claude Code with the channel");
  for (const line of launches) {
    const positional = line.split(/\s+/).slice(1).filter((arg, i, args) =>
      !arg.startsWith("-") && !/^(server|plugin):/.test(arg) &&
      // a value of a flag that takes one
      !/^--(permission-mode|model|debug-file|allowedTools|allowed-tools)$/.test(args[i - 1] ?? "")
    );
    assertEquals(positional, [], `no prompt argument in: ${line}`);
  }
});

/**
 * Which variables in Claude Code's environment switch channels off (observed
 * with 2.1.332; `lib/doctor` and the bridge's start-up warning rely on this).
 * With the feature off, the gate logs "channels feature is not currently
 * available" and no development-channels warning is shown. Any non-empty
 * DISABLE_TELEMETRY (even "0") counts; CLAUDE_CODE_GB_DISK_CACHE_WHEN_TELEMETRY_OFF=1
 * restores channels after DISABLE_TELEMETRY, DO_NOT_TRACK or
 * CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC, but NOT after DISABLE_GROWTHBOOK or
 * CLAUDE_CODE_DISABLE_FEATURE_FLAGS.
 */
Deno.test(
  "environment variables that switch channels off in Claude Code 2.1.332",
  E2E,
  async () => {
    const gate = /Channel notifications (registered|skipped: [^\n]*)/;
    const verdict = async (env: Record<string, string>) => {
      const s = await startRealClaude({ env, readyLine: gate });
      try {
        return gate.exec(s.debugLog())![1];
      } finally {
        await s.close();
      }
    };
    const off = "skipped: channels feature is not currently available";
    const cache = { CLAUDE_CODE_GB_DISK_CACHE_WHEN_TELEMETRY_OFF: "1" };
    assertEquals(await verdict({ DISABLE_TELEMETRY: "1" }), off);
    assertEquals(await verdict({ DISABLE_TELEMETRY: "1", ...cache }), "registered");
    assertEquals(await verdict({ DISABLE_GROWTHBOOK: "1", ...cache }), off);
  },
);
