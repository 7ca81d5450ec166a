/**
 * End-to-end specification of the core bridge: the server is spawned as
 * `.mcp.json` says, spoken to over stdio like Claude Code, and logs into the
 * Discord emulator with the real discord.js client.
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { ChannelEventParams, waitUntil } from "./helpers/bridge.ts";
import { makeWorld, withWorld, type World } from "./helpers/world.ts";

const e2e = { sanitizeOps: false, sanitizeResources: false };

const events = (w: World) =>
  w.bridge.notifications.filter((n) => n.method === "notifications/claude/channel");

Deno.test(
  "handshake declares the channel capabilities, tools and short instructions",
  e2e,
  () =>
    withWorld(async (w) => {
      const caps = w.bridge.client.getServerCapabilities();
      assertEquals(caps?.experimental?.["claude/channel"], {});
      assertEquals(caps?.experimental?.["claude/channel/permission"], {});
      assertEquals(caps?.tools, {});
      const instructions = w.bridge.client.getInstructions() ?? "";
      assert(
        instructions.length > 200 && instructions.length <= 4096,
        `length ${instructions.length}`,
      );
      assertMatch(instructions, /reply/);
      assertMatch(instructions, /chat_id/);
      assertMatch(instructions, /untrusted/i);
      const { tools } = await w.bridge.client.listTools();
      const names = tools.map((t: { name: string }) => t.name);
      assert(names.includes("reply") && names.includes("react"), names.join());
    }),
);

Deno.test(
  "an allowlisted DM is delivered with string meta; a stranger's is dropped",
  e2e,
  () =>
    withWorld(async (w) => {
      w.emu.sendMessage({ channelId: w.malloryDm, authorId: w.mallory.id, content: "let me in" });
      const sent = w.emu.sendMessage({
        channelId: w.aliceDm,
        authorId: w.alice.id,
        content: "hello claude",
      });
      const params = await w.bridge.waitForNotification("notifications/claude/channel");
      const event = ChannelEventParams.parse(params);
      assertEquals(event.content, "hello claude");
      assertEquals(event.meta.chat_id, w.aliceDm);
      assertEquals(event.meta.message_id, sent.id);
      assertEquals(event.meta.user, "alice");
      assertEquals(event.meta.user_id, w.alice.id);
      assertEquals(new Date(event.meta.ts).toISOString(), event.meta.ts);
      assertEquals(event.meta.guild_id, undefined);
      // Mallory wrote first; had her message passed the gate it would be here.
      await new Promise((r) => setTimeout(r, 300));
      assertEquals(events(w).length, 1);
    }),
);

Deno.test(
  "DMs are delivered even when Discord leaves channel_type out of the event",
  e2e,
  () =>
    withWorld(async (w) => {
      // discord.js alone drops such a DM (its channel is unknown and untyped);
      // the bridge reads the raw dispatch, so nothing is lost.
      const bot = w.emu.bot.id;
      w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: "untyped" });
      await w.bridge.waitForNotification(
        "notifications/claude/channel",
        (p) => p.content === "untyped",
      );
      const text = `<@${bot}> in a thread`;
      w.emu.sendMessage({
        channelId: w.threadId,
        authorId: w.alice.id,
        content: text,
        mentions: [bot],
      });
      await w.bridge.waitForNotification("notifications/claude/channel", (p) => p.content === text);
    }, { omitChannelType: true }),
);

Deno.test(
  "guild messages follow the channel's rules: opt-in, mention, reply, thread",
  e2e,
  () =>
    withWorld(async (w) => {
      const bot = w.emu.bot;
      const send = (channelId: string, content: string, extra = {}) =>
        w.emu.sendMessage({ channelId, authorId: w.mallory.id, content, ...extra });
      send(w.closedChannelId, `<@${bot.id}> not opted in`, { mentions: [bot.id] });
      send(w.channelId, "no mention here");
      send(w.channelId, `<@${bot.id}> mentioned`, { mentions: [bot.id] });
      await w.bridge.waitForNotification(
        "notifications/claude/channel",
        (p) => (p.content as string).includes("mentioned"),
      );
      send(w.threadId, `<@${bot.id}> in the thread`, { mentions: [bot.id] });
      await w.bridge.waitForNotification(
        "notifications/claude/channel",
        (p) => (p.content as string).includes("in the thread"),
      );
      send(w.openChannelId, "open channel, no mention needed");
      const open = await w.bridge.waitForNotification(
        "notifications/claude/channel",
        (p) => (p.content as string).startsWith("open channel"),
      );
      assertEquals((open.meta as Record<string, string>).guild_id, w.guildId);
      // A reply to a message the bot sent counts as a mention.
      const r = await w.bridge.call("reply", { chat_id: w.channelId, text: "bot says hi" });
      assert(!r.isError, r.text);
      const botMsg = await w.emu.waitFor(() =>
        w.emu.messages(w.channelId).find((m) => m.content === "bot says hi")
      );
      send(w.channelId, "replying to the bot", { replyTo: botMsg.id });
      await w.bridge.waitForNotification(
        "notifications/claude/channel",
        (p) => (p.content as string) === "replying to the bot",
      );
      const contents = events(w).map((n) => (n.params as { content: string }).content);
      assertEquals(
        contents.filter((c) => c.includes("not opted in") || c === "no mention here"),
        [],
      );
    }),
);

Deno.test(
  "messages by bots, including the bridge's own replies, are never delivered",
  e2e,
  () =>
    withWorld(async (w) => {
      w.emu.sendMessage({ channelId: w.openChannelId, authorId: w.otherBot.id, content: "beep" });
      const r = await w.bridge.call("reply", { chat_id: w.openChannelId, text: "my own words" });
      assert(!r.isError, r.text);
      w.emu.sendMessage({ channelId: w.openChannelId, authorId: w.alice.id, content: "marker" });
      await w.bridge.waitForNotification(
        "notifications/claude/channel",
        (p) => p.content === "marker",
      );
      assertEquals(events(w).length, 1);
    }),
);

Deno.test(
  "reply and react reach Discord, with mentions disabled",
  e2e,
  () =>
    withWorld(async (w) => {
      const inbound = w.emu.sendMessage({
        channelId: w.aliceDm,
        authorId: w.alice.id,
        content: "hi",
      });
      await w.bridge.waitForNotification("notifications/claude/channel");
      const r = await w.bridge.call("reply", {
        chat_id: w.aliceDm,
        text: "hello @everyone <@&123456789012345678>",
        reply_to: inbound.id,
      });
      assert(!r.isError, r.text);
      const id = /id: (\d+)/.exec(r.text)?.[1];
      const stored = w.emu.message(w.aliceDm, id!);
      assertEquals(stored?.content, "hello @everyone <@&123456789012345678>");
      assertEquals(stored?.message_reference?.message_id, inbound.id);
      const post = w.emu.requests.find((q) =>
        q.method === "POST" && q.path === `/channels/${w.aliceDm}/messages`
      );
      assertEquals(
        (post?.body as { allowed_mentions?: { parse: string[] } }).allowed_mentions?.parse,
        [],
      );

      const react = await w.bridge.call("react", {
        chat_id: w.aliceDm,
        message_id: inbound.id,
        emoji: "👍",
      });
      assert(!react.isError, react.text);
      assertEquals(w.emu.reactions(w.aliceDm, inbound.id).map((x) => x.emoji), ["👍"]);
    }),
);

Deno.test(
  "a long reply is split into messages of at most 2,000 characters",
  e2e,
  () =>
    withWorld(async (w) => {
      const text = Array.from({ length: 90 }, (_, i) => `line ${i} ${"x".repeat(40)}`).join("\n");
      assert(text.length > 4000);
      const r = await w.bridge.call("reply", { chat_id: w.aliceDm, text });
      assert(!r.isError, r.text);
      const sent = w.emu.messages(w.aliceDm).filter((m) => m.author.id === w.emu.bot.id);
      assert(sent.length >= 3, `sent ${sent.length}`);
      for (const m of sent) assert(m.content.length <= 2000);
      assertEquals(sent.map((m) => m.content).join("").replace(/\n/g, ""), text.replace(/\n/g, ""));
      const ids = r.text.match(/\d{17,20}/g) ?? [];
      assertEquals(ids, sent.map((m) => m.id));
    }),
);

Deno.test(
  "the outbound gate refuses chats the inbound gate would not deliver from",
  e2e,
  () =>
    withWorld(async (w) => {
      const before = w.emu.requests.filter((q) => q.method === "POST").length;
      for (const chat_id of [w.malloryDm, w.closedChannelId]) {
        const r = await w.bridge.call("reply", { chat_id, text: "psst" });
        assert(r.isError, r.text);
        assertMatch(r.text, /not allowed/);
        const react = await w.bridge.call("react", {
          chat_id,
          message_id: "123456789012345678",
          emoji: "👍",
        });
        assert(react.isError);
      }
      const posts = w.emu.requests.filter((q) => q.method === "POST" || q.method === "PUT");
      assertEquals(posts.length, before);
      assertEquals(w.emu.messages(w.malloryDm).length, 0);
    }),
);

Deno.test(
  "bad arguments and unknown tools get clear error results",
  e2e,
  () =>
    withWorld(async (w) => {
      const missing = await w.bridge.call("reply", { chat_id: w.aliceDm });
      assert(missing.isError);
      assertMatch(missing.text, /text/);
      const badId = await w.bridge.call("react", {
        chat_id: "general",
        message_id: "1",
        emoji: "👍",
      });
      assert(badId.isError);
      assertMatch(badId.text, /chat_id/);
      const unknown = await w.bridge.call("launch_missiles", {});
      assert(unknown.isError);
      assertMatch(unknown.text, /unknown tool/);
      // The process keeps serving afterwards.
      const ok = await w.bridge.call("reply", { chat_id: w.aliceDm, text: "still here" });
      assert(!ok.isError, ok.text);
    }),
);

Deno.test(
  "a rejected token is explained on stderr and by tools, and never printed",
  e2e,
  async () => {
    const w = await makeWorld({
      env: { DISCORD_BOT_TOKEN: "MTIz.wrong.token-abcdefghijklmnop" },
      skipReady: true,
    });
    try {
      await w.bridge.waitForStderr(/rejected the bot token/);
      const r = await w.bridge.call("reply", { chat_id: w.aliceDm, text: "x" });
      assert(r.isError);
      assertMatch(r.text, /token/);
      assert(!w.bridge.stderr().includes("MTIz.wrong.token-abcdefghijklmnop"));
      assert(!r.text.includes("MTIz.wrong.token-abcdefghijklmnop"));
    } finally {
      await w.dispose();
    }
  },
);

Deno.test("a missing token keeps MCP serving and says how to fix it", e2e, async () => {
  const w = await makeWorld({ env: { DISCORD_BOT_TOKEN: "" }, skipReady: true });
  try {
    await w.bridge.waitForStderr(/DISCORD_BOT_TOKEN/);
    const r = await w.bridge.call("reply", { chat_id: w.aliceDm, text: "x" });
    assert(r.isError);
    assertMatch(r.text, /DISCORD_BOT_TOKEN/);
    await new Promise((r) => setTimeout(r, 200));
    assertEquals(w.emu.gateway.identifies, 0);
  } finally {
    await w.dispose();
  }
});

Deno.test("a tool call made right after the handshake waits for the login", e2e, async () => {
  const w = await makeWorld({ skipReady: true });
  try {
    const r = await w.bridge.call("reply", { chat_id: w.aliceDm, text: "early bird" });
    assert(!r.isError, r.text);
    assertEquals(w.emu.messages(w.aliceDm).at(-1)?.content, "early bird");
  } finally {
    await w.dispose();
  }
});

Deno.test("tool calls during login say Discord is still connecting", e2e, async () => {
  // A server that accepts connections and never answers: login hangs.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  (async () => {
    for await (const c of listener) conns.push(c);
  })();
  const w = await makeWorld({
    env: { DISCORD_API_URL: `http://127.0.0.1:${listener.addr.port}/api` },
    skipReady: true,
  });
  try {
    const r = await w.bridge.call("reply", { chat_id: w.aliceDm, text: "x" });
    assert(r.isError);
    assertMatch(r.text, /connecting/);
  } finally {
    await w.dispose();
    for (const c of conns) c.close();
    listener.close();
  }
});

Deno.test(
  "the bridge exits within 2 s of stdin EOF, leaving no process behind",
  e2e,
  () =>
    withWorld(async (w) => {
      const pid = w.bridge.pid;
      const children = childPids(pid);
      const t0 = Date.now();
      await w.bridge.transport.close(); // closes stdin first, SIGTERM after 2 s
      await waitUntil(() => !alive(pid) && children.every((c) => !alive(c)), 3000, "exit");
      assert(Date.now() - t0 < 2500, `took ${Date.now() - t0} ms`);
      await w.emu.waitFor(() => !w.emu.gateway.connected, { timeoutMs: 3000 });
    }),
);

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry.name), ...childPids(Number(entry.name)));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}
