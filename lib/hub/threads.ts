/**
 * A thread per session: when `access.json` names a `sessionsChannel` (an
 * opted-in guild channel), each session gets a public thread there, named
 * after it, created when the session first connects, reused when it comes
 * back (`claude --resume` keeps its session ID), archived when it ends.
 *
 * Which thread belongs to which session ID is kept in
 * `<stateDir>/session_threads.json` (written by the hub only), so a resumed
 * session, or a new hub after a takeover, finds its thread again.
 *
 * @module
 */
import { writeFileAtomic } from "../access/atomic_write.ts";
import type { Access } from "../access/schema.ts";
import type { DiscordConnection } from "../discord/client.ts";
import { groupFor } from "../gate.ts";
import { describeError } from "../log.ts";

/** The file name inside the state directory. */
export const THREADS_FILE = "session_threads.json";
/** Sessions remembered at most (the least recently opened are forgotten first). */
const MAX_REMEMBERED = 200;

interface Entry {
  threadId: string;
  parentId: string;
  name: string;
}

/** Parses the file's text; malformed entries are skipped. */
export function parseThreads(text: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  try {
    const raw = JSON.parse(text)?.sessions;
    if (!raw || typeof raw !== "object") return out;
    for (const [id, e] of Object.entries(raw as Record<string, Partial<Entry>>)) {
      if (
        typeof e?.threadId === "string" && /^\d{1,25}$/.test(e.threadId) &&
        typeof e.parentId === "string" && typeof e.name === "string"
      ) out.set(id, { threadId: e.threadId, parentId: e.parentId, name: e.name });
    }
  } catch {
    // unreadable: threads are created anew
  }
  return out;
}

/** What the thread keeper needs. */
export interface ThreadDeps {
  stateDir: string;
  discord(): DiscordConnection | undefined;
  access(): Access | undefined;
  log(line: string): void;
}

/** Creates, reuses and archives the sessions' threads. */
export class SessionThreads {
  #deps: ThreadDeps;
  #bySession: Map<string, Entry>;
  #opening = new Map<string, Promise<string | undefined>>();
  #warned = false;

  constructor(deps: ThreadDeps) {
    this.#deps = deps;
    let text = "";
    try {
      text = Deno.readTextFileSync(this.#path);
    } catch {
      // none yet
    }
    this.#bySession = parseThreads(text);
  }

  get #path(): string {
    return `${this.#deps.stateDir}/${THREADS_FILE}`;
  }

  /** The session whose thread `chatId` is, if it is one. */
  ownerOf(chatId: string): string | undefined {
    for (const [sessionId, e] of this.#bySession) if (e.threadId === chatId) return sessionId;
    return undefined;
  }

  /** The session's thread, if it has one. */
  threadOf(sessionId: string): string | undefined {
    return this.#bySession.get(sessionId)?.threadId;
  }

  /** The sessions channel, when configured and opted in. */
  #channel(): string | undefined {
    const access = this.#deps.access();
    const id = access?.sessionsChannel;
    if (!id || !access) return undefined;
    if (!groupFor(access, id)) {
      if (!this.#warned) {
        this.#deps.log(
          `sessionsChannel ${id} is not an opted-in channel (add it to groups); sessions get no threads`,
        );
        this.#warned = true;
      }
      return undefined;
    }
    return id;
  }

  /** Makes sure the session has an open thread; resolves with its ID. Never rejects. */
  open(session: { id: string; name: string }): Promise<string | undefined> {
    const running = this.#opening.get(session.id);
    if (running) return running;
    const job = this.#open(session).catch((err) => {
      this.#deps.log(
        `could not open a thread for session "${session.name}": ${describeError(err)}`,
      );
      return undefined;
    }).finally(() => this.#opening.delete(session.id));
    this.#opening.set(session.id, job);
    return job;
  }

  async #open(session: { id: string; name: string }): Promise<string | undefined> {
    const parentId = this.#channel();
    const discord = this.#deps.discord();
    if (!parentId || !discord) return undefined;
    const known = this.#bySession.get(session.id);
    if (known && known.parentId === parentId) {
      try {
        await discord.setThreadArchived(known.threadId, false);
        this.#remember(session.id, known);
        return known.threadId;
      } catch (err) {
        this.#deps.log(
          `thread ${known.threadId} of "${session.name}" is gone (${
            describeError(err)
          }); creating another`,
        );
      }
    }
    const thread = await discord.createThread(parentId, session.name);
    this.#remember(session.id, { threadId: thread.id, parentId, name: session.name });
    return thread.id;
  }

  /** Archives the session's thread (the session ended). Never rejects. */
  async close(sessionId: string): Promise<void> {
    await this.#opening.get(sessionId);
    const e = this.#bySession.get(sessionId);
    const discord = this.#deps.discord();
    if (!e || !discord) return;
    await discord.setThreadArchived(e.threadId, true).catch((err) =>
      this.#deps.log(`could not archive thread ${e.threadId}: ${describeError(err)}`)
    );
  }

  #remember(sessionId: string, e: Entry): void {
    this.#bySession.delete(sessionId);
    this.#bySession.set(sessionId, e);
    while (this.#bySession.size > MAX_REMEMBERED) {
      this.#bySession.delete(this.#bySession.keys().next().value!);
    }
    try {
      writeFileAtomic(
        this.#path,
        JSON.stringify({ version: 1, sessions: Object.fromEntries(this.#bySession) }, null, 2) +
          "\n",
      );
    } catch (err) {
      this.#deps.log(`could not save ${this.#path}: ${describeError(err)}`);
    }
  }
}
