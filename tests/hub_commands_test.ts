/**
 * `/sessions` and `/focus`, end to end: the bot registers them as Discord
 * application commands; they answer approvers only, ephemerally; a Focus
 * button or `/focus name` decides where the user's next messages go.
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { type BridgeUnderTest, startBridge } from "./helpers/bridge.ts";
import { E2E, makeWorld } from "./helpers/world.ts";

const EVENT = "notifications/claude/channel";

Deno.test(
  "/sessions lists sessions with project, idle time and pending prompts; Focus buttons and /focus route the user's messages; others are refused",
  E2E,
  async () => {
    const w = await makeWorld({ env: { CLAUDE_PROJECT_DIR: "/home/me/api" } });
    let web: BridgeUnderTest | undefined;
    try {
      const api = w.bridge;
      web = await startBridge({
        env: {
          DISCORD_BOT_TOKEN: w.emu.token,
          DISCORD_API_URL: w.emu.apiUrl,
          DISCORD_STATE_DIR: w.stateDir,
          CLAUDE_PROJECT_DIR: "/home/me/web",
        },
      });
      await web.waitForStderr('this session is "web" on Discord');
      const cmds = await w.emu.waitFor(() => w.emu.commands.length === 2 && w.emu.commands, {
        message: "commands registered",
      });
      assertEquals(cmds.map((c) => c.name).sort(), ["focus", "sessions"]);
      assertEquals(cmds.find((c) => c.name === "focus")!.options![0].required, true);

      await web.client.notification({
        method: "notifications/claude/channel/permission_request",
        params: { request_id: "vwxyz", tool_name: "Bash", description: "d", input_preview: "{}" },
      });
      await w.emu.waitFor(() => w.emu.messages(w.aliceDm).some((m) => m.content.includes("vwxyz")));

      const list = await w.emu.runCommand({
        userId: w.alice.id,
        channelId: w.aliceDm,
        name: "sessions",
      });
      assert(list.acknowledged && list.ephemeral, JSON.stringify(list.callback));
      const text = list.message!.content;
      assertMatch(text, /\*\*api\*\* · `\/home\/me\/api` · idle \d+s/);
      assertMatch(text, /\*\*web\*\* · `\/home\/me\/web` · idle \d+s · 1 prompt waiting/);
      const buttons = (list.message!.components as { components: { custom_id: string }[] }[])
        .flatMap((r) => r.components.map((b) => b.custom_id));
      assertEquals(buttons, ["hub:focus:api", "hub:focus:web"]);
      // Nothing was posted in the DM for everyone to see.
      assert(!w.emu.messages(w.aliceDm).some((m) => m.content === text));

      // Strangers are refused, ephemerally, and learn nothing.
      const refused = await w.emu.runCommand({
        userId: w.mallory.id,
        channelId: w.malloryDm,
        name: "sessions",
      });
      assert(refused.ephemeral);
      assertMatch(refused.message!.content, /not authorized/);
      assert(!/web/.test(refused.message!.content));

      // The Focus button on the ephemeral list focuses web.
      const click = await w.emu.clickButton({
        userId: w.alice.id,
        messageId: list.message!.id,
        customId: "hub:focus:web",
      });
      assertEquals(click.callback?.type, 7);
      assertMatch(click.callback!.data.content, /now go to \*\*web\*\*/);
      const m1 = w.emu.sendMessage({
        channelId: w.aliceDm,
        authorId: w.alice.id,
        content: "to web",
      });
      await web.waitForNotification(
        EVENT,
        (p) => (p.meta as Record<string, string>).message_id === m1.id,
      );

      // /focus api switches back.
      const f = await w.emu.runCommand({
        userId: w.alice.id,
        channelId: w.aliceDm,
        name: "focus",
        options: { name: "api" },
      });
      assert(f.ephemeral);
      assertMatch(f.message!.content, /now go to \*\*api\*\*/);
      const m2 = w.emu.sendMessage({
        channelId: w.aliceDm,
        authorId: w.alice.id,
        content: "to api",
      });
      await api.waitForNotification(
        EVENT,
        (p) => (p.meta as Record<string, string>).message_id === m2.id,
      );
      assert(
        !web.notifications.some((n) =>
          (n.params?.meta as Record<string, string>)?.message_id === m2.id
        ),
      );

      const bad = await w.emu.runCommand({
        userId: w.alice.id,
        channelId: w.aliceDm,
        name: "focus",
        options: { name: "nope" },
      });
      assertMatch(bad.message!.content, /No session is called "nope" \(connected: api, web\)/);
      const denied = await w.emu.runCommand({
        userId: w.mallory.id,
        channelId: w.malloryDm,
        name: "focus",
        options: { name: "web" },
      });
      assertMatch(denied.message!.content, /not authorized/);
    } finally {
      await web?.close();
      await w.dispose();
    }
  },
);
