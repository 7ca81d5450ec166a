/**
 * The MCP handshake over raw stdio, byte for byte as Claude Code sends it:
 * a `server/discover` probe first, then `initialize`. Claude Code switches
 * channels off for a connection that negotiated protocol 2026-07-28 or
 * later, so the bridge must never agree to it, whatever the client offers.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { makeStateDir, mcpJsonCommand } from "./helpers/bridge.ts";

const REPO = new URL("../", import.meta.url).pathname;
const e2e = { sanitizeOps: false, sanitizeResources: false };

/** A bridge spawned as `.mcp.json` says, spoken to line by line. */
function spawnRaw(env: Record<string, string>) {
  const launch = mcpJsonCommand();
  const child = new Deno.Command(launch.command, {
    args: launch.args,
    cwd: REPO,
    env: { NO_COLOR: "1", ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const lines: string[] = [];
  const raw: string[] = [];
  (async () => {
    let buf = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      raw.push(chunk);
      buf += chunk;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    }
  })();
  child.stderr.pipeTo(new WritableStream()).catch(() => {});
  const send = (msg: unknown) => writer.write(new TextEncoder().encode(JSON.stringify(msg) + "\n"));
  const response = async (id: number) => {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const found = lines.map((l) => JSON.parse(l)).find((m) => m.id === id);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no response to request ${id}; stdout so far: ${raw.join("")}`);
  };
  const close = async () => {
    await writer.close().catch(() => {});
    await child.status;
  };
  return { send, response, lines, close };
}

Deno.test(
  "handshake: discover probe, then never a protocol newer than 2025-11-25",
  e2e,
  async () => {
    const stateDir = await makeStateDir();
    // No token: the handshake must not depend on Discord at all.
    const s = await spawnRaw({ DISCORD_STATE_DIR: stateDir, DISCORD_BOT_TOKEN: "" });
    try {
      await s.send({ jsonrpc: "2.0", id: 1, method: "server/discover", params: {} });
      const discover = await s.response(1);
      assertEquals(discover.error?.code, -32601);

      await s.send({
        jsonrpc: "2.0",
        id: 2,
        method: "initialize",
        params: {
          protocolVersion: "2026-07-28",
          capabilities: {},
          clientInfo: { name: "claude-code", version: "2.1.329" },
        },
      });
      const init = await s.response(2);
      assert(init.result, JSON.stringify(init));
      assert(init.result.protocolVersion <= "2025-11-25", init.result.protocolVersion);
      assertEquals(init.result.capabilities.experimental["claude/channel"], {});
      assertEquals(init.result.capabilities.experimental["claude/channel/permission"], {});
      assertEquals(init.result.serverInfo.name, "discord");
      assert(init.result.instructions.length <= 4096);

      await s.send({ jsonrpc: "2.0", method: "notifications/initialized" });
      await s.send({ jsonrpc: "2.0", id: 3, method: "tools/list", params: {} });
      const tools = await s.response(3);
      assertEquals(
        tools.result.tools.map((t: { name: string }) => t.name).sort(),
        ["download_attachment", "edit_message", "fetch_messages", "react", "reply"],
      );
      for (const t of tools.result.tools) assertEquals(t.inputSchema.type, "object");
      // Nothing but JSON-RPC ever reaches stdout.
      for (const line of s.lines) assertEquals(JSON.parse(line).jsonrpc, "2.0");
    } finally {
      await s.close();
      await Deno.remove(stateDir, { recursive: true });
    }
  },
);

Deno.test("handshake: a client on 2025-06-18 gets 2025-06-18", e2e, async () => {
  const stateDir = await makeStateDir();
  const s = await spawnRaw({ DISCORD_STATE_DIR: stateDir, DISCORD_BOT_TOKEN: "" });
  try {
    await s.send({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "c", version: "1" },
      },
    });
    assertEquals((await s.response(1)).result.protocolVersion, "2025-06-18");
  } finally {
    await s.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});
