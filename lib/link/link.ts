/**
 * A link: one end of the session ⇄ hub connection, carrying validated
 * protocol frames. Two kinds exist, with the same behaviour: an in-memory
 * pair (both roles in one process) and a Unix socket (see `socket.ts`).
 *
 * @module
 */
import type { z } from "zod";
import { decodeFrame, encodeFrame, type HubFrame, type SessionFrame } from "./protocol.ts";

/** One end of a link: sends `Out` frames, receives `In` frames. */
export interface Link<In, Out> {
  /** Queues a frame; frames arrive in order. Sending on a closed link does nothing. */
  send(frame: Out): void;
  /** Called once per valid received frame, in order. */
  onFrame: (frame: In) => void;
  /** Called once when the link closes, from either side. */
  onClose: () => void;
  close(): void;
  readonly closed: boolean;
}

/** The session's end of a link. */
export type SessionLink = Link<HubFrame, SessionFrame>;
/** The hub's end of a link. */
export type HubLink = Link<SessionFrame, HubFrame>;

/**
 * A connected in-memory pair. Each frame goes through the same encoding and
 * schema as on the socket, asynchronously, so one process behaves exactly
 * like two.
 */
export function memoryLinkPair(
  schemas: { session: z.ZodType<SessionFrame>; hub: z.ZodType<HubFrame> },
  log: (line: string) => void = () => {},
): { session: SessionLink; hub: HubLink } {
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    queueMicrotask(() => {
      session.onClose();
      hub.onClose();
    });
  };
  const deliver = <T>(line: string, schema: z.ZodType<T>, to: { onFrame: (f: T) => void }) => {
    queueMicrotask(() => {
      if (closed) return;
      const d = decodeFrame(line.trimEnd(), schema);
      if (d.ok) to.onFrame(d.frame);
      else log(`link: dropped a malformed frame: ${d.error}`);
    });
  };
  const session: SessionLink = {
    send: (f) => closed || deliver(encodeFrame(f), schemas.session, hub),
    onFrame: () => {},
    onClose: () => {},
    close,
    get closed() {
      return closed;
    },
  };
  const hub: HubLink = {
    send: (f) => closed || deliver(encodeFrame(f), schemas.hub, session),
    onFrame: () => {},
    onClose: () => {},
    close,
    get closed() {
      return closed;
    },
  };
  return { session, hub };
}
