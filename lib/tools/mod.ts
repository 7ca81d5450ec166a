/**
 * The tools this channel exposes to Claude, in the order they are listed.
 *
 * @module
 */
import { downloadAttachmentTool } from "./download_attachment.ts";
import { editMessageTool } from "./edit_message.ts";
import { fetchMessagesTool } from "./fetch_messages.ts";
import { reactTool } from "./react.ts";
import { replyTool } from "./reply.ts";
import type { Tool } from "./tool.ts";

/** Every tool, as listed by `tools/list`. */
export const TOOLS: readonly Tool[] = [
  replyTool,
  reactTool,
  editMessageTool,
  fetchMessagesTool,
  downloadAttachmentTool,
] as unknown as readonly Tool[];
