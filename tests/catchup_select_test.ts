import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { planCatchUpChats, runCatchUp, selectMissed } from "../lib/catchup.ts";
import type { InboundMessage } from "../lib/notification.ts";

const NOW = Date.UTC(2026, 5, 1, 12);
const msg = (id: string, agoMs = 60_000, extra: Partial<InboundMessage> = {}): InboundMessage => ({
  id,
  isDm: true,
  channelId: "9",
  authorId: "1",
  authorName: "alice",
  authorIsBot: false,
  mentionsBot: false,
  repliesToBot: false,
  content: `m${id}`,
  createdAt: new Date(NOW - agoMs).toISOString(),
  attachments: [],
  ...extra,
});
const opts = { now: NOW, maxAgeMs: 86_400_000, maxPerChat: 3, wouldDeliver: () => true };

Deno.test("selectMissed keeps what came after the cursor, oldest first", () => {
  const fetched = [msg("105"), msg("103"), msg("100"), msg("99"), msg("104")]; // Discord: newest first, here shuffled
  const pick = selectMissed(fetched, "100", { ...opts, maxPerChat: 10 });
  assertEquals(pick.deliver.map((m) => m.id), ["103", "104", "105"]);
  assertEquals([pick.tooOld, pick.overLimit], [0, 0]);
});

Deno.test("selectMissed bounds by count (newest kept) and by age", () => {
  const fetched = ["101", "102", "103", "104", "105"].map((id) => msg(id));
  const pick = selectMissed(fetched, "100", opts);
  assertEquals(pick.deliver.map((m) => m.id), ["103", "104", "105"]);
  assertEquals(pick.overLimit, 2);
  const aged = [msg("101", 2 * 86_400_000), msg("102", 86_400_000 + 1), msg("103", 1000)];
  const pick2 = selectMissed(aged, "100", opts);
  assertEquals(pick2.deliver.map((m) => m.id), ["103"]);
  assertEquals(pick2.tooOld, 2);
  const bad = selectMissed([msg("101", 0, { createdAt: "garbage" })], "100", opts);
  assertEquals(bad.deliver, []);
});

Deno.test("selectMissed applies the gate before the count, and skips our own messages", () => {
  const fetched = [
    msg("101"),
    msg("102", 1000, { authorIsSelf: true }),
    msg("103", 1000, { content: "drop me" }),
    msg("104"),
  ];
  const pick = selectMissed(fetched, "100", {
    ...opts,
    maxPerChat: 2,
    wouldDeliver: (m) => m.content !== "drop me",
  });
  assertEquals(pick.deliver.map((m) => m.id), ["101", "104"]);
  assertEquals(pick.overLimit, 0);
});

Deno.test("planCatchUpChats picks the most recently active chats", () => {
  const cursors = [
    { chatId: "a", lastId: "1", at: 10 },
    { chatId: "b", lastId: "1", at: 30 },
    { chatId: "c", lastId: "1", at: 20 },
  ];
  assertEquals(planCatchUpChats(cursors, 2).map((c) => c.chatId), ["b", "c"]);
});

Deno.test("runCatchUp holds chats, delivers in order, releases even on failure", async () => {
  const log: string[] = [];
  const result = await runCatchUp({
    cursors: [
      { chatId: "ok", lastId: "100", at: 2 },
      { chatId: "gone", lastId: "100", at: 1 },
      { chatId: "broken", lastId: "100", at: 3 },
    ],
    chatAllowed: (id) => Promise.resolve(id !== "gone"),
    fetchRecent: (id) =>
      id === "broken" ? Promise.reject(new Error("503")) : Promise.resolve([
        msg("102", 1000, { channelId: id }),
        msg("101", 1000, { channelId: id }),
      ]),
    wouldDeliver: () => true,
    deliver: (m) => log.push(`deliver ${m.channelId}/${m.id}`),
    hold: (id) => log.push(`hold ${id}`),
    release: (id) => log.push(`release ${id}`),
    log: (line) => log.push(`log ${line.slice(0, 30)}`),
    now: () => NOW,
  }, { maxPerChat: 20, maxAgeMs: 86_400_000, maxChats: 10, chatTimeoutMs: 1000 });
  assertEquals(result.delivered, 2);
  // Every chat is held before anything is fetched.
  assertEquals(log.slice(0, 3).sort(), ["hold broken", "hold gone", "hold ok"]);
  const ok = log.filter((l) => l.includes(" ok"));
  assertEquals(ok, ["hold ok", "deliver ok/101", "deliver ok/102", "release ok"]);
  assert(log.includes("release broken") && log.includes("release gone"));
  assert(log.some((l) => l.startsWith("log catch-up of chat broken")));
});

Deno.test("runCatchUp gives up on a chat that hangs, releasing its live messages", async () => {
  const released: string[] = [];
  await runCatchUp({
    cursors: [{ chatId: "slow", lastId: "1", at: 1 }],
    chatAllowed: () => Promise.resolve(true),
    fetchRecent: () => new Promise(() => {}),
    wouldDeliver: () => true,
    deliver: () => {},
    hold: () => {},
    release: (id) => released.push(id),
    log: () => {},
    now: () => NOW,
  }, { maxPerChat: 20, maxAgeMs: 86_400_000, maxChats: 10, chatTimeoutMs: 50 });
  assertEquals(released, ["slow"]);
});

Deno.test("runCatchUp delivers nothing of a chat it gave up on, even when the history comes late", async () => {
  const events: string[] = [];
  let answer!: (msgs: InboundMessage[]) => void;
  const fetched = new Promise<InboundMessage[]>((r) => (answer = r));
  await runCatchUp({
    cursors: [{ chatId: "9", lastId: "1", at: 1 }],
    chatAllowed: () => Promise.resolve(true),
    fetchRecent: () => fetched,
    wouldDeliver: () => true,
    deliver: (m) => events.push(`missed ${m.id}`),
    hold: () => {},
    release: (id) => events.push(`release ${id}`),
    log: () => {},
    now: () => NOW,
  }, { maxPerChat: 20, maxAgeMs: 86_400_000, maxChats: 10, chatTimeoutMs: 50 });
  // Released: live messages of chat 9 flowed and moved its cursor on.
  assertEquals(events, ["release 9"]);
  answer([msg("2")]);
  await fetched;
  await new Promise((r) => setTimeout(r, 0));
  assertEquals(events, ["release 9"], "an older missed message after the live ones");
});
