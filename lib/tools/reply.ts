/**
 * `reply`: send text (split for Discord's limit) and files to an allowed chat.
 *
 * @module
 */
import { z } from "zod";
import { DISCORD_MESSAGE_LIMIT } from "../access/schema.ts";
import type { FileUpload, MessageBody } from "../discord/port.ts";
import { splitMessage } from "../text/chunk.ts";
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

/** Builds the chunk bodies of one reply, deciding which chunks quote `reply_to`. */
export function planReply(
  text: string,
  opts: {
    limit: number;
    mode: "length" | "newline";
    replyTo?: string;
    replyToMode: "off" | "first" | "all";
  },
): MessageBody[] {
  const chunks = splitMessage(text, { limit: opts.limit, mode: opts.mode });
  // Files without text still need one message to carry them.
  if (chunks.length === 0) chunks.push("");
  return chunks.map((content, i) => {
    const body: MessageBody = {
      ...(content ? { content } : {}),
      // Replies never ping @everyone, @here or roles, whatever the text says:
      // Claude may echo text a stranger wrote.
      allowed_mentions: { parse: [], replied_user: false },
    };
    const quote = opts.replyTo &&
      (opts.replyToMode === "all" || (opts.replyToMode === "first" && i === 0));
    if (quote) body.message_reference = { message_id: opts.replyTo!, fail_if_not_exists: false };
    return body;
  });
}

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
    const bodies = planReply(args.text, {
      limit,
      mode: access.chunkMode ?? "length",
      replyTo: args.reply_to,
      replyToMode: access.replyToMode ?? "first",
    });
    const sent: string[] = [];
    for (const [i, body] of bodies.entries()) {
      try {
        const msg = await discord.sendMessage(args.chat_id, body, i === 0 ? uploads : undefined);
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
    const what = uploads.length ? ` with ${uploads.length} file(s)` : "";
    return sent.length === 1
      ? `sent${what} (id: ${sent[0]})`
      : `sent ${sent.length} messages${what} (ids: ${sent.join(", ")})`;
  },
});
