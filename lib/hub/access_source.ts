/**
 * How the hub sees `access.json`: the port through which it reads the
 * configuration (and writes pairing codes); `access/store.ts` implements it.
 *
 * @module
 */
import type { MentionPattern } from "../access/patterns.ts";
import type { Access } from "../access/schema.ts";
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
