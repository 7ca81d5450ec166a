/**
 * The session side: what every Claude Code session runs, whether or not its
 * process holds the Discord connection. It is the MCP server on stdio; tool
 * calls and permission requests go to the hub over a link, and the hub's
 * events and verdicts come back the same way. It never loads discord.js.
 *
 * The link may be replaced at any time (the hub moved to another process):
 * the session then re-introduces itself and re-sends its open permission
 * requests; a tool call in flight when a link drops fails with a clear
 * message rather than being repeated (it may have been sent).
 *
 * @module
 */
import { describeError } from "../log.ts";
import type { SessionLink } from "../link/link.ts";
import { PROTOCOL_VERSION } from "../link/protocol.ts";
import { INSTRUCTIONS } from "../instructions.ts";
import { ChannelServer } from "./mcp_stdio.ts";
import type { PermissionRequest } from "../permission/prompt.ts";
import type { Tool } from "../tools/tool.ts";
import type { SessionIdentity } from "./identity.ts";
import type { DeliveryProblem } from "../diagnose/delivery.ts";
import { createReplyHints } from "../reply_hint.ts";

/** How long a tool call waits for a hub (a takeover takes up to ~5 s). */
const LINK_WAIT_MS = 8_000;
/** Open permission requests remembered for re-sending after a hub change. */
const MAX_OPEN_REQUESTS = 50;

/** Options for {@link startSession}. */
export interface SessionOptions {
  identity: SessionIdentity;
  /** Why this session's Claude Code will (or may) drop channel events. */
  problems?: DeliveryProblem[];
  tools: readonly Tool[];
  log(line: string): void;
  /** Called once when Claude Code goes away (stdin EOF). */
  onEnd(reason: string): void;
  /** Grace period before `handshakeDone` resolves when no client speaks (ms). */
  handshakeGraceMs?: number;
}

/** A running session. */
export interface Session {
  mcp: ChannelServer;
  /** Resolves once the MCP handshake is done (or after a grace period). */
  handshakeDone: Promise<void>;
  /** Uses `link` to reach the hub from now on; introduces the session. */
  attach(link: SessionLink): void;
  /** Called when the current link closes (the role manager finds a new hub). */
  onLinkLost: () => void;
  /** The name the hub gave this session (after the first welcome). */
  name(): string | undefined;
  /** Says goodbye to the hub and closes the MCP server. */
  close(): Promise<void>;
}

/** Starts the MCP server on stdio; the hub is attached later. */
export function startSession(opts: SessionOptions): Session {
  const { log } = opts;
  let link: SessionLink | undefined;
  let name: string | undefined;
  let nextCallId = 1;
  const calls = new Map<number, (out: { text: string; isError: boolean }) => void>();
  const openRequests = new Map<string, PermissionRequest>();
  const linkWaiters = new Set<() => void>();

  const waitForLink = async (): Promise<SessionLink | undefined> => {
    if (link && !link.closed) return link;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, LINK_WAIT_MS);
      function done() {
        clearTimeout(t);
        linkWaiters.delete(done);
        resolve();
      }
      linkWaiters.add(done);
    });
    return link && !link.closed ? link : undefined;
  };

  // Some events remind Claude that only `reply` reaches the user (see reply_hint.ts).
  const hints = createReplyHints();
  const execute = async (tool: string, args: unknown) => {
    const l = await waitForLink();
    if (!l) {
      return {
        text:
          `${tool} failed: no session holds the Discord connection right now (it is moving to another session); try again in a few seconds`,
        isError: true,
      };
    }
    const id = nextCallId++;
    const out = await new Promise<{ text: string; isError: boolean }>((resolve) => {
      calls.set(id, resolve);
      l.send({ t: "tool", id, name: tool, args });
    });
    if (tool === "reply" && !out.isError) hints.replied();
    return out;
  };

  const mcp = new ChannelServer({
    instructions: INSTRUCTIONS,
    tools: opts.tools,
    callTool: execute,
    log,
    onPermissionRequest(req) {
      openRequests.set(req.request_id, req);
      if (openRequests.size > MAX_OPEN_REQUESTS) {
        openRequests.delete(openRequests.keys().next().value!);
      }
      if (link && !link.closed) link.send({ t: "permission", request: req });
    },
  });

  mcp.onclose = () => opts.onEnd("stdin closed");
  const handshakeDone = new Promise<void>((resolve) => {
    mcp.oninitialized = () => resolve();
    const grace = setTimeout(resolve, opts.handshakeGraceMs ?? 750);
    Deno.unrefTimer(grace);
  });
  mcp.start();

  const session: Session = {
    mcp,
    handshakeDone,
    onLinkLost: () => {},
    name: () => name,
    attach(next) {
      const old = link;
      link = next;
      if (old && !old.closed) old.close();
      next.onFrame = (frame) => {
        switch (frame.t) {
          case "welcome":
            if (name !== frame.name) log(`this session is "${frame.name}" on Discord`);
            name = frame.name;
            break;
          case "event":
            mcp.notify("notifications/claude/channel", {
              ...hints.annotate({ content: frame.content, meta: frame.meta }),
            }).catch((err) =>
              log(`could not deliver a message to Claude Code: ${describeError(err)}`)
            );
            break;
          case "verdict":
            openRequests.delete(frame.request_id);
            mcp.notify("notifications/claude/channel/permission", {
              request_id: frame.request_id,
              behavior: frame.behavior,
            }).catch((err) =>
              log(`could not send verdict for ${frame.request_id}: ${describeError(err)}`)
            );
            break;
          case "result": {
            const resolve = calls.get(frame.id);
            calls.delete(frame.id);
            resolve?.({ text: frame.text, isError: frame.isError });
            break;
          }
          case "refused":
            log(`the hub refused this session: ${frame.reason}`);
            next.close();
            break;
        }
      };
      next.onClose = () => {
        if (link !== next) return;
        link = undefined;
        // Calls in flight on the old hub: their outcome is unknown, never repeat them.
        for (const [id, resolve] of calls) {
          resolve({
            text:
              "the call's outcome is unknown: the Discord connection moved to another session while it ran. Check with fetch_messages before retrying.",
            isError: true,
          });
          calls.delete(id);
        }
        session.onLinkLost();
      };
      next.send({
        t: "hello",
        v: PROTOCOL_VERSION,
        sessionId: opts.identity.sessionId,
        name: opts.identity.name,
        project: opts.identity.project,
        pid: Deno.pid,
        problems: opts.problems ?? [],
      });
      for (const req of openRequests.values()) next.send({ t: "permission", request: req });
      for (const wake of [...linkWaiters]) wake();
    },
    async close() {
      const l = link;
      link = undefined;
      if (l && !l.closed) {
        l.send({ t: "bye" });
        // Let the goodbye leave before the link closes.
        await new Promise((r) => setTimeout(r, 20));
        l.close();
      }
      await mcp.close();
    },
  };
  return session;
}
