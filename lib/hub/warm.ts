/**
 * Warms the `reply` path in idle time once the hub is logged in. Its first
 * call otherwise runs the outbound shaping (Markdown, tables, the grapheme
 * segmenter, code fences) and the tools' input schemas for the first time
 * while the user waits: measured ~3 ms of a ~9 ms first reply (later replies
 * ~2 ms). Nothing is sent; only pure functions run.
 *
 * @module
 */
import { imitatesPermissionPrompt } from "../permission/prompt.ts";
import { planOutbound } from "../text/outbound.ts";
import type { Tool } from "../tools/tool.ts";

/** Markdown with every construct the shaping handles, a wide character and an emoji. */
const SAMPLE = [
  "# Warm **up** _text_ `code` ~~x~~ [link](https://example.com)",
  "",
  "| a | b |",
  "|---|:-:|",
  "| 1 | ü 😀 漢 |",
  "",
  "```ts",
  "const x = 1;",
  "```",
  "> quote",
  "- item",
].join("\n");

/** Runs the pure parts of a reply once; never throws. */
export function warmReplyPath(tools: readonly Tool[]): void {
  try {
    planOutbound(SAMPLE, { limit: 2000, mode: "length", replyToMode: "first", replyTo: "1" });
    imitatesPermissionPrompt(SAMPLE);
    for (const t of tools) t.input.safeParse({ chat_id: "1", message_id: "1", text: SAMPLE });
  } catch {
    // Only a warm-up: the real call reports its own errors.
  }
}

/** Schedules {@link warmReplyPath} after `delayMs`, without keeping the process alive. */
export function warmReplyPathSoon(tools: readonly Tool[], delayMs = 1_000): void {
  const timer = setTimeout(() => warmReplyPath(tools), delayMs);
  Deno.unrefTimer(timer);
}
