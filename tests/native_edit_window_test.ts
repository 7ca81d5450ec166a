/**
 * The edit window runs from the first delivery of a message (issue 14: "an
 * approver edits a message that was already delivered within the last few
 * minutes"), not from its latest edit: otherwise edits a few minutes apart
 * keep an old message live for ever.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { AccessSchema } from "../lib/access/schema.ts";
import { EDIT_WINDOW_MS, NativeEvents } from "../lib/native/events.ts";
import type { ChannelEvent, InboundMessage } from "../lib/notification.ts";

const ALICE = "100000000000000001";

Deno.test("edits reach Claude only within the window after the first delivery", async () => {
  const sent: ChannelEvent[] = [];
  let now = 1_000;
  const native = new NativeEvents({
    access: () => ({
      access: AccessSchema.parse({ dmPolicy: "allowlist", allowFrom: [ALICE] }),
      mentionPatterns: [],
    }),
    sendEvent: (ev) => (sent.push(ev), Promise.resolve()),
    discord: () => undefined,
    log: () => {},
    now: () => now,
  });
  const msg: InboundMessage = {
    id: "500000000000000001",
    isDm: true,
    channelId: "300000000000000001",
    authorId: ALICE,
    authorName: "alice",
    authorIsBot: false,
    mentionsBot: false,
    repliesToBot: false,
    content: "v0",
    createdAt: "2026-11-29T00:00:00.000Z",
    attachments: [],
  };
  native.delivered(msg, { content: "v0", meta: {} });
  const step = Math.floor(EDIT_WINDOW_MS * 0.6);
  for (const v of ["v1", "v2", "v3"]) {
    now += step;
    await native.edited({ ...msg, content: v });
  }
  // v1 came 0.6 windows after delivery; v2 (1.2) and v3 (1.8) are too late.
  assertEquals(sent.map((e) => e.content), ["v1"]);
});
