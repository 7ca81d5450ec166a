/**
 * The one-line reminder some channel events carry, so that what Claude must
 * know reaches it even when our `instructions` do not.
 *
 * Claude Code 2.1.332 attaches MCP `instructions` (and, with tool search on,
 * even the names of our tools) only to a prompt typed in the terminal after
 * the server connected. A session driven only from Discord, or started with a
 * prompt argument, shows the model a bare `<channel>` block: it may answer in
 * the terminal, where the Discord user sees nothing. So the first event of a
 * session, and an event after Claude has not used `reply` for
 * {@link HINT_EVERY} events, carries a `hint` meta attribute. The rest carry
 * nothing extra.
 *
 * The hint is meta, not content: Claude Code entity-escapes attribute values,
 * so a Discord user cannot forge it, and it is a plain string (a non-string
 * meta value would drop the whole event).
 *
 * @module
 */
import type { ChannelEvent } from "./notification.ts";

/** The meta key of the reminder. */
export const HINT_META_KEY = "hint";

/**
 * The reminder: the user sees only `reply`, pass `chat_id` back, and how to
 * find the tool when only its name (or nothing) is listed. No quotes,
 * apostrophes, ampersands or angle brackets: the host renders them as entities.
 */
export const REPLY_HINT =
  "The Discord user sees only what you send with the reply tool of this channel (mcp__discord__reply when source is discord), never your terminal output. Answer with reply, passing chat_id from this tag. If reply is not loaded, find it with ToolSearch: discord reply.";

/** A reminder is repeated after this many events in a row without a successful `reply`. */
export const HINT_EVERY = 5;

/** Decides which events carry the reminder, for one session. */
export interface ReplyHints {
  /** The event to send: `event` itself, or a copy with the reminder added. */
  annotate(event: ChannelEvent): ChannelEvent;
  /** Claude sent a reply: the user is being answered, no reminder is due. */
  replied(): void;
}

/** Creates the reminder policy for one session (pure state, no I/O). */
export function createReplyHints(every = HINT_EVERY): ReplyHints {
  // Events since the last reminder or reply; starts "due" so the first event is hinted.
  let quiet = every;
  return {
    annotate(event) {
      if (quiet < every) {
        quiet++;
        return event;
      }
      quiet = 1;
      return { ...event, meta: { ...event.meta, [HINT_META_KEY]: REPLY_HINT } };
    },
    replied() {
      quiet = 0;
    },
  };
}
