/**
 * A ready-made test world: an emulator with a bot, an allowlisted user
 * (alice), a stranger (mallory), another bot, a guild with an opted-in
 * channel, a thread in it and a channel that is not opted in; plus a bridge
 * started against it exactly as Claude Code starts it.
 *
 * @module
 */
import { type DiscordEmulator, startEmulator } from "../emulator/mod.ts";
import { type BridgeUnderTest, makeStateDir, startBridge } from "./bridge.ts";

/** Everything a bridge end-to-end test needs. */
export interface World {
  emu: DiscordEmulator;
  bridge: BridgeUnderTest;
  stateDir: string;
  alice: { id: string; username: string };
  mallory: { id: string; username: string };
  otherBot: { id: string; username: string };
  guildId: string;
  /** Opted in with requireMention true. */
  channelId: string;
  /** Opted in with requireMention false. */
  openChannelId: string;
  /** A thread under `channelId`. */
  threadId: string;
  /** Not opted in. */
  closedChannelId: string;
  aliceDm: string;
  malloryDm: string;
  /** Ends the current bridge as Claude Code does (stdin EOF) and waits for it to exit. */
  stopBridge(): Promise<void>;
  /** Starts a new bridge on the same emulator and state directory (it becomes `bridge`). */
  startBridge(
    opts?: { env?: Record<string, string>; skipReady?: boolean },
  ): Promise<BridgeUnderTest>;
  dispose(): Promise<void>;
}

/** Options for {@link makeWorld}. */
export interface WorldOptions {
  /** Extra access.json keys (merged over the defaults). */
  access?: Record<string, unknown>;
  /** Write no access.json at all. */
  noAccessFile?: boolean;
  env?: Record<string, string>;
  /** Do not wait for the Discord login. */
  skipReady?: boolean;
  /** Gateway heartbeat interval (default 1,000 ms). */
  heartbeatIntervalMs?: number;
  /** Emulate a Discord that leaves `channel_type` out of message events. */
  omitChannelType?: boolean;
  /** Runs after the world is built and before the bridge starts (e.g. to inject faults). */
  beforeStart?: (emu: DiscordEmulator) => void | Promise<void>;
  /** Launch command (default: the `.mcp.json` entry), e.g. under a stand-in parent process. */
  command?: { command: string; args: string[] };
}

/** Builds the world and starts the bridge; waits until it is logged in. */
export async function makeWorld(opts: WorldOptions = {}): Promise<World> {
  const emu = await startEmulator({
    heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 1000,
    omitChannelType: opts.omitChannelType,
  });
  const alice = emu.addUser({ username: "alice" });
  const mallory = emu.addUser({ username: "mallory" });
  const otherBot = emu.addUser({ username: "otherbot", bot: true });
  const guild = emu.addGuild({ name: "test guild" });
  const channel = emu.addTextChannel(guild.id, { name: "general" });
  const open = emu.addTextChannel(guild.id, { name: "open" });
  const closed = emu.addTextChannel(guild.id, { name: "closed" });
  const thread = emu.addThread(channel.id, { name: "a thread" });
  const aliceDm = emu.dmChannel(alice.id).id;
  const malloryDm = emu.dmChannel(mallory.id).id;
  const access = {
    dmPolicy: "allowlist",
    allowFrom: [alice.id],
    groups: {
      [channel.id]: { requireMention: true, allowFrom: [] },
      [open.id]: { requireMention: false, allowFrom: [] },
    },
    ...opts.access,
  };
  const stateDir = await makeStateDir(opts.noAccessFile ? undefined : access);
  await opts.beforeStart?.(emu);
  const launch = async (o: { env?: Record<string, string>; skipReady?: boolean }) => {
    const b = await startBridge({
      env: {
        DISCORD_BOT_TOKEN: emu.token,
        DISCORD_API_URL: emu.apiUrl,
        DISCORD_STATE_DIR: stateDir,
        ...o.env,
      },
      command: opts.command,
    });
    if (!o.skipReady) await b.waitForStderr("connected to Discord as", 15_000);
    return b;
  };
  const bridge = await launch(opts);
  const world: World = {
    emu,
    bridge,
    stateDir,
    alice,
    mallory,
    otherBot,
    guildId: guild.id,
    channelId: channel.id,
    openChannelId: open.id,
    threadId: thread.id,
    closedChannelId: closed.id,
    aliceDm,
    malloryDm,
    async stopBridge() {
      await world.bridge.close();
      await emu.waitFor(() => !emu.gateway.connected, { timeoutMs: 5000 });
    },
    async startBridge(o = {}) {
      world.bridge = await launch({ env: { ...opts.env, ...o.env }, skipReady: o.skipReady });
      return world.bridge;
    },
    async dispose() {
      await world.bridge.close();
      await emu.close();
      await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    },
  };
  return world;
}

/** Runs `fn` in a fresh world and always disposes of it. */
export async function withWorld(
  fn: (w: World) => Promise<void>,
  opts: WorldOptions = {},
): Promise<void> {
  const w = await makeWorld(opts);
  try {
    await fn(w);
  } finally {
    await w.dispose();
  }
}

/** Deno test options for end-to-end tests: child processes outlive single ops by design. */
export const E2E = { sanitizeOps: false, sanitizeResources: false };
