/**
 * A transparent TCP front for the emulator's HTTP server. Every client
 * connection is piped to the internal `Deno.serve` listener, which lets the
 * emulator cut a gateway connection abruptly (no WebSocket close frame, the
 * client sees 1006) — something a `Deno.upgradeWebSocket` socket cannot do.
 *
 * @module
 */

interface Pipe {
  client: Deno.TcpConn;
  upstream: Deno.TcpConn;
  done: Promise<void>;
  closed: boolean;
}

/** Listens on 127.0.0.1:0 and forwards every connection to `backendPort`. */
export class TcpFront {
  readonly #listener: Deno.TcpListener;
  readonly #backendPort: number;
  readonly #pipes = new Map<number, Pipe>();
  readonly #pending = new Set<Promise<void>>();
  #acceptLoop: Promise<void>;
  #closing = false;

  /** Starts accepting on an ephemeral port. */
  constructor(backendPort: number) {
    this.#backendPort = backendPort;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#acceptLoop = this.#accept();
  }

  /** The public port. */
  get port(): number {
    return this.#listener.addr.port;
  }

  async #accept(): Promise<void> {
    try {
      for await (const client of this.#listener) {
        if (this.#closing) {
          client.close();
          continue;
        }
        const p = this.#handle(client).catch(() => {});
        this.#pending.add(p);
        p.finally(() => this.#pending.delete(p));
      }
    } catch {
      // listener closed
    }
  }

  async #handle(client: Deno.TcpConn): Promise<void> {
    client.setNoDelay(true);
    let upstream: Deno.TcpConn;
    try {
      upstream = await Deno.connect({ hostname: "127.0.0.1", port: this.#backendPort });
    } catch {
      safeClose(client);
      return;
    }
    upstream.setNoDelay(true);
    const key = upstream.localAddr.port;
    const pipe: Pipe = { client, upstream, done: Promise.resolve(), closed: false };
    this.#pipes.set(key, pipe);
    const a = client.readable.pipeTo(upstream.writable).catch(() => {});
    const b = upstream.readable.pipeTo(client.writable).catch(() => {});
    pipe.done = Promise.all([a, b]).then(() => {});
    // When either direction ends, tear the pair down.
    await Promise.race([a, b]);
    this.#cut(pipe);
    await pipe.done;
    this.#pipes.delete(key);
  }

  #cut(pipe: Pipe): void {
    if (pipe.closed) return;
    pipe.closed = true;
    safeClose(pipe.client);
    safeClose(pipe.upstream);
  }

  /**
   * Closes the client-side TCP connection whose upstream leg has local port
   * `upstreamPort` (the `remoteAddr.port` the backend saw). Returns whether found.
   */
  drop(upstreamPort: number): boolean {
    const pipe = this.#pipes.get(upstreamPort);
    if (!pipe) return false;
    this.#cut(pipe);
    return true;
  }

  /** Stops accepting and closes every piped connection, waiting for the pipes to settle. */
  async close(): Promise<void> {
    this.#closing = true;
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    await this.#acceptLoop;
    for (const pipe of this.#pipes.values()) this.#cut(pipe);
    await Promise.all([...this.#pending]);
  }
}

function safeClose(conn: Deno.TcpConn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
