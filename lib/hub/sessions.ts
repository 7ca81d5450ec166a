/**
 * The hub's table of connected sessions: names (unique), who sent which bot
 * message, whom each user last addressed, who last wrote. Plain state, no
 * I/O; routing decisions over it live in `routing.ts`.
 *
 * @module
 */
import { type DeliveryProblem, DropNotice } from "../diagnose/delivery.ts";
import type { HubFrame } from "../link/protocol.ts";
import { uniqueName } from "../session/identity.ts";
import type { RoutedSession } from "./routing.ts";

/** Bot messages remembered per hub for reply routing. */
const SENT_MEMORY = 5_000;
/** Bot messages carried over to the next hub (the most recent). */
const SENT_CARRIED = 500;

/** What routing remembers, as handed from one hub to the next (`routes.json`). */
export interface RoutingMemory {
  focus: Record<string, string>;
  lastWriter?: string;
  /** [message ID, session ID], oldest first. */
  sent: [string, string][];
}

/** Parses `routes.json`; anything malformed is dropped. */
export function parseRoutingMemory(text: string): RoutingMemory {
  const out: RoutingMemory = { focus: {}, sent: [] };
  try {
    const raw = JSON.parse(text);
    for (const [u, s] of Object.entries(raw?.focus ?? {})) {
      if (/^\d{1,25}$/.test(u) && typeof s === "string") out.focus[u] = s;
    }
    if (typeof raw?.lastWriter === "string") out.lastWriter = raw.lastWriter;
    for (const e of Array.isArray(raw?.sent) ? raw.sent : []) {
      if (Array.isArray(e) && /^\d{1,25}$/.test(e[0]) && typeof e[1] === "string") {
        out.sent.push([e[0], e[1]]);
      }
    }
  } catch {
    // unreadable: start without memory
  }
  return out;
}

/** One connected session. */
export interface ConnectedSession extends RoutedSession {
  project: string;
  pid: number;
  connectedAt: number;
  /** When the session last sent or received anything. */
  lastActiveAt: number;
  /** Tells approvers once when this session's Claude Code drops channel events. */
  dropNotice: DropNotice;
  send(frame: HubFrame): void;
}

/** The connected sessions and what routing remembers about them. */
export class SessionTable {
  #sessions = new Map<string, ConnectedSession>();
  #sentBy = new Map<string, string>();
  #focus = new Map<string, string>();
  #lastWriter: string | undefined;
  #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /**
   * Registers a session; a session ID already connected (a reconnect racing
   * its own old link) replaces the old entry and keeps its name.
   */
  add(
    s: {
      id: string;
      name: string;
      project: string;
      pid: number;
      problems?: DeliveryProblem[];
      send(f: HubFrame): void;
    },
  ): ConnectedSession {
    const previous = this.#sessions.get(s.id);
    this.#sessions.delete(s.id);
    const name = previous?.name ??
      uniqueName(s.name, [...this.#sessions.values()].map((x) => x.name));
    const entry: ConnectedSession = {
      id: s.id,
      name,
      project: s.project,
      pid: s.pid,
      connectedAt: this.#now(),
      lastActiveAt: this.#now(),
      dropNotice: previous?.dropNotice ?? new DropNotice(s.problems ?? []),
      send: s.send,
    };
    this.#sessions.set(s.id, entry);
    return entry;
  }

  /** Removes a session, unless `send` shows it was already replaced by a newer link. */
  remove(id: string, send?: (f: HubFrame) => void): boolean {
    const s = this.#sessions.get(id);
    if (!s || (send && s.send !== send)) return false;
    this.#sessions.delete(id);
    if (this.#lastWriter === id) this.#lastWriter = undefined;
    return true;
  }

  get(id: string): ConnectedSession | undefined {
    return this.#sessions.get(id);
  }

  /** Connected sessions, oldest first. */
  list(): ConnectedSession[] {
    return [...this.#sessions.values()];
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Whether bot messages carry session labels (two or more sessions). */
  labelled(): boolean {
    return this.#sessions.size >= 2;
  }

  byName(name: string): ConnectedSession | undefined {
    const n = name.toLowerCase();
    return this.list().find((s) => s.name.toLowerCase() === n);
  }

  /** Records that `sessionId` sent bot message `messageId` (it now "last wrote"). */
  noteSent(sessionId: string, messageId: string): void {
    this.#sentBy.set(messageId, sessionId);
    if (this.#sentBy.size > SENT_MEMORY) this.#sentBy.delete(this.#sentBy.keys().next().value!);
    this.#lastWriter = sessionId;
    this.touch(sessionId);
  }

  sentBy(messageId: string): string | undefined {
    return this.#sentBy.get(messageId);
  }

  setFocus(userId: string, sessionId: string): void {
    this.#focus.set(userId, sessionId);
  }

  focus(userId: string): string | undefined {
    return this.#focus.get(userId);
  }

  get lastWriter(): string | undefined {
    return this.#lastWriter;
  }

  /** What the next hub needs to route as this one did. */
  memory(): RoutingMemory {
    return {
      focus: Object.fromEntries(this.#focus),
      lastWriter: this.#lastWriter,
      sent: [...this.#sentBy].slice(-SENT_CARRIED),
    };
  }

  /** Takes over what the previous hub remembered (sessions reconnect with the same IDs). */
  restore(m: RoutingMemory): void {
    for (const [u, s] of Object.entries(m.focus)) this.#focus.set(u, s);
    this.#lastWriter ??= m.lastWriter;
    for (const [msg, s] of m.sent) if (!this.#sentBy.has(msg)) this.#sentBy.set(msg, s);
  }

  touch(sessionId: string): void {
    const s = this.#sessions.get(sessionId);
    if (s) s.lastActiveAt = this.#now();
  }
}
