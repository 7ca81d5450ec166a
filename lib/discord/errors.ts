/**
 * Turning Discord login failures into one line that names the cause and the
 * fix. Pure, so every message is unit-tested.
 *
 * @module
 */
import { formatDelay } from "../backoff.ts";
import { describeError } from "../log.ts";

/** Gateway close codes after which retrying cannot help. */
export const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  4004, // authentication failed
  4010, // invalid shard
  4011, // sharding required
  4012, // invalid API version
  4013, // invalid intents
  4014, // disallowed intents
]);

const TOKEN_FIX =
  "Fix: copy the token from the Discord Developer Portal (your app → Bot → Reset Token) and store it with `deno task access configure` (it prompts for the token), or set DISCORD_BOT_TOKEN.";
const INTENT_FIX =
  "Fix: Discord Developer Portal → your app → Bot → Privileged Gateway Intents → turn on MESSAGE CONTENT INTENT, then restart the session.";

/**
 * Whether a login failure is one that retrying cannot fix (wrong token,
 * refused intent, sharding): the bridge then stops and says why.
 */
export function isFatalLoginFailure(input: { closeCode?: number; err?: unknown }): boolean {
  if (input.closeCode !== undefined) return FATAL_CLOSE_CODES.has(input.closeCode);
  const err = input.err as { code?: unknown; status?: unknown } | undefined;
  if (err?.code === "TokenInvalid" || err?.status === 401) return true;
  if (err?.code === "DisallowedIntents") return true;
  return false;
}

/**
 * Explains why the bridge could not log in, from a close code or a thrown
 * error. `retryInMs` is given when the bridge will try again.
 */
export function explainLoginFailure(
  input: { closeCode?: number; err?: unknown; retryInMs?: number },
): string {
  const code = input.closeCode;
  if (code === 4004) return `Discord rejected the bot token (authentication failed). ${TOKEN_FIX}`;
  if (code === 4014) {
    return `Discord refused the Message Content intent (disallowed intents). ${INTENT_FIX}`;
  }
  if (code === 4013) {
    return "Discord rejected the gateway intents as invalid (close 4013); this is a bug in the bridge, please report it.";
  }
  if (code === 4010 || code === 4011) {
    return `Discord requires sharding for this bot (close ${code}); bots in more than 2,500 servers are not supported by this bridge.`;
  }
  if (code === 4012) {
    return "Discord rejected the gateway API version (close 4012); update the bridge.";
  }
  const err = input.err as { code?: unknown; status?: unknown } | undefined;
  const text = describeError(input.err);
  if (
    err?.code === "TokenInvalid" || err?.status === 401 ||
    /401|unauthori[sz]ed|invalid token/i.test(text)
  ) {
    return `Discord rejected the bot token (401 Unauthorized). ${TOKEN_FIX}`;
  }
  if (err?.code === "DisallowedIntents" || /disallowed intent|privileged intent/i.test(text)) {
    return `Discord refused the Message Content intent (disallowed intents). ${INTENT_FIX}`;
  }
  const when = input.retryInMs === undefined
    ? "The bridge will keep retrying"
    : `Retrying in ${formatDelay(input.retryInMs)}`;
  return `could not log in to Discord: ${text}. ${when}; check the network and DISCORD_API_URL.`;
}

/**
 * Rewrites a REST failure from discord.js into an error whose message says
 * what happened in words a tool result can carry: a rate limit the bridge
 * would not wait out, or a server error that persisted through the retries.
 * Other errors (Discord's 4xx answers) are returned unchanged.
 */
export function explainRestError(err: unknown, retries: number): unknown {
  const e = err as {
    name?: unknown;
    retryAfter?: unknown;
    status?: unknown;
    method?: unknown;
    route?: unknown;
    global?: unknown;
  };
  if (typeof e?.name === "string" && e.name.startsWith("RateLimitError")) {
    const wait = typeof e.retryAfter === "number" ? formatDelay(e.retryAfter) : "a while";
    const scope = e.global ? "all requests" : "this kind of request";
    return new Error(
      `Discord rate-limits ${scope} for ${wait}; the request was not sent (try again after that)`,
    );
  }
  if (e?.name === "HTTPError" && typeof e.status === "number" && e.status >= 500) {
    return new Error(
      `Discord failed with HTTP ${e.status} (${describeError(err)}) on all ${1 + retries} attempts`,
    );
  }
  return err;
}
