/**
 * `deno task bench`: measures the bridge against the local Discord emulator,
 * spawned exactly as .mcp.json says and driven over stdio like Claude Code,
 * next to a floor (bench/floor_relay.ts). Prints a Markdown table of medians
 * over several runs and writes every raw sample to JSON. It reports; it does
 * not assert.
 *
 *   deno task bench [--runs 5] [--quick] [--json .bench/results.json]
 *                   [--messages 2000] [--rate 200] [--big 20000] [--big-rate 1000]
 *                   [--replies 200] [--settle 1000] [--warmup 1] [--no-floor]
 *                   [--command "deno run -A main.ts"] [--label name]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { loadAverage } from "./proc.ts";
import { runOnce, type RunPlan, type RunResult } from "./scenario.ts";
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
    command: { type: "string" },
    label: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (flags.help) {
  console.log(
    `usage: deno task bench [--runs N] [--quick] [--json PATH] [--messages N] [--rate N]
       [--big N] [--big-rate N] [--replies N] [--settle MS] [--warmup N] [--no-floor]
       [--command "CMD ARGS"] [--label NAME]
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
  if (!flags["no-floor"]) {
    await runOnce({ ...floorPlan, inboundCount: Math.min(messages, 100) }, log);
  }
}

const bridgeRuns: RunResult[] = [];
const floorRuns: RunResult[] = [];
for (let i = 0; i < runs; i++) {
  // Interleaved, so load from other work on the machine hits both alike.
  log(`run ${i + 1}/${runs}`);
  bridgeRuns.push(await runOnce(bridgePlan, log));
  if (!flags["no-floor"]) floorRuns.push(await runOnce(floorPlan, log));
}
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

const mark = (ok: boolean | undefined) => (ok === undefined ? "" : ok ? " ✓" : " ✗");
const fin = (v: number) => Number.isFinite(v);
const rows: string[][] = [
  [
    "startup_ms (spawn → initialize result)",
    fmt(b.startup_ms),
    "—",
    "—",
    `≤ 100${mark(fin(b.startup_ms) ? b.startup_ms <= 100 : undefined)}`,
    "~230 (handshake)",
  ],
  [
    "ready_ms (spawn → first DM notification)",
    fmt(b.ready_ms),
    fmt(f.ready_ms),
    ratio(b.ready_ms, f.ready_ms),
    `< 230${mark(fin(b.ready_ms) ? b.ready_ms < 230 : undefined)}`,
    "—",
  ],
  [
    `inbound_p50_ms (${messages} @ ${rate}/s)`,
    fmt(b.inbound_p50_ms, 3),
    fmt(f.inbound_p50_ms, 3),
    ratio(b.inbound_p50_ms, f.inbound_p50_ms),
    "—",
    "0.4",
  ],
  [
    `inbound_p99_ms (${messages} @ ${rate}/s)`,
    fmt(b.inbound_p99_ms, 3),
    fmt(f.inbound_p99_ms, 3),
    ratio(b.inbound_p99_ms, f.inbound_p99_ms),
    `≤ 1.5 and ≤ 3x floor${
      mark(
        fin(b.inbound_p99_ms)
          ? b.inbound_p99_ms <= 1.5 &&
            (!fin(f.inbound_p99_ms) || b.inbound_p99_ms <= 3 * f.inbound_p99_ms)
          : undefined,
      )
    }`,
    "1.6",
  ],
  [
    "delivered",
    `${fmt(b.delivered, 0)} / ${messages}`,
    `${fmt(f.delivered, 0)} / ${messages}`,
    "—",
    `${messages}${mark(fin(b.delivered) ? b.delivered === messages : undefined)}`,
    "—",
  ],
  [
    "rss_idle_mb (tree, after ready)",
    fmt(b.rss_idle_mb),
    fmt(f.rss_idle_mb),
    ratio(b.rss_idle_mb, f.rss_idle_mb),
    `≤ 70${mark(fin(b.rss_idle_mb) ? b.rss_idle_mb <= 70 : undefined)}`,
    "~75",
  ],
  [
    `rss_after_mb (after ${messages})`,
    fmt(b.rss_after_inbound_mb),
    fmt(f.rss_after_inbound_mb),
    ratio(b.rss_after_inbound_mb, f.rss_after_inbound_mb),
    "—",
    "~87",
  ],
];
if (big > 0) {
  rows.push(
    [
      `rss_after_mb (after +${big} @ ${bigRate}/s)`,
      fmt(b.rss_after_big_mb),
      "—",
      `+${fmt(b.rss_growth_big_mb)} MB vs idle`,
      `≤ idle + 5${mark(fin(b.rss_growth_big_mb) ? b.rss_growth_big_mb <= 5 : undefined)}`,
      "—",
    ],
    [
      `big-phase p50 / p99 ms (${bigRate}/s, info)`,
      `${fmt(b.big_p50_ms, 3)} / ${fmt(b.big_p99_ms, 3)}`,
      "—",
      "—",
      `${fmt(b.big_delivered, 0)} / ${big} delivered`,
      "—",
    ],
  );
}
rows.push(
  [`reply_p50_ms (${replies} sequential)`, fmt(b.reply_p50_ms, 2), "—", "—", "—", "—"],
  [`reply_p99_ms (${replies} sequential)`, fmt(b.reply_p99_ms, 2), "—", "—", "—", "—"],
);
const header = [
  "metric",
  `bridge (median of ${bridgeRuns.filter((r) => !r.error).length})`,
  "floor",
  "bridge/floor",
  "target",
  "reference (Bun plugin)",
];
const table = [header, header.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`).join(
  "\n",
);

const failures = [...bridgeRuns, ...floorRuns].filter((r) => r.error);
console.log(table);
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
      table,
    },
    null,
    1,
  ),
);
log(`wrote ${jsonPath}`);
