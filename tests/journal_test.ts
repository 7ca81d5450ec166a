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
import { waitUntil } from "./helpers/bridge.ts";

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
    open: (log?: (line: string) => void) =>
      new CursorStore("/state", {
        log,
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

Deno.test("a garbage or hostile journal is logged, skipped line by line, and compacted away", () => {
  const d = disk();
  const logs: string[] = [];
  d.j.journal.append(
    "\u0000\u0001garbage\n" + // foreign bytes
      "k 10 100 9999999999999999\n" + // a time no Date can hold (cursors.json could not be written)
      "k 10 99 1700000000000\n" +
      "d 10 101\n" +
      "k 10 10", // torn
  );
  const store = d.open((l) => logs.push(l));
  assertEquals(
    logs.filter((l) => /3 unreadable line\(s\) skipped/.test(l)).length,
    1,
    logs.join("\n"),
  );
  assertEquals(store.get("10")?.lastId, "99");
  assertEquals(d.j.text(), "", "compacted");
  assertEquals(parseCursors(d.file()!).map((c) => c.lastId), ["99"]);
  assertEquals([...parseUncertain(d.file()!)], [["101", "10"]]);
  assert(!logs.some((l) => l.includes("could not save")), logs.join("\n"));
});

Deno.test("on disk, the journal and cursors.json are private (0600) and compaction keeps the journal small", async () => {
  const dir = await Deno.makeTempDir();
  const prev = Deno.umask(0o022);
  try {
    const s = new CursorStore(dir, { flushDelayMs: 60_000 });
    for (let i = 100; i < 150; i++) s.note("10", String(i));
    assert(Deno.statSync(`${dir}/cursors.journal`).size > 0);
    s.flush();
    assertEquals(Deno.statSync(`${dir}/cursors.journal`).size, 0, "folded into cursors.json");
    s.note("10", "150");
    s.close();
    for (const f of ["cursors.journal", "cursors.json"]) {
      assertEquals((Deno.statSync(`${dir}/${f}`).mode ?? 0) & 0o777, 0o600, f);
    }
    assertEquals(new CursorStore(dir, { journal: false }).get("10")?.lastId, "150");
  } finally {
    Deno.umask(prev);
    await Deno.remove(dir, { recursive: true });
  }
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

Deno.test("LiveHold: a second READY during catch-up keeps a chat's live messages for the new plan", () => {
  const out: string[] = [];
  const hold = new LiveHold<{ id: string; channelId: string }>({
    deliver: (m) => out.push(m.id),
  });
  const deliverMissed = (id: string) => out.push(id);
  // Session 1: catch-up of chat a is under way.
  hold.holdAll();
  hold.hold("a");
  hold.planned();
  // Session 2 (not a resume: what was sent in between was never dispatched).
  hold.holdAll();
  assert(hold.offer({ id: "9", channelId: "a" }));
  // Session 1's catch-up of a ends; it fetched before the gap.
  hold.release("a");
  assertEquals(out, [], "9 waits: session 2's catch-up of a has not run");
  assert(hold.holds("a", "9"));
  hold.hold("a");
  hold.planned();
  assertEquals(out, []);
  deliverMissed("7 (missed in the gap)");
  hold.release("a");
  assertEquals(out, ["7 (missed in the gap)", "9"]);
  hold.releaseAll();
});

Deno.test("LiveHold: a held message that fails to deliver does not take the others with it", () => {
  const out: string[] = [];
  const logs: string[] = [];
  const hold = new LiveHold<{ id: string; channelId: string }>({
    deliver: (m) => {
      if (m.id === "2") throw new Error("boom");
      out.push(m.id);
    },
    log: (l) => logs.push(l),
  });
  hold.holdAll();
  hold.hold("a");
  hold.planned();
  for (const id of ["3", "1", "2"]) assert(hold.offer({ id, channelId: "a" }));
  hold.release("a"); // runCatchUp calls this in a finally: it must not throw
  assertEquals(out, ["1", "3"]);
  assertEquals(logs, ["could not deliver held message 2: boom"]);
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
  await waitUntil(() => out.length > 0, 10_000, "the safety release");
  assertEquals(out, ["1"]);
  assertEquals(logs.length, 1);
  assert(!hold.offer({ id: "2", channelId: "a" }));
});
