/**
 * The crash test: a stream of 1,000 messages over four chats while the CLI
 * edits `access.json` (`deno task --quiet access allow …`, as users run it),
 * and the bridge (launched as .mcp.json does: `deno task --quiet start`) is
 * SIGKILLed at random moments and started again. What must hold, as the
 * README's "Resilience" section says:
 *
 * - no message is lost: every one reaches some session, live or caught up;
 * - a message reaches Claude twice only when a bridge died between writing it
 *   and journaling it, and the second copy carries `possible_duplicate`;
 * - per chat, first deliveries come oldest first;
 * - every CLI edit survives (strangers' DMs make the bridge write pairing codes
 *   meanwhile, and a bridge may be killed holding the access.json lock), and
 *   the bridge never reads a torn `access.json`.
 *
 * Catch-up brings back at most 20 messages per chat (a documented bound);
 * the sender therefore lets no chat run more than 12 messages ahead of what
 * Claude has received, so the bound is never what is being tested here.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { startEmulator } from "./emulator/mod.ts";
import {
  type BridgeUnderTest,
  makeStateDir,
  type Notification,
  startBridge,
  waitUntil,
} from "./helpers/bridge.ts";
import { bridgePidUnder, REPO, waitForExit } from "./helpers/process.ts";
import { E2E } from "./helpers/world.ts";
import { compareSnowflakes } from "../lib/cursors.ts";

const CHANNEL = "notifications/claude/channel";
const TOTAL = 1000;
const KILLS = 5;
const AHEAD = 12;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A small seeded PRNG, so that a failing run can be replayed (the seed is printed). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test(
  "1,000 messages, concurrent CLI edits and repeated SIGKILLs: nothing lost, duplicates only marked, every edit kept",
  E2E,
  async () => {
    const seed = Number(Deno.env.get("CRASH_SEED") ?? Date.now() % 1_000_000);
    console.error(`crash test seed: ${seed} (CRASH_SEED=${seed} to replay)`);
    const random = prng(seed);
    const emu = await startEmulator({ heartbeatIntervalMs: 1000 });
    const alice = emu.addUser({ username: "alice" });
    // Strangers whose DMs make the bridge write pairing codes into access.json
    // (under its lock) while the CLI writes too, and while it may be killed.
    const strangers = [1, 2, 3, 4, 5, 6].map((i) => emu.addUser({ username: `stranger${i}` }).id);
    const guild = emu.addGuild({ name: "crash" });
    const channels = [1, 2, 3].map((i) => emu.addTextChannel(guild.id, { name: `c${i}` }).id);
    const chats = [emu.dmChannel(alice.id).id, ...channels];
    const stateDir = await makeStateDir({
      dmPolicy: "pairing",
      allowFrom: [alice.id],
      groups: Object.fromEntries(
        channels.map((c) => [c, { requireMention: false, allowFrom: [] }]),
      ),
    });
    const env = {
      DISCORD_BOT_TOKEN: emu.token,
      DISCORD_API_URL: emu.apiUrl,
      DISCORD_STATE_DIR: stateDir,
    };

    // Everything Claude Code received, across every session, in order.
    const received: { id: string; chat: string; duplicate: boolean; session: number }[] = [];
    const sessions: BridgeUnderTest[] = [];
    const seenIds = new Set<string>();
    const start = async () => {
      const b = await startBridge({ env });
      const session = sessions.push(b) - 1;
      b.client.fallbackNotificationHandler = (n: Notification) => {
        if (n.method === CHANNEL) {
          seenIds.add((n.params as { meta: Record<string, string> }).meta.message_id);
          const meta = (n.params as { meta: Record<string, string> }).meta;
          received.push({
            id: meta.message_id,
            chat: meta.chat_id,
            duplicate: meta.possible_duplicate === "true",
            session,
          });
        }
        return Promise.resolve();
      };
      await b.waitForStderr("connected to Discord as", 20_000);
      return b;
    };
    const seen = (id: string) => seenIds.has(id);

    const sent: { id: string; chat: string }[] = [];
    const allowed: string[] = [];
    let streaming = true;
    try {
      let bridge = await start();
      // Every chat has delivered once, so each has a cursor to catch up from.
      for (const chat of chats) {
        sent.push({
          id: emu.sendMessage({ channelId: chat, authorId: alice.id, content: "hi" }).id,
          chat,
        });
      }
      await waitUntil(() => sent.every((m) => seen(m.id)), 10_000, "first deliveries");

      const sender = (async () => {
        for (let i = sent.length; i < TOTAL; i++) {
          const chat = chats[i % chats.length];
          // Flow control: never more than AHEAD messages of a chat unseen.
          await waitUntil(
            () => sent.filter((m) => m.chat === chat && !seen(m.id)).length < AHEAD,
            40_000,
            `chat ${chat} to drain`,
          );
          const id = emu.sendMessage({ channelId: chat, authorId: alice.id, content: `m${i}` }).id;
          sent.push({ id, chat });
          if (i % 4 === 3) await sleep(random() * 12);
          if (i % 150 === 0) {
            const who = strangers[(i / 150) % strangers.length];
            emu.sendMessage({
              channelId: emu.dmChannel(who).id,
              authorId: who,
              content: "let me in",
            });
          }
        }
      })();

      const cli = (async () => {
        for (let n = 0; streaming; n++) {
          const id = String(900_000_000_000_000_000n + BigInt(n));
          const out = await new Deno.Command("deno", {
            args: ["task", "--quiet", "access", "allow", id],
            cwd: REPO,
            env: {
              PATH: Deno.env.get("PATH") ?? "",
              HOME: Deno.env.get("HOME") ?? "/tmp",
              DISCORD_STATE_DIR: stateDir,
              NO_COLOR: "1",
            },
            clearEnv: true,
            stdin: "null",
            stdout: "piped",
            stderr: "piped",
          }).output();
          const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
          assert(out.success, `access allow ${id}: ${text}`);
          allowed.push(id);
        }
      })();

      for (let k = 0; k < KILLS; k++) {
        await sleep(300 + random() * 2500);
        const pid = await bridgePidUnder(bridge.pid);
        Deno.kill(pid, "SIGKILL");
        await waitForExit(pid, 3000);
        await bridge.close();
        await emu.waitFor(() => !emu.gateway.connected, { timeoutMs: 5000 });
        bridge = await start();
      }
      await sender;
      await waitUntil(() => sent.every((m) => seen(m.id)), 30_000, "every message delivered")
        .catch((err) => {
          const missing = sent.filter((m) => !seen(m.id)).map((m) => m.id);
          throw new Error(`${err.message}; ${missing.length} missing, e.g. ${missing.slice(0, 5)}`);
        });
      streaming = false;
      await cli;
      await sleep(500); // a late duplicate would show now

      // No loss (checked above); duplicates only marked.
      assertEquals(sent.length, TOTAL);
      const firsts = new Set<string>();
      for (const r of received) {
        if (firsts.has(r.id)) assert(r.duplicate, `message ${r.id} delivered twice, unmarked`);
        firsts.add(r.id);
      }
      // Nothing foreign, and per chat the first deliveries come oldest first.
      assertEquals(firsts.size, TOTAL);
      for (const chat of chats) {
        const order = [...firsts].filter((id) => received.find((r) => r.id === id)!.chat === chat);
        const sorted = [...order].sort(compareSnowflakes);
        assertEquals(order, sorted, `order in chat ${chat}`);
      }
      // Every CLI edit survived.
      const access = JSON.parse(await Deno.readTextFile(`${stateDir}/access.json`));
      assert(allowed.length > 0);
      // The bridge wrote pairing codes meanwhile (and its writes survived too).
      assert(Object.keys(access.pending ?? {}).length > 0, JSON.stringify(access.pending));
      for (const id of allowed) assert(access.allowFrom.includes(id), `edit allow ${id} lost`);
      const dups = received.length - TOTAL;
      console.error(
        `crash test: ${TOTAL} messages, ${KILLS} SIGKILLs, ${sessions.length} sessions, ` +
          `${allowed.length} CLI edits, ${dups} marked duplicate(s)`,
      );
      // The bridge never read a torn access.json.
      for (const s of sessions) {
        assert(!/ignoring all messages until it is fixed/.test(s.stderr()), s.stderr());
      }
    } finally {
      streaming = false;
      for (const s of sessions) await s.close();
      await emu.close();
      await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    }
  },
);
