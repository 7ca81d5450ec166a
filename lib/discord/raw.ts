/**
 * Reading raw Discord message payloads defensively. Discord itself always
 * sends a valid `timestamp` and fills `mentions`; a Discord-compatible server
 * may not, and one odd field must never cost a whole message.
 *
 * @module
 */

/** Discord's epoch (2015-01-01T00:00:00Z), the base of snowflake timestamps. */
const DISCORD_EPOCH = 1_420_070_400_000n;

/**
 * A message's creation time as ISO 8601: its `timestamp` when that parses,
 * else the time encoded in its snowflake ID, else now.
 */
export function messageTime(timestamp: unknown, id: string, now = Date.now()): string {
  if (typeof timestamp === "string" || typeof timestamp === "number") {
    const t = new Date(timestamp);
    if (!Number.isNaN(t.getTime())) return t.toISOString();
  }
  if (/^\d{17,20}$/.test(id)) {
    const ms = Number((BigInt(id) >> 22n) + DISCORD_EPOCH);
    if (ms <= now + 86_400_000) return new Date(ms).toISOString();
  }
  return new Date(now).toISOString();
}

/**
 * True when a message mentions `userId`: in its `mentions` array, or as a
 * `<@id>` / `<@!id>` (nickname form) in its content when the array was left out.
 */
export function mentionsUser(
  m: { content?: string | null; mentions?: { id: string }[] | null },
  userId: string,
): boolean {
  if (!userId) return false;
  if ((m.mentions ?? []).some((u) => u?.id === userId)) return true;
  const content = m.content ?? "";
  return content.includes(`<@${userId}>`) || content.includes(`<@!${userId}>`);
}
