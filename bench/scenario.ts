/**
 * One benchmark run against a fresh emulator: spawn, handshake, first DM,
 * paced inbound bursts, memory samples and sequential replies. Used for both
 * the bridge (spawned as .mcp.json says) and the floor relay.
 *
 * @module
 */
import { type DiscordEmulator, startEmulator } from "../tests/emulator/mod.ts";
import { type TreeRss, treeRss } from "./proc.ts";
import { dueAt, summarize, type Summary } from "./stats.ts";
import { type Line, spawnWire, type Wire } from "./wire.ts";

/** What a run does. */
export interface RunPlan {
  /** `bridge` = ours, `peer` = the official plugin (both MCP), `floor` = the bare relay. */
  kind: "bridge" | "peer" | "floor";
  repo: string;
  command: string;
  args: string[];
  inboundCount: number;
  inboundRate: number;
  /** Second, larger inbound phase for the memory-growth check (0 = skip). */
  bigCount: number;
  bigRate: number;
  replyCount: number;
  /** Quiet time before each RSS sample. */
  settleMs: number;
  /** Extra environment for the child (e.g. the peer's PATH to Bun). */
  env?: Record<string, string>;
}

/** An inbound phase's outcome. */
export interface InboundResult {
  sent: number;
  delivered: number;
  /** Send → read latencies (ms), in send order; undelivered messages are left out. */
  latencies: number[];
  summary: Summary;
  /** Achieved send rate (messages per second). */
  achievedRate: number;
  /** REST calls the client made while the phase ran, by route. */
  restCalls: Record<string, number>;
}

/** Everything measured in one run. */
export interface RunResult {
  kind: RunPlan["kind"];
  startupMs?: number;
  readyMs?: number;
  rssIdle?: TreeRss;
  /** After the replies, just before the inbound bursts. */
  rssAfterReplies?: TreeRss;
  inbound?: InboundResult;
  rssAfterInbound?: TreeRss;
  big?: InboundResult;
  rssAfterBig?: TreeRss;
  replies?: { latencies: number[]; errors: number; summary: Summary };
  junkStdoutLines: number;
  exit?: { code: number; signal: string | null; forced: boolean };
  error?: string;
  stderrTail?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Limits high enough that the emulator never throttles: we measure the client, not Discord's 429s. */
const NO_THROTTLE = {
  messages: { limit: 1e9, windowMs: 1_000 },
  reactions: { limit: 1e9, windowMs: 1_000 },
  other: { limit: 1e9, windowMs: 1_000 },
  globalPerSecond: 1e9,
};

async function until(probe: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(5);
  }
}

/** Calls `send(i)` for i < count at an exact average rate (deadlines from the start, no drift). */
async function pace(count: number, rate: number, send: (i: number) => void): Promise<number> {
  const start = performance.now();
  let i = 0;
  while (i < count) {
    const now = performance.now();
    while (i < count && dueAt(start, i, rate) <= now) send(i++);
    if (i < count) await sleep(Math.max(0, dueAt(start, i, rate) - performance.now()));
  }
  const elapsed = performance.now() - start;
  return elapsed > 0 ? (count - 1) * 1000 / elapsed : NaN;
}

function routeOf(method: string, path: string): string {
  return `${method} ${path.replace(/\d{5,}/g, ":id")}`;
}

function childEnv(extra: Record<string, string>): Record<string, string> {
  const home = Deno.env.get("HOME") ?? "/tmp";
  return {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: home,
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${home}/.cache/deno`,
    NO_COLOR: "1",
    ...extra,
  };
}

/** Runs one full measurement. */
export async function runOnce(plan: RunPlan, log: (s: string) => void): Promise<RunResult> {
  // The emulator's OpenAPI request check is off here: it compiles a validator
  // per route on first use (~100 ms, once per bench process), which would land
  // on whichever server replied first. The test suite keeps it on.
  const emu: DiscordEmulator = await startEmulator({ rateLimits: NO_THROTTLE, spec: false });
  const alice = emu.addUser({ username: "alice" });
  const guild = emu.addGuild({ name: "bench guild" });
  emu.addTextChannel(guild.id, { name: "general" });
  const dm = emu.dmChannel(alice.id).id;
  const stateDir = await Deno.makeTempDir({ prefix: "discord-bench-" });
  await Deno.writeTextFile(
    `${stateDir}/access.json`,
    JSON.stringify({ dmPolicy: "allowlist", allowFrom: [alice.id], groups: {} }),
  );

  const sentAt = new Map<string, number>();
  const readAt = new Map<string, number>();
  let readyMessageId: string | undefined;
  let readySent = false;
  const sendDm = (content: string) =>
    emu.sendMessage({ channelId: dm, authorId: alice.id, content }).id;
  emu.onDispatch((event, data, at) => {
    if (event === "MESSAGE_CREATE") {
      const m = data as { id: string; author: { id: string } };
      if (m.author.id === alice.id) sentAt.set(m.id, at);
    } else if (event === "READY" && !readySent) {
      readySent = true;
      // Right after READY (and the GUILD_CREATEs written in the same tick).
      queueMicrotask(() => readyMessageId = sendDm("hello at READY"));
    }
  });

  const mcp = plan.kind !== "floor";
  const onLine = mcp
    ? (line: Line) => {
      const { method, params } = line.msg as {
        method?: string;
        params?: { meta?: { message_id?: string } };
      };
      if (method === "notifications/claude/channel") {
        const id = params?.meta?.message_id;
        if (id && !readAt.has(id)) readAt.set(id, line.at);
      }
    }
    : (line: Line) => {
      const { t, d } = line.msg as { t?: string; d?: { id?: string } };
      if (t === "MESSAGE_CREATE" && d?.id && !readAt.has(d.id)) readAt.set(d.id, line.at);
    };

  const result: RunResult = { kind: plan.kind, junkStdoutLines: 0 };
  let wire: Wire | undefined;
  try {
    wire = spawnWire({
      command: plan.command,
      args: plan.args,
      cwd: plan.repo,
      env: childEnv({
        DISCORD_BOT_TOKEN: emu.token,
        DISCORD_API_URL: emu.apiUrl,
        DISCORD_STATE_DIR: stateDir,
        ...plan.env,
      }),
      onLine,
    });
    const w = wire;

    if (mcp) {
      const init = w.request("initialize", {
        protocolVersion: "2025-06-18",
        capabilities: { experimental: { "claude/channel": {} } },
        clientInfo: { name: "bench", version: "0.0.0" },
      });
      const res = await Promise.race([init.done, sleep(15_000).then(() => undefined)]);
      if (!res) throw new Error("no initialize result within 15 s");
      result.startupMs = res.at - w.spawnedAt;
      w.notify("notifications/initialized");
    }

    await until(
      () => readyMessageId !== undefined && readAt.has(readyMessageId),
      20_000,
      "first DM after READY",
    );
    result.readyMs = readAt.get(readyMessageId!)! - w.spawnedAt;
    log(
      `  ${plan.kind}: startup ${result.startupMs?.toFixed(1) ?? "-"} ms, ready ${
        result.readyMs.toFixed(1)
      } ms`,
    );

    await sleep(plan.settleMs);
    result.rssIdle = treeRss(w.pid);

    // Replies run while the bridge is quiet (before the inbound bursts): each
    // inbound message queues REST work (typing) that would otherwise compete.
    if (mcp && plan.replyCount > 0) {
      const latencies: number[] = [];
      let errors = 0;
      for (let i = 0; i < plan.replyCount; i++) {
        const call = w.request("tools/call", {
          name: "reply",
          arguments: { chat_id: dm, text: `bench reply ${i}` },
        });
        const res = await Promise.race([call.done, sleep(15_000).then(() => undefined)]);
        if (!res) throw new Error(`reply ${i}: no result within 15 s`);
        const r = res.msg.result as { isError?: boolean } | undefined;
        if (!r || r.isError) errors++;
        latencies.push(res.at - call.sentAt);
      }
      result.replies = { latencies, errors, summary: summarize(latencies) };
      await sleep(plan.settleMs);
      result.rssAfterReplies = treeRss(w.pid);
      log(
        `  ${plan.kind}: ${plan.replyCount} replies (${errors} errors), p50 ${
          result.replies.summary.p50.toFixed(3)
        } ms, p99 ${result.replies.summary.p99.toFixed(3)} ms`,
      );
    }
    const phase = async (label: string, count: number, rate: number): Promise<InboundResult> => {
      const ids: string[] = [];
      const restBefore = emu.requests.length;
      const achievedRate = await pace(count, rate, (i) => ids.push(sendDm(`bench ${label} ${i}`)));
      await until(
        () => ids.every((id) => readAt.has(id)),
        Math.max(5_000, count / rate * 500),
        `${label}: delivery of ${count} messages`,
      ).catch(() => {}); // a shortfall is reported as the delivered count
      const latencies: number[] = [];
      for (const id of ids) {
        const s = sentAt.get(id), r = readAt.get(id);
        if (s !== undefined && r !== undefined) latencies.push(r - s);
      }
      const restCalls: Record<string, number> = {};
      for (const req of emu.requests.slice(restBefore)) {
        const k = routeOf(req.method, req.path);
        restCalls[k] = (restCalls[k] ?? 0) + 1;
      }
      const out = {
        sent: ids.length,
        delivered: latencies.length,
        latencies,
        summary: summarize(latencies),
        achievedRate,
        restCalls,
      };
      log(
        `  ${plan.kind}: ${label} ${out.delivered}/${out.sent} delivered at ${
          achievedRate.toFixed(0)
        }/s, p50 ${out.summary.p50.toFixed(3)} ms, p99 ${out.summary.p99.toFixed(3)} ms`,
      );
      return out;
    };

    result.inbound = await phase("inbound", plan.inboundCount, plan.inboundRate);
    await sleep(plan.settleMs);
    result.rssAfterInbound = treeRss(w.pid);

    if (plan.bigCount > 0) {
      result.big = await phase("big", plan.bigCount, plan.bigRate);
      await sleep(plan.settleMs);
      result.rssAfterBig = treeRss(w.pid);
    }
    log(
      `  ${plan.kind}: rss idle ${
        result.rssIdle.totalMb.toFixed(1)
      } MB, after ${result.inbound.sent} ${result.rssAfterInbound.totalMb.toFixed(1)} MB${
        result.rssAfterBig
          ? `, after +${result.big!.sent} ${result.rssAfterBig.totalMb.toFixed(1)} MB`
          : ""
      }`,
    );
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    log(`  ${plan.kind}: ERROR ${result.error}`);
  } finally {
    if (wire) {
      result.junkStdoutLines = wire.junkLines();
      result.exit = await wire.close();
      result.stderrTail = wire.stderr().slice(-2_000);
      if (result.error) log(`  ${plan.kind}: stderr tail:\n${result.stderrTail.slice(-800)}`);
    }
    await emu.close();
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
  return result;
}
