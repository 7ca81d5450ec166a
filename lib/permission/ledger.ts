/**
 * The prompt ledger: the permission prompts that are open, with every copy
 * posted, kept in the state directory (`prompts.json`) so that a prompt left
 * open when its process ended (session over, crash, SIGKILL) is closed by the
 * next bridge that logs in: its copies are edited to the expired view and
 * lose their buttons, instead of offering Allow and Deny for ever.
 *
 * A prompt that was answered or expired stays listed, with how it ended,
 * until every copy was brought in line: a closing edit that failed (Discord
 * away) is retried by the next bridge, which then shows the real outcome.
 *
 * Read when the bridge logs in (it then holds the bot, so no other session
 * writes the file), written only by a logged-in bridge, and only small: the
 * request's ID, tool name and a cut description, never the input preview.
 * The file is checked entry by entry: a damaged or forged entry (IDs that are
 * not Discord IDs, oversized fields) is skipped with a log line, the others
 * are kept.
 *
 * @module
 */
import { z } from "zod";
import { writeFileAtomic } from "../access/atomic_write.ts";
import { describeError } from "../log.ts";

/** Longest description kept (the expired view shows 200 characters). */
const MAX_DESCRIPTION = 300;
/** At most this many prompts are remembered; the oldest go first. */
export const MAX_LEDGER_ENTRIES = 200;
/** At most this many copies per prompt (one per approver, plus a channel). */
const MAX_COPIES = 100;

/** Discord IDs only: they go into REST paths (`/channels/{id}/messages/{id}`). */
const Snowflake = z.string().regex(/^\d{1,25}$/);

const CopySchema = z.object({ chatId: Snowflake, messageId: Snowflake });

/** How a prompt ended, when it did (absent: still open when written). */
export const LedgerClosedSchema = z.union([
  z.object({
    kind: z.literal("decided"),
    behavior: z.enum(["allow", "deny"]),
    by: z.string().max(200),
    via: z.enum(["button", "text"]),
  }),
  z.object({ kind: z.literal("expired") }),
]);
/** How a prompt ended. */
export type LedgerClosed = z.infer<typeof LedgerClosedSchema>;

/** One prompt as remembered on disk: open, or closed with copies still to edit. */
export const LedgerEntrySchema = z.object({
  request_id: z.string().max(200),
  tool_name: z.string().max(300),
  description: z.string().max(MAX_DESCRIPTION),
  copies: z.array(CopySchema).max(MAX_COPIES),
  closed: LedgerClosedSchema.optional(),
});
/** One prompt as remembered on disk. */
export type LedgerEntry = z.infer<typeof LedgerEntrySchema>;

/** The file's shape (entries are checked one by one, see {@link PromptLedger}). */
export const LedgerFileSchema = z.object({ open: z.array(z.unknown()) });

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
   * Every prompt on file, read the first time anything is asked (so only by a
   * bridge that holds the bot). Entries stay until {@link PromptLedger.forget}:
   * the caller skips its own prompts and forgets a left-over one only once
   * all its copies were brought in line, so a failed edit is retried at the
   * next login. A missing file is empty; an unreadable one is logged and ignored.
   */
  takeLeftovers(): LedgerEntry[] {
    this.#load();
    return [...this.#entries.values()];
  }

  #load(): void {
    if (this.#loaded) return;
    this.#loaded = true;
    let text: string;
    try {
      text = Deno.readTextFileSync(this.#path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        this.#log(`could not read ${this.#path}: ${describeError(err)}`);
      }
      return;
    }
    let parsed;
    try {
      parsed = LedgerFileSchema.safeParse(JSON.parse(text));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) {
      this.#log(`${this.#path} is not a prompt ledger; ignoring it`);
      return;
    }
    let skipped = 0;
    // The newest are last; a forged file cannot make the bridge walk more.
    for (const raw of parsed.data.open.slice(-MAX_LEDGER_ENTRIES)) {
      const entry = LedgerEntrySchema.safeParse(raw);
      if (entry.success) this.#entries.set(entry.data.request_id, entry.data);
      else skipped++;
    }
    skipped += Math.max(0, parsed.data.open.length - MAX_LEDGER_ENTRIES);
    if (skipped > 0) {
      this.#log(
        `${this.#path}: skipped ${skipped} damaged or excess prompt entr${
          skipped === 1 ? "y" : "ies"
        } (their copies, if any, keep their buttons until clicked)`,
      );
    }
  }

  /**
   * Records (or updates) a prompt and its copies: open, or `closed` with the
   * copies that still have to be brought in line.
   */
  record(
    req: { request_id: string; tool_name: string; description: string },
    copies: readonly { chatId: string; messageId: string }[],
    closed?: LedgerClosed,
  ): void {
    this.#load(); // keep what an earlier process left until it is closed
    this.#entries.delete(req.request_id); // re-inserted last: newest
    const entry: LedgerEntry = {
      request_id: req.request_id,
      tool_name: req.tool_name.slice(0, 300),
      description: req.description.slice(0, MAX_DESCRIPTION),
      copies: copies.slice(0, MAX_COPIES).map(({ chatId, messageId }) => ({ chatId, messageId })),
    };
    if (closed) {
      entry.closed = closed.kind === "decided"
        ? { ...closed, by: closed.by.slice(0, 200) }
        : { kind: "expired" };
    }
    this.#entries.set(req.request_id, entry);
    while (this.#entries.size > MAX_LEDGER_ENTRIES) {
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
