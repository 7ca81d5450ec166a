/**
 * End-to-end specification of access control: pairing through the CLI with
 * the confirmation DM, reminders and silence, the pending cap, policies,
 * guild rules, live reload, static mode and a corrupt access.json.
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  notEqual as assertNotEqual,
  ok as assert,
} from "node:assert/strict";
import { startEmulator } from "./emulator/mod.ts";
import { makeStateDir, startBridge, waitUntil } from "./helpers/bridge.ts";
import { makeWorld, type World } from "./helpers/world.ts";

const e2e = { sanitizeOps: false, sanitizeResources: false };
const REPO = new URL("../", import.meta.url).pathname;

/** Runs `deno task access …` as a user would, against a state directory. */
async function accessCli(stateDir: string, ...args: string[]) {
  const out = await new Deno.Command("deno", {
    args: ["task", "--quiet", "access", ...args],
    cwd: REPO,
    env: { DISCORD_STATE_DIR: stateDir, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const botMessages = (w: World, chatId: string) =>
  w.emu.messages(chatId).filter((m) => m.author.id === w.emu.bot.id);
const delivered = (w: World) =>
  w.bridge.notifications
    .filter((n) => n.method === "notifications/claude/channel")
    .map((n) => (n.params as { content: string }).content);
const readAccess = (w: World) => JSON.parse(Deno.readTextFileSync(`${w.stateDir}/access.json`));

async function withWorld(opts: Parameters<typeof makeWorld>[0], fn: (w: World) => Promise<void>) {
  const w = await makeWorld(opts);
  try {
    await fn(w);
  } finally {
    await w.dispose();
  }
}

Deno.test(
  "pairing: a stranger gets a code, the owner approves it with the CLI, the stranger is confirmed and heard",
  e2e,
  () =>
    withWorld({ noAccessFile: true }, async (w) => {
      w.emu.sendMessage({ channelId: w.malloryDm, authorId: w.mallory.id, content: "hi bot" });
      const reply = await w.emu.waitFor(() => botMessages(w, w.malloryDm)[0]);
      const code = /pair ([0-9a-f]{6})/.exec(reply.content)?.[1];
      assert(code, reply.content);
      assertEquals(delivered(w), []);
      assertEquals(readAccess(w).pending[code].senderId, w.mallory.id);

      const approve = await accessCli(w.stateDir, "pair", code);
      assertEquals(approve.code, 0, approve.stderr);
      // The confirmation DM arrives within seconds, without a restart.
      await w.emu.waitFor(() => botMessages(w, w.malloryDm).find((m) => /Paired/.test(m.content)), {
        timeoutMs: 5000,
      });
      assert(readAccess(w).allowFrom.includes(w.mallory.id));
      w.emu.sendMessage({ channelId: w.malloryDm, authorId: w.mallory.id, content: "now?" });
      await w.bridge.waitForNotification(
        "notifications/claude/channel",
        (p) => p.content === "now?",
      );
    }),
);

Deno.test(
  "pairing: one code, one reminder, then silence until it expires",
  e2e,
  () =>
    withWorld({ noAccessFile: true }, async (w) => {
      for (const text of ["one", "two", "three", "four"]) {
        w.emu.sendMessage({ channelId: w.malloryDm, authorId: w.mallory.id, content: text });
        await new Promise((r) => setTimeout(r, 250));
      }
      await new Promise((r) => setTimeout(r, 500));
      const replies = botMessages(w, w.malloryDm);
      assertEquals(replies.length, 2, replies.map((m) => m.content).join(" | "));
      const codes = replies.map((m) => /pair ([0-9a-f]{6})/.exec(m.content)?.[1]);
      assertEquals(codes[0], codes[1]);
      assertEquals(delivered(w), []);
    }),
);

Deno.test(
  "pairing: at most three codes are pending; an expired code is pruned and replaced",
  e2e,
  async () => {
    const emu = await startEmulator({ heartbeatIntervalMs: 1000 });
    const strangers = ["s1", "s2", "s3", "s4"].map((username) => emu.addUser({ username }));
    const late = emu.addUser({ username: "late" });
    const stateDir = await makeStateDir({
      dmPolicy: "pairing",
      allowFrom: [],
      pending: {
        "abc123": {
          senderId: late.id,
          chatId: emu.dmChannel(late.id).id,
          createdAt: Date.now() - 7_200_000,
          expiresAt: Date.now() - 3_600_000,
          replies: 2,
        },
      },
    });
    const bridge = await startBridge({
      env: {
        DISCORD_BOT_TOKEN: emu.token,
        DISCORD_API_URL: emu.apiUrl,
        DISCORD_STATE_DIR: stateDir,
      },
    });
    try {
      await bridge.waitForStderr("connected to Discord as", 15_000);
      // The expired entry does not count against the cap and does not silence its sender.
      emu.sendMessage({ channelId: emu.dmChannel(late.id).id, authorId: late.id, content: "back" });
      await emu.waitFor(() =>
        emu.messages(emu.dmChannel(late.id).id).find((m) => m.author.id === emu.bot.id)
      );
      for (const s of strangers.slice(0, 2)) {
        emu.sendMessage({ channelId: emu.dmChannel(s.id).id, authorId: s.id, content: "hello" });
        await emu.waitFor(() =>
          emu.messages(emu.dmChannel(s.id).id).find((m) => m.author.id === emu.bot.id)
        );
      }
      emu.sendMessage({
        channelId: emu.dmChannel(strangers[3].id).id,
        authorId: strangers[3].id,
        content: "me too",
      });
      await new Promise((r) => setTimeout(r, 800));
      assertEquals(
        emu.messages(emu.dmChannel(strangers[3].id).id).filter((m) => m.author.id === emu.bot.id),
        [],
      );
      const access = JSON.parse(await Deno.readTextFile(`${stateDir}/access.json`));
      assertEquals(Object.keys(access.pending).length, 3);
      assert(!("abc123" in access.pending));
    } finally {
      await bridge.close();
      await emu.close();
    }
  },
);

Deno.test(
  "policies: allowlist drops strangers silently; disabled drops everyone",
  e2e,
  async () => {
    await withWorld({ access: { dmPolicy: "allowlist" } }, async (w) => {
      w.emu.sendMessage({ channelId: w.malloryDm, authorId: w.mallory.id, content: "hi" });
      w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: "marker" });
      await w.bridge.waitForNotification(
        "notifications/claude/channel",
        (p) => p.content === "marker",
      );
      await new Promise((r) => setTimeout(r, 300));
      assertEquals(botMessages(w, w.malloryDm), []);
      assertEquals(delivered(w), ["marker"]);
    });
    await withWorld({ access: { dmPolicy: "disabled" } }, async (w) => {
      w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: "hello?" });
      w.emu.sendMessage({ channelId: w.openChannelId, authorId: w.alice.id, content: "anyone?" });
      await new Promise((r) => setTimeout(r, 800));
      assertEquals(delivered(w), []);
      const r = await w.bridge.call("reply", { chat_id: w.aliceDm, text: "x" });
      assert(r.isError);
    });
  },
);

Deno.test(
  "live reload: an edit made with the CLI applies to the very next message",
  e2e,
  () =>
    withWorld({ access: { dmPolicy: "allowlist", allowFrom: [] } }, async (w) => {
      w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: "before" });
      await new Promise((r) => setTimeout(r, 500));
      assertEquals(delivered(w), []);
      const res = await accessCli(w.stateDir, "allow", w.alice.id);
      assertEquals(res.code, 0, res.stderr);
      w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: "after" });
      await w.bridge.waitForNotification(
        "notifications/claude/channel",
        (p) => p.content === "after",
      );
      const removed = await accessCli(w.stateDir, "remove", w.alice.id);
      assertEquals(removed.code, 0, removed.stderr);
      w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: "gone" });
      await new Promise((r) => setTimeout(r, 500));
      assertEquals(delivered(w), ["after"]);
    }),
);

Deno.test(
  "static mode pins access.json as read at start; pairing acts as allowlist",
  e2e,
  () =>
    withWorld({
      access: { dmPolicy: "pairing", allowFrom: [] },
      env: { DISCORD_ACCESS_MODE: "static" },
    }, async (w) => {
      await w.bridge.waitForStderr(/static/i);
      w.emu.sendMessage({ channelId: w.malloryDm, authorId: w.mallory.id, content: "code please" });
      const res = await accessCli(w.stateDir, "allow", w.alice.id);
      assertEquals(res.code, 0, res.stderr);
      w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: "ignored" });
      await new Promise((r) => setTimeout(r, 800));
      assertEquals(botMessages(w, w.malloryDm), []);
      assertEquals(delivered(w), []);
    }),
);

Deno.test(
  "a corrupt access.json is never overwritten: the bridge fails closed and says why",
  e2e,
  () =>
    withWorld({}, async (w) => {
      const path = `${w.stateDir}/access.json`;
      const broken = '{ "dmPolicy": "allowlist", "allowFrom": ["' + w.alice.id + '" ';
      await Deno.writeTextFile(path, broken);
      w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: "lost?" });
      await w.bridge.waitForStderr(/access\.json/);
      await new Promise((r) => setTimeout(r, 400));
      assertEquals(delivered(w), []);
      const r = await w.bridge.call("reply", { chat_id: w.aliceDm, text: "x" });
      assert(r.isError);
      assertMatch(r.text, /access\.json/);

      const status = await accessCli(w.stateDir, "status");
      assertNotEqual(status.code, 0);
      assertMatch(status.stdout + status.stderr, /access\.json/);
      const write = await accessCli(w.stateDir, "allow", w.mallory.id);
      assertNotEqual(write.code, 0);
      assertEquals(await Deno.readTextFile(path), broken);

      // Fixing the file brings delivery back, without a restart.
      await Deno.writeTextFile(
        path,
        JSON.stringify({ dmPolicy: "allowlist", allowFrom: [w.alice.id] }),
      );
      w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: "fixed" });
      await w.bridge.waitForNotification(
        "notifications/claude/channel",
        (p) => p.content === "fixed",
      );
      assertEquals(delivered(w), ["fixed"]);

      // --fresh starts over but keeps a backup of what was there.
      await Deno.writeTextFile(path, broken);
      const fresh = await accessCli(w.stateDir, "allow", w.mallory.id, "--fresh");
      assertEquals(fresh.code, 0, fresh.stderr);
      const backups = [...Deno.readDirSync(w.stateDir)].filter((e) =>
        e.name.startsWith("access.json.corrupt-")
      );
      assertEquals(backups.length, 1);
      assertEquals(await Deno.readTextFile(`${w.stateDir}/${backups[0].name}`), broken);
    }),
);

Deno.test(
  "guild rules: patterns, listed bots, group allowFrom and invalid patterns",
  e2e,
  () =>
    withWorld({}, async (w) => {
      const groups = readAccess(w).groups;
      groups[w.channelId].allowFrom = [];
      groups[w.openChannelId].allowFrom = [w.alice.id, w.otherBot.id];
      await Deno.writeTextFile(
        `${w.stateDir}/access.json`,
        JSON.stringify({
          ...readAccess(w),
          groups,
          mentionPatterns: ["(unclosed", "^hey claude\\b"],
        }),
      );
      w.emu.sendMessage({
        channelId: w.channelId,
        authorId: w.mallory.id,
        content: "Hey Claude, run it",
      });
      await w.bridge.waitForNotification(
        "notifications/claude/channel",
        (p) => p.content === "Hey Claude, run it",
      );
      await w.bridge.waitForStderr(/\(unclosed/);
      w.emu.sendMessage({
        channelId: w.openChannelId,
        authorId: w.mallory.id,
        content: "not on the list",
      });
      w.emu.sendMessage({
        channelId: w.openChannelId,
        authorId: w.otherBot.id,
        content: "listed bot",
      });
      await w.bridge.waitForNotification(
        "notifications/claude/channel",
        (p) => p.content === "listed bot",
      );
      assert(!delivered(w).includes("not on the list"));
    }),
);

Deno.test(
  "a reply to a message the bot sent before a restart counts as a mention",
  e2e,
  async () => {
    const emu = await startEmulator({ heartbeatIntervalMs: 1000 });
    const alice = emu.addUser({ username: "alice" });
    const guild = emu.addGuild();
    const channel = emu.addTextChannel(guild.id);
    const stateDir = await makeStateDir({
      dmPolicy: "allowlist",
      allowFrom: [],
      groups: { [channel.id]: {} },
    });
    const env = {
      DISCORD_BOT_TOKEN: emu.token,
      DISCORD_API_URL: emu.apiUrl,
      DISCORD_STATE_DIR: stateDir,
    };
    try {
      const first = await startBridge({ env });
      await first.waitForStderr("connected to Discord as", 15_000);
      const r = await first.call("reply", { chat_id: channel.id, text: "earlier answer" });
      assert(!r.isError, r.text);
      const botMsg = emu.messages(channel.id).find((m) => m.content === "earlier answer")!;
      await first.close();
      await waitUntil(() => !emu.gateway.connected, 5000, "first bridge to disconnect");

      const second = await startBridge({ env });
      try {
        await second.waitForStderr("connected to Discord as", 15_000);
        emu.sendMessage({
          channelId: channel.id,
          authorId: alice.id,
          content: "follow-up",
          replyTo: botMsg.id,
        });
        await second.waitForNotification(
          "notifications/claude/channel",
          (p) => p.content === "follow-up",
        );
      } finally {
        await second.close();
      }
    } finally {
      await emu.close();
    }
  },
);
