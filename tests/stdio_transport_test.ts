/**
 * The Deno-native MCP stdio transport, fed through in-memory streams: line
 * framing across and within chunks, bad lines, EOF, partial writes.
 */
import assert from "node:assert/strict";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { DenoStdioTransport, type SyncSink } from "../lib/mcp/stdio_transport.ts";

const enc = new TextEncoder();

/** A transport over a stream we push chunks into; records what it reports. */
function harness(opts: { maxLineLength?: number; output?: SyncSink } = {}) {
  let push!: ReadableStreamDefaultController<Uint8Array>;
  const input = new ReadableStream<Uint8Array>({ start: (c) => void (push = c) });
  const t = new DenoStdioTransport({ input, output: opts.output, ...opts });
  const messages: JSONRPCMessage[] = [];
  const errors: string[] = [];
  let closes = 0;
  t.onmessage = (m) => messages.push(m);
  t.onerror = (e) => errors.push(e.message);
  t.onclose = () => closes++;
  return {
    t,
    messages,
    errors,
    closes: () => closes,
    send: (s: string | Uint8Array) => push.enqueue(typeof s === "string" ? enc.encode(s) : s),
    end: () => push.close(),
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const ping = (id: number) => JSON.stringify({ jsonrpc: "2.0", id, method: "ping" });

Deno.test("stdio transport: several messages in one chunk, one message over several chunks", async () => {
  const h = harness();
  await h.t.start();
  h.send(`${ping(1)}\n${ping(2)}\n${ping(3).slice(0, 10)}`);
  await tick();
  assert.deepEqual(h.messages.map((m) => (m as { id: number }).id), [1, 2]);
  h.send(ping(3).slice(10, 20));
  h.send(`${ping(3).slice(20)}\r\n`);
  await tick();
  assert.deepEqual(h.messages.map((m) => (m as { id: number }).id), [1, 2, 3]);
  assert.deepEqual(h.errors, []);
  h.end();
  await tick();
  assert.equal(h.closes(), 1);
});

Deno.test("stdio transport: a UTF-8 character split across chunks arrives whole", async () => {
  const h = harness();
  await h.t.start();
  const bytes = enc.encode(
    JSON.stringify({ jsonrpc: "2.0", method: "notifications/x", params: { s: "é🎉" } }) + "\n",
  );
  const cut = bytes.indexOf(0xf0) + 2; // inside the 4-byte emoji
  h.send(bytes.subarray(0, cut));
  h.send(bytes.subarray(cut));
  await tick();
  assert.equal((h.messages[0] as { params: { s: string } }).params.s, "é🎉");
});

Deno.test("stdio transport: bad lines are reported and skipped, the next one still works", async () => {
  const h = harness();
  await h.t.start();
  h.send(`not json\n{"jsonrpc":"2.0"}\n\n${ping(7)}\n`);
  await tick();
  assert.equal(h.errors.length, 2);
  assert.match(h.errors[0], /not JSON/);
  assert.match(h.errors[1], /not a JSON-RPC message/);
  assert.deepEqual(h.messages.map((m) => (m as { id: number }).id), [7]);
  assert.equal(h.closes(), 0);
});

Deno.test("stdio transport: an over-long line is skipped without buffering it whole", async () => {
  const h = harness({ maxLineLength: 64 });
  await h.t.start();
  h.send("x".repeat(50));
  h.send("x".repeat(50)); // over the limit: reported now, not at the newline
  await tick();
  assert.equal(h.errors.length, 1);
  h.send(`${"x".repeat(500)}\n${ping(1)}\n`);
  await tick();
  assert.equal(h.errors.length, 1);
  assert.deepEqual(h.messages.map((m) => (m as { id: number }).id), [1]);
});

Deno.test("stdio transport: a throwing handler is reported, reading goes on", async () => {
  const h = harness();
  h.t.onmessage = (m) => {
    if ((m as { id: number }).id === 1) throw new Error("handler broke");
    h.messages.push(m);
  };
  await h.t.start();
  h.send(`${ping(1)}\n${ping(2)}\n`);
  await tick();
  assert.deepEqual(h.errors, ["handler broke"]);
  assert.equal(h.messages.length, 1);
});

Deno.test("stdio transport: EOF closes once; a last line without newline is still read", async () => {
  const h = harness();
  await h.t.start();
  h.send(ping(9));
  h.end();
  await tick();
  assert.deepEqual(h.messages.map((m) => (m as { id: number }).id), [9]);
  assert.equal(h.closes(), 1);
  await h.t.close();
  assert.equal(h.closes(), 1);
  await assert.rejects(h.t.send({ jsonrpc: "2.0", method: "x" }));
});

Deno.test("stdio transport: close() stops reading and reports onclose once", async () => {
  const h = harness();
  await h.t.start();
  await h.t.close();
  assert.equal(h.closes(), 1);
  await tick();
  assert.equal(h.closes(), 1);
});

Deno.test("stdio transport: send writes one line per message and finishes partial writes", async () => {
  const chunks: Uint8Array[] = [];
  // A pipe that takes at most 7 bytes per write, as a full pipe may.
  const output: SyncSink = {
    writeSync(p) {
      const n = Math.min(7, p.length);
      chunks.push(p.slice(0, n));
      return n;
    },
  };
  const h = harness({ output });
  await h.t.start();
  await h.t.send({ jsonrpc: "2.0", method: "notifications/claude/channel", params: { a: "ü" } });
  await h.t.send({ jsonrpc: "2.0", id: 1, result: {} });
  const text = new TextDecoder().decode(
    new Uint8Array(chunks.flatMap((c) => [...c])),
  );
  const lines = text.split("\n");
  assert.equal(lines.length, 3);
  assert.equal(lines[2], "");
  assert.deepEqual(JSON.parse(lines[0]).params, { a: "ü" });
  assert.deepEqual(JSON.parse(lines[1]), { jsonrpc: "2.0", id: 1, result: {} });
});

Deno.test("stdio transport: a sink that takes nothing fails the send instead of spinning", async () => {
  const h = harness({ output: { writeSync: () => 0 } });
  await h.t.start();
  await assert.rejects(h.t.send({ jsonrpc: "2.0", method: "x" }), /no bytes/);
});
