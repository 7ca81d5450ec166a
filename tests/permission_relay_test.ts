/**
 * End-to-end specification of the permission relay (issue 3): Claude Code's
 * `permission_request` goes in over stdio, the prompt comes out in Discord
 * (the emulator, driven by the real discord.js client), and clicks or
 * `yes abcde` replies come back as exactly one
 * `notifications/claude/channel/permission` verdict.
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import type { InteractionOutcome, Message, RecordedRequest } from "./emulator/mod.ts";
import { startBridge, waitUntil } from "./helpers/bridge.ts";
import { makeWorld, type World, type WorldOptions } from "./helpers/world.ts";

const e2e = { sanitizeOps: false, sanitizeResources: false };

const REQUEST = "notifications/claude/channel/permission_request";
const VERDICT = "notifications/claude/channel/permission";
const EPHEMERAL = 64;

/** A world with a second approver, bob, next to alice. */
interface RelayWorld extends World {
  bob: { id: string; username: string };
  bobDm: string;
  /** Rewrites access.json (read again by the bridge on each use). */
  setAccess(extra: Record<string, unknown>): Promise<void>;
}

async function withWorld(fn: (w: RelayWorld) => Promise<void>, opts: WorldOptions = {}) {
  const base = await makeWorld(opts);
  const bob = base.emu.addUser({ username: "bob" });
  // Only guild members can see (and click) a prompt in a guild channel. The
  // emulator does not check that, and sends a click by a non-member without
  // the member's user, which real Discord never does.
  for (const user of [bob, base.alice, base.mallory]) base.emu.addMember(base.guildId, user.id);
  const w: RelayWorld = {
    ...base,
    bob,
    bobDm: base.emu.dmChannel(bob.id).id,
    async setAccess(extra) {
      const path = `${base.stateDir}/access.json`;
      const current = JSON.parse(await Deno.readTextFile(path));
      await Deno.writeTextFile(path, JSON.stringify({ ...current, ...extra }, null, 2));
    },
  };
  try {
    await w.setAccess({ allowFrom: [w.alice.id, bob.id], ...opts.access });
    await fn(w);
  } finally {
    await base.dispose();
  }
}

function request(w: World, params: Partial<Record<string, string>> = {}) {
  const full = {
    request_id: "abcde",
    tool_name: "Bash",
    description: "List the files in the project",
    input_preview: '{"command":"ls -la"}',
    ...params,
  };
  return w.bridge.client.notification({ method: REQUEST, params: full });
}

const verdicts = (w: World) =>
  w.bridge.notifications.filter((n) => n.method === VERDICT).map((n) => n.params);

const botMessages = (w: World, chatId: string) =>
  w.emu.messages(chatId).filter((m) => m.author.id === w.emu.bot.id);

/** The bot's prompt for `requestId` in a chat, once it is there. */
function promptIn(w: World, chatId: string, requestId = "abcde"): Promise<Message> {
  return w.emu.waitFor(
    () => botMessages(w, chatId).find((m) => m.content.includes(`\`${requestId}\``)),
    { message: `prompt ${requestId} in ${chatId}` },
  );
}

function buttons(m: Message): { label: string; style: number; custom_id: string }[] {
  return (m.components as { components: { label: string; style: number; custom_id: string }[] }[])
    .flatMap((row) => row.components)
    .map(({ label, style, custom_id }) => ({ label, style, custom_id }));
}

/** Lets stray, wrongly duplicated verdicts or edits arrive before counting them. */
const settle = () => new Promise((r) => setTimeout(r, 400));

/** An interaction answered in place (callback 7) with no buttons left. */
function assertUpdatedToOutcome(o: InteractionOutcome, pattern: RegExp) {
  assert(o.acknowledged, "the click was not acknowledged within 3 s");
  assertEquals(o.callback?.type, 7);
  assertMatch(o.callback?.data?.content ?? "", pattern);
  assertEquals(o.callback?.data?.components, []);
}

/** An ephemeral reply (callback 4, flags 64) that matches `pattern`. */
function assertEphemeral(o: InteractionOutcome, pattern: RegExp) {
  assert(o.acknowledged, "the click was not acknowledged within 3 s");
  assertEquals(o.callback?.type, 4);
  assertEquals((o.callback?.data?.flags ?? 0) & EPHEMERAL, EPHEMERAL);
  assert(o.ephemeral);
  assertMatch(o.callback?.data?.content ?? "", pattern);
}

/**
 * Nothing the bridge sent may exceed Discord's limits: the emulator enforces
 * them (400, code 50035), and the bodies are checked here as well.
 */
function assertWithinDiscordLimits(requests: RecordedRequest[]) {
  for (const q of requests) {
    const where = `${q.method} ${q.path}`;
    assert(
      q.status !== 400,
      `${where} was rejected: ${JSON.stringify(q.body ?? null).slice(0, 300)}`,
    );
    const raw = q.body as Record<string, unknown> | undefined;
    if (!raw || typeof raw !== "object") continue;
    const body = (q.path.startsWith("/interactions/") ? raw.data : raw) as
      | {
        content?: string;
        components?: { components: { label?: string; custom_id?: string }[] }[];
      }
      | undefined;
    if (!body) continue;
    assert((body.content ?? "").length <= 2000, `${where}: content ${body.content?.length}`);
    const rows = body.components ?? [];
    assert(rows.length <= 5, `${where}: ${rows.length} rows`);
    for (const row of rows) {
      assert(row.components.length <= 5, `${where}: row of ${row.components.length}`);
      for (const c of row.components) {
        assert((c.label ?? "").length <= 80, `${where}: label`);
        assert((c.custom_id ?? "").length <= 100, `${where}: custom_id`);
      }
    }
  }
}

Deno.test(
  "a permission request reaches every approver's DM with Allow, Deny and Details",
  e2e,
  () =>
    withWorld(async (w) => {
      await request(w, { input_preview: '{"command":"rm -rf build"}' });
      for (const dm of [w.aliceDm, w.bobDm]) {
        const m = await promptIn(w, dm);
        assertMatch(m.content, /Claude wants to run \*\*Bash\*\*/);
        assertMatch(m.content, /List the files in the project/);
        assertMatch(m.content, /rm -rf build/);
        assertMatch(m.content, /yes abcde/);
        assertEquals(buttons(m), [
          { label: "Allow", style: 3, custom_id: "perm:allow:abcde" },
          { label: "Deny", style: 4, custom_id: "perm:deny:abcde" },
          { label: "Details", style: 2, custom_id: "perm:details:abcde" },
        ]);
      }
      // Nobody else is asked, and a prompt pings nobody.
      assertEquals(botMessages(w, w.malloryDm), []);
      const posts = w.emu.requests.filter((q) => q.method === "POST" && /messages$/.test(q.path));
      assertEquals(posts.length, 2);
      for (const p of posts) {
        assertEquals((p.body as { allowed_mentions: unknown }).allowed_mentions, { parse: [] });
      }
      assertEquals(verdicts(w), []);
    }),
);

Deno.test(
  "Allow gives one allow verdict; every copy then shows who decided, without buttons",
  e2e,
  () =>
    withWorld(async (w) => {
      await request(w);
      const mine = await promptIn(w, w.aliceDm);
      const bobs = await promptIn(w, w.bobDm);
      const o = await w.emu.clickButton({
        userId: w.alice.id,
        messageId: mine.id,
        customId: "perm:allow:abcde",
      });
      assertUpdatedToOutcome(o, /Allowed by alice/);
      await w.bridge.waitForNotification(VERDICT);
      // Bob's copy is edited in place (PATCH), not re-posted.
      const edited = await w.emu.waitFor(() => {
        const m = w.emu.message(w.bobDm, bobs.id);
        return m?.components.length === 0 && m;
      }, { message: "bob's copy updated" });
      assertMatch(edited.content, /Allowed by alice/);
      assert(w.emu.requests.some((q) =>
        q.method === "PATCH" && q.path === `/channels/${w.bobDm}/messages/${bobs.id}`
      ));
      assertEquals(w.emu.message(w.aliceDm, mine.id)?.components, []);
      await settle();
      assertEquals(verdicts(w), [{ request_id: "abcde", behavior: "allow" }]);
      assertEquals(botMessages(w, w.bobDm).length, 1);
    }),
);

Deno.test(
  "Deny gives one deny verdict and updates the other approver's copy",
  e2e,
  () =>
    withWorld(async (w) => {
      await request(w, { request_id: "qwxyz" });
      const mine = await promptIn(w, w.aliceDm, "qwxyz");
      const bobs = await promptIn(w, w.bobDm, "qwxyz");
      const o = await w.emu.clickButton({
        userId: w.bob.id,
        messageId: bobs.id,
        customId: "perm:deny:qwxyz",
      });
      assertUpdatedToOutcome(o, /Denied by bob/);
      await w.emu.waitFor(() => w.emu.message(w.aliceDm, mine.id)?.components.length === 0);
      assertMatch(w.emu.message(w.aliceDm, mine.id)!.content, /Denied by bob/);
      await settle();
      assertEquals(verdicts(w), [{ request_id: "qwxyz", behavior: "deny" }]);
    }),
);

Deno.test(
  "a click by someone outside allowFrom is refused ephemerally and decides nothing",
  e2e,
  () =>
    withWorld(async (w) => {
      await request(w);
      const mine = await promptIn(w, w.aliceDm);
      for (const customId of ["perm:allow:abcde", "perm:deny:abcde", "perm:details:abcde"]) {
        const o = await w.emu.clickButton({ userId: w.mallory.id, messageId: mine.id, customId });
        assertEphemeral(o, /not authorized/);
      }
      await settle();
      assertEquals(verdicts(w), []);
      // The prompt is untouched and still answerable by an approver.
      assertEquals(buttons(w.emu.message(w.aliceDm, mine.id)!).length, 3);
      const o = await w.emu.clickButton({
        userId: w.alice.id,
        messageId: mine.id,
        customId: "perm:allow:abcde",
      });
      assertUpdatedToOutcome(o, /Allowed by alice/);
      await w.bridge.waitForNotification(VERDICT);
    }),
);

Deno.test(
  "racing clicks (double click, two approvers) give one verdict; the rest are told it was answered",
  e2e,
  () =>
    withWorld(async (w) => {
      await request(w);
      const mine = await promptIn(w, w.aliceDm);
      const bobs = await promptIn(w, w.bobDm);
      // All three reach the bridge before any answer lands in Discord.
      const outcomes = await Promise.all([
        w.emu.clickButton({ userId: w.alice.id, messageId: mine.id, customId: "perm:allow:abcde" }),
        w.emu.clickButton({ userId: w.alice.id, messageId: mine.id, customId: "perm:allow:abcde" }),
        w.emu.clickButton({ userId: w.bob.id, messageId: bobs.id, customId: "perm:deny:abcde" }),
      ]);
      for (const o of outcomes) assert(o.acknowledged);
      const updates = outcomes.filter((o) => o.callback?.type === 7);
      const refusals = outcomes.filter((o) => o.callback?.type === 4);
      assertEquals(updates.length, 1);
      assertEquals(refusals.length, 2);
      for (const r of refusals) assertEphemeral(r, /already answered/);
      await w.bridge.waitForNotification(VERDICT);
      await settle();
      assertEquals(verdicts(w).length, 1);
      const winner = verdicts(w)[0]!.behavior === "allow" ? /Allowed by alice/ : /Denied by bob/;
      for (const [chat, id] of [[w.aliceDm, mine.id], [w.bobDm, bobs.id]]) {
        const m = await w.emu.waitFor(() => {
          const m = w.emu.message(chat, id);
          return m?.components.length === 0 && m;
        });
        assertMatch(m.content, winner);
      }
    }),
);

Deno.test(
  "text verdicts: `YES abcde` and `n qwxyz` decide, get ✅ / ❌, and never reach Claude as chat",
  e2e,
  () =>
    withWorld(async (w) => {
      await request(w, { request_id: "abcde" });
      await request(w, { request_id: "qwxyz", tool_name: "Write" });
      const bobsFirst = await promptIn(w, w.bobDm, "abcde");
      const bobsSecond = await promptIn(w, w.bobDm, "qwxyz");
      const yes = w.emu.sendMessage({
        channelId: w.aliceDm,
        authorId: w.alice.id,
        content: "  YES ABCDE ",
      });
      const no = w.emu.sendMessage({
        channelId: w.aliceDm,
        authorId: w.alice.id,
        content: "n qwxyz",
      });
      await waitUntil(() => verdicts(w).length === 2, 5000, "two verdicts");
      assertEquals(
        verdicts(w).sort((a, b) => String(a!.request_id).localeCompare(String(b!.request_id))),
        [{ request_id: "abcde", behavior: "allow" }, { request_id: "qwxyz", behavior: "deny" }],
      );
      await w.emu.waitFor(() => w.emu.reactions(w.aliceDm, yes.id).length > 0);
      await w.emu.waitFor(() => w.emu.reactions(w.aliceDm, no.id).length > 0);
      assertEquals(w.emu.reactions(w.aliceDm, yes.id).map((r) => r.emoji), ["✅"]);
      assertEquals(w.emu.reactions(w.aliceDm, no.id).map((r) => r.emoji), ["❌"]);
      // Every copy, including the other approver's, shows the outcome.
      for (const [id, pattern] of [[bobsFirst.id, /Allowed by alice/], [bobsSecond.id, /Denied/]]) {
        const m = await w.emu.waitFor(() => {
          const m = w.emu.message(w.bobDm, id as string);
          return m?.components.length === 0 && m;
        });
        assertMatch(m.content, pattern as RegExp);
      }
      // A second answer to a closed request decides nothing; ordinary chat still flows.
      w.emu.sendMessage({ channelId: w.bobDm, authorId: w.bob.id, content: "no abcde" });
      w.emu.sendMessage({
        channelId: w.aliceDm,
        authorId: w.alice.id,
        content: "yes abcde please",
      });
      await w.bridge.waitForNotification(
        "notifications/claude/channel",
        (p) => p.content === "yes abcde please",
      );
      await settle();
      assertEquals(verdicts(w).length, 2);
      const chat = w.bridge.notifications.filter((n) =>
        n.method === "notifications/claude/channel"
      );
      assertEquals(chat.map((n) => n.params?.content), ["yes abcde please"]);
    }),
);

Deno.test(
  "Details shows a 15,000-character input pretty-printed and cut with a marker, within every limit",
  e2e,
  () =>
    withWorld(async (w) => {
      const input: Record<string, string> = {};
      for (let i = 0; i < 5; i++) input[`field_${i}`] = `${i}`.repeat(2990);
      const preview = JSON.stringify(input);
      assert(preview.length >= 15_000, `${preview.length}`);
      await request(w, {
        tool_name: "Write",
        description: "d".repeat(3000),
        input_preview: preview,
      });
      const mine = await promptIn(w, w.aliceDm);
      assert(mine.content.length <= 2000);
      const o = await w.emu.clickButton({
        userId: w.alice.id,
        messageId: mine.id,
        customId: "perm:details:abcde",
      });
      assert(o.acknowledged);
      assertEquals(o.callback?.type, 7);
      const shown = w.emu.message(w.aliceDm, mine.id)!;
      assert(shown.content.length <= 2000, `${shown.content.length}`);
      assertMatch(shown.content, /```json\n\{\n {2}"field_0": "000/);
      assertMatch(shown.content, /… \[truncated: [\d,]+ more characters — see the terminal\]/);
      // Allow and Deny stay; Details has nothing more to show.
      const details =
        (shown.components as { components: { label: string; disabled?: boolean }[] }[])
          .flatMap((r) => r.components);
      assertEquals(details.map((b) => [b.label, b.disabled ?? false]), [
        ["Allow", false],
        ["Deny", false],
        ["Details", true],
      ]);
      const allow = await w.emu.clickButton({
        userId: w.alice.id,
        messageId: mine.id,
        customId: "perm:allow:abcde",
      });
      assertUpdatedToOutcome(allow, /Allowed by alice/);
      await w.bridge.waitForNotification(VERDICT);
      await w.emu.waitFor(() => botMessages(w, w.bobDm)[0]?.components.length === 0);
      assertWithinDiscordLimits(w.emu.requests);
    }),
);

Deno.test(
  "an unanswered prompt expires: every copy says so, points at the terminal, and loses its buttons",
  e2e,
  () =>
    withWorld(async (w) => {
      await request(w);
      const mine = await promptIn(w, w.aliceDm);
      const bobs = await promptIn(w, w.bobDm);
      for (const [chat, id] of [[w.aliceDm, mine.id], [w.bobDm, bobs.id]]) {
        const m = await w.emu.waitFor(() => {
          const m = w.emu.message(chat, id);
          return m?.components.length === 0 && m;
        }, { timeoutMs: 6_000, message: "expired copy" });
        assertMatch(m.content, /expired/);
        assertMatch(m.content, /terminal may still be waiting/);
      }
      // A late text answer decides nothing now.
      w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: "yes abcde" });
      await settle();
      assertEquals(verdicts(w), []);
    }, { access: { permissionTimeoutSeconds: 2 } }),
);

Deno.test(
  "after a restart, a click on an old prompt is answered 'expired', with no verdict, and loses its buttons",
  e2e,
  () =>
    withWorld(async (w) => {
      await request(w);
      const mine = await promptIn(w, w.aliceDm);
      await w.bridge.close();
      await w.emu.waitFor(() => !w.emu.gateway.connected, { timeoutMs: 3000 });
      // Without the ledger's record (lost, or a copy from an older version)
      // the new bridge does not close the copy first, and the click lands.
      await Deno.remove(`${w.stateDir}/prompts.json`);
      const again = await startBridge({
        env: {
          DISCORD_BOT_TOKEN: w.emu.token,
          DISCORD_API_URL: w.emu.apiUrl,
          DISCORD_STATE_DIR: w.stateDir,
        },
      });
      try {
        await again.waitForStderr("connected to Discord as", 15_000);
        const o = await w.emu.clickButton({
          userId: w.alice.id,
          messageId: mine.id,
          customId: "perm:allow:abcde",
        });
        assertEphemeral(o, /expired/);
        // And that copy stops offering buttons (its text stays).
        const m = await w.emu.waitFor(() => {
          const m = w.emu.message(w.aliceDm, mine.id);
          return m?.components.length === 0 && m;
        }, { timeoutMs: 5_000, message: "old copy without buttons" });
        assertMatch(m.content, /abcde/);
        await settle();
        assertEquals(again.notifications.filter((n) => n.method === VERDICT), []);
        assert(!/could not answer/.test(again.stderr()), again.stderr());
      } finally {
        await again.close();
      }
    }),
);

Deno.test(
  "permissionPrompts channel: the prompt goes to the last opted-in channel, where only approvers decide",
  e2e,
  () =>
    withWorld(async (w) => {
      w.emu.sendMessage({ channelId: w.openChannelId, authorId: w.alice.id, content: "hi there" });
      await w.bridge.waitForNotification("notifications/claude/channel");
      await request(w);
      const posted = await promptIn(w, w.openChannelId);
      await settle();
      assertEquals(botMessages(w, w.aliceDm), []);
      assertEquals(botMessages(w, w.bobDm), []);
      const stranger = await w.emu.clickButton({
        userId: w.mallory.id,
        messageId: posted.id,
        customId: "perm:allow:abcde",
      });
      assertEphemeral(stranger, /not authorized/);
      const o = await w.emu.clickButton({
        userId: w.bob.id,
        messageId: posted.id,
        customId: "perm:allow:abcde",
      });
      assertUpdatedToOutcome(o, /Allowed by bob/);
      await settle();
      assertEquals(verdicts(w), [{ request_id: "abcde", behavior: "allow" }]);
    }, { access: { permissionPrompts: "channel" } }),
);

Deno.test(
  "permissionPrompts channel: a bare `yes abcde` answers in a channel that requires a mention",
  e2e,
  () =>
    withWorld(async (w) => {
      const bot = w.emu.bot;
      w.emu.sendMessage({
        channelId: w.threadId,
        authorId: w.alice.id,
        content: `<@${bot.id}> run the build`,
        mentions: [bot.id],
      });
      await w.bridge.waitForNotification("notifications/claude/channel");
      await request(w);
      const posted = await promptIn(w, w.threadId);
      // The mallory reply is swallowed (not an approver), the alice one decides.
      w.emu.sendMessage({ channelId: w.threadId, authorId: w.mallory.id, content: "yes abcde" });
      const no = w.emu.sendMessage({
        channelId: w.threadId,
        authorId: w.alice.id,
        content: "No abcde",
      });
      await w.bridge.waitForNotification(VERDICT);
      await w.emu.waitFor(() => w.emu.reactions(w.threadId, no.id).length > 0);
      assertEquals(w.emu.reactions(w.threadId, no.id).map((r) => r.emoji), ["❌"]);
      await w.emu.waitFor(() => w.emu.message(w.threadId, posted.id)?.components.length === 0);
      await settle();
      assertEquals(verdicts(w), [{ request_id: "abcde", behavior: "deny" }]);
    }, { access: { permissionPrompts: "channel" } }),
);

Deno.test(
  "permissionPrompts both: channel and DMs get copies, and a decision in a DM closes them all",
  e2e,
  () =>
    withWorld(async (w) => {
      w.emu.sendMessage({ channelId: w.openChannelId, authorId: w.alice.id, content: "hi there" });
      await w.bridge.waitForNotification("notifications/claude/channel");
      await request(w);
      const inChannel = await promptIn(w, w.openChannelId);
      const mine = await promptIn(w, w.aliceDm);
      await promptIn(w, w.bobDm);
      const o = await w.emu.clickButton({
        userId: w.alice.id,
        messageId: mine.id,
        customId: "perm:deny:abcde",
      });
      assertUpdatedToOutcome(o, /Denied by alice/);
      for (const chat of [w.openChannelId, w.bobDm]) {
        await w.emu.waitFor(() => botMessages(w, chat)[0]?.components.length === 0);
        assertMatch(botMessages(w, chat)[0].content, /Denied by alice/);
      }
      assertEquals(botMessages(w, w.openChannelId)[0].id, inChannel.id);
      await settle();
      assertEquals(verdicts(w), [{ request_id: "abcde", behavior: "deny" }]);
    }, { access: { permissionPrompts: "both" } }),
);

Deno.test(
  "permissionPrompts channel with no guild conversation yet falls back to DMs",
  e2e,
  () =>
    withWorld(async (w) => {
      await request(w);
      await promptIn(w, w.aliceDm);
      await promptIn(w, w.bobDm);
      assertEquals(botMessages(w, w.openChannelId), []);
    }, { access: { permissionPrompts: "channel" } }),
);

Deno.test(
  "an unreachable approver is skipped; the others still get the prompt and can decide",
  e2e,
  () =>
    withWorld(async (w) => {
      // Bob blocks DMs from the bot (Discord: 403, code 50007), and a third
      // approver's account no longer exists.
      w.emu.failNext({ method: "POST", path: `/channels/${w.bobDm}/messages` }, {
        status: 403,
        body: { message: "Cannot send messages to this user", code: 50007 },
      });
      await w.setAccess({ allowFrom: [w.alice.id, w.bob.id, "999999999999999999"] });
      await request(w);
      const mine = await promptIn(w, w.aliceDm);
      await w.bridge.waitForStderr(/could not post permission prompt/);
      const o = await w.emu.clickButton({
        userId: w.alice.id,
        messageId: mine.id,
        customId: "perm:allow:abcde",
      });
      assertUpdatedToOutcome(o, /Allowed by alice/);
      await w.bridge.waitForNotification(VERDICT);
      assertEquals(botMessages(w, w.bobDm), []);
    }),
);

Deno.test(
  "a slow edit of another copy does not delay the answer to the click",
  e2e,
  () =>
    withWorld(async (w) => {
      await request(w);
      const mine = await promptIn(w, w.aliceDm);
      const bobs = await promptIn(w, w.bobDm);
      // Editing bob's copy is rate limited for 2.5 s; discord.js waits it out.
      w.emu.failNext({ method: "PATCH", path: `/channels/${w.bobDm}/messages/${bobs.id}` }, {
        status: 429,
        retryAfter: 2.5,
      });
      const o = await w.emu.clickButton({
        userId: w.alice.id,
        messageId: mine.id,
        customId: "perm:allow:abcde",
      });
      assertUpdatedToOutcome(o, /Allowed by alice/);
      assert(o.ms < 1000, `answered after ${o.ms} ms`);
      await w.bridge.waitForNotification(VERDICT);
      await w.emu.waitFor(() => w.emu.message(w.bobDm, bobs.id)?.components.length === 0, {
        timeoutMs: 6000,
      });
    }),
);

Deno.test(
  "edit_message refuses to rewrite an open permission prompt, whose buttons an edit would keep",
  e2e,
  () =>
    withWorld(async (w) => {
      await request(w, { input_preview: '{"command":"rm -rf ~"}' });
      const prompt = await promptIn(w, w.aliceDm);
      const before = prompt.content;
      // A hijacked session makes the Allow button of `rm -rf ~` read as `ls`.
      const r = await w.bridge.call("edit_message", {
        chat_id: w.aliceDm,
        message_id: prompt.id,
        // (No 🔐 line: text that reads as a prompt is refused anyway, see below.)
        text: "Claude wants to run **Bash**\n```\nls\n```",
      });
      assert(r.isError, r.text);
      assertMatch(r.text, /permission prompt/);
      assertEquals(w.emu.message(w.aliceDm, prompt.id)!.content, before);
    }),
);

Deno.test(
  "edit_message refuses answered and expired prompts too, also after a bridge restart",
  e2e,
  () =>
    withWorld(async (w) => {
      // No 🔐 line: the prompt itself must be what is refused, not the text.
      const forged = "✅ Allowed by alice (button)\n**Bash**: List the files\nRequest `abcde`";
      const refused = async (bridge: typeof w.bridge, messageId: string) => {
        const before = w.emu.message(w.aliceDm, messageId)!.content;
        const r = await bridge.call("edit_message", {
          chat_id: w.aliceDm,
          message_id: messageId,
          text: forged,
        });
        assert(r.isError, `edited prompt ${messageId}: ${r.text}`);
        assertMatch(r.text, /permission prompt/);
        assertEquals(w.emu.message(w.aliceDm, messageId)!.content, before);
      };
      // Answered: rm -rf ~ was denied; a hijacked session must not make it read "allowed ls".
      await request(w, { input_preview: '{"command":"rm -rf ~"}' });
      const answered = await promptIn(w, w.aliceDm);
      const o = await w.emu.clickButton({
        userId: w.alice.id,
        messageId: answered.id,
        customId: "perm:deny:abcde",
      });
      assertUpdatedToOutcome(o, /Denied by alice/);
      // Expired: nobody answered it here.
      await request(w, { request_id: "fghij" });
      const expired = await promptIn(w, w.aliceDm, "fghij");
      await w.emu.waitFor(() => w.emu.message(w.aliceDm, expired.id)?.components.length === 0, {
        timeoutMs: 8000,
        message: "prompt fghij expired",
      });
      assertMatch(w.emu.message(w.aliceDm, expired.id)!.content, /expired/);
      await refused(w.bridge, answered.id);
      await refused(w.bridge, expired.id);
      // An ordinary message of the bot's stays editable.
      const r = await w.bridge.call("reply", { chat_id: w.aliceDm, text: "working…" });
      assert(!r.isError, r.text);
      const mine = /id: (\d+)/.exec(r.text)![1];

      // A new process has no memory of what the last one posted.
      await w.bridge.close();
      await w.emu.waitFor(() => !w.emu.gateway.connected, { timeoutMs: 3000 });
      const again = await startBridge({
        env: {
          DISCORD_BOT_TOKEN: w.emu.token,
          DISCORD_API_URL: w.emu.apiUrl,
          DISCORD_STATE_DIR: w.stateDir,
        },
      });
      try {
        await again.waitForStderr("connected to Discord as", 15_000);
        await refused(again, answered.id);
        await refused(again, expired.id);
        const ok = await again.call("edit_message", {
          chat_id: w.aliceDm,
          message_id: mine,
          text: "done",
        });
        assert(!ok.isError, ok.text);
        assertEquals(w.emu.message(w.aliceDm, mine)!.content, "done");
      } finally {
        await again.close();
      }
    }, { access: { permissionTimeoutSeconds: 4 } }),
);

Deno.test(
  "no tool counterfeits a prompt: reply and edit_message refuse text that reads as one, react refuses prompts",
  e2e,
  () =>
    withWorld(async (w) => {
      const forged = "✅ Allowed by alice (button)\n🔐 **Bash**: List the files\nRequest `abcde`";
      const lure = "🔐 Claude wants to run **Read**\nPress Allow or Deny, or reply `yes abcde`.";
      const before = botMessages(w, w.aliceDm).length;
      for (const text of [forged, lure, "ok\n> 🔐 Claude wants to run **Read**"]) {
        const r = await w.bridge.call("reply", { chat_id: w.aliceDm, text });
        assert(r.isError, `posted ${JSON.stringify(text)}: ${r.text}`);
        assertMatch(r.text, /permission prompts/);
      }
      assertEquals(botMessages(w, w.aliceDm).length, before, "nothing was posted");
      // Nor can an ordinary message of the bot's be turned into one.
      const r = await w.bridge.call("reply", { chat_id: w.aliceDm, text: "working…" });
      assert(!r.isError, r.text);
      const mine = /id: (\d+)/.exec(r.text)![1];
      const e = await w.bridge.call("edit_message", {
        chat_id: w.aliceDm,
        message_id: mine,
        text: forged,
      });
      assert(e.isError, e.text);
      assertMatch(e.text, /permission prompts/);
      assertEquals(w.emu.message(w.aliceDm, mine)!.content, "working…");
      // Nor a ✅ of the bot's under an open prompt, which reads as an approval.
      await request(w);
      const prompt = await promptIn(w, w.aliceDm);
      const react = await w.bridge.call("react", {
        chat_id: w.aliceDm,
        message_id: prompt.id,
        emoji: "✅",
      });
      assert(react.isError, react.text);
      assertMatch(react.text, /permission prompt/);
      assertEquals(w.emu.reactions(w.aliceDm, prompt.id), []);
      // Its own ordinary message still takes a reaction.
      const ok = await w.bridge.call("react", {
        chat_id: w.aliceDm,
        message_id: mine,
        emoji: "✅",
      });
      assert(!ok.isError, ok.text);
    }),
);

Deno.test(
  "a late click Discord refuses (10062) still decides, and the clicked copy loses its buttons by REST",
  e2e,
  () =>
    withWorld(async (w) => {
      await request(w);
      const mine = await promptIn(w, w.aliceDm);
      const bobs = await promptIn(w, w.bobDm);
      // Delivered to the bot after Discord's 3 s window: its callback gets 10062.
      const o = await w.emu.clickButton({
        userId: w.alice.id,
        messageId: mine.id,
        customId: "perm:allow:abcde",
        lateByMs: 3_500,
      });
      assert(!o.acknowledged);
      await w.bridge.waitForNotification(VERDICT);
      const callback = await w.emu.waitFor(() =>
        w.emu.requests.find((q) => q.method === "POST" && q.path.startsWith("/interactions/"))
      );
      await w.emu.waitFor(() => callback.status !== 0);
      assertEquals(callback.status, 404, JSON.stringify(callback));
      for (const [chat, copy] of [[w.aliceDm, mine.id], [w.bobDm, bobs.id]]) {
        await w.emu.waitFor(() => w.emu.message(chat, copy)?.components.length === 0, {
          message: `copy ${copy} in ${chat} still has buttons`,
        });
        assertMatch(w.emu.message(chat, copy)!.content, /Allowed by alice/);
      }
      const patched = w.emu.requests.filter((q) =>
        q.method === "PATCH" && q.path === `/channels/${w.aliceDm}/messages/${mine.id}`
      );
      assertEquals(patched.length, 1, JSON.stringify(w.emu.requests.slice(-8)));
      await settle();
      assertEquals(verdicts(w), [{ request_id: "abcde", behavior: "allow" }]);
    }),
);

Deno.test(
  "prompts left open when a session ends lose their buttons when the next bridge logs in",
  e2e,
  () =>
    withWorld(async (w) => {
      await request(w);
      const decided = await promptIn(w, w.aliceDm);
      const o = await w.emu.clickButton({
        userId: w.alice.id,
        messageId: decided.id,
        customId: "perm:allow:abcde",
      });
      assertUpdatedToOutcome(o, /Allowed by alice/);
      await request(w, { request_id: "fghij", tool_name: "Write" });
      const mine = await promptIn(w, w.aliceDm, "fghij");
      const bobs = await promptIn(w, w.bobDm, "fghij");
      await w.emu.waitFor(() => w.emu.message(w.bobDm, bobs.id));
      // The session ends once both copies are on record (a copy whose POST
      // answer has not reached the bridge yet cannot be known to the next one).
      await w.emu.waitFor(() => {
        try {
          const ledger = Deno.readTextFileSync(`${w.stateDir}/prompts.json`);
          return ledger.includes(mine.id) && ledger.includes(bobs.id);
        } catch {
          return false;
        }
      }, { message: "both copies recorded in prompts.json" });
      await w.bridge.close();
      await w.emu.waitFor(() => !w.emu.gateway.connected, { timeoutMs: 3000 });
      // Nothing closed them in between: the old process is gone.
      assert(w.emu.message(w.aliceDm, mine.id)!.components.length > 0);

      const again = await startBridge({
        env: {
          DISCORD_BOT_TOKEN: w.emu.token,
          DISCORD_API_URL: w.emu.apiUrl,
          DISCORD_STATE_DIR: w.stateDir,
        },
      });
      try {
        await again.waitForStderr("connected to Discord as", 15_000);
        for (const [chat, id] of [[w.aliceDm, mine.id], [w.bobDm, bobs.id]]) {
          await w.emu.waitFor(() => w.emu.message(chat, id)?.components.length === 0, {
            message: `left-over copy ${id} still has buttons`,
          });
          assertMatch(w.emu.message(chat, id)!.content, /expired/);
          assertMatch(w.emu.message(chat, id)!.content, /Write/);
        }
        // The one decided before keeps its outcome.
        await settle();
        assertMatch(w.emu.message(w.aliceDm, decided.id)!.content, /Allowed by alice/);
        assertEquals(again.notifications.filter((n) => n.method === VERDICT), []);
      } finally {
        await again.close();
      }
      // Closed once: a third start has nothing left to do.
      const third = await startBridge({
        env: {
          DISCORD_BOT_TOKEN: w.emu.token,
          DISCORD_API_URL: w.emu.apiUrl,
          DISCORD_STATE_DIR: w.stateDir,
        },
      });
      try {
        await third.waitForStderr("connected to Discord as", 15_000);
        await settle();
        assert(!/left open by an earlier session/.test(third.stderr()), third.stderr());
      } finally {
        await third.close();
      }
    }),
);
