/**
 * `deno task access configure` keeps the bot token off the command line
 * (issue 10, defect 11): without an argument it reads a hidden prompt on a
 * terminal and standard input otherwise. Launched as the `access` task.
 */
import assert from "node:assert/strict";
import { PromptCancelled, type RawTerminal, readHiddenLine } from "../lib/access/secret_input.ts";
import { REPO, runTask } from "./helpers/tasks.ts";
import { taskLine } from "./helpers/tasks.ts";

const TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.abcdefghijklmnopqrstuvwxyz0123456789AB";
/** Parts of the token that must never be printed (the mask shows 4 + 4 characters). */
const SECRET_PARTS = [TOKEN, "GabcDE", "abcdefghijklmnop"];

function assertNoToken(text: string, where: string) {
  for (const part of SECRET_PARTS) assert.ok(!text.includes(part), `token printed on ${where}`);
}

async function withStateDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "access_configure_" });
  try {
    await fn(`${root}/state`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("`deno task access configure` with the token piped on stdin stores it 0600, masked", async () => {
  await withStateDir(async (dir) => {
    const r = await runTask("access", ["configure"], {
      env: { DISCORD_STATE_DIR: dir },
      stdin: `${TOKEN}\n`,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Saved DISCORD_BOT_TOKEN MTIz…89AB \(70 characters\) to .*\.env/);
    assertNoToken(r.stdout, "stdout");
    assertNoToken(r.stderr, "stderr");
    assert.equal(Deno.readTextFileSync(`${dir}/.env`), `DISCORD_BOT_TOKEN=${TOKEN}\n`);
    assert.equal(Deno.statSync(`${dir}/.env`).mode! & 0o777, 0o600);
  });
});

Deno.test("`configure` from stdin validates as the argument form and never echoes bad input", async () => {
  await withStateDir(async (dir) => {
    const secret = "oops-this-is-my-password";
    const r = await runTask("access", ["configure"], {
      env: { DISCORD_STATE_DIR: dir },
      stdin: `${secret}\n`,
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /does not look like a Discord bot token/);
    assert.ok(!(r.stdout + r.stderr).includes(secret));
    assert.throws(() => Deno.statSync(`${dir}/.env`), Deno.errors.NotFound);
    const empty = await runTask("access", ["configure"], {
      env: { DISCORD_STATE_DIR: dir },
      stdin: "",
    });
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /no token was given: run this in a terminal to be prompted/);
  });
});

Deno.test("the argument form still works for scripts, with a note about shell history", async () => {
  await withStateDir(async (dir) => {
    const r = await runTask("access", ["configure", TOKEN], { env: { DISCORD_STATE_DIR: dir } });
    assert.equal(r.code, 0, r.stderr);
    assertNoToken(r.stdout, "stdout");
    assertNoToken(r.stderr, "stderr");
    assert.match(r.stderr, /shell history/);
    assert.equal(Deno.readTextFileSync(`${dir}/.env`), `DISCORD_BOT_TOKEN=${TOKEN}\n`);
  });
});

const hasScript = (() => {
  try {
    // util-linux's script (the flags used below); BSD script differs.
    const out = new Deno.Command("script", { args: ["--version"] }).outputSync();
    return out.success && new TextDecoder().decode(out.stdout).includes("util-linux");
  } catch {
    return false;
  }
})();

/**
 * Runs `deno task --quiet access configure` on a pseudo-terminal (util-linux
 * `script`), types `input` once the prompt shows, and returns all the
 * terminal displayed. With echo on, the typed token would appear there.
 */
async function configureOnTerminal(dir: string, input: string) {
  const child = new Deno.Command("script", {
    args: ["-qfec", "deno task --quiet access configure", "/dev/null"],
    cwd: REPO,
    env: { DISCORD_STATE_DIR: dir, NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let screen = "";
  while (!screen.includes("(input is hidden)")) {
    const { value, done } = await reader.read();
    if (done) break;
    screen += value;
  }
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    screen += value;
  }
  await writer.close().catch(() => {});
  return { screen, code: (await child.status).code };
}

Deno.test({
  name: "on a terminal `configure` prompts and reads the token without echoing it",
  ignore: !hasScript,
  async fn() {
    assert.match(taskLine("access"), / main\.ts access$/);
    await withStateDir(async (dir) => {
      // Typed with a slip corrected by backspace, then Enter.
      const { screen, code } = await configureOnTerminal(dir, `${TOKEN}x\x7f\r`);
      assert.equal(code, 0, screen);
      assert.match(screen, /Paste the bot token \(input is hidden\)/);
      assert.match(screen, /Saved DISCORD_BOT_TOKEN MTIz…89AB \(70 characters\)/);
      assertNoToken(screen, "the terminal");
      assert.equal(Deno.readTextFileSync(`${dir}/.env`), `DISCORD_BOT_TOKEN=${TOKEN}\n`);
      assert.equal(Deno.statSync(`${dir}/.env`).mode! & 0o777, 0o600);

      const cancelled = await configureOnTerminal(`${dir}2`, "MTIz\x03");
      assert.equal(cancelled.code, 1);
      assert.match(cancelled.screen, /cancelled; nothing was saved/);
      assert.throws(() => Deno.statSync(`${dir}2/.env`), Deno.errors.NotFound);
    });
  },
});

/** A terminal that delivers `chunks` and records raw-mode switches. */
function fakeTerminal(chunks: string[]): RawTerminal & { modes: boolean[] } {
  const queue = chunks.map((c) => new TextEncoder().encode(c));
  const modes: boolean[] = [];
  return {
    modes,
    setRaw: (raw) => void modes.push(raw),
    read(buffer) {
      const next = queue.shift();
      if (!next) return Promise.resolve(null);
      buffer.set(next);
      return Promise.resolve(next.length);
    },
  };
}

Deno.test("the hidden line editor: backspace, Ctrl-U, control bytes, Enter, and the terminal restored", async () => {
  let shown = "";
  const term = fakeTerminal(["ab", "c\x7f\x7fX", "\x15tok", "\x1b", "en\r", "ignored"]);
  assert.equal(await readHiddenLine("> ", (s) => shown += s, term), "token");
  assert.deepEqual(term.modes, [true, false]);
  assert.equal(shown, "> \n");
  const cancel = fakeTerminal(["abc\x03"]);
  await assert.rejects(readHiddenLine("> ", () => {}, cancel), PromptCancelled);
  assert.deepEqual(cancel.modes, [true, false]);
  await assert.rejects(readHiddenLine("> ", () => {}, fakeTerminal(["\x04"])), PromptCancelled);
  assert.equal(await readHiddenLine("> ", () => {}, fakeTerminal(["abc\x04"])), "abc");
});
