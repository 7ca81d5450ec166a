/**
 * Cursors end to end, under the shipped launch: what a chat's cursor may and
 * may not do across a fresh gateway session, a takeover by a waiting session
 * and a SIGKILL right after a delivery. Each test observes only what Claude
 * Code (the MCP client) receives.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parseCursors } from "../lib/cursors.ts";
import { startBridge } from "./helpers/bridge.ts";
import { bridgePidUnder, waitForExit } from "./helpers/process.ts";
import { E2E, withWorld, type World } from "./helpers/world.ts";

const CHANNEL = "notifications/claude/channel";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Event = { content: string; meta: Record<string, string> };

const eventsOf = (b: { notifications: { method: string; params?: unknown }[] }) =>
  b.notifications.filter((n) => n.method === CHANNEL).map((n) => n.params as Event);
const events = (w: World) => eventsOf(w.bridge);
const dm = (w: World, content: string) =>
  w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content }).id;

Deno.test(
  "a live message that arrives before every guild has loaded waits for the missed ones of its chat",
  E2E,
  () =>
    withWorld(async (w) => {
      dm(w, "start");
      await w.emu.waitFor(() => events(w).length === 1);
      await w.stopBridge();
      const missed = [dm(w, "missed 1"), dm(w, "missed 2")];
      // A second guild whose GUILD_CREATE does not come at once: discord.js
      // reports ready (and catch-up starts) only after its guild timeout.
      w.emu.setGuildUnavailable(w.emu.addGuild({ name: "slow to load" }).id);
      // A live message right after READY, long before the bridge is ready.
      let live = "";
      w.emu.onDispatch((event) => {
        if (event === "READY" && !live) setTimeout(() => (live = dm(w, "live")), 0);
      });
      await w.startBridge();
      await w.emu.waitFor(() => events(w).length >= 3, {
        timeoutMs: 10_000,
        message: `3 events; got ${JSON.stringify(events(w).map((e) => e.content))}`,
      });
      await sleep(300);
      assertEquals(events(w).map((e) => e.meta.message_id), [...missed, live]);
      assertEquals(events(w).map((e) => e.meta.missed), ["true", "true", undefined]);
    }),
);

Deno.test(
  "a session that waited for the bot takes over without re-delivering what the first delivered, and keeps its cursors",
  E2E,
  () =>
    withWorld(async (w) => {
      const cursorsFile = `${w.stateDir}/cursors.json`;
      dm(w, "start");
      await w.emu.waitFor(() => events(w).length === 1);
      await w.emu.waitFor(() => parseCursors(Deno.readTextFileSync(cursorsFile)).length === 1, {
        timeoutMs: 3000,
      }).catch(() => {});
      // The second session starts now and waits for the lock.
      const second = await startBridge({
        env: {
          DISCORD_BOT_TOKEN: w.emu.token,
          DISCORD_API_URL: w.emu.apiUrl,
          DISCORD_STATE_DIR: w.stateDir,
        },
      });
      try {
        await second.waitForStderr("another Claude Code session holds the Discord bot");
        // The first delivers more, in the DM and in another chat.
        const later = [dm(w, "one"), dm(w, "two")];
        const open = w.emu.sendMessage({
          channelId: w.openChannelId,
          authorId: w.alice.id,
          content: "in the open channel",
        }).id;
        await w.emu.waitFor(() => events(w).length === 4);
        await w.stopBridge();
        await second.waitForStderr("connected to Discord as", 10_000);
        await sleep(1500);
        // Nothing the first session delivered comes again.
        assertEquals(eventsOf(second).map((e) => e.content), []);
        // New traffic flows, and the first session's cursors survive the takeover.
        const next = dm(w, "to the second session");
        await w.emu.waitFor(() => eventsOf(second).length === 1);
        assertEquals(eventsOf(second)[0].meta.message_id, next);
        await second.close();
        const saved = new Map(
          parseCursors(Deno.readTextFileSync(cursorsFile)).map((c) => [c.chatId, c.lastId]),
        );
        assertEquals(saved.get(w.openChannelId), open);
        assertEquals(saved.get(w.aliceDm), next);
        assert(!later.includes(saved.get(w.aliceDm)!));
      } finally {
        await second.close();
      }
    }),
);

Deno.test(
  "a bridge SIGKILLed right after a delivery does not deliver it again at the next start",
  E2E,
  () =>
    withWorld(async (w) => {
      const first = dm(w, "first");
      await w.emu.waitFor(() => events(w).length === 1);
      await sleep(1500); // the chat's cursor exists on disk
      const id = dm(w, "delivered just before the crash");
      await w.emu.waitFor(() => events(w).length === 2);
      // At once: well inside any debounce window.
      const pid = await bridgePidUnder(w.bridge.pid);
      Deno.kill(pid, "SIGKILL");
      await waitForExit(pid, 3000);
      await w.bridge.close();
      await w.emu.waitFor(() => !w.emu.gateway.connected, { timeoutMs: 5000 });
      const after = dm(w, "sent while down");
      await w.startBridge();
      await w.emu.waitFor(() => events(w).some((e) => e.meta.message_id === after));
      await sleep(500);
      assertEquals(events(w).map((e) => e.meta.message_id), [after]);
      assert(![first, id].includes(events(w)[0].meta.message_id));
    }),
);

Deno.test(
  "a delivery the last run journaled but may not have finished comes again, marked possible_duplicate",
  E2E,
  () =>
    withWorld(async (w) => {
      const first = dm(w, "first");
      await w.emu.waitFor(() => events(w).length === 1);
      await w.stopBridge();
      const cut = dm(w, "cut off mid-delivery");
      const next = dm(w, "next");
      // What a run killed between its two journal writes leaves behind.
      await Deno.writeTextFile(`${w.stateDir}/cursors.journal`, `d ${w.aliceDm} ${cut}\n`, {
        append: true,
      });
      await w.startBridge();
      await w.emu.waitFor(() => events(w).length === 2);
      await sleep(300);
      assertEquals(events(w).map((e) => [e.meta.message_id, e.meta.possible_duplicate]), [
        [cut, "true"],
        [next, undefined],
      ]);
      assert(events(w).every((e) => e.meta.missed === "true" && e.meta.message_id !== first));
    }),
);
