/**
 * `react`: add an emoji reaction to a message in an allowed chat.
 *
 * @module
 */
import { z } from "zod";
import { describeDiscordErrorLite } from "./errors.ts";
import { SnowflakeSchema } from "./reply.ts";
import { defineTool, requireAllowedChat, ToolError } from "./tool.ts";

/** Input of the `react` tool. */
export const ReactInput = z.object({
  chat_id: SnowflakeSchema,
  message_id: SnowflakeSchema,
  emoji: z.string().trim().min(1).max(100).describe(
    "Unicode emoji (👍) or custom emoji <:name:id>",
  ),
});

/** The `react` tool. */
export const reactTool = defineTool({
  name: "react",
  description:
    "Add an emoji reaction to a Discord message (chat_id and message_id from the inbound <channel> tag). Unicode emoji work directly; custom emoji need the <:name:id> form. A reaction is not an answer: the user reads only what reply sends.",
  input: ReactInput,
  async run(ctx, args) {
    const discord = await requireAllowedChat(ctx, args.chat_id);
    try {
      await discord.addReaction(args.chat_id, args.message_id, args.emoji);
    } catch (err) {
      throw new ToolError(`could not react: ${describeDiscordErrorLite(err)}`);
    }
    return `reacted ${args.emoji} to ${args.message_id}`;
  },
});
