/**
 * The delivery journal and the live hold, as plain data: what a restart
 * knows after a crash at any point of a delivery, and in which order held
 * live messages go out.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  CursorStore,
  type Journal,
  journalLine,
  parseCursors,
  parseJournal,
  parseUncertain,
} from "../lib/cursors.ts";
import { LiveHold } from "../lib/live_hold.ts";

/** An in-memory journal that survives a "crash" (the store is dropped without close()). */
function memoryJournal() {
  let text = "";
  let truncations = 0;
  const journal: Journal = {
    read: () => text,
    append: (line) => void (text += line),
    truncate: () => {
      text = "";
      truncations++;
    },
    close: () => {},
  };
  return { journal, text: () => text, truncations: () => truncations };
}

function disk() {
  let file: string | undefined;
  const j = memoryJournal();
  return {
    j,
    file: () => file,
    open: () =>
      new CursorStore("/state", {
        flushDelayMs: 60_000,
        read: () => file,
        write: (_p, t) => (file = t),
        journal: j.journal,
      }),
  };
}

Deno.test("journal lines round-trip; torn and foreign lines are skipped", () => {
  const lines = journalLine({ kind: "begin", chatId: "1", messageId: "2" }) +
    journalLine({ kind: "done", chatId: "1", messageId: "2", at: 1700000000000 }) +
    "k 1 3 17\nd 1\nx 1 2\nd 1 2 3 4\nk 1 9 1700";
  assertEquals(parseJournal(lines), [
    { kind: "begin", chatId: "1", messageId: "2" },
    { kind: "done", chatId: "1", messageId: "2", at: 1700000000000 },
    { kind: "done", chatId: "1", messageId: "3", at: 17 },
    { kind: "done", chatId: "1", messageId: "9", at: 1700 },
  ]);
});

Deno.test("every delivery is journaled before and after, and a crash loses no cursor", () => {
  const d = disk();
  const a = d.open();
  const delivery = a.begin("10", "100");
  assertEquals(d.j.text(), "d 10 100\n", "journaled before the event is written");
  delivery.done();
  assert(d.j.text().endsWith(`k 10 100 ${a.get("10")!.at}\n`));
  a.note("10", "101");
  assertEquals(d.file(), undefined, "cursors.json still debounced");
  // SIGKILL: no close(), no flush. The next run replays the journal.
  const b = d.open();
  assertEquals(b.get("10")?.lastId, "101");
  assert(!b.begin("10", "102").repeat);
  // Opening compacted the journal into cursors.json.
  assertEquals(parseCursors(d.file()!).map((c) => c.lastId), ["101"]);
});

Deno.test("a delivery cut between its two writes comes back as a repeat, once settled it does not", () => {
  const d = disk();
  const a = d.open();
  a.note("10", "100");
  a.begin("10", "101"); // the process dies here: the event may or may not be out
  const b = d.open();
  assertEquals(b.get("10")?.lastId, "100", "catch-up fetches after 100: 101 comes again");
  const again = b.begin("10", "101");
  assert(again.repeat, "marked possible duplicate");
  // It survives another crash before it is re-delivered.
  const c = d.open();
  assert(c.begin("10", "101").repeat);
  again.done();
  const e = d.open();
  assertEquals(e.get("10")?.lastId, "101");
  assert(!e.begin("10", "101").repeat, "settled: no longer uncertain");
});

Deno.test("compaction writes cursors.json first, then empties the journal", () => {
  const d = disk();
  const a = d.open();
  for (let i = 100; i < 110; i++) a.note("10", String(i));
  const inFlight = a.begin("11", "200");
  a.flush();
  assertEquals(d.j.text(), "");
  assertEquals(parseCursors(d.file()!).map((c) => [c.chatId, c.lastId]), [["10", "109"]]);
  // The delivery in flight at compaction is uncertain on disk until its `k` line.
  assertEquals([...parseUncertain(d.file()!)], [["200", "11"]]);
  inFlight.done();
  a.flush();
  assertEquals([...parseUncertain(d.file()!)], []);
  assertEquals(parseCursors(d.file()!).map((c) => [c.chatId, c.lastId]), [["10", "109"], [
    "11",
    "200",
  ]]);
});

Deno.test("a store without a journal still writes cursors (debounced)", () => {
  let file: string | undefined;
  const s = new CursorStore("/state", { read: () => file, write: (_p, t) => (file = t) });
  s.note("1", "2");
  s.close();
  assertEquals(parseCursors(file!).map((c) => c.lastId), ["2"]);
});

Deno.test("LiveHold: from READY everything waits; after planning only the caught-up chats do", () => {
  const out: string[] = [];
  const hold = new LiveHold<{ id: string; channelId: string }>({
    deliver: (m) => out.push(m.id),
  });
  assert(!hold.offer({ id: "1", channelId: "a" }), "no session yet: flows");
  hold.holdAll();
  assert(hold.offer({ id: "3", channelId: "a" }));
  assert(hold.offer({ id: "2", channelId: "b" }));
  assert(hold.holds("a", "3"));
  hold.hold("a"); // catch-up will fetch chat a
  hold.planned();
  assertEquals(out, ["2"], "chat b was not planned: it flows");
  assert(hold.offer({ id: "5", channelId: "a" }));
  assert(!hold.offer({ id: "4", channelId: "b" }));
  hold.release("a");
  assertEquals(out, ["2", "3", "5"], "oldest first once its catch-up is over");
  hold.releaseAll();
});

Deno.test("LiveHold: a READY never followed by catch-up holds nothing forever", async () => {
  const out: string[] = [];
  const logs: string[] = [];
  const hold = new LiveHold<{ id: string; channelId: string }>({
    deliver: (m) => out.push(m.id),
    log: (l) => logs.push(l),
    maxAllMs: 50,
  });
  hold.holdAll();
  assert(hold.offer({ id: "1", channelId: "a" }));
  await new Promise((r) => setTimeout(r, 120));
  assertEquals(out, ["1"]);
  assertEquals(logs.length, 1);
  assert(!hold.offer({ id: "2", channelId: "a" }));
});
