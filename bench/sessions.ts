/**
 * Figures for several Claude Code sessions on one bot: a second and a third
 * session started next to the one that holds the Discord connection (their
 * start-up and process-tree RSS), DMs routed through the holder to another
 * session (latency at that session's stdout), and a handover (the holder's
 * exit → the first DM delivered by the new holder).
 *
 * Every session is spawned exactly as `.mcp.json` says, on one emulator and
 * one state directory, each with its own `CLAUDE_PROJECT_DIR` (the session's
 * name is that directory's base name). A DM that starts with `@name` focuses
 * that session; the DMs after it go to it.
 *
 * @module
 */
import { type DiscordEmulator, startEmulator } from "../tests/emulator/mod.ts";
import { treeRss } from "./proc.ts";
import { dueAt, summarize, type Summary } from "./stats.ts";
import { type Line, spawnWire, type Wire } from "./wire.ts";

/** What one multi-session run measured. */
export interface SessionsResult {
  /** spawn → initialize answered, for the 2nd and 3rd session. */
  startupMs: number[];
  /** Process-tree RSS of the 2nd and 3rd session, idle after registering. */
  rssMb: number[];
  /** The holder's tree RSS at the same moment. */
  holderRssMb?: number;
  /** DMs focused on the 3rd session, through the holder. */
  routed?: { sent: number; delivered: number; summary: Summary };
  /** Holder's exit → first DM delivered to a remaining session. */
  handoverMs?: number;
  error?: string;
}

/** Options for {@link runSessions}. */
export interface SessionsPlan {
  repo: string;
  command: string;
  args: string[];
  messages: number;
  rate: number;
  settleMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(probe: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(5);
  }
}

interface Session {
  name: string;
  wire: Wire;
  startupMs: number;
  /** message_id → when its notification was read from this session's stdout. */
  readAt: Map<string, number>;
}

/** Runs the multi-session scenario once. */
export async function runSessions(
  plan: SessionsPlan,
  log: (s: string) => void,
): Promise<SessionsResult> {
  const emu: DiscordEmulator = await startEmulator({
    spec: false, // as in scenario.ts: no per-route validator compiled mid-measurement
    rateLimits: {
      messages: { limit: 1e9, windowMs: 1_000 },
      reactions: { limit: 1e9, windowMs: 1_000 },
      other: { limit: 1e9, windowMs: 1_000 },
      globalPerSecond: 1e9,
    },
  });
  const alice = emu.addUser({ username: "alice" });
  emu.addGuild({ name: "bench guild" });
  const dm = emu.dmChannel(alice.id).id;
  const stateDir = await Deno.makeTempDir({ prefix: "discord-bench-sessions-" });
  const projects = await Deno.makeTempDir({ prefix: "discord-bench-projects-" });
  await Deno.writeTextFile(
    `${stateDir}/access.json`,
    JSON.stringify({ dmPolicy: "allowlist", allowFrom: [alice.id], groups: {} }),
  );
  const sentAt = new Map<string, number>();
  emu.onDispatch((event, data, at) => {
    const m = data as { id?: string; author?: { id: string } };
    if (event === "MESSAGE_CREATE" && m.author?.id === alice.id && m.id) sentAt.set(m.id, at);
  });
  const sendDm = (content: string) =>
    emu.sendMessage({ channelId: dm, authorId: alice.id, content }).id;

  const sessions: Session[] = [];
  const spawn = async (name: string): Promise<Session> => {
    const dir = `${projects}/${name}`;
    await Deno.mkdir(dir, { recursive: true });
    const readAt = new Map<string, number>();
    const home = Deno.env.get("HOME") ?? "/tmp";
    const wire = spawnWire({
      command: plan.command,
      args: plan.args,
      cwd: plan.repo,
      env: {
        PATH: Deno.env.get("PATH") ?? "",
        HOME: home,
        DENO_DIR: Deno.env.get("DENO_DIR") ?? `${home}/.cache/deno`,
        NO_COLOR: "1",
        DISCORD_BOT_TOKEN: emu.token,
        DISCORD_API_URL: emu.apiUrl,
        DISCORD_STATE_DIR: stateDir,
        CLAUDE_PROJECT_DIR: dir,
      },
      onLine: (line: Line) => {
        const { method, params } = line.msg as {
          method?: string;
          params?: { meta?: { message_id?: string } };
        };
        const id = params?.meta?.message_id;
        if (method === "notifications/claude/channel" && id && !readAt.has(id)) {
          readAt.set(id, line.at);
        }
      },
    });
    const init = wire.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: { experimental: { "claude/channel": {} } },
      clientInfo: { name: "bench", version: "0.0.0" },
    });
    const res = await Promise.race([init.done, sleep(15_000).then(() => undefined)]);
    if (!res) throw new Error(`${name}: no initialize result within 15 s`);
    wire.notify("notifications/initialized");
    const s = { name, wire, startupMs: res.at - wire.spawnedAt, readAt };
    sessions.push(s);
    return s;
  };
  /** Sends `@name` DMs until that session receives one (it is then focused). */
  const focus = async (s: Session) => {
    const deadline = performance.now() + 20_000;
    while (performance.now() < deadline) {
      const id = sendDm(`@${s.name} ping`);
      const until = performance.now() + 1_000;
      while (performance.now() < until && !s.readAt.has(id)) await sleep(5);
      if (s.readAt.has(id)) return;
    }
    throw new Error(`${s.name}: never received a DM addressed to it`);
  };

  const result: SessionsResult = { startupMs: [], rssMb: [] };
  try {
    const holder = await spawn("alpha");
    // The first session logs in; a DM reaching it means the connection is up.
    const loginDeadline = performance.now() + 20_000;
    while (holder.readAt.size === 0) {
      if (performance.now() > loginDeadline) throw new Error("alpha: no DM within 20 s");
      sendDm("hello");
      const next = performance.now() + 300;
      while (performance.now() < next && holder.readAt.size === 0) await sleep(5);
    }
    for (const name of ["beta", "gamma"]) {
      const s = await spawn(name);
      result.startupMs.push(s.startupMs);
      await focus(s);
    }
    await sleep(plan.settleMs);
    for (const s of sessions.slice(1)) result.rssMb.push(treeRss(s.wire.pid).totalMb);
    result.holderRssMb = treeRss(holder.wire.pid).totalMb;
    log(
      `  sessions: 2nd/3rd startup ${result.startupMs.map((v) => v.toFixed(1)).join(" / ")} ms, ` +
        `rss ${result.rssMb.map((v) => v.toFixed(1)).join(" / ")} MB (holder ${
          result.holderRssMb.toFixed(1)
        } MB)`,
    );

    // DMs focused on gamma travel gateway → holder → socket → gamma.
    const gamma = sessions[2];
    const ids: string[] = [];
    const start = performance.now();
    for (let i = 0; i < plan.messages; i++) {
      const wait = dueAt(start, i, plan.rate) - performance.now();
      if (wait > 0) await sleep(wait);
      ids.push(sendDm(`routed ${i}`));
    }
    await until(() => ids.every((id) => gamma.readAt.has(id)), 10_000, "routed DMs").catch(
      () => {},
    );
    const latencies = ids.flatMap((id) => {
      const s = sentAt.get(id), r = gamma.readAt.get(id);
      return s !== undefined && r !== undefined ? [r - s] : [];
    });
    result.routed = {
      sent: ids.length,
      delivered: latencies.length,
      summary: summarize(latencies),
    };
    log(
      `  sessions: routed ${latencies.length}/${ids.length} to gamma, p50 ${
        result.routed.summary.p50.toFixed(3)
      } ms, p99 ${result.routed.summary.p99.toFixed(3)} ms`,
    );

    // Handover: the holder ends as Claude Code ends it (stdin EOF).
    await holder.wire.close();
    const exitedAt = performance.now();
    const probes: string[] = [];
    const arrived = () => probes.some((id) => sessions.slice(1).some((s) => s.readAt.has(id)));
    while (!arrived() && performance.now() - exitedAt < 20_000) {
      probes.push(sendDm(`after handover ${probes.length}`));
      const next = performance.now() + 50;
      while (performance.now() < next && !arrived()) await sleep(2);
    }
    const first = Math.min(
      ...probes.flatMap((id) =>
        sessions.slice(1).map((s) => s.readAt.get(id)).filter((v): v is number => v !== undefined)
      ),
    );
    if (Number.isFinite(first)) result.handoverMs = first - exitedAt;
    log(`  sessions: handover ${result.handoverMs?.toFixed(0) ?? "none within 20 s"} ms`);
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    log(`  sessions: ERROR ${result.error}`);
    for (const s of sessions) log(`  ${s.name} stderr tail: ${s.wire.stderr().slice(-600)}`);
  } finally {
    for (const s of sessions) await s.wire.close().catch(() => {});
    await emu.close();
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    await Deno.remove(projects, { recursive: true }).catch(() => {});
  }
  return result;
}
