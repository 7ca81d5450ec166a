/**
 * End to end: the `reply` tool against the Discord emulator. Files go up as
 * multipart attached to the first message; anything that is not a regular
 * file, or that lives in the state directory outside inbox/ (even through a
 * symlink or a hard link), is refused before anything is sent. Delivery
 * options come from access.json, split text keeps its fences, and no send
 * ever lets Discord parse mentions.
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { planMessage, splitMessage, type SplitMode } from "../lib/text/chunk.ts";
import { shapeForDiscord } from "../lib/text/discord_markdown.ts";
import type { DiscordEmulator } from "./emulator/mod.ts";
import { withWorld, type World } from "./helpers/world.ts";

const e2e = { sanitizeOps: false, sanitizeResources: false };

/** Every message create or edit the bridge made, with its JSON payload (multipart unwrapped). */
function messageWrites(emu: DiscordEmulator) {
  return emu.requests
    .filter((q) =>
      (q.method === "POST" || q.method === "PATCH") &&
      /^\/channels\/\d+\/messages(\/\d+)?$/.test(q.path)
    )
    .map((q) => {
      const body = (q.body ?? {}) as Record<string, unknown>;
      const multipart = "payload_json" in body;
      return {
        method: q.method,
        path: q.path,
        status: q.status,
        multipart,
        payload: (multipart ? body.payload_json : body) as Record<string, unknown>,
        files: (multipart ? body.files : []) as { filename: string; size: number }[],
      };
    });
}

/** Discord parses no mention of any kind: not @everyone/@here, roles, users or the replied user. */
function assertMentionsOff(emu: DiscordEmulator) {
  const writes = messageWrites(emu);
  for (const w of writes) {
    const am = w.payload.allowed_mentions as Record<string, unknown> | undefined;
    assert(am, `${w.method} ${w.path} has no allowed_mentions`);
    assertEquals(am.parse, [], `${w.method} ${w.path}`);
    assert(!(am.roles as unknown[] | undefined)?.length, `${w.path} allows roles`);
    assert(!(am.users as unknown[] | undefined)?.length, `${w.path} allows users`);
    assert(am.replied_user !== true, `${w.path} pings the replied user`);
  }
  return writes.length;
}

const botMessages = (w: World, chat: string) =>
  w.emu.messages(chat).filter((m) => m.author.id === w.emu.bot.id);

Deno.test(
  "reply uploads files as multipart on the first message, inbox files included",
  e2e,
  () =>
    withWorld(async (w) => {
      const dir = await Deno.makeTempDir({ prefix: "reply-files-" });
      try {
        const report = new TextEncoder().encode("quarterly numbers\n");
        const image = crypto.getRandomValues(new Uint8Array(60_000));
        await Deno.writeFile(`${dir}/report.txt`, report);
        await Deno.writeFile(`${dir}/chart.png`, image);
        // The inbox is the one part of the state dir that may be sent back.
        await Deno.mkdir(`${w.stateDir}/inbox`, { recursive: true });
        await Deno.writeTextFile(`${w.stateDir}/inbox/photo.txt`, "from the inbox");
        // A symlink is judged by its target: this one points at a harmless file.
        await Deno.symlink(`${dir}/report.txt`, `${dir}/link-to-report.txt`);

        const text = `here you go @everyone\n${"word ".repeat(500)}`; // > 2000: two messages
        const r = await w.bridge.call("reply", {
          chat_id: w.aliceDm,
          text,
          files: [
            `${dir}/report.txt`,
            `${dir}/chart.png`,
            `${w.stateDir}/inbox/photo.txt`,
            `${dir}/link-to-report.txt`,
          ],
        });
        assert(!r.isError, r.text);
        assertMatch(r.text, /sent 2 messages with 4 file\(s\)/);
        const [first, second] = botMessages(w, w.aliceDm);
        assertEquals(
          first.attachments.map((a) => a.filename),
          ["report.txt", "chart.png", "photo.txt", "report.txt"],
        );
        assertEquals(second.attachments, []);
        // The bytes Discord stored are the file's bytes.
        const got = new Uint8Array(await (await fetch(first.attachments[1].url)).arrayBuffer());
        assertEquals(got, image);
        const writes = messageWrites(w.emu);
        assertEquals(writes.map((x) => x.multipart), [true, false]);
        assertEquals(writes[0].files.map((f) => f.size), [
          report.length,
          60_000,
          14,
          report.length,
        ]);
        assertEquals(assertMentionsOff(w.emu), 2);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }),
);

Deno.test(
  "reply refuses files it must not send, naming the file, and sends nothing",
  e2e,
  () =>
    withWorld(async (w) => {
      const dir = await Deno.makeTempDir({ prefix: "reply-refuse-" });
      try {
        const state = w.stateDir;
        await Deno.writeTextFile(`${state}/.env`, "DISCORD_BOT_TOKEN=secret.token.value\n");
        await Deno.mkdir(`${state}/inbox`, { recursive: true });
        await Deno.writeTextFile(`${dir}/ok.txt`, "fine");
        // Sparse: 10 MiB + 1 byte without writing 10 MiB.
        const big = await Deno.open(`${dir}/big.bin`, { write: true, create: true });
        await big.truncate(10 * 1024 * 1024 + 1);
        big.close();
        await Deno.symlink(`${state}/.env`, `${dir}/notes.txt`);
        await Deno.symlink(state, `${dir}/statelink`);
        await Deno.symlink(`${state}/.env`, `${state}/inbox/innocent.txt`);
        await Deno.link(`${state}/.env`, `${dir}/hardlink.txt`);
        await Deno.mkdir(`${dir}/folder`);

        const cases: [string[], RegExp][] = [
          [[`${state}/.env`], /inside the channel's state directory/],
          [[`${state}/access.json`], /inside the channel's state directory/],
          [[`${dir}/notes.txt`], /inside the channel's state directory/], // symlink to the token file
          [[`${dir}/statelink/access.json`], /inside the channel's state directory/], // symlinked directory
          [[`${state}/inbox/innocent.txt`], /inside the channel's state directory/], // symlink out of the inbox
          [[`${state}/inbox/../.env`], /inside the channel's state directory/],
          [[`${state}/inbox`], /inside the channel's state directory/],
          [[`${dir}/hardlink.txt`], /hard link/],
          [[`${dir}/folder`], /not a regular file \(a directory\)/],
          // Holds the environment (the token, when it came from there). The
          // bridge's own sandbox may already deny reading it.
          [["/proc/self/environ"], /pseudo-files|cannot be read/],
          [[`${dir}/big.bin`], /10\.0 MB, over Discord's 10 MB upload limit/],
          [[`${dir}/missing.txt`], /does not exist/],
          [["relative/path.txt"], /absolute path/],
          // One bad file stops the whole reply, even after a good one.
          [[`${dir}/ok.txt`, `${dir}/notes.txt`], /notes\.txt refused/],
          [Array.from({ length: 11 }, () => `${dir}/ok.txt`), /at most 10 files/],
        ];
        for (const [files, why] of cases) {
          const r = await w.bridge.call("reply", { chat_id: w.aliceDm, text: "here", files });
          assert(r.isError, `${files[files.length - 1]} was accepted: ${r.text}`);
          assertMatch(r.text, why);
          assert(!r.text.includes("secret.token.value"));
        }
        // Not allowlisted: refused before any file is looked at.
        const stranger = await w.bridge.call("reply", {
          chat_id: w.malloryDm,
          text: "here",
          files: [`${dir}/ok.txt`],
        });
        assert(stranger.isError);
        assertMatch(stranger.text, /not allowed/);
        assertEquals(messageWrites(w.emu), []);
        assertEquals(botMessages(w, w.aliceDm), []);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }),
);

async function setAccess(w: World, extra: Record<string, unknown>) {
  const path = `${w.stateDir}/access.json`;
  const current = JSON.parse(await Deno.readTextFile(path));
  await Deno.writeTextFile(path, JSON.stringify({ ...current, ...extra }, null, 2));
}

Deno.test(
  "replyToMode, textChunkLimit and chunkMode are read from access.json",
  e2e,
  () =>
    withWorld(async (w) => {
      const text = Array.from(
        { length: 6 },
        (_, i) => `Paragraph ${i}: ${"some words here ".repeat(6)}\nsecond line of ${i}.`,
      ).join("\n\n");
      // One chat per mode: each has its own rate-limit bucket, so no waiting.
      const quoted = async (mode: string, chat: string) => {
        const inbound = w.emu.sendMessage({ channelId: chat, authorId: w.alice.id, content: "q" });
        await setAccess(w, { replyToMode: mode, textChunkLimit: 250, chunkMode: "newline" });
        const r = await w.bridge.call("reply", { chat_id: chat, text, reply_to: inbound.id });
        assert(!r.isError, r.text);
        const sent = botMessages(w, chat);
        assertEquals(
          sent.map((m) => m.content),
          splitMessage(text, { limit: 250, mode: "newline" }),
        );
        for (const m of sent) {
          assert(m.content.length <= 250);
          // The quote never pings the person quoted.
          assertEquals(m.mentions, []);
        }
        return sent.map((m) => m.message_reference?.message_id === inbound.id);
      };
      const all = await quoted("all", w.aliceDm);
      assert(all.length >= 4, `only ${all.length} chunks`);
      assertEquals(all, all.map(() => true));
      assertEquals(await quoted("first", w.openChannelId), all.map((_, i) => i === 0));
      assertEquals(await quoted("off", w.threadId), all.map(() => false));
      // newline mode cut at paragraph ends, not mid-line.
      const chunks = splitMessage(text, { limit: 250, mode: "newline" });
      for (const c of chunks.slice(0, -1)) assert(c.endsWith("\n\n"), JSON.stringify(c));

      // length mode fills each message up to the limit instead.
      await setAccess(w, { textChunkLimit: 300, chunkMode: "length", replyToMode: "off" });
      const r = await w.bridge.call("reply", { chat_id: w.channelId, text });
      assert(!r.isError, r.text);
      const sent = botMessages(w, w.channelId).map((m) => m.content);
      assertEquals(sent, splitMessage(text, { limit: 300, mode: "length" }));
      assertEquals(sent.slice(0, -1).map((c) => c.length), sent.slice(0, -1).map(() => 300));
      assertMentionsOff(w.emu);
    }),
);

Deno.test(
  "replies never ping @everyone, @here, roles or users, whatever the text says",
  e2e,
  () =>
    withWorld(async (w) => {
      const text = `@everyone @here <@&${w.guildId}> <@${w.alice.id}> <@!${w.mallory.id}> look`;
      const r = await w.bridge.call("reply", { chat_id: w.openChannelId, text });
      assert(!r.isError, r.text);
      const [m] = botMessages(w, w.openChannelId);
      assertEquals(m.content, text);
      assertEquals(m.mention_everyone, false);
      assertEquals(m.mentions, []);
      assertEquals(m.mention_roles, []);
      assertEquals(assertMentionsOff(w.emu), 1);
    }),
);

// ---------------------------------------------------------------------------
// Splitting, end to end, over generated Markdown.

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Markdown with prose, long lines, emoji and fenced blocks of several kinds. */
function generate(seed: number, size: number): string {
  const rand = prng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const words = ["alpha", "beta", "`code`", "**bold**", "😀", "naïve", "x".repeat(40), "<@123>"];
  const line = () =>
    Array.from({ length: 1 + Math.floor(rand() * 14) }, () => pick(words)).join(" ");
  const parts: string[] = [];
  let length = 0;
  while (length < size) {
    const kind = rand();
    let part: string;
    if (kind < 0.45) {
      part = Array.from({ length: 1 + Math.floor(rand() * 4) }, line).join("\n");
    } else {
      const fence = pick(["```", "~~~", "````"]);
      const lang = pick(["ts", "python", "", "json", "sh"]);
      const body = Array.from(
        { length: 2 + Math.floor(rand() * 25) },
        () => "  ".repeat(Math.floor(rand() * 3)) + line(),
      );
      // A longer fence may hold a shorter one, which must not close it.
      if (fence === "````") body.splice(1, 0, "```inner", "still inside", "```");
      part = `${fence}${lang}\n${body.join("\n")}\n${fence}`;
    }
    parts.push(part);
    length += part.length + 2;
  }
  return parts.join("\n\n");
}

/** An independent CommonMark fence scan: true when every opened block is closed. */
function balanced(text: string): boolean {
  let open: string | null = null;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (open === null) {
      const m = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
      if (m && !(m[1][0] === "`" && m[2].includes("`"))) open = m[1];
    } else {
      const m = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(line);
      if (m && m[1][0] === open[0] && m[1].length >= open.length) open = null;
    }
  }
  return open === null;
}

Deno.test(
  "generated fenced replies reach Discord within the limit, balanced, reassembling exactly",
  e2e,
  () =>
    withWorld(async (w) => {
      const runs: { chat: string; limit: number; mode: SplitMode; seed: number }[] = [
        { chat: w.aliceDm, limit: 300, mode: "length", seed: 1 },
        { chat: w.openChannelId, limit: 300, mode: "newline", seed: 2 },
        { chat: w.channelId, limit: 450, mode: "length", seed: 3 },
        { chat: w.threadId, limit: 2000, mode: "newline", seed: 4 },
      ];
      let reopened = 0;
      // Sequential (one access.json), but each chat has its own rate-limit bucket.
      for (const { chat, limit, mode, seed } of runs) {
        const text = generate(seed, limit === 2000 ? 6000 : 1800);
        await setAccess(w, { textChunkLimit: limit, chunkMode: mode, maxReplyMessages: 50 });
        const r = await w.bridge.call("reply", { chat_id: chat, text });
        assert(!r.isError, r.text);
        const got = botMessages(w, chat).map((m) => m.content);
        // Nothing in these inputs needs reshaping for Discord; code blocks
        // that fit in one message are kept whole (atomic).
        const shaped = shapeForDiscord(text);
        assertEquals(shaped.text, text);
        const plan = planMessage(text, { limit, mode, atomic: shaped.atomic });
        assert(got.length >= 3, `seed ${seed}: only ${got.length} messages`);
        // Exact reassembly: the untouched bodies concatenate to the text, and
        // what Discord stored is each body plus only the synthetic fence lines.
        assertEquals(plan.map((c) => c.body).join(""), text);
        const rendered = plan.filter((c) => c.prefix || c.suffix || c.body.trim())
          .map((c) => c.prefix + c.body + c.suffix);
        assertEquals(got, rendered, `seed ${seed}`);
        for (const [i, c] of got.entries()) {
          assert(c.length <= limit, `seed ${seed} chunk ${i}: ${c.length} > ${limit}`);
          assert(balanced(c), `seed ${seed} chunk ${i} has an unclosed fence:\n${c}`);
        }
        for (const c of plan) {
          if (!c.prefix) continue;
          reopened++;
          // A reopened block carries its language when it had one.
          assertMatch(c.prefix, /^(`{3,}|~{3,})(ts|python|json|sh)?\n$/);
        }
      }
      assert(reopened >= 3, `only ${reopened} blocks were cut; the inputs test too little`);
      assertMentionsOff(w.emu);
    }),
);
