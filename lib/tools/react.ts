/**
 * `react`: add an emoji reaction to a message in an allowed chat.
 *
 * @module
 */
import { z } from "zod";
import { isPermissionPromptMessage } from "../permission/prompt.ts";
import { describeDiscordErrorLite } from "./errors.ts";
import { SnowflakeSchema } from "./reply.ts";
import { botIdOf, defineTool, requireAllowedChat, ToolError } from "./tool.ts";

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
    // Not on a permission prompt: the bot's own ✅ under an open prompt reads
    // as an approval to the approvers who have not answered yet.
    let target;
    try {
      target = await discord.fetchMessage(args.chat_id, args.message_id);
    } catch (err) {
      throw new ToolError(`message ${args.message_id} not found: ${describeDiscordErrorLite(err)}`);
    }
    if (target.authorId === botIdOf(discord) && isPermissionPromptMessage(target)) {
      throw new ToolError(
        `message ${args.message_id} is a permission prompt; the bot does not react to prompts`,
      );
    }
    try {
      await discord.addReaction(args.chat_id, args.message_id, args.emoji);
    } catch (err) {
      throw new ToolError(`could not react: ${describeDiscordErrorLite(err)}`);
    }
    return `reacted ${args.emoji} to ${args.message_id}`;
  },
});
