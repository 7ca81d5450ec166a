/**
 * Where startup time and memory go. Each case is a fresh `deno run` that
 * imports a chain of modules in order and reports, after each step, the time
 * and the process RSS (VmRSS) and V8 heap. The parent prints medians.
 *
 *   deno run -A bench/probe_startup.ts [--runs 5]
 *
 * The child side (`--child spec…`) never touches stdout except for its report.
 * It runs with --no-lock --cached-only so importing a transitive package
 * (undici, @discordjs/rest, @discordjs/ws) by its locked version adds nothing
 * to deno.lock.
 *
 * @module
 */
import { median } from "./stats.ts";

const REPO = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

function rssMb(): number {
  const m = /^VmRSS:\s+(\d+)/m.exec(Deno.readTextFileSync("/proc/self/status"));
  return m ? Number(m[1]) / 1024 : NaN;
}

interface Step {
  spec: string;
  ms: number;
  rssMb: number;
  heapMb: number;
}

if (Deno.args[0] === "--child") {
  const boot = performance.now(); // time from the runtime's origin to our first line
  const steps: Step[] = [{ spec: "(start)", ms: 0, rssMb: rssMb(), heapMb: 0 }];
  steps[0].heapMb = Deno.memoryUsage().heapUsed / 2 ** 20;
  const t0 = performance.now();
  for (const spec of Deno.args.slice(1)) {
    const target = spec.startsWith("./") ? `${REPO}/${spec.slice(2)}` : spec;
    await import(target);
    steps.push({
      spec,
      ms: performance.now() - t0,
      rssMb: rssMb(),
      heapMb: Deno.memoryUsage().heapUsed / 2 ** 20,
    });
  }
  console.log(JSON.stringify({ boot, steps }));
  Deno.exit(0);
}

const runs = Number(Deno.args[Deno.args.indexOf("--runs") + 1] || 5) || 5;

/** What a process loads before its `initialize` answer: main.ts's static graph (no MCP SDK). */
const HANDSHAKE = [
  "zod",
  "./lib/session/session.ts",
  "./main.ts",
];
const cases: { name: string; v8?: string; specs: string[] }[] = [
  { name: "empty deno run (baseline)", specs: [] },
  {
    name: "bridge chain: handshake modules, then discord.js",
    specs: [...HANDSHAKE, "./lib/discord/client.ts"],
  },
  { name: "zod alone", specs: ["zod"] },
  { name: "MCP SDK types.js alone (pulls zod)", specs: ["@modelcontextprotocol/sdk/types.js"] },
  {
    name: "MCP SDK server+stdio alone",
    specs: [
      "@modelcontextprotocol/sdk/server/index.js",
      "@modelcontextprotocol/sdk/server/stdio.js",
    ],
  },
  { name: "discord.js alone", specs: ["discord.js"] },
  { name: "undici alone (via @discordjs/rest)", specs: ["npm:undici@6.29.1"] },
  { name: "@discordjs/rest alone", specs: ["npm:@discordjs/rest@2.6.3"] },
  { name: "@discordjs/ws alone", specs: ["npm:@discordjs/ws@1.2.3"] },
  {
    name: "discord.js after @discordjs/rest+ws",
    specs: ["npm:@discordjs/rest@2.6.3", "npm:@discordjs/ws@1.2.3", "discord.js"],
  },
  {
    name: "bridge chain, --v8-flags=--lite-mode",
    v8: "--lite-mode",
    specs: [...HANDSHAKE, "./lib/discord/client.ts"],
  },
  {
    name: "bridge chain, --v8-flags=--single-threaded",
    v8: "--single-threaded",
    specs: [...HANDSHAKE, "./lib/discord/client.ts"],
  },
  {
    name: "bridge chain, --v8-flags=--max-lazy",
    v8: "--max-lazy",
    specs: [...HANDSHAKE, "./lib/discord/client.ts"],
  },
];

const dec = new TextDecoder();
const results: Record<string, unknown>[] = [];
for (const c of cases) {
  const samples: { wall: number; boot: number; steps: Step[] }[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const args = ["run", "--quiet", "-A", "--no-lock", "--cached-only"];
    if (c.v8) args.push(`--v8-flags=${c.v8}`);
    args.push(`${REPO}/bench/probe_startup.ts`, "--child", ...c.specs);
    const t = performance.now();
    const out = await new Deno.Command(Deno.execPath(), { args, cwd: REPO, stderr: "piped" })
      .output();
    const wall = performance.now() - t;
    if (!out.success) {
      console.error(`${c.name}: failed: ${dec.decode(out.stderr).slice(0, 400)}`);
      break;
    }
    if (i === 0) continue; // warm-up (module cache)
    samples.push({ wall, ...JSON.parse(dec.decode(out.stdout)) });
  }
  if (!samples.length) continue;
  const steps = samples[0].steps.map((s, k) => ({
    spec: s.spec,
    ms: median(samples.map((x) => x.steps[k].ms)),
    rssMb: median(samples.map((x) => x.steps[k].rssMb)),
    heapMb: median(samples.map((x) => x.steps[k].heapMb)),
  }));
  const wall = median(samples.map((s) => s.wall));
  const boot = median(samples.map((s) => s.boot));
  results.push({ name: c.name, v8: c.v8, wall, boot, steps });
  console.log(
    `\n## ${c.name}${c.v8 ? ` [${c.v8}]` : ""}: process wall ${wall.toFixed(0)} ms` +
      ` (runtime boot to first line ${boot.toFixed(0)} ms)`,
  );
  let prev = steps[0];
  for (const s of steps) {
    console.log(
      `  ${s.spec.padEnd(44)} t=${s.ms.toFixed(1).padStart(6)} ms (+${
        (s.ms - prev.ms).toFixed(1).padStart(5)
      })` +
        `  rss=${s.rssMb.toFixed(1).padStart(6)} MB (+${
          (s.rssMb - prev.rssMb).toFixed(1).padStart(5)
        })` +
        `  heap=${s.heapMb.toFixed(1).padStart(5)} MB`,
    );
    prev = s;
  }
}
await Deno.mkdir(`${REPO}/.bench`, { recursive: true });
await Deno.writeTextFile(`${REPO}/.bench/probe_startup.json`, JSON.stringify(results, null, 1));
