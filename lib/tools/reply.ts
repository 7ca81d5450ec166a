/**
 * `reply`: send text (split for Discord's limit) and files to an allowed chat.
 *
 * @module
 */
import { z } from "zod";
import { DISCORD_MESSAGE_LIMIT } from "../discord/limits.ts";
import type { FileUpload } from "../discord/port.ts";
import { COUNTERFEIT_REFUSAL, imitatesPermissionPrompt } from "../permission/prompt.ts";
import { planOutbound } from "../text/outbound.ts";
import { describeDiscordErrorLite } from "./errors.ts";
import { loadUploads, MAX_FILES } from "./files.ts";
import { defineTool, requireAllowedChat, ToolError } from "./tool.ts";

/** Discord snowflake IDs are decimal strings. */
export const SnowflakeSchema = z.string().regex(/^\d{1,25}$/, "must be a Discord ID (digits)");

/** Input of the `reply` tool. */
export const ReplyInput = z.object({
  chat_id: SnowflakeSchema.describe("chat_id from the inbound <channel> tag"),
  text: z.string().describe("Message text (Markdown). Long text is split into several messages."),
  reply_to: SnowflakeSchema.optional().describe(
    "message_id to quote; omit for a normal reply to the latest message",
  ),
  files: z.array(z.string().min(1)).max(
    MAX_FILES,
    `at most ${MAX_FILES} files per message; nothing was sent`,
  ).optional().describe(
    `Absolute paths of files to attach to the first message (at most ${MAX_FILES})`,
  ),
});

/** The `reply` tool. */
export const replyTool = defineTool({
  name: "reply",
  description:
    'Send a message to a Discord chat. The Discord user sees only what this tool sends, never your terminal output: every answer, question or result meant for them must go through reply. Pass chat_id from the inbound <channel source="discord" chat_id="…"> tag. Text is Markdown; long text is split automatically. Optional reply_to quotes an earlier message by its message_id; optional files attaches local files (absolute paths).',
  input: ReplyInput,
  async run(ctx, args) {
    const files = args.files ?? [];
    if (!args.text.trim() && files.length === 0) {
      throw new ToolError("text is empty and no files were given; nothing was sent");
    }
    const discord = await requireAllowedChat(ctx, args.chat_id);
    const uploads: FileUpload[] = await loadUploads(files, ctx.stateDir);
    const access = ctx.access();
    const limit = Math.min(access.textChunkLimit ?? DISCORD_MESSAGE_LIMIT, DISCORD_MESSAGE_LIMIT);
    const plan = planOutbound(args.text, {
      limit,
      mode: access.chunkMode ?? "length",
      replyTo: args.reply_to,
      replyToMode: access.replyToMode ?? "first",
      maxMessages: access.maxReplyMessages,
    });
    const bodies = plan.bodies;
    // No counterfeit permission prompts, however the text was split.
    if ([args.text, ...bodies.map((b) => b.content ?? "")].some(imitatesPermissionPrompt)) {
      throw new ToolError(COUNTERFEIT_REFUSAL);
    }
    const sent: string[] = [];
    for (const [i, body] of bodies.entries()) {
      const files: FileUpload[] = i === 0 ? [...uploads] : [];
      if (plan.overflow && i === bodies.length - 1) {
        files.push({
          name: plan.overflow.name,
          data: new TextEncoder().encode(plan.overflow.text),
          contentType: "text/markdown",
        });
      }
      try {
        const msg = await discord.sendMessage(args.chat_id, body, files.length ? files : undefined);
        sent.push(msg.id);
        ctx.onSent(args.chat_id);
      } catch (err) {
        const done = sent.length
          ? `parts 1-${sent.length} were sent (ids: ${sent.join(", ")})`
          : "nothing was sent";
        throw new ToolError(
          `sending part ${i + 1} of ${bodies.length} failed: ${
            describeDiscordErrorLite(err)
          }; ${done}; parts ${i + 1}-${bodies.length} were NOT sent`,
        );
      }
    }
    const what = (uploads.length ? ` with ${uploads.length} file(s)` : "") +
      (plan.overflow
        ? `; the text was too long for ${bodies.length} messages, so the rest is attached as ${plan.overflow.name}`
        : "");
    return sent.length === 1
      ? `sent${what} (id: ${sent[0]})`
      : `sent ${sent.length} messages${what} (ids: ${sent.join(", ")})`;
  },
});
