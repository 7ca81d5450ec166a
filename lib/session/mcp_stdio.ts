/**
 * The session's MCP server on stdio. The protocol is the MCP SDK's: its
 * revisions (never newer than 2025-11-25 in SDK 1.x), its request schemas for
 * `initialize` and `tools/call`, its error codes, all imported from
 * `@modelcontextprotocol/sdk/types.js`. Only the SDK's `Server` class and its
 * stdio transport are not used: every Claude Code session that enables the
 * channel spawns a process, and loading `server/index.js` (Ajv and the
 * capability machinery) measured +12 MB RSS and ~55 ms over zod alone, where
 * `types.js` costs +5 MB and ~15 ms, in every session, for features the
 * channel never uses. It speaks
 * exactly what Claude Code uses: `initialize`, `ping`, `tools/list`,
 * `tools/call`, the channel notifications out and `permission_request` in.
 * Anything else gets the JSON-RPC answer the SDK gives (-32601 for an unknown
 * method, so a `server/discover` probe is answered correctly).
 *
 * Lines are read and written as the SDK's stdio transport does: one JSON
 * message per line; writes are synchronous (stdout's backpressure holds the
 * process back rather than letting it buffer without bound).
 *
 * @module
 */
import {
  CallToolRequestParamsSchema,
  ErrorCode,
  InitializeRequestParamsSchema,
  LATEST_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { PermissionRequestSchema } from "../permission/prompt.ts";
import type { PermissionRequest } from "../permission/prompt.ts";
import type { Tool } from "../tools/tool.ts";
import { formatZodError } from "../tools/run.ts";

/** The server's name and version as shown in Claude Code's /mcp. */
export const SERVER_INFO = { name: "discord", version: "0.1.0" };

/** The revisions the SDK accepts, newest first (others are answered with the newest). */
export { SUPPORTED_PROTOCOL_VERSIONS };

/** What the server declares: tools, and the channel with permission relay. */
export const CAPABILITIES = {
  tools: {},
  experimental: {
    "claude/channel": {},
    // Declaring permission relay lets anyone who can answer through this
    // channel approve tool calls. It is safe only because EVERY inbound
    // path (messages, text verdicts, button clicks) is gated on the
    // author's user ID against allowFrom, never on the room.
    "claude/channel/permission": {},
  },
};

/** The longest line accepted (as the SDK's transport: 10 MiB). */
const MAX_LINE = 10 * 1024 * 1024;

/** JSON-RPC error codes used here, as the SDK names them. */
const METHOD_NOT_FOUND = ErrorCode.MethodNotFound;
const INVALID_PARAMS = ErrorCode.InvalidParams;
const INTERNAL_ERROR = ErrorCode.InternalError;

/** Options for {@link ChannelServer}. */
export interface ChannelServerOptions {
  instructions: string;
  tools: readonly Tool[];
  /** Runs a validated tool call (on the hub). */
  callTool(name: string, args: unknown): Promise<{ text: string; isError: boolean }>;
  onPermissionRequest(req: PermissionRequest): void;
  log(line: string): void;
  input?: ReadableStream<Uint8Array>;
  output?: { writeSync(p: Uint8Array): number };
}

type Json = Record<string, unknown>;

/** The MCP server of one session. */
export class ChannelServer {
  /** Called once when the client sends `notifications/initialized`. */
  oninitialized?: () => void;
  /** Called once when stdin ends (Claude Code went away). */
  onclose?: () => void;
  #opts: ChannelServerOptions;
  #output: { writeSync(p: Uint8Array): number };
  #encoder = new TextEncoder();
  #closed = false;
  #reader: ChunkReader | undefined;
  #listing: Json[] | undefined;

  constructor(opts: ChannelServerOptions) {
    this.#opts = opts;
    this.#output = opts.output ?? Deno.stdout;
  }

  /** Starts reading stdin. */
  start(): void {
    this.#reader = this.#opts.input ? this.#opts.input.getReader() : stdinReader();
    void this.#readLoop(this.#reader);
  }

  /** Pushes a notification to Claude Code. */
  notify(method: string, params: Json): Promise<void> {
    return this.#send({ jsonrpc: "2.0", method, params });
  }

  /** Stops reading; `onclose` is not called. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#reader?.cancel().catch(() => {});
  }

  #send(message: Json): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("the MCP connection is closed"));
    try {
      const bytes = this.#encoder.encode(JSON.stringify(message) + "\n");
      let off = 0;
      while (off < bytes.length) {
        const n = this.#output.writeSync(off === 0 ? bytes : bytes.subarray(off));
        if (n <= 0) throw new Error("stdout accepted no bytes");
        off += n;
      }
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async #readLoop(reader: ChunkReader): Promise<void> {
    const decoder = new TextDecoder();
    let pending = "";
    let skipping = false;
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        let text = decoder.decode(value, { stream: true });
        let nl = text.indexOf("\n");
        while (nl !== -1) {
          const line = pending + text.slice(0, nl);
          pending = "";
          if (skipping) skipping = false;
          else if (line.length > MAX_LINE) this.#opts.log("skipped an over-long MCP line");
          else this.#dispatch(line);
          if (this.#closed) return;
          text = text.slice(nl + 1);
          nl = text.indexOf("\n");
        }
        if (skipping) continue;
        pending += text;
        if (pending.length > MAX_LINE) {
          this.#opts.log("skipped an over-long MCP line");
          pending = "";
          skipping = true;
        }
      }
      pending += decoder.decode();
      if (!skipping && pending.trim() && !this.#closed) this.#dispatch(pending);
    } catch (err) {
      if (!this.#closed) this.#opts.log(`MCP transport: ${err}`);
    }
    if (!this.#closed) {
      this.#closed = true;
      this.onclose?.();
    }
  }

  #dispatch(raw: string): void {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (!line.trim()) return;
    let msg: Json;
    try {
      msg = JSON.parse(line);
    } catch {
      this.#opts.log(`MCP transport: ignored an MCP line that is not JSON: ${line.slice(0, 200)}`);
      return;
    }
    if (typeof msg !== "object" || msg === null || Array.isArray(msg) || msg.jsonrpc !== "2.0") {
      this.#opts.log(`MCP transport: ignored a line that is not a JSON-RPC message`);
      return;
    }
    const id = msg.id;
    const hasId = typeof id === "string" || typeof id === "number";
    if (typeof msg.method !== "string") return; // a response: this server sends no requests
    const params =
      (typeof msg.params === "object" && msg.params !== null ? msg.params : {}) as Json;
    if (!hasId) {
      this.#notification(msg.method, params);
      return;
    }
    this.#request(msg.method, params).then(
      (result) => this.#send({ jsonrpc: "2.0", id, result }),
      (err: RpcError | Error) =>
        this.#send({
          jsonrpc: "2.0",
          id,
          error: {
            code: err instanceof RpcError ? err.code : INTERNAL_ERROR,
            message: err.message || "Internal error",
          },
        }),
    ).catch((err) => this.#opts.log(`could not answer an MCP request: ${err}`));
  }

  #notification(method: string, params: Json): void {
    if (method === "notifications/initialized") {
      this.oninitialized?.();
    } else if (method === "notifications/claude/channel/permission_request") {
      const parsed = PermissionRequestSchema.safeParse(params);
      if (!parsed.success) {
        this.#opts.log(`ignored a malformed permission_request: ${formatZodError(parsed.error)}`);
        return;
      }
      this.#opts.onPermissionRequest(parsed.data);
    }
    // Other notifications (cancelled, progress, …) need nothing here.
  }

  async #request(method: string, params: Json): Promise<Json> {
    switch (method) {
      case "initialize": {
        const parsed = InitializeRequestParamsSchema.safeParse(params);
        if (!parsed.success) {
          throw new RpcError(INVALID_PARAMS, `invalid initialize: ${formatZodError(parsed.error)}`);
        }
        const asked = parsed.data.protocolVersion;
        // As the SDK's server negotiates: the client's revision when known, else the newest.
        const protocolVersion = SUPPORTED_PROTOCOL_VERSIONS.includes(asked)
          ? asked
          : LATEST_PROTOCOL_VERSION;
        return {
          protocolVersion,
          capabilities: CAPABILITIES,
          serverInfo: SERVER_INFO,
          instructions: this.#opts.instructions,
        };
      }
      case "ping":
        return {};
      case "tools/list":
        return { tools: this.#listing ??= this.#opts.tools.map(listTool) };
      case "tools/call":
        return await this.#callTool(params);
      default:
        throw new RpcError(METHOD_NOT_FOUND, "Method not found");
    }
  }

  async #callTool(params: Json): Promise<Json> {
    const call = CallToolRequestParamsSchema.safeParse(params);
    if (!call.success) {
      throw new RpcError(INVALID_PARAMS, `invalid tools/call: ${formatZodError(call.error)}`);
    }
    const name = call.data.name;
    const fail = (text: string) => ({ content: [{ type: "text", text }], isError: true });
    const tool = this.#opts.tools.find((t) => t.name === name);
    if (!tool) {
      return fail(
        `unknown tool "${name}"; available: ${this.#opts.tools.map((t) => t.name).join(", ")}`,
      );
    }
    const parsed = tool.input.safeParse(call.data.arguments ?? {});
    if (!parsed.success) {
      return fail(`invalid arguments for ${name}: ${formatZodError(parsed.error)}`);
    }
    const out = await this.#opts.callTool(name, parsed.data);
    return { content: [{ type: "text", text: out.text }], isError: out.isError };
  }
}

/** What the read loop needs of a reader: chunks until done, and a way to stop. */
interface ChunkReader {
  read(): Promise<{ done: boolean; value?: Uint8Array }>;
  cancel(): Promise<void>;
}

/**
 * Reads stdin with plain `read` calls: `Deno.stdin.readable` sets up the web
 * streams machinery first, ~4 ms of every session's start-up before it can
 * answer `initialize`. Each chunk is decoded before the next read, so one
 * buffer serves them all.
 */
function stdinReader(): ChunkReader {
  const buf = new Uint8Array(64 * 1024);
  let cancelled = false;
  return {
    async read() {
      const n = cancelled ? null : await Deno.stdin.read(buf);
      return n === null || cancelled ? { done: true } : { done: false, value: buf.subarray(0, n) };
    },
    cancel() {
      cancelled = true;
      return Promise.resolve();
    },
  };
}

class RpcError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

function listTool(t: Tool): Json {
  const json = z.toJSONSchema(t.input, { io: "input" }) as Json;
  delete json.$schema;
  return { name: t.name, description: t.description, inputSchema: { ...json, type: "object" } };
}
