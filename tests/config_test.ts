import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { DEFAULT_API_URL, loadConfig, parseDotEnv, resolveStateDir } from "../lib/core/config.ts";

Deno.test("the state directory defaults to the official plugin's", () => {
  assertEquals(resolveStateDir({ HOME: "/home/u" }), "/home/u/.claude/channels/discord");
  assertEquals(resolveStateDir({ HOME: "/home/u", DISCORD_STATE_DIR: "/s" }), "/s");
});

Deno.test(".env lines are KEY=value; comments, blanks and quotes are handled", () => {
  assertEquals(parseDotEnv("# c\n\nDISCORD_BOT_TOKEN=abc.def\nexport X='y z'\nbad line\n"), {
    DISCORD_BOT_TOKEN: "abc.def",
    X: "y z",
  });
});

Deno.test("the real environment wins over the .env file", () => {
  const files = {
    "/s/.env": "DISCORD_BOT_TOKEN=from-file\nDISCORD_API_URL=http://127.0.0.1:1/api\n",
  };
  const read = (p: string) => files[p as keyof typeof files];
  const fromFile = loadConfig({ DISCORD_STATE_DIR: "/s" }, read);
  assertEquals(fromFile.DISCORD_BOT_TOKEN, "from-file");
  assertEquals(fromFile.DISCORD_API_URL, "http://127.0.0.1:1/api");
  const fromEnv = loadConfig({ DISCORD_STATE_DIR: "/s", DISCORD_BOT_TOKEN: "from-env" }, read);
  assertEquals(fromEnv.DISCORD_BOT_TOKEN, "from-env");
});

Deno.test("defaults: Discord's API, live access mode, no token", () => {
  const c = loadConfig({ DISCORD_STATE_DIR: "/s" }, () => undefined);
  assertEquals(c.DISCORD_API_URL, DEFAULT_API_URL);
  assertEquals(c.DISCORD_ACCESS_MODE, "live");
  assertEquals(c.DISCORD_BOT_TOKEN, undefined);
});

Deno.test("invalid values are refused with the variable's name", () => {
  assertThrows(
    () => loadConfig({ DISCORD_STATE_DIR: "/s", DISCORD_API_URL: "ftp://x" }, () => undefined),
    /DISCORD_API_URL/,
  );
  assertThrows(() =>
    loadConfig({ DISCORD_STATE_DIR: "/s", DISCORD_ACCESS_MODE: "sometimes" }, () => undefined)
  );
});

Deno.test("a trailing slash on DISCORD_API_URL is dropped", () => {
  assertEquals(
    loadConfig(
      { DISCORD_STATE_DIR: "/s", DISCORD_API_URL: "http://127.0.0.1:9/api/" },
      () => undefined,
    ).DISCORD_API_URL,
    "http://127.0.0.1:9/api",
  );
});

Deno.test("a DISCORD_API_URL that already names the API version is accepted", () => {
  // discord.js appends `/v10` itself; `…/api/v10` must not become `…/api/v10/v10`.
  for (
    const url of [
      "http://127.0.0.1:9/api/v10",
      "http://127.0.0.1:9/api/v10/",
      "http://127.0.0.1:9/api/v9",
    ]
  ) {
    assertEquals(
      loadConfig({ DISCORD_STATE_DIR: "/s", DISCORD_API_URL: url }, () => undefined)
        .DISCORD_API_URL,
      "http://127.0.0.1:9/api",
    );
  }
  assertEquals(
    loadConfig({ DISCORD_STATE_DIR: "/s", DISCORD_API_URL: "http://[::1]:9/api" }, () => undefined)
      .DISCORD_API_URL,
    "http://[::1]:9/api",
  );
});
