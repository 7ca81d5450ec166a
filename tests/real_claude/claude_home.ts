/**
 * The isolated world the real Claude Code runs in: a HOME whose
 * `.claude.json` lets it start offline without a dialog, and a scratch
 * project (outside any git checkout) whose `.mcp.json` launches our bridge
 * the way our own `.mcp.json` does, from our checkout.
 *
 * The keys of `.claude.json` are internals of Claude Code 2.1.332 (see
 * /work/wt/ISSUES/REAL-CLAUDE-CODE.md); re-check them after an upgrade.
 *
 * @module
 */

/** The repository root (our checkout). */
export const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** A dummy API key; Claude Code only needs its last 20 characters approved. */
export const DUMMY_API_KEY = "sk-ant-api03-fake-offline-test-key-0123456789abcdefghij";

/**
 * `~/.claude.json` for an offline run: onboarding done, the dummy key
 * approved, the project trusted, and the cached remote flags that switch
 * channels (`tengu_harbor`) and the permission relay
 * (`tengu_harbor_permissions`) on. Offline, Claude Code reads flags only from
 * this cache.
 */
export function claudeJson(projectDir: string, version: string): Record<string, unknown> {
  return {
    hasCompletedOnboarding: true,
    lastOnboardingVersion: version,
    lastReleaseNotesSeen: version,
    theme: "dark",
    numStartups: 5,
    autoUpdates: false,
    customApiKeyResponses: { approved: [DUMMY_API_KEY.slice(-20)], rejected: [] },
    cachedGrowthBookFeatures: { tengu_harbor: true, tengu_harbor_permissions: true },
    projects: {
      [projectDir]: {
        hasTrustDialogAccepted: true,
        hasCompletedProjectOnboarding: true,
        projectOnboardingSeenCount: 1,
        allowedTools: [],
      },
    },
  };
}

/**
 * The project's `.mcp.json` entry: our own `.mcp.json`'s command with
 * `--config <checkout>/deno.json` after `task`, so `deno task` finds our
 * tasks and runs them from our checkout (as the README's "Use it from any
 * project" entry does).
 */
export function projectMcpEntry(): { command: string; args: string[] } {
  const ours = JSON.parse(Deno.readTextFileSync(`${REPO}/.mcp.json`)).mcpServers.discord as {
    command: string;
    args: string[];
  };
  const at = ours.args.indexOf("task");
  if (ours.command !== "deno" || at < 0) {
    throw new Error(`.mcp.json no longer launches "deno task …": ${JSON.stringify(ours)}`);
  }
  const args = [...ours.args];
  args.splice(at + 1, 0, "--config", `${REPO}/deno.json`);
  return { command: ours.command, args };
}

/** Writes HOME and the project directory under `root`. */
export async function writeClaudeWorld(
  root: string,
  version: string,
): Promise<{ home: string; project: string }> {
  const home = `${root}/home`;
  const project = `${root}/project`;
  await Deno.mkdir(`${home}/.claude`, { recursive: true });
  await Deno.mkdir(`${project}/.claude`, { recursive: true });
  await Deno.writeTextFile(
    `${home}/.claude.json`,
    JSON.stringify(claudeJson(project, version), null, 2),
  );
  await Deno.writeTextFile(
    `${project}/.mcp.json`,
    JSON.stringify({ mcpServers: { discord: projectMcpEntry() } }, null, 2),
  );
  // Approval of a project .mcp.json server; without it a dialog blocks the start.
  await Deno.writeTextFile(
    `${project}/.claude/settings.local.json`,
    JSON.stringify({ enabledMcpjsonServers: ["discord"] }, null, 2),
  );
  return { home, project };
}

/** The Deno cache directory in use (warm), for the isolated HOME. */
export async function denoDir(): Promise<string> {
  const fromEnv = Deno.env.get("DENO_DIR");
  if (fromEnv) return fromEnv;
  const out = await new Deno.Command("deno", { args: ["info", "--json"], stdout: "piped" })
    .output();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}
