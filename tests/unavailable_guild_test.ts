/**
 * A guild listed in READY whose GUILD_CREATE never comes (Discord keeps a
 * guild in an outage unavailable) must not hold the bridge "connecting" for
 * discord.js's default 15 s: tools, pairing confirmations and catch-up all
 * wait for readiness.
 */
import { ok as assert } from "node:assert/strict";
import { makeWorld } from "./helpers/world.ts";

const e2e = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "an unavailable guild does not delay readiness: tools work within seconds of login",
  e2e,
  async () => {
    const started = Date.now();
    const w = await makeWorld({
      skipReady: true,
      beforeStart: (emu) => {
        const down = emu.addGuild({ name: "in an outage" });
        emu.setGuildUnavailable(down.id);
      },
    });
    try {
      await w.bridge.waitForStderr("connected to Discord as", 8_000);
      assert(Date.now() - started < 10_000, "ready took too long");
      const res = await w.bridge.call("reply", { chat_id: w.aliceDm, text: "up" });
      assert(!res.isError, res.text);
    } finally {
      await w.dispose();
    }
  },
);
