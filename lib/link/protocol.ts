/**
 * The one wire protocol between the session side (MCP server, tools,
 * permission requests) and the hub (the Discord connection). Both sides
 * speak it the same way whether they live in one process (an in-memory
 * link) or talk over the Unix socket `<stateDir>/sessions.sock`: one JSON
 * object per line, each validated by these schemas on arrival.
 *
 * The protocol carries no token and no access configuration. A session can
 * only: introduce itself, run a tool, ask a permission question and say
 * goodbye. It cannot send a verdict, read another session's events, or
 * address another session: the hub decides everything on its side.
 *
 * @module
 */
import { z } from "zod";
import { PermissionRequestSchema } from "../permission/prompt.ts";

/** Bumped when a frame changes incompatibly; a hub refuses other versions. */
export const PROTOCOL_VERSION = 1;

/** Longest frame accepted, in bytes (a tool call's text, an event's content). */
export const MAX_FRAME_BYTES = 1_000_000;

/** Who a session is: sent once, first, on every (re)connection. */
export const HelloSchema = z.object({
  t: z.literal("hello"),
  v: z.literal(PROTOCOL_VERSION),
  /** `CLAUDE_CODE_SESSION_ID` when known (stable across `claude --resume`), else random. */
  sessionId: z.string().min(1).max(200),
  /** The name the session would like (the project's base name); the hub makes it unique. */
  name: z.string().min(1).max(64),
  /** The project directory, shown by `/sessions`. */
  project: z.string().max(4096),
  pid: z.number().int().nonnegative(),
  /**
   * Why this session's Claude Code will (or may) drop channel events
   * (lib/diagnose/delivery.ts): the hub then tells approvers once instead of
   * showing typing forever.
   */
  problems: z.array(z.object({
    id: z.string().max(200),
    certain: z.boolean(),
    what: z.string().max(2000),
    fix: z.string().max(2000),
  })).max(10).default([]),
});

/** Run one MCP tool on the hub (which applies the outbound gate). */
export const ToolCallSchema = z.object({
  t: z.literal("tool"),
  id: z.number().int().nonnegative(),
  name: z.string().min(1).max(100),
  args: z.unknown(),
});

/** Relay one of Claude Code's permission requests to the approvers. */
export const PermissionFrameSchema = z.object({
  t: z.literal("permission"),
  request: PermissionRequestSchema,
});

/** The session is ending (its Claude Code session closed). */
export const ByeSchema = z.object({ t: z.literal("bye") });

/** Every frame a session may send. */
export const SessionFrameSchema = z.discriminatedUnion("t", [
  HelloSchema,
  ToolCallSchema,
  PermissionFrameSchema,
  ByeSchema,
]);
/** A frame from a session to the hub. */
export type SessionFrame = z.infer<typeof SessionFrameSchema>;

/** The hub accepted the session, under this (unique) name. */
export const WelcomeSchema = z.object({
  t: z.literal("welcome"),
  name: z.string().min(1).max(64),
});

/** A Discord message for this session, as the `notifications/claude/channel` params. */
export const EventFrameSchema = z.object({
  t: z.literal("event"),
  content: z.string(),
  meta: z.record(z.string(), z.string()),
});

/** An approver's verdict on one of this session's permission requests. */
export const VerdictFrameSchema = z.object({
  t: z.literal("verdict"),
  request_id: z.string(),
  behavior: z.enum(["allow", "deny"]),
});

/** The outcome of a tool call. */
export const ToolResultSchema = z.object({
  t: z.literal("result"),
  id: z.number().int().nonnegative(),
  text: z.string(),
  isError: z.boolean(),
});

/** The hub refuses the session (e.g. another protocol version); the link then closes. */
export const RefusedSchema = z.object({ t: z.literal("refused"), reason: z.string() });

/** Every frame the hub may send. */
export const HubFrameSchema = z.discriminatedUnion("t", [
  WelcomeSchema,
  EventFrameSchema,
  VerdictFrameSchema,
  ToolResultSchema,
  RefusedSchema,
]);
/** A frame from the hub to a session. */
export type HubFrame = z.infer<typeof HubFrameSchema>;

/** Encodes a frame as one NDJSON line. */
export function encodeFrame(frame: SessionFrame | HubFrame): string {
  return JSON.stringify(frame) + "\n";
}

/**
 * Parses one received line with `schema`; a malformed or unknown frame is an
 * error string, never an exception, so a bad peer cannot crash the reader.
 */
export function decodeFrame<T>(
  line: string,
  schema: z.ZodType<T>,
): { ok: true; frame: T } | { ok: false; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, error: "not JSON" };
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    return {
      ok: false,
      error: parsed.error.issues.map((i) => `${i.path.join(".") || "frame"}: ${i.message}`)
        .join("; "),
    };
  }
  return { ok: true, frame: parsed.data };
}
