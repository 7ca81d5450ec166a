/**
 * The MCP adapter: declares the channel capabilities, lists and runs tools,
 * pushes channel events and permission verdicts, and receives permission
 * requests. The SDK lives only here.
 *
 * @module
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  type CallToolRequest,
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import type { jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js";
import { z } from "zod";
import { INSTRUCTIONS } from "../instructions.ts";
import { type PermissionRequest, PermissionRequestSchema } from "../permission/prompt.ts";
import { describeError } from "../log.ts";
import type { ChannelEvent } from "../notification.ts";
import { createReplyHints } from "../reply_hint.ts";
import { type Tool, type ToolContext, ToolError } from "../tools/tool.ts";

/** The server's name and version as shown in Claude Code's /mcp. */
export const SERVER_INFO = { name: "discord", version: "0.1.0" };

export type { PermissionRequest };

const PermissionRequestNotification = z.object({
  method: z.literal("notifications/claude/channel/permission_request"),
  params: z.looseObject({
    request_id: z.unknown(),
    tool_name: z.unknown(),
    description: z.unknown(),
    input_preview: z.unknown(),
  }),
});

/** A JSON Schema validator for a server that never elicits: any use is a bug, and says so. */
const NO_ELICITATION: jsonSchemaValidator = {
  getValidator() {
    throw new Error("this server sends no elicitation requests, so it validates no answers");
  },
};

/** Options for {@link createMcpServer}. */
export interface McpServerOptions {
  tools: readonly Tool[];
  context: ToolContext;
  onPermissionRequest(req: PermissionRequest): void;
  log(line: string): void;
}

/** The MCP side of the bridge. */
export interface McpBridge {
  server: Server;
  /** Pushes one inbound Discord message into the session. */
  sendEvent(event: ChannelEvent): Promise<void>;
  /** Answers a permission request; Claude Code applies the first answer it gets. */
  sendVerdict(requestId: string, behavior: "allow" | "deny"): Promise<void>;
}

/** Renders zod issues as `field: problem; field: problem`. */
export function formatZodError(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join(".") : "arguments"}: ${i.message}`)
    .join("; ");
}

/** Creates the MCP server (not yet connected to a transport). */
export function createMcpServer(opts: McpServerOptions): McpBridge {
  const server = new Server(SERVER_INFO, {
    capabilities: {
      tools: {},
      experimental: {
        "claude/channel": {},
        // Declaring permission relay lets anyone who can answer through this
        // channel approve tool calls. It is safe only because EVERY inbound
        // path (messages, text verdicts, button clicks) is gated on the
        // author's user ID against allowFrom, never on the room.
        "claude/channel/permission": {},
      },
    },
    instructions: INSTRUCTIONS,
    // The SDK builds an Ajv instance by default, only to validate answers to
    // elicitation requests, which this server never sends. Not building it
    // saves a few ms and some memory before the initialize answer.
    jsonSchemaValidator: NO_ELICITATION,
  });

  const byName = new Map(opts.tools.map((t) => [t.name, t]));
  // Some events remind Claude that only `reply` reaches the user (see reply_hint.ts).
  const hints = createReplyHints();
  // Rendered on the first tools/list, not before the initialize answer.
  let listed: { name: string; description: string; inputSchema: object }[] | undefined;
  const listTools = () =>
    listed ??= opts.tools.map((t) => ({
      name: t.name,
      description: t.description,
      inputSchema: toInputSchema(t.input),
    }));

  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: listTools() }));
  // Handler types are spelled out: the SDK's zod-compat types do not infer under Deno.
  server.setRequestHandler(
    CallToolRequestSchema,
    async (req: CallToolRequest): Promise<CallToolResult> => {
      const name = req.params.name;
      const tool = byName.get(name);
      const fail = (text: string) => ({
        content: [{ type: "text" as const, text }],
        isError: true,
      });
      if (!tool) return fail(`unknown tool "${name}"; available: ${[...byName.keys()].join(", ")}`);
      const parsed = tool.input.safeParse(req.params.arguments ?? {});
      if (!parsed.success) {
        return fail(
          `invalid arguments for ${name}: ${formatZodError(parsed.error)}`,
        );
      }
      try {
        const text = await tool.run(opts.context, parsed.data);
        if (name === "reply") hints.replied();
        return { content: [{ type: "text" as const, text }] };
      } catch (err) {
        if (!(err instanceof ToolError)) opts.log(`tool ${name} failed: ${describeError(err)}`);
        return fail(`${name} failed: ${describeError(err)}`);
      }
    },
  );

  server.setNotificationHandler(
    PermissionRequestNotification,
    (note: z.infer<typeof PermissionRequestNotification>) => {
      const parsed = PermissionRequestSchema.safeParse(note.params);
      if (!parsed.success) {
        opts.log(`ignored a malformed permission_request: ${formatZodError(parsed.error)}`);
        return;
      }
      opts.onPermissionRequest(parsed.data);
    },
  );

  return {
    server,
    sendEvent: (event) =>
      server.notification({
        method: "notifications/claude/channel",
        params: { ...hints.annotate(event) },
      }),
    sendVerdict: (request_id, behavior) =>
      server.notification({
        method: "notifications/claude/channel/permission",
        params: { request_id, behavior },
      }),
  };
}

function toInputSchema(schema: z.ZodType): { type: "object"; [k: string]: unknown } {
  const json = z.toJSONSchema(schema, { io: "input" }) as Record<string, unknown>;
  delete json.$schema;
  return { ...json, type: "object" };
}
