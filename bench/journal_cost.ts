/**
 * What the delivery journal (lib/cursors.ts) costs per delivered message.
 *
 * Compares, per message, the bridge's write path with and without the
 * journal: the channel event serialized and written with one synchronous
 * write (to /dev/null, so the reader's speed does not count) plus the cursor
 * update, either in memory only with a debounced file write (before) or with
 * the journal's two appends (`d` before the event, `k` after) in a real
 * state directory. Reports the median over batches and the ratio.
 *
 *     deno run -A bench/journal_cost.ts [--messages 20000] [--dir /path]
 *
 * @module
 */
import { CursorStore } from "../lib/cursors.ts";
import { DenoStdioTransport } from "../lib/mcp/stdio_transport.ts";

/** Per-message cost of the write path, in nanoseconds (medians over batches). */
export interface JournalCost {
  messages: number;
  batch: number;
  /** Event write + in-memory cursor (debounced file write), as before the journal. */
  withoutJournalNs: number;
  /** Event write + `d` and `k` journal appends. */
  withJournalNs: number;
  /** The journal's own cost per message. */
  journalNs: number;
  /** withJournal / withoutJournal. */
  ratio: number;
  /** Where the journal was written (its file system decides the cost). */
  dir: string;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Measures the journal's cost; `dir` defaults to a fresh temporary directory. */
export async function measureJournalCost(
  opts: { messages?: number; batch?: number; dir?: string } = {},
): Promise<JournalCost> {
  const messages = opts.messages ?? 20_000;
  const batch = opts.batch ?? 500;
  const dir = opts.dir ?? await Deno.makeTempDir({ prefix: "journal-bench-" });
  const sink = Deno.openSync("/dev/null", { write: true });
  const transport = new DenoStdioTransport({ output: sink, input: new ReadableStream() });
  const event = (i: number) => ({
    jsonrpc: "2.0" as const,
    method: "notifications/claude/channel",
    params: {
      content: `a typical message of a few words, number ${i}`,
      meta: {
        chat_id: "1300000000000000001",
        message_id: String(1400000000000000000n + BigInt(i)),
        user: "alice",
        user_id: "1200000000000000001",
        ts: new Date().toISOString(),
      },
    },
  });
  const run = async (journal: boolean): Promise<number[]> => {
    const stateDir = `${dir}/${journal ? "with" : "without"}-${crypto.randomUUID()}`;
    Deno.mkdirSync(stateDir, { recursive: true });
    const store = journal
      ? new CursorStore(stateDir)
      : new CursorStore(stateDir, { journal: false });
    const perMsg: number[] = [];
    for (let start = 0; start < messages; start += batch) {
      const t0 = performance.now();
      for (let i = start; i < start + batch; i++) {
        const e = event(i);
        const id = e.params.meta.message_id;
        if (journal) {
          const d = store.begin("1300000000000000001", id);
          await transport.send(e);
          d.done();
        } else {
          await transport.send(e);
          store.note("1300000000000000001", id);
        }
      }
      perMsg.push(((performance.now() - t0) * 1e6) / batch);
      // Let the debounced compaction run as it would in the bridge.
      await new Promise((r) => setTimeout(r, 0));
    }
    store.close();
    return perMsg;
  };
  // Warm up both paths, then alternate to share any drift.
  await run(false);
  await run(true);
  const without: number[] = [];
  const withJ: number[] = [];
  for (let round = 0; round < 3; round++) {
    without.push(...await run(false));
    withJ.push(...await run(true));
  }
  sink.close();
  if (!opts.dir) await Deno.remove(dir, { recursive: true });
  const withoutJournalNs = median(without);
  const withJournalNs = median(withJ);
  return {
    messages,
    batch,
    withoutJournalNs: Math.round(withoutJournalNs),
    withJournalNs: Math.round(withJournalNs),
    journalNs: Math.round(withJournalNs - withoutJournalNs),
    ratio: Math.round((withJournalNs / withoutJournalNs) * 100) / 100,
    dir,
  };
}

if (import.meta.main) {
  const arg = (name: string) => {
    const i = Deno.args.indexOf(`--${name}`);
    return i >= 0 ? Deno.args[i + 1] : undefined;
  };
  const result = await measureJournalCost({
    messages: arg("messages") ? Number(arg("messages")) : undefined,
    dir: arg("dir"),
  });
  console.log(JSON.stringify(result, null, 2));
}
