/**
 * The typing indicator: unit tests on a fake clock (refresh period and cap),
 * plus one end-to-end check that it starts when a message is delivered,
 * refreshes, and stops when the bridge replies in that chat or the cap passes.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { type TypingClock, TypingIndicator } from "../lib/hub/typing.ts";
import { makeWorld } from "./helpers/world.ts";

/** A manual clock: `advance` runs due interval callbacks in time order. */
function fakeClock() {
  let now = 0;
  let nextId = 1;
  const timers = new Map<number, { fn: () => void; ms: number; due: number }>();
  const clock: TypingClock = {
    now: () => now,
    setInterval(fn, ms) {
      const id = nextId++;
      timers.set(id, { fn, ms, due: now + ms });
      return id;
    },
    clearInterval(handle) {
      timers.delete(handle as number);
    },
  };
  const advance = (ms: number) => {
    const end = now + ms;
    for (;;) {
      const due = [...timers.entries()].filter(([, t]) => t.due <= end)
        .sort((a, b) => a[1].due - b[1].due)[0];
      if (!due) break;
      now = due[1].due;
      due[1].due += due[1].ms;
      due[1].fn();
    }
    now = end;
  };
  return { clock, advance, pending: () => timers.size };
}

function recorder() {
  const sent: { chat: string; at: number }[] = [];
  return sent;
}

Deno.test("typing: sends at once, refreshes every interval until stopped", () => {
  const { clock, advance, pending } = fakeClock();
  const sent = recorder();
  const t = new TypingIndicator({
    send: (chat) => (sent.push({ chat, at: clock.now() }), Promise.resolve()),
    intervalMs: 8_000,
    maxMs: 180_000,
    clock,
  });
  t.start("a");
  assertEquals(sent.map((s) => s.at), [0]);
  advance(24_000);
  assertEquals(sent.map((s) => s.at), [0, 8_000, 16_000, 24_000]);
  t.stop("a");
  assertEquals(pending(), 0);
  advance(60_000);
  assertEquals(sent.length, 4);
  assertEquals(t.active(), []);
});

Deno.test("typing: gives up at the cap, never refreshing past it", () => {
  const { clock, advance, pending } = fakeClock();
  const sent = recorder();
  const t = new TypingIndicator({
    send: (chat) => (sent.push({ chat, at: clock.now() }), Promise.resolve()),
    intervalMs: 8_000,
    maxMs: 60_000,
    clock,
  });
  t.start("a");
  advance(600_000);
  // Last refresh at 48 s shows until ~58 s; one at 56 s would outlast the cap.
  assertEquals(sent.map((s) => s.at), [0, 8_000, 16_000, 24_000, 32_000, 40_000, 48_000]);
  assertEquals(pending(), 0);
  assertEquals(t.active(), []);
});

Deno.test("typing: a new message extends the cap; chats are independent", () => {
  const { clock, advance } = fakeClock();
  const sent = recorder();
  const t = new TypingIndicator({
    send: (chat) => (sent.push({ chat, at: clock.now() }), Promise.resolve()),
    intervalMs: 1_000,
    maxMs: 5_000,
    clock,
  });
  t.start("a");
  t.start("b");
  advance(3_000);
  t.start("a"); // a second message in a: cap now at 8 s, no second timer
  t.stop("b"); // replied in b
  advance(20_000);
  const a = sent.filter((s) => s.chat === "a").map((s) => s.at);
  const b = sent.filter((s) => s.chat === "b").map((s) => s.at);
  assertEquals(b, [0, 1_000, 2_000, 3_000]);
  assertEquals(a, [0, 1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000]);
  assertEquals(t.active(), []);
});

Deno.test("typing: a burst of messages sends one indicator, not one per message", () => {
  const { clock, advance } = fakeClock();
  const sent = recorder();
  const t = new TypingIndicator({
    send: (chat) => (sent.push({ chat, at: clock.now() }), Promise.resolve()),
    intervalMs: 8_000,
    maxMs: 180_000,
    clock,
  });
  for (let i = 0; i < 2_000; i++) t.start("a");
  assertEquals(sent.length, 1);
  advance(8_000);
  assertEquals(sent.length, 2);
});

Deno.test("typing: a failing send does not stop or throw; stopAll clears everything", async () => {
  const { clock, advance, pending } = fakeClock();
  let calls = 0;
  const t = new TypingIndicator({
    send: () => (calls++, Promise.reject(new Error("429"))),
    intervalMs: 1_000,
    maxMs: 10_000,
    clock,
  });
  t.start("a");
  t.start("b");
  advance(2_000);
  await Promise.resolve();
  assertEquals(calls, 6);
  t.stopAll();
  assertEquals(pending(), 0);
  assertEquals(t.active(), []);
});

Deno.test(
  "typing e2e: starts on delivery, refreshes, stops on reply in that chat and at the cap",
  { sanitizeOps: false, sanitizeResources: false },
  async () => {
    const w = await makeWorld();
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    try {
      // Through the state dir's .env, which the bridge reads whatever its
      // sandbox lets it see of the environment.
      await w.stopBridge();
      await Deno.writeTextFile(
        `${w.stateDir}/.env`,
        "DISCORD_TYPING_INTERVAL_MS=100\nDISCORD_TYPING_MAX_MS=1500\n",
      );
      await w.startBridge();
      const { emu } = w;
      assertEquals(emu.typingCount(w.aliceDm), 0);
      emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: "do a thing" });
      emu.sendMessage({ channelId: w.openChannelId, authorId: w.alice.id, content: "me too" });
      await w.bridge.waitForNotification("notifications/claude/channel");
      // Refreshed, not just sent once.
      await emu.waitFor(() => emu.typingCount(w.aliceDm) >= 3, { timeoutMs: 2000 });
      const r = await w.bridge.call("reply", { chat_id: w.aliceDm, text: "done" });
      assert(!r.isError, r.text);
      await sleep(150); // a refresh already in flight may still land
      const afterReply = emu.typingCount(w.aliceDm);
      const otherBefore = emu.typingCount(w.openChannelId);
      await sleep(400);
      assertEquals(emu.typingCount(w.aliceDm), afterReply, "typing continued after the reply");
      // The other chat got no reply: its indicator keeps going...
      assert(emu.typingCount(w.openChannelId) > otherBefore, "other chat stopped too early");
      // ...until the cap (1.5 s) passes.
      await sleep(1300);
      const capped = emu.typingCount(w.openChannelId);
      await sleep(400);
      assertEquals(emu.typingCount(w.openChannelId), capped, "typing outlived the cap");
      assert(capped <= 16, `sent ${capped} typing calls within a 1.5 s cap at 100 ms`);
    } finally {
      await w.dispose();
    }
  },
);
