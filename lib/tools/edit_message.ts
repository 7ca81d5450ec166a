/**
 * `edit_message`: change the text of a message the bridge sent, for progress
 * updates ("working…" → result).
 *
 * @module
 */
import { z } from "zod";
import { DISCORD_MESSAGE_LIMIT } from "../access/schema.ts";
import {
  COUNTERFEIT_REFUSAL,
  imitatesPermissionPrompt,
  isPermissionPromptMessage,
} from "../permission/prompt.ts";
import { describeDiscordErrorLite } from "./errors.ts";
import { SnowflakeSchema } from "./reply.ts";
import { botIdOf, defineTool, requireAllowedChat, ToolError } from "./tool.ts";

/** Input of the `edit_message` tool. */
export const EditMessageInput = z.object({
  chat_id: SnowflakeSchema,
  message_id: SnowflakeSchema.describe("ID of a message this bridge sent"),
  text: z.string().min(1, "text must not be empty").max(
    DISCORD_MESSAGE_LIMIT,
    `an edit cannot be split: at most ${DISCORD_MESSAGE_LIMIT} characters (send the rest with reply)`,
  ),
});

/** The `edit_message` tool. */
export const editMessageTool = defineTool({
  name: "edit_message",
  description:
    'Edit a message this bot sent earlier (e.g. turn "working…" into the result). At most 2,000 characters. Permission prompts can never be edited. Edits do not notify the user; send a new reply when a long task finishes.',
  input: EditMessageInput,
  async run(ctx, args) {
    if (imitatesPermissionPrompt(args.text)) throw new ToolError(COUNTERFEIT_REFUSAL);
    const discord = await requireAllowedChat(ctx, args.chat_id);
    let original;
    try {
      original = await discord.fetchMessage(args.chat_id, args.message_id);
    } catch (err) {
      throw new ToolError(`message ${args.message_id} not found: ${describeDiscordErrorLite(err)}`);
    }
    // Only our own messages: editing is how a hijacked session could rewrite
    // history, and Discord forbids editing others' messages anyway.
    if (original.authorId !== botIdOf(discord)) {
      throw new ToolError(
        `message ${args.message_id} was not sent by this bot; only its own messages can be edited`,
      );
    }
    // Never a permission prompt, in any state: an open one keeps its buttons
    // through an edit, so a hijacked session could make the Allow button of
    // `rm -rf ~` read as a harmless command; an answered or expired one could
    // be rewritten to misstate what was approved. Recognised from the message
    // itself, so this holds after a restart too.
    if (isPermissionPromptMessage(original)) {
      throw new ToolError(
        `message ${args.message_id} is a permission prompt (open, answered or expired); prompts can never be edited`,
      );
    }
    try {
      await discord.editMessage(args.chat_id, args.message_id, {
        content: args.text,
        allowed_mentions: { parse: [] },
      });
    } catch (err) {
      throw new ToolError(`could not edit: ${describeDiscordErrorLite(err)}`);
    }
    return `edited ${args.message_id}`;
  },
});
