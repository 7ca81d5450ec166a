/**
 * The variables each shipped task grants are exactly the ones its program
 * reads: `deno task start` must let the bridge see the variables that switch
 * channels off and the launcher's DISCORD_CLAUDE_ARGV (or it could never
 * warn about them), and `deno task doctor` the shell's. Read from deno.json,
 * never copied by hand.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { BRIDGE_ENV } from "../lib/lifecycle/permissions.ts";
import { DELIVERY_ENV } from "../lib/diagnose/delivery.ts";
import { DOCTOR_ENV } from "../lib/doctor/gather.ts";

const tasks = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url))).tasks;

/**
 * The `--allow-env` list of the step that runs `entry`: the last one before
 * it, outside the `$(…)` helper steps.
 */
function programEnv(task: string, entry: string): string[] {
  const outside = task.replace(/"\$\([^)]*\)"/g, "");
  const upTo = outside.slice(0, outside.lastIndexOf(entry));
  const lists = [...upTo.matchAll(/--allow-env=([A-Za-z0-9_,]+)/g)].map((m) => m[1]);
  assert(lists.length > 0, `an --allow-env for ${entry} in: ${task}`);
  return lists.at(-1)!.split(",").sort();
}

Deno.test("env grants: deno task start grants exactly BRIDGE_ENV, which covers what delivery checks read", () => {
  assertEquals(programEnv(tasks.start, "main.ts"), [...BRIDGE_ENV].sort());
  for (const name of DELIVERY_ENV) assert(BRIDGE_ENV.includes(name), name);
});

Deno.test("env grants: deno task doctor grants exactly DOCTOR_ENV, and runs only claude", () => {
  assertEquals(programEnv(tasks.doctor, "lib/doctor/main.ts"), [...DOCTOR_ENV].sort());
  const outside = tasks.doctor.replace(/"\$\([^)]*\)"/g, "");
  assert(/--allow-run=claude(\s|$)/.test(outside), tasks.doctor);
  assert(!/--allow-write|--allow-ffi|--allow-sys|(^|\s)-A(\s|$)|--allow-all/.test(outside));
});
