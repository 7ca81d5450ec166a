/**
 * Temporary access source (replaced by the access store).
 * @module
 */
import { AccessSchema } from "./access/schema.ts";
import type { AccessSource } from "./bridge.ts";
import type { Config } from "./config.ts";

/** Opens the access configuration for the bridge. */
export function openAccessSource(config: Config): AccessSource {
  const path = `${config.DISCORD_STATE_DIR}/access.json`;
  return {
    read() {
      let text: string;
      try {
        text = Deno.readTextFileSync(path);
      } catch {
        return { ok: true, access: AccessSchema.parse({}), mentionPatterns: [] };
      }
      try {
        const access = AccessSchema.parse(JSON.parse(text));
        return {
          ok: true,
          access,
          mentionPatterns: (access.mentionPatterns ?? []).map((p) => new RegExp(p, "i")),
        };
      } catch (err) {
        return { ok: false, error: String(err) };
      }
    },
  };
}
