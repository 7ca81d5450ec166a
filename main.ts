/**
 * Entry point.
 *
 * - `deno run main.ts` (no arguments): run the Discord channel, an MCP
 *   server on stdio, as Claude Code spawns it from `.mcp.json`.
 * - `deno run main.ts access …`: manage who may talk to the session.
 *
 * Every Claude Code session that enables the channel spawns one process.
 * Each runs the SESSION side (MCP server, tools, permission requests). The
 * one process that holds `bridge.lock` also runs the HUB (the Discord
 * connection: gateway, gate, pairing, prompts, REST) and serves the others
 * over `<stateDir>/sessions.sock`. The others never load discord.js; when
 * the hub's process ends, one of them takes the lock and becomes the hub.
 * The roles live in `lib/roles/`: `election.ts` (which role), `hub_role.ts`
 * (the hub), `follower.ts` (reaching the hub over the socket),
 * `shutdown.ts` (ending once, in order).
 *
 * @module
 */
import { log } from "./lib/core/log.ts";
import { BRIDGE_ENV } from "./lib/lifecycle/permissions.ts";
import { deliveryProblems, describeProblem } from "./lib/diagnose/delivery.ts";
import { identityFrom } from "./lib/session/identity.ts";
import { startSession } from "./lib/session/session.ts";
import { TOOLS } from "./lib/tools/mod.ts";
import { readEnv } from "./lib/core/env.ts";
import { bootConfig, guardProcess, safeCwd } from "./lib/roles/boot.ts";
import { takeRole } from "./lib/roles/election.ts";
import { Shutdown } from "./lib/roles/shutdown.ts";

/** Runs the channel until Claude Code goes away; never writes to stdout itself. */
export async function runBridge(env: Record<string, string | undefined>): Promise<void> {
  const config = bootConfig(env);
  const shutdown = new Shutdown();

  // Why this session's Claude Code will (or may) drop our events (lib/diagnose).
  const problems = deliveryProblems(env);
  for (const problem of problems) log(describeProblem(problem));

  // The session side, in every process: MCP on stdio, answered at once.
  const session = startSession({
    identity: identityFrom(env, safeCwd()),
    problems,
    tools: TOOLS,
    log,
    onEnd: (reason) => void shutdown.end(reason),
  });
  shutdown.session = session;
  shutdown.listen();

  // The hub side, in the process holding the lock; the others follow it.
  await takeRole({
    config,
    stateDir: config.DISCORD_STATE_DIR,
    session,
    shutdown,
    takingOver: false,
  });

  // Runs until shutdown.end() exits the process.
  await new Promise<never>(() => {});
}

if (import.meta.main) {
  const [command, ...rest] = Deno.args;
  if (command === "access") {
    const { runAccessCli } = await import("./lib/access/cli.ts");
    const code = await runAccessCli(rest, {
      env: readEnv(["HOME", "USERPROFILE", "DISCORD_STATE_DIR", "DISCORD_ACCESS_MODE"]),
      stdout: (s: string) => Deno.stdout.writeSync(new TextEncoder().encode(s)),
      stderr: (s: string) => Deno.stderr.writeSync(new TextEncoder().encode(s)),
    });
    Deno.exit(code);
  } else if (command === undefined) {
    guardProcess();
    await runBridge(readEnv(BRIDGE_ENV));
  } else {
    console.error(
      `unknown command "${command}". Usage: main.ts          run the bridge (MCP on stdio)
       main.ts access …  manage access (see: main.ts access --help)`,
    );
    Deno.exit(2);
  }
}
