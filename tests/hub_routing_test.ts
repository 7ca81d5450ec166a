/**
 * Names and routing with several sessions on one bot: pure decisions,
 * specified without Discord.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  labelContent,
  namePromptContent,
  routeInbound,
  type RouteInput,
} from "../lib/hub/routing.ts";
import { SessionTable } from "../lib/hub/sessions.ts";
import { identityFrom, sessionName, uniqueName } from "../lib/session/identity.ts";

Deno.test("a session is named after its project directory, safely", () => {
  assertEquals(sessionName("/home/me/api", "/elsewhere"), "api");
  assertEquals(sessionName(undefined, "/home/me/web-app/"), "web-app");
  assertEquals(sessionName("", "C:\\Users\\me\\Billing Service"), "Billing-Service");
  assertEquals(sessionName("/x/**evil**`<@1>`", undefined), "evil-1");
  assertEquals(sessionName("/", undefined), "session");
  assertEquals(sessionName("/" + "a".repeat(80), undefined).length, 32);
});

Deno.test("names are made unique with a suffix, case-insensitively", () => {
  assertEquals(uniqueName("api", []), "api");
  assertEquals(uniqueName("api", ["API"]), "api-2");
  assertEquals(uniqueName("api", ["api", "api-2"]), "api-3");
  assertEquals(uniqueName("a".repeat(32), ["a".repeat(32)]).length, 32);
});

Deno.test("the session ID is CLAUDE_CODE_SESSION_ID (stable across --resume), else random", () => {
  const id = identityFrom(
    { CLAUDE_PROJECT_DIR: "/p/api", CLAUDE_CODE_SESSION_ID: "s-1" },
    "/cwd",
    () => "r",
  );
  assertEquals(id, { sessionId: "s-1", name: "api", project: "/p/api" });
  assertEquals(identityFrom({}, "/cwd/web", () => "r"), {
    sessionId: "r",
    name: "web",
    project: "/cwd/web",
  });
});

const A = { id: "a", name: "api" };
const W = { id: "w", name: "web" };
const D = { id: "d", name: "docs" };

function input(over: Partial<RouteInput>): RouteInput {
  return {
    chatId: "dm1",
    authorId: "u1",
    content: "hello",
    sessions: [A, W, D],
    threadOwner: () => undefined,
    sentBy: () => undefined,
    focus: () => undefined,
    lastWriter: undefined,
    ...over,
  };
}

Deno.test("one session gets everything, unchanged, even '@name' text", () => {
  const r = routeInbound(input({ sessions: [A], content: "@web hi" }));
  assertEquals(r, { session: "a", content: "@web hi", why: "only" });
});

Deno.test("a session's thread goes to that session only; a thread of a gone session to nobody", () => {
  const owner = (c: string) => (c === "t-web" ? "w" : c === "t-gone" ? "g" : undefined);
  assertEquals(routeInbound(input({ chatId: "t-web", threadOwner: owner, content: "@api x" })), {
    session: "w",
    content: "@api x",
    why: "thread",
  });
  assertEquals(routeInbound(input({ chatId: "t-gone", threadOwner: owner })), {
    session: undefined,
    why: "thread-closed",
  });
});

Deno.test("@name addresses a session, strips the prefix and focuses it; unknown names are text", () => {
  assertEquals(routeInbound(input({ content: "@Web  run the tests" })), {
    session: "w",
    content: "run the tests",
    focus: "w",
    why: "name",
  });
  assertEquals(routeInbound(input({ content: "@web, status?" })).session, "w");
  const unknown = routeInbound(input({ content: "@nobody hi", lastWriter: "d" }));
  assertEquals(unknown, { session: "d", content: "@nobody hi", why: "last-writer" });
  // An email-like word is not a name prefix.
  assertEquals(routeInbound(input({ content: "@webby hi" })).why, "first");
});

Deno.test("a reply to a bot message goes to the session that sent it, and focuses it", () => {
  const r = routeInbound(input({
    replyToId: "m9",
    sentBy: (m) => (m === "m9" ? "d" : undefined),
    focus: () => "a",
  }));
  assertEquals(r, { session: "d", content: "hello", focus: "d", why: "reply" });
  // A reply to a message of a session that left falls back to focus.
  const gone = routeInbound(input({ replyToId: "m9", sentBy: () => "x", focus: () => "a" }));
  assertEquals(gone.why, "focus");
});

Deno.test("otherwise: the focused session, at first the one that last wrote, else the oldest", () => {
  assertEquals(routeInbound(input({ focus: () => "w", lastWriter: "d" })).session, "w");
  assertEquals(routeInbound(input({ focus: () => "gone", lastWriter: "d" })).session, "d");
  assertEquals(routeInbound(input({})).session, "a");
  assertEquals(routeInbound(input({ sessions: [] })), { session: undefined, why: "no-session" });
});

Deno.test("labels: only with two or more sessions, never past Discord's limit", () => {
  assertEquals(labelContent("done", "api", false), "done");
  assertEquals(labelContent("done", "api", true), "**api**: done");
  assertEquals(labelContent("", "api", true), "");
  assertEquals(labelContent(undefined, "api", true), undefined);
  const full = "x".repeat(1995);
  assertEquals(labelContent(full, "api", true), full);
});

Deno.test("prompts name the session that asks", () => {
  assertEquals(
    namePromptContent("🔐 Claude wants to run **Bash**\nls", "api"),
    "🔐 **api** wants to run **Bash**\nls",
  );
  assertEquals(namePromptContent("✅ Allowed by alice", "api"), "**api** · ✅ Allowed by alice");
  const full = "🔐 Claude wants to run **Bash**" + "x".repeat(1960);
  assert(full.length <= 2000);
  assert(namePromptContent(full, "a-long-session-name").length <= 2000);
});

Deno.test("the session table: unique names, reconnects keep the name, sent messages and focus", () => {
  const t = new SessionTable(() => 0);
  const send = () => {};
  const a = t.add({ id: "1", name: "api", project: "/p/api", pid: 1, send });
  const b = t.add({ id: "2", name: "api", project: "/q/api", pid: 2, send });
  assertEquals([a.name, b.name], ["api", "api-2"]);
  assert(t.labelled());
  // The same session reconnecting (a new link) keeps its name; the stale link's close is ignored.
  const send2 = () => {};
  assertEquals(
    t.add({ id: "2", name: "api", project: "/q/api", pid: 2, send: send2 }).name,
    "api-2",
  );
  assert(!t.remove("2", send));
  assertEquals(t.size, 2);
  t.noteSent("2", "m1");
  assertEquals([t.sentBy("m1"), t.lastWriter], ["2", "2"]);
  t.setFocus("u", "1");
  assertEquals(t.focus("u"), "1");
  assert(t.remove("2", send2));
  assertEquals([t.size, t.lastWriter, t.labelled()], [1, undefined, false]);
  assertEquals(t.byName("API")?.id, "1");
});

Deno.test("/sessions renders one line and one Focus button per session; ids round-trip", async () => {
  const { focusButtonId, formatIdle, parseFocusButton, renderSessionList } = await import(
    "../lib/hub/commands.ts"
  );
  assertEquals(parseFocusButton(focusButtonId("api-2")), "api-2");
  assertEquals(parseFocusButton("perm:allow:abcde"), undefined);
  assertEquals(parseFocusButton("hub:focus:"), undefined);
  assertEquals([formatIdle(5_000), formatIdle(180_000), formatIdle(7_200_000)], ["5s", "3m", "2h"]);
  const out = renderSessionList([
    { name: "api", project: "/p/api", lastActiveAt: 0, pendingPrompts: 0, focused: true },
    { name: "web", project: "/p/`web`", lastActiveAt: 50_000, pendingPrompts: 2, focused: false },
  ], 60_000);
  assertEquals(
    out.content,
    "2 session(s) connected:\n▶ **api** · `/p/api` · idle 1m\n• **web** · `/p/web` · idle 10s · 2 prompts waiting",
  );
  assertEquals(out.components.length, 1);
  const many = renderSessionList(
    Array.from({ length: 30 }, (_, i) => ({
      name: `s${i}`,
      project: "",
      lastActiveAt: 0,
      pendingPrompts: 0,
      focused: false,
    })),
    0,
  );
  // Discord allows 5 rows of 5 buttons.
  assertEquals(many.components.length, 5);
  assertEquals(renderSessionList([], 0).components, []);
});

Deno.test("session_threads.json: malformed entries are skipped, good ones kept", async () => {
  const { parseThreads } = await import("../lib/hub/threads.ts");
  const m = parseThreads(JSON.stringify({
    version: 1,
    sessions: {
      a: { threadId: "123", parentId: "9", name: "api" },
      b: { threadId: "not-a-snowflake", parentId: "9", name: "x" },
      c: null,
    },
  }));
  assertEquals([...m.keys()], ["a"]);
  assertEquals(parseThreads("{oops").size, 0);
});

Deno.test("routing memory carries focus, last writer and recent senders to the next hub", async () => {
  const { parseRoutingMemory } = await import("../lib/hub/sessions.ts");
  const a = new SessionTable(() => 0);
  const send = () => {};
  a.add({ id: "1", name: "api", project: "", pid: 1, send });
  a.add({ id: "2", name: "web", project: "", pid: 2, send });
  a.noteSent("2", "111");
  a.setFocus("42", "1");
  const text = JSON.stringify(a.memory());
  const b = new SessionTable(() => 0);
  b.restore(parseRoutingMemory(text));
  assertEquals([b.focus("42"), b.sentBy("111"), b.lastWriter], ["1", "2", "2"]);
  assertEquals(parseRoutingMemory("nonsense"), { focus: {}, sent: [] });
  assertEquals(
    parseRoutingMemory(JSON.stringify({ focus: { x: "1" }, sent: [["9", 3], ["10", "s"]] })),
    { focus: {}, sent: [["10", "s"]] },
  );
});
