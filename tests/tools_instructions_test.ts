/**
 * The `instructions` string: within Claude Code's 4,096-character cut, and
 * documenting every tool the server lists.
 */
import { match as assertMatch, ok as assert } from "node:assert/strict";
import { INSTRUCTIONS, INSTRUCTIONS_LIMIT } from "../lib/session/instructions.ts";
import { TOOLS } from "../lib/tools/mod.ts";

Deno.test("instructions stay within 4,096 characters", () => {
  assert(INSTRUCTIONS_LIMIT === 4096);
  assert(INSTRUCTIONS.length <= INSTRUCTIONS_LIMIT, `length ${INSTRUCTIONS.length}`);
  // Claude Code counts characters; UTF-16 length is never less than that.
  assert([...INSTRUCTIONS].length <= INSTRUCTIONS_LIMIT);
});

Deno.test("instructions document every tool with its parameters", () => {
  for (const tool of TOOLS) {
    const shape = (tool.input as unknown as { shape: Record<string, { isOptional(): boolean }> })
      .shape;
    const params = Object.entries(shape).map(([k, v]) => v.isOptional() ? `${k}?` : k);
    assert(
      INSTRUCTIONS.includes(`- ${tool.name}(${params.join(", ")})`),
      `${tool.name}(${params.join(", ")}) is not documented`,
    );
  }
  for (
    const must of [
      /chat_id/,
      /attachments/,
      /untrusted/i,
      /only your own/,
      /oldest first/,
      /"me"/,
      /at most 10/,
      /state directory/,
    ]
  ) assertMatch(INSTRUCTIONS, must);
});
