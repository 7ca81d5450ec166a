import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { RecentIds } from "../lib/hub/dedupe.ts";
import {
  compareSnowflakes,
  CursorStore,
  parseCursors,
  serializeCursors,
} from "../lib/hub/cursors.ts";

Deno.test("RecentIds reports repeats and forgets the oldest beyond its capacity", () => {
  const ids = new RecentIds(3);
  assert(ids.firstTime("1"));
  assert(!ids.firstTime("1"));
  assert(ids.firstTime("2") && ids.firstTime("3") && ids.firstTime("4"));
  assertEquals(ids.size, 3);
  assert(!ids.has("1"), "oldest evicted");
  assert(ids.firstTime("1"));
  assert(!ids.firstTime("4"));
});

Deno.test("snowflakes compare numerically, not as text", () => {
  assert(compareSnowflakes("999", "1000") < 0);
  assert(compareSnowflakes("1300000000000000001", "1300000000000000000") > 0);
  assertEquals(compareSnowflakes("42", "42"), 0);
});

Deno.test("cursor files round-trip and skip malformed entries", () => {
  const text = serializeCursors([{ chatId: "111", lastId: "222", at: Date.UTC(2026, 0, 1) }]);
  assertEquals(parseCursors(text), [{ chatId: "111", lastId: "222", at: Date.UTC(2026, 0, 1) }]);
  assertEquals(parseCursors("not json"), []);
  assertEquals(
    parseCursors(
      JSON.stringify({ chats: { "1": { last: "x" }, abc: { last: "2" }, "3": { last: "4" } } }),
    ),
    [{ chatId: "3", lastId: "4", at: 0 }],
  );
});

Deno.test("CursorStore keeps the newest id per chat and writes at most once per window", () => {
  const writes: string[] = [];
  let now = 1000;
  const store = new CursorStore("/state", {
    flushDelayMs: 60_000,
    now: () => now,
    read: () => undefined,
    write: (_p, t) => writes.push(t),
  });
  for (let i = 10; i < 2010; i++) store.note("5", String(i));
  store.note("5", "11"); // an older id (a late catch-up) never moves the cursor back
  now = 2000;
  store.note("6", "7");
  assertEquals(writes.length, 0, "debounced: nothing written synchronously");
  store.close();
  assertEquals(writes.length, 1);
  assertEquals(parseCursors(writes[0]).map((c) => [c.chatId, c.lastId]), [["5", "2009"], [
    "6",
    "7",
  ]]);
  // Most recently delivered first.
  store.note("8", "9"); // ignored after close
  assertEquals(store.entries().map((c) => c.chatId), ["6", "5"]);
});

Deno.test("CursorStore forgets the stalest chats beyond its limit and survives a reload", () => {
  let file: string | undefined;
  let now = 0;
  const open = () =>
    new CursorStore("/state", {
      maxChats: 2,
      now: () => ++now,
      read: () => file,
      write: (_p, t) => (file = t),
    });
  const a = open();
  a.note("1", "10");
  a.note("2", "20");
  a.note("3", "30");
  a.close();
  const b = open();
  assertEquals(b.entries().map((c) => c.chatId), ["3", "2"]);
  b.close();
});

Deno.test("CursorStore writes the real file atomically into the state directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new CursorStore(`${dir}/nested`, { flushDelayMs: 10 });
    store.note("123", "456");
    await new Promise((r) => setTimeout(r, 50));
    const saved = parseCursors(await Deno.readTextFile(`${dir}/nested/cursors.json`));
    assertEquals(saved.map((c) => c.lastId), ["456"]);
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
