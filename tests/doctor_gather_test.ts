/**
 * Where `deno task doctor` finds the server registered: the project's
 * `.mcp.json`, the user config `~/.claude.json` (top level and per project),
 * and an installed plugin enabled in user or project settings. Only entries
 * that start this bridge count.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { gatherFacts } from "../lib/doctor/gather.ts";

const ours = {
  command: "deno",
  args: ["task", "--quiet", "--config", "/src/discord/deno.json", "start"],
};
const other = { command: "npx", args: ["-y", "some-server"] };

async function registrationsIn(
  files: Record<string, unknown>,
): Promise<{ where: string; detail: string }[]> {
  const root = await Deno.makeTempDir({ prefix: "doctor-gather-" });
  try {
    const home = `${root}/home`;
    const project = `${root}/project`;
    for (const [path, value] of Object.entries(files)) {
      const full = `${root}/${path}`;
      await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(full, JSON.stringify(value).replaceAll("$PROJECT", project));
    }
    await Deno.mkdir(project, { recursive: true });
    const facts = await gatherFacts({
      env: { HOME: home, DISCORD_STATE_DIR: `${root}/state` },
      cwd: project,
      fetch: () => Promise.reject(new Error("no network in this test")),
      claudeVersion: () => Promise.resolve("2.1.332 (Claude Code)"),
    });
    return facts.registrations.map((r) => ({ ...r, where: r.where.replace(root, "") }));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("doctor gather: project .mcp.json and ~/.claude.json (top level and per project)", async () => {
  const found = await registrationsIn({
    "project/.mcp.json": { mcpServers: { discord: ours, other } },
    "home/.claude.json": {
      mcpServers: {
        "discord-bot": { command: "/usr/bin/deno", args: ["run", "-A", "/src/main.ts"] },
      },
      projects: { "$PROJECT": { mcpServers: { local: ours } } },
    },
  });
  assertEquals(found, [
    { where: "project /project/.mcp.json", detail: "discord" },
    { where: "user config ~/.claude.json", detail: "discord-bot" },
    { where: "~/.claude.json for /project", detail: "local" },
  ]);
});

Deno.test("doctor gather: an installed plugin counts only while enabled (user or project settings)", async () => {
  const cache = "$PROJECT/../home/.claude/plugins/cache";
  const installed = {
    "home/.claude/plugins/installed_plugins.json": {
      plugins: {
        "discord@claude-channels": [{ installPath: `${cache}/claude-channels/discord/0.1.0` }],
        "discord@claude-plugins-official": [{ installPath: `${cache}/official/discord/0.2.30` }],
      },
    },
    "home/.claude/plugins/cache/claude-channels/discord/0.1.0/.claude-plugin/plugin.json": {
      name: "discord",
      mcpServers: { discord: ours },
    },
    "home/.claude/plugins/cache/official/discord/0.2.30/.claude-plugin/plugin.json": {
      name: "discord",
    },
  };
  assertEquals(await registrationsIn(installed), []);
  assertEquals(
    await registrationsIn({
      ...installed,
      "home/.claude/settings.json": {
        enabledPlugins: {
          "discord@claude-channels": true,
          "discord@claude-plugins-official": true,
        },
      },
    }),
    [{ where: "plugin", detail: "discord@claude-channels" }],
  );
  assertEquals(
    await registrationsIn({
      ...installed,
      "home/.claude/settings.json": { enabledPlugins: { "discord@claude-channels": true } },
      "project/.claude/settings.local.json": {
        enabledPlugins: { "discord@claude-channels": false },
      },
    }),
    [],
  );
  assertEquals(await registrationsIn({ "project/.mcp.json": { mcpServers: { other } } }), []);
});
