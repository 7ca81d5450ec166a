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
 *
 * @module
 */
import { type Config, loadConfig, parseDotEnv, resolveStateDir } from "./lib/config.ts";
import { addSecret, describeError, log } from "./lib/log.ts";
import {
  claimInstanceLock,
  type InstanceLock,
  lockPath,
  readHolder,
} from "./lib/lifecycle/instance_lock.ts";
import { guardConsole } from "./lib/lifecycle/output_guard.ts";
import { watchParent } from "./lib/lifecycle/parent_watch.ts";
import { BRIDGE_ENV, describeSandbox, NO_STATE_DIR } from "./lib/lifecycle/permissions.ts";
import { secureStateDir } from "./lib/lifecycle/state_dir.ts";
import { memoryLinkPair } from "./lib/link/link.ts";
import { HubFrameSchema, SessionFrameSchema } from "./lib/link/protocol.ts";
import {
  connectSocket,
  serveSocket,
  socketPath,
  type SocketServer,
  unixSocketsAvailable,
} from "./lib/link/socket.ts";
import { identityFrom } from "./lib/session/identity.ts";
import { type Session, startSession } from "./lib/session/session.ts";
import { TOOLS } from "./lib/tools/mod.ts";
import type { Hub } from "./lib/hub/hub.ts";
import type { HubFrame, SessionFrame } from "./lib/link/protocol.ts";
import { deliveryProblems, describeProblem } from "./lib/diagnose/delivery.ts";

/** How often a session looks for a hub while none answers on the socket. */
const RECONNECT_MS = 100;

/** Runs the channel until Claude Code goes away; never writes to stdout itself. */
export async function runBridge(env: Record<string, string | undefined>): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    // Keep serving MCP so every tool call can explain the problem.
    log(describeError(err));
    config = {
      DISCORD_BOT_TOKEN: undefined,
      DISCORD_STATE_DIR: safeStateDir(env),
      DISCORD_API_URL: "https://discord.com/api",
      DISCORD_ACCESS_MODE: "live",
    };
  }
  registerTokenSecrets(config, env);
  const stateDir = config.DISCORD_STATE_DIR;
  if (stateDir !== NO_STATE_DIR) secureStateDir(stateDir, log);
  log(describeSandbox(stateDir));

  let hub: Hub | undefined;
  let server: SocketServer | undefined;
  let lock: InstanceLock | undefined;
  let ending = false;
  /** Set once this process starts becoming the hub: it stops looking for another. */
  let takingOver = false;

  /**
   * Ends this process: says goodbye to the hub, stops the hub if this is it,
   * releases the lock. Declared first: Claude Code may go away at any moment,
   * even while this process is still becoming the hub.
   */
  async function end(reason: string): Promise<void> {
    if (ending) return;
    ending = true;
    log(`shutting down (${reason})`);
    // Never hang: Claude Code waits for us, and an orphan would keep the bot login.
    const hardStop = setTimeout(() => Deno.exit(0), 1_500);
    server?.close();
    await session.close();
    await hub?.stop();
    clearTimeout(hardStop);
    lock?.release();
    Deno.exit(0);
  }

  // Why this session's Claude Code will (or may) drop our events (lib/diagnose).
  const problems = deliveryProblems(env);
  for (const problem of problems) log(describeProblem(problem));

  // The session side: MCP on stdio, answered at once.
  const session: Session = startSession({
    identity: identityFrom(env, safeCwd()),
    problems,
    tools: TOOLS,
    log,
    onEnd: (reason) => void end(reason),
  });

  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    try {
      Deno.addSignalListener(signal, () => void end(signal));
    } catch {
      // Signal not supported on this platform.
    }
  }
  // Claude Code killed with SIGKILL may leave our stdin open: watch for it.
  watchParent((reason) => void end(reason));

  /** The hub side, in this process: loaded only here (discord.js comes with its login). */
  const becomeHub = async (opts: { serve: boolean; blocked?: string; takeover?: boolean }) => {
    takingOver = true;
    const [{ startHub }, { AccessStore }] = await Promise.all([
      import("./lib/hub/hub.ts"),
      import("./lib/access/store.ts"),
    ]);
    if (ending) return;
    const access = new AccessStore({ stateDir, mode: config.DISCORD_ACCESS_MODE });
    hub = startHub({ config, access, tools: TOOLS, log, takeover: opts.takeover });
    const pair = memoryLinkPair({ session: SessionFrameSchema, hub: HubFrameSchema }, log);
    hub.attach(pair.hub);
    session.attach(pair.session);
    if (opts.serve) {
      try {
        server = serveSocketFor(hub, stateDir);
      } catch (err) {
        log(`other sessions cannot reach Discord through this one: ${describeError(err)}`);
      }
    }
    if (opts.blocked) {
      hub.block(opts.blocked);
      return;
    }
    // Claude Code gets its initialize answer before discord.js loads.
    await session.handshakeDone;
    if (!ending) await hub.login();
  };

  /** The session-only role: reach the hub over the socket, and again after each takeover. */
  const followHub = () => {
    const path = socketPath(stateDir);
    let attempt = 0;
    const tryConnect = async () => {
      if (ending || takingOver) return;
      try {
        const link = await connectSocket<HubFrame, SessionFrame>(path, HubFrameSchema, log);
        if (ending || takingOver) return link.close();
        attempt = 0;
        session.attach(link);
      } catch {
        if (attempt++ === 0) log("waiting for the session that holds the Discord bot to answer");
        setTimeout(tryConnect, RECONNECT_MS);
      }
    };
    session.onLinkLost = () => void tryConnect();
    void tryConnect();
  };

  if (!config.DISCORD_BOT_TOKEN) {
    // Nothing to share: tools explain the missing token, as a lone bridge.
    await becomeHub({ serve: false });
  } else {
    // One Discord connection per state directory: the lock holder is the hub.
    lock = claimInstanceLock(stateDir, log);
    const blocked = lock.blocked();
    if (!blocked) {
      await becomeHub({ serve: unixSocketsAvailable() });
    } else if (!unixSocketsAvailable()) {
      // No Unix sockets (Windows): as before, this session stays off Discord
      // until the holder ends, then logs in itself.
      log(blocked);
      await becomeHub({ serve: false, blocked });
      lock.acquired.then(async () => {
        if (ending || !hub) return;
        await session.handshakeDone;
        await hub.login();
      }).catch((err) => log(`login after takeover failed: ${describeError(err)}`));
    } else {
      const holder = readHolder(lockPath(stateDir));
      log(
        `another Claude Code session holds the Discord bot for this state directory (${
          holder ? `bridge process ${holder.pid}` : "another process"
        }); this session reaches Discord through it, and takes the bot over when it ends`,
      );
      followHub();
      lock.acquired.then(() => {
        if (ending) return;
        log("this session now holds the Discord bot and serves the other sessions");
        return becomeHub({ serve: true, takeover: true });
      }).catch((err) => log(`takeover failed: ${describeError(err)}`));
    }
  }
  // The kernel drops the lock on any exit; this also removes the file.
  globalThis.addEventListener("unload", () => lock?.release());

  // Runs until end() exits the process.
  await new Promise<never>(() => {});
}

/** Serves the session socket for `hub`. */
function serveSocketFor(hub: Hub, stateDir: string): SocketServer {
  return serveSocket<SessionFrame, HubFrame>(
    socketPath(stateDir),
    SessionFrameSchema,
    (link) => hub.attach(link),
    log,
  );
}

function safeCwd(): string | undefined {
  try {
    return Deno.cwd();
  } catch {
    return undefined;
  }
}

/**
 * Registers the token for redaction from wherever it may come: the
 * environment, or `.env` even when the rest of the configuration is invalid
 * (the error path must not be the one that prints it). Its last segment (the
 * HMAC, the part that is actually secret) is registered too, so a token cut
 * short by a dependency's message is still hidden.
 */
function registerTokenSecrets(config: Config, env: Record<string, string | undefined>): void {
  const tokens = [config.DISCORD_BOT_TOKEN, env.DISCORD_BOT_TOKEN];
  try {
    tokens.push(
      parseDotEnv(Deno.readTextFileSync(`${config.DISCORD_STATE_DIR}/.env`)).DISCORD_BOT_TOKEN,
    );
  } catch {
    // no .env
  }
  for (const token of tokens) {
    const t = token?.trim();
    addSecret(t);
    addSecret(t?.split(".").at(-1));
  }
}

/**
 * Reads only the variables the bridge uses: `deno task start` grants exactly
 * these (`--allow-env=…`), and `Deno.env.toObject()` would need them all.
 */
function readEnv(names: readonly string[]): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const name of names) {
    try {
      env[name] = Deno.env.get(name);
    } catch {
      // Not granted (a narrower --allow-env than ours): treat it as unset.
    }
  }
  return env;
}

function safeStateDir(env: Record<string, string | undefined>): string {
  try {
    return resolveStateDir(env);
  } catch {
    return NO_STATE_DIR;
  }
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
    guardConsole(log);
    globalThis.addEventListener("unhandledrejection", (e) => {
      e.preventDefault();
      log(`unexpected error: ${describeError(e.reason)}`);
    });
    // Deno prints an uncaught error raw (unredacted) and exits; log it instead.
    globalThis.addEventListener("error", (e) => {
      e.preventDefault();
      log(`unexpected error: ${describeError(e.error)}`);
    });
    await runBridge(readEnv(BRIDGE_ENV));
  } else {
    console.error(
      `unknown command "${command}". Usage: main.ts          run the bridge (MCP on stdio)
       main.ts access …  manage access (see: main.ts access --help)`,
    );
    Deno.exit(2);
  }
}
