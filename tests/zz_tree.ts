import { makeWorld } from "./helpers/world.ts";
const w = await makeWorld({ env: { CLAUDE_PROJECT_DIR: "/home/me/api" } });
for (const args of [["run", "-A", "--v8-flags=--max-semi-space-size=1,--optimize-for-size", "main.ts"]]) {
const p = new Deno.Command("deno", { args, cwd: "/work/wt/hub", stdin: "piped", stdout: "piped", stderr: "piped",
  env: { PATH: Deno.env.get("PATH")!, HOME: Deno.env.get("HOME")!, DISCORD_BOT_TOKEN: w.emu.token, DISCORD_API_URL: w.emu.apiUrl, DISCORD_STATE_DIR: w.stateDir, CLAUDE_PROJECT_DIR: `/home/me/x` }, clearEnv: true }).spawn();
const out = [];
for (const t of [300, 700, 1000, 2000, 3000]) { await new Promise((r) => setTimeout(r, t)); out.push(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${p.pid}/status`))![1]); }
console.log(args.join(" "), out.join(" "));
p.kill(); await p.status;
}
await w.dispose(); Deno.exit(0);
