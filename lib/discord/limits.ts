/**
 * Discord's own limits, as plain constants: modules on every session's
 * start-up path import these without building the access schema (zod).
 *
 * @module
 */

/** Discord's hard cap on a message's `content`, in characters. */
export const DISCORD_MESSAGE_LIMIT = 2000;
