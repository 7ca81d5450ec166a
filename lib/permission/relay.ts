/**
 * The permission relay: posts Claude Code's permission prompts to the
 * approvers, turns a button click or a `yes abcde` message into exactly one
 * verdict, and keeps every copy of a prompt in step (answered, expired).
 *
 * State lives only in this process. After a restart a click on an old prompt
 * is answered "expired", never with an error and never with a verdict.
 *
 * @module
 */
import type { Access } from "../access/schema.ts";
import type { ButtonClick, DiscordPort, InteractionAnswer, MessageBody } from "../discord/port.ts";
import { describeError } from "../log.ts";
import type { PermissionRequest } from "../mcp/server.ts";
import { DEFAULT_PERMISSION_TIMEOUT_SECONDS } from "../access/schema.ts";
import { renderDetails, renderExpired, renderOutcome, renderPrompt } from "./prompt.ts";
import { parseButtonId, parseTextVerdict } from "./verdict.ts";

/** One posted copy of a prompt. */
interface Copy {
  chatId: string;
  messageId: string;
}

type Status =
  | { kind: "open" }
  | { kind: "decided"; behavior: "allow" | "deny"; by: string }
  | { kind: "expired" };

interface Prompt {
  req: PermissionRequest;
  copies: Copy[];
  status: Status;
  expiresAt: number;
  timer?: ReturnType<typeof setTimeout>;
}

/** What the relay needs from the rest of the bridge. */
export interface RelayDeps {
  discord(): DiscordPort | undefined;
  /** The current access configuration, or undefined when access.json is unusable. */
  access(): Access | undefined;
  sendVerdict(requestId: string, behavior: "allow" | "deny"): Promise<void>;
  /** The guild channel or thread the conversation last came from (for `channel` mode). */
  lastGuildChat(): string | undefined;
  log(line: string): void;
  now?: () => number;
}

/** How many answered or expired prompts are remembered to explain late clicks. */
const CLOSED_MEMORY = 200;

/** Relays permission prompts between Claude Code and Discord. */
export class PermissionRelay {
  #prompts = new Map<string, Prompt>();
  #deps: RelayDeps;
  #now: () => number;

  constructor(deps: RelayDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** Posts a new prompt to every destination; resolves when all copies were tried. */
  async request(req: PermissionRequest): Promise<void> {
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
    this.#prompts.set(req.request_id, prompt);
    this.#forgetOldest();
    prompt.timer = setTimeout(() => void this.#expire(req.request_id), timeoutMs);

    const body = renderPrompt(req, { expiresAt: prompt.expiresAt });
    const targets = await this.#destinations(access, discord);
    if (targets.length === 0) {
      this.#deps.log(
        `permission request ${req.request_id} not relayed: no approver in allowFrom and no channel to post in`,
      );
    }
    await Promise.all(targets.map(async (chatId) => {
      try {
        const sent = await discord.sendMessage(chatId, body);
        prompt.copies.push({ chatId, messageId: sent.id });
        // Answered or expired while this copy was in flight: bring it in line.
        if (prompt.status.kind !== "open") await this.#syncCopies(prompt);
      } catch (err) {
        this.#deps.log(`could not post permission prompt to ${chatId}: ${describeError(err)}`);
      }
    }));
  }

  /** Answers a button click; never throws, so the interaction is always acknowledged. */
  click(click: ButtonClick): Promise<InteractionAnswer> {
    const parsed = parseButtonId(click.customId);
    if (!parsed) return Promise.resolve(ephemeral("This button is not one of the bridge's."));
    const access = this.#deps.access();
    // Only approvers may decide, wherever the prompt was posted: in a guild
    // channel anyone can click, and a click there must not approve `rm -rf`.
    if (!access || !access.allowFrom.includes(click.userId)) {
      return Promise.resolve(ephemeral("You are not authorized to answer permission prompts."));
    }
    const prompt = this.#prompts.get(parsed.requestId);
    if (!prompt || prompt.status.kind === "expired") {
      return Promise.resolve(ephemeral(
        "This permission prompt has expired (or the bridge restarted). If Claude Code is still waiting, answer it in the terminal.",
      ));
    }
    if (prompt.status.kind === "decided") {
      const word = prompt.status.behavior === "allow" ? "allowed" : "denied";
      return Promise.resolve(
        ephemeral(`This request was already answered: ${word} by ${prompt.status.by}.`),
      );
    }
    if (parsed.action === "details") {
      return Promise.resolve({
        kind: "update",
        body: renderDetails(prompt.req, { expiresAt: prompt.expiresAt }),
      });
    }
    const body = this.#decide(prompt, parsed.action, click.userName, { except: click.messageId });
    return Promise.resolve({ kind: "update", body });
  }

  /**
   * Handles a `yes abcde` / `no abcde` message from a delivered message.
   * Returns true when the message was a verdict (and must not reach Claude as chat).
   */
  interceptText(
    msg: { authorId: string; authorName: string; content: string; channelId: string; id: string },
    access: Access,
  ): boolean {
    const verdict = parseTextVerdict(msg.content);
    if (!verdict) return false;
    const discord = this.#deps.discord();
    const react = (emoji: string) =>
      discord?.addReaction(msg.channelId, msg.id, emoji).catch((err) =>
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
      void react(prompt.status.kind === "expired" ? "⌛" : "🔁");
      return true;
    }
    void react(verdict.behavior === "allow" ? "✅" : "❌");
    if (prompt) {
      this.#decide(prompt, verdict.behavior, msg.authorName, {});
    } else {
      // Not ours (e.g. posted before a restart): the terminal may still be
      // waiting, and Claude Code ignores IDs it did not issue.
      this.#send(verdict.requestId, verdict.behavior);
    }
    return true;
  }

  /** Clears every timer (shutdown). */
  stop(): void {
    for (const p of this.#prompts.values()) clearTimeout(p.timer);
  }

  /** Open prompt IDs (for tests and status). */
  openRequests(): string[] {
    return [...this.#prompts.entries()].filter(([, p]) => p.status.kind === "open").map(([id]) =>
      id
    );
  }

  #decide(
    prompt: Prompt,
    behavior: "allow" | "deny",
    by: string,
    opts: { except?: string },
  ): MessageBody {
    // Decided synchronously, before any await: a second click racing this one
    // sees the decision and cannot produce a second verdict.
    prompt.status = { kind: "decided", behavior, by };
    clearTimeout(prompt.timer);
    this.#send(prompt.req.request_id, behavior);
    void this.#syncCopies(prompt, opts.except);
    return renderOutcome(prompt.req, { behavior, decidedBy: by });
  }

  #send(requestId: string, behavior: "allow" | "deny"): void {
    this.#deps.sendVerdict(requestId, behavior).catch((err) =>
      this.#deps.log(`could not send verdict for ${requestId}: ${describeError(err)}`)
    );
  }

  async #expire(requestId: string): Promise<void> {
    const prompt = this.#prompts.get(requestId);
    if (!prompt || prompt.status.kind !== "open") return;
    prompt.status = { kind: "expired" };
    await this.#syncCopies(prompt);
  }

  /** Edits every copy (but `except`, answered through the interaction) to the prompt's state. */
  async #syncCopies(prompt: Prompt, except?: string): Promise<void> {
    const discord = this.#deps.discord();
    if (!discord) return;
    const status = prompt.status;
    const body = status.kind === "decided"
      ? renderOutcome(prompt.req, { behavior: status.behavior, decidedBy: status.by })
      : status.kind === "expired"
      ? renderExpired(prompt.req)
      : undefined;
    if (!body) return;
    await Promise.all(
      prompt.copies.filter((c) => c.messageId !== except).map((c) =>
        discord.editMessage(c.chatId, c.messageId, body).catch((err) =>
          this.#deps.log(`could not update a permission prompt copy: ${describeError(err)}`)
        )
      ),
    );
  }

  async #destinations(access: Access, discord: DiscordPort): Promise<string[]> {
    const mode = access.permissionPrompts ?? "dm";
    const out: string[] = [];
    if (mode === "channel" || mode === "both") {
      const chat = this.#deps.lastGuildChat();
      if (chat) out.push(chat);
      else if (mode === "channel") {
        this.#deps.log('permissionPrompts is "channel" but no guild conversation yet; using DMs');
      }
    }
    if (mode === "dm" || mode === "both" || out.length === 0) {
      for (const userId of access.allowFrom) {
        try {
          out.push(await discord.openDm(userId));
        } catch (err) {
          this.#deps.log(`could not open a DM with approver ${userId}: ${describeError(err)}`);
        }
      }
    }
    return [...new Set(out)];
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

function ephemeral(content: string): InteractionAnswer {
  return { kind: "ephemeral", content };
}
