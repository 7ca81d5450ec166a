/**
 * The floor: the thinnest possible Discord-to-stdout relay. A bare Deno
 * WebSocket client that asks GET /gateway/bot where the gateway is,
 * IDENTIFYs, heartbeats, and writes every gateway message, unparsed, as one
 * JSON line to stdout. No discord.js, no MCP, no access checks: the benchmark
 * measures it exactly like the bridge to show how close the bridge gets.
 *
 * Env: DISCORD_BOT_TOKEN, DISCORD_API_URL (REST base without version).
 *
 * @module
 */

const token = Deno.env.get("DISCORD_BOT_TOKEN") ?? "";
const api = (Deno.env.get("DISCORD_API_URL") ?? "https://discord.com/api").replace(/\/$/, "");
// GUILDS | GUILD_MESSAGES | DIRECT_MESSAGES | MESSAGE_CONTENT, as the bridge asks.
const INTENTS = (1 << 0) | (1 << 9) | (1 << 12) | (1 << 15);
const encoder = new TextEncoder();

const res = await fetch(`${api}/v10/gateway/bot`, { headers: { authorization: `Bot ${token}` } });
const { url } = await res.json() as { url: string };
const ws = new WebSocket(`${url}/?v=10&encoding=json`);
let seq: number | null = null;
let heartbeat: ReturnType<typeof setInterval> | undefined;

ws.onmessage = (ev) => {
  const text = ev.data as string;
  // The relay itself: one write per gateway message.
  Deno.stdout.writeSync(encoder.encode(text + "\n"));
  // Parsed only after the write, to keep the session alive (sequence, opcodes).
  const { op, s, d } = JSON.parse(text) as { op: number; s: number | null; d: unknown };
  if (s !== null) seq = s;
  if (op === 10) {
    const interval = (d as { heartbeat_interval: number }).heartbeat_interval;
    heartbeat = setInterval(() => ws.send(JSON.stringify({ op: 1, d: seq })), interval);
    ws.send(JSON.stringify({
      op: 2,
      d: {
        token,
        intents: INTENTS,
        properties: { os: "linux", browser: "floor", device: "floor" },
      },
    }));
  } else if (op === 1) {
    ws.send(JSON.stringify({ op: 1, d: seq }));
  }
};
ws.onclose = () => {
  clearInterval(heartbeat);
  Deno.exit(0);
};

// Stop when the reader goes away, like an MCP server on stdin EOF.
(async () => {
  for await (const _ of Deno.stdin.readable) { /* discard */ }
  ws.close(1000);
  Deno.exit(0);
})();
