/**
 * Fault tests of the gateway and REST handling against the emulator: the
 * real discord.js client, real sockets, faults injected on the Discord side.
 * Each test checks the user-visible contract: every message delivered
 * exactly once, fatal failures explained without retries, no login loops.
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import type { Notification } from "./helpers/bridge.ts";
import { withWorld, type World } from "./helpers/world.ts";

const e2e = { sanitizeOps: false, sanitizeResources: false };
const CHANNEL = "notifications/claude/channel";

const events = (w: World) =>
  w.bridge.notifications.filter((n: Notification) => n.method === CHANNEL).map((n) =>
    n.params as { content: string; meta: Record<string, string> }
  );

const dm = (w: World, content: string) =>
  w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content });

/** Waits until every id was delivered, then checks none was delivered twice. */
async function expectExactlyOnce(w: World, ids: string[], timeoutMs = 8000) {
  await w.emu.waitFor(
    () => ids.every((id) => events(w).some((e) => e.meta.message_id === id)),
    {
      timeoutMs,
      message: `delivery of ${ids.length} messages; stderr: ${w.bridge.stderr().slice(-800)}`,
    },
  );
  // Give a duplicate (a replay) the chance to show up before counting.
  await sleep(300);
  for (const id of ids) {
    assertEquals(events(w).filter((e) => e.meta.message_id === id).length, 1, `message ${id}`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test(
  "a socket dropped mid-stream resumes and delivers the queued messages exactly once",
  e2e,
  () =>
    withWorld(async (w) => {
      await expectExactlyOnce(w, [dm(w, "before").id]);
      w.emu.dropConnections();
      // Sent while the bridge has no socket: Discord queues them for RESUME.
      const queued = [1, 2, 3, 4, 5].map((i) => dm(w, `queued ${i}`).id);
      await expectExactlyOnce(w, queued);
      assert(w.emu.gateway.resumes >= 1, "resumed");
      assertEquals(w.emu.gateway.identifies, 1, "no new login");
      const order = events(w).map((e) => e.meta.message_id).filter((id) => queued.includes(id));
      assertEquals(order, queued);
      assertEquals(events(w).filter((e) => e.meta.missed).length, 0);
    }),
);

Deno.test(
  "op 7 RECONNECT resumes without losing or repeating messages",
  e2e,
  () =>
    withWorld(async (w) => {
      w.emu.requestReconnect();
      const ids = [1, 2, 3].map((i) => dm(w, `during reconnect ${i}`).id);
      await expectExactlyOnce(w, ids);
      await w.emu.waitFor(() => w.emu.gateway.resumes >= 1);
      assertEquals(w.emu.gateway.identifies, 1);
    }),
);

Deno.test(
  "a resumable invalid session resumes; a non-resumable one re-identifies and catches up",
  e2e,
  () =>
    withWorld(async (w) => {
      await expectExactlyOnce(w, [dm(w, "first").id]);
      w.emu.invalidateSession(true);
      await w.emu.waitFor(() => w.emu.gateway.resumes >= 1);
      const a = dm(w, "after resumable op 9").id;
      await expectExactlyOnce(w, [a]);
      assertEquals(w.emu.gateway.identifies, 1);

      w.emu.invalidateSession(false);
      // The session is gone: these are never dispatched, only the catch-up
      // after the new READY can deliver them.
      const lost = [dm(w, "gap 1").id, dm(w, "gap 2").id];
      await expectExactlyOnce(w, lost, 15_000);
      assertEquals(w.emu.gateway.identifies, 2);
      for (const id of lost) {
        assertEquals(events(w).find((e) => e.meta.message_id === id)?.meta.missed, "true");
      }
      // Live traffic flows on the new session, without the missed flag.
      const live = dm(w, "live again").id;
      await expectExactlyOnce(w, [live]);
      assertEquals(events(w).find((e) => e.meta.message_id === live)?.meta.missed, undefined);
    }),
);

Deno.test(
  "a fatal close (authentication failed) stops retrying and explains the fix",
  e2e,
  () =>
    withWorld(async (w) => {
      w.emu.closeGateway(4004);
      await w.bridge.waitForStderr(/rejected the bot token[^\n]*Fix:/);
      const connections = w.emu.gateway.connections;
      await sleep(2500);
      assertEquals(w.emu.gateway.connections, connections, "no reconnect after 4004");
      const r = await w.bridge.call("reply", { chat_id: w.aliceDm, text: "x" });
      assert(r.isError);
      assertMatch(r.text, /token/);
    }),
);

Deno.test(
  "disallowed intents at login fail once, with the portal fix, and no retries",
  e2e,
  () =>
    withWorld(async (w) => {
      await w.bridge.waitForStderr(/MESSAGE CONTENT INTENT/);
      await sleep(2500);
      assertEquals(w.emu.gateway.connections, 1);
      assertEquals(w.emu.gateway.identifies, 0);
      const r = await w.bridge.call("reply", { chat_id: w.aliceDm, text: "x" });
      assert(r.isError);
      assertMatch(r.text, /intent/i);
    }, { skipReady: true, beforeStart: (emu) => emu.setIntentsAllowed(false) }),
);

Deno.test(
  "withheld heartbeat ACKs are noticed; the bridge resumes and loses nothing",
  e2e,
  () =>
    withWorld(async (w) => {
      await expectExactlyOnce(w, [dm(w, "before").id]);
      w.emu.setHeartbeatAcks(false);
      const during = [dm(w, "zombie 1").id, dm(w, "zombie 2").id];
      await w.emu.waitFor(() => w.emu.gateway.resumes >= 1, { timeoutMs: 6000 });
      w.emu.setHeartbeatAcks(true);
      const after = dm(w, "healthy").id;
      await expectExactlyOnce(w, [...during, after]);
      assertEquals(w.emu.gateway.identifies, 1);
    }),
);

Deno.test("a half-open gateway (socket silent, close unanswered) is recovered", e2e, async () => {
  const proxy = new FreezableProxy();
  try {
    await withWorld(async (w) => {
      await expectExactlyOnce(w, [dm(w, "before").id]);
      proxy.freeze();
      const during = [dm(w, "into the void 1").id, dm(w, "into the void 2").id];
      await expectExactlyOnce(w, during, 15_000);
      await w.bridge.waitForStderr("went quiet");
      assert(w.emu.gateway.resumes >= 1, "resumed rather than logged in again");
      assertEquals(w.emu.gateway.identifies, 1);
    }, {
      // The bridge's sandbox only lets it reach the hosts it is told about.
      env: { DISCORD_EXTRA_HOSTS: `127.0.0.1:${proxy.port}` },
      beforeStart: (emu) => {
        proxy.target(Number(new URL(emu.gatewayUrl).port));
        // Point the first connection at the proxy; RESUME goes to resume_gateway_url (direct).
        emu.failNext({ method: "GET", path: "/gateway/bot" }, {
          status: 200,
          body: {
            url: `ws://127.0.0.1:${proxy.port}/gateway`,
            shards: 1,
            session_start_limit: {
              total: 1000,
              remaining: 999,
              reset_after: 60_000,
              max_concurrency: 1,
            },
          },
        }, 20);
      },
    });
  } finally {
    proxy.close();
  }
});

Deno.test(
  "an exhausted session start limit pauses the login until it resets",
  e2e,
  () =>
    withWorld(async (w) => {
      await w.bridge.waitForStderr(/login budget[^\n]*used up/);
      await sleep(1500);
      assertEquals(w.emu.gateway.connections, 0, "no gateway connection while the budget is spent");
      const r = await w.bridge.call("reply", { chat_id: w.aliceDm, text: "x" });
      assert(r.isError);
      assertMatch(r.text, /budget/);
      w.emu.setSessionStartLimit({ remaining: 1000 });
      await w.bridge.waitForStderr("connected to Discord as", 8000);
      assertMatch(w.bridge.stderr(), /available again/);
      assertEquals(w.emu.gateway.identifies, 1);
    }, {
      skipReady: true,
      beforeStart: (emu) => emu.setSessionStartLimit({ remaining: 0, reset_after: 1000 }),
    }),
);

Deno.test(
  "a spent budget during a session (op 9) pauses instead of identifying in a loop",
  e2e,
  () =>
    withWorld(async (w) => {
      await expectExactlyOnce(w, [dm(w, "before").id]);
      w.emu.setSessionStartLimit({ remaining: 0, reset_after: 1500 });
      w.emu.invalidateSession(false);
      await w.bridge.waitForStderr(/login budget[^\n]*used up/, 10_000);
      const connections = w.emu.gateway.connections;
      await sleep(3000);
      // Paused before IDENTIFY: at most the one connection that waits to identify.
      assert(w.emu.gateway.connections - connections <= 1, `${w.emu.gateway.connections}`);
      assertEquals(w.emu.gateway.identifies, 1);
      const missed = dm(w, "sent while paused").id;
      w.emu.setSessionStartLimit({ remaining: 1000 });
      await w.bridge.waitForStderr(/available again/, 8000);
      await expectExactlyOnce(w, [missed]);
      assertEquals(events(w).find((e) => e.meta.message_id === missed)?.meta.missed, "true");
      assertEquals(w.emu.gateway.identifies, 2);
    }),
);

Deno.test(
  "an unreachable API at start is retried with backoff, and logged",
  e2e,
  () =>
    withWorld(async (w) => {
      await w.bridge.waitForStderr(/could not log in[^\n]*Retrying in \d+ s/);
      await w.bridge.waitForStderr("connected to Discord as", 10_000);
      assertEquals(w.emu.gateway.identifies, 1);
    }, {
      skipReady: true,
      // discord.js retries a 5xx 3 times; 4 failures fail the first login attempt.
      beforeStart: (emu) =>
        emu.failNext({ method: "GET", path: "/gateway/bot" }, { status: 503 }, 4),
    }),
);

Deno.test(
  "a 429 on send is waited out and the message is sent once",
  e2e,
  () =>
    withWorld(async (w) => {
      w.emu.failNext({ method: "POST", path: `/channels/${w.aliceDm}/messages` }, {
        status: 429,
        retryAfter: 0.5,
      });
      const t0 = Date.now();
      const r = await w.bridge.call("reply", { chat_id: w.aliceDm, text: "patience" });
      assert(!r.isError, r.text);
      assert(Date.now() - t0 >= 450, "waited for retry_after");
      assertEquals(w.emu.messages(w.aliceDm).filter((m) => m.content === "patience").length, 1);
    }),
);

Deno.test(
  "500s on send are retried a bounded number of times; the tool says what was not sent",
  e2e,
  () =>
    withWorld(async (w) => {
      const path = `/channels/${w.aliceDm}/messages`;
      w.emu.failNext({ method: "POST", path }, { status: 500 }, 2);
      const ok = await w.bridge.call("reply", { chat_id: w.aliceDm, text: "second try" });
      assert(!ok.isError, ok.text);
      assertEquals(w.emu.messages(w.aliceDm).filter((m) => m.content === "second try").length, 1);

      w.emu.failNext({ method: "POST", path }, { status: 500 }, 4);
      const before = w.emu.requests.filter((q) => q.method === "POST" && q.path === path).length;
      const bad = await w.bridge.call("reply", { chat_id: w.aliceDm, text: "doomed" });
      assert(bad.isError);
      assertMatch(bad.text, /500/);
      assertMatch(bad.text, /nothing was sent/);
      const attempts = w.emu.requests.filter((q) => q.method === "POST" && q.path === path).length -
        before;
      assertEquals(attempts, 4, "1 try + 3 retries");

      // A long rate limit fails fast instead of hanging the tool call.
      w.emu.failNext({ method: "POST", path }, { status: 429, retryAfter: 120 });
      const limited = await w.bridge.call("reply", { chat_id: w.aliceDm, text: "later" });
      assert(limited.isError);
      assertMatch(limited.text, /rate-limits/);
      assertMatch(limited.text, /NOT sent|nothing was sent/);
    }),
);

/**
 * A TCP proxy that can go silent in both directions while keeping the
 * connections open: a half-open connection as after a network change. The
 * emulator can only cut connections (the client then sees a close at once).
 */
class FreezableProxy {
  #listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  #targetPort = 0;
  #frozen = false;
  #conns: Deno.Conn[] = [];

  get port(): number {
    return this.#listener.addr.port;
  }

  /** Starts forwarding to a port on 127.0.0.1. */
  target(port: number): void {
    this.#targetPort = port;
    (async () => {
      for await (const c of this.#listener) {
        try {
          const up = await Deno.connect({ hostname: "127.0.0.1", port: this.#targetPort });
          this.#conns.push(c, up);
          void this.#pipe(c, up);
          void this.#pipe(up, c);
        } catch {
          c.close();
        }
      }
    })().catch(() => {});
  }

  freeze(): void {
    this.#frozen = true;
  }

  async #pipe(from: Deno.Conn, to: Deno.Conn): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    while (true) {
      let n: number | null;
      try {
        n = await from.read(buf);
      } catch {
        return;
      }
      if (n === null || this.#frozen) {
        // Frozen: swallow everything, answer nothing, close nothing.
        if (n === null) return;
        continue;
      }
      try {
        await to.write(buf.subarray(0, n));
      } catch {
        return;
      }
    }
  }

  close(): void {
    try {
      this.#listener.close();
    } catch { /* closed */ }
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
  }
}
