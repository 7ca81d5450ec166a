/**
 * The pure decisions behind reactions, edits and status reactions: who may
 * answer with a reaction, how many reach the session, what counts as an
 * edit, and how access.json configures it all (validated like every key).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { AccessSchema } from "../lib/access/schema.ts";
import { type ReactionFacts, readReaction } from "../lib/discord/raw.ts";
import {
  DeliveredLog,
  editAllowed,
  NativeEvents,
  RateLimit,
  reactionAllowed,
  reactionEvent,
  statusConfig,
} from "../lib/native/events.ts";
import type { InboundMessage } from "../lib/notification.ts";
import { META_KEY_RE } from "../lib/text/sanitize.ts";

const BOT = "900000000000000000";
const ALICE = "100000000000000001";
const MALLORY = "100000000000000002";
const GROUP = "200000000000000001";

const access = (extra: Record<string, unknown> = {}) =>
  AccessSchema.parse({
    dmPolicy: "allowlist",
    allowFrom: [ALICE],
    groups: { [GROUP]: { requireMention: true, allowFrom: [] } },
    ...extra,
  });

function reaction(over: Partial<ReactionFacts> = {}): ReactionFacts {
  return {
    chatId: "300000000000000001",
    messageId: "400000000000000001",
    userId: ALICE,
    userIsBot: false,
    emoji: "👍",
    isDm: true,
    onBotMessage: true,
    ...over,
  };
}

Deno.test("reaction gate: approvers on bot messages only, where a message would be delivered", () => {
  const a = access();
  const cases: [string, ReactionFacts, boolean][] = [
    ["approver in a DM", reaction(), true],
    ["stranger in a DM", reaction({ userId: MALLORY }), false],
    ["approver on a person's message", reaction({ onBotMessage: false }), false],
    [
      "approver in an opted-in channel (counts as a reply)",
      reaction({ isDm: false, chatId: GROUP }),
      true,
    ],
    ["approver in a channel that is not opted in", reaction({ isDm: false, chatId: "5" }), false],
    [
      "member who is not an approver, opted-in channel",
      reaction({ isDm: false, chatId: GROUP, userId: MALLORY }),
      false,
    ],
  ];
  for (const [name, r, expected] of cases) {
    assertEquals(reactionAllowed(a, r, undefined), expected, name);
  }
  assertEquals(reactionAllowed(access({ reactionEvents: false }), reaction(), undefined), false);
  // A thread inherits its parent's opt-in.
  assert(reactionAllowed(a, reaction({ isDm: false, chatId: "6" }), GROUP));
});

Deno.test("reaction payloads: message_author_id decides, custom emoji read as :name:", () => {
  const r = readReaction(
    {
      user_id: ALICE,
      channel_id: GROUP,
      message_id: "7",
      guild_id: "8",
      message_author_id: BOT,
      member: { user: { id: ALICE, username: "alice" } },
      emoji: { id: "123456789012345678", name: "shipit" },
    },
    BOT,
    () => false,
  )!;
  assertEquals([r.onBotMessage, r.emoji, r.emojiId, r.userName, r.isDm], [
    true,
    ":shipit:",
    "123456789012345678",
    "alice",
    false,
  ]);
  assertEquals(
    readReaction(
      {
        user_id: ALICE,
        channel_id: "1",
        message_id: "2",
        message_author_id: ALICE,
        emoji: { id: null, name: "👍" },
      },
      BOT,
      () => true,
    )!.onBotMessage,
    false,
  );
  assertEquals(
    readReaction(
      { user_id: ALICE, channel_id: "1", message_id: "2", emoji: { id: null, name: "👍" } },
      BOT,
      (id) => id === "2",
    )!.onBotMessage,
    true,
  );
  assertEquals(readReaction({ channel_id: "1", message_id: "2" }, BOT, () => true), undefined);
});

Deno.test("reaction event: short text, ids in meta, names cleaned", () => {
  const ev = reactionEvent(reaction({ userName: "ali\nce\u202e" }), {
    excerpt: "Deploy now?",
    now: 0,
  });
  assertEquals(ev.content, 'ali ce reacted 👍 to your message 400000000000000001 ("Deploy now?")');
  assertEquals(ev.meta.event, "reaction");
  assertEquals(ev.meta.message_id, "400000000000000001");
  for (const [k, v] of Object.entries(ev.meta)) {
    assert(META_KEY_RE.test(k) && typeof v === "string");
  }
});

Deno.test("rate limit: per person and in total, within a sliding window", () => {
  const rl = new RateLimit({ perUser: 2, total: 3, windowMs: 1000 });
  assertEquals([rl.allow("a", 0), rl.allow("a", 1), rl.allow("a", 2)], [true, true, false]);
  assertEquals([rl.allow("b", 3), rl.allow("c", 4)], [true, false]);
  assertEquals(rl.allow("a", 1001), true);
});

Deno.test("edits: only of messages delivered within the window, and only when the text changed", () => {
  const log = new DeliveredLog();
  log.note("1", "hello", 0);
  assertEquals(log.isEdit("1", "hello", 10), false, "an unfurl changes no text");
  assertEquals(log.isEdit("1", "hello!", 10), true);
  assertEquals(log.isEdit("1", "hello!", 5 * 60_000 + 1), false, "too late");
  assertEquals(log.isEdit("2", "new", 10), false, "never delivered");
  const msg = (authorId: string): InboundMessage => ({
    id: "1",
    isDm: true,
    channelId: "3",
    authorId,
    authorName: "x",
    authorIsBot: false,
    mentionsBot: false,
    repliesToBot: false,
    content: "x",
    createdAt: "2026-11-29T00:00:00.000Z",
    attachments: [],
  });
  assertEquals(editAllowed(access(), msg(ALICE)), true);
  assertEquals(editAllowed(access(), msg(MALLORY)), false);
  assertEquals(editAllowed(access({ editEvents: false }), msg(ALICE)), false);
});

Deno.test("access.json: new keys validated; status reactions off by default", () => {
  assertEquals(statusConfig(access()), undefined);
  assertEquals(statusConfig(access({ statusReactions: true })), {
    delivered: "👀",
    replied: "✅",
    failed: "⚠️",
  });
  assertEquals(statusConfig(access({ statusReactions: { replied: "👍", failed: "" } })), {
    delivered: "👀",
    replied: "👍",
    failed: "",
  });
  for (
    const bad of [
      { maxReplyMessages: 0 },
      { maxReplyMessages: 1 },
      { maxReplyMessages: 2.5 },
      { maxReplyMessages: "8" },
      { statusReactions: "yes" },
      { statusReactions: { delivred: "👀" } },
      { reactionEvents: "off" },
      { editEvents: 1 },
    ]
  ) {
    assert(!AccessSchema.safeParse(bad).success, JSON.stringify(bad));
  }
  assert(AccessSchema.safeParse({ maxReplyMessages: 12, statusReactions: false }).success);
});

/** A NativeEvents over fakes: events sent and reactions made are recorded. */
function harness(extra: Record<string, unknown> = {}) {
  const sent: { content: string; meta: Record<string, string> }[] = [];
  const calls: string[] = [];
  let now = 1_000;
  const native = new NativeEvents({
    access: () => ({ access: access(extra), mentionPatterns: [] }),
    sendEvent: (ev) => {
      sent.push(ev);
      return Promise.resolve();
    },
    discord: () => ({
      addReaction: (c, m, e) => (calls.push(`+${e} ${c}/${m}`), Promise.resolve()),
      removeReaction: (c, m, e) => (calls.push(`-${e} ${c}/${m}`), Promise.resolve()),
      chatFacts: () => Promise.resolve({ kind: "guild" }),
    }),
    log: () => {},
    now: () => now,
  });
  return { native, sent, calls, tick: (ms: number) => (now += ms) };
}

function delivered(id: string, chat = "300000000000000001"): InboundMessage {
  return {
    id,
    isDm: true,
    channelId: chat,
    authorId: ALICE,
    authorName: "alice",
    authorIsBot: false,
    mentionsBot: false,
    repliesToBot: false,
    content: "build it",
    createdAt: "2026-11-29T00:00:00.000Z",
    attachments: [],
  };
}

Deno.test("a replayed reaction dispatch (gateway resume) reaches Claude once", async () => {
  const h = harness();
  await h.native.reacted(reaction());
  await h.native.reacted(reaction());
  assertEquals(h.sent.length, 1);
  await h.native.reacted(reaction({ emoji: "👎" }));
  assertEquals(h.sent.length, 2);
});

Deno.test("status reactions: off by default; 👀, then ⚠️ on failure, then ✅ replacing 👀", () => {
  const off = harness();
  off.native.delivered(delivered("1"), { content: "build it", meta: {} });
  off.native.toolFailed("300000000000000001");
  off.native.replied("300000000000000001");
  assertEquals(off.calls, []);

  const h = harness({ statusReactions: true });
  const chat = "300000000000000001";
  h.native.delivered(delivered("1"), { content: "build it", meta: {} });
  h.native.toolFailed(); // no chat named: the last delivered message
  h.native.replied(chat);
  h.native.replied(chat); // a second message of the same reply changes nothing
  assertEquals(h.calls, [`+👀 ${chat}/1`, `+⚠️ ${chat}/1`, `+✅ ${chat}/1`, `-👀 ${chat}/1`]);
});

Deno.test("edits: the new text is delivered once, marked; unchanged text and late edits are not", async () => {
  const h = harness();
  const msg = delivered("9");
  h.native.delivered(msg, { content: "build it", meta: {} });
  await h.native.edited({ ...msg, content: "build it" });
  await h.native.edited({ ...msg, content: "build it please" });
  await h.native.edited({ ...msg, content: "build it please" });
  assertEquals(h.sent.map((e) => [e.content, e.meta.edited]), [["build it please", "true"]]);
  h.tick(10 * 60_000);
  await h.native.edited({ ...msg, content: "too late" });
  assertEquals(h.sent.length, 1);
});
