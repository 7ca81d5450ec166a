/**
 * Makes `docs/sessions.png`, the README's picture of several sessions: the
 * real product against the Discord emulator, nothing drawn by hand.
 *
 *     deno run -A docs/sessions_picture.ts [--html-only]
 *
 * (`--html-only` keeps the page in a temporary directory and prints its path
 * instead of taking the picture.)
 *
 * It starts the emulator with a guild whose `#claude-sessions` channel is
 * the opted-in `sessionsChannel`, launches three sessions exactly as
 * `.mcp.json` does (same `DISCORD_STATE_DIR`, `CLAUDE_PROJECT_DIR` = `api`,
 * `web`, `docs`), and plays Claude Code over their stdio: an approver writes
 * in two sessions' threads, the sessions `reply`, one asks a permission.
 * Then it reads what the emulator holds through Discord's REST API (as the
 * bot), renders it with {@link renderSessionsPage} and screenshots the page
 * with headless Chromium (`chromium` on PATH; only needed for the picture).
 * Not part of the test suite.
 *
 * @module
 */
import { startEmulator } from "../tests/emulator/mod.ts";
import { type BridgeUnderTest, makeStateDir, startBridge } from "../tests/helpers/bridge.ts";
import { type PageChannel, type PageMessage, renderSessionsPage } from "./sessions_page.ts";

const HERE = new URL(".", import.meta.url).pathname;
const EVENT = "notifications/claude/channel";

/** What a session's thread entry in `session_threads.json` holds. */
interface ThreadEntry {
  threadId: string;
  name: string;
}

const emu = await startEmulator({ botName: "Claude", heartbeatIntervalMs: 1000 });
const ana = emu.addUser({ username: "ana", globalName: "Ana" });
const guild = emu.addGuild({ name: "Ana's projects" });
const general = emu.addTextChannel(guild.id, { name: "general" });
const sessions = emu.addTextChannel(guild.id, { name: "claude-sessions" });
emu.addTextChannel(guild.id, { name: "releases" });
const stateDir = await makeStateDir({
  dmPolicy: "allowlist",
  allowFrom: [ana.id],
  groups: {
    [general.id]: { requireMention: true, allowFrom: [] },
    [sessions.id]: { requireMention: false, allowFrom: [] },
  },
  sessionsChannel: sessions.id,
});

const running: BridgeUnderTest[] = [];

/** Launches one session as `.mcp.json` does and waits until it is on Discord. */
async function launch(project: string): Promise<BridgeUnderTest> {
  const b = await startBridge({
    env: {
      DISCORD_BOT_TOKEN: emu.token,
      DISCORD_API_URL: emu.apiUrl,
      DISCORD_STATE_DIR: stateDir,
      CLAUDE_PROJECT_DIR: `/home/ana/${project}`,
      CLAUDE_CODE_SESSION_ID: `session-${project}`,
    },
  });
  running.push(b);
  await b.waitForStderr(`this session is "${project}" on Discord`, 20_000);
  return b;
}

/** The thread the hub made for each session, from its own record. */
function threads(): Record<string, ThreadEntry> {
  try {
    return JSON.parse(Deno.readTextFileSync(`${stateDir}/session_threads.json`)).sessions;
  } catch {
    return {};
  }
}

/** Ana writes in a chat; resolves once `session` has received it. */
async function say(session: BridgeUnderTest, chatId: string, content: string) {
  const sent = emu.sendMessage({ channelId: chatId, authorId: ana.id, content });
  await session.waitForNotification(
    EVENT,
    (p) => (p.meta as Record<string, string>).message_id === sent.id,
    15_000,
  );
  return sent;
}

/** The session answers with the `reply` tool, as Claude would. */
async function reply(session: BridgeUnderTest, chatId: string, text: string) {
  const r = await session.call("reply", { chat_id: chatId, text });
  if (r.isError) throw new Error(`reply failed: ${r.text}`);
}

/** GET on the emulator's REST API, as the bot. */
async function rest<T>(path: string): Promise<T> {
  const res = await fetch(`${emu.apiUrl}/v10${path}`, {
    headers: { authorization: `Bot ${emu.token}` },
  });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return await res.json() as T;
}

async function play(): Promise<void> {
  const api = await launch("api");
  await api.waitForStderr("connected to Discord as", 20_000);
  const web = await launch("web");
  await launch("docs");
  const deadline = Date.now() + 20_000;
  while (Object.keys(threads()).length < 3) {
    if (Date.now() > deadline) throw new Error(`threads: ${JSON.stringify(threads())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const t = threads();
  const apiThread = t["session-api"].threadId;
  const webThread = t["session-web"].threadId;

  await say(api, apiThread, "run the test suite and tell me what fails");
  await reply(
    api,
    apiThread,
    "2 of 148 tests fail, both in `orders_test.ts`:\n" +
      "```\nFAILED refund rounds to the cent (expected 10.05, got 10.049)\n" +
      "FAILED refund of a cancelled order (404, expected 409)\n```\n" +
      "Want me to fix the rounding first?",
  );
  await say(api, apiThread, "yes, fix the rounding");
  await reply(api, apiThread, "Fixed in `lib/money.ts` (round half-even). 147 of 148 pass now.");

  await say(web, webThread, "move the dev server to port 5174 and rebuild");
  await reply(web, webThread, "Port changed in `vite.config.ts`. I need to run the build:");
  await web.client.notification({
    method: "notifications/claude/channel/permission_request",
    params: {
      request_id: "kdmpa",
      tool_name: "Bash",
      description: "Build the web app",
      input_preview: JSON.stringify({ command: "npm run build" }),
    },
  });
  await emu.waitFor(
    () => emu.messages(webThread).find((m) => m.components.length > 0),
    { timeoutMs: 15_000, message: "the prompt in web's thread" },
  );
  // What was written in a thread reached its session only (the picture shows routing that holds).
  await new Promise((r) => setTimeout(r, 300));
  const got = running.map((b) => b.notifications.filter((n) => n.method === EVENT).length);
  if (got.join() !== "2,1,0") throw new Error(`events per session (api, web, docs): ${got}`);
}

/** Reads the guild, the session threads and their messages back through REST. */
async function snapshot(): Promise<{
  channels: PageChannel[];
  messages: Record<string, PageMessage[]>;
}> {
  type RestChannel = {
    id: string;
    name: string;
    type: number;
    parent_id?: string | null;
    position?: number;
    thread_metadata?: { archived: boolean };
  };
  const list = await rest<RestChannel[]>(`/guilds/${guild.id}/channels`);
  const threadIds = Object.values(threads()).map((e) => e.threadId);
  const threadList = await Promise.all(threadIds.map((id) => rest<RestChannel>(`/channels/${id}`)));
  const channels: PageChannel[] = [...list, ...threadList].map((c) => ({
    id: c.id,
    name: c.name,
    thread: c.type === 11 || c.type === 12,
    parentId: c.parent_id ?? undefined,
    archived: c.thread_metadata?.archived ?? false,
    sessions: c.id === sessions.id,
  }));
  const messages: Record<string, PageMessage[]> = {};
  for (const id of threadIds) {
    const history = await rest<PageMessage[]>(`/channels/${id}/messages?limit=50`);
    messages[id] = history.reverse();
  }
  return { channels, messages };
}

/** Screenshots `html` with headless Chromium into `png`. */
async function screenshot(html: string, png: string): Promise<void> {
  const profile = await Deno.makeTempDir({ prefix: "sessions-picture-chromium-" });
  try {
    const out = await new Deno.Command("chromium", {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        `--user-data-dir=${profile}`,
        `--screenshot=${png}`,
        "--window-size=1200,700",
        `file://${html}`,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  } finally {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

try {
  await play();
  const { channels, messages } = await snapshot();
  const t = threads();
  const page = renderSessionsPage({
    guildName: guild.name as string,
    channels,
    messages,
    shown: [t["session-api"].threadId, t["session-web"].threadId],
    me: ana.id,
  });
  const dir = await Deno.makeTempDir({ prefix: "sessions-picture-" });
  const htmlPath = `${dir}/sessions.html`;
  await Deno.writeTextFile(htmlPath, page);
  if (Deno.args.includes("--html-only")) {
    console.error(`page: ${htmlPath}`);
  } else {
    await screenshot(htmlPath, `${HERE}sessions.png`);
    await Deno.remove(dir, { recursive: true });
    console.error(`picture: ${HERE}sessions.png`);
  }
} catch (err) {
  for (const b of running) console.error(b.stderr().slice(-2000));
  throw err;
} finally {
  for (const b of running.reverse()) await b.close();
  await emu.close();
  await Deno.remove(stateDir, { recursive: true }).catch(() => {});
}
