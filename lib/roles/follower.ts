/**
 * The session-only role: this process reaches Discord through the hub of
 * another, over the socket, and finds the new hub after each takeover.
 *
 * @module
 */
import { type HubFrame, HubFrameSchema, type SessionFrame } from "../link/protocol.ts";
import { connectSocket, socketPath } from "../link/socket.ts";
import { log } from "../core/log.ts";
import type { BridgeProcess } from "./process.ts";

/** How often a session looks for a hub while none answers on the socket (ms). */
export const RECONNECT_MS = 100;

/**
 * Links the session to the hub on the socket, retrying every
 * {@link RECONNECT_MS} until one answers, and again whenever the link is
 * lost; stops once the process ends or becomes the hub itself.
 */
export function followHub(p: BridgeProcess): void {
  const path = socketPath(p.stateDir);
  let attempt = 0;
  const tryConnect = async () => {
    if (p.shutdown.ending || p.takingOver) return;
    try {
      const link = await connectSocket<HubFrame, SessionFrame>(path, HubFrameSchema, log);
      if (p.shutdown.ending || p.takingOver) return link.close();
      attempt = 0;
      p.session.attach(link);
    } catch {
      if (attempt++ === 0) log("waiting for the session that holds the Discord bot to answer");
      setTimeout(tryConnect, RECONNECT_MS);
    }
  };
  p.session.onLinkLost = () => void tryConnect();
  void tryConnect();
}
