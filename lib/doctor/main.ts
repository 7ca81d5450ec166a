/**
 * `deno task doctor`: runs every check and prints one line per check (with
 * the fix when it fails) on stdout. Exit code 0 only when no check failed.
 *
 * Runs with its own least privilege (see the `doctor` task in deno.json):
 * reads, the doctor's variables, network to Discord (and DISCORD_API_URL's
 * host), and running `claude --version`. It writes nothing and never logs in
 * to the gateway, so it is safe while a session uses the bot.
 *
 * @module
 */
import { addSecret, redact } from "../core/log.ts";
import { exitCode, formatResult, runChecks } from "./checks.ts";
import { gatherFacts, readDoctorEnv } from "./gather.ts";

/** Runs the doctor; returns its exit code. */
export async function runDoctor(
  env: Record<string, string | undefined>,
  print: (line: string) => void,
): Promise<number> {
  addSecret(env.DISCORD_BOT_TOKEN?.trim());
  const facts = await gatherFacts({
    env,
    fetch,
    cwd: env.INIT_CWD || Deno.cwd(),
    claudeVersion: () => claudeOutput(["--version"]),
    pluginOptions: (id) => claudeOutput(["plugin", "configure", id, "--json"]),
  });
  const results = runChecks(facts);
  for (const r of results) print(redact(formatResult(r)));
  const failed = results.filter((r) => r.status === "fail").length;
  const warned = results.filter((r) => r.status === "warn").length;
  print(
    failed
      ? `${failed} check(s) failed.`
      : warned
      ? `No check failed; ${warned} could not tell (warn).`
      : "All checks passed.",
  );
  return exitCode(results);
}

/**
 * What `claude <args>` prints on stdout; throws naming the subcommand (its
 * first two words) when it exits non-zero.
 */
async function claudeOutput(args: string[]): Promise<string> {
  const out = await new Deno.Command("claude", {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!out.success) {
    throw new Error(`claude ${args.slice(0, 2).join(" ")} exited with ${out.code}`);
  }
  return new TextDecoder().decode(out.stdout);
}

if (import.meta.main) {
  const code = await runDoctor(readDoctorEnv(), (line) => console.log(line));
  Deno.exit(code);
}
