/**
 * Never fail silently, end to end: a bridge launched as `.mcp.json` does,
 * whose environment shows that Claude Code will drop its messages (a channel
 * switched off by a variable, or a session started without a channel flag,
 * as the launcher reports in DISCORD_CLAUDE_ARGV), says so on stderr at
 * start and answers each approver's first message in Discord with the cause
 * and the fix, instead of a typing indicator that never ends. A session
 * whose flags do enable the channel behaves as before.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { E2E, withWorld, type World } from "./helpers/world.ts";
import { mcpJsonEntry, waitUntil } from "./helpers/bridge.ts";

/**
 * The `.mcp.json` command, started by a stand-in for Claude Code: a shell
 * whose argv is `claude <args…>` and that stays the parent of `deno task`,
 * so the start task's launcher step reports that argv to the bridge as
 * DISCORD_CLAUDE_ARGV, as it does under the real Claude Code.
 */
function underClaude(...claudeArgs: string[]) {
  const entry = mcpJsonEntry();
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const run = [entry.command, ...entry.args].map(quote).join(" ");
  return {
    command: "bash",
    args: [
      "-c",
      `exec -a claude bash -c ${quote(`${run}; exit $?`)} ${claudeArgs.map(quote).join(" ")}`,
    ],
  };
}

const botMessages = (w: World, chat: string) =>
  w.emu.messages(chat).filter((m) => m.author.id === w.emu.bot.id);
const sends = (w: World, chat: string) =>
  w.emu.requests.filter((r) => r.method === "POST" && r.path === `/channels/${chat}/messages`);

Deno.test(
  "diagnose e2e: no channel flag in Claude Code's argv → stderr at start, one notice per approver, no typing",
  E2E,
  () =>
    withWorld(async (w) => {
      await w.bridge.waitForStderr(
        "messages will be dropped: Claude Code was started without a channel flag",
      );
      assert(
        w.bridge.stderr().includes(
          "claude --dangerously-load-development-channels server:discord",
        ),
        w.bridge.stderr(),
      );

      w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: "hello?" });
      const [notice] = await waitUntil(
        () => {
          const m = botMessages(w, w.aliceDm);
          return m.length ? m : undefined;
        },
        8000,
        "the notice in alice's DM",
      );
      assert(/cannot receive your messages/.test(notice.content), notice.content);
      assert(/without a channel flag/.test(notice.content), notice.content);
      assert(
        notice.content.includes("claude --dangerously-load-development-channels server:discord"),
      );
      // Sent through the usual path: no mention is ever parsed.
      const body = sends(w, w.aliceDm)[0].body as { allowed_mentions?: unknown };
      assertEquals(body.allowed_mentions, { parse: [] });
      // The event still goes to Claude Code (it is the one dropping it).
      await w.bridge.waitForNotification("notifications/claude/channel");

      // Second message: no second notice; never a typing indicator.
      w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: "still there?" });
      await w.bridge.waitForNotification(
        "notifications/claude/channel",
        (p) => p.content === "still there?",
      );
      // A guild message from someone who is not an approver gets nothing.
      w.emu.sendMessage({ channelId: w.openChannelId, authorId: w.mallory.id, content: "hi all" });
      await w.bridge.waitForNotification(
        "notifications/claude/channel",
        (p) => p.content === "hi all",
      );
      await new Promise((r) => setTimeout(r, 300));
      assertEquals(botMessages(w, w.aliceDm).length, 1);
      assertEquals(botMessages(w, w.openChannelId).length, 0);
      assertEquals(w.emu.typingCount(w.aliceDm), 0);
      assertEquals(w.emu.typingCount(w.openChannelId), 0);
    }, { command: underClaude("hello"), access: { ackReaction: "" } }),
);

Deno.test(
  "diagnose e2e: DISABLE_TELEMETRY in Claude Code's environment is named, with its fix",
  E2E,
  () =>
    withWorld(async (w) => {
      await w.bridge.waitForStderr("messages will be dropped: DISABLE_TELEMETRY=1 is set");
      w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: "ping" });
      const [notice] = await waitUntil(
        () => {
          const m = botMessages(w, w.aliceDm);
          return m.length ? m : undefined;
        },
        8000,
        "the notice in alice's DM",
      );
      assert(notice.content.includes("Fix: unset DISABLE_TELEMETRY"), notice.content);
      assertEquals(w.emu.typingCount(w.aliceDm), 0);
    }, { env: { DISABLE_TELEMETRY: "1" } }),
);

Deno.test(
  "diagnose e2e: a session started with the channel flag (or an unknown argv) is not second-guessed",
  E2E,
  async () => {
    for (
      const [command, env] of [
        [underClaude("hi", "--dangerously-load-development-channels", "server:discord"), {}],
        [undefined, {}], // not started by Claude Code: its argv is unknown, no guess
        // Kept cache: telemetry off is harmless.
        [
          undefined,
          { DISABLE_TELEMETRY: "1", CLAUDE_CODE_GB_DISK_CACHE_WHEN_TELEMETRY_OFF: "1" },
        ],
      ] as [ReturnType<typeof underClaude> | undefined, Record<string, string>][]
    ) {
      await withWorld(async (w) => {
        w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: "hi" });
        await w.bridge.waitForNotification("notifications/claude/channel");
        await waitUntil(() => w.emu.typingCount(w.aliceDm) > 0, 8000, "typing");
        assertEquals(botMessages(w, w.aliceDm).length, 0);
        assert(!w.bridge.stderr().includes("messages will be dropped"), w.bridge.stderr());
      }, { command, env, access: { ackReaction: "" } });
    }
  },
);
