/**
 * Pairing: how a stranger's DM becomes an allowlist entry. Pure functions
 * over plain data; the clock and the random source are parameters so the
 * rules can be tested exactly. Compatible with the official plugin: 6
 * lowercase hex codes, valid one hour, stored in `access.pending`.
 *
 * The limits exist because anyone on Discord can DM the bot:
 * - at most {@link MAX_PENDING} codes at once, so a crowd of strangers cannot
 *   flood the file or bury the real code in noise;
 * - each sender is answered at most {@link MAX_REPLIES} times per code, so
 *   the bot cannot be used to spam someone (or be rate-limited by Discord)
 *   by a sender who keeps writing.
 *
 * @module
 */
import type { Access, PendingEntry } from "./schema.ts";

/** How long a pairing code stays valid. */
export const PAIRING_CODE_TTL_MS = 60 * 60 * 1000;
/** Most pairing codes pending at once; more strangers are ignored silently. */
export const MAX_PENDING = 3;
/** Replies per code: the code itself, then one reminder, then silence. */
export const MAX_REPLIES = 2;

/** Fills a buffer with cryptographically secure random bytes. */
export type RandomFill = (bytes: Uint8Array) => Uint8Array;

const systemRandom: RandomFill = (bytes) => crypto.getRandomValues(bytes);

/** The DM that triggered pairing. */
export interface PairingRequest {
  senderId: string;
  /** The DM channel, where the confirmation goes once approved. */
  chatId: string;
}

/** What to do with a stranger's DM, with the access value to store. */
export type PairingDecision =
  | {
    /** Reply with the code (`resend`: this is the one reminder). */
    action: "send_code";
    code: string;
    resend: boolean;
    expiresAt: number;
    access: Access;
    changed: true;
  }
  | {
    /** Say nothing. `changed` is true when expired codes were pruned. */
    action: "ignore";
    reason: "pending_cap" | "reply_limit" | "not_pairing";
    access: Access;
    changed: boolean;
  };

/** A random pairing code: 6 lowercase hex characters (24 bits), as the official plugin uses. */
export function generatePairingCode(random: RandomFill = systemRandom): string {
  return Array.from(random(new Uint8Array(3)))
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** Removes pending codes whose expiry has passed; returns the input itself if none had. */
export function pruneExpired(access: Access, now: number): Access {
  const live = Object.entries(access.pending).filter(([, p]) => p.expiresAt >= now);
  if (live.length === Object.keys(access.pending).length) return access;
  return { ...access, pending: Object.fromEntries(live) };
}

/**
 * Decides the reply to a DM from a sender who is not in `allowFrom` while
 * `dmPolicy` is `pairing`: a new code, one reminder of the existing code, or
 * silence. Never mutates `access`.
 */
export function decidePairing(
  access: Access,
  request: PairingRequest,
  options: { now: number; random?: RandomFill },
): PairingDecision {
  const { now } = options;
  if (access.dmPolicy !== "pairing" || access.allowFrom.includes(request.senderId)) {
    return { action: "ignore", reason: "not_pairing", access, changed: false };
  }
  const pruned = pruneExpired(access, now);
  const changed = pruned !== access;

  const existing = Object.entries(pruned.pending).find(([, p]) => p.senderId === request.senderId);
  if (existing) {
    const [code, entry] = existing;
    if (entry.replies >= MAX_REPLIES) {
      return { action: "ignore", reason: "reply_limit", access: pruned, changed };
    }
    const updated: PendingEntry = { ...entry, replies: entry.replies + 1 };
    return {
      action: "send_code",
      code,
      resend: true,
      expiresAt: entry.expiresAt,
      access: { ...pruned, pending: { ...pruned.pending, [code]: updated } },
      changed: true,
    };
  }

  if (Object.keys(pruned.pending).length >= MAX_PENDING) {
    return { action: "ignore", reason: "pending_cap", access: pruned, changed };
  }

  let code = generatePairingCode(options.random);
  // A collision would let one sender's approval admit another; re-draw.
  for (let tries = 0; code in pruned.pending; tries++) {
    if (tries > 100) throw new Error("the random source keeps repeating itself");
    code = generatePairingCode(options.random);
  }
  const entry: PendingEntry = {
    senderId: request.senderId,
    chatId: request.chatId,
    createdAt: now,
    expiresAt: now + PAIRING_CODE_TTL_MS,
    replies: 1,
  };
  return {
    action: "send_code",
    code,
    resend: false,
    expiresAt: entry.expiresAt,
    access: { ...pruned, pending: { ...pruned.pending, [code]: entry } },
    changed: true,
  };
}

/** The result of approving or denying a code. */
export type PairingOutcome =
  | { ok: true; access: Access; senderId: string; chatId: string }
  | { ok: false; error: string };

/**
 * Approves a pending code: adds its sender to `allowFrom` (once) and removes
 * the code. Unknown and expired codes are refused: an expired code might have
 * been read by someone else since, and the sender can simply DM again.
 */
export function approvePairing(access: Access, code: string, now: number): PairingOutcome {
  const key = findCode(access, code);
  if (key === undefined) return { ok: false, error: `no pending pairing code ${code}` };
  const entry = access.pending[key];
  if (entry.expiresAt < now) {
    return {
      ok: false,
      error: `pairing code ${key} expired; ask the sender to DM the bot again for a new code`,
    };
  }
  const { [key]: _removed, ...pending } = access.pending;
  const allowFrom = access.allowFrom.includes(entry.senderId)
    ? access.allowFrom
    : [...access.allowFrom, entry.senderId];
  return {
    ok: true,
    access: { ...access, allowFrom, pending },
    senderId: entry.senderId,
    chatId: entry.chatId,
  };
}

/** Rejects a pending code (expired or not): the code is removed, nobody is added. */
export function denyPairing(access: Access, code: string): PairingOutcome {
  const key = findCode(access, code);
  if (key === undefined) return { ok: false, error: `no pending pairing code ${code}` };
  const entry = access.pending[key];
  const { [key]: _removed, ...pending } = access.pending;
  return {
    ok: true,
    access: { ...access, pending },
    senderId: entry.senderId,
    chatId: entry.chatId,
  };
}

/** Finds a code exactly, else case-insensitively (users retype codes by hand). */
function findCode(access: Access, code: string): string | undefined {
  const wanted = code.trim();
  if (Object.hasOwn(access.pending, wanted)) return wanted;
  return Object.keys(access.pending).find((k) => k.toLowerCase() === wanted.toLowerCase());
}
