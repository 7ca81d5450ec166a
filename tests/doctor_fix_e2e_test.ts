/**
 * The fixes `deno task doctor` prints must work when run as printed. A
 * corrupt `access.json` is the case where the advice is a command:
 * `deno task access policy pairing --fresh`. With the default policy
 * already `pairing` that command used to change nothing and leave the broken
 * file in place (while saying it started from defaults).
 */
import { ok as assert } from "node:assert/strict";
import { makeStateDir } from "./helpers/bridge.ts";

const REPO = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

/** `deno task --quiet <args>` as a person runs it, in a clean environment. */
async function task(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; out: string }> {
  const res = await new Deno.Command("deno", {
    args: ["task", "--quiet", ...args],
    cwd: REPO,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      NO_COLOR: "1",
      // Nowhere to go: the doctor's Discord checks fail fast and are not looked at.
      DISCORD_API_URL: "http://127.0.0.1:1",
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: res.code, out: dec.decode(res.stdout) + dec.decode(res.stderr) };
}

const accessLine = (out: string) =>
  out.split("\n").find((l) => l.slice(5).startsWith("access.json:")) ?? `(none in:\n${out})`;

Deno.test("doctor: the printed fix for a corrupt access.json repairs it (default policy, nothing else to change)", async () => {
  const home = await Deno.makeTempDir({ prefix: "doctor-fix-home-" });
  const stateDir = await makeStateDir({ dmPolicy: "pairing", allowFrom: [] });
  try {
    const broken = '{"dmPolicy": "pairing", "allowFrom": [1,';
    await Deno.writeTextFile(`${stateDir}/access.json`, broken);
    const env = { HOME: home, DISCORD_STATE_DIR: stateDir };

    const before = await task(["doctor"], env);
    const line = accessLine(before.out);
    assert(line.startsWith("FAIL access.json: unusable"), before.out);
    const fix = /`deno task (access [^`]+)`/.exec(line)?.[1];
    assert(fix, `no command in the fix: ${line}`);

    const run = await task(fix.split(" "), env);
    assert(run.code === 0, run.out);

    const after = await task(["doctor"], env);
    assert(accessLine(after.out).startsWith("ok   access.json: valid"), after.out);
    const status = await task(["access", "status"], env);
    assert(status.code === 0, status.out);
    // The broken text is kept aside, not lost.
    const kept = [...Deno.readDirSync(stateDir)].filter((e) => e.name.includes(".corrupt-"));
    assert(kept.length === 1, JSON.stringify(kept));
    assert(Deno.readTextFileSync(`${stateDir}/${kept[0].name}`) === broken);
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
});
