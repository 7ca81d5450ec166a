/**
 * The approval handoff shared with the official plugin: approving a pairing
 * drops `$STATE_DIR/approved/<senderId>` containing the DM channel ID, and the
 * running bridge polls that directory, sends the "you're in" DM and removes
 * the file. The CLI and the bridge are separate processes; this directory is
 * their mailbox.
 *
 * @module
 */
import { isSnowflake } from "./ids.ts";
import { writeFileAtomic } from "./atomic_write.ts";

/** One approval waiting to be confirmed by DM. */
export interface Approval {
  senderId: string;
  /** The DM channel to send the confirmation to. */
  chatId: string;
}

/** The mailbox directory inside a state directory. */
export function approvedDir(stateDir: string): string {
  return `${stateDir.replace(/\/+$/, "")}/approved`;
}

/**
 * Records an approval for the bridge to confirm. Both IDs must be snowflakes:
 * the sender ID becomes a file name (no `../` traversal out of the mailbox).
 */
export function writeApproval(stateDir: string, approval: Approval): Promise<void> {
  if (!isSnowflake(approval.senderId)) {
    return Promise.reject(new Error(`not a Discord user ID: ${approval.senderId}`));
  }
  if (!isSnowflake(approval.chatId)) {
    return Promise.reject(new Error(`not a Discord channel ID: ${approval.chatId}`));
  }
  const dir = approvedDir(stateDir);
  Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Atomic, so the poller never reads a half-written channel ID.
  writeFileAtomic(`${dir}/${approval.senderId}`, `${approval.chatId}\n`, 0o600);
  return Promise.resolve();
}

/**
 * Takes every approval waiting in the mailbox: reads each file and deletes
 * it, returning the approvals whose delete succeeded (so two pollers never
 * confirm the same approval twice). Malformed entries (a name or content that
 * is not a snowflake, a symlink) are removed and skipped: their
 * content is never used as a channel to message. Temp files (dot names) of a
 * writer in progress, and directories, are left alone. A missing directory means no approvals.
 */
export async function takeApprovals(stateDir: string): Promise<Approval[]> {
  const dir = approvedDir(stateDir);
  const out: Approval[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return out;
    throw err;
  }
  for (const entry of entries) {
    if (entry.name.startsWith(".") || entry.isDirectory) continue;
    const path = `${dir}/${entry.name}`;
    let chatId = "";
    if (entry.isFile && isSnowflake(entry.name)) {
      try {
        chatId = (await Deno.readTextFile(path)).trim();
      } catch {
        chatId = "";
      }
    }
    try {
      await Deno.remove(path);
    } catch {
      continue; // taken by another poller, or not ours to remove
    }
    if (isSnowflake(entry.name) && isSnowflake(chatId)) {
      out.push({ senderId: entry.name, chatId });
    }
  }
  return out;
}
