/**
 * Discord-native events beyond messages: an approver's reaction on one of
 * the bot's messages, an approver's edit of a message Claude already has,
 * and the optional status reactions (👀 delivered, ✅ replied, ⚠️ a tool
 * failed) on the message Claude is working on.
 *
 * Every decision is a plain function over plain data; {@link NativeEvents}
 * only ties them to the clock and to Discord. Reactions and edits pass the
 * same inbound gate as messages ({@link decideInbound}) and, on top of it,
 * come only from approvers (`allowFrom`): a reaction is a yes or no, which
 * must not be anyone's to give.
 *
 * @module
 */
import type { MentionPattern } from "../access/patterns.ts";
import type { Access } from "../access/schema.ts";
import type { ReactionFacts } from "../discord/raw.ts";
import { decideInbound, type InboundFacts } from "../access/gate.ts";
import type { ChannelEvent, InboundMessage } from "../core/notification.ts";
import { toChannelEvent } from "../core/notification.ts";
import { describeError } from "../core/log.ts";
import { cleanMetaValue, cutUnits, neutralizeContent, shapeMeta } from "../text/sanitize.ts";
import { withholdQuote } from "../tools/author_gate.ts";
import type { Tool } from "../tools/tool.ts";

/** Default status reactions. */
export const DEFAULT_STATUS = { delivered: "👀", replied: "✅", failed: "⚠️" } as const;
/** How long after delivery an edit still reaches Claude. */
export const EDIT_WINDOW_MS = 5 * 60_000;
/** Reaction events per approver per window, and the window. */
export const REACTION_RATE = { perUser: 5, total: 12, windowMs: 60_000 };
/** Edit events per approver per window. */
export const EDIT_RATE = { perUser: 6, total: 12, windowMs: 60_000 };
const TRACK_LIMIT = 500;

/** The status emoji in force, each possibly "" (off); undefined when the feature is off. */
export function statusConfig(
  access: Access,
): { delivered: string; replied: string; failed: string } | undefined {
  const s = access.statusReactions;
  if (!s) return undefined;
  if (s === true) return { ...DEFAULT_STATUS };
  return {
    delivered: s.delivered ?? DEFAULT_STATUS.delivered,
    replied: s.replied ?? DEFAULT_STATUS.replied,
    failed: s.failed ?? DEFAULT_STATUS.failed,
  };
}

/**
 * Whether a reaction reaches Claude: on for approvers only (and not when
 * `reactionEvents` is false), only on the bot's own messages, and only where
 * a message from the same person would be delivered (a reaction counts as a
 * reply to the bot for a channel's mention rule).
 */
export function reactionAllowed(
  access: Access,
  r: ReactionFacts,
  parentId: string | undefined,
  patterns: readonly MentionPattern[] = [],
): boolean {
  if (access.reactionEvents === false || !r.onBotMessage) return false;
  // Approvers only: anyone else's thumbs-up is not an answer.
  if (!access.allowFrom.includes(r.userId)) return false;
  const facts: InboundFacts = {
    isDm: r.isDm,
    channelId: r.chatId,
    parentId,
    authorId: r.userId,
    authorIsBot: r.userIsBot,
    mentionsBot: false,
    repliesToBot: true,
    content: "",
  };
  return decideInbound(access, facts, patterns).action === "deliver";
}

/** Whether an edited message reaches Claude as an edit (besides having been delivered recently). */
export function editAllowed(
  access: Access,
  msg: InboundMessage,
  patterns: readonly MentionPattern[] = [],
): boolean {
  if (access.editEvents === false) return false;
  if (!access.allowFrom.includes(msg.authorId)) return false;
  return decideInbound(access, msg, patterns).action === "deliver";
}

/** The short event Claude receives for an approver's reaction. */
export function reactionEvent(
  r: ReactionFacts,
  opts: { userName?: string; excerpt?: string; parentId?: string; now: number },
): ChannelEvent {
  const name = cleanMetaValue(opts.userName ?? r.userName ?? "", 64) || `user ${r.userId}`;
  const excerpt = opts.excerpt ? cleanMetaValue(opts.excerpt, 80) : "";
  const emoji = cleanMetaValue(r.emoji, 40, "?");
  // The excerpt is the bot's own text, which may echo what a stranger wrote:
  // neutralised like any content, so it cannot close the channel block.
  const content = neutralizeContent(
    `${name} reacted ${emoji} to your message ${r.messageId}${excerpt ? ` ("${excerpt}")` : ""}`,
  );
  const meta = shapeMeta({
    chat_id: r.chatId,
    message_id: r.messageId,
    user: name,
    user_id: r.userId,
    ts: new Date(opts.now).toISOString(),
    event: "reaction",
    reaction: emoji,
    reaction_emoji_id: r.emojiId,
    guild_id: r.guildId,
    parent_channel_id: opts.parentId,
  });
  return { content, meta };
}

/** A sliding-window limit per key plus a total, so spam cannot flood the session. */
export class RateLimit {
  #hits = new Map<string, number[]>();
  #all: number[] = [];
  constructor(private readonly opts: { perUser: number; total: number; windowMs: number }) {}

  /** Records a hit for `key` at `now` if both limits allow it; returns whether it did. */
  allow(key: string, now: number): boolean {
    const since = now - this.opts.windowMs;
    this.#all = this.#all.filter((t) => t > since);
    const mine = (this.#hits.get(key) ?? []).filter((t) => t > since);
    if (mine.length >= this.opts.perUser || this.#all.length >= this.opts.total) {
      this.#hits.set(key, mine);
      return false;
    }
    mine.push(now);
    this.#all.push(now);
    this.#hits.set(key, mine);
    if (this.#hits.size > TRACK_LIMIT) this.#hits.delete(this.#hits.keys().next().value!);
    return true;
  }
}

/** Messages delivered to Claude recently, so an edit of one can be recognised. */
export class DeliveredLog {
  #seen = new Map<string, { at: number; content: string }>();

  /** Notes that `msg` was delivered with `content` at `now`. */
  note(id: string, content: string, now: number): void {
    this.#seen.delete(id);
    this.#seen.set(id, { at: now, content });
    if (this.#seen.size > TRACK_LIMIT) this.#seen.delete(this.#seen.keys().next().value!);
  }

  /**
   * Notes the new text of an edited message, keeping the time it was first
   * delivered: the edit window runs from the delivery, so a chain of edits a
   * few minutes apart cannot keep an old message live forever.
   */
  edited(id: string, content: string): void {
    const seen = this.#seen.get(id);
    if (seen) seen.content = content;
  }

  /**
   * True when message `id` was delivered within `windowMs` and its content
   * now differs (an embed unfurl also arrives as an update, without an edit).
   */
  isEdit(id: string, content: string, now: number, windowMs = EDIT_WINDOW_MS): boolean {
    const seen = this.#seen.get(id);
    return !!seen && now - seen.at <= windowMs && seen.content !== content;
  }
}

/** What {@link NativeEvents} needs from the bridge. */
export interface NativeDeps {
  /** The current access configuration and mention patterns, or undefined when unusable. */
  access(): { access: Access; mentionPatterns: readonly MentionPattern[] } | undefined;
  /** Sends a channel event to Claude Code. */
  sendEvent(ev: ChannelEvent): Promise<void>;
  /** The bridge's Discord connection, when connected. */
  discord():
    | {
      addReaction(chatId: string, messageId: string, emoji: string): Promise<void>;
      removeReaction?(chatId: string, messageId: string, emoji: string): Promise<void>;
      chatFacts(chatId: string): Promise<{ kind: string; parentId?: string }>;
    }
    | undefined;
  log(line: string): void;
  now?: () => number;
}

/** Ties reactions, edits and status reactions to the bridge with a few hook calls. */
export class NativeEvents {
  readonly #deps: NativeDeps;
  readonly #now: () => number;
  readonly #delivered = new DeliveredLog();
  readonly #reactionRate = new RateLimit(REACTION_RATE);
  readonly #editRate = new RateLimit(EDIT_RATE);
  /** Names of people whose messages were delivered (DM reactions carry only an ID). */
  readonly #names = new Map<string, string>();
  /** Per chat: the delivered message waiting for Claude's reply (status reactions). */
  readonly #pending = new Map<string, string>();
  #lastChat?: string;
  #droppedLogged = 0;
  /** Reactions already passed on: a gateway resume may replay the same dispatch. */
  readonly #seenReactions = new Map<string, number>();

  constructor(deps: NativeDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** A message was delivered to Claude: remember it for edits, put 👀 on it when configured. */
  delivered(msg: InboundMessage, ev: ChannelEvent): void {
    this.#delivered.note(msg.id, ev.content, this.#now());
    this.#names.set(msg.authorId, msg.authorName);
    if (this.#names.size > TRACK_LIMIT) this.#names.delete(this.#names.keys().next().value!);
    this.#pending.set(msg.channelId, msg.id);
    if (this.#pending.size > TRACK_LIMIT) this.#pending.delete(this.#pending.keys().next().value!);
    this.#lastChat = msg.channelId;
    const status = this.#status();
    if (status?.delivered) this.#react(msg.channelId, msg.id, status.delivered);
  }

  /** A reply was sent to `chatId`: ✅ on the message it answers (and 👀 taken off). */
  replied(chatId: string): void {
    const id = this.#pending.get(chatId);
    if (!id) return;
    this.#pending.delete(chatId);
    const status = this.#status();
    if (!status) return;
    if (status.replied) this.#react(chatId, id, status.replied);
    if (status.delivered) this.#unreact(chatId, id, status.delivered);
  }

  /** A tool call failed (for `chatId` when it named one): ⚠️ on the message being worked on. */
  toolFailed(chatId?: string): void {
    const chat = chatId && this.#pending.has(chatId) ? chatId : this.#lastChat;
    const id = chat ? this.#pending.get(chat) : undefined;
    const status = this.#status();
    if (chat && id && status?.failed) this.#react(chat, id, status.failed);
  }

  /** An edited message arrived: delivered as an edit when it passes, else ignored. */
  async edited(msg: InboundMessage): Promise<void> {
    const view = this.#deps.access();
    if (!view || !editAllowed(view.access, msg, view.mentionPatterns)) return;
    const ev = toChannelEvent(withholdQuote(view.access, msg), { edited: true });
    const now = this.#now();
    if (!this.#delivered.isEdit(msg.id, ev.content, now)) return;
    if (!this.#editRate.allow(msg.authorId, now)) return this.#dropped("edit");
    this.#delivered.edited(msg.id, ev.content);
    await this.#deps.sendEvent(ev);
  }

  /** A reaction was added: an approver's reaction on a bot message reaches Claude. */
  async reacted(r: ReactionFacts, excerpt?: string): Promise<void> {
    const view = this.#deps.access();
    if (!view || !r.onBotMessage) return;
    let parentId: string | undefined;
    if (!r.isDm) {
      const facts = await this.#deps.discord()?.chatFacts(r.chatId).catch(() => undefined);
      if (!facts || facts.kind !== "guild") return;
      parentId = facts.parentId;
    }
    if (!reactionAllowed(view.access, r, parentId, view.mentionPatterns)) return;
    const now = this.#now();
    const key = `${r.messageId}:${r.userId}:${r.emojiId ?? r.emoji}`;
    const seen = this.#seenReactions.get(key);
    if (seen !== undefined && now - seen < EDIT_WINDOW_MS) return;
    if (!this.#reactionRate.allow(r.userId, now)) return this.#dropped("reaction");
    this.#seenReactions.set(key, now);
    if (this.#seenReactions.size > TRACK_LIMIT) {
      this.#seenReactions.delete(this.#seenReactions.keys().next().value!);
    }
    const ev = reactionEvent(r, {
      userName: r.userName ?? this.#names.get(r.userId),
      excerpt: excerpt ? cutUnits(excerpt, 200) : undefined,
      parentId,
      now,
    });
    await this.#deps.sendEvent(ev);
  }

  #status() {
    const view = this.#deps.access();
    return view ? statusConfig(view.access) : undefined;
  }

  #dropped(kind: string): void {
    const now = this.#now();
    if (now - this.#droppedLogged < 60_000) return;
    this.#droppedLogged = now;
    this.#deps.log(`too many ${kind} events; dropping some so they cannot flood the session`);
  }

  #react(chatId: string, messageId: string, emoji: string): void {
    this.#deps.discord()?.addReaction(chatId, messageId, emoji).catch((err) =>
      this.#deps.log(`could not add status reaction ${emoji}: ${describeError(err)}`)
    );
  }

  #unreact(chatId: string, messageId: string, emoji: string): void {
    this.#deps.discord()?.removeReaction?.(chatId, messageId, emoji).catch((err) =>
      this.#deps.log(`could not remove status reaction ${emoji}: ${describeError(err)}`)
    );
  }
}

/**
 * The tools with failures reported to `onFail` (with the call's `chat_id`
 * when it has one), for the ⚠️ status reaction. Results and errors pass
 * through unchanged.
 */
export function reportToolFailures(
  tools: readonly Tool[],
  onFail: (chatId?: string) => void,
): Tool[] {
  return tools.map((t) => ({
    ...t,
    async run(ctx, args) {
      try {
        return await t.run(ctx, args);
      } catch (err) {
        const chat = (args as { chat_id?: unknown } | undefined)?.chat_id;
        onFail(typeof chat === "string" ? chat : undefined);
        throw err;
      }
    },
  }));
}

/** The bot's own recent messages, so a reaction event can quote the message reacted to. */
export class OwnMessages {
  #text = new Map<string, string>();

  /** Notes a message the bot sent (its text cut short). */
  note(id: string, content: string | undefined): void {
    this.#text.delete(id);
    this.#text.set(id, cutUnits(content ?? "", 200));
    if (this.#text.size > TRACK_LIMIT) this.#text.delete(this.#text.keys().next().value!);
  }

  /** Whether the bot sent message `id` (as far as this log knows). */
  has(id: string): boolean {
    return this.#text.has(id);
  }

  /** The start of message `id`'s text, if known. */
  excerpt(id: string): string | undefined {
    return this.#text.get(id) || undefined;
  }
}
