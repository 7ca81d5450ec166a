/**
 * `deno task bench`: measures the bridge against the local Discord emulator,
 * spawned exactly as .mcp.json says and driven over stdio like Claude Code,
 * next to a floor (bench/floor_relay.ts). Prints a Markdown table of medians
 * over several runs and writes every raw sample to JSON. It reports; it does
 * not assert.
 *
 *   deno task bench [--peer <dir> | --no-peer] [--runs 5] [--quick]
 *                   [--json .bench/results.json] [--messages 2000] [--rate 200]
 *                   [--big 20000] [--big-rate 1000] [--replies 200] [--settle 1000]
 *                   [--warmup 1] [--no-floor] [--no-sessions]
 *                   [--command "deno run -A main.ts"] [--label name]
 *
 * With a peer (the official plugin, see bench/peer.ts) the runs of ours, the
 * peer and the floor are interleaved so machine noise hits all alike, and the
 * table shows both columns and their ratio.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { measureJournalCost } from "./journal_cost.ts";
import { findInstalledPeer, type Peer, PEER_HOWTO, preparePeer } from "./peer.ts";
import { loadAverage } from "./proc.ts";
import { runOnce, type RunPlan, type RunResult } from "./scenario.ts";
import { runSessions, type SessionsResult } from "./sessions.ts";
import { fmt, median, ratio } from "./stats.ts";

const REPO = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string" },
    quick: { type: "boolean", default: false },
    json: { type: "string", default: ".bench/results.json" },
    messages: { type: "string" },
    rate: { type: "string", default: "200" },
    big: { type: "string" },
    "big-rate": { type: "string", default: "1000" },
    replies: { type: "string" },
    settle: { type: "string", default: "1000" },
    warmup: { type: "string", default: "1" },
    "no-floor": { type: "boolean", default: false },
    peer: { type: "string" },
    "no-peer": { type: "boolean", default: false },
    "no-sessions": { type: "boolean", default: false },
    command: { type: "string" },
    label: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (flags.help) {
  console.log(
    `usage: deno task bench [--runs N] [--quick] [--json PATH] [--messages N] [--rate N]
       [--big N] [--big-rate N] [--replies N] [--settle MS] [--warmup N] [--no-floor]
       [--peer DIR | --no-peer] [--no-sessions] [--command "CMD ARGS"] [--label NAME]
--peer DIR: a checkout of external_plugins/discord (official plugin), measured side by side;
            default: an installed copy under ~/.claude/plugins/, if any.
defaults: --runs 5 (1 with --quick), 2000 messages at 200/s, then 20000 at 1000/s,
          200 replies; --quick: 200 messages, 2000 big, 20 replies.`,
  );
  Deno.exit(0);
}

const num = (v: string | undefined, dflt: number) => (v === undefined ? dflt : Number(v));
const quick = flags.quick;
const runs = num(flags.runs, quick ? 1 : 5);
const warmup = num(flags.warmup, 1);
const messages = num(flags.messages, quick ? 200 : 2000);
const rate = num(flags.rate, 200);
const big = num(flags.big, quick ? 2000 : 20000);
const bigRate = num(flags["big-rate"], 1000);
const replies = num(flags.replies, quick ? 20 : 200);
const settleMs = num(flags.settle, 1000);
const jsonPath = flags.json.startsWith("/") ? flags.json : `${REPO}/${flags.json}`;

function mcpJsonCommand(): { command: string; args: string[] } {
  const json = JSON.parse(Deno.readTextFileSync(`${REPO}/.mcp.json`));
  const entry = json.mcpServers.discord;
  return { command: entry.command, args: entry.args ?? [] };
}

const bridgeCmd = flags.command
  ? { command: flags.command.split(/\s+/)[0], args: flags.command.split(/\s+/).slice(1) }
  : mcpJsonCommand();
const label = flags.label ?? (flags.command ? "custom" : ".mcp.json");

const bridgePlan: RunPlan = {
  kind: "bridge",
  repo: REPO,
  ...bridgeCmd,
  inboundCount: messages,
  inboundRate: rate,
  bigCount: big,
  bigRate,
  replyCount: replies,
  settleMs,
};
const floorPlan: RunPlan = {
  kind: "floor",
  repo: REPO,
  command: Deno.execPath(),
  args: ["run", "--quiet", "-A", "bench/floor_relay.ts"],
  inboundCount: messages,
  inboundRate: rate,
  bigCount: 0,
  bigRate,
  replyCount: 0,
  settleMs,
};

const log = (s: string) => console.error(s);

let peer: Peer | undefined;
if (!flags["no-peer"]) {
  const source = flags.peer ?? findInstalledPeer(Deno.env.get("HOME"));
  if (source) {
    peer = await preparePeer(source, `${REPO}/.bench`, log);
    log(`peer: ${peer.source} (scratch copy ${peer.dir}, Bun ${peer.bunVersion})`);
    log(`peer: ${peer.patch}`);
    log(`peer: launched as its .mcp.json says: ${peer.command} ${peer.args.join(" ")}`);
  } else {
    log(PEER_HOWTO);
  }
}
const peerPlan: RunPlan | undefined = peer && {
  ...bridgePlan,
  kind: "peer",
  command: peer.command,
  args: peer.args,
  env: peer.env,
};

const loadBefore = loadAverage();
const started = performance.now();
log(
  `bench: bridge = ${bridgeCmd.command} ${bridgeCmd.args.join(" ")} (${label}); ${runs} run(s)` +
    ` + ${warmup} warm-up; load ${loadBefore.join(" ")}`,
);

for (let i = 0; i < warmup; i++) {
  log(`warm-up ${i + 1}/${warmup} (discarded)`);
  await runOnce({
    ...bridgePlan,
    bigCount: 0,
    replyCount: Math.min(replies, 5),
    inboundCount: Math.min(messages, 100),
  }, log);
  if (peerPlan) {
    await runOnce({
      ...peerPlan,
      bigCount: 0,
      replyCount: Math.min(replies, 5),
      inboundCount: Math.min(messages, 100),
    }, log);
  }
  if (!flags["no-floor"]) {
    await runOnce({ ...floorPlan, inboundCount: Math.min(messages, 100) }, log);
  }
}

const bridgeRuns: RunResult[] = [];
const floorRuns: RunResult[] = [];
const peerRuns: RunResult[] = [];
for (let i = 0; i < runs; i++) {
  // Interleaved, so load from other work on the machine hits all alike; the
  // order alternates so neither side always runs right after the other.
  log(`run ${i + 1}/${runs}`);
  const order = peerPlan && i % 2 === 1 ? ["peer", "bridge"] : ["bridge", "peer"];
  for (const who of order) {
    if (who === "bridge") bridgeRuns.push(await runOnce(bridgePlan, log));
    else if (peerPlan) peerRuns.push(await runOnce(peerPlan, log));
  }
  if (!flags["no-floor"]) floorRuns.push(await runOnce(floorPlan, log));
}
const sessionRuns: SessionsResult[] = [];
if (!flags["no-sessions"] && !flags.command) {
  for (let i = 0; i < runs; i++) {
    log(`sessions run ${i + 1}/${runs}`);
    sessionRuns.push(
      await runSessions({
        repo: REPO,
        ...bridgeCmd,
        messages: Math.min(messages, 1000),
        rate,
        settleMs,
      }, log),
    );
  }
}
// What at-most-once across a crash costs (the delivery journal, issue 10).
const journalDir = await Deno.makeTempDir({ prefix: "journal-bench-" });
const journal = await measureJournalCost({ messages: quick ? 2_000 : 20_000, dir: journalDir });
await Deno.remove(journalDir, { recursive: true }).catch(() => {});
const loadAfter = loadAverage();
const elapsedS = (performance.now() - started) / 1000;

type Pick = (r: RunResult) => number | undefined;
const med = (rs: RunResult[], pick: Pick) =>
  median(rs.filter((r) => !r.error).map(pick).filter((v): v is number => v !== undefined));
const metrics: Record<string, Pick> = {
  startup_ms: (r) => r.startupMs,
  ready_ms: (r) => r.readyMs,
  inbound_p50_ms: (r) => r.inbound?.summary.p50,
  inbound_p99_ms: (r) => r.inbound?.summary.p99,
  inbound_max_ms: (r) => r.inbound?.summary.max,
  delivered: (r) => r.inbound?.delivered,
  rss_idle_mb: (r) => r.rssIdle?.totalMb,
  rss_after_inbound_mb: (r) => r.rssAfterInbound?.totalMb,
  rss_after_big_mb: (r) => r.rssAfterBig?.totalMb,
  rss_growth_big_mb: (r) =>
    r.rssAfterBig && r.rssIdle ? r.rssAfterBig.totalMb - r.rssIdle.totalMb : undefined,
  big_p50_ms: (r) => r.big?.summary.p50,
  big_p99_ms: (r) => r.big?.summary.p99,
  big_delivered: (r) => r.big?.delivered,
  reply_p50_ms: (r) => r.replies?.summary.p50,
  reply_p99_ms: (r) => r.replies?.summary.p99,
  reply_errors: (r) => r.replies?.errors,
};
const medians = (rs: RunResult[]) =>
  Object.fromEntries(Object.entries(metrics).map(([k, pick]) => [k, med(rs, pick)]));
const b = medians(bridgeRuns);
const f = medians(floorRuns);
const p = medians(peerRuns);

const mark = (ok: boolean | undefined) => (ok === undefined ? "" : ok ? " ✓" : " ✗");
const fin = (v: number) => Number.isFinite(v);
/** `ours ≤ official` when both are measured; blank otherwise. */
const vsPeer = (k: string) =>
  peer && fin(b[k]) && fin(p[k]) ? `≤ official${mark(b[k] <= p[k])}` : "";
const row = (name: string, k: string, digits = 1, target = vsPeer(k)) => [
  name,
  fmt(b[k], digits),
  peer ? fmt(p[k], digits) : "—",
  peer ? ratio(b[k], p[k]) : "—",
  fmt(f[k], digits),
  target,
];
const rows: string[][] = [
  row("startup_ms (spawn → initialize answered)", "startup_ms"),
  row("ready_ms (spawn → first DM delivered)", "ready_ms"),
  row(`inbound_p50_ms (${messages} DMs @ ${rate}/s)`, "inbound_p50_ms", 3),
  row(
    `inbound_p99_ms (${messages} DMs @ ${rate}/s)`,
    "inbound_p99_ms",
    3,
    [
      vsPeer("inbound_p99_ms"),
      fin(b.inbound_p99_ms) && fin(f.inbound_p99_ms)
        ? `≤ 2× floor${mark(b.inbound_p99_ms <= 2 * f.inbound_p99_ms)}`
        : "",
    ].filter(Boolean).join("; "),
  ),
  [
    "delivered",
    `${fmt(b.delivered, 0)} / ${messages}`,
    peer ? `${fmt(p.delivered, 0)} / ${messages}` : "—",
    "—",
    `${fmt(f.delivered, 0)} / ${messages}`,
    `all${mark(fin(b.delivered) ? b.delivered === messages : undefined)}`,
  ],
  row("rss_idle_mb (process tree, after ready)", "rss_idle_mb"),
  row(`rss_after_mb (after ${messages} DMs)`, "rss_after_inbound_mb"),
  row(`reply_p50_ms (${replies} sequential)`, "reply_p50_ms", 2),
  row(`reply_p99_ms (${replies} sequential, info)`, "reply_p99_ms", 2, ""),
];
if (big > 0) {
  rows.push(
    [
      `rss_growth_mb (after +${big} @ ${bigRate}/s, info)`,
      `+${fmt(b.rss_growth_big_mb)}`,
      peer ? `+${fmt(p.rss_growth_big_mb)}` : "—",
      "—",
      "—",
      "",
    ],
  );
}
const header = [
  "figure",
  `ours (median of ${bridgeRuns.filter((r) => !r.error).length})`,
  peer ? `official (median of ${peerRuns.filter((r) => !r.error).length})` : "official",
  "ours/official",
  "floor (bare relay)",
  "target",
];
const table = [header, header.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`).join(
  "\n",
);

const okSessions = sessionRuns.filter((r) => !r.error);
const sMed = (pick: (r: SessionsResult) => number | undefined) =>
  median(okSessions.map(pick).filter((v): v is number => v !== undefined));
const sessionsTable = sessionRuns.length === 0 ? "" : [
  `| several sessions (median of ${okSessions.length} of ${sessionRuns.length}) | ours | target |`,
  "| --- | --- | --- |",
  `| 2nd / 3rd session startup_ms (spawn → initialize) | ${fmt(sMed((r) => r.startupMs[0]))} / ${
    fmt(sMed((r) => r.startupMs[1]))
  } | ≤ 150 |`,
  `| 2nd / 3rd session RSS MB (process tree, idle) | ${fmt(sMed((r) => r.rssMb[0]))} / ${
    fmt(sMed((r) => r.rssMb[1]))
  } | ≤ 45 |`,
  `| holder RSS MB with 3 sessions | ${fmt(sMed((r) => r.holderRssMb))} | — |`,
  `| inbound p50 / p99 ms via the holder (${Math.min(messages, 1000)} DMs @ ${rate}/s) | ${
    fmt(sMed((r) => r.routed?.summary.p50), 3)
  } / ${fmt(sMed((r) => r.routed?.summary.p99), 3)} | p99 ≤ 2 |`,
  `| delivered via the holder | ${fmt(sMed((r) => r.routed?.delivered), 0)} / ${
    Math.min(messages, 1000)
  } | all |`,
  `| handover_ms (holder exit → first DM via the new holder) | ${
    fmt(sMed((r) => r.handoverMs), 0)
  } | ≤ 5000 |`,
].join("\n");

const failures = [...bridgeRuns, ...peerRuns, ...floorRuns].filter((r) => r.error);
console.log(table);
if (sessionsTable) console.log(`\n${sessionsTable}`);
console.log(
  `\ndelivery journal (crash safety, per message): ${
    (journal.withJournalNs / 1000).toFixed(1)
  } µs ` +
    `with it vs ${(journal.withoutJournalNs / 1000).toFixed(1)} µs without ` +
    `(+${(journal.journalNs / 1000).toFixed(1)} µs, ${
      journal.ratio.toFixed(2)
    }x of the write path)`,
);
for (const r of sessionRuns.filter((r) => r.error)) console.log(`sessions run failed: ${r.error}`);
console.log(
  `\n${runs} run(s) each, interleaved; ${Deno.build.os}/${Deno.build.arch}, ${navigator.hardwareConcurrency} cores, deno ${Deno.version.deno}; ` +
    `load avg before ${loadBefore.join(" ")}, after ${loadAfter.join(" ")}; ${
      elapsedS.toFixed(0)
    } s total. ` +
    `Emulator rate limits lifted; latency = emulator gateway write → line read from the child's stdout, same clock.`,
);
if (failures.length) {
  console.log(
    `${failures.length} run(s) failed: ${failures.map((r) => `${r.kind}: ${r.error}`).join("; ")}`,
  );
}

const round = (xs: number[]) => xs.map((x) => Math.round(x * 1000) / 1000);
const slim = (r: RunResult) => ({
  ...r,
  inbound: r.inbound && { ...r.inbound, latencies: round(r.inbound.latencies) },
  big: r.big && { ...r.big, latencies: round(r.big.latencies) },
  replies: r.replies && { ...r.replies, latencies: round(r.replies.latencies) },
});
await Deno.mkdir(jsonPath.replace(/\/[^/]*$/, ""), { recursive: true });
await Deno.writeTextFile(
  jsonPath,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      deno: Deno.version,
      cores: navigator.hardwareConcurrency,
      loadAverage: { before: loadBefore, after: loadAfter },
      elapsedSeconds: elapsedS,
      options: { runs, warmup, quick, messages, rate, big, bigRate, replies, settleMs },
      bridge: { label, command: bridgeCmd, medians: b, runs: bridgeRuns.map(slim) },
      floor: { command: floorPlan.args, medians: f, runs: floorRuns.map(slim) },
      peer: peer &&
        { ...peer, medians: p, runs: peerRuns.map(slim) },
      sessions: { runs: sessionRuns },
      journal,
      table,
      sessionsTable,
    },
    null,
    1,
  ),
);
log(`wrote ${jsonPath}`);
