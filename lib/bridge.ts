/**
 * What the two sides of the bridge share about `access.json`. The bridge
 * itself is no longer one closure: `main.ts` runs a session
 * (`session/session.ts`: MCP on stdio) in every process, and the process
 * holding the instance lock also runs the hub (`hub/hub.ts`: the Discord
 * connection), the two meeting over a link (`link/`).
 *
 * @module
 */
import type { MentionPattern } from "./access/patterns.ts";
import type { Access } from "./access/schema.ts";
import type { PairingStore } from "./pairing_flow.ts";

/** The access configuration as the bridge sees it at one moment. */
export type AccessView =
  | { ok: true; access: Access; mentionPatterns: MentionPattern[] }
  | { ok: false; error: string };

/**
 * Where the bridge reads `access.json` from (re-read only when it changed)
 * and writes pairing codes to (atomically, under the inter-process lock).
 */
export interface AccessSource extends PairingStore {
  read(): AccessView;
}
