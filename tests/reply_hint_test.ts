/**
 * What Claude must know reaches it in every session: Claude Code 2.1.332
 * shows our `instructions` only after a prompt typed in the terminal, so the
 * essentials ride on the events (sparingly) and on the tool descriptions.
 * tests/real_claude_test.ts checks the same against the real Claude Code.
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { INSTRUCTIONS_LIMIT } from "../lib/instructions.ts";
import type { ChannelEvent } from "../lib/notification.ts";
import { createReplyHints, HINT_EVERY, HINT_META_KEY, REPLY_HINT } from "../lib/reply_hint.ts";
import { TOOLS } from "../lib/tools/mod.ts";
import { ChannelEventParams, waitUntil } from "./helpers/bridge.ts";
import { E2E, withWorld } from "./helpers/world.ts";
import { assertEssentials } from "./real_claude/essentials.ts";

const event = (id: string): ChannelEvent => ({
  content: "hi",
  meta: { chat_id: "1", message_id: id, user: "alice", user_id: "2", ts: "t" },
});

Deno.test("the reminder states the essentials as a plain one-line attribute value", () => {
  assertEssentials(REPLY_HINT);
  assert(!/["'<>&\n]/.test(REPLY_HINT), "nothing the host would escape or read as structure");
  assert(REPLY_HINT.length <= 300, `length ${REPLY_HINT.length}`);
  assertMatch(HINT_META_KEY, /^[a-zA-Z_][a-zA-Z0-9_]*$/);
});

Deno.test("the first event of a session carries the reminder, the next ones do not", () => {
  const hints = createReplyHints();
  const first = hints.annotate(event("1"));
  assertEquals(first.meta[HINT_META_KEY], REPLY_HINT);
  assertEquals(first.meta.message_id, "1");
  for (let i = 2; i <= HINT_EVERY; i++) {
    assertEquals(hints.annotate(event(String(i))).meta[HINT_META_KEY], undefined);
  }
});

Deno.test("the reminder comes back after HINT_EVERY events without a reply, not after replies", () => {
  const hints = createReplyHints(3);
  const hinted = (n: number) =>
    Array.from({ length: n }, (_, i) => hints.annotate(event(String(i))).meta.hint !== undefined);
  assertEquals(hinted(7), [true, false, false, true, false, false, true]);
  // Claude answers every message: no more reminders.
  const answered: boolean[] = [];
  for (let i = 0; i < 6; i++) {
    hints.replied();
    answered.push(hints.annotate(event(String(i))).meta.hint !== undefined);
  }
  assertEquals(answered, [false, false, false, false, false, false]);
  // It stops answering: reminded again once 3 events in a row went unanswered.
  assertEquals(hinted(3), [false, false, true]);
});

Deno.test("annotate never changes the event it is given", () => {
  const e = event("1");
  createReplyHints().annotate(e);
  assertEquals(Object.keys(e.meta).includes(HINT_META_KEY), false);
});

Deno.test("the reply tool's description carries the essentials; every description fits 4,096", () => {
  const reply = TOOLS.find((t) => t.name === "reply")!;
  assertEssentials(reply.description);
  for (const tool of TOOLS) {
    assert(tool.description.length <= INSTRUCTIONS_LIMIT, `${tool.name}: too long`);
    assertMatch(tool.description, /chat_id|channel|message/, tool.name);
  }
});

Deno.test(
  "over MCP: the first delivered DM carries the reminder, the next does not; a reply resets it",
  E2E,
  () =>
    withWorld(async (w) => {
      const events = () =>
        w.bridge.notifications.filter((n) => n.method === "notifications/claude/channel")
          .map((n) => ChannelEventParams.parse(n.params));
      w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: "one" });
      await waitUntil(() => events().length === 1, 8000, "first event");
      w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: "two" });
      await waitUntil(() => events().length === 2, 8000, "second event");
      assertEquals(events().map((e) => e.meta.hint), [REPLY_HINT, undefined]);
      const sent = await w.bridge.call("reply", { chat_id: w.aliceDm, text: "ok" });
      assert(!sent.isError, sent.text);
      for (let i = 3; i <= 3 + HINT_EVERY; i++) {
        w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: `m${i}` });
        await waitUntil(() => events().length === i, 8000, `event ${i}`);
      }
      // Five events after the reply pass quietly; the sixth is reminded.
      assertEquals(
        events().slice(2).map((e) => e.meta.hint !== undefined),
        [false, false, false, false, false, true],
      );
    }),
);
