/**
 * The permission relay: posts Claude Code's permission prompts to the
 * approvers, turns a button click or a `yes abcde` message into exactly one
 * verdict, and keeps every copy of a prompt in step (answered, expired).
 *
 * Decisions live only in this process. After a restart a click on an old
 * prompt is answered "expired", never with an error and never with a verdict;
 * and the prompts a process left open are listed in the state directory
 * (`PromptLedger`), so the next bridge to log in closes their copies.
 *
 * Timing rules that follow from Discord:
 * - A click must be answered within 3 s, so {@link PermissionRelay.click}
 *   decides synchronously and never waits on REST; the clicked copy is updated
 *   through the interaction itself, the other copies by PATCH in the
 *   background.
 * - The decision is recorded before anything is awaited, so two clicks (or a
 *   click and a text reply) racing on one request produce one verdict.
 *
 * @module
 */
import type { Access } from "../access/schema.ts";
import { DEFAULT_PERMISSION_TIMEOUT_SECONDS } from "../access/schema.ts";
import type { ButtonClick, DiscordPort, InteractionAnswer, MessageBody } from "../discord/port.ts";
import { describeError } from "../core/log.ts";
import type { PermissionRequest } from "./prompt.ts";
import type { LedgerClosed, PromptLedger } from "./ledger.ts";
import { renderDetails, renderExpired, renderOutcome, renderPrompt } from "./prompt.ts";
import { parseButtonId, parseTextVerdict } from "./verdict.ts";

/** One posted copy of a prompt. */
interface Copy {
  chatId: string;
  messageId: string;
  /** The last edit bringing it in line with a closed prompt failed (it may show buttons). */
  stale?: boolean;
}

/** Open, or closed as the ledger records it (decided by someone, or expired). */
type Status = { kind: "open" } | LedgerClosed;

interface Prompt {
  req: PermissionRequest;
  copies: Copy[];
  status: Status;
  expiresAt: number;
  timer?: ReturnType<typeof setTimeout>;
  /** The copy whose click decided it, updated through that interaction. */
  answeredCopy?: string;
}

/** What the relay needs from the rest of the bridge. */
export interface RelayDeps {
  discord(): DiscordPort | undefined;
  /** The current access configuration, or undefined when access.json is unusable. */
  access(): Access | undefined;
  sendVerdict(requestId: string, behavior: "allow" | "deny"): Promise<void>;
  /** The guild channel or thread the conversation last came from (for `channel` mode). */
  lastGuildChat(): string | undefined;
  /** Chats that get a copy whatever the mode: the asking session's own thread, if any. */
  sessionChats?(req: PermissionRequest): string[];
  log(line: string): void;
  now?: () => number;
  /**
   * How long after answering a click its in-place update is sure to have
   * landed or failed (default: Discord's 3 s window plus a margin).
   */
  interactionSettleMs?: number;
  /**
   * How long a request that arrives while Discord is still logging in waits
   * for the connection before giving up (default 15 s). Claude Code may ask
   * right after the handshake, before the gateway session is ready.
   */
  connectWaitMs?: number;
  /**
   * Where open prompts are remembered across processes, so the next bridge
   * can close what this one left open ({@link PermissionRelay.recover}).
   */
  ledger?: PromptLedger;
}

/** How many answered or expired prompts are remembered to explain late clicks. */
const CLOSED_MEMORY = 200;
/** How long a request waits for a Discord login in progress; how often it looks. */
const CONNECT_WAIT_MS = 15_000;
const CONNECT_POLL_MS = 100;
/** Discord's 3-second interaction window, plus room for the answer to land. */
const INTERACTION_SETTLE_MS = 3_500;

const EXPIRED_ANSWER =
  "This permission prompt has expired (or the bridge restarted since it was posted). If Claude Code is still waiting, answer it in the terminal.";

/** Relays permission prompts between Claude Code and Discord. */
export class PermissionRelay {
  #prompts = new Map<string, Prompt>();
  #settleTimers = new Set<ReturnType<typeof setTimeout>>();
  #deps: RelayDeps;
  #now: () => number;
  #stopped = false;
  /** Requests waiting for the Discord connection. */
  #waiting = new Set<string>();

  constructor(deps: RelayDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /**
   * Posts a new prompt to every destination; resolves when every copy was
   * tried. Never rejects: the bridge calls it fire-and-forget, and a failure
   * here must leave the terminal prompt as the way to answer.
   */
  async request(req: PermissionRequest): Promise<void> {
    try {
      await this.#request(req);
    } catch (err) {
      this.#deps.log(
        `permission request ${req.request_id} not relayed: ${
          describeError(err)
        }; answer it in the terminal`,
      );
    }
  }

  async #request(req: PermissionRequest): Promise<void> {
    if (this.#stopped) return;
    if (!this.#deps.discord() && this.#deps.access()) {
      // Still logging in (or reconnecting from scratch): wait a little rather
      // than drop a prompt the user is about to look for on their phone.
      if (this.#waiting.has(req.request_id)) return; // duplicate notification
      this.#waiting.add(req.request_id);
      try {
        const deadline = this.#now() + (this.#deps.connectWaitMs ?? CONNECT_WAIT_MS);
        while (!this.#stopped && !this.#deps.discord() && this.#now() < deadline) {
          await new Promise((r) => setTimeout(r, CONNECT_POLL_MS));
        }
      } finally {
        this.#waiting.delete(req.request_id);
      }
      if (this.#stopped) return;
    }
    const access = this.#deps.access();
    const discord = this.#deps.discord();
    if (!access || !discord) {
      this.#deps.log(
        `permission request ${req.request_id} (${req.tool_name}) not relayed: ${
          !access ? "access.json is unusable" : "Discord is not connected"
        }; answer it in the terminal`,
      );
      return;
    }
    const existing = this.#prompts.get(req.request_id);
    if (existing && existing.status.kind === "open") return; // duplicate notification
    const timeoutMs = (access.permissionTimeoutSeconds ?? DEFAULT_PERMISSION_TIMEOUT_SECONDS) *
      1000;
    const prompt: Prompt = {
      req,
      copies: [],
      status: { kind: "open" },
      expiresAt: this.#now() + timeoutMs,
    };
    // Registered before the first await, so an answer that races the posting
    // (or a duplicate request) finds it.
    this.#prompts.set(req.request_id, prompt);
    this.#forgetOldest();
    prompt.timer = setTimeout(() => void this.#expire(prompt), timeoutMs);

    const body = renderPrompt(req, { expiresAt: prompt.expiresAt });
    const post = async (chatId: string) => {
      const sent = await discord.sendMessage(chatId, body);
      const copy = { chatId, messageId: sent.id };
      prompt.copies.push(copy);
      if (prompt.status.kind === "open") this.#deps.ledger?.record(req, prompt.copies);
      // Answered or expired while this copy was in flight: bring it in line.
      if (prompt.status.kind !== "open") await this.#syncCopy(prompt, copy);
    };

    const mode = access.permissionPrompts ?? "dm";
    const jobs: Promise<void>[] = [];
    const posted = new Set<string>();
    const channel = mode === "dm" ? undefined : this.#deps.lastGuildChat();
    if (channel) {
      posted.add(channel);
      jobs.push(post(channel).catch((err) => this.#couldNotPost(channel, err)));
    } else if (mode === "channel") {
      this.#deps.log('permissionPrompts is "channel" but no guild conversation yet; using DMs');
    }
    for (const chatId of this.#deps.sessionChats?.(req) ?? []) {
      if (posted.has(chatId)) continue;
      posted.add(chatId);
      jobs.push(post(chatId).catch((err) => this.#couldNotPost(chatId, err)));
    }
    if (mode !== "channel" || !channel) {
      // Each approver on their own: one who cannot be reached (DMs closed,
      // account gone) must neither block nor delay the others.
      for (const userId of new Set(access.allowFrom)) {
        jobs.push((async () => {
          let chatId: string;
          try {
            chatId = await discord.openDm(userId);
          } catch (err) {
            this.#deps.log(`could not open a DM with approver ${userId}: ${describeError(err)}`);
            return;
          }
          if (posted.has(chatId)) return;
          posted.add(chatId);
          await post(chatId).catch((err) => this.#couldNotPost(chatId, err));
        })());
      }
    }
    if (jobs.length === 0) {
      this.#deps.log(
        `permission request ${req.request_id} not relayed: no approver in allowFrom and no channel to post in; answer it in the terminal`,
      );
    }
    await Promise.all(jobs);
  }

  /**
   * Answers a button click. Synchronous in effect and never throws, so the
   * interaction is always acknowledged within Discord's window.
   */
  click(click: ButtonClick): Promise<InteractionAnswer> {
    try {
      return Promise.resolve(this.#click(click));
    } catch (err) {
      this.#deps.log(`could not handle a button click: ${describeError(err)}`);
      return Promise.resolve(
        ephemeral("Something went wrong here; answer the prompt in the terminal."),
      );
    }
  }

  #click(click: ButtonClick): InteractionAnswer {
    const parsed = parseButtonId(click.customId);
    if (!parsed) return ephemeral("This button is not one of the bridge's.");
    const access = this.#deps.access();
    // Only approvers may decide, wherever the prompt was posted: in a guild
    // channel anyone can click, and a click there must not approve `rm -rf`.
    if (!access || !access.allowFrom.includes(click.userId)) {
      return ephemeral("You are not authorized to answer permission prompts.");
    }
    const prompt = this.#prompts.get(parsed.requestId);
    if (prompt && prompt.status.kind !== "open") {
      // Clicked, so this copy still shows buttons: its closing edit failed,
      // or it is the deciding copy and Discord refused that click's answer
      // (and the REST fallback failed too). Try again.
      const copy = prompt.copies.find((c) => c.messageId === click.messageId);
      if (copy && (copy.stale || copy.messageId === prompt.answeredCopy)) {
        void this.#syncCopy(prompt, copy);
      }
    }
    if (!prompt) {
      // Not this process's (posted before a restart, and the ledger did not
      // close it): the answer says expired, and the copy must not keep
      // offering buttons either. Its text stays; only the buttons go.
      void this.#dropButtons(click);
      return ephemeral(EXPIRED_ANSWER);
    }
    if (prompt.status.kind === "expired") return ephemeral(EXPIRED_ANSWER);
    if (prompt.status.kind === "decided") {
      const word = prompt.status.behavior === "allow" ? "allowed" : "denied";
      return ephemeral(`This request was already answered: ${word} by ${prompt.status.by}.`);
    }
    if (parsed.action === "details") {
      this.#resyncAfterInteraction(prompt, click.messageId);
      return {
        kind: "update",
        body: renderDetails(prompt.req, { expiresAt: prompt.expiresAt }),
      };
    }
    const body = this.#decide(prompt, parsed.action, click.userName, "button", click.messageId);
    // Should Discord refuse the answer (a late click), the adapter edits the
    // message over REST: the clicked copy must lose its buttons too.
    return { kind: "update", body, patchIfRefused: true };
  }

  /**
   * Handles a delivered message that may be a `yes abcde` / `no abcde` reply.
   * Returns true when it was one, so it must not reach Claude as chat.
   */
  interceptText(
    msg: { authorId: string; authorName: string; content: string; channelId: string; id: string },
    access: Access,
  ): boolean {
    const verdict = parseTextVerdict(msg.content);
    if (!verdict) return false;
    const react = (emoji: string) =>
      this.#deps.discord()?.addReaction(msg.channelId, msg.id, emoji).catch((err) =>
        this.#deps.log(`could not react to a verdict: ${describeError(err)}`)
      );
    // Only approvers decide. A group member who may chat is not an approver;
    // their look-alike message is swallowed rather than shown to Claude.
    if (!access.allowFrom.includes(msg.authorId)) {
      this.#deps.log(`ignored a verdict from ${msg.authorId}, who is not in allowFrom`);
      return true;
    }
    const prompt = this.#prompts.get(verdict.requestId);
    if (prompt && prompt.status.kind !== "open") {
      // Expired: the terminal may still be waiting, and the prompt said to
      // answer there. Decided: the first answer stands.
      void react(prompt.status.kind === "expired" ? "⌛" : "🔁");
      return true;
    }
    void react(verdict.behavior === "allow" ? "✅" : "❌");
    if (prompt) {
      this.#decide(prompt, verdict.behavior, msg.authorName, "text");
    } else {
      // Not one this process posted (e.g. from before a restart). Claude Code
      // applies it only if that request is still open, and ignores IDs it did
      // not issue, so passing it on is harmless and may unblock the terminal.
      this.#send(verdict.requestId, verdict.behavior);
    }
    return true;
  }

  /**
   * Closes the prompts an earlier process left open (its session ended, or it
   * crashed): their copies are edited to the expired view, without buttons;
   * and retries this process's copies whose closing edit failed. Call on
   * every login; resolves when every copy was tried. Never rejects.
   */
  async recover(): Promise<void> {
    const ledger = this.#deps.ledger;
    const discord = this.#deps.discord();
    if (!discord) return;
    // Copies of this process's closed prompts whose edit failed (Discord was
    // away, say) get another try now that it is back.
    const stale = [...this.#prompts.values()].flatMap((p) =>
      p.status.kind === "open" ? [] : p.copies.filter((c) => c.stale).map((c) => ({ p, c }))
    );
    await Promise.all(stale.map(({ p, c }) => this.#syncCopy(p, c)));
    if (!ledger) return;
    const left = ledger.takeLeftovers().filter((e) => !this.#prompts.has(e.request_id));
    await Promise.all(left.map(async (entry) => {
      const req = { ...entry, input_preview: "" };
      const body = closedView(req, entry.closed ?? { kind: "expired" });
      let closed = 0;
      let failed = 0;
      await Promise.all(entry.copies.map(async (copy) => {
        let current;
        try {
          current = await discord.fetchMessage(copy.chatId, copy.messageId);
        } catch (err) {
          // Deleted, its channel gone, or no access: nothing left to close.
          if (isGone(err)) return;
          failed++;
          this.#deps.log(`could not close a left-over prompt copy: ${describeError(err)}`);
          return;
        }
        // Only a copy that still offers buttons: should the ledger have
        // missed a decision (a crash right after it), its outcome stays.
        if (!current.hasComponents) return;
        try {
          await discord.editMessage(copy.chatId, copy.messageId, body);
          closed++;
        } catch (err) {
          if (isGone(err)) return;
          failed++;
          this.#deps.log(`could not close a left-over prompt copy: ${describeError(err)}`);
        }
      }));
      // A copy that could not be closed keeps the entry: the next login tries again.
      if (failed === 0) ledger.forget(entry.request_id);
      this.#deps.log(
        `closed permission prompt ${entry.request_id} left open by an earlier session (${closed} of ${entry.copies.length} copies${
          failed ? `; ${failed} failed, retried at the next login` : ""
        })`,
      );
    }));
  }

  /** Clears every timer (shutdown); later requests are not relayed. */
  stop(): void {
    this.#stopped = true;
    this.#deps.ledger?.flush();
    for (const p of this.#prompts.values()) clearTimeout(p.timer);
    for (const t of this.#settleTimers) clearTimeout(t);
    this.#settleTimers.clear();
  }

  /** Open prompt IDs (for tests and status). */
  openRequests(): string[] {
    return [...this.#prompts.entries()].filter(([, p]) => p.status.kind === "open").map(([id]) =>
      id
    );
  }

  /**
   * Records the decision and sends the verdict, then updates every copy but
   * `answeredCopy` (the clicked one, updated through the interaction) in the
   * background. Returns the outcome view for the interaction.
   */
  #decide(
    prompt: Prompt,
    behavior: "allow" | "deny",
    by: string,
    via: "button" | "text",
    answeredCopy?: string,
  ): MessageBody {
    // Decided synchronously, before any await: a second click racing this one
    // sees the decision and cannot produce a second verdict.
    prompt.status = { kind: "decided", behavior, by, via };
    clearTimeout(prompt.timer);
    prompt.answeredCopy = answeredCopy;
    this.#updateLedger(prompt);
    this.#send(prompt.req.request_id, behavior);
    for (const copy of prompt.copies) {
      if (copy.messageId !== answeredCopy) void this.#syncCopy(prompt, copy);
    }
    return renderOutcome(prompt.req, { behavior, decidedBy: by, via });
  }

  #send(requestId: string, behavior: "allow" | "deny"): void {
    this.#deps.sendVerdict(requestId, behavior).catch((err) =>
      this.#deps.log(`could not send verdict for ${requestId}: ${describeError(err)}`)
    );
  }

  async #expire(prompt: Prompt): Promise<void> {
    if (prompt.status.kind !== "open") return;
    prompt.status = { kind: "expired" };
    this.#updateLedger(prompt);
    await Promise.all(prompt.copies.map((copy) => this.#syncCopy(prompt, copy)));
  }

  /**
   * A Details view answered through an interaction may reach Discord after a
   * PATCH that closed the prompt (another approver decided, or it expired in
   * between), and would bring the buttons back. Once the interaction window
   * has passed, a copy whose prompt closed meanwhile is edited again.
   */
  #resyncAfterInteraction(prompt: Prompt, messageId: string): void {
    const timer = setTimeout(() => {
      this.#settleTimers.delete(timer);
      if (prompt.status.kind === "open") return;
      const copy = prompt.copies.find((c) => c.messageId === messageId);
      if (copy) void this.#syncCopy(prompt, copy);
    }, this.#deps.interactionSettleMs ?? INTERACTION_SETTLE_MS);
    this.#settleTimers.add(timer);
  }

  /** Edits one copy to show how its prompt ended; never rejects. */
  async #syncCopy(prompt: Prompt, copy: Copy): Promise<void> {
    const status = prompt.status;
    if (status.kind === "open") return;
    const discord = this.#deps.discord();
    if (!discord) {
      copy.stale = true;
      this.#deps.log(`could not update a permission prompt copy: Discord is not connected`);
      this.#updateLedger(prompt);
      return;
    }
    const body = closedView(prompt.req, status);
    try {
      await discord.editMessage(copy.chatId, copy.messageId, body);
      copy.stale = false;
    } catch (err) {
      copy.stale = true;
      this.#deps.log(`could not update a permission prompt copy: ${describeError(err)}`);
    }
    this.#updateLedger(prompt);
  }

  /**
   * Keeps the ledger in step with a closed prompt: listed, with how it ended,
   * while any copy but the clicked one (answered through its interaction)
   * has not been edited successfully; forgotten once all were. So a copy
   * whose closing edit failed is fixed by the next bridge if this one ends first.
   */
  #updateLedger(prompt: Prompt): void {
    const ledger = this.#deps.ledger;
    const status = prompt.status;
    if (!ledger || status.kind === "open") return;
    const pending = prompt.copies.filter((c) =>
      c.stale !== false && c.messageId !== prompt.answeredCopy
    );
    if (pending.length === 0) {
      ledger.forget(prompt.req.request_id);
      return;
    }
    ledger.record(prompt.req, pending, status);
  }

  /** Removes the buttons of a clicked copy this process knows nothing about; never rejects. */
  async #dropButtons(click: ButtonClick): Promise<void> {
    try {
      await this.#deps.discord()?.editMessage(click.channelId, click.messageId, {
        components: [],
      });
    } catch (err) {
      this.#deps.log(`could not remove the buttons of an old prompt: ${describeError(err)}`);
    }
  }

  #couldNotPost(chatId: string, err: unknown): void {
    this.#deps.log(`could not post permission prompt to ${chatId}: ${describeError(err)}`);
  }

  #forgetOldest(): void {
    if (this.#prompts.size <= CLOSED_MEMORY) return;
    for (const [id, p] of this.#prompts) {
      if (p.status.kind !== "open") {
        this.#prompts.delete(id);
        if (this.#prompts.size <= CLOSED_MEMORY) return;
      }
    }
  }
}

/** What a copy of a closed prompt shows: who decided it and how, or that it expired. */
function closedView(req: PermissionRequest, closed: LedgerClosed): MessageBody {
  return closed.kind === "decided"
    ? renderOutcome(req, { behavior: closed.behavior, decidedBy: closed.by, via: closed.via })
    : renderExpired(req);
}

/**
 * Discord refused for good (any 4xx but 429): the message or its channel is
 * gone, or the bot lost access; trying again at the next login cannot help.
 */
function isGone(err: unknown): boolean {
  const status = (err as { status?: unknown })?.status;
  return typeof status === "number" && status >= 400 && status < 500 && status !== 429;
}

function ephemeral(content: string): InteractionAnswer {
  return { kind: "ephemeral", content };
}
