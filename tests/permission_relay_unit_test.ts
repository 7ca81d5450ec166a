/**
 * Unit specification of PermissionRelay against a small in-memory Discord:
 * fast and deterministic, so races, expiry and failures can be staged exactly.
 */
import assert from "node:assert/strict";
import { type Access, AccessSchema } from "../lib/access/schema.ts";
import type {
  ButtonClick,
  DiscordPort,
  InteractionAnswer,
  MessageBody,
} from "../lib/discord/port.ts";
import type { PermissionRequest } from "../lib/permission/prompt.ts";
import { PermissionRelay } from "../lib/permission/relay.ts";

const REQ: PermissionRequest = {
  request_id: "abcde",
  tool_name: "Bash",
  description: "List the files",
  input_preview: '{"command":"ls -la"}',
};

interface Posted {
  chatId: string;
  id: string;
  body: MessageBody;
}

/** Just enough of Discord for the relay: DMs, posts, edits, reactions. */
class FakeDiscord implements DiscordPort {
  posted: Posted[] = [];
  edits: { chatId: string; messageId: string; body: MessageBody }[] = [];
  reactions: { chatId: string; messageId: string; emoji: string }[] = [];
  /** Users whose DM cannot be opened. */
  dmFails = new Set<string>();
  /** Chats where posting fails (e.g. the user blocks DMs: 50007). */
  postFails = new Set<string>();
  /** Chats whose posts wait until released. */
  held = new Map<string, () => void>();
  #holds = new Set<string>();
  #n = 0;

  hold(chatId: string): void {
    this.#holds.add(chatId);
  }

  status() {
    return { state: "ready" as const, botId: "1", botName: "bot" };
  }
  chatFacts(): never {
    throw new Error("unused");
  }
  openDm(userId: string): Promise<string> {
    if (this.dmFails.has(userId)) return Promise.reject(new Error("Unknown User"));
    return Promise.resolve(`dm-${userId}`);
  }
  async sendMessage(chatId: string, body: MessageBody): Promise<{ id: string }> {
    if (this.#holds.has(chatId)) {
      await new Promise<void>((resolve) => this.held.set(chatId, resolve));
    }
    if (this.postFails.has(chatId)) throw new Error("Cannot send messages to this user");
    const id = `m${++this.#n}`;
    this.posted.push({ chatId, id, body });
    return { id };
  }
  /** Messages whose edits fail (Discord away, a 5xx). */
  editFails = new Set<string>();
  editMessage(chatId: string, messageId: string, body: MessageBody): Promise<{ id: string }> {
    this.edits.push({ chatId, messageId, body });
    if (this.editFails.has(messageId)) return Promise.reject(new Error("503: Service Unavailable"));
    return Promise.resolve({ id: messageId });
  }
  addReaction(chatId: string, messageId: string, emoji: string): Promise<void> {
    this.reactions.push({ chatId, messageId, emoji });
    return Promise.resolve();
  }
  fetchMessages(): never {
    throw new Error("unused");
  }
  fetchMessage(): never {
    throw new Error("unused");
  }
  sendTyping(): Promise<void> {
    return Promise.resolve();
  }

  copy(chatId: string): Posted {
    const p = this.posted.find((p) => p.chatId === chatId);
    assert.ok(p, `no prompt posted to ${chatId}`);
    return p;
  }
  editsOf(messageId: string): MessageBody[] {
    return this.edits.filter((e) => e.messageId === messageId).map((e) => e.body);
  }
}

interface Setup {
  relay: PermissionRelay;
  discord: FakeDiscord;
  verdicts: { requestId: string; behavior: string }[];
  logs: string[];
  access: Access;
  setGuildChat(id: string | undefined): void;
}

function setup(
  extra: Partial<Access> = {},
  opts: { connected?: boolean; settleMs?: number } = {},
): Setup {
  const access = { ...AccessSchema.parse({ allowFrom: ["alice", "bob"] }), ...extra };
  const discord = new FakeDiscord();
  const verdicts: Setup["verdicts"] = [];
  const logs: string[] = [];
  let guildChat: string | undefined;
  const relay = new PermissionRelay({
    discord: () => opts.connected === false ? undefined : discord,
    access: () => access,
    sendVerdict: (requestId, behavior) => {
      verdicts.push({ requestId, behavior });
      return Promise.resolve();
    },
    lastGuildChat: () => guildChat,
    log: (line) => logs.push(line),
    interactionSettleMs: opts.settleMs ?? 30,
    connectWaitMs: 50,
  });
  return { relay, discord, verdicts, logs, access, setGuildChat: (id) => guildChat = id };
}

/** Runs `fn` and always stops the relay, so no timer outlives the test. */
async function withRelay(
  fn: (s: Setup) => Promise<void>,
  extra: Partial<Access> = {},
  opts: { connected?: boolean; settleMs?: number } = {},
): Promise<void> {
  const s = setup(extra, opts);
  try {
    await fn(s);
  } finally {
    s.relay.stop();
  }
}

const click = (
  who: string,
  messageId: string,
  action: "allow" | "deny" | "details",
  id = "abcde",
): ButtonClick => ({
  customId: `perm:${action}:${id}`,
  userId: who,
  userName: who,
  channelId: "any",
  messageId,
});

const text = (who: string, content: string, id = "t1") => ({
  authorId: who,
  authorName: who,
  content,
  channelId: `dm-${who}`,
  id,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function buttonsOf(body: MessageBody): string[] {
  return ((body.components ?? []) as { components: { custom_id: string }[] }[])
    .flatMap((row) => row.components.map((c) => c.custom_id));
}

function assertUpdate(answer: InteractionAnswer, pattern: RegExp): MessageBody {
  assert.equal(answer.kind, "update");
  const body = (answer as { body: MessageBody }).body;
  assert.match(body.content ?? "", pattern);
  return body;
}

function assertEphemeral(answer: InteractionAnswer, pattern: RegExp): void {
  assert.equal(answer.kind, "ephemeral");
  assert.match((answer as { content: string }).content, pattern);
}

Deno.test("a request is posted once to each approver's DM, with three buttons", () =>
  withRelay(async ({ relay, discord, verdicts }) => {
    await relay.request(REQ);
    await relay.request(REQ); // Claude Code repeating itself is not a new prompt
    assert.deepEqual(discord.posted.map((p) => p.chatId), ["dm-alice", "dm-bob"]);
    for (const p of discord.posted) {
      assert.deepEqual(buttonsOf(p.body), [
        "perm:allow:abcde",
        "perm:deny:abcde",
        "perm:details:abcde",
      ]);
      assert.match(p.body.content ?? "", /Bash/);
    }
    assert.deepEqual(relay.openRequests(), ["abcde"]);
    assert.deepEqual(verdicts, []);
  }, { allowFrom: ["alice", "bob", "alice"] }));

Deno.test("Allow: one verdict, the clicked copy answered in place, the others edited", () =>
  withRelay(async ({ relay, discord, verdicts }) => {
    await relay.request(REQ);
    const mine = discord.copy("dm-alice");
    const bobs = discord.copy("dm-bob");
    const answer = await relay.click(click("alice", mine.id, "allow"));
    const body = assertUpdate(answer, /Allowed by alice \(button\)/);
    assert.deepEqual(body.components, []);
    assert.deepEqual(verdicts, [{ requestId: "abcde", behavior: "allow" }]);
    // The clicked copy is updated through the interaction, never by PATCH.
    assert.deepEqual(discord.editsOf(mine.id), []);
    const [edit] = discord.editsOf(bobs.id);
    assert.match(edit.content ?? "", /Allowed by alice/);
    assert.deepEqual(edit.components, []);
    assert.deepEqual(relay.openRequests(), []);
  }));

Deno.test("Deny: one deny verdict, and every other copy shows who denied", () =>
  withRelay(async ({ relay, discord, verdicts }) => {
    await relay.request(REQ);
    const answer = await relay.click(click("bob", discord.copy("dm-bob").id, "deny"));
    assertUpdate(answer, /Denied by bob/);
    assert.deepEqual(verdicts, [{ requestId: "abcde", behavior: "deny" }]);
    assert.match(discord.editsOf(discord.copy("dm-alice").id)[0].content ?? "", /Denied by bob/);
  }));

Deno.test("clicks by anyone outside allowFrom are refused and decide nothing", () =>
  withRelay(async ({ relay, discord, verdicts }) => {
    await relay.request(REQ);
    const mine = discord.copy("dm-alice");
    for (const action of ["allow", "deny", "details"] as const) {
      assertEphemeral(await relay.click(click("mallory", mine.id, action)), /not authorized/);
    }
    assert.deepEqual(verdicts, []);
    assert.deepEqual(discord.edits, []);
    assert.deepEqual(relay.openRequests(), ["abcde"]);
  }));

Deno.test("unknown requests and foreign buttons get an explanation, not a verdict", () =>
  withRelay(async ({ relay, verdicts }) => {
    // What a click on a prompt from before a restart looks like.
    assertEphemeral(await relay.click(click("alice", "m9", "allow", "zzzzz")), /expired/);
    assertEphemeral(
      await relay.click({ ...click("alice", "m9", "allow"), customId: "vote:yes" }),
      /not one of the bridge's/,
    );
    assert.deepEqual(verdicts, []);
  }));

Deno.test("two clicks racing on one request give one verdict; the later one is told", () =>
  withRelay(async ({ relay, discord, verdicts }) => {
    await relay.request(REQ);
    // Both are handed to the relay before either answer is awaited.
    const first = relay.click(click("alice", discord.copy("dm-alice").id, "allow"));
    const second = relay.click(click("bob", discord.copy("dm-bob").id, "deny"));
    const double = relay.click(click("alice", discord.copy("dm-alice").id, "allow"));
    assertUpdate(await first, /Allowed by alice/);
    assertEphemeral(await second, /already answered: allowed by alice/);
    assertEphemeral(await double, /already answered/);
    assert.deepEqual(verdicts, [{ requestId: "abcde", behavior: "allow" }]);
  }));

Deno.test("a text verdict that lands while a click is in flight wins alone", () =>
  withRelay(async ({ relay, discord, verdicts, access }) => {
    await relay.request(REQ);
    assert.equal(relay.interceptText(text("bob", "no abcde"), access), true);
    assertEphemeral(
      await relay.click(click("alice", discord.copy("dm-alice").id, "allow")),
      /already answered: denied by bob/,
    );
    assert.deepEqual(verdicts, [{ requestId: "abcde", behavior: "deny" }]);
    // Decided by text, so no copy was answered through an interaction: all are edited.
    assert.equal(discord.edits.length, 2);
    for (const e of discord.edits) {
      assert.match(e.body.content ?? "", /Denied by bob \(text reply\)/);
    }
  }));

Deno.test("a copy still being posted when the request is decided is edited once it exists", () =>
  withRelay(async ({ relay, discord, verdicts }) => {
    discord.hold("dm-bob");
    const posting = relay.request(REQ);
    await sleep(0);
    const mine = discord.copy("dm-alice");
    assertUpdate(await relay.click(click("alice", mine.id, "allow")), /Allowed/);
    discord.held.get("dm-bob")!();
    await posting;
    const bobs = discord.copy("dm-bob");
    assert.equal(discord.editsOf(bobs.id).length, 1);
    assert.match(discord.editsOf(bobs.id)[0].content ?? "", /Allowed by alice/);
    assert.deepEqual(discord.editsOf(mine.id), []);
    assert.equal(verdicts.length, 1);
  }));

Deno.test("an unanswered prompt expires: every copy is edited and later answers are refused", () =>
  withRelay(async ({ relay, discord, verdicts, access }) => {
    await relay.request(REQ);
    await sleep(120);
    assert.deepEqual(relay.openRequests(), []);
    assert.equal(discord.edits.length, 2);
    for (const e of discord.edits) {
      assert.match(e.body.content ?? "", /expired/);
      assert.match(e.body.content ?? "", /terminal may still be waiting/);
      assert.deepEqual(e.body.components, []);
    }
    assertEphemeral(
      await relay.click(click("alice", discord.copy("dm-alice").id, "allow")),
      /expired/,
    );
    assert.equal(relay.interceptText(text("alice", "yes abcde"), access), true);
    assert.deepEqual(discord.reactions.map((r) => r.emoji), ["⌛"]);
    assert.deepEqual(verdicts, []);
  }, { permissionTimeoutSeconds: 0.05 }));

Deno.test("a decided prompt does not expire afterwards", () =>
  withRelay(async ({ relay, discord }) => {
    await relay.request(REQ);
    await relay.click(click("alice", discord.copy("dm-alice").id, "deny"));
    await sleep(120);
    assert.equal(discord.edits.length, 1);
    assert.doesNotMatch(discord.edits[0].body.content ?? "", /expired/);
  }, { permissionTimeoutSeconds: 0.05 }));

Deno.test("Details expands in place and keeps Allow and Deny", () =>
  withRelay(async ({ relay, discord, verdicts }) => {
    const long = JSON.stringify({ content: "x".repeat(15_000) });
    await relay.request({ ...REQ, input_preview: long });
    const answer = await relay.click(click("alice", discord.copy("dm-alice").id, "details"));
    const body = assertUpdate(answer, /truncated: [\d,]+ more characters/);
    assert.ok((body.content ?? "").length <= 2000);
    assert.deepEqual(buttonsOf(body), [
      "perm:allow:abcde",
      "perm:deny:abcde",
      "perm:details:abcde",
    ]);
    await sleep(60); // past the settle window: the prompt is still open, nothing to redo
    assert.deepEqual(discord.edits, []);
    assert.deepEqual(verdicts, []);
  }));

Deno.test("a Details view that may land after the prompt closed is corrected afterwards", () =>
  withRelay(async ({ relay, discord }) => {
    await relay.request(REQ);
    const mine = discord.copy("dm-alice");
    await relay.click(click("alice", mine.id, "details"));
    // Bob decides before alice's Details update is known to have landed.
    await relay.click(click("bob", discord.copy("dm-bob").id, "allow"));
    assert.equal(discord.editsOf(mine.id).length, 1);
    await sleep(60);
    const edits = discord.editsOf(mine.id);
    assert.equal(edits.length, 2);
    assert.match(edits[1].content ?? "", /Allowed by bob/);
    assert.deepEqual(edits[1].components, []);
  }));

Deno.test("text verdicts: case-insensitive, lowercased ID, reaction, never chat", () =>
  withRelay(async ({ relay, discord, verdicts, access }) => {
    await relay.request(REQ);
    await relay.request({ ...REQ, request_id: "qwxyz" });
    assert.equal(relay.interceptText(text("alice", " YES ABCDE ", "t1"), access), true);
    assert.equal(relay.interceptText(text("alice", "n qwxyz", "t2"), access), true);
    assert.deepEqual(verdicts, [
      { requestId: "abcde", behavior: "allow" },
      { requestId: "qwxyz", behavior: "deny" },
    ]);
    assert.deepEqual(discord.reactions.map((r) => [r.messageId, r.emoji]), [
      ["t1", "✅"],
      ["t2", "❌"],
    ]);
    // A second answer to a decided request: marked as a repeat, no verdict.
    assert.equal(relay.interceptText(text("bob", "no abcde", "t3"), access), true);
    assert.deepEqual(discord.reactions.at(-1)?.emoji, "🔁");
    assert.equal(verdicts.length, 2);
    // Not a verdict: goes on to Claude as chat.
    assert.equal(relay.interceptText(text("alice", "yes abcde please"), access), false);
    assert.equal(relay.interceptText(text("alice", "yes"), access), false);
  }));

Deno.test("a verdict-shaped message from a non-approver is swallowed without effect", () =>
  withRelay(async ({ relay, discord, verdicts, access, logs }) => {
    await relay.request(REQ);
    assert.equal(relay.interceptText(text("mallory", "yes abcde"), access), true);
    assert.deepEqual(verdicts, []);
    assert.deepEqual(discord.reactions, []);
    assert.deepEqual(relay.openRequests(), ["abcde"]);
    assert.ok(logs.some((l) => /not in allowFrom/.test(l)));
  }));

Deno.test("a text verdict for an ID this process never posted is passed on", () =>
  withRelay(({ relay, discord, verdicts, access }) => {
    // E.g. a prompt posted before a restart: Claude Code ignores IDs it did not issue.
    assert.equal(relay.interceptText(text("alice", "y zzzzz"), access), true);
    assert.deepEqual(verdicts, [{ requestId: "zzzzz", behavior: "allow" }]);
    assert.deepEqual(discord.reactions.map((r) => r.emoji), ["✅"]);
    return Promise.resolve();
  }));

Deno.test("permissionPrompts channel: only the last guild chat gets the prompt", () =>
  withRelay(async ({ relay, discord, setGuildChat }) => {
    setGuildChat("guild-chan");
    await relay.request(REQ);
    assert.deepEqual(discord.posted.map((p) => p.chatId), ["guild-chan"]);
    // A member who is not an approver can see it, but not answer it.
    assertEphemeral(
      await relay.click(click("mallory", discord.posted[0].id, "allow")),
      /not authorized/,
    );
    assertUpdate(await relay.click(click("bob", discord.posted[0].id, "allow")), /by bob/);
  }, { permissionPrompts: "channel" }));

Deno.test("permissionPrompts channel without a guild conversation falls back to DMs", () =>
  withRelay(async ({ relay, discord, logs }) => {
    await relay.request(REQ);
    assert.deepEqual(discord.posted.map((p) => p.chatId).sort(), ["dm-alice", "dm-bob"]);
    assert.ok(logs.some((l) => /no guild conversation yet/.test(l)));
  }, { permissionPrompts: "channel" }));

Deno.test("permissionPrompts both: channel and DMs, all closed by one decision", () =>
  withRelay(async ({ relay, discord, setGuildChat }) => {
    setGuildChat("guild-chan");
    await relay.request(REQ);
    assert.deepEqual(discord.posted.map((p) => p.chatId).sort(), [
      "dm-alice",
      "dm-bob",
      "guild-chan",
    ]);
    await relay.click(click("alice", discord.copy("dm-alice").id, "deny"));
    assert.deepEqual(discord.edits.map((e) => e.chatId).sort(), ["dm-bob", "guild-chan"]);
  }, { permissionPrompts: "both" }));

Deno.test("an unreachable approver is logged and skipped; the others still get it", () =>
  withRelay(async ({ relay, discord, logs, verdicts }) => {
    discord.dmFails.add("gone");
    discord.postFails.add("dm-bob");
    await relay.request(REQ);
    assert.deepEqual(discord.posted.map((p) => p.chatId), ["dm-alice"]);
    assert.ok(logs.some((l) => /could not open a DM with approver gone/.test(l)));
    assert.ok(logs.some((l) => /could not post permission prompt to dm-bob/.test(l)));
    assertUpdate(
      await relay.click(click("alice", discord.copy("dm-alice").id, "allow")),
      /by alice/,
    );
    assert.equal(verdicts.length, 1);
  }, { allowFrom: ["gone", "bob", "alice"] }));

Deno.test("without Discord or without a usable access.json, nothing is posted", async () => {
  await withRelay(
    async ({ relay, discord, logs }) => {
      await relay.request(REQ);
      assert.deepEqual(discord.posted, []);
      assert.ok(logs.some((l) => /not relayed: Discord is not connected/.test(l)));
    },
    {},
    { connected: false },
  );

  const logs: string[] = [];
  const relay = new PermissionRelay({
    discord: () => new FakeDiscord(),
    access: () => undefined,
    sendVerdict: () => Promise.resolve(),
    lastGuildChat: () => undefined,
    log: (l) => logs.push(l),
  });
  await relay.request(REQ);
  assert.ok(logs.some((l) => /access.json is unusable/.test(l)));
  // An approver cannot be recognised either, so clicks are refused.
  assertEphemeral(await relay.click(click("alice", "m1", "allow")), /not authorized/);
  relay.stop();
});

Deno.test("request never rejects and click always answers, whatever breaks inside", async () => {
  const logs: string[] = [];
  const relay = new PermissionRelay({
    discord: () => new FakeDiscord(),
    access: () => {
      throw new Error("boom");
    },
    sendVerdict: () => Promise.resolve(),
    lastGuildChat: () => undefined,
    log: (l) => logs.push(l),
  });
  await relay.request(REQ);
  assert.ok(logs.some((l) => /not relayed: boom/.test(l)));
  assertEphemeral(await relay.click(click("alice", "m1", "allow")), /terminal/);
  relay.stop();
});

Deno.test("after stop, no prompt is posted and no timer is left running", () =>
  withRelay(async ({ relay, discord }) => {
    await relay.request(REQ);
    relay.stop();
    await relay.request({ ...REQ, request_id: "qwxyz" });
    assert.equal(discord.posted.length, 2);
  }));

Deno.test("a request that arrives while Discord is still logging in is posted once it is connected", async () => {
  const discord = new FakeDiscord();
  let connected = false;
  const logs: string[] = [];
  const relay = new PermissionRelay({
    discord: () => connected ? discord : undefined,
    access: () => AccessSchema.parse({ allowFrom: ["alice", "bob"] }),
    sendVerdict: () => Promise.resolve(),
    lastGuildChat: () => undefined,
    log: (l) => logs.push(l),
    connectWaitMs: 5_000,
  });
  try {
    const pending = relay.request(REQ);
    // The same notification twice while waiting still posts one prompt per approver.
    const duplicate = relay.request(REQ);
    setTimeout(() => connected = true, 200);
    await Promise.all([pending, duplicate]);
    assert.deepEqual(discord.posted.map((p) => p.chatId).sort(), ["dm-alice", "dm-bob"]);
    assert.ok(!logs.some((l) => /not relayed/.test(l)), logs.join("\n"));
  } finally {
    relay.stop();
  }
});

Deno.test("a copy whose closing edit failed is edited again when clicked and on the next login", () =>
  withRelay(async ({ relay, discord }) => {
    await relay.request(REQ);
    const bobs = discord.copy("dm-bob");
    discord.editFails.add(bobs.id);
    assertUpdate(
      await relay.click(click("alice", discord.copy("dm-alice").id, "allow")),
      /Allowed/,
    );
    await sleep(0);
    assert.equal(discord.editsOf(bobs.id).length, 1);
    // Bob still sees buttons and clicks one: told, and his copy is tried again.
    assertEphemeral(await relay.click(click("bob", bobs.id, "deny")), /already answered/);
    await sleep(0);
    assert.equal(discord.editsOf(bobs.id).length, 2);
    // Back online: the next login brings it in line, once.
    discord.editFails.delete(bobs.id);
    await relay.recover();
    await relay.recover();
    assert.equal(discord.editsOf(bobs.id).length, 3);
    assert.match(discord.editsOf(bobs.id)[2].content ?? "", /Allowed by alice/);
  }));

Deno.test("a second click on the deciding copy (its answer was refused) edits that copy", () =>
  withRelay(async ({ relay, discord }) => {
    await relay.request(REQ);
    const mine = discord.copy("dm-alice");
    assertUpdate(await relay.click(click("alice", mine.id, "deny")), /Denied/);
    await sleep(0);
    assert.equal(discord.editsOf(mine.id).length, 0, "answered through the interaction");
    // Still clickable, so that answer never landed: the copy is edited now.
    assertEphemeral(await relay.click(click("alice", mine.id, "allow")), /already answered/);
    await sleep(0);
    assert.equal(discord.editsOf(mine.id).length, 1);
    assert.match(discord.editsOf(mine.id)[0].content ?? "", /Denied by alice/);
  }));

Deno.test("a click on a prompt from before a restart (no record of it) removes that copy's buttons", () =>
  withRelay(async ({ relay, discord, verdicts }) => {
    assertEphemeral(await relay.click(click("alice", "m9", "allow", "zzzzz")), /expired/);
    await sleep(0);
    assert.deepEqual(discord.edits, [{ chatId: "any", messageId: "m9", body: { components: [] } }]);
    // Someone who may not answer changes nothing.
    assertEphemeral(await relay.click(click("mallory", "m8", "allow", "zzzzz")), /not authorized/);
    await sleep(0);
    assert.equal(discord.edits.length, 1);
    assert.deepEqual(verdicts, []);
  }));
