/**
 * Launching code the way the `deno.json` tasks do ("test what ships").
 *
 * {@link runTask} spawns `deno task --quiet <name> …` in the repository, so
 * Deno derives every flag from `deno.json` itself. {@link taskWithEntry}
 * runs another script under exactly the permissions of a task: it takes the
 * task's command line from `deno.json`, swaps its entry point (`main.ts` and
 * what follows it) for the given script and arguments, and runs the result
 * with `deno task --eval`, in the same task shell, so the flags (including
 * any `$(…)` the task computes them with) are never copied by hand.
 *
 * @module
 */

/** The repository root. */
export const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** What a finished process printed. */
export interface TaskRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for a task launch. */
export interface TaskOptions {
  /** Environment variables (PATH, HOME and DENO_DIR are passed on by default). */
  env?: Record<string, string>;
  /** Bytes written to the task's stdin, which is then closed (default: no stdin). */
  stdin?: string;
}

/** The command line of a task as written in `deno.json`. */
export function taskLine(name: string): string {
  const config = JSON.parse(Deno.readTextFileSync(`${REPO}/deno.json`));
  const task = config.tasks?.[name];
  const line = typeof task === "string" ? task : task?.command;
  if (typeof line !== "string") throw new Error(`deno.json has no task ${name}`);
  return line;
}

/** `arg` quoted for the task shell. */
function quote(arg: string): string {
  return /^[A-Za-z0-9_./:=,@+-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'"'"'`)}'`;
}

/**
 * The task line of `name` with its entry point replaced by `entry` (a path
 * relative to the repository) and `args`.
 */
export function lineWithEntry(name: string, entry: string, args: string[]): string {
  const line = taskLine(name);
  const at = line.search(/ main\.ts(?: [^"'$()]*)?$/);
  if (at < 0) throw new Error(`cannot find the main.ts entry point of task ${name}: ${line}`);
  return `${line.slice(0, at)} ${[entry, ...args].map(quote).join(" ")}`;
}

function baseEnv(env: Record<string, string> = {}): Record<string, string> {
  const home = Deno.env.get("HOME") ?? "/tmp";
  return {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: home,
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${home}/.cache/deno`,
    NO_COLOR: "1",
    ...env,
  };
}

/** Spawns `deno task --quiet <args>` in the repository (args[0] is the task name). */
export function spawnTask(args: string[], options: TaskOptions = {}): Deno.ChildProcess {
  const child = new Deno.Command("deno", {
    args: ["task", "--quiet", ...args],
    cwd: REPO,
    env: baseEnv(options.env),
    clearEnv: true,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    void writer.write(new TextEncoder().encode(options.stdin)).then(() => writer.close())
      .catch(() => {});
  }
  return child;
}

/** Collects a spawned task's exit code and output. */
export async function finish(child: Deno.ChildProcess): Promise<TaskRun> {
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs `deno task --quiet <name> <args…>` as a user would, to completion. */
export function runTask(name: string, args: string[], options: TaskOptions = {}): Promise<TaskRun> {
  return finish(spawnTask([name, ...args], options));
}

/** Spawns `entry args…` under exactly the permissions of task `name` (see the module doc). */
export function spawnWithTaskPermissions(
  name: string,
  entry: string,
  args: string[],
  options: TaskOptions = {},
): Deno.ChildProcess {
  return spawnTask(["--eval", lineWithEntry(name, entry, args)], options);
}
