/**
 * A small fake of the Anthropic Messages API for driving the real Claude Code
 * offline: `POST /v1/messages` (SSE when `stream: true`, JSON otherwise) and
 * `POST /v1/messages/count_tokens`. Every request body is recorded so a test
 * can assert on exactly what the model was sent.
 *
 * What the model answers is decided by the test's {@link Script} from the LAST
 * user message of a main-loop request (one that carries tools): a new
 * `<channel …>` event, a `tool_result`, or text typed in the terminal. Side
 * requests without tools (titles, summaries, quota probes) get a short text.
 *
 * @module
 */

/** One content block of a Messages API message. */
export interface Block {
  type: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
  tool_use_id?: string;
  content?: string | Block[];
  is_error?: boolean;
}

/** A message of a Messages API request. */
export interface ApiMessage {
  role: "user" | "assistant";
  content: string | Block[];
}

/** The parts of a `POST /v1/messages` body the tests look at. */
export interface MessagesRequest {
  model: string;
  stream?: boolean;
  system?: string | Block[];
  messages: ApiMessage[];
  tools?: { name: string; description?: string; input_schema?: unknown }[];
  [k: string]: unknown;
}

/** What the fake model does in one turn. */
export type Turn =
  | { text: string }
  | { tool: string; input: Record<string, unknown>; text?: string };

/** What the last user message of a main-loop request holds. */
export interface LastUser {
  /** The whole request. */
  request: MessagesRequest;
  /** The text blocks of the last user message, joined by newlines. */
  text: string;
  /** Its `tool_result` blocks, if any. */
  toolResults: { toolUseId: string; text: string; isError: boolean }[];
}

/** Decides the model's turn; `undefined` ends the turn with a short text. */
export type Script = (last: LastUser) => Turn | undefined;

/** A running fake. */
export interface FakeAnthropic {
  /** `http://127.0.0.1:PORT`, for `ANTHROPIC_BASE_URL`. */
  readonly url: string;
  /** Every `POST /v1/messages` body, in arrival order. */
  readonly requests: MessagesRequest[];
  /** Every `POST /v1/messages/count_tokens` body, in arrival order. */
  readonly countRequests: unknown[];
  /** Main-loop requests only (those that carry tools). */
  mainRequests(): MessagesRequest[];
  /** Replaces the script. */
  setScript(script: Script): void;
  /** Paths of every HTTP request (including ones it answers 404). */
  readonly paths: string[];
  close(): Promise<void>;
}

/** The text of a content field (string or blocks), text blocks and nested tool results included. */
export function textOf(content: string | Block[] | undefined): string {
  if (content === undefined) return "";
  if (typeof content === "string") return content;
  return content.map((b) =>
    b.type === "text" ? b.text ?? "" : b.type === "tool_result" ? textOf(b.content) : ""
  ).join("\n");
}

/** The system prompt as one string. */
export function systemText(req: MessagesRequest): string {
  return textOf(req.system);
}

/** The whole request as the model reads it: system, every message, every tool description. */
export function everythingSent(req: MessagesRequest): string {
  return [
    systemText(req),
    ...req.messages.map((m) => textOf(m.content)),
    ...(req.tools ?? []).map((t) => `${t.name}: ${t.description ?? ""}`),
  ].join("\n");
}

/** Reads the last user message of a request. */
export function lastUser(req: MessagesRequest): LastUser {
  const msg = [...req.messages].reverse().find((m) => m.role === "user");
  const blocks: Block[] = typeof msg?.content === "string"
    ? [{ type: "text", text: msg.content }]
    : msg?.content ?? [];
  return {
    request: req,
    text: blocks.filter((b) => b.type === "text").map((b) => b.text ?? "").join("\n"),
    toolResults: blocks.filter((b) => b.type === "tool_result").map((b) => ({
      toolUseId: b.tool_use_id ?? "",
      text: textOf(b.content),
      isError: b.is_error === true,
    })),
  };
}

let nextId = 0;
const newId = (prefix: string) =>
  `${prefix}_${Date.now().toString(36)}${(nextId++).toString(36).padStart(4, "0")}`;

/** The assistant content blocks of a turn. */
function blocksOf(turn: Turn): Block[] {
  const blocks: Block[] = [];
  if (turn.text) blocks.push({ type: "text", text: turn.text });
  if ("tool" in turn) {
    blocks.push({ type: "tool_use", id: newId("toolu"), name: turn.tool, input: turn.input });
  }
  return blocks;
}

/** A non-streaming Messages API answer. */
function messageJson(model: string, turn: Turn): Record<string, unknown> {
  return {
    id: newId("msg"),
    type: "message",
    role: "assistant",
    model,
    content: blocksOf(turn),
    stop_reason: "tool" in turn ? "tool_use" : "end_turn",
    stop_sequence: null,
    usage: { input_tokens: 10, output_tokens: 5 },
  };
}

/** The same answer as a server-sent event stream. */
function messageSse(model: string, turn: Turn): string {
  const msg = messageJson(model, turn);
  const events: [string, unknown][] = [[
    "message_start",
    { type: "message_start", message: { ...msg, content: [], stop_reason: null } },
  ]];
  (msg.content as Block[]).forEach((b, index) => {
    if (b.type === "text") {
      events.push(["content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "text", text: "" },
      }]);
      events.push(["content_block_delta", {
        type: "content_block_delta",
        index,
        delta: { type: "text_delta", text: b.text },
      }]);
    } else {
      events.push(["content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "tool_use", id: b.id, name: b.name, input: {} },
      }]);
      events.push(["content_block_delta", {
        type: "content_block_delta",
        index,
        delta: { type: "input_json_delta", partial_json: JSON.stringify(b.input) },
      }]);
    }
    events.push(["content_block_stop", { type: "content_block_stop", index }]);
  });
  events.push(["message_delta", {
    type: "message_delta",
    delta: { stop_reason: msg.stop_reason, stop_sequence: null },
    usage: { output_tokens: 5 },
  }]);
  events.push(["message_stop", { type: "message_stop" }]);
  return events.map(([e, d]) => `event: ${e}\ndata: ${JSON.stringify(d)}\n\n`).join("");
}

/** Starts the fake on an ephemeral 127.0.0.1 port. */
export function startFakeAnthropic(script: Script = () => undefined): FakeAnthropic {
  let current = script;
  const requests: MessagesRequest[] = [];
  const paths: string[] = [];
  const countRequests: unknown[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const path = new URL(req.url).pathname;
      paths.push(`${req.method} ${path}`);
      if (req.method === "POST" && path === "/v1/messages/count_tokens") {
        countRequests.push(await req.json().catch(() => null));
        return Response.json({ input_tokens: 100 });
      }
      if (req.method !== "POST" || path !== "/v1/messages") {
        await req.body?.cancel();
        return Response.json({ type: "error", error: { type: "not_found_error", message: path } }, {
          status: 404,
        });
      }
      const body = await req.json() as MessagesRequest;
      requests.push(body);
      let turn: Turn = { text: "ok" };
      if (body.tools?.length) {
        try {
          turn = current(lastUser(body)) ?? { text: "Done." };
        } catch (err) {
          turn = { text: `fake model script failed: ${err}` };
        }
      }
      if (body.stream) {
        return new Response(messageSse(body.model, turn), {
          headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
        });
      }
      return Response.json(messageJson(body.model, turn));
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    countRequests,
    paths,
    mainRequests: () => requests.filter((r) => r.tools?.length),
    setScript(s) {
      current = s;
    },
    close: () => server.shutdown(),
  };
}
