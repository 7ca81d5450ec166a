/**
 * A thread per session, end to end: with `sessionsChannel` set, each session
 * gets a thread named after it in that channel; what is written there goes
 * to that session only; its replies and prompts appear there; the thread is
 * archived when the session ends and reused when it resumes.
 */
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { type BridgeUnderTest, startBridge, waitUntil } from "./helpers/bridge.ts";
import { E2E, makeWorld, type World } from "./helpers/world.ts";

const EVENT = "notifications/claude/channel";

async function launch(w: World, project: string, sessionId: string) {
  const b = await startBridge({
    env: {
      DISCORD_BOT_TOKEN: w.emu.token,
      DISCORD_API_URL: w.emu.apiUrl,
      DISCORD_STATE_DIR: w.stateDir,
      CLAUDE_PROJECT_DIR: `/home/me/${project}`,
      CLAUDE_CODE_SESSION_ID: sessionId,
    },
  });
  await b.waitForStderr(`this session is "${project}" on Discord`);
  return b;
}

const threadsFile = (w: World) => {
  try {
    return JSON.parse(Deno.readTextFileSync(`${w.stateDir}/session_threads.json`))
      .sessions as Record<
        string,
        { threadId: string; name: string; parentId: string }
      >;
  } catch {
    return {};
  }
};

async function channelInfo(w: World, id: string) {
  const res = await fetch(`${w.emu.apiUrl}/v10/channels/${id}`, {
    headers: { authorization: `Bot ${w.emu.token}` },
  });
  return await res.json() as {
    name: string;
    type: number;
    parent_id: string;
    thread_metadata: { archived: boolean };
  };
}

async function poll(probe: () => Promise<boolean>, what: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const events = (b: BridgeUnderTest) =>
  b.notifications.filter((n) => n.method === EVENT).map((n) =>
    n.params as { content: string; meta: Record<string, string> }
  );

Deno.test(
  "each session gets a thread; messages there reach only it; replies and prompts appear there; archived at the end, reused on resume",
  E2E,
  async () => {
    const world = await makeWorld({
      env: { CLAUDE_PROJECT_DIR: "/home/me/api", CLAUDE_CODE_SESSION_ID: "sess-api" },
    });
    let web: BridgeUnderTest | undefined;
    try {
      const api = world.bridge;
      // Opt the sessions channel in (access.json is re-read live).
      const path = `${world.stateDir}/access.json`;
      const access = JSON.parse(await Deno.readTextFile(path));
      access.sessionsChannel = world.openChannelId;
      await Deno.writeTextFile(path, JSON.stringify(access));
      web = await launch(world, "web", "sess-web");
      const t = await waitUntil(
        () => {
          const f = threadsFile(world);
          return f["sess-web"] && f["sess-api"] && f;
        },
        8000,
        "threads for both sessions",
      ).catch((err) => {
        throw new Error(`${err.message}\n${api.stderr()}\n${web!.stderr()}`);
      });
      const webThread = t["sess-web"].threadId;
      const apiThread = t["sess-api"].threadId;
      const info = await channelInfo(world, webThread);
      assertEquals([info.name, info.type, info.parent_id], ["web", 11, world.openChannelId]);
      assertEquals((await channelInfo(world, apiThread)).name, "api");

      // A message in web's thread goes to web only, even when it names another session.
      const m1 = world.emu.sendMessage({
        channelId: webThread,
        authorId: world.alice.id,
        content: "@api build it",
      });
      await web.waitForNotification(
        EVENT,
        (p) => (p.meta as Record<string, string>).message_id === m1.id,
      );
      await new Promise((r) => setTimeout(r, 300));
      assertEquals(events(api).length, 0);
      assertEquals(events(web).at(-1)!.content, "@api build it");
      assertEquals(events(web).at(-1)!.meta.chat_id, webThread);

      // Its reply there carries no label (the thread says who it is); typing stopped.
      const r = await web.call("reply", { chat_id: webThread, text: "building" });
      assert(!r.isError, r.text);
      assert(
        world.emu.messages(webThread).some((m) => m.content === "building"),
        JSON.stringify(world.emu.messages(webThread).map((m) => m.content)),
      );
      // Elsewhere (a DM) it is labelled.
      await web.call("reply", { chat_id: world.aliceDm, text: "hi" });
      assert(world.emu.messages(world.aliceDm).some((m) => m.content === "**web**: hi"));

      // Its permission prompt appears in its thread too, naming it.
      await web.client.notification({
        method: "notifications/claude/channel/permission_request",
        params: {
          request_id: "qrstu",
          tool_name: "Bash",
          description: "deploy",
          input_preview: "{}",
        },
      });
      const prompt = await world.emu.waitFor(
        () => world.emu.messages(webThread).find((m) => m.components.length > 0),
        { message: "prompt in web's thread" },
      );
      assertMatch(prompt.content, /^🔐 \*\*web\*\* wants to run/);
      await world.emu.clickButton({
        userId: world.alice.id,
        messageId: prompt.id,
        customId: "perm:allow:qrstu",
      });
      await web.waitForNotification("notifications/claude/channel/permission");
      assertEquals(
        api.notifications.filter((n) => n.method === "notifications/claude/channel/permission"),
        [],
      );

      // web ends: its thread is archived; a message there now reaches nobody.
      await web.close();
      await waitUntil(
        async () => (await channelInfo(world, webThread)).thread_metadata.archived,
        5000,
      )
        .catch(() => {});
      await world.emu.waitFor(async () =>
        (await channelInfo(world, webThread)).thread_metadata.archived
      );
      const lost = world.emu.sendMessage({
        channelId: webThread,
        authorId: world.alice.id,
        content: "anyone?",
      });
      await new Promise((r) => setTimeout(r, 500));
      assert(!events(api).some((e) => e.meta.message_id === lost.id));

      // `claude --resume` (same session ID): the same thread, unarchived.
      web = await launch(world, "web", "sess-web");
      await poll(
        async () => !(await channelInfo(world, webThread)).thread_metadata.archived,
        "reopened",
      );
      assertEquals(threadsFile(world)["sess-web"].threadId, webThread);
      const m2 = world.emu.sendMessage({
        channelId: webThread,
        authorId: world.alice.id,
        content: "welcome back",
      });
      await web.waitForNotification(
        EVENT,
        (p) => (p.meta as Record<string, string>).message_id === m2.id,
      );
      assertEquals(events(api).length, 0);
    } finally {
      await web?.close();
      await world.dispose();
    }
  },
);
