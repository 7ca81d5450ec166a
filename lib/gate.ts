/**
 * The inbound and outbound gates: who may put text in front of Claude, and
 * which chats Claude may write to. Pure functions over plain data, so the
 * whole security boundary is unit-tested without Discord.
 *
 * The decision is always keyed on the AUTHOR's user ID, never on the room:
 * gating on the channel would let anyone who can post in an allowlisted
 * channel (or DM the bot from a shared server) inject instructions.
 *
 * @module
 */
import type { MentionPattern } from "./access/patterns.ts";
import type { Access, GroupPolicy } from "./access/schema.ts";

/** What the gate needs to know about one inbound Discord message. */
export interface InboundFacts {
  /** True for a DM (no guild). */
  isDm: boolean;
  /** The channel the message was posted in (a thread's own ID for threads). */
  channelId: string;
  /** For a thread, its parent channel; threads inherit the parent's opt-in. */
  parentId?: string;
  authorId: string;
  authorIsBot: boolean;
  /** The bridge's own bot user wrote it (Discord echoes our sends back). */
  authorIsSelf?: boolean;
  /** The message carries a structured mention of the bot (`<@botId>`). */
  mentionsBot: boolean;
  /** The message is a reply to a message the bot sent. */
  repliesToBot: boolean;
  content: string;
}

/** The gate's verdict for one inbound message. */
export type GateDecision =
  | { action: "deliver" }
  | { action: "pair" }
  | { action: "drop"; reason: DropReason };

/** Why a message was not delivered (for debug logs and tests). */
export type DropReason =
  | "disabled"
  | "bot"
  | "not-allowlisted"
  | "channel-not-opted-in"
  | "group-author-not-allowed"
  | "no-mention";

/** The group entry a channel falls under: its own, or a thread's parent's. */
export function groupFor(
  access: Access,
  channelId: string,
  parentId?: string,
): GroupPolicy | undefined {
  // Own entry first: a thread may be opted in on its own ID as well.
  if (Object.hasOwn(access.groups, channelId)) return access.groups[channelId];
  if (parentId && Object.hasOwn(access.groups, parentId)) return access.groups[parentId];
  return undefined;
}

/**
 * True when the text matches one of the (already vetted) mention patterns.
 * They run on a linear-time matcher, so no text can make this slow.
 */
export function matchesMentionPattern(
  content: string,
  patterns: readonly MentionPattern[],
): boolean {
  return patterns.some((p) => p.test(content));
}

/**
 * Decides whether an inbound message is delivered to Claude.
 *
 * `pair` is returned only for a DM from a stranger under the `pairing`
 * policy; the caller then runs the pairing flow (which never delivers).
 */
export function decideInbound(
  access: Access,
  msg: InboundFacts,
  mentionPatterns: readonly MentionPattern[] = [],
): GateDecision {
  if (access.dmPolicy === "disabled") return { action: "drop", reason: "disabled" };
  // Our own messages come back over the gateway; delivering them would make
  // Claude answer itself in a loop, whatever the lists say.
  if (msg.authorIsSelf) return { action: "drop", reason: "bot" };

  if (msg.isDm) {
    if (access.allowFrom.includes(msg.authorId)) return { action: "deliver" };
    // Another bot never gets a pairing code: bot-to-bot loops and spam.
    if (msg.authorIsBot) return { action: "drop", reason: "bot" };
    return access.dmPolicy === "pairing"
      ? { action: "pair" }
      : { action: "drop", reason: "not-allowlisted" };
  }

  const group = groupFor(access, msg.channelId, msg.parentId);
  if (!group) return { action: "drop", reason: "channel-not-opted-in" };

  const groupAllow = group.allowFrom ?? [];
  if (msg.authorIsBot) {
    // Bots (this bridge's own echo included) are dropped unless a human put
    // that exact bot ID on a list: otherwise two bots could talk each other
    // into a loop, or a webhook in the channel could steer the session. A
    // group that names its authors binds bots too: a bot listed only in the
    // top-level allowFrom (for DMs) must not get past a group's own list.
    const named = groupAllow.length > 0
      ? groupAllow.includes(msg.authorId)
      : access.allowFrom.includes(msg.authorId);
    if (!named) return { action: "drop", reason: "bot" };
  } else if (groupAllow.length > 0 && !groupAllow.includes(msg.authorId)) {
    return { action: "drop", reason: "group-author-not-allowed" };
  }

  if (group.requireMention ?? true) {
    const mentioned = msg.mentionsBot || msg.repliesToBot ||
      matchesMentionPattern(msg.content, mentionPatterns);
    if (!mentioned) return { action: "drop", reason: "no-mention" };
  }
  return { action: "deliver" };
}

/** What the outbound gate needs to know about a target chat. */
export type ChatFacts =
  | { kind: "dm"; recipientId: string | undefined }
  | { kind: "guild"; channelId: string; parentId?: string; guildId?: string }
  | { kind: "other" };

/**
 * Decides whether a tool may write to (or read from) a chat: only chats the
 * inbound gate would deliver from. This blocks a prompt-injected Claude from
 * posting into arbitrary channels the bot can see or DMing strangers.
 * Returns an error message, or `undefined` when allowed.
 */
export function checkOutbound(access: Access, chat: ChatFacts): string | undefined {
  if (access.dmPolicy === "disabled") {
    return 'the Discord channel is disabled (dmPolicy is "disabled" in access.json)';
  }
  if (chat.kind === "dm") {
    if (chat.recipientId && access.allowFrom.includes(chat.recipientId)) return undefined;
    return "that DM is not with an allowlisted user";
  }
  if (chat.kind === "guild") {
    if (groupFor(access, chat.channelId, chat.parentId)) return undefined;
    return "that channel is not opted in (add it with `deno task access group add <channelId>`)";
  }
  return "that chat is not a DM or a guild text channel";
}
