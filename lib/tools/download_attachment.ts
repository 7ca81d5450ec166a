/**
 * `download_attachment`: save a message's attachments into the inbox of the
 * state directory, under generated names, and return their paths.
 *
 * @module
 */
import { z } from "zod";
import { formatSize } from "../notification.ts";
import { cleanMetaValue, safeFileName } from "../text/sanitize.ts";
import { describeDiscordErrorLite } from "./errors.ts";
import { SnowflakeSchema } from "./reply.ts";
import { defineTool, requireAllowedChat, ToolError } from "./tool.ts";

/** Attachments larger than this are not downloaded. */
export const MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024;

/** Input of the `download_attachment` tool. */
export const DownloadAttachmentInput = z.object({
  chat_id: SnowflakeSchema,
  message_id: SnowflakeSchema,
});

/** Hosts attachments may be fetched from: Discord's CDN, or the configured API host. */
export function allowedDownloadHost(url: string, apiUrl: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return false;
  // An attachment URL comes from Discord's API, but we still refuse anything
  // that is not Discord's CDN (or the emulator/proxy in DISCORD_API_URL): a
  // forged URL must not make the bridge fetch from inside the network.
  const api = new URL(apiUrl);
  if (u.host === api.host) return true;
  return u.protocol === "https:" &&
    ["cdn.discordapp.com", "media.discordapp.net"].includes(u.hostname);
}

/** The `download_attachment` tool. */
export const downloadAttachmentTool = defineTool({
  name: "download_attachment",
  description:
    "Download the attachments of a Discord message (listed in the attachments attribute) into the local inbox. Returns each file's path, name, type and size; Read them afterwards.",
  input: DownloadAttachmentInput,
  async run(ctx, args) {
    const discord = await requireAllowedChat(ctx, args.chat_id);
    let msg;
    try {
      msg = await discord.fetchMessage(args.chat_id, args.message_id);
    } catch (err) {
      throw new ToolError(`message ${args.message_id} not found: ${describeDiscordErrorLite(err)}`);
    }
    if (msg.attachments.length === 0) {
      throw new ToolError(`message ${args.message_id} has no attachments`);
    }
    const inbox = `${ctx.stateDir}/inbox`;
    await Deno.mkdir(inbox, { recursive: true, mode: 0o700 });
    const lines: string[] = [];
    for (const att of msg.attachments) {
      const name = safeFileName(att.name, att.id);
      if (att.size > MAX_DOWNLOAD_BYTES) {
        lines.push(
          `skipped ${name}: ${formatSize(att.size)} is over the ${
            formatSize(MAX_DOWNLOAD_BYTES)
          } cap`,
        );
        continue;
      }
      if (!allowedDownloadHost(att.url, ctx.apiUrl)) {
        lines.push(`skipped ${name}: not served by Discord's CDN`);
        continue;
      }
      const path = `${inbox}/${Date.now()}-${att.id}-${name}`;
      try {
        const res = await fetch(att.url);
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        const size = await writeCapped(res.body, path, MAX_DOWNLOAD_BYTES);
        const type = cleanMetaValue(att.contentType ?? "", 64) || "unknown";
        lines.push(`${path} (${name}, ${type}, ${formatSize(size)})`);
      } catch (err) {
        await Deno.remove(path).catch(() => {});
        lines.push(`failed ${name}: ${describeDiscordErrorLite(err)}`);
      }
    }
    return `downloaded to ${inbox}:\n${lines.join("\n")}`;
  },
});

/** Streams a body to a new file (mode 0600), aborting past `cap` bytes. */
async function writeCapped(
  body: ReadableStream<Uint8Array>,
  path: string,
  cap: number,
): Promise<number> {
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  let total = 0;
  try {
    for await (const chunk of body) {
      total += chunk.byteLength;
      if (total > cap) throw new Error(`larger than the ${formatSize(cap)} cap`);
      await file.write(chunk);
    }
  } finally {
    file.close();
  }
  return total;
}
