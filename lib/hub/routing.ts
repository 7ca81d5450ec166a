/**
 * Which session an inbound message goes to, and how the bot's messages are
 * labelled, when several Claude Code sessions share one bot. Pure functions
 * over plain data; the hub supplies the facts.
 *
 * Rules, in order (the first that applies wins):
 * 1. A message in a session's own thread goes to that session, and only there.
 * 2. With one session connected, everything goes to it, unchanged (today's behaviour).
 * 3. `@name …` goes to that session (the prefix is removed) and focuses it.
 * 4. A Discord reply to a bot message goes to the session that sent it, and focuses it.
 * 5. Otherwise the author's focused session; at first, the one that last wrote.
 *
 * @module
 */

/** A connected session as routing sees it. */
export interface RoutedSession {
  id: string;
  name: string;
}

/** The facts about one delivered message and the hub's state. */
export interface RouteInput {
  chatId: string;
  authorId: string;
  content: string;
  replyToId?: string;
  /** Connected sessions, oldest first. */
  sessions: readonly RoutedSession[];
  /** Session threads: chat ID → session ID. */
  threadOwner(chatId: string): string | undefined;
  /** Which session sent a bot message. */
  sentBy(messageId: string): string | undefined;
  /** The session this author last addressed. */
  focus(authorId: string): string | undefined;
  /** The session that last sent a message. */
  lastWriter: string | undefined;
}

/** Where the message goes. */
export type Route =
  | {
    session: string;
    /** The content to deliver (an `@name` prefix removed). */
    content: string;
    /** Set when the author's focus moves to this session. */
    focus?: string;
    why: "thread" | "only" | "name" | "reply" | "focus" | "last-writer" | "first";
  }
  | { session: undefined; why: "no-session" | "thread-closed" };

/** `@name rest` at the start of a message; not a Discord mention (`<@id>`). */
const NAME_PREFIX = /^\s*@([A-Za-z0-9._-]{1,32})(?=$|[\s,:])[\s,:]*/;

/** Decides which session gets a message. */
export function routeInbound(input: RouteInput): Route {
  const { sessions } = input;
  const connected = (id: string | undefined) =>
    id !== undefined && sessions.some((s) => s.id === id);
  const owner = input.threadOwner(input.chatId);
  if (owner !== undefined) {
    return connected(owner)
      ? { session: owner, content: input.content, why: "thread" }
      : { session: undefined, why: "thread-closed" };
  }
  if (sessions.length === 0) return { session: undefined, why: "no-session" };
  if (sessions.length === 1) {
    return { session: sessions[0].id, content: input.content, why: "only" };
  }
  const named = NAME_PREFIX.exec(input.content);
  if (named) {
    const target = sessions.find((s) => s.name.toLowerCase() === named[1].toLowerCase());
    if (target) {
      const rest = input.content.slice(named[0].length);
      return { session: target.id, content: rest, focus: target.id, why: "name" };
    }
  }
  if (input.replyToId) {
    const sender = input.sentBy(input.replyToId);
    if (connected(sender)) {
      return { session: sender!, content: input.content, focus: sender, why: "reply" };
    }
  }
  const focused = input.focus(input.authorId);
  if (connected(focused)) return { session: focused!, content: input.content, why: "focus" };
  if (connected(input.lastWriter)) {
    return { session: input.lastWriter!, content: input.content, why: "last-writer" };
  }
  return { session: sessions[0].id, content: input.content, why: "first" };
}

/** The label put before a bot message while two or more sessions are connected. */
export function labelText(name: string): string {
  return `**${name}**: `;
}

/**
 * A message's content as sent on behalf of a session: labelled while
 * `labelled`, unchanged otherwise (and unchanged when the label would push
 * it past Discord's limit; the reply tool already leaves room for it).
 */
export function labelContent(
  content: string | undefined,
  name: string,
  labelled: boolean,
  limit = 2000,
): string | undefined {
  if (!labelled || content === undefined || content === "") return content;
  const out = labelText(name) + content;
  return out.length <= limit ? out : content;
}

/**
 * A permission prompt's content naming the session that asks: "🔐 **api**
 * wants to run …" instead of "🔐 Claude wants to run …"; other views of the
 * prompt (outcome, expiry) are prefixed with the name.
 */
export function namePromptContent(content: string, name: string, limit = 2000): string {
  const asked = content.replace(/^🔐 Claude wants to run /, `🔐 **${name}** wants to run `);
  const out = asked !== content ? asked : `**${name}** · ${content}`;
  return out.length <= limit ? out : content;
}
