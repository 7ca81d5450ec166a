/**
 * The running side of pairing: answers a stranger's DM with a code (stored
 * in `access.json` under the inter-process lock), and confirms approvals
 * made by `deno task access pair` (or the official plugin's skill) with a DM,
 * within seconds and without a restart.
 *
 * @module
 */
import { takeApprovals } from "../access/approvals.ts";
import { decidePairing, type PairingDecision } from "../access/pairing.ts";
import type { Access } from "../access/schema.ts";
import type { DiscordPort } from "../discord/port.ts";
import { describeError } from "../core/log.ts";

/** What the pairing flow needs from the store. */
export interface PairingStore {
  readonly stateDir: string;
  readonly mode: "live" | "static";
  update(mutator: (a: Access) => Access | null): Promise<unknown>;
}

/** Text of the reply carrying a pairing code. */
export function pairingReply(code: string, resend: boolean): string {
  const lead = resend
    ? "Still waiting for approval."
    : "Hi! This bot only talks to people its owner approved.";
  return `${lead} Ask the owner to run this in a terminal on their machine:\n\n` +
    "```\n" + `deno task access pair ${code}` + "\n```\n" + "The code is valid for one hour.";
}

/** The DM sent once a pairing was approved. */
export const PAIRED_TEXT = "Paired! You can talk to Claude here now.";

/** Answers strangers and confirms approvals. */
export class PairingFlow {
  #store: PairingStore;
  #discord: () => DiscordPort | undefined;
  #log: (line: string) => void;
  #timer?: ReturnType<typeof setInterval>;
  #polling = false;

  constructor(
    store: PairingStore,
    discord: () => DiscordPort | undefined,
    log: (line: string) => void,
  ) {
    this.#store = store;
    this.#discord = discord;
    this.#log = log;
  }

  /** Handles a DM from a sender outside `allowFrom` under the `pairing` policy. */
  async stranger(msg: { authorId: string; channelId: string; id: string }): Promise<void> {
    if (this.#store.mode === "static") return; // pairing needs writes; static mode is allowlist
    let decision: PairingDecision | undefined;
    try {
      await this.#store.update((a) => {
        decision = decidePairing(a, { senderId: msg.authorId, chatId: msg.channelId }, {
          now: Date.now(),
        });
        return decision.changed ? decision.access : null;
      });
    } catch (err) {
      this.#log(`pairing: could not record a code for ${msg.authorId}: ${describeError(err)}`);
      return;
    }
    if (!decision || decision.action !== "send_code") return;
    const discord = this.#discord();
    if (!discord) return;
    try {
      await discord.sendMessage(msg.channelId, {
        content: pairingReply(decision.code, decision.resend),
        allowed_mentions: { parse: [] },
        message_reference: { message_id: msg.id, fail_if_not_exists: false },
      });
      this.#log(
        `pairing: sent ${decision.resend ? "a reminder of " : ""}code to user ${msg.authorId}`,
      );
    } catch (err) {
      this.#log(`pairing: could not send the code to ${msg.authorId}: ${describeError(err)}`);
    }
  }

  /** Polls the approvals mailbox every `intervalMs` (live mode only). */
  start(intervalMs = 1000): void {
    if (this.#store.mode === "static" || this.#timer) return;
    this.#timer = setInterval(() => void this.poll(), intervalMs);
    Deno.unrefTimer(this.#timer as unknown as number);
  }

  /** Sends the confirmation DM for every approval waiting in the mailbox. */
  async poll(): Promise<void> {
    const discord = this.#discord();
    if (!discord || this.#polling) return;
    this.#polling = true;
    try {
      for (const approval of await takeApprovals(this.#store.stateDir)) {
        try {
          await discord.sendMessage(approval.chatId, {
            content: PAIRED_TEXT,
            allowed_mentions: { parse: [] },
          });
          this.#log(`pairing: confirmed user ${approval.senderId}`);
        } catch (err) {
          this.#log(`pairing: could not confirm user ${approval.senderId}: ${describeError(err)}`);
        }
      }
    } catch (err) {
      this.#log(`pairing: could not read approvals: ${describeError(err)}`);
    } finally {
      this.#polling = false;
    }
  }

  /** Stops polling (shutdown). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
