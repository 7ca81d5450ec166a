/**
 * The hub role: this process holds the Discord connection. The hub (and
 * discord.js with it) is imported only here, when the role is taken, so a
 * session-only process never loads it.
 *
 * @module
 */
import { memoryLinkPair } from "../link/link.ts";
import {
  type HubFrame,
  HubFrameSchema,
  type SessionFrame,
  SessionFrameSchema,
} from "../link/protocol.ts";
import { serveSocket, socketPath, type SocketServer } from "../link/socket.ts";
import type { Hub } from "../hub/hub.ts";
import { describeError, log } from "../core/log.ts";
import { TOOLS } from "../tools/mod.ts";
import type { BridgeProcess } from "./process.ts";

/** How this process becomes the hub. */
export interface BecomeHubOptions {
  /** Serve the other sessions over the socket. */
  serve: boolean;
  /** Why this process may not log in yet (another holds the bot, no socket to share it). */
  blocked?: string;
  /** Taking over from a hub that ended: resume its gateway session where possible. */
  takeover?: boolean;
}

/**
 * Starts the hub in this process, links this process's session to it in
 * memory, serves the socket if asked, and logs in to Discord once Claude
 * Code has its `initialize` answer.
 */
export async function becomeHub(p: BridgeProcess, opts: BecomeHubOptions): Promise<void> {
  p.takingOver = true;
  const [{ startHub }, { AccessStore }] = await Promise.all([
    import("../hub/hub.ts"),
    import("../access/store.ts"),
  ]);
  if (p.shutdown.ending) return;
  const { config, stateDir, session } = p;
  const access = new AccessStore({ stateDir, mode: config.DISCORD_ACCESS_MODE });
  const hub = startHub({ config, access, tools: TOOLS, log, takeover: opts.takeover });
  p.shutdown.hub = hub;
  const pair = memoryLinkPair({ session: SessionFrameSchema, hub: HubFrameSchema }, log);
  hub.attach(pair.hub);
  session.attach(pair.session);
  if (opts.serve) {
    try {
      p.shutdown.server = serveSocketFor(hub, stateDir);
    } catch (err) {
      log(`other sessions cannot reach Discord through this one: ${describeError(err)}`);
    }
  }
  if (opts.blocked) {
    hub.block(opts.blocked);
    return;
  }
  // Claude Code gets its initialize answer before discord.js loads.
  await session.handshakeDone;
  if (!p.shutdown.ending) await hub.login();
}

/** Serves the session socket for `hub`. */
function serveSocketFor(hub: Hub, stateDir: string): SocketServer {
  return serveSocket<SessionFrame, HubFrame>(
    socketPath(stateDir),
    SessionFrameSchema,
    (link) => hub.attach(link),
    log,
  );
}
