/**
 * End to end (issue 10, defect 5): an adversarial mention pattern in an
 * opted-in channel and hostile messages from any member do not stall the
 * bridge. Claude Code's tool calls are answered promptly meanwhile, under the
 * shipped launch (`.mcp.json`, V8 flags) and under `deno run -A main.ts`.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { E2E, withWorld } from "./helpers/world.ts";

/** Accepted by the old static vetting; one 60-character message froze the bridge for seconds. */
const ADVERSARIAL = "(a|aa)".repeat(26) + "b";

for (const launch of ["mcp.json", "direct"] as const) {
  Deno.test(
    `a hostile message against an adversarial mention pattern does not stall tool calls (${launch})`,
    E2E,
    async () => {
      const before = Deno.env.get("BRIDGE_LAUNCH");
      if (launch === "direct") Deno.env.set("BRIDGE_LAUNCH", "direct");
      else Deno.env.delete("BRIDGE_LAUNCH");
      try {
        await withWorld(async (w) => {
          // mallory may post in the opted-in channel (its allowFrom is empty).
          for (let i = 0; i < 3; i++) {
            w.emu.sendMessage({
              channelId: w.channelId,
              authorId: w.mallory.id,
              content: "a".repeat(60 + i),
            });
          }
          // Let the gateway hand them over before asking.
          await new Promise((r) => setTimeout(r, 150));
          const start = performance.now();
          const r = await w.bridge.call("fetch_messages", { channel: w.aliceDm });
          const ms = performance.now() - start;
          assert(!r.isError, r.text);
          assert(
            ms < 1500,
            `a tool call took ${ms.toFixed(0)} ms while hostile messages were read`,
          );
          // None of them was a mention; a real match still is one.
          const hit = w.emu.sendMessage({
            channelId: w.channelId,
            authorId: w.mallory.id,
            content: "A".repeat(26) + "b",
          });
          const event = await w.bridge.waitForNotification("notifications/claude/channel");
          assertEquals((event.meta as Record<string, string>).message_id, hit.id);
          assertEquals(
            w.bridge.notifications.filter((n) => n.method === "notifications/claude/channel")
              .length,
            1,
          );
        }, { access: { mentionPatterns: [ADVERSARIAL] } });
      } finally {
        if (before === undefined) Deno.env.delete("BRIDGE_LAUNCH");
        else Deno.env.set("BRIDGE_LAUNCH", before);
      }
    },
  );
}
