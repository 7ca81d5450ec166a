/**
 * Code is never rewritten, also when a fenced block sits deeper than three
 * spaces (a block nested in a list item): Discord renders such a fence as
 * code, so `<b>`, `[^1]`, `- [ ]`, images and table pipes inside it must
 * reach Discord exactly as Claude wrote them.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { shapeForDiscord } from "../lib/text/discord_markdown.ts";
import { planOutbound } from "../lib/text/outbound.ts";

const NESTED = [
  "- Setup",
  "    - Run:",
  "        ```html",
  "        <b>hi</b> [^1] ![x](https://a.b/c.png) <!-- keep -->",
  "        - [ ] not a task",
  "        #### not a heading",
  "        | a | b |",
  "        |---|---|",
  "        ```",
  "- Done [^1]",
  "",
  "[^1]: note",
].join("\n");

Deno.test("a fenced block nested deeper than three spaces is left as it is", () => {
  const shaped = shapeForDiscord(NESTED);
  const code = NESTED.split("\n").slice(2, 9).join("\n");
  assertEquals(shaped.text.includes(code), true, shaped.text);
  // Outside the block the shaping still applies.
  assertEquals(shaped.text.includes("- Done ¹"), true, shaped.text);
  // And the block is kept whole in one message.
  const start = shaped.text.indexOf("        ```html");
  assertEquals(shaped.atomic.some((r) => r.start === start), true);
  const plan = planOutbound(NESTED, { limit: 2000, mode: "newline", replyToMode: "off" });
  assertEquals((plan.bodies[0].content ?? "").includes(code), true);
});

Deno.test("a tab-indented fence is code too", () => {
  const text = "\t```\n\t<i>x</i> [^2]\n\t```";
  assertEquals(shapeForDiscord(text).text, text);
});
