/**
 * Discord ID validation shared by the access modules.
 *
 * @module
 */

/** A Discord snowflake: a 17–20 digit decimal number (user, channel, guild IDs). */
export const SNOWFLAKE_RE = /^\d{17,20}$/;

/**
 * Whether `value` is a Discord snowflake. Used wherever an ID becomes part of
 * a file name or of `access.json`, so that `../` or stray text can never be
 * smuggled in as an ID (path traversal in `approved/`, allowlist pollution).
 */
export function isSnowflake(value: string): boolean {
  return SNOWFLAKE_RE.test(value);
}
