/**
 * Proves the Discord emulator with the real discord.js client and with raw
 * gateway/REST calls. Run: `deno test -A tests/emulator_test.ts`.
 */
import assert from "node:assert/strict";
import {
  ButtonStyle,
  ChannelType,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  type Message as DjsMessage,
  Partials,
} from "discord.js";
import { type DiscordEmulator, startEmulator } from "./emulator/mod.ts";

interface World {
  emu: DiscordEmulator;
  client: Client;
  guildId: string;
  channelId: string;
  userId: string;
}

// discord.js 14.28 can throw inside its own RESUMED handler when a resume
// races a session reset under load (`shard.sessionInfo` is null there). This
// file tests the emulator, not that race; the bridge itself logs such
// errors through its global handler and keeps running.
globalThis.addEventListener("error", (e) => {
  if (String(e.error?.stack ?? "").includes("RESUMED.js")) e.preventDefault();
});

function makeClient(emu: DiscordEmulator): Client {
  return new Client({
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.DirectMessages,
      GatewayIntentBits.MessageContent,
    ],
    partials: [Partials.Channel],
    rest: { api: emu.apiUrl },
  });
}

async function loggedIn(emu: DiscordEmulator, client = makeClient(emu)): Promise<Client> {
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(emu.token);
  await ready;
  return client;
}

/** Starts an emulator with one guild, one channel and one user, and a logged-in client. */
async function setup(): Promise<World> {
  const emu = await startEmulator({ heartbeatIntervalMs: 1000 });
  const guild = emu.addGuild({ name: "Test Guild" });
  const channel = emu.addTextChannel(guild.id, { name: "general" });
  const user = emu.addUser({ username: "alice" });
  emu.addMember(guild.id, user.id);
  const client = await loggedIn(emu);
  return { emu, client, guildId: guild.id, channelId: channel.id, userId: user.id };
}

async function teardown(w: { emu: DiscordEmulator; client?: Client }): Promise<void> {
  await w.client?.destroy();
  await w.emu.close();
}

function nextMessage(
  client: Client,
  filter: (m: DjsMessage) => boolean = () => true,
): Promise<DjsMessage> {
  return new Promise((resolve) => {
    const on = (m: DjsMessage) => {
      if (!filter(m)) return;
      client.off(Events.MessageCreate, on);
      resolve(m);
    };
    client.on(Events.MessageCreate, on);
  });
}

Deno.test("discord.js logs in: READY and GUILD_CREATE populate the cache", async () => {
  const w = await setup();
  try {
    assert.equal(w.client.user?.id, w.emu.bot.id);
    assert.equal(w.client.application?.id, w.emu.applicationId);
    const guild = w.client.guilds.cache.get(w.guildId);
    assert.ok(guild, "guild cached");
    assert.equal(guild.name, "Test Guild");
    assert.equal(guild.channels.cache.get(w.channelId)?.type, ChannelType.GuildText);
    assert.ok(guild.members.cache.has(w.emu.bot.id));
    assert.ok(guild.roles.cache.has(w.guildId), "@everyone role");
    assert.equal(w.emu.gateway.identifies, 1);
    assert.ok(w.emu.gateway.connected);
    assert.ok(w.emu.requests.some((r) => r.path === "/gateway/bot" && r.status === 200));
  } finally {
    await teardown(w);
  }
});

Deno.test("messageCreate for a DM and for a guild message; channel.send is recorded", async () => {
  const w = await setup();
  try {
    const dm = w.emu.dmChannel(w.userId);
    const gotDm = nextMessage(w.client, (m) => m.author.id === w.userId);
    w.emu.sendMessage({ channelId: dm.id, authorId: w.userId, content: "hello in DM" });
    const m1 = await gotDm;
    assert.equal(m1.content, "hello in DM");
    assert.equal(m1.channel.type, ChannelType.DM);
    assert.equal(m1.guildId, null);

    const gotGuild = nextMessage(w.client, (m) => m.author.id === w.userId);
    w.emu.sendMessage({
      channelId: w.channelId,
      authorId: w.userId,
      content: `<@${w.emu.bot.id}> hi`,
    });
    const m2 = await gotGuild;
    assert.equal(m2.guildId, w.guildId);
    assert.ok(m2.mentions.users.has(w.emu.bot.id));
    assert.ok(m2.member, "member attached to guild message");

    // The bot's own message comes back as MESSAGE_CREATE too.
    const echo = nextMessage(w.client, (m) => m.author.id === w.emu.bot.id);
    assert.ok(m2.channel.isSendable());
    const sent = await m2.channel.send("pong");
    assert.equal((await echo).id, sent.id);
    const stored = w.emu.messages(w.channelId);
    assert.equal(stored.at(-1)?.content, "pong");
    assert.equal(stored.at(-1)?.author.id, w.emu.bot.id);
    const req = w.emu.requests.find((r) =>
      r.method === "POST" && r.path === `/channels/${w.channelId}/messages`
    );
    assert.equal((req?.body as { content: string }).content, "pong");
    assert.equal(req?.status, 200);

    // Replying to the DM through discord.js: POST /users/@me/channels returns the same DM channel.
    const user = await w.client.users.fetch(w.userId);
    const dmSent = await user.send("dm reply");
    assert.equal(dmSent.channelId, dm.id);
    assert.equal(w.emu.messages(dm.id).at(-1)?.content, "dm reply");
  } finally {
    await teardown(w);
  }
});

Deno.test("REST limits: >2000 chars is 50035, empty is 50006, unknown channel 10003, hidden 50001, bad auth 401", async () => {
  const w = await setup();
  try {
    const channel = await w.client.channels.fetch(w.channelId);
    assert.ok(channel?.isSendable());
    await assert.rejects(channel.send("x".repeat(2001)), (e: unknown) => {
      assert.ok(e instanceof DiscordAPIError);
      assert.equal(e.code, 50035);
      assert.equal(e.status, 400);
      const errors = e.rawError as unknown as {
        errors: { content: { _errors: { code: string }[] } };
      };
      assert.equal(errors.errors.content._errors[0].code, "BASE_TYPE_MAX_LENGTH");
      return true;
    });
    await channel.send("x".repeat(2000));
    await assert.rejects(
      w.client.rest.post(`/channels/${w.channelId}/messages`, { body: {} }),
      (e: unknown) => e instanceof DiscordAPIError && e.code === 50006,
    );
    await assert.rejects(
      w.client.rest.get(`/channels/1234567890123456789`),
      (e: unknown) => e instanceof DiscordAPIError && e.code === 10003 && e.status === 404,
    );
    const hidden = w.emu.addTextChannel(w.guildId, { name: "secret", hidden: true });
    await assert.rejects(
      w.client.rest.post(`/channels/${hidden.id}/messages`, { body: { content: "hi" } }),
      (e: unknown) => e instanceof DiscordAPIError && e.code === 50001 && e.status === 403,
    );
    await assert.rejects(
      w.client.rest.get(`/channels/${w.channelId}/messages/1234567890123456789`),
      (e: unknown) => e instanceof DiscordAPIError && e.code === 10008,
    );
    const res = await fetch(`${w.emu.apiUrl}/v10/users/@me`, {
      headers: { authorization: "Bot nope" },
    });
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { message: "401: Unauthorized", code: 0 });
    assert.ok(res.headers.has("x-ratelimit-bucket") || res.status === 401);
    const ok = await fetch(`${w.emu.apiUrl}/v10/users/@me`, {
      headers: { authorization: `Bot ${w.emu.token}` },
    });
    assert.equal(ok.status, 200);
    for (const h of ["limit", "remaining", "reset", "reset-after", "bucket"]) {
      assert.ok(ok.headers.has(`x-ratelimit-${h}`), `x-ratelimit-${h}`);
    }
    await ok.body?.cancel();
  } finally {
    await teardown(w);
  }
});

Deno.test("components are validated; reactions, typing, edit, delete and history", async () => {
  const w = await setup();
  try {
    const channel = await w.client.channels.fetch(w.channelId);
    assert.ok(channel?.isSendable() && channel.isTextBased() && !channel.isDMBased());
    const tooMany = Array.from({ length: 6 }, (_, i) => ({
      type: 1,
      components: [{ type: 2, style: 1, custom_id: `b${i}`, label: "x" }],
    }));
    await assert.rejects(
      w.client.rest.post(`/channels/${w.channelId}/messages`, {
        body: { content: "c", components: tooMany },
      }),
      (e: unknown) => e instanceof DiscordAPIError && e.code === 50035,
    );
    await assert.rejects(
      w.client.rest.post(`/channels/${w.channelId}/messages`, {
        body: {
          content: "c",
          components: [{
            type: 1,
            components: [{ type: 2, style: 1, custom_id: "y".repeat(101), label: "x" }],
          }],
        },
      }),
      (e: unknown) => e instanceof DiscordAPIError && e.code === 50035,
    );

    const sent = await channel.send("react to me");
    await sent.react("👍");
    await sent.react("✅");
    assert.deepEqual(w.emu.reactions(w.channelId, sent.id), [
      { emoji: "👍", userIds: [w.emu.bot.id] },
      { emoji: "✅", userIds: [w.emu.bot.id] },
    ]);
    await assert.rejects(
      w.client.rest.put(
        `/channels/${w.channelId}/messages/${sent.id}/reactions/${
          encodeURIComponent("notanemoji")
        }/@me`,
      ),
      (e: unknown) => e instanceof DiscordAPIError && e.code === 10014,
    );
    await assert.rejects(
      w.client.rest.put(
        `/channels/${w.channelId}/messages/${sent.id}/reactions/${
          encodeURIComponent("foo:1234567890123456789")
        }/@me`,
      ),
      (e: unknown) => e instanceof DiscordAPIError && e.code === 10014,
    );
    await channel.sendTyping();
    assert.equal(w.emu.typingCount(w.channelId), 1);

    const edited = await sent.edit("edited!");
    assert.equal(edited.content, "edited!");
    assert.ok(w.emu.message(w.channelId, sent.id)?.edited_timestamp);
    const userMsg = w.emu.sendMessage({
      channelId: w.channelId,
      authorId: w.userId,
      content: "mine",
    });
    await assert.rejects(
      w.client.rest.patch(`/channels/${w.channelId}/messages/${userMsg.id}`, {
        body: { content: "no" },
      }),
      (e: unknown) => e instanceof DiscordAPIError && e.code === 50005 && e.status === 403,
    );

    for (let i = 0; i < 3; i++) {
      w.emu.sendMessage({ channelId: w.channelId, authorId: w.userId, content: `h${i}` });
    }
    const history = await channel.messages.fetch({ limit: 3 });
    assert.deepEqual([...history.values()].map((m) => m.content), ["h2", "h1", "h0"]);
    const all = w.emu.messages(w.channelId);
    const before = await channel.messages.fetch({ before: all.at(-1)!.id, limit: 2 });
    assert.deepEqual([...before.values()].map((m) => m.content), ["h1", "h0"]);
    const after = await channel.messages.fetch({ after: all[0].id, limit: 100 });
    assert.equal(after.size, all.length - 1);

    await edited.delete();
    assert.equal(w.emu.message(w.channelId, sent.id), undefined);

    // Replies: message_reference + referenced_message; missing reference fails.
    const reply = await channel.send({ content: "re", reply: { messageReference: userMsg.id } });
    const stored = w.emu.message(w.channelId, reply.id)!;
    assert.equal(stored.type, 19);
    assert.equal(stored.message_reference?.message_id, userMsg.id);
    assert.equal(stored.referenced_message?.id, userMsg.id);
    await assert.rejects(
      channel.send({ content: "re", reply: { messageReference: "1234567890123456789" } }),
      (e: unknown) => e instanceof DiscordAPIError && e.code === 50035,
    );
  } finally {
    await teardown(w);
  }
});

Deno.test("multipart upload is stored and served by the CDN; user attachments arrive", async () => {
  const w = await setup();
  try {
    const channel = await w.client.channels.fetch(w.channelId);
    assert.ok(channel?.isSendable());
    const data = new TextEncoder().encode("hello file\n");
    const sent = await channel.send({
      content: "file",
      files: [{ attachment: Buffer.from(data), name: "a.txt" }],
    });
    const att = sent.attachments.first();
    assert.ok(att);
    assert.equal(att.name, "a.txt");
    assert.equal(att.size, data.byteLength);
    const req = w.emu.requests.find((r) => r.method === "POST" && r.path.endsWith("/messages"));
    const body = req?.body as {
      payload_json: { content: string };
      files: { filename: string; size: number }[];
    };
    assert.equal(body.payload_json.content, "file");
    assert.equal(body.files[0].filename, "a.txt");
    const res = await fetch(att.url);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
    assert.equal(await res.text(), "hello file\n");

    const got = nextMessage(w.client, (m) => m.author.id === w.userId);
    w.emu.sendMessage({
      channelId: w.channelId,
      authorId: w.userId,
      content: "see attached",
      attachments: [{
        filename: "pic.png",
        contentType: "image/png",
        data: new Uint8Array([137, 80, 78, 71]),
      }],
    });
    const m = await got;
    const a = m.attachments.first()!;
    assert.equal(a.contentType, "image/png");
    const bytes = new Uint8Array(await (await fetch(a.url)).arrayBuffer());
    assert.deepEqual([...bytes], [137, 80, 78, 71]);

    const big = new Uint8Array(10 * 1024 * 1024 + 1);
    await assert.rejects(
      channel.send({ files: [{ attachment: Buffer.from(big), name: "big.bin" }] }),
      (e: unknown) => e instanceof DiscordAPIError && e.code === 40005 && e.status === 413,
    );
  } finally {
    await teardown(w);
  }
});

Deno.test("a 429 from failNext is retried by discord.js after retry_after", async () => {
  const w = await setup();
  try {
    w.emu.failNext({ method: "POST", path: `/channels/${w.channelId}/messages` }, {
      status: 429,
      retryAfter: 0.3,
    });
    const channel = await w.client.channels.fetch(w.channelId);
    assert.ok(channel?.isSendable());
    const t0 = performance.now();
    await channel.send("after limit");
    const elapsed = performance.now() - t0;
    const posts = w.emu.requests.filter((r) => r.method === "POST" && r.path.endsWith("/messages"));
    assert.deepEqual(posts.map((p) => p.status), [429, 200]);
    assert.ok(elapsed >= 250, `waited ${elapsed} ms`);
    assert.equal(w.emu.messages(w.channelId).length, 1);
  } finally {
    await teardown(w);
  }
});

Deno.test("button click: interaction.update edits the message; late and double callbacks fail", async () => {
  const w = await setup();
  try {
    const channel = await w.client.channels.fetch(w.channelId);
    assert.ok(channel?.isSendable());
    const sent = await channel.send({
      content: "Allow?",
      components: [{
        type: 1,
        components: [{ type: 2, style: ButtonStyle.Success, custom_id: "yes", label: "Yes" }],
      }],
    });
    let second: unknown;
    w.client.on(Events.InteractionCreate, async (interaction) => {
      if (!interaction.isButton()) return;
      assert.equal(interaction.customId, "yes");
      assert.equal(interaction.user.id, w.userId);
      await interaction.update({ content: "Allowed", components: [] });
      second = await interaction.reply("again").catch((e) => e);
    });
    const outcome = await w.emu.clickButton({
      userId: w.userId,
      messageId: sent.id,
      customId: "yes",
    });
    assert.equal(outcome.acknowledged, true);
    assert.equal(outcome.callback?.type, 7);
    assert.equal(w.emu.message(w.channelId, sent.id)?.content, "Allowed");
    assert.deepEqual(w.emu.message(w.channelId, sent.id)?.components, []);
    await w.emu.waitFor(() => second);
    // discord.js refuses a second reply locally; the raw route answers 40060.
    const record = w.emu.interactions[0];
    const res = await fetch(
      `${w.emu.apiUrl}/v10/interactions/${record.id}/${record.token}/callback`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ type: 6 }),
      },
    );
    assert.equal(res.status, 400);
    assert.equal((await res.json()).code, 40060);
  } finally {
    await teardown(w);
  }
});

Deno.test("button click without an answer times out after 3 s; ephemeral replies stay out of history", async () => {
  const emu = await startEmulator();
  try {
    const user = emu.addUser({ username: "bob" });
    const dm = emu.dmChannel(user.id);
    // Post a bot message with a button straight through REST.
    const res = await fetch(`${emu.apiUrl}/v10/channels/${dm.id}/messages`, {
      method: "POST",
      headers: { authorization: `Bot ${emu.token}`, "content-type": "application/json" },
      body: JSON.stringify({
        content: "q",
        components: [{ type: 1, components: [{ type: 2, style: 1, custom_id: "a", label: "A" }] }],
      }),
    });
    const msg = await res.json();
    const outcome = await emu.clickButton({ userId: user.id, messageId: msg.id, customId: "a" });
    assert.equal(outcome.acknowledged, false);
    assert.ok(outcome.ms >= 2900);
    const record = emu.interactions[0];
    const late = await fetch(
      `${emu.apiUrl}/v10/interactions/${record.id}/${record.token}/callback`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ type: 6 }),
      },
    );
    assert.equal(late.status, 404);
    assert.equal((await late.json()).code, 10062);

    const click = emu.clickButton({ userId: user.id, messageId: msg.id, customId: "a" });
    const r2 = emu.interactions[1];
    const eph = await fetch(`${emu.apiUrl}/v10/interactions/${r2.id}/${r2.token}/callback`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: 4, data: { content: "only you", flags: 64 } }),
    });
    assert.equal(eph.status, 204);
    await eph.body?.cancel();
    const o2 = await click;
    assert.equal(o2.ephemeral, true);
    assert.equal(o2.message?.content, "only you");
    assert.equal(emu.messages(dm.id).length, 1);
    const follow = await fetch(
      `${emu.apiUrl}/v10/webhooks/${emu.applicationId}/${r2.token}/messages/@original`,
      {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ content: "edited ephemeral" }),
      },
    );
    assert.equal(follow.status, 200);
    assert.equal((await follow.json()).content, "edited ephemeral");
  } finally {
    await emu.close();
  }
});

Deno.test("RESUME after dropConnections replays a message sent while disconnected exactly once", async () => {
  const w = await setup();
  try {
    const seen: string[] = [];
    w.client.on(Events.MessageCreate, (m) => {
      if (m.author.id === w.userId) seen.push(m.content);
    });
    w.emu.dropConnections();
    await w.emu.waitFor(() => !w.emu.gateway.connected, { message: "socket dropped" });
    w.emu.sendMessage({ channelId: w.channelId, authorId: w.userId, content: "while away" });
    await w.emu.waitFor(() => w.emu.gateway.resumes === 1, { message: "client resumed" });
    await w.emu.waitFor(() => seen.length === 1, { message: "replayed message" });
    w.emu.sendMessage({ channelId: w.channelId, authorId: w.userId, content: "after resume" });
    await w.emu.waitFor(() => seen.length === 2);
    assert.deepEqual(seen, ["while away", "after resume"]);
    assert.equal(w.emu.gateway.identifies, 1);
  } finally {
    await teardown(w);
  }
});

Deno.test("op 7 RECONNECT makes discord.js resume; op 9 resumable resumes on the same socket", async () => {
  const w = await setup();
  try {
    w.emu.requestReconnect();
    await w.emu.waitFor(() => w.emu.gateway.resumes === 1 && w.emu.gateway.connected);
    assert.equal(w.emu.gateway.connections, 2);
    w.emu.invalidateSession(true);
    await w.emu.waitFor(() => w.emu.gateway.resumes === 2 && w.emu.gateway.connected);
    const got = nextMessage(w.client, (m) => m.author.id === w.userId);
    w.emu.sendMessage({ channelId: w.channelId, authorId: w.userId, content: "still here" });
    assert.equal((await got).content, "still here");
    assert.equal(w.emu.gateway.identifies, 1);
  } finally {
    await teardown(w);
  }
});

Deno.test("op 9 non-resumable makes discord.js identify again (after its 5 s identify throttle)", async () => {
  const w = await setup();
  try {
    w.emu.invalidateSession(false);
    await w.emu.waitFor(() => w.emu.gateway.identifies === 2 && w.emu.gateway.connected, {
      timeoutMs: 10_000,
    });
    const got = nextMessage(w.client, (m) => m.author.id === w.userId);
    w.emu.sendMessage({ channelId: w.channelId, authorId: w.userId, content: "new session" });
    assert.equal((await got).content, "new session");
    assert.equal(w.emu.gateway.resumes, 0);
  } finally {
    await teardown(w);
  }
});

Deno.test("close 4004 on IDENTIFY makes login fail; a wrong token fails at GET /gateway/bot", async () => {
  const emu = await startEmulator({ heartbeatIntervalMs: 1000 });
  try {
    emu.failNextIdentify(4004);
    const client = makeClient(emu);
    await assert.rejects(client.login(emu.token), /Authentication failed/);
    await client.destroy();
    const bad = makeClient(emu);
    await assert.rejects(bad.login("MTA.bad.token"), (e: Error) => /token/i.test(e.message));
    await bad.destroy();
    assert.ok(emu.requests.some((r) => r.path === "/gateway/bot" && r.status === 401));
  } finally {
    await emu.close();
  }
});

// deno-lint-ignore no-explicit-any
type Json = any;

/** A bare gateway client for protocol-level checks. */
class RawGateway {
  readonly ws: WebSocket;
  readonly received: { op: number; d: Json; s: number | null; t: string | null }[] = [];
  readonly closed: Promise<CloseEvent>;
  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.onmessage = (e) => this.received.push(JSON.parse(e.data));
    this.closed = new Promise((r) => (this.ws.onclose = r));
  }
  send(op: number, d: unknown): void {
    this.ws.send(JSON.stringify({ op, d }));
  }
  async next(
    emu: DiscordEmulator,
    pred: (p: { op: number; t: string | null }) => boolean,
    from = 0,
  ) {
    return await emu.waitFor(() => this.received.slice(from).find(pred));
  }
  async close(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) {
      this.ws.close(1000);
    }
    await this.closed;
  }
}

function identify(token: string, intents = 37377) {
  return { token, intents, properties: { os: "linux", browser: "raw", device: "raw" } };
}

Deno.test("raw gateway: HELLO, heartbeat ACK, READY shape, sequence numbers, RESUME replay, bad resume", async () => {
  const emu = await startEmulator({ heartbeatIntervalMs: 1000 });
  const guild = emu.addGuild({ name: "G" });
  const channel = emu.addTextChannel(guild.id);
  emu.addThread(channel.id, { name: "t" });
  const user = emu.addUser({ username: "u" });
  const a = new RawGateway(`${emu.gatewayUrl}?v=10&encoding=json`);
  let b: RawGateway | undefined;
  let c: RawGateway | undefined;
  try {
    const hello = await a.next(emu, (p) => p.op === 10);
    assert.equal((hello as { d: { heartbeat_interval: number } }).d.heartbeat_interval, 1000);
    a.send(1, null);
    await a.next(emu, (p) => p.op === 11);
    a.send(2, identify(emu.token));
    const ready = await a.next(emu, (p) => p.t === "READY") as { d: Json; s: number };
    assert.equal(ready.s, 1);
    assert.equal(ready.d.v, 10);
    assert.equal(ready.d.user.id, emu.bot.id);
    assert.deepEqual(ready.d.guilds, [{ id: guild.id, unavailable: true }]);
    assert.equal(ready.d.application.id, emu.applicationId);
    assert.deepEqual(ready.d.shard, [0, 1]);
    assert.equal(ready.d.resume_gateway_url, emu.gatewayUrl);
    const gc = await a.next(emu, (p) => p.t === "GUILD_CREATE") as { d: Json; s: number };
    assert.equal(gc.s, 2);
    assert.equal(gc.d.channels.length, 1);
    assert.equal(gc.d.threads.length, 1);
    assert.ok(gc.d.members.some((m: { user: { id: string } }) => m.user.id === emu.bot.id));
    assert.equal(gc.d.roles[0].name, "@everyone");

    // Server-requested heartbeat (op 1).
    emu.requestHeartbeat();
    await a.next(emu, (p) => p.op === 1);

    // Drop, send while away, resume on a new socket: exactly the missed dispatch, then RESUMED.
    emu.dropConnections();
    await a.closed;
    emu.sendMessage({ channelId: channel.id, authorId: user.id, content: "missed" });
    b = new RawGateway(`${ready.d.resume_gateway_url}?v=10&encoding=json`);
    await b.next(emu, (p) => p.op === 10);
    b.send(6, { token: emu.token, session_id: ready.d.session_id, seq: 2 });
    await b.next(emu, (p) => p.t === "RESUMED");
    const dispatches = b.received.filter((p) => p.op === 0);
    assert.deepEqual(dispatches.map((p) => [p.t, p.s]), [["MESSAGE_CREATE", 3], ["RESUMED", 4]]);
    assert.equal(dispatches[0].d.content, "missed");
    assert.equal(dispatches[0].d.channel_type, 0);

    // Unknown session: op 9 d:false.
    c = new RawGateway(`${emu.gatewayUrl}?v=10&encoding=json`);
    await c.next(emu, (p) => p.op === 10);
    c.send(6, { token: emu.token, session_id: "nope", seq: 1 });
    const inv = await c.next(emu, (p) => p.op === 9) as { d: boolean };
    assert.equal(inv.d, false);
    await c.close();

    // Invalid opcode → 4001; then a second IDENTIFY on an identified socket → 4005.
    b.send(2, identify(emu.token));
    assert.equal((await b.closed).code, 4005);
  } finally {
    await a.close();
    await b?.close();
    await c?.close();
    await emu.close();
  }
});

Deno.test("raw gateway: close codes 4004, 4014, 4012, 4013 and session start limit", async () => {
  const emu = await startEmulator();
  try {
    const cases: [() => Promise<number>, number][] = [];
    const attempt = async (url: string, d?: unknown) => {
      const g = new RawGateway(url);
      await g.next(emu, (p) => p.op === 10).catch(() => {});
      if (d) g.send(2, d);
      return g;
    };
    const base = `${emu.gatewayUrl}?v=10&encoding=json`;
    let g = await attempt(base, identify("wrong"));
    assert.equal((await g.closed).code, 4004);
    emu.setIntentsAllowed(false);
    g = await attempt(base, identify(emu.token, 1 << 15));
    assert.equal((await g.closed).code, 4014);
    emu.setIntentsAllowed(true);
    g = await attempt(base, identify(emu.token, 1 << 30));
    assert.equal((await g.closed).code, 4013);
    g = new RawGateway(`${emu.gatewayUrl}?v=6&encoding=json`);
    assert.equal((await g.closed).code, 4012);
    g = await attempt(base, { ...identify(emu.token), shard: [1, 1] });
    assert.equal((await g.closed).code, 4010);

    emu.setSessionStartLimit({ remaining: 1, total: 5 });
    const info = await (await fetch(`${emu.apiUrl}/v10/gateway/bot`, {
      headers: { authorization: `Bot ${emu.token}` },
    })).json();
    assert.deepEqual(info.session_start_limit, {
      total: 5,
      remaining: 1,
      reset_after: 86_400_000,
      max_concurrency: 1,
    });
    assert.equal(info.url, emu.gatewayUrl);
    g = await attempt(base, identify(emu.token));
    await g.next(emu, (p) => p.t === "READY");
    await g.close();
    g = await attempt(base, identify(emu.token));
    const inv = await g.next(emu, (p) => p.op === 9) as { d: boolean };
    assert.equal(inv.d, false);
    await g.close();
    void cases;
  } finally {
    await emu.close();
  }
});

Deno.test("withheld heartbeat ACKs: discord.js treats the zombie connection and resumes", async () => {
  const w = await setup();
  try {
    w.emu.setHeartbeatAcks(false);
    await w.emu.waitFor(() => w.emu.gateway.resumes === 1, {
      timeoutMs: 8000,
      message: "zombie resume",
    });
    w.emu.setHeartbeatAcks(true);
    await w.emu.waitFor(() => w.emu.gateway.connected);
    assert.equal(w.emu.gateway.identifies, 1);
  } finally {
    await teardown(w);
  }
});

Deno.test("raw gateway: intents filter dispatches and MESSAGE_CONTENT gates guild message content", async () => {
  const emu = await startEmulator();
  const guild = emu.addGuild();
  const channel = emu.addTextChannel(guild.id);
  const user = emu.addUser({ username: "u" });
  const dm = emu.dmChannel(user.id);
  const g = new RawGateway(`${emu.gatewayUrl}?v=10&encoding=json`);
  const full = new RawGateway(`${emu.gatewayUrl}?v=10&encoding=json`);
  try {
    await g.next(emu, (p) => p.op === 10);
    await full.next(emu, (p) => p.op === 10);
    g.send(2, identify(emu.token, (1 << 0) | (1 << 9))); // GUILDS | GUILD_MESSAGES
    full.send(2, identify(emu.token));
    await g.next(emu, (p) => p.t === "GUILD_CREATE");
    await full.next(emu, (p) => p.t === "GUILD_CREATE");
    emu.sendMessage({ channelId: channel.id, authorId: user.id, content: "secret" });
    emu.sendMessage({
      channelId: channel.id,
      authorId: user.id,
      content: `<@${emu.bot.id}> visible`,
    });
    emu.sendMessage({ channelId: dm.id, authorId: user.id, content: "dm" });
    const creates = () => g.received.filter((p) => p.t === "MESSAGE_CREATE");
    await emu.waitFor(() => full.received.filter((p) => p.t === "MESSAGE_CREATE").length === 3);
    await emu.waitFor(() => creates().length === 2);
    assert.deepEqual(creates().map((p) => p.d.content), ["", `<@${emu.bot.id}> visible`]);
    assert.deepEqual(
      full.received.filter((p) => p.t === "MESSAGE_CREATE").map((p) => p.d.content),
      ["secret", `<@${emu.bot.id}> visible`, "dm"],
    );
    assert.equal(emu.gateway.identifies, 2);
  } finally {
    await g.close();
    await full.close();
    await emu.close();
  }
});

Deno.test("per-channel message bucket: discord.js waits for the reset; a raw burst gets a real 429", async () => {
  const w = await setup();
  try {
    const channel = await w.client.channels.fetch(w.channelId);
    assert.ok(channel?.isSendable());
    for (let i = 0; i < 7; i++) await channel.send(`n${i}`);
    const posts = w.emu.requests.filter((r) => r.method === "POST" && r.path.endsWith("/messages"));
    assert.deepEqual(
      posts.map((p) => p.status),
      Array(7).fill(200),
      "discord.js respects the bucket",
    );
    assert.equal(w.emu.messages(w.channelId).length, 7);

    const other = w.emu.addTextChannel(w.guildId, { name: "burst" });
    const results = await Promise.all(
      Array.from(
        { length: 6 },
        (_, i) =>
          fetch(`${w.emu.apiUrl}/v10/channels/${other.id}/messages`, {
            method: "POST",
            headers: { authorization: `Bot ${w.emu.token}`, "content-type": "application/json" },
            body: JSON.stringify({ content: `b${i}` }),
          }),
      ),
    );
    const limited = results.filter((r) => r.status === 429);
    assert.equal(limited.length, 1);
    const body = await limited[0].json();
    assert.equal(body.message, "You are being rate limited.");
    assert.equal(body.global, false);
    assert.ok(body.retry_after > 0);
    assert.ok(limited[0].headers.has("retry-after"));
    assert.equal(limited[0].headers.get("x-ratelimit-scope"), "user");
    for (const r of results) if (r.status !== 429) await r.body?.cancel();
  } finally {
    await teardown(w);
  }
});
