/**
 * The link over a Unix domain socket: `<stateDir>/sessions.sock`, served by
 * the process that holds the instance lock (the hub). The state directory is
 * 0700 and the socket 0600, so only the user's own processes can connect; it
 * carries no token.
 *
 * Frames are NDJSON lines; a line longer than {@link MAX_FRAME_BYTES} or one
 * that fails its schema closes that connection (a well-behaved peer never
 * sends one), without disturbing any other.
 *
 * @module
 */
import type { z } from "zod";
import type { Link } from "./link.ts";
import { decodeFrame, encodeFrame, MAX_FRAME_BYTES } from "./protocol.ts";

/** The socket's file name inside the state directory. */
export const SOCKET_NAME = "sessions.sock";

/** `<stateDir>/sessions.sock`. */
export function socketPath(stateDir: string): string {
  return `${stateDir.replace(/\/+$/, "")}/${SOCKET_NAME}`;
}

/** Whether this platform has Unix domain sockets usable by Deno. */
export function unixSocketsAvailable(os: string = Deno.build.os): boolean {
  return os !== "windows";
}

/** Wraps a connected socket as a link end. */
export function connLink<In, Out>(
  conn: Deno.Conn,
  inSchema: z.ZodType<In>,
  log: (line: string) => void,
): Link<In, Out> {
  const encoder = new TextEncoder();
  let closed = false;
  let writing: Promise<void> = Promise.resolve();
  const link: Link<In, Out> = {
    send(frame) {
      if (closed) return;
      const bytes = encoder.encode(encodeFrame(frame as never));
      writing = writing.then(async () => {
        let off = 0;
        while (off < bytes.length && !closed) off += await conn.write(bytes.subarray(off));
      }).catch(() => link.close());
    },
    onFrame: () => {},
    onClose: () => {},
    close() {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch {
        // already closed
      }
      link.onClose();
    },
    get closed() {
      return closed;
    },
  };
  void (async () => {
    const decoder = new TextDecoder();
    const buf = new Uint8Array(64 * 1024);
    let pending = "";
    try {
      while (!closed) {
        const n = await conn.read(buf);
        if (n === null) break;
        pending += decoder.decode(buf.subarray(0, n), { stream: true });
        let nl: number;
        while ((nl = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (!line.trim()) continue;
          const d = decodeFrame(line, inSchema);
          if (!d.ok) {
            log(`link: closing a connection that sent a malformed frame: ${d.error}`);
            link.close();
            return;
          }
          if (!closed) link.onFrame(d.frame);
        }
        if (pending.length > MAX_FRAME_BYTES) {
          log("link: closing a connection that sent an oversized frame");
          break;
        }
      }
    } catch {
      // reset by peer: same as EOF
    }
    link.close();
  })();
  return link;
}

/** A listening socket; `close` also removes the socket file. */
export interface SocketServer {
  close(): void;
}

/**
 * Serves the socket. The caller must hold the instance lock: only then is a
 * socket file left by a dead hub (SIGKILL leaves it behind) safe to remove.
 */
export function serveSocket<In, Out>(
  path: string,
  inSchema: z.ZodType<In>,
  onLink: (link: Link<In, Out>) => void,
  log: (line: string) => void,
): SocketServer {
  try {
    Deno.removeSync(path);
  } catch {
    // none left behind
  }
  const listener = Deno.listen({ transport: "unix", path });
  // The directory (0700) already keeps others out; the mode says so twice.
  try {
    Deno.chmodSync(path, 0o600);
  } catch {
    // not supported here
  }
  let closed = false;
  void (async () => {
    try {
      for await (const conn of listener) onLink(connLink<In, Out>(conn, inSchema, log));
    } catch (err) {
      if (!closed) log(`link: the session socket stopped accepting: ${err}`);
    }
  })();
  return {
    close() {
      if (closed) return;
      closed = true;
      try {
        listener.close();
      } catch {
        // already closed
      }
      try {
        Deno.removeSync(path);
      } catch {
        // already gone
      }
    },
  };
}

/** Connects to a hub's socket; rejects when no hub listens there. */
export async function connectSocket<In, Out>(
  path: string,
  inSchema: z.ZodType<In>,
  log: (line: string) => void,
): Promise<Link<In, Out>> {
  const conn = await Deno.connect({ transport: "unix", path });
  return connLink<In, Out>(conn, inSchema, log);
}
