/**
 * A hand-written newline-delimited JSON-RPC client over a child's stdio, as
 * Claude Code speaks MCP to a stdio server. No SDK in the hot path: every
 * stdout line is timestamped with performance.now() the moment its chunk is
 * read, then handed to `onLine`.
 *
 * @module
 */
import { processTree } from "./proc.ts";

/** One parsed stdout line and when it was read. */
export interface Line {
  at: number;
  msg: Record<string, unknown>;
}

/** Options for {@link spawnWire}. */
export interface WireOptions {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Called for every JSON line (responses are also routed to their request). */
  onLine?: (line: Line) => void;
}

/** A spawned child talking JSON lines. */
export interface Wire {
  pid: number;
  /** performance.now() just before spawn. */
  spawnedAt: number;
  /** Sends a request; resolves with the response line. */
  request(method: string, params?: unknown): { sentAt: number; done: Promise<Line> };
  /** Sends a notification. */
  notify(method: string, params?: unknown): void;
  /** Tail of stderr, for diagnostics. */
  stderr(): string;
  /** Lines that were not JSON (should stay 0: stdout is the MCP wire). */
  junkLines(): number;
  /** Closes stdin and waits for the tree to exit (kills it after `graceMs`). */
  close(graceMs?: number): Promise<{ code: number; signal: string | null; forced: boolean }>;
}

const encoder = new TextEncoder();

/** Spawns the command and starts reading its stdout and stderr. */
export function spawnWire(opts: WireOptions): Wire {
  const cmd = new Deno.Command(opts.command, {
    args: opts.args,
    cwd: opts.cwd,
    env: opts.env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const spawnedAt = performance.now();
  const child = cmd.spawn();
  const writer = child.stdin.getWriter();
  let nextId = 1;
  const pending = new Map<number, (line: Line) => void>();
  let err = "";
  let junk = 0;
  let stdinClosed = false;

  (async () => {
    const reader = child.stdout.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      const at = performance.now();
      buf += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!text.trim()) continue;
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(text);
        } catch {
          junk++;
          continue;
        }
        const line = { at, msg };
        if (typeof msg.id === "number" && !("method" in msg)) {
          const resolve = pending.get(msg.id);
          pending.delete(msg.id);
          resolve?.(line);
        }
        opts.onLine?.(line);
      }
    }
  })().catch(() => {});

  (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      err += decoder.decode(chunk, { stream: true });
      if (err.length > 65_536) err = err.slice(-32_768);
    }
  })().catch(() => {});

  const send = (obj: unknown) => {
    if (stdinClosed) return;
    writer.write(encoder.encode(JSON.stringify(obj) + "\n")).catch(() => {});
  };

  return {
    pid: child.pid,
    spawnedAt,
    request(method, params) {
      const id = nextId++;
      const done = new Promise<Line>((resolve) => pending.set(id, resolve));
      const sentAt = performance.now();
      send({ jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) });
      return { sentAt, done };
    },
    notify(method, params) {
      send({ jsonrpc: "2.0", method, ...(params === undefined ? {} : { params }) });
    },
    stderr: () => err,
    junkLines: () => junk,
    async close(graceMs = 3_000) {
      const tree = processTree(child.pid).map((p) => p.pid);
      stdinClosed = true;
      await writer.close().catch(() => {});
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((r) =>
        timer = setTimeout(() => r("timeout"), graceMs)
      );
      const result = await Promise.race([child.status, timeout]);
      clearTimeout(timer);
      let forced = false;
      if (result === "timeout") {
        forced = true;
        // Only the processes this wire started (captured above), one by one.
        for (const pid of tree.reverse()) {
          try {
            Deno.kill(pid, "SIGKILL");
          } catch {
            // already gone
          }
        }
      }
      const status = await child.status;
      return { code: status.code, signal: status.signal, forced };
    },
  };
}
