/**
 * Test harness: spawns the bridge exactly as Claude Code does (the command in
 * `.mcp.json`), talks MCP to it over real stdio with the SDK's client, and
 * records what Claude Code would observe: notifications and stderr.
 *
 * @module
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/**
 * The launch command registered in `.mcp.json` for the `discord` server.
 * `BRIDGE_LAUNCH=direct` runs the suite against `deno run -A main.ts`
 * instead, the way independent checks start the bridge.
 */
export function mcpJsonCommand(): { command: string; args: string[] } {
  if (Deno.env.get("BRIDGE_LAUNCH") === "direct") {
    return { command: "deno", args: ["run", "--quiet", "-A", "main.ts"] };
  }
  return mcpJsonEntry();
}

/** The `.mcp.json` entry itself, whatever `BRIDGE_LAUNCH` says (for sandbox tests). */
export function mcpJsonEntry(): { command: string; args: string[] } {
  const json = JSON.parse(Deno.readTextFileSync(`${REPO}/.mcp.json`));
  const entry = json.mcpServers.discord;
  return { command: entry.command, args: entry.args ?? [] };
}

/** A notification as Claude Code receives it. */
export interface Notification {
  method: string;
  params?: Record<string, unknown>;
}

/** A running bridge and the MCP client connected to it. */
export interface BridgeUnderTest {
  client: Client;
  transport: StdioClientTransport;
  pid: number;
  notifications: Notification[];
  stderr(): string;
  /** Resolves with the first notification of `method` matching `pred`. */
  waitForNotification(
    method: string,
    pred?: (params: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Calls a tool; returns the text and the error flag. */
  call(name: string, args: Record<string, unknown>): Promise<{ text: string; isError: boolean }>;
  /** Waits until stderr contains `text`. */
  waitForStderr(text: string | RegExp, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Options for {@link startBridge}. */
export interface StartOptions {
  env: Record<string, string>;
  /** Override the launch command (default: the one in `.mcp.json`). */
  command?: { command: string; args: string[] };
  /** Skip the MCP initialize (for raw-protocol tests). */
  connect?: boolean;
}

/** Polls `probe` until it returns a truthy value. */
export async function waitUntil<T>(
  probe: () => T | undefined | null | false,
  timeoutMs = 5000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Spawns the bridge like Claude Code and completes the MCP handshake. */
export async function startBridge(opts: StartOptions): Promise<BridgeUnderTest> {
  const launch = opts.command ?? mcpJsonCommand();
  const transport = new StdioClientTransport({
    command: launch.command,
    args: launch.args,
    cwd: REPO,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "/tmp",
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      NO_COLOR: "1",
      ...opts.env,
    },
    stderr: "pipe",
  });
  let err = "";
  const decoder = new TextDecoder();
  transport.stderr?.on("data", (chunk: Uint8Array) => {
    err += decoder.decode(chunk);
  });
  const notifications: Notification[] = [];
  const client = new Client({ name: "claude-code-test", version: "0.0.0" }, { capabilities: {} });
  client.fallbackNotificationHandler = (n: Notification) => {
    notifications.push(n);
    return Promise.resolve();
  };
  await client.connect(transport);

  const bridge: BridgeUnderTest = {
    client,
    transport,
    pid: transport.pid!,
    notifications,
    stderr: () => err,
    async waitForNotification(method, pred = () => true, timeoutMs = 8000) {
      const n = await waitUntil(
        () => notifications.find((n) => n.method === method && pred(n.params ?? {})),
        timeoutMs,
        `notification ${method}; got: ${JSON.stringify(notifications).slice(0, 500)}; stderr: ${
          err.slice(-800)
        }`,
      );
      return n.params ?? {};
    },
    async call(name, args) {
      const res = await client.callTool({ name, arguments: args }) as CallToolResult;
      const text = (res.content ?? []).map((c: { type: string; text?: string }) => c.text ?? "")
        .join("\n");
      return { text, isError: res.isError === true };
    },
    async waitForStderr(text, timeoutMs = 8000) {
      await waitUntil(
        () => (typeof text === "string" ? err.includes(text) : text.test(err)),
        timeoutMs,
        `stderr to contain ${text}; stderr so far: ${err.slice(-1500)}`,
      );
    },
    async close() {
      await client.close().catch(() => {});
      await transport.close().catch(() => {});
    },
  };
  return bridge;
}

/** Makes a temporary state directory with the given access.json (or none). */
export async function makeStateDir(access?: unknown): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "discord-state-" });
  if (access !== undefined) {
    await Deno.writeTextFile(`${dir}/access.json`, JSON.stringify(access, null, 2));
  }
  return dir;
}

/** Zod shape of a channel event, as Claude Code validates it. */
export const ChannelEventParams = z.object({
  content: z.string(),
  meta: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/), z.string()),
});
