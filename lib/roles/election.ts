/**
 * Which role this process takes. One Discord connection per state
 * directory: the process holding `bridge.lock` is the hub; the others follow
 * it over the socket and race for the lock, the winner taking over when the
 * hub's process ends.
 *
 * @module
 */
import { claimInstanceLock, lockPath, readHolder } from "../lifecycle/instance_lock.ts";
import { unixSocketsAvailable } from "../link/socket.ts";
import { describeError, log } from "../core/log.ts";
import { followHub } from "./follower.ts";
import { becomeHub } from "./hub_role.ts";
import type { BridgeProcess } from "./process.ts";

/**
 * Takes this process's role: a lone hub without a token (tools explain it is
 * missing); the hub when the lock is free; otherwise a follower of the hub
 * that takes it over when its process ends. Without Unix sockets (Windows),
 * a process that finds the lock taken stays off Discord until it gets the
 * lock, as before several sessions were shared.
 */
export async function takeRole(p: BridgeProcess): Promise<void> {
  const { stateDir, session, shutdown } = p;
  if (!p.config.DISCORD_BOT_TOKEN) {
    // Nothing to share: tools explain the missing token, as a lone bridge.
    await becomeHub(p, { serve: false });
    return;
  }
  const lock = claimInstanceLock(stateDir, log);
  shutdown.lock = lock;
  const blocked = lock.blocked();
  if (!blocked) {
    await becomeHub(p, { serve: unixSocketsAvailable() });
  } else if (!unixSocketsAvailable()) {
    // No Unix sockets (Windows): as before, this session stays off Discord
    // until the holder ends, then logs in itself.
    log(blocked);
    await becomeHub(p, { serve: false, blocked });
    lock.acquired.then(async () => {
      if (shutdown.ending || !shutdown.hub) return;
      await session.handshakeDone;
      await shutdown.hub.login();
    }).catch((err) => log(`login after takeover failed: ${describeError(err)}`));
  } else {
    const holder = readHolder(lockPath(stateDir));
    log(
      `another Claude Code session holds the Discord bot for this state directory (${
        holder ? `bridge process ${holder.pid}` : "another process"
      }); this session reaches Discord through it, and takes the bot over when it ends`,
    );
    followHub(p);
    lock.acquired.then(() => {
      if (shutdown.ending) return;
      log("this session now holds the Discord bot and serves the other sessions");
      return becomeHub(p, { serve: true, takeover: true });
    }).catch((err) => log(`takeover failed: ${describeError(err)}`));
  }
}
