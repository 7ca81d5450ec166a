/**
 * How a bridge process ends: once, in order, never hanging. Each role
 * registers what it started (the socket server, the hub, the instance lock)
 * and `end` stops them, whatever role the process had reached.
 *
 * @module
 */
import type { Hub } from "../hub/hub.ts";
import type { InstanceLock } from "../lifecycle/instance_lock.ts";
import { watchParent } from "../lifecycle/parent_watch.ts";
import type { SocketServer } from "../link/socket.ts";
import { log } from "../core/log.ts";
import type { Session } from "../session/session.ts";

/** How long an orderly shutdown may take before the process exits anyway (ms). */
const HARD_STOP_MS = 1_500;

/** What a bridge process runs, stopped in order when it ends. Roles fill it in as they start. */
export class Shutdown {
  /** The session side (MCP on stdio): every process has one. */
  session?: Session;
  /** The hub, when this process holds the Discord connection. */
  hub?: Hub;
  /** The socket other sessions reach the hub through, when this process serves it. */
  server?: SocketServer;
  /** The instance lock, once claimed. */
  lock?: InstanceLock;
  #ending = false;

  /** True once `end` was called: roles still starting give up. */
  get ending(): boolean {
    return this.#ending;
  }

  /**
   * Ends this process: says goodbye to the hub, stops the hub if this is it,
   * releases the lock. Claude Code may go away at any moment, even while this
   * process is still becoming the hub.
   */
  async end(reason: string): Promise<void> {
    if (this.#ending) return;
    this.#ending = true;
    log(`shutting down (${reason})`);
    // Never hang: Claude Code waits for us, and an orphan would keep the bot login.
    const hardStop = setTimeout(() => Deno.exit(0), HARD_STOP_MS);
    this.server?.close();
    await this.session?.close();
    await this.hub?.stop();
    clearTimeout(hardStop);
    this.lock?.release();
    Deno.exit(0);
  }

  /**
   * Ends the process on SIGTERM, SIGINT and SIGHUP, and when Claude Code goes
   * away without closing our stdin (killed with SIGKILL); releases the lock
   * on any exit.
   */
  listen(): void {
    for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
      try {
        Deno.addSignalListener(signal, () => void this.end(signal));
      } catch {
        // Signal not supported on this platform.
      }
    }
    // Claude Code killed with SIGKILL may leave our stdin open: watch for it.
    watchParent((reason) => void this.end(reason));
    // The kernel drops the lock on any exit; this also removes the file.
    globalThis.addEventListener("unload", () => this.lock?.release());
  }
}
