/**
 * MCP over stdio with Deno's own stdin/stdout: newline-delimited JSON-RPC,
 * one message per line.
 *
 * Why not the SDK's `StdioServerTransport`: it reads and writes through
 * `node:process`, whose stdin/stdout streams Deno builds on first use (more
 * startup time and memory before the `initialize` answer), and every message
 * then goes through a Node `Writable` before reaching the same `write(2)`.
 * It also never reports stdin EOF to `onclose`. This one writes each message
 * with one synchronous write and reports EOF as `onclose`.
 *
 * @module
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { type JSONRPCMessage, JSONRPCMessageSchema } from "@modelcontextprotocol/sdk/types.js";

/** Where lines are written: `Deno.stdout` or anything with its `writeSync`. */
export interface SyncSink {
  /** Writes some of `p` and returns how many bytes it took (may be fewer than asked). */
  writeSync(p: Uint8Array): number;
}

/** Options for {@link DenoStdioTransport}; the defaults are the process's stdin/stdout. */
export interface DenoStdioTransportOptions {
  input?: ReadableStream<Uint8Array>;
  output?: SyncSink;
  /**
   * The longest line accepted, in UTF-16 code units (default 10 MiB, as the
   * SDK's transport). A longer one is reported through `onerror` and skipped,
   * so a runaway writer cannot make the bridge buffer without bound.
   */
  maxLineLength?: number;
}

const DEFAULT_MAX_LINE = 10 * 1024 * 1024;

/** The SDK `Transport` over Deno's stdio. */
export class DenoStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  readonly #input: ReadableStream<Uint8Array>;
  readonly #output: SyncSink;
  readonly #maxLine: number;
  readonly #encoder = new TextEncoder();
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #started = false;
  #closed = false;

  constructor(opts: DenoStdioTransportOptions = {}) {
    this.#input = opts.input ?? Deno.stdin.readable;
    this.#output = opts.output ?? Deno.stdout;
    this.#maxLine = opts.maxLineLength ?? DEFAULT_MAX_LINE;
  }

  start(): Promise<void> {
    if (this.#started) throw new Error("DenoStdioTransport already started");
    this.#started = true;
    this.#reader = this.#input.getReader();
    // Not awaited: start() resolves at once and messages arrive via onmessage.
    void this.#readLoop(this.#reader);
    return Promise.resolve();
  }

  /**
   * Writes one message as one line. The write is synchronous: stdout is a
   * blocking pipe, so a client that reads slowly holds the bridge back (the
   * kernel's backpressure) instead of making it buffer messages without
   * bound; partial writes are continued until the whole line is out.
   */
  send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("transport closed"));
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

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Stop reading: a pending read ends, and the loop exits without a second onclose.
    await this.#reader?.cancel().catch(() => {});
    this.onclose?.();
  }

  async #readLoop(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    // Text of the line being received, and whether it is being skipped (too long).
    let pending = "";
    let skipping = false;
    const tooLong = () =>
      this.onerror?.(new Error(`skipped an MCP line longer than ${this.#maxLine} characters`));
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
          else if (line.length > this.#maxLine) tooLong();
          else this.#dispatch(line);
          if (this.#closed) return;
          text = text.slice(nl + 1);
          nl = text.indexOf("\n");
        }
        if (skipping) continue;
        pending += text;
        if (pending.length > this.#maxLine) {
          tooLong();
          pending = "";
          skipping = true;
        }
      }
      pending += decoder.decode();
      // A last line without its newline still counts.
      if (!skipping && pending.trim() && !this.#closed) this.#dispatch(pending);
    } catch (err) {
      if (!this.#closed) this.onerror?.(err instanceof Error ? err : new Error(String(err)));
    }
    // EOF (or a broken stdin): the client is gone.
    if (!this.#closed) {
      this.#closed = true;
      this.onclose?.();
    }
  }

  #dispatch(raw: string): void {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (!line.trim()) return;
    let message: JSONRPCMessage;
    try {
      message = JSONRPCMessageSchema.parse(JSON.parse(line));
    } catch (err) {
      const why = err instanceof SyntaxError ? "not JSON" : "not a JSON-RPC message";
      this.onerror?.(new Error(`ignored an MCP line that is ${why}: ${line.slice(0, 200)}`));
      return;
    }
    try {
      this.onmessage?.(message);
    } catch (err) {
      // A failing handler must not end the read loop (and with it the session).
      this.onerror?.(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
