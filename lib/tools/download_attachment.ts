/**
 * `download_attachment`: save a message's attachments into the inbox of the
 * state directory, under generated names, and return their paths.
 *
 * @module
 */
import { z } from "zod";
import { formatSize, safeContentType } from "../notification.ts";
import { safeFileName } from "../text/sanitize.ts";
import { gateAdmitsAuthor } from "./author_gate.ts";
import { describeDiscordErrorLite } from "./errors.ts";
import { SnowflakeSchema } from "./reply.ts";
import { botIdOf, defineTool, requireAllowedChat, ToolError } from "./tool.ts";

/** Attachments larger than this are not downloaded (a sender must not be able to fill the disk). */
export const MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024;
/** A stalled download must not hold the tool call forever. */
const DOWNLOAD_TIMEOUT_MS = 60_000;

/** Input of the `download_attachment` tool. */
export const DownloadAttachmentInput = z.object({
  chat_id: SnowflakeSchema,
  message_id: SnowflakeSchema,
});

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Hosts attachments may be fetched from: Discord's CDN, the configured API
 * host, or, when the API itself is on this machine (a local
 * Discord-compatible server), any loopback address: such servers often serve
 * files from a port of their own.
 */
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
  if (isLoopback(api.hostname) && isLoopback(u.hostname)) return true;
  return u.protocol === "https:" &&
    ["cdn.discordapp.com", "media.discordapp.net"].includes(u.hostname);
}

/** The `download_attachment` tool. */
export const downloadAttachmentTool = defineTool({
  name: "download_attachment",
  description:
    "Download the attachments of a Discord message (listed in the attachments attribute) into the local inbox. Returns each file's path, name, type and size; Read them afterwards. Files of authors whose messages are never delivered here are refused.",
  input: DownloadAttachmentInput,
  async run(ctx, args) {
    const discord = await requireAllowedChat(ctx, args.chat_id);
    let msg;
    try {
      msg = await discord.fetchMessage(args.chat_id, args.message_id);
    } catch (err) {
      throw new ToolError(`message ${args.message_id} not found: ${describeDiscordErrorLite(err)}`);
    }
    // The same rule as the message's text: files from an author the inbound
    // gate would never deliver (outside a group's allowFrom, an unlisted bot)
    // do not reach Claude through this tool either.
    if (
      !gateAdmitsAuthor(
        ctx.access(),
        args.chat_id,
        await discord.chatFacts(args.chat_id),
        msg,
        botIdOf(discord),
      )
    ) {
      throw new ToolError(
        `message ${args.message_id} is by an author whose messages are not delivered in this chat (not in allowFrom); its attachments are not downloaded`,
      );
    }
    if (msg.attachments.length === 0) {
      throw new ToolError(`message ${args.message_id} has no attachments`);
    }
    const inbox = `${ctx.stateDir}/inbox`;
    await Deno.mkdir(inbox, { recursive: true, mode: 0o700 });
    // mkdir leaves an existing directory's mode alone: other local users must
    // not read what Discord users sent, whatever created the inbox before.
    await Deno.chmod(inbox, 0o700);
    const lines: string[] = [];
    let saved = 0;
    for (const [i, att] of msg.attachments.entries()) {
      // The ID goes into the file name too: only digits, so a forged one
      // cannot carry a path separator.
      const id = /^\d{1,25}$/.test(att.id) ? att.id : String(i);
      const name = safeFileName(att.name, `attachment-${id}`);
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
      // Generated, never the uploader's name alone: a name like `../.env` or
      // one matching an earlier download must not pick the file written.
      const path = `${inbox}/${Date.now()}-${randomTag()}-${id}-${name}`;
      try {
        // No redirects: an allowed host answering 302 to http://169.254.169.254/
        // or a LAN address would otherwise make the bridge fetch from there.
        const res = await fetch(att.url, {
          redirect: "error",
          signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS),
        });
        if (!res.ok || !res.body) {
          await res.body?.cancel();
          throw new Error(`HTTP ${res.status}`);
        }
        const size = await writeCapped(res.body, path, MAX_DOWNLOAD_BYTES);
        saved++;
        lines.push(`${path} (${name}, ${safeContentType(att.contentType)}, ${formatSize(size)})`);
      } catch (err) {
        lines.push(`failed ${name}: ${describeDiscordErrorLite(err)}`);
      }
    }
    if (saved === 0) throw new ToolError(`nothing was downloaded:\n${lines.join("\n")}`);
    return `downloaded to ${inbox}:\n${lines.join("\n")}`;
  },
});

/** Four random hex digits, so two downloads in the same millisecond never collide. */
function randomTag(): string {
  return crypto.getRandomValues(new Uint16Array(1))[0].toString(16).padStart(4, "0");
}

/**
 * Streams a body to a new file (mode 0600), aborting past `cap` bytes; a
 * partial file is removed.
 */
async function writeCapped(
  body: ReadableStream<Uint8Array>,
  path: string,
  cap: number,
): Promise<number> {
  // createNew fails on an existing path, including a planted symlink, so a
  // download never overwrites or writes through one.
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  let total = 0;
  try {
    for await (const chunk of body) {
      total += chunk.byteLength;
      // Checked while streaming: the listed size comes from the sender's upload
      // metadata and is not proof of what the server sends.
      if (total > cap) throw new Error(`larger than the ${formatSize(cap)} cap`);
      for (let off = 0; off < chunk.byteLength;) off += await file.write(chunk.subarray(off));
    }
  } catch (err) {
    file.close();
    await Deno.remove(path).catch(() => {});
    throw err;
  }
  file.close();
  return total;
}
