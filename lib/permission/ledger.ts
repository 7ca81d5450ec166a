/**
 * The prompt ledger: the permission prompts that are open, with every copy
 * posted, kept in the state directory (`prompts.json`) so that a prompt left
 * open when its process ended (session over, crash, SIGKILL) is closed by the
 * next bridge that logs in: its copies are edited to the expired view and
 * lose their buttons, instead of offering Allow and Deny for ever.
 *
 * Read when the bridge logs in (it then holds the bot, so no other session
 * writes the file), written only by a logged-in bridge, and only small: the
 * request's ID, tool name and a cut description, never the input preview.
 *
 * @module
 */
import { z } from "zod";
import { writeFileAtomic } from "../access/atomic_write.ts";
import { describeError } from "../log.ts";

/** Longest description kept (the expired view shows 200 characters). */
const MAX_DESCRIPTION = 300;
/** At most this many prompts are remembered; the oldest go first. */
const MAX_ENTRIES = 200;

const CopySchema = z.object({ chatId: z.string(), messageId: z.string() });

/** One open prompt as remembered on disk. */
export const LedgerEntrySchema = z.object({
  request_id: z.string(),
  tool_name: z.string(),
  description: z.string(),
  copies: z.array(CopySchema),
});
/** One open prompt as remembered on disk. */
export type LedgerEntry = z.infer<typeof LedgerEntrySchema>;

/** The file's shape. */
export const LedgerFileSchema = z.object({ open: z.array(LedgerEntrySchema) });

/** The open prompts, mirrored to a file in the state directory. */
export class PromptLedger {
  #path: string;
  #log: (line: string) => void;
  #entries = new Map<string, LedgerEntry>();
  #loaded = false;
  #pending: ReturnType<typeof setTimeout> | undefined;

  constructor(path: string, log: (line: string) => void) {
    this.#path = path;
    this.#log = log;
  }

  /**
   * The prompts an earlier process left open, read from the file the first
   * time anything is asked (so only by a bridge that holds the bot), handed
   * out once. A missing file is empty; an unreadable one is logged and ignored.
   */
  takeLeftovers(): LedgerEntry[] {
    return this.#load();
  }

  #load(): LedgerEntry[] {
    if (this.#loaded) return [];
    this.#loaded = true;
    let text: string;
    try {
      text = Deno.readTextFileSync(this.#path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        this.#log(`could not read ${this.#path}: ${describeError(err)}`);
      }
      return [];
    }
    let parsed;
    try {
      parsed = LedgerFileSchema.safeParse(JSON.parse(text));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) {
      this.#log(`${this.#path} is not a prompt ledger; ignoring it`);
      return [];
    }
    for (const e of parsed.data.open) this.#entries.set(e.request_id, e);
    return parsed.data.open;
  }

  /** Records (or updates) an open prompt and its copies. */
  record(
    req: { request_id: string; tool_name: string; description: string },
    copies: readonly { chatId: string; messageId: string }[],
  ): void {
    this.#load(); // keep what an earlier process left until it is closed
    this.#entries.delete(req.request_id); // re-inserted last: newest
    this.#entries.set(req.request_id, {
      request_id: req.request_id,
      tool_name: req.tool_name,
      description: req.description.slice(0, MAX_DESCRIPTION),
      copies: copies.map(({ chatId, messageId }) => ({ chatId, messageId })),
    });
    while (this.#entries.size > MAX_ENTRIES) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    this.#write();
  }

  /** Forgets a prompt (it closed, or its copies were brought in line). */
  forget(requestId: string): void {
    if (this.#entries.delete(requestId)) this.#write();
  }

  /**
   * Writes soon rather than now: a click must be answered within Discord's
   * 3 s window, and an fsync must not sit in its path. Changes made in one
   * turn of the event loop are written once.
   */
  #write(): void {
    if (this.#pending !== undefined) return;
    this.#pending = setTimeout(() => this.flush(), 0);
  }

  /** Writes pending changes now. */
  flush(): void {
    if (this.#pending === undefined) return;
    clearTimeout(this.#pending);
    this.#pending = undefined;
    try {
      writeFileAtomic(this.#path, JSON.stringify({ open: [...this.#entries.values()] }) + "\n");
    } catch (err) {
      this.#log(`could not write ${this.#path}: ${describeError(err)}`);
    }
  }
}
