/**
 * What Claude must know in every session, as assertions: the Discord user sees
 * only what `reply` sends (never the terminal), and `chat_id` goes back.
 *
 * @module
 */
import { match as assertMatch } from "node:assert/strict";

/** Asserts that `text` states the essentials. */
export function assertEssentials(text: string): void {
  assertMatch(text, /sees only what/i, "the user sees only what reply sends");
  assertMatch(text, /never (your|the|this) terminal/i, "never the terminal");
  assertMatch(text, /chat_id/, "pass chat_id back");
  assertMatch(text, /\breply\b/, "answer with reply");
}
