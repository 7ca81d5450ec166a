/**
 * The session's MCP server (lib/session/mcp_stdio.ts) as a stdio reader and
 * writer, fed through in-memory streams: line framing across and within
 * chunks, bad lines, over-long lines, EOF, partial writes. (These were the
 * specification of the SDK-based transport it replaced.)
 */
import assert from "node:assert/strict";
import { ChannelServer } from "../lib/session/mcp_stdio.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A server over a stream we push chunks into; records what it writes, logs and reports. */
function harness(opts: { writeAtMost?: number } = {}) {
  let push!: ReadableStreamDefaultController<Uint8Array>;
  const input = new ReadableStream<Uint8Array>({ start: (c) => void (push = c) });
  const written: Uint8Array[] = [];
  const logs: string[] = [];
  const permissionRequests: unknown[] = [];
  let closes = 0;
  const server = new ChannelServer({
    instructions: "",
    tools: [],
    callTool: () => Promise.resolve({ text: "", isError: false }),
    onPermissionRequest: (req) => permissionRequests.push(req),
    log: (line) => logs.push(line),
    input,
    output: {
      // A pipe may take fewer bytes than asked (a full pipe does).
      writeSync(p) {
        const n = Math.min(opts.writeAtMost ?? p.length, p.length);
        written.push(p.slice(0, n));
        return n;
      },
    },
  });
  server.onclose = () => closes++;
  server.start();
  const lines = () => {
    const all = new Uint8Array(written.reduce((n, c) => n + c.length, 0));
    let off = 0;
    for (const c of written) all.set(c, off), off += c.length;
    return dec.decode(all).split("\n").filter(Boolean);
  };
  return {
    server,
    logs,
    permissionRequests,
    closes: () => closes,
    /** The ids of the responses written so far, in order. */
    answered: () => lines().map((l) => (JSON.parse(l) as { id: unknown }).id),
    lines,
    send: (s: string | Uint8Array) => push.enqueue(typeof s === "string" ? enc.encode(s) : s),
    end: () => push.close(),
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));
const ping = (id: number | string) => JSON.stringify({ jsonrpc: "2.0", id, method: "ping" });

Deno.test("mcp stdio: several messages in one chunk, one message over several chunks", async () => {
  const h = harness();
  h.send(`${ping(1)}\n${ping(2)}\n${ping(3).slice(0, 10)}`);
  await tick();
  assert.deepEqual(h.answered(), [1, 2]);
  h.send(ping(3).slice(10, 20));
  h.send(`${ping(3).slice(20)}\r\n`);
  await tick();
  assert.deepEqual(h.answered(), [1, 2, 3]);
  assert.deepEqual(h.logs, []);
  h.end();
  await tick();
  assert.equal(h.closes(), 1);
});

Deno.test("mcp stdio: a UTF-8 character split across chunks arrives whole", async () => {
  const h = harness();
  const bytes = enc.encode(ping("é🎉") + "\n");
  const cut = bytes.indexOf(0xf0) + 2; // inside the 4-byte emoji
  h.send(bytes.subarray(0, cut));
  h.send(bytes.subarray(cut));
  await tick();
  assert.deepEqual(h.answered(), ["é🎉"]);
});

Deno.test("mcp stdio: bad lines are logged and skipped, the next one still works", async () => {
  const h = harness();
  h.send(`not json\n[1]\n\n${ping(7)}\n`);
  await tick();
  assert.equal(h.logs.length, 2);
  assert.match(h.logs[0], /not JSON/);
  assert.match(h.logs[1], /not a JSON-RPC message/);
  assert.deepEqual(h.answered(), [7]);
  assert.equal(h.closes(), 0);
});

Deno.test("mcp stdio: an over-long line (> 10 MiB) is skipped without buffering it whole", async () => {
  const h = harness();
  const six = "x".repeat(6 * 1024 * 1024);
  h.send(six);
  h.send(six); // over the limit: logged now, not at the newline
  await tick();
  assert.deepEqual(h.logs, ["skipped an over-long MCP line"]);
  h.send(`${six}\n${ping(1)}\n`);
  await tick();
  assert.equal(h.logs.length, 1);
  assert.deepEqual(h.answered(), [1]);
});

Deno.test("mcp stdio: EOF closes once; a last line without newline is still read", async () => {
  const h = harness();
  const request = {
    request_id: "abcde",
    tool_name: "Bash",
    description: "list files",
    input_preview: "ls",
  };
  h.send(`${ping(8)}\n`);
  await tick();
  h.send(JSON.stringify({
    jsonrpc: "2.0",
    method: "notifications/claude/channel/permission_request",
    params: request,
  }));
  h.end();
  await tick();
  assert.deepEqual(h.answered(), [8]);
  assert.deepEqual(h.permissionRequests, [request]);
  assert.equal(h.closes(), 1);
  await h.server.close();
  assert.equal(h.closes(), 1);
  await assert.rejects(h.server.notify("x", {}));
});

Deno.test("mcp stdio: close() stops reading without onclose; writing is refused after", async () => {
  const h = harness();
  await h.server.close();
  await tick();
  assert.throws(() => h.send(`${ping(1)}\n`)); // the input was cancelled
  assert.deepEqual(h.answered(), []);
  assert.equal(h.closes(), 0);
  await assert.rejects(h.server.notify("x", {}), /closed/);
});

Deno.test("mcp stdio: one line per message, partial writes finished", async () => {
  const h = harness({ writeAtMost: 7 });
  await h.server.notify("notifications/claude/channel", { content: "héllo 🎉", meta: {} });
  h.send(`${ping(2)}\n`);
  await tick();
  const lines = h.lines();
  assert.equal(lines.length, 2);
  assert.deepEqual(JSON.parse(lines[0]), {
    jsonrpc: "2.0",
    method: "notifications/claude/channel",
    params: { content: "héllo 🎉", meta: {} },
  });
  assert.deepEqual(JSON.parse(lines[1]), { jsonrpc: "2.0", id: 2, result: {} });
});
