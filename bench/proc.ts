/**
 * Resident memory of a whole process tree, read from /proc (Linux only):
 * `deno task` spawns a second deno, so the root pid alone undercounts.
 *
 * @module
 */

/** One process's share of a tree. */
export interface ProcRss {
  pid: number;
  ppid: number;
  name: string;
  rssKb: number;
}

/** The RSS of a tree: total and per process. */
export interface TreeRss {
  totalMb: number;
  processes: ProcRss[];
}

function readStat(pid: number): { ppid: number; name: string } | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // "pid (comm) state ppid ..." — comm may contain spaces and parentheses.
    const open = stat.indexOf("(");
    const close = stat.lastIndexOf(")");
    const rest = stat.slice(close + 2).split(" ");
    return { ppid: Number(rest[1]), name: stat.slice(open + 1, close) };
  } catch {
    return undefined;
  }
}

function readRssKb(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** `root` and all of its descendants (by scanning every /proc/<pid>/stat). */
export function processTree(root: number): { pid: number; ppid: number; name: string }[] {
  const all: { pid: number; ppid: number; name: string }[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    const s = readStat(pid);
    if (s) all.push({ pid, ...s });
  }
  const byParent = new Map<number, typeof all>();
  for (const p of all) {
    const list = byParent.get(p.ppid) ?? [];
    list.push(p);
    byParent.set(p.ppid, list);
  }
  const rootInfo = all.find((p) => p.pid === root);
  if (!rootInfo) return [];
  const out = [rootInfo];
  for (let i = 0; i < out.length; i++) out.push(...(byParent.get(out[i].pid) ?? []));
  return out;
}

/** Sums VmRSS over `root` and its descendants. */
export function treeRss(root: number): TreeRss {
  const processes = processTree(root).map((p) => ({ ...p, rssKb: readRssKb(p.pid) }));
  const totalKb = processes.reduce((a, p) => a + p.rssKb, 0);
  return { totalMb: totalKb / 1024, processes };
}

/** The 1/5/15-minute load averages, for the report's noise note. */
export function loadAverage(): number[] {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).map(Number);
  } catch {
    return [];
  }
}
