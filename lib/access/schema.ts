/**
 * The `access.json` schema: who may talk to the session and how replies are
 * delivered. It is the same format as the official Discord plugin's file
 * (`dmPolicy`, `allowFrom`, `groups`, `pending`, and the delivery keys), so an
 * existing state directory keeps working; this project only adds new optional
 * keys. Unknown keys are kept as they are so that a write never drops a
 * setting written by a newer or different tool.
 *
 * @module
 */
import { z } from "zod";

/** Discord's hard ceiling for one message's content. */
export const DISCORD_MESSAGE_LIMIT = 2000;

/** How DMs from senders outside `allowFrom` are handled. */
export const DmPolicySchema = z.enum(["pairing", "allowlist", "disabled"]);
/** One of `pairing`, `allowlist`, `disabled`. */
export type DmPolicy = z.infer<typeof DmPolicySchema>;

/** A guild channel's opt-in entry, keyed by channel ID in `groups`. */
export const GroupPolicySchema = z.looseObject({
  /** Only messages that mention the bot (or reply to it) are delivered. */
  requireMention: z.boolean().default(true),
  /** Authors allowed to trigger the bot here; empty means any member. */
  allowFrom: z.array(z.string()).default([]),
});
/** A guild channel's delivery rule. */
export type GroupPolicy = z.infer<typeof GroupPolicySchema>;

/** A pairing code waiting for approval (same shape as the official plugin). */
export const PendingEntrySchema = z.looseObject({
  senderId: z.string(),
  /** The DM channel to confirm the pairing in once approved. */
  chatId: z.string(),
  createdAt: z.number(),
  expiresAt: z.number(),
  /** How many times the sender has been answered with this code. */
  replies: z.number().int().default(1),
});
/** A pending pairing code entry. */
export type PendingEntry = z.infer<typeof PendingEntrySchema>;

/** Where permission prompts are posted. */
export const PermissionPromptsSchema = z.enum(["dm", "channel", "both"]);

/** The emoji of each status reaction; "" turns that one off. */
export const StatusReactionsSchema = z.strictObject({
  delivered: z.string().max(64).optional(),
  replied: z.string().max(64).optional(),
  failed: z.string().max(64).optional(),
});

/** Default lifetime of an unanswered permission prompt, in seconds. */
export const DEFAULT_PERMISSION_TIMEOUT_SECONDS = 600;

/** The whole `access.json` document; an absent file means all defaults. */
export const AccessSchema = z.looseObject({
  dmPolicy: DmPolicySchema.default("pairing"),
  /** User IDs (snowflakes) allowed to DM the bot and to approve tool calls. */
  allowFrom: z.array(z.string()).default([]),
  /** Opted-in guild channels, keyed by channel ID (not guild ID). */
  groups: z.record(z.string(), GroupPolicySchema).default({}),
  /** Pairing codes waiting for approval, keyed by code. */
  pending: z.record(z.string(), PendingEntrySchema).default({}),
  /** Case-insensitive regexes that count as a mention of the bot. */
  mentionPatterns: z.array(z.string()).optional(),
  /** Emoji put on each delivered message as a "seen"; empty disables. */
  ackReaction: z.string().optional(),
  /** Which chunks of a split reply quote `reply_to`. */
  replyToMode: z.enum(["off", "first", "all"]).optional(),
  /** Split threshold for outbound text; Discord's ceiling is 2,000. */
  textChunkLimit: z.number().int().min(1).max(DISCORD_MESSAGE_LIMIT).optional(),
  /** `length` cuts at the limit; `newline` prefers paragraph and line ends. */
  chunkMode: z.enum(["length", "newline"]).optional(),
  /** Where permission prompts go: approvers' DMs, the last channel, or both. */
  permissionPrompts: PermissionPromptsSchema.optional(),
  /** Seconds before an unanswered permission prompt expires. */
  permissionTimeoutSeconds: z.number().int().min(1).max(86_400).optional(),
  /**
   * An opted-in guild channel (a key of `groups`) where each Claude Code
   * session gets a thread of its own, named after it.
   */
  sessionsChannel: z.string().regex(/^\d{1,25}$/, "must be a channel ID (digits)").optional(),
  /**
   * Most messages one reply takes; past that the reply sends the first part
   * and attaches the rest as a `.md` file (default 8).
   */
  maxReplyMessages: z.number().int().min(2).max(50).optional(),
  /**
   * Status reactions on the message Claude is working on: `true` for the
   * defaults (👀 delivered, ✅ replied, ⚠️ a tool call failed), or an object
   * choosing each emoji ("" turns one off). Off when absent or `false`.
   */
  statusReactions: z.union([z.boolean(), StatusReactionsSchema]).optional(),
  /** An approver's reaction on a bot message reaches Claude as a short event (default true). */
  reactionEvents: z.boolean().optional(),
  /** An approver's edit of a recently delivered message reaches Claude, marked as an edit (default true). */
  editEvents: z.boolean().optional(),
});
/** A parsed, defaulted `access.json`. */
export type Access = z.infer<typeof AccessSchema>;

/** The configuration used when no `access.json` exists yet. */
export function defaultAccess(): Access {
  return AccessSchema.parse({});
}
