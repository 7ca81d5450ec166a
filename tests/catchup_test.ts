/**
 * Catch-up end to end: a bridge delivers, stops, messages arrive while no
 * bridge runs, a second bridge on the same state directory starts and
 * delivers what it missed, through the gate, in order, marked missed, once.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { CATCHUP_MAX_PER_CHAT } from "../lib/hub/catchup.ts";
import { withWorld, type World } from "./helpers/world.ts";

const e2e = { sanitizeOps: false, sanitizeResources: false };
const CHANNEL = "notifications/claude/channel";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const events = (w: World) =>
  w.bridge.notifications.filter((n) => n.method === CHANNEL).map((n) =>
    n.params as { content: string; meta: Record<string, string> }
  );

Deno.test(
  "messages sent while no bridge ran are delivered at start, gated, in order, once",
  e2e,
  () =>
    withWorld(async (w) => {
      const bot = w.emu.bot;
      const say = (channelId: string, authorId: string, content: string, extra = {}) =>
        w.emu.sendMessage({ channelId, authorId, content, ...extra });
      say(w.aliceDm, w.alice.id, "hello");
      say(w.channelId, w.mallory.id, `<@${bot.id}> ping`, { mentions: [bot.id] });
      await w.emu.waitFor(() => events(w).length === 2);
      await w.stopBridge();

      const missedDm = [1, 2, 3].map((i) => say(w.aliceDm, w.alice.id, `while away ${i}`).id);
      say(w.channelId, w.mallory.id, "chatter without a mention"); // the gate drops it
      const mention = say(w.channelId, w.mallory.id, `<@${bot.id}> are you there`, {
        mentions: [bot.id],
      }).id;
      say(w.malloryDm, w.mallory.id, "stranger"); // never delivered from: not caught up
      say(w.openChannelId, w.mallory.id, "never delivered from here"); // no cursor

      await w.startBridge();
      const expected = [...missedDm, mention];
      await w.emu.waitFor(() =>
        expected.every((id) => events(w).some((e) => e.meta.message_id === id))
      );
      await sleep(500);
      const got = events(w);
      assertEquals(got.map((e) => e.meta.message_id).sort(), [...expected].sort());
      assert(got.every((e) => e.meta.missed === "true"));
      // History from REST has no guild_id; a missed guild message still carries it.
      assertEquals(got.find((e) => e.meta.message_id === mention)?.meta.guild_id, w.guildId);
      // Per chat, oldest first.
      assertEquals(
        got.filter((e) => e.meta.chat_id === w.aliceDm).map((e) => e.meta.message_id),
        missedDm,
      );

      // New messages are live, and a third start delivers nothing again.
      const live = say(w.aliceDm, w.alice.id, "back live").id;
      await w.emu.waitFor(() => events(w).some((e) => e.meta.message_id === live));
      assertEquals(events(w).find((e) => e.meta.message_id === live)?.meta.missed, undefined);
      await w.stopBridge();
      await w.startBridge();
      await sleep(800);
      assertEquals(events(w).length, 0);
    }),
);

Deno.test(
  `catch-up is bounded to the newest ${CATCHUP_MAX_PER_CHAT} messages per chat`,
  e2e,
  () =>
    withWorld(async (w) => {
      w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: "start" });
      await w.emu.waitFor(() => events(w).length === 1);
      await w.stopBridge();
      const ids = Array.from(
        { length: CATCHUP_MAX_PER_CHAT + 7 },
        (_, i) =>
          w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: `m${i}` }).id,
      );
      await w.startBridge();
      await w.bridge.waitForStderr(/7 older missed message\(s\) not delivered/);
      await w.emu.waitFor(() => events(w).length === CATCHUP_MAX_PER_CHAT);
      await sleep(300);
      assertEquals(events(w).map((e) => e.meta.message_id), ids.slice(7));
    }),
);

Deno.test(
  "live messages during catch-up wait for the missed ones and are not repeated",
  e2e,
  () =>
    withWorld(async (w) => {
      w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: "start" });
      await w.emu.waitFor(() => events(w).length === 1);
      await w.stopBridge();
      const missed = [1, 2].map((i) =>
        w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: `missed ${i}` }).id
      );
      // Slow the catch-up fetch down so live messages arrive while it runs.
      w.emu.failNext({ method: "GET", path: `/channels/${w.aliceDm}/messages` }, {
        status: 429,
        retryAfter: 1.5,
      });
      await w.startBridge();
      const live =
        w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: "live" })
          .id;
      const all = [...missed, live];
      await w.emu.waitFor(
        () => all.every((id) => events(w).some((e) => e.meta.message_id === id)),
        {
          timeoutMs: 8000,
        },
      );
      await sleep(300);
      assertEquals(events(w).map((e) => e.meta.message_id), all);
    }),
);

Deno.test(
  "catch-up drops system messages and webhook posts, as the live path does",
  e2e,
  () =>
    withWorld(async (w) => {
      const say = (content: string) =>
        w.emu.sendMessage({ channelId: w.openChannelId, authorId: w.mallory.id, content });
      say("first, live");
      await w.emu.waitFor(() => events(w).length === 1);
      await w.stopBridge();

      const [hook, join, real] = ["posted by a webhook", "system", "a person"].map(say);
      // History as Discord (or a compatible server) answers it: a webhook post
      // whose author carries no bot flag, and a member-join system message.
      const history = [
        { ...real, type: 0 },
        { ...join, type: 7, content: "" },
        {
          ...hook,
          type: 0,
          webhook_id: "123456789012345678",
          author: { id: "123456789012345678", username: "mallory" },
        },
      ].map(({ guild_id: _g, member: _m, ...m }) => m);
      w.emu.failNext(
        { method: "GET", path: new RegExp(`/channels/${w.openChannelId}/messages$`) },
        { status: 200, body: history },
      );
      await w.startBridge();
      await w.emu.waitFor(() => events(w).some((e) => e.meta.message_id === real.id));
      await sleep(500);
      assertEquals(events(w).map((e) => e.meta.message_id), [real.id]);
    }),
);
