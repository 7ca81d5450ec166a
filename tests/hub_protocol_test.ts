/**
 * The session ⇄ hub protocol: every frame is defined by one zod schema,
 * crosses a link as one NDJSON line, and a malformed frame is refused
 * without taking the reader down. Both links (in-memory and Unix socket)
 * carry frames the same way.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { memoryLinkPair } from "../lib/link/link.ts";
import {
  decodeFrame,
  encodeFrame,
  type HubFrame,
  HubFrameSchema,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  type SessionFrame,
  SessionFrameSchema,
} from "../lib/link/protocol.ts";
import {
  connectSocket,
  serveSocket,
  socketPath,
  unixSocketsAvailable,
} from "../lib/link/socket.ts";
import { SESSION_SOCKET_NAME, socketAllowList } from "../lib/lifecycle/permissions.ts";

const hello: SessionFrame = {
  t: "hello",
  v: PROTOCOL_VERSION,
  sessionId: "c0ffee",
  name: "api",
  project: "/home/me/api",
  pid: 42,
  problems: [],
};

Deno.test("every frame round-trips through one NDJSON line", () => {
  const frames: SessionFrame[] = [
    hello,
    { t: "tool", id: 1, name: "reply", args: { chat_id: "1", text: "a\nb" } },
    {
      t: "permission",
      request: { request_id: "abcde", tool_name: "Bash", description: "d", input_preview: "{}" },
    },
    { t: "bye" },
  ];
  for (const f of frames) {
    const line = encodeFrame(f);
    assert(line.endsWith("\n") && !line.slice(0, -1).includes("\n"), line);
    assertEquals(decodeFrame(line, SessionFrameSchema), { ok: true, frame: f });
  }
  const back: HubFrame[] = [
    { t: "welcome", name: "api-2" },
    { t: "event", content: "hi", meta: { chat_id: "1" } },
    { t: "verdict", request_id: "abcde", behavior: "allow" },
    { t: "result", id: 1, text: "sent", isError: false },
    { t: "refused", reason: "old" },
  ];
  for (const f of back) {
    assertEquals(decodeFrame(encodeFrame(f), HubFrameSchema), { ok: true, frame: f });
  }
});

Deno.test("a session cannot send a verdict, an event, or an unknown frame", () => {
  for (
    const raw of [
      { t: "verdict", request_id: "abcde", behavior: "allow" },
      { t: "event", content: "x", meta: {} },
      { t: "result", id: 1, text: "x", isError: false },
      { t: "hello", v: 999, sessionId: "x", name: "x", project: "", pid: 1 },
      { t: "hello", v: PROTOCOL_VERSION, sessionId: "", name: "x", project: "", pid: 1 },
      { t: "tool", id: -1, name: "reply", args: {} },
    ]
  ) {
    const d = decodeFrame(JSON.stringify(raw), SessionFrameSchema);
    assert(!d.ok, JSON.stringify(raw));
  }
  assert(!decodeFrame("{not json", SessionFrameSchema).ok);
  // Event meta must be strings: Claude Code drops a whole event otherwise.
  assert(
    !decodeFrame(JSON.stringify({ t: "event", content: "x", meta: { n: 1 } }), HubFrameSchema).ok,
  );
});

Deno.test("the in-memory link delivers frames in order, validated, and closes both ends", async () => {
  const pair = memoryLinkPair({ session: SessionFrameSchema, hub: HubFrameSchema });
  const atHub: SessionFrame[] = [];
  const atSession: HubFrame[] = [];
  let closes = 0;
  pair.hub.onFrame = (f) => atHub.push(f);
  pair.session.onFrame = (f) => atSession.push(f);
  pair.hub.onClose = () => closes++;
  pair.session.onClose = () => closes++;
  pair.session.send(hello);
  pair.session.send({ t: "bye" });
  pair.hub.send({ t: "welcome", name: "api" });
  await new Promise((r) => setTimeout(r, 10));
  assertEquals(atHub, [hello, { t: "bye" }]);
  assertEquals(atSession, [{ t: "welcome", name: "api" }]);
  pair.session.close();
  await new Promise((r) => setTimeout(r, 10));
  assertEquals(closes, 2);
  assert(pair.hub.closed);
});

Deno.test("the socket link: 0600 socket, frames both ways, a malformed frame closes only that connection", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.chmod(dir, 0o700);
  const path = socketPath(dir);
  const atHub: SessionFrame[] = [];
  const hubEnds: { send(f: HubFrame): void }[] = [];
  const server = serveSocket<SessionFrame, HubFrame>(path, SessionFrameSchema, (link) => {
    hubEnds.push(link);
    link.onFrame = (f) => {
      atHub.push(f);
      if (f.t === "hello") link.send({ t: "welcome", name: f.name });
    };
  }, () => {});
  try {
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    const a = await connectSocket<HubFrame, SessionFrame>(path, HubFrameSchema, () => {});
    const got: HubFrame[] = [];
    a.onFrame = (f) => got.push(f);
    a.send(hello);
    const big = "x".repeat(100_000);
    a.send({ t: "tool", id: 7, name: "reply", args: { text: big } });
    const deadline = Date.now() + 3000;
    while ((got.length < 1 || atHub.length < 2) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assertEquals(got, [{ t: "welcome", name: "api" }]);
    assertEquals((atHub[1] as { args: { text: string } }).args.text.length, 100_000);

    // A peer that sends garbage is cut off; the other connection keeps working.
    const raw = await Deno.connect({ transport: "unix", path });
    await raw.write(
      new TextEncoder().encode('{"t":"verdict","request_id":"abcde","behavior":"allow"}\n'),
    );
    const buf = new Uint8Array(16);
    assertEquals(await raw.read(buf), null);
    raw.close();
    a.send({ t: "bye" });
    while (atHub.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assertEquals(atHub.at(-1), { t: "bye" });
    assert(!atHub.some((f) => (f as { t: string }).t === "verdict"));
    a.close();
  } finally {
    server.close();
    await Deno.remove(dir, { recursive: true });
  }
  assert(MAX_FRAME_BYTES >= 100_000);
});

Deno.test("the start task may reach the socket and nothing else local: --allow-net gets unix:<stateDir>/sessions.sock", () => {
  assertEquals(SESSION_SOCKET_NAME, "sessions.sock");
  assertEquals(socketAllowList("/s/discord/", () => undefined), ["unix:/s/discord/sessions.sock"]);
  assertEquals(socketAllowList("/link/d", () => "/real/d"), [
    "unix:/link/d/sessions.sock",
    "unix:/real/d/sessions.sock",
  ]);
  assertEquals(socketAllowList("/a,b", () => undefined), []);
  assertEquals(socketAllowList(undefined, () => undefined), []);
  assertEquals(socketPath("/s/discord/"), "/s/discord/sessions.sock");
  // Windows falls back to one session on Discord (see README, Several sessions).
  assertEquals([unixSocketsAvailable("linux"), unixSocketsAvailable("windows")], [true, false]);
});

Deno.test("the session's MCP server negotiates exactly the revisions MCP SDK 1.x does", async () => {
  const sdk = await import("@modelcontextprotocol/sdk/types.js");
  const { SUPPORTED_PROTOCOL_VERSIONS } = await import("../lib/session/mcp_stdio.ts");
  assertEquals([...SUPPORTED_PROTOCOL_VERSIONS], sdk.SUPPORTED_PROTOCOL_VERSIONS);
  assertEquals(SUPPORTED_PROTOCOL_VERSIONS[0], sdk.LATEST_PROTOCOL_VERSION);
  // Channels are off from 2026-07-28 on (HOST-CONTRACT.md): never negotiate it.
  assert(!SUPPORTED_PROTOCOL_VERSIONS.some((v: string) => v >= "2026-07-28"));
});

Deno.test("a session-only process loads neither discord.js nor the MCP SDK's server, only its protocol types", async () => {
  // The static module graph of main.ts, without the hub (imported dynamically by the lock holder).
  const out = await new Deno.Command("deno", {
    args: ["info", "--json", "main.ts"],
    cwd: new URL("../", import.meta.url).pathname,
    stdout: "piped",
    stderr: "null",
  }).output();
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: {
      specifier: string;
      dependencies?: { specifier: string; code?: { specifier?: string }; isDynamic?: boolean }[];
    }[];
  };
  const bySpec = new Map(graph.modules.map((m) => [m.specifier, m]));
  const root = graph.modules.find((m) => m.specifier.endsWith("/main.ts"))!.specifier;
  const seen = new Set<string>();
  const queue = [root];
  while (queue.length) {
    const spec = queue.pop()!;
    if (seen.has(spec)) continue;
    seen.add(spec);
    for (const d of bySpec.get(spec)?.dependencies ?? []) {
      if (d.isDynamic || !d.code?.specifier) continue; // type-only imports have no code edge
      queue.push(d.code.specifier);
    }
  }
  const loaded = [...seen];
  assert(loaded.some((s) => s.endsWith("/lib/session/session.ts")), "walked the graph");
  assert(
    !loaded.some((s) => /discord\.js|\/lib\/hub\//.test(s)),
    loaded.filter((s) => /npm|hub/.test(s)).join("\n"),
  );
  // The npm package is one module in deno info's graph: check what the session
  // imports from it (types.js: revisions, schemas, error codes; no Server).
  const session = await Deno.readTextFile(new URL("../lib/session/mcp_stdio.ts", import.meta.url));
  const sdkImports = [...session.matchAll(/from "(@modelcontextprotocol\/sdk[^"]*)"/g)].map((m) =>
    m[1]
  );
  assertEquals(sdkImports, ["@modelcontextprotocol/sdk/types.js"]);
});
