/**
 * `fetch_messages`: recent history of an allowed chat, oldest first.
 *
 * @module
 */
import { z } from "zod";
import { formatHistory } from "../text/history.ts";
import { gateAdmitsAuthor, WITHHELD_TEXT } from "./author_gate.ts";
import { describeDiscordErrorLite } from "./errors.ts";
import { SnowflakeSchema } from "./reply.ts";
import { botIdOf, defineTool, requireAllowedChat, ToolError } from "./tool.ts";

/** Input of the `fetch_messages` tool. */
export const FetchMessagesInput = z.object({
  channel: SnowflakeSchema.describe("chat_id of the DM or channel"),
  // Discord returns at most 100; asking for more gets 100 rather than an error.
  limit: z.number().int().min(1).default(20).transform((n) => Math.min(n, 100)).describe(
    "How many messages (default 20; at most 100 are returned)",
  ),
});

/** The `fetch_messages` tool. */
export const fetchMessagesTool = defineTool({
  name: "fetch_messages",
  description:
    'Fetch recent messages of an allowed Discord chat, oldest first, each with time, author ("me" for this bot), text and message ID. Discord has no search for bots: this is the only way to look back. Messages by authors whose messages are never delivered here (not in allowFrom, unlisted bots) are listed as withheld, without their text.',
  input: FetchMessagesInput,
  async run(ctx, args) {
    const chatId = args.channel;
    const discord = await requireAllowedChat(ctx, chatId);
    let rows;
    try {
      rows = await discord.fetchMessages(chatId, { limit: args.limit });
    } catch (err) {
      throw new ToolError(`could not read history: ${describeDiscordErrorLite(err)}`);
    }
    // Discord returns newest first.
    const ordered = [...rows].sort((a, b) => compareSnowflakes(a.id, b.id));
    const botId = botIdOf(discord);
    const access = ctx.access();
    const chat = await discord.chatFacts(chatId);
    return formatHistory(
      ordered.map((m) =>
        gateAdmitsAuthor(access, chatId, chat, m, botId)
          ? {
            id: m.id,
            timestamp: m.timestamp,
            authorId: m.authorId,
            authorName: m.authorName,
            content: m.content,
            attachmentCount: m.attachments.length,
          }
          // Not a side door: what the gate keeps from Claude live stays out
          // here too. The row stays (with the author's ID, not their chosen
          // name) so the conversation's shape is not misrepresented.
          : {
            id: m.id,
            timestamp: m.timestamp,
            authorId: m.authorId,
            authorName: `user ${m.authorId}`,
            content: WITHHELD_TEXT,
            attachmentCount: 0,
          }
      ),
      botId,
    );
  },
});

/** Orders Discord IDs numerically (they are too large for numbers). */
export function compareSnowflakes(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
