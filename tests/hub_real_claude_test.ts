/**
 * Several sessions with the REAL Claude Code (2.1.332, offline, see
 * real_claude_test.ts): a real Claude Code session holds the bot, a second
 * session launched as `.mcp.json` launches it shares it. `@name` routes by
 * the name Claude Code's own `CLAUDE_PROJECT_DIR` gives the real session, the
 * other session's traffic never reaches the model, and the model's reply is
 * labelled with its session's name.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { type BridgeUnderTest, startBridge } from "./helpers/bridge.ts";
import { everythingSent, type LastUser, type Turn } from "./real_claude/fake_anthropic.ts";
import { startRealClaude, until } from "./real_claude/session.ts";

const E2E = { sanitizeOps: false, sanitizeResources: false };

/** Every `<channel …>` block of a text: its attributes and content. */
function channelBlocks(text: string) {
  return [...text.matchAll(/<channel ([^>]*)>\n([\s\S]*?)\n<\/channel>/g)].map((m) => ({
    attrs: Object.fromEntries(
      [...m[1].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)].map((a) => [a[1], a[2]]),
    ),
    content: m[2],
  }));
}

Deno.test(
  "the real Claude Code shares the bot with another session: @name reaches it, the other's DMs never do, its reply carries its name",
  E2E,
  async () => {
    const handled = new Set<string>();
    const script = (last: LastUser): Turn | undefined => {
      const block = channelBlocks(everythingSent(last.request)).find((b) =>
        !handled.has(b.attrs.message_id)
      );
      if (!block) return { text: last.toolResults.length ? "Done." : "Hello." };
      handled.add(block.attrs.message_id);
      if (block.content.trim() === "ping") {
        return {
          tool: "mcp__discord__reply",
          input: { chat_id: block.attrs.chat_id, text: "pong from the real session" },
        };
      }
      return { text: "Noted." };
    };
    const s = await startRealClaude({ script });
    let web: BridgeUnderTest | undefined;
    try {
      // Claude Code passes CLAUDE_PROJECT_DIR to the server it spawns.
      const realName = s.project.split("/").filter(Boolean).at(-1)!;
      web = await startBridge({
        env: {
          DISCORD_BOT_TOKEN: s.emu.token,
          DISCORD_API_URL: s.emu.apiUrl,
          DISCORD_STATE_DIR: s.stateDir,
          CLAUDE_PROJECT_DIR: "/home/me/web",
        },
      });
      await web.waitForStderr('this session is "web" on Discord');
      assertEquals(s.emu.gateway.identifies, 1);

      const toWeb = s.emu.sendMessage({
        channelId: s.aliceDm,
        authorId: s.alice.id,
        content: "@web secret for web",
      });
      await web.waitForNotification(
        "notifications/claude/channel",
        (p) => (p.meta as Record<string, string>).message_id === toWeb.id,
      );
      s.dm(`@${realName} ping`);
      const reply = await until(
        () =>
          s.emu.messages(s.aliceDm).find((m) =>
            m.author.id === s.emu.bot.id && m.content.endsWith("pong from the real session")
          ),
        "the real session's labelled reply",
      );
      assertEquals(reply.content, `**${realName}**: pong from the real session`);
      assert(
        !s.fake.mainRequests().some((r) => everythingSent(r).includes("secret for web")),
        "the model saw another session's message",
      );
      assert(
        !web.notifications.some((n) => JSON.stringify(n.params ?? {}).includes("ping")),
        "web saw the real session's message",
      );
    } finally {
      await web?.close();
      await s.close();
    }
  },
);
