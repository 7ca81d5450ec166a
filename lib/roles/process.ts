/**
 * What the roles of one bridge process share.
 *
 * @module
 */
import type { Config } from "../core/config.ts";
import type { Session } from "../session/session.ts";
import type { Shutdown } from "./shutdown.ts";

/** One bridge process: its configuration, its session, and how it ends. */
export interface BridgeProcess {
  config: Config;
  /** The state directory (`config.DISCORD_STATE_DIR`). */
  stateDir: string;
  /** The session side, running in every process. */
  session: Session;
  /** What runs, and how it stops. */
  shutdown: Shutdown;
  /** Set once this process starts becoming the hub: it stops looking for another. */
  takingOver: boolean;
}
