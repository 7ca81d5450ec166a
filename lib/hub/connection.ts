/**
 * The hub's Discord connection: logs in (loading discord.js only now),
 * tracks the connection state, and hands tools a port to use, waiting
 * briefly for a login in progress. It knows nothing about sessions.
 *
 * @module
 */
import type { Config } from "../config.ts";
import type { DiscordConnection, DiscordHandlers } from "../discord/client.ts";
import type { DiscordPort, DiscordState } from "../discord/port.ts";
import { describeError } from "../log.ts";
import { ToolError } from "../tools/tool.ts";

/** How long a tool call waits for a login in progress before it gives up. */
const CONNECT_WAIT_MS = 5_000;

/** Options for {@link DiscordLink}. */
export interface DiscordLinkOptions {
  config: Config;
  log(line: string): void;
  /** Gateway events (messages, clicks, fresh sessions); state changes are handled here. */
  handlers: Omit<DiscordHandlers, "onState">;
  /** Called once the connection is ready (each time it becomes ready). */
  onReady?(): void;
}

/** The one Discord connection of the machine's bot. */
export class DiscordLink {
  #opts: DiscordLinkOptions;
  #discord: DiscordConnection | undefined;
  #state: DiscordState;
  #stopping = false;

  constructor(opts: DiscordLinkOptions) {
    this.#opts = opts;
    this.#state = opts.config.DISCORD_BOT_TOKEN
      ? { state: "starting" }
      : { state: "failed", reason: missingTokenReason(opts.config) };
  }

  /** The current state. */
  get state(): DiscordState {
    return this.#state;
  }

  /** Marks the connection as unavailable for `reason` (e.g. another process holds the bot). */
  block(reason: string): void {
    this.#state = { state: "failed", reason };
  }

  /** Logs in (loads discord.js). Resolves once the login has started. */
  async login(): Promise<void> {
    const token = this.#opts.config.DISCORD_BOT_TOKEN;
    if (!token) {
      this.#opts.log((this.#state as { reason: string }).reason);
      return;
    }
    this.#state = { state: "starting" };
    const { connectDiscord } = await import("../discord/client.ts");
    if (this.#stopping) return;
    const log = this.#opts.log;
    this.#discord = connectDiscord({ token, apiUrl: this.#opts.config.DISCORD_API_URL, log }, {
      ...this.#opts.handlers,
      onState: (next) => {
        const before = this.#state.state;
        this.#state = next;
        if (next.state === "ready") this.#opts.onReady?.();
        if (next.state === "ready" && before !== "ready") {
          log(`connected to Discord as ${next.botName} (${next.botId})`);
        } else if (next.state === "failed") {
          log(next.reason);
        } else if (next.state === "reconnecting") {
          log("gateway connection lost; reconnecting");
        }
      },
    });
  }

  /** The connection while it is usable (ready or resuming), else undefined. */
  connected(): DiscordConnection | undefined {
    const s = this.#state.state;
    return this.#discord && (s === "ready" || s === "reconnecting") ? this.#discord : undefined;
  }

  /** The connection for a tool call: waits briefly for a login in progress, else explains. */
  async forTool(): Promise<DiscordPort> {
    // A call made while the bridge is still logging in (Claude may act on
    // the handshake at once) waits a little rather than failing.
    const deadline = Date.now() + CONNECT_WAIT_MS;
    while (this.#state.state === "starting" && !this.#stopping && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const s = this.#state;
    const d = this.connected();
    if (d) return d;
    if (s.state === "failed") throw new ToolError(`Discord is not connected: ${s.reason}`);
    if (s.state === "stopped" || this.#stopping) {
      throw new ToolError("the bridge is shutting down");
    }
    throw new ToolError("Discord is still connecting; try again in a few seconds");
  }

  /** Logs out. Never throws. */
  async stop(): Promise<void> {
    this.#stopping = true;
    try {
      await this.#discord?.stop();
    } catch (err) {
      this.#opts.log(`error while closing Discord: ${describeError(err)}`);
    }
  }
}

function missingTokenReason(config: Config): string {
  return `DISCORD_BOT_TOKEN is not set. Fix: run \`deno task access configure\` in a terminal (it prompts for the token and stores it in ${config.DISCORD_STATE_DIR}/.env), or set DISCORD_BOT_TOKEN in the environment, then restart the session.`;
}
