import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  backoffDelay,
  formatDelay,
  IDENTIFY_BACKOFF,
  LOGIN_BACKOFF,
} from "../lib/discord/backoff.ts";
import {
  checkGateway,
  CLOSE_GRACE_MS,
  FREE_IDENTIFIES_PER_HOUR,
  IDENTIFY_SPACING_MS,
  planIdentify,
  RECONNECT_GIVE_UP_MS,
  type SessionStartLimit,
} from "../lib/discord/guard.ts";
import {
  explainLoginFailure,
  explainRestError,
  isFatalLoginFailure,
} from "../lib/discord/errors.ts";

Deno.test("backoff doubles from the base, is capped, and jitters within the upper half", () => {
  const low = (n: number) => backoffDelay(n, LOGIN_BACKOFF, () => 0);
  const high = (n: number) => backoffDelay(n, LOGIN_BACKOFF, () => 1);
  assertEquals([0, 1, 2, 3].map(high), [1000, 2000, 4000, 8000]);
  assertEquals([0, 1, 2, 3].map(low), [500, 1000, 2000, 4000]);
  assertEquals(high(30), LOGIN_BACKOFF.capMs);
  assertEquals(high(5000), LOGIN_BACKOFF.capMs); // no overflow to Infinity/NaN
  assertEquals(low(-3), 500);
  for (let i = 0; i < 50; i++) {
    const d = backoffDelay(4, IDENTIFY_BACKOFF);
    assert(d >= 40_000 && d <= 80_000, String(d));
  }
  assertEquals(formatDelay(1500), "2 s");
  assertEquals(formatDelay(300_000), "5 min");
  assertEquals(formatDelay(86_400_000), "24 h");
});

const limit = (remaining: number, reset_after = 60_000): SessionStartLimit => ({
  total: 1000,
  remaining,
  reset_after,
  max_concurrency: 1,
});

Deno.test("planIdentify: first login at once, then Discord's 5 s spacing", () => {
  assertEquals(planIdentify({ times: [], streak: 0 }, 1e9, limit(1000)), {
    waitMs: 0,
    reason: "now",
  });
  assertEquals(planIdentify({ times: [1e9 - 1000], streak: 0 }, 1e9, limit(1000)), {
    waitMs: IDENTIFY_SPACING_MS - 1000,
    reason: "spacing",
  });
});

Deno.test("planIdentify: a spent budget waits for the reset, whatever else", () => {
  assertEquals(planIdentify({ times: [], streak: 0 }, 1e9, limit(0, 3_600_000)), {
    waitMs: 3_600_000,
    reason: "budget",
  });
  // Never a busy loop, even if Discord says the reset is now.
  assertEquals(planIdentify({ times: [], streak: 0 }, 1e9, limit(0, 0)).waitMs, 1000);
  // Unknown limit (the REST call failed): the other rules still apply.
  assertEquals(planIdentify({ times: [], streak: 0 }, 1e9, undefined).reason, "now");
});

Deno.test("planIdentify: failed identifies back off exponentially", () => {
  const now = 1e9;
  const wait = (streak: number) =>
    planIdentify({ times: [now], streak }, now, limit(900), () => 1).waitMs;
  assertEquals([1, 2, 3, 4].map(wait), [5_000, 10_000, 20_000, 40_000]);
  assertEquals(wait(20), IDENTIFY_BACKOFF.capMs);
});

Deno.test("planIdentify: many successful identifies in an hour also slow down", () => {
  const now = 1e9;
  // Each READY resets the streak, but a session invalidated after every READY must not loop.
  const times = Array.from(
    { length: FREE_IDENTIFIES_PER_HOUR + 3 },
    (_, i) => now - 60_000 * (10 - i),
  );
  // The last identify was 3 minutes ago; backoff(2) at full jitter is 20 s: done waiting.
  assertEquals(planIdentify({ times, streak: 0 }, now, limit(900), () => 1).reason, "now");
  // The same history with the last identify 1 s ago: 19 s more.
  const recent = [...times.slice(0, -1), now - 1000];
  assertEquals(planIdentify({ times: recent, streak: 0 }, now, limit(900), () => 1), {
    waitMs: 19_000,
    reason: "backoff",
  });
  // Identifies older than an hour do not count.
  const old = times.map((t) => t - 3_600_000);
  assertEquals(planIdentify({ times: old, streak: 0 }, now, limit(900)).reason, "now");
});

Deno.test("checkGateway: unanswered close, endless reconnect and silence", () => {
  const now = 1e9;
  assertEquals(checkGateway({ now }), "ok");
  assertEquals(checkGateway({ now, closingSince: now - CLOSE_GRACE_MS + 1 }), "ok");
  assertEquals(checkGateway({ now, closingSince: now - CLOSE_GRACE_MS - 1 }), "force-close");
  assertEquals(checkGateway({ now, reconnectingSince: now - 10_000 }), "ok");
  assertEquals(checkGateway({ now, reconnectingSince: now - RECONNECT_GIVE_UP_MS - 1 }), "relogin");
  // Silent for 3 heartbeat intervals while logged in.
  assertEquals(checkGateway({ now, lastAliveAt: now - 100_000, heartbeatMs: 41_250 }), "ok");
  assertEquals(
    checkGateway({ now, lastAliveAt: now - 130_000, heartbeatMs: 41_250 }),
    "force-close",
  );
  // Small test intervals still get 5 s of grace; unknown interval: no verdict.
  assertEquals(checkGateway({ now, lastAliveAt: now - 4_000, heartbeatMs: 1000 }), "ok");
  assertEquals(checkGateway({ now, lastAliveAt: now - 6_000, heartbeatMs: 1000 }), "force-close");
  assertEquals(checkGateway({ now, lastAliveAt: now - 1e7 }), "ok");
  // While reconnecting, silence is expected; only the give-up rule applies.
  assertEquals(
    checkGateway({ now, lastAliveAt: now - 1e6, heartbeatMs: 1000, reconnectingSince: now - 1000 }),
    "ok",
  );
});

Deno.test("fatal login failures are recognised; others say when the retry comes", () => {
  assert(isFatalLoginFailure({ closeCode: 4004 }));
  assert(isFatalLoginFailure({ closeCode: 4014 }));
  assert(!isFatalLoginFailure({ closeCode: 4000 }));
  assert(isFatalLoginFailure({ err: Object.assign(new Error("x"), { code: "TokenInvalid" }) }));
  assert(
    isFatalLoginFailure({ err: Object.assign(new Error("401: Unauthorized"), { status: 401 }) }),
  );
  assert(!isFatalLoginFailure({ err: new Error("connect ECONNREFUSED") }));
  const text = explainLoginFailure({ err: new Error("connect ECONNREFUSED"), retryInMs: 4000 });
  assert(/Retrying in 4 s/.test(text), text);
});

Deno.test("REST failures read well: long rate limits and persistent 5xx", () => {
  const rl = Object.assign(new Error(), {
    name: "RateLimitError[/channels/:id/messages]",
    retryAfter: 120_000,
  });
  const e1 = explainRestError(rl, 3) as Error;
  assert(/rate-limits[^]*2 min[^]*not sent/.test(e1.message), e1.message);
  const http = Object.assign(new Error("Bad Gateway"), { name: "HTTPError", status: 502 });
  const e2 = explainRestError(http, 3) as Error;
  assert(/HTTP 502[^]*4 attempts/.test(e2.message), e2.message);
  const other = Object.assign(new Error("Missing Access"), { status: 403, rawError: {} });
  assertEquals(explainRestError(other, 3), other);
});
