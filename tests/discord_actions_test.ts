/**
 * The bridge turns discord.js's message actions into no-ops (it reads the raw
 * dispatches). They are internal API: this fails when a discord.js update
 * renames them, so the skip never silently stops applying.
 */
import assert from "node:assert/strict";
import { Client } from "discord.js";
import { SKIPPED_MESSAGE_ACTIONS } from "../lib/discord/client.ts";

Deno.test("discord.js still has the message actions the bridge skips", async () => {
  const client = new Client({ intents: [] });
  try {
    const actions = (client as unknown as { actions: Record<string, { handle?: unknown }> })
      .actions;
    for (const name of SKIPPED_MESSAGE_ACTIONS) {
      assert.equal(typeof actions[name]?.handle, "function", `Client#actions.${name}.handle`);
    }
  } finally {
    await client.destroy();
  }
});
