import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { mentionsUser, messageTime } from "../lib/discord/raw.ts";

Deno.test("messageTime: Discord's microsecond timestamp is read as ISO 8601", () => {
  assertEquals(
    messageTime("2025-03-01T12:34:56.789000+00:00", "1"),
    "2025-03-01T12:34:56.789Z",
  );
});

Deno.test("messageTime: a missing or invalid timestamp falls back to the snowflake, then now", () => {
  // 175928847299117063 is Discord's documented example snowflake (2016-04-30T11:18:25.796Z).
  assertEquals(messageTime(undefined, "175928847299117063"), "2016-04-30T11:18:25.796Z");
  assertEquals(messageTime("not a date", "175928847299117063"), "2016-04-30T11:18:25.796Z");
  assertEquals(messageTime(null, "42", 0), "1970-01-01T00:00:00.000Z");
});

Deno.test("mentionsUser: mentions array, or <@id> / <@!id> in content", () => {
  const bot = "900000000000000001";
  assertEquals(mentionsUser({ content: "hi", mentions: [{ id: bot }] }, bot), true);
  assertEquals(mentionsUser({ content: `<@!${bot}> hi`, mentions: [] }, bot), true);
  assertEquals(mentionsUser({ content: `<@${bot}> hi` }, bot), true);
  assertEquals(mentionsUser({ content: `<@${bot}1> hi`, mentions: [] }, bot), false);
  assertEquals(mentionsUser({ content: "<@> hi" }, ""), false);
});
