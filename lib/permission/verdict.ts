/**
 * Reading a permission verdict from Discord: a `yes abcde` / `no abcde` text
 * reply or a button press, both tied to the five-letter request ID that Claude
 * Code issued.
 *
 * @module
 */

/** An allow or deny answer for one open permission request. */
export interface Verdict {
  /** Lowercased five-letter request ID. */
  requestId: string;
  behavior: "allow" | "deny";
}

/** What a permission prompt button does. */
export type ButtonAction = "allow" | "deny" | "details";

/**
 * A text verdict: `y`, `yes`, `n` or `no`, then the request ID, nothing else.
 * The ID alphabet has no `l`, so it never reads as `1` or `I` on a phone; the
 * `i` flag tolerates autocorrect capitalising the reply.
 */
export const PERMISSION_REPLY_RE = /^\s*(y|yes|n|no)\s+([a-km-z]{5})\s*$/i;

const REQUEST_ID_RE = /^[a-km-z]{5}$/;

/** Whether `s` has the exact shape of a request ID (five lowercase letters, no `l`). */
export function isRequestId(s: string): boolean {
  return REQUEST_ID_RE.test(s);
}

/**
 * Parses a chat message as a verdict, or returns null when it is anything
 * else (so `yes`, `approve it`, or `yes abcde please` go on to Claude as
 * ordinary chat rather than approving something).
 */
export function parseTextVerdict(text: string): Verdict | null {
  const m = PERMISSION_REPLY_RE.exec(text);
  if (!m) return null;
  const answer = m[1].toLowerCase();
  return {
    requestId: m[2].toLowerCase(),
    behavior: answer === "y" || answer === "yes" ? "allow" : "deny",
  };
}

const BUTTON_PREFIX = "perm";
const BUTTON_ID_RE = /^perm:(allow|deny|details):([a-km-z]{5})$/;

/**
 * The `custom_id` of a prompt button, e.g. `perm:allow:abcde` (16 characters
 * at most, far under Discord's 100). Throws a RangeError for a malformed
 * request ID, so an ID that could never be parsed back is never sent.
 */
export function permissionButtonId(action: ButtonAction, requestId: string): string {
  if (!isRequestId(requestId)) throw new RangeError(`not a permission request ID: ${requestId}`);
  return `${BUTTON_PREFIX}:${action}:${requestId}`;
}

/**
 * Parses a button `custom_id` made by {@link permissionButtonId}; anything
 * else, including a valid shape with an uppercase or `l`-containing ID, gives
 * null. Strict, because a custom ID arrives from the Discord gateway and a
 * loose match could turn some other component's click into an approval.
 */
export function parseButtonId(
  customId: string,
): { action: ButtonAction; requestId: string } | null {
  const m = BUTTON_ID_RE.exec(customId);
  if (!m) return null;
  return { action: m[1] as ButtonAction, requestId: m[2] };
}
