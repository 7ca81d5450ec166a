import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { AccessSchema } from "../lib/access/schema.ts";
import { checkOutbound, decideInbound, type InboundFacts } from "../lib/access/gate.ts";

const ALICE = "111111111111111111";
const MALLORY = "999999999999999999";
const OTHER_BOT = "555555555555555555";
const CHANNEL = "222222222222222222";
const THREAD = "333333333333333333";

const access = (raw: unknown) => AccessSchema.parse(raw);
const dm = (over: Partial<InboundFacts> = {}): InboundFacts => ({
  isDm: true,
  channelId: "444444444444444444",
  authorId: ALICE,
  authorIsBot: false,
  mentionsBot: false,
  repliesToBot: false,
  content: "hi",
  ...over,
});
const guild = (over: Partial<InboundFacts> = {}): InboundFacts =>
  dm({ isDm: false, channelId: CHANNEL, ...over });

Deno.test("a DM from an allowlisted author is delivered", () => {
  assertEquals(decideInbound(access({ allowFrom: [ALICE] }), dm()), { action: "deliver" });
});

Deno.test("a DM from a stranger is dropped under allowlist and starts pairing under pairing", () => {
  const a = { allowFrom: [ALICE] };
  assertEquals(decideInbound(access({ ...a, dmPolicy: "allowlist" }), dm({ authorId: MALLORY })), {
    action: "drop",
    reason: "not-allowlisted",
  });
  assertEquals(decideInbound(access({ ...a, dmPolicy: "pairing" }), dm({ authorId: MALLORY })), {
    action: "pair",
  });
});

Deno.test("dmPolicy disabled drops everything, allowlisted DMs and guild messages alike", () => {
  const a = access({
    dmPolicy: "disabled",
    allowFrom: [ALICE],
    groups: { [CHANNEL]: { requireMention: false } },
  });
  assertEquals(decideInbound(a, dm()).action, "drop");
  assertEquals(decideInbound(a, guild()).action, "drop");
});

Deno.test("the bridge's own messages are never delivered, even if its ID is allowlisted", () => {
  const a = access({ allowFrom: [ALICE], groups: { [CHANNEL]: { requireMention: false } } });
  assertEquals(decideInbound(a, dm({ authorIsSelf: true, authorIsBot: true })).action, "drop");
  assertEquals(decideInbound(a, guild({ authorIsSelf: true, authorIsBot: true })).action, "drop");
});

Deno.test("other bots are dropped unless their ID is explicitly listed", () => {
  const open = access({ groups: { [CHANNEL]: { requireMention: false } } });
  assertEquals(
    decideInbound(open, guild({ authorId: OTHER_BOT, authorIsBot: true })).action,
    "drop",
  );
  assertEquals(decideInbound(open, dm({ authorId: OTHER_BOT, authorIsBot: true })).action, "drop");
  const named = access({
    allowFrom: [OTHER_BOT],
    groups: { [CHANNEL]: { requireMention: false } },
  });
  assertEquals(
    decideInbound(named, guild({ authorId: OTHER_BOT, authorIsBot: true })).action,
    "deliver",
  );
  assertEquals(
    decideInbound(named, dm({ authorId: OTHER_BOT, authorIsBot: true })).action,
    "deliver",
  );
});

Deno.test("a guild message needs its channel opted in; the room never admits its members by itself", () => {
  const a = access({ allowFrom: [ALICE] });
  assertEquals(decideInbound(a, guild({ mentionsBot: true })), {
    action: "drop",
    reason: "channel-not-opted-in",
  });
});

Deno.test("requireMention (default true) is met by a mention, a reply to the bot or a pattern", () => {
  const a = access({ groups: { [CHANNEL]: {} } });
  assertEquals(decideInbound(a, guild()).action, "drop");
  assertEquals(decideInbound(a, guild({ mentionsBot: true })).action, "deliver");
  assertEquals(decideInbound(a, guild({ repliesToBot: true })).action, "deliver");
  assertEquals(
    decideInbound(a, guild({ content: "Hey Claude, look" }), [/^hey claude\b/i]).action,
    "deliver",
  );
});

Deno.test("a group's allowFrom restricts authors; empty means any member", () => {
  const a = access({ groups: { [CHANNEL]: { requireMention: false, allowFrom: [ALICE] } } });
  assertEquals(decideInbound(a, guild()).action, "deliver");
  assertEquals(decideInbound(a, guild({ authorId: MALLORY })), {
    action: "drop",
    reason: "group-author-not-allowed",
  });
  const open = access({ groups: { [CHANNEL]: { requireMention: false } } });
  assertEquals(decideInbound(open, guild({ authorId: MALLORY })).action, "deliver");
});

Deno.test("threads inherit their parent channel's entry", () => {
  const a = access({ groups: { [CHANNEL]: { requireMention: false } } });
  assertEquals(decideInbound(a, guild({ channelId: THREAD, parentId: CHANNEL })).action, "deliver");
  assertEquals(
    decideInbound(a, guild({ channelId: THREAD, parentId: "777777777777777777" })).action,
    "drop",
  );
});

Deno.test("the outbound gate allows only chats the inbound gate would deliver from", () => {
  const a = access({ allowFrom: [ALICE], groups: { [CHANNEL]: {} } });
  assertEquals(checkOutbound(a, { kind: "dm", recipientId: ALICE }), undefined);
  assertEquals(typeof checkOutbound(a, { kind: "dm", recipientId: MALLORY }), "string");
  assertEquals(typeof checkOutbound(a, { kind: "dm", recipientId: undefined }), "string");
  assertEquals(checkOutbound(a, { kind: "guild", channelId: CHANNEL }), undefined);
  assertEquals(
    checkOutbound(a, { kind: "guild", channelId: THREAD, parentId: CHANNEL }),
    undefined,
  );
  assertEquals(
    typeof checkOutbound(a, { kind: "guild", channelId: "888888888888888888" }),
    "string",
  );
  assertEquals(typeof checkOutbound(a, { kind: "other" }), "string");
  assertEquals(
    typeof checkOutbound(access({ dmPolicy: "disabled", allowFrom: [ALICE] }), {
      kind: "dm",
      recipientId: ALICE,
    }),
    "string",
  );
});

Deno.test("group keys are looked up as own properties only (no prototype tricks)", () => {
  const a = access({ groups: {} });
  assertEquals(
    decideInbound(a, guild({ channelId: "__proto__", mentionsBot: true })).action,
    "drop",
  );
  assertEquals(
    decideInbound(a, guild({ channelId: "constructor", mentionsBot: true })).action,
    "drop",
  );
});

Deno.test("a bot listed only in the top-level allowFrom does not get past a group's own allowFrom", () => {
  const a = access({
    allowFrom: [OTHER_BOT],
    groups: { [CHANNEL]: { requireMention: false, allowFrom: [ALICE] } },
  });
  assertEquals(decideInbound(a, guild({ authorId: OTHER_BOT, authorIsBot: true })).action, "drop");
  // Named by the group itself, it is delivered there.
  const b = access({
    groups: { [CHANNEL]: { requireMention: false, allowFrom: [ALICE, OTHER_BOT] } },
  });
  assertEquals(
    decideInbound(b, guild({ authorId: OTHER_BOT, authorIsBot: true })).action,
    "deliver",
  );
});
