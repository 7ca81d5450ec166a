/**
 * Process helpers for lifecycle tests (Linux: reads /proc).
 *
 * @module
 */
import { waitUntil } from "./bridge.ts";

/** The repository root. */
export const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** Whether a process with this pid exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** The argv of a process. */
export function argv(pid: number): string[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/** Pids whose parent is `pid`. */
export function children(pid: number): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) {
        out.push(Number(e.name));
      }
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** The `deno run … main.ts` process below `root` (the bridge itself). */
export async function bridgePidUnder(root: number, timeoutMs = 5000): Promise<number> {
  return await waitUntil(
    () => {
      const queue = [root];
      while (queue.length) {
        const pid = queue.shift()!;
        const args = argv(pid);
        if (args.includes("run") && args.at(-1) === "main.ts") return pid;
        queue.push(...children(pid));
      }
      return undefined;
    },
    timeoutMs,
    `the bridge process under ${root}`,
  );
}

/** Waits until `pid` has exited. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<void> {
  await waitUntil(() => !alive(pid), timeoutMs, `process ${pid} to exit`);
}

/** SIGKILLs `pid` if it still exists (cleanup). */
export function killIfAlive(pid: number): void {
  try {
    if (alive(pid)) Deno.kill(pid, "SIGKILL");
  } catch {
    // gone
  }
}

/** Every descendant of `root` (children, their children, …), found through /proc. */
export function descendants(root: number): number[] {
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const kids = children(queue.shift()!);
    out.push(...kids);
    queue.push(...kids);
  }
  return out;
}

/** Pids of live processes whose argv contains every one of `parts`, in order. */
export function processesWithArgs(...parts: string[]): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const args = argv(Number(e.name));
    const i = args.indexOf(parts[0]);
    if (i >= 0 && parts.every((p, k) => args[i + k] === p) && alive(Number(e.name))) {
      out.push(Number(e.name));
    }
  }
  return out;
}
