/**
 * What does a flood of fire-and-forget REST calls cost in discord.js? The
 * bridge sends POST /channels/:id/typing for every delivered message;
 * @discordjs/rest allows 50 requests/s globally, so at 200 messages/s the
 * calls queue in memory. A child process with only discord.js's REST client
 * fires N typing calls at the emulator and reports its RSS before and after.
 *
 *   deno run -A bench/probe_rest_queue.ts [N…]     (default 2000 20000)
 *
 * @module
 */
import { startEmulator } from "../tests/emulator/mod.ts";

const REPO = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

function rssMb(): number {
  const m = /^VmRSS:\s+(\d+)/m.exec(Deno.readTextFileSync("/proc/self/status"));
  return m ? Number(m[1]) / 1024 : NaN;
}

if (Deno.args[0] === "--child") {
  const [, api, token, channel, n] = Deno.args;
  const { REST } = await import("discord.js");
  const rest = new REST({ api }).setToken(token);
  await rest.post(`/channels/${channel}/typing`); // warm: first request loads everything
  await new Promise((r) => setTimeout(r, 1000));
  const before = rssMb();
  const t = performance.now();
  let done = 0;
  for (let i = 0; i < Number(n); i++) {
    rest.post(`/channels/${channel}/typing`).then(() => done++, () => done++);
  }
  await new Promise((r) => setTimeout(r, 2000));
  const after = rssMb();
  console.log(JSON.stringify({
    n: Number(n),
    before,
    after,
    completedIn2s: done,
    perQueuedKb: (after - before) * 1024 / Math.max(1, Number(n) - done),
    ms: performance.now() - t,
  }));
  Deno.exit(0);
}

const sizes = Deno.args.length ? Deno.args.map(Number) : [2000, 20000];
for (const n of sizes) {
  const emu = await startEmulator({
    rateLimits: {
      messages: { limit: 1e9, windowMs: 1000 },
      other: { limit: 1e9, windowMs: 1000 },
      globalPerSecond: 1e9,
    },
  });
  const user = emu.addUser({ username: "alice" });
  const dm = emu.dmChannel(user.id).id;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "-A",
      `${REPO}/bench/probe_rest_queue.ts`,
      "--child",
      emu.apiUrl,
      emu.token,
      dm,
      String(n),
    ],
    cwd: REPO,
    stderr: "inherit",
  }).output();
  const r = JSON.parse(new TextDecoder().decode(out.stdout));
  const served = emu.requests.filter((q) => q.path.endsWith("/typing")).length;
  console.log(
    `${n} typing calls fired at once: RSS ${r.before.toFixed(1)} → ${r.after.toFixed(1)} MB ` +
      `(+${
        (r.after - r.before).toFixed(1)
      } MB); ${r.completedIn2s} completed in 2 s, emulator served ${served}; ` +
      `≈${r.perQueuedKb.toFixed(1)} KB per queued call`,
  );
  await emu.close();
}
