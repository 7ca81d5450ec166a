/**
 * The emulator checks REST requests against Discord's published OpenAPI spec
 * (`tests/spec/openapi.json`) and answers violations as Discord does: 404/405
 * from the router, 400 `50035 Invalid Form Body` with the field path.
 * Run: `deno test -A tests/emulator_spec_test.ts`.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  Client,
  EmbedBuilder,
  Events,
  GatewayIntentBits,
  type TextChannel,
} from "discord.js";
import { type DiscordEmulator, startEmulator } from "./emulator/mod.ts";
import { discordFieldErrors } from "./emulator/spec_errors.ts";
import { SPEC_OVERRIDES } from "./emulator/spec_overrides.ts";

interface World {
  emu: DiscordEmulator;
  channelId: string;
  messageId: string;
}

async function withWorld(
  fn: (w: World) => Promise<void>,
  opts: { spec?: boolean } = {},
): Promise<void> {
  const emu = await startEmulator({ heartbeatIntervalMs: 1000, ...opts });
  try {
    const guild = emu.addGuild({ name: "g" });
    const channel = emu.addTextChannel(guild.id, { name: "general" });
    const alice = emu.addUser({ username: "alice" });
    const m = emu.sendMessage({ channelId: channel.id, authorId: alice.id, content: "hi" });
    await fn({ emu, channelId: channel.id, messageId: m.id });
  } finally {
    await emu.close();
  }
}

interface Answer {
  status: number;
  body:
    & { message?: string; code?: number; errors?: Record<string, unknown> }
    & Record<
      string,
      unknown
    >;
}

async function call(
  emu: DiscordEmulator,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer> {
  const res = await fetch(`${emu.apiUrl}/v10${path}`, {
    method,
    headers: {
      authorization: `Bot ${emu.token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

async function multipart(
  emu: DiscordEmulator,
  path: string,
  payloadJson: string,
  files: { name: string; data: string }[] = [],
): Promise<Answer> {
  const form = new FormData();
  form.append("payload_json", payloadJson);
  files.forEach((f, i) => form.append(`files[${i}]`, new Blob([f.data]), f.name));
  const res = await fetch(`${emu.apiUrl}/v10${path}`, {
    method: "POST",
    headers: { authorization: `Bot ${emu.token}` },
    body: form,
  });
  return { status: res.status, body: await res.json() };
}

/** Asserts a 400 / 50035 whose error tree is exactly `errors`. */
function assertFormError(a: Answer, errors: Record<string, unknown>): void {
  assert.equal(a.status, 400, JSON.stringify(a.body));
  assert.deepEqual(a.body, { message: "Invalid Form Body", code: 50035, errors });
}

function err(code: string, message: string) {
  return { _errors: [{ code, message }] };
}

Deno.test("too-long content is 50035 BASE_TYPE_MAX_LENGTH at `content`, with the bot's 2000 limit", async () => {
  await withWorld(async ({ emu, channelId }) => {
    const tooLong = err("BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.");
    // 5,000 also breaks the spec's own 4,000 (a Nitro user's limit): still the bot's 2,000.
    for (const n of [2001, 5000]) {
      const a = await call(emu, "POST", `/channels/${channelId}/messages`, {
        content: "x".repeat(n),
      });
      assertFormError(a, { content: tooLong });
    }
    const sent = await call(emu, "POST", `/channels/${channelId}/messages`, { content: "ok" });
    assert.equal(sent.status, 200);
    const edit = await call(emu, "PATCH", `/channels/${channelId}/messages/${sent.body.id}`, {
      content: "y".repeat(4001),
    });
    assertFormError(edit, { content: tooLong });
  });
});

Deno.test("wrong types are reported per field, nested objects and arrays by key and index", async () => {
  await withWorld(async ({ emu, channelId }) => {
    const a = await call(emu, "POST", `/channels/${channelId}/messages`, {
      content: 5,
      tts: "yes",
      flags: "none",
      embeds: [{ title: "ok" }, { title: "t".repeat(257), fields: [{ name: "n", value: 1 }] }],
      allowed_mentions: { parse: ["users", "nobody"] },
    });
    assertFormError(a, {
      content: err("BASE_TYPE_STRING", "Must be a string."),
      tts: err("BASE_TYPE_BOOLEAN", "Must be either true or false."),
      flags: err("NUMBER_TYPE_COERCE", 'Value "none" is not int.'),
      embeds: {
        1: {
          title: err("BASE_TYPE_MAX_LENGTH", "Must be 256 or fewer in length."),
          fields: { 0: { value: err("BASE_TYPE_STRING", "Must be a string.") } },
        },
      },
      allowed_mentions: {
        parse: {
          1: err("BASE_TYPE_CHOICES", "Value must be one of ('users', 'roles', 'everyone')."),
        },
      },
    });
    const notObject = await call(emu, "POST", `/channels/${channelId}/messages`, ["content"]);
    assertFormError(notObject, {
      _errors: [{
        code: "MODEL_TYPE_CONVERT",
        message: "Only dictionaries may be used in a ModelType",
      }],
    });
  });
});

Deno.test("an unknown component type is UNION_TYPE_CHOICES on the component; a bad button on its field", async () => {
  await withWorld(async ({ emu, channelId }) => {
    const unknown = await call(emu, "POST", `/channels/${channelId}/messages`, {
      content: "c",
      components: [{ type: 99, components: [] }],
    });
    assertFormError(unknown, {
      components: {
        0: err(
          "UNION_TYPE_CHOICES",
          'Value of field "type" must be one of (1, 9, 10, 12, 13, 14, 17).',
        ),
      },
    });
    const badButton = await call(emu, "POST", `/channels/${channelId}/messages`, {
      content: "c",
      components: [{
        type: 1,
        components: [
          { type: 2, style: 1, custom_id: "ok", label: "fine" },
          { type: 2, style: 9, custom_id: "", label: "l".repeat(81) },
          { type: 42 },
        ],
      }],
    });
    assertFormError(badButton, {
      components: {
        0: {
          components: {
            1: {
              custom_id: err("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."),
              style: err("BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6}."),
              label: err("BASE_TYPE_MAX_LENGTH", "Must be 80 or fewer in length."),
            },
            2: err(
              "UNION_TYPE_CHOICES",
              'Value of field "type" must be one of (2, 3, 5, 6, 7, 8).',
            ),
          },
        },
      },
    });
    const missing = await call(emu, "POST", `/channels/${channelId}/messages`, {
      content: "c",
      components: [{ type: 1, components: [{ type: 2, custom_id: "x", label: "x" }] }],
    });
    assertFormError(missing, {
      components: {
        0: { components: { 0: { style: err("BASE_TYPE_REQUIRED", "This field is required") } } },
      },
    });
  });
});

Deno.test("bad snowflakes: in the path (before any lookup), the query and the body", async () => {
  await withWorld(async ({ emu, channelId }) => {
    const path = await call(emu, "POST", "/channels/general/messages", { content: "x" });
    assertFormError(path, {
      channel_id: err("NUMBER_TYPE_COERCE", 'Value "general" is not snowflake.'),
    });
    const huge = await call(emu, "GET", "/channels/99999999999999999999");
    assertFormError(huge, {
      channel_id: err(
        "NUMBER_TYPE_MAX",
        "snowflake value should be less than or equal to 9223372036854775807.",
      ),
    });
    const query = await call(emu, "GET", `/channels/${channelId}/messages?before=last&limit=500`);
    assertFormError(query, {
      before: err("NUMBER_TYPE_COERCE", 'Value "last" is not snowflake.'),
      limit: err("NUMBER_TYPE_MAX", "int value should be less than or equal to 100."),
    });
    const body = await call(emu, "POST", `/channels/${channelId}/messages`, {
      content: "x",
      message_reference: { message_id: "12abc" },
      allowed_mentions: { users: ["123", "@alice"] },
    });
    assertFormError(body, {
      message_reference: {
        message_id: err("NUMBER_TYPE_COERCE", 'Value "12abc" is not snowflake.'),
      },
      allowed_mentions: {
        users: { 1: err("NUMBER_TYPE_COERCE", 'Value "@alice" is not snowflake.') },
      },
    });
    const reactionPath = await call(
      emu,
      "PUT",
      `/channels/${channelId}/messages/x/reactions/👍/@me`,
    );
    assertFormError(reactionPath, {
      message_id: err("NUMBER_TYPE_COERCE", 'Value "x" is not snowflake.'),
    });
  });
});

Deno.test("multipart: invalid payload_json is 50109; a valid one is checked like a JSON body", async () => {
  await withWorld(async ({ emu, channelId }) => {
    const path = `/channels/${channelId}/messages`;
    const garbage = await multipart(emu, path, "{content:", [{ name: "a.txt", data: "a" }]);
    assert.equal(garbage.status, 400);
    assert.deepEqual(garbage.body, {
      message: "The request body contains invalid JSON.",
      code: 50109,
    });
    const bad = await multipart(
      emu,
      path,
      JSON.stringify({
        content: "c".repeat(2001),
        attachments: [{ id: "zero", filename: "" }],
      }),
      [{ name: "a.txt", data: "a" }],
    );
    assertFormError(bad, {
      content: err("BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length."),
      attachments: {
        0: {
          id: err("NUMBER_TYPE_COERCE", 'Value "zero" is not snowflake.'),
          filename: err("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 1024 in length."),
        },
      },
    });
    assert.equal(emu.messages(channelId).length, 1, "nothing was stored");
    // discord.js's shape: attachment ids as the files' integer indexes (a documented relaxation).
    const good = await multipart(
      emu,
      path,
      JSON.stringify({
        content: "two files",
        attachments: [{ id: 0, filename: "a.txt" }, { id: "1", description: "b" }],
      }),
      [{ name: "a.txt", data: "a" }, { name: "b.txt", data: "b" }],
    );
    assert.equal(good.status, 200, JSON.stringify(good.body));
    assert.equal((good.body.attachments as unknown[]).length, 2);
  });
});

Deno.test("routing follows the spec: unknown path 404, unserved method 405, Discord's JSON shapes", async () => {
  await withWorld(async ({ emu, channelId }) => {
    const notFound = await call(emu, "GET", `/channels/${channelId}/no-such-thing`);
    assert.equal(notFound.status, 404);
    assert.deepEqual(notFound.body, { message: "404: Not Found", code: 0 });
    const notAllowed = await call(emu, "PUT", `/channels/${channelId}/messages`);
    assert.equal(notAllowed.status, 405);
    assert.deepEqual(notAllowed.body, { message: "405: Method Not Allowed", code: 0 });
    const typo = await call(emu, "POST", "/channel/1/messages", { content: "x" });
    assert.equal(typo.status, 404);
  });
});

Deno.test("violations anywhere in one request come back together in one tree", async () => {
  await withWorld(async ({ emu }) => {
    const a = await call(emu, "PATCH", "/channels/c/messages/m", { content: [] });
    assertFormError(a, {
      channel_id: err("NUMBER_TYPE_COERCE", 'Value "c" is not snowflake.'),
      message_id: err("NUMBER_TYPE_COERCE", 'Value "m" is not snowflake.'),
      content: err("BASE_TYPE_STRING", "Must be a string."),
    });
  });
});

Deno.test("good requests pass: discord.js's own payloads (files, embeds, buttons, reply, edit, history)", async () => {
  await withWorld(async ({ emu, channelId, messageId }) => {
    const client = new Client({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages],
      rest: { api: emu.apiUrl },
    });
    try {
      const ready = new Promise<void>((r) => client.once(Events.ClientReady, () => r()));
      await client.login(emu.token);
      await ready;
      const channel = await client.channels.fetch(channelId) as TextChannel;
      const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
        new ButtonBuilder().setCustomId("allow").setLabel("Allow").setStyle(ButtonStyle.Success),
        new ButtonBuilder().setURL("https://example.com/x").setLabel("Docs").setStyle(
          ButtonStyle.Link,
        ),
      );
      const sent = await channel.send({
        content: "c".repeat(2000),
        embeds: [
          new EmbedBuilder().setTitle("t").setDescription("d").setTimestamp(new Date())
            .addFields({ name: "n", value: "v" }).setURL("https://example.com"),
        ],
        components: [row],
        files: [{ attachment: Buffer.from("data"), name: "a.txt" }],
        reply: { messageReference: messageId, failIfNotExists: false },
        allowedMentions: { parse: [], repliedUser: false },
        nonce: "12345",
        enforceNonce: true,
      });
      await sent.edit({ content: "edited", components: [] });
      await sent.react("👍");
      await channel.messages.fetch({ limit: 100, before: sent.id });
      await channel.sendTyping();
      await sent.delete();
      const rejected = emu.requests.filter((r) => r.status >= 400);
      assert.deepEqual(rejected, [], "no request of discord.js was rejected");
      const served = new Set(emu.requests.map((r) => r.method));
      for (const m of ["GET", "POST", "PATCH", "PUT", "DELETE"]) assert.ok(served.has(m), m);
    } finally {
      await client.destroy();
    }
  });
});

Deno.test("spec: false leaves only the emulator's own checks (the handler answers first)", async () => {
  await withWorld(async ({ emu }) => {
    const a = await call(emu, "POST", "/channels/general/messages", { content: "x" });
    assert.equal(a.status, 404);
    assert.deepEqual(a.body, { message: "Unknown Channel", code: 10003 });
  }, { spec: false });
});

Deno.test("error mapping: structural union errors are dropped; lengths read as Discord's", () => {
  assert.deepEqual(
    discordFieldErrors([
      { instancePath: "/a", keyword: "if", params: {} },
      {
        instancePath: "/a/name",
        keyword: "maxLength",
        params: { limit: 32 },
        parentSchema: { type: "string", maxLength: 32 },
      },
      {
        instancePath: "/b",
        keyword: "minItems",
        params: { limit: 1 },
        parentSchema: { type: "array", minItems: 1 },
      },
      { instancePath: "", keyword: "required", params: { missingProperty: "type" } },
    ]),
    [
      {
        path: ["a", "name"],
        code: "BASE_TYPE_MAX_LENGTH",
        message: "Must be 32 or fewer in length.",
      },
      { path: ["b"], code: "BASE_TYPE_MIN_LENGTH", message: "Must be 1 or more in length." },
      { path: ["type"], code: "BASE_TYPE_REQUIRED", message: "This field is required" },
    ],
  );
});

Deno.test("every documented departure from the spec says why", () => {
  assert.ok(SPEC_OVERRIDES.length > 0);
  for (const o of SPEC_OVERRIDES) assert.ok(o.why.length > 40, `${o.schema}: ${o.why}`);
});
