/**
 * Several Claude Code sessions, one bot, end to end: three sessions launched
 * as `.mcp.json` launches them (same DISCORD_STATE_DIR, different
 * CLAUDE_PROJECT_DIR) on one emulator. The first holds the Discord
 * connection; the others reach it over `<stateDir>/sessions.sock`.
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { type BridgeUnderTest, startBridge, waitUntil } from "./helpers/bridge.ts";
import { bridgePidUnder } from "./helpers/process.ts";
import { E2E, makeWorld, type World } from "./helpers/world.ts";

const EVENT = "notifications/claude/channel";
const REQUEST = "notifications/claude/channel/permission_request";
const VERDICT = "notifications/claude/channel/permission";

interface Trio {
  w: World;
  api: BridgeUnderTest;
  web: BridgeUnderTest;
  docs: BridgeUnderTest;
  all: BridgeUnderTest[];
}

async function launch(w: World, project: string, extra: Record<string, string> = {}) {
  const b = await startBridge({
    env: {
      DISCORD_BOT_TOKEN: w.emu.token,
      DISCORD_API_URL: w.emu.apiUrl,
      DISCORD_STATE_DIR: w.stateDir,
      CLAUDE_PROJECT_DIR: `/home/me/${project}`,
      ...extra,
    },
  });
  await b.waitForStderr(`this session is "${project}" on Discord`);
  return b;
}

async function withTrio(fn: (t: Trio) => Promise<void>): Promise<void> {
  const w = await makeWorld({ env: { CLAUDE_PROJECT_DIR: "/home/me/api" } });
  const extra: BridgeUnderTest[] = [];
  try {
    const api = w.bridge;
    await api.waitForStderr('this session is "api" on Discord');
    const web = await launch(w, "web");
    extra.push(web);
    const docs = await launch(w, "docs");
    extra.push(docs);
    await fn({ w, api, web, docs, all: [api, web, docs] });
  } finally {
    for (const b of extra) await b.close();
    await w.dispose();
  }
}

const events = (b: BridgeUnderTest) =>
  b.notifications.filter((n) => n.method === EVENT).map((n) =>
    n.params as {
      content: string;
      meta: Record<string, string>;
    }
  );

/** Sends a DM from alice and returns the session that got it (asserting only one did). */
async function dm(t: Trio, content: string, replyTo?: string): Promise<BridgeUnderTest> {
  const sent = t.w.emu.sendMessage({
    channelId: t.w.aliceDm,
    authorId: t.w.alice.id,
    content,
    replyTo,
  });
  const got = await waitUntil(
    () => {
      const who = t.all.filter((b) => events(b).some((e) => e.meta.message_id === sent.id));
      return who.length ? who : undefined;
    },
    8000,
    `delivery of ${JSON.stringify(content)}`,
  );
  await new Promise((r) => setTimeout(r, 150));
  const who = t.all.filter((b) => events(b).some((e) => e.meta.message_id === sent.id));
  assertEquals(who.length, 1, `delivered to ${who.length} sessions`);
  assertEquals(got[0], who[0]);
  return who[0];
}

const contentOf = (b: BridgeUnderTest, messageId: string) =>
  events(b).find((e) => e.meta.message_id === messageId)?.content;

Deno.test(
  "three sessions: one login; routing by @name, focus and reply; bot messages carry the session's name",
  E2E,
  () =>
    withTrio(async (t) => {
      const { w, api, web, docs } = t;
      assertEquals(w.emu.gateway.identifies, 1);
      // Nobody addressed yet, nobody wrote: the oldest session (the holder).
      assertEquals(await dm(t, "who is there?"), api);
      // @name switches focus and is not part of what the session reads.
      assertEquals(await dm(t, "@web run the tests"), web);
      assertEquals(events(web).at(-1)!.content, "run the tests");
      // Then the focused session gets plain messages.
      assertEquals(await dm(t, "and the linter"), web);
      // A session's reply is labelled with its name while several are connected.
      const r = await docs.call("reply", { chat_id: w.aliceDm, text: "docs are built" });
      assert(!r.isError, r.text);
      const docsMsg = w.emu.messages(w.aliceDm).find((m) => m.content.endsWith("docs are built"))!;
      assertEquals(docsMsg.content, "**docs**: docs are built");
      // A Discord reply to that message goes to docs, and focuses docs.
      const viaReply = await dm(t, "publish them", docsMsg.id);
      assertEquals(viaReply, docs);
      assertEquals(await dm(t, "thanks"), docs);
      // @name with another session's name, from docs' focus.
      assertEquals(await dm(t, "@api status?"), api);
      assertEquals(contentOf(api, events(api).at(-1)!.meta.message_id), "status?");
      // Each session saw only what was routed to it.
      assertEquals(events(api).map((e) => e.content), ["who is there?", "status?"]);
      assertEquals(events(web).map((e) => e.content), ["run the tests", "and the linter"]);
      assertEquals(events(docs).map((e) => e.content), ["publish them", "thanks"]);
      // History shows a session its own conversation only, not the others' traffic.
      const history = await web.call("fetch_messages", { channel: w.aliceDm, limit: 50 });
      assert(!history.isError, history.text);
      assertMatch(history.text, /run the tests/);
      assert(!/docs are built|publish them|status\?/.test(history.text), history.text);
      const peek = await web.call("download_attachment", {
        chat_id: w.aliceDm,
        message_id: docsMsg.id,
      });
      assert(peek.isError);
      assertMatch(peek.text, /another Claude Code session/);
      // Tools of a non-holder pass the same outbound gate.
      const refused = await web.call("reply", { chat_id: w.closedChannelId, text: "nope" });
      assert(refused.isError);
      assertMatch(refused.text, /not allowed/);
      assertEquals(w.emu.gateway.identifies, 1);
    }),
);

Deno.test(
  "prompts from two sessions at once name their session; each is answered once and each verdict reaches only its own session",
  E2E,
  () =>
    withTrio(async (t) => {
      const { w, api, web, docs } = t;
      const ask = (b: BridgeUnderTest, id: string) =>
        b.client.notification({
          method: REQUEST,
          params: {
            request_id: id,
            tool_name: "Bash",
            description: "run something",
            input_preview: '{"command":"ls"}',
          },
        });
      await Promise.all([ask(api, "abcde"), ask(web, "fghij")]);
      const prompts = await w.emu.waitFor(() => {
        const ps = w.emu.messages(w.aliceDm).filter((m) => m.components.length > 0);
        return ps.length === 2 && ps;
      }, { message: "two prompts", timeoutMs: 8000 });
      const byId = (id: string) => prompts.find((m) => m.content.includes(`\`${id}\``))!;
      assertMatch(byId("abcde").content, /^🔐 \*\*api\*\* wants to run \*\*Bash\*\*/);
      assertMatch(byId("fghij").content, /^🔐 \*\*web\*\* wants to run \*\*Bash\*\*/);
      // web's prompt is denied by a click, api's allowed by text; the clicks race twice.
      const clicks = await Promise.all([
        w.emu.clickButton({
          userId: w.alice.id,
          messageId: byId("fghij").id,
          customId: "perm:deny:fghij",
        }),
        w.emu.clickButton({
          userId: w.alice.id,
          messageId: byId("fghij").id,
          customId: "perm:allow:fghij",
        }),
      ]);
      assert(clicks.some((c) => c.ephemeral), "the second click is told it was answered");
      w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: "yes abcde" });
      await api.waitForNotification(VERDICT);
      await web.waitForNotification(VERDICT);
      await new Promise((r) => setTimeout(r, 400));
      const verdicts = (b: BridgeUnderTest) =>
        b.notifications.filter((n) => n.method === VERDICT).map((n) => n.params);
      assertEquals(verdicts(api), [{ request_id: "abcde", behavior: "allow" }]);
      assertEquals(verdicts(web), [{ request_id: "fghij", behavior: "deny" }]);
      assertEquals(verdicts(docs), []);
      // The verdict text reached no session as chat.
      for (const b of t.all) assert(!events(b).some((e) => /abcde/.test(e.content)));
      // Both copies end without buttons, still naming their session.
      await w.emu.waitFor(() =>
        prompts.every((p) => w.emu.message(w.aliceDm, p.id)!.components.length === 0)
      );
      assertMatch(w.emu.message(w.aliceDm, byId("fghij").id)!.content, /web/);
    }),
);

Deno.test(
  "with several sessions, a late click Discord refuses (10062) still decides and the copy loses its buttons by REST",
  E2E,
  () =>
    withTrio(async (t) => {
      const { w, api, web } = t;
      await api.client.notification({
        method: REQUEST,
        params: {
          request_id: "kmnop",
          tool_name: "Bash",
          description: "run something",
          input_preview: '{"command":"ls"}',
        },
      });
      const prompt = await w.emu.waitFor(() =>
        w.emu.messages(w.aliceDm).find((m) => m.components.length > 0 && /kmnop/.test(m.content)), {
        message: "the prompt",
        timeoutMs: 8000,
      });
      const o = await w.emu.clickButton({
        userId: w.alice.id,
        messageId: prompt.id,
        customId: "perm:allow:kmnop",
        lateByMs: 3_500,
      });
      assert(!o.acknowledged);
      await api.waitForNotification(VERDICT);
      await w.emu.waitFor(() =>
        w.emu.message(w.aliceDm, prompt.id)!.components.length === 0, {
        message: "the refused copy edited without buttons",
      });
      assertMatch(w.emu.message(w.aliceDm, prompt.id)!.content, /api/);
      assertEquals(
        web.notifications.filter((n) =>
          n.method === VERDICT
        ),
        [],
      );
    }),
);

Deno.test(
  "a session joining and leaving while messages flow: nothing is lost, labels follow the count",
  E2E,
  async () => {
    const w = await makeWorld({ env: { CLAUDE_PROJECT_DIR: "/home/me/api" } });
    const api = w.bridge;
    let late: BridgeUnderTest | undefined;
    try {
      const sentIds: string[] = [];
      let stop = false;
      const flow = (async () => {
        for (let i = 0; !stop && i < 200; i++) {
          sentIds.push(
            w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: `m${i}` }).id,
          );
          await new Promise((r) => setTimeout(r, 40));
        }
      })();
      late = await launch(w, "web");
      // While two are connected, the holder's replies are labelled.
      const r = await api.call("reply", { chat_id: w.aliceDm, text: "two of us" });
      assert(!r.isError, r.text);
      assert(w.emu.messages(w.aliceDm).some((m) => m.content === "**api**: two of us"));
      await late.close();
      await api.waitForStderr('session "web" left');
      await new Promise((r) => setTimeout(r, 300));
      stop = true;
      await flow;
      const r2 = await api.call("reply", { chat_id: w.aliceDm, text: "alone again" });
      assert(!r2.isError, r2.text);
      assert(w.emu.messages(w.aliceDm).some((m) => m.content === "alone again"));
      // Every message went to a connected session exactly once (web left only after
      // its last delivery was written).
      await waitUntil(
        () => events(api).length + (late ? events(late).length : 0) >= sentIds.length,
        8000,
        "all messages delivered",
      );
      const got = [...events(api), ...events(late)].map((e) => e.meta.message_id);
      assertEquals(got.length, sentIds.length);
      assertEquals(new Set(got).size, sentIds.length);
    } finally {
      await late?.close();
      await w.dispose();
    }
  },
);

Deno.test(
  "the holder SIGKILLed mid-stream: another session takes over within 5 s, nothing lost or duplicated",
  E2E,
  () =>
    withTrio(async (t) => {
      const { w, api, web, docs } = t;
      // Focus web, a session that will survive; docs says something first.
      const said = await docs.call("reply", { chat_id: w.aliceDm, text: "docs here" });
      assert(!said.isError, said.text);
      const docsMsg = w.emu.messages(w.aliceDm).find((m) => m.content === "**docs**: docs here")!;
      assertEquals(await dm(t, "@web follow this"), web);
      await new Promise((r) => setTimeout(r, 1_200)); // the routing memory is saved (≤ 1 s)
      const sentIds: string[] = [];
      let stop = false;
      const flow = (async () => {
        for (let i = 0; !stop && i < 300; i++) {
          sentIds.push(
            w.emu.sendMessage({ channelId: w.aliceDm, authorId: w.alice.id, content: `n${i}` }).id,
          );
          await new Promise((r) => setTimeout(r, 30));
        }
      })();
      await new Promise((r) => setTimeout(r, 600));
      const holderPid = await bridgePidUnder(api.pid);
      Deno.kill(holderPid, "SIGKILL");
      const killedAt = Date.now();
      const heir = await waitUntil(
        () =>
          [web, docs].find((b) => b.stderr().includes("this session now holds the Discord bot")),
        5000,
        "a takeover",
      );
      await heir.waitForStderr("connected to Discord as", 5000);
      assert(Date.now() - killedAt < 5000, `takeover took ${Date.now() - killedAt} ms`);
      await new Promise((r) => setTimeout(r, 800));
      stop = true;
      await flow;
      const survivors = [web, docs];
      const ids = () =>
        survivors.flatMap((b) => events(b)).map((e) => e.meta.message_id).filter((id) =>
          sentIds.includes(id)
        );
      const apiIds = new Set(events(api).map((e) => e.meta.message_id));
      await waitUntil(
        () => sentIds.every((id) => ids().includes(id) || apiIds.has(id)),
        10_000,
        "every message delivered",
      ).catch((err) => {
        const missing = sentIds.map((id, i) => [id, i] as const).filter(([id]) =>
          !ids().includes(id) && !apiIds.has(id)
        ).map(([, i]) => i);
        throw new Error(
          `${err.message}; missing n${missing.join(",n")}; api got ${apiIds.size}; heir stderr: ${
            heir.stderr().slice(-3000)
          }`,
        );
      });
      // A repeat is allowed only as the README documents it: marked as a possible
      // duplicate (the hub died between journaling a delivery and handing it on).
      const unmarked = survivors.flatMap((b) => events(b)).filter((e) =>
        sentIds.includes(e.meta.message_id) && e.meta.possible_duplicate !== "true"
      ).map((e) => e.meta.message_id);
      assertEquals(unmarked.length, new Set(unmarked).size, "a message was delivered twice");
      // The holder's own session died with it: what it had received is gone
      // with it, and was not delivered again elsewhere (unmarked).
      for (const id of unmarked) {
        assert(!apiIds.has(id), "re-delivered a message the dead session had");
      }
      assertEquals(w.emu.gateway.identifies, 2);
      // The new hub routes as the old one did: focus and who sent what carried over.
      assertEquals(await dm(t, "still web?"), web);
      assertEquals(await dm(t, "answering docs", docsMsg.id), docs);
      // Both survivors still work after the handover.
      for (const b of survivors) {
        const r = await b.call("react", {
          chat_id: w.aliceDm,
          message_id: sentIds[0],
          emoji: "👍",
        });
        assert(!r.isError, r.text);
      }
    }),
);
