/**
 * The prompt ledger: open prompts survive the process that posted them, so
 * the next bridge can close their copies (issue 10, defect 7).
 */
import assert from "node:assert/strict";
import { AccessSchema } from "../lib/access/schema.ts";
import type { DiscordPort, MessageBody } from "../lib/discord/port.ts";
import { MAX_LEDGER_ENTRIES, PromptLedger } from "../lib/permission/ledger.ts";
import { PermissionRelay } from "../lib/permission/relay.ts";

const REQ = { request_id: "abcde", tool_name: "Bash", description: "List files" };

async function withDir(fn: (path: string, logs: string[]) => void | Promise<void>) {
  const logs: string[] = [];
  const dir = await Deno.makeTempDir({ prefix: "ledger-" });
  try {
    await fn(`${dir}/prompts.json`, logs);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("open prompts are handed to the next process until forgotten, closed ones are not", () =>
  withDir((path, logs) => {
    const first = new PromptLedger(path, (l) => logs.push(l));
    first.record(REQ, [{ chatId: "1", messageId: "2" }]);
    first.record(REQ, [{ chatId: "1", messageId: "2" }, { chatId: "3", messageId: "4" }]);
    first.record({ ...REQ, request_id: "fghij", description: "x".repeat(5000) }, []);
    first.forget("fghij");
    first.flush();
    assert.equal((Deno.statSync(path).mode ?? 0) & 0o777, 0o600);

    const next = new PromptLedger(path, (l) => logs.push(l));
    const left = next.takeLeftovers();
    assert.deepEqual(left, [{
      ...REQ,
      copies: [{ chatId: "1", messageId: "2" }, { chatId: "3", messageId: "4" }],
    }]);
    assert.deepEqual(next.takeLeftovers(), left, "listed until forgotten");
    // A prompt of the new process is written next to the left-over one until that is closed.
    next.record({ ...REQ, request_id: "mnopq" }, []);
    next.flush();
    const onDisk = JSON.parse(Deno.readTextFileSync(path)).open.map((e: { request_id: string }) =>
      e.request_id
    );
    assert.deepEqual(onDisk, ["abcde", "mnopq"]);
    next.forget("abcde");
    next.flush();
    assert.deepEqual(new PromptLedger(path, () => {}).takeLeftovers().length, 1);
    assert.equal(logs.length, 0);
  }));

Deno.test("a missing file is empty; a damaged one is ignored with a log line", () =>
  withDir((path, logs) => {
    assert.deepEqual(new PromptLedger(path, (l) => logs.push(l)).takeLeftovers(), []);
    assert.equal(logs.length, 0);
    for (const junk of ["{not json", '{"open":{"request_id":1}}', "[]"]) {
      Deno.writeTextFileSync(path, junk);
      assert.deepEqual(new PromptLedger(path, (l) => logs.push(l)).takeLeftovers(), []);
    }
    assert.equal(logs.length, 3);
    assert.match(logs[0], /not a prompt ledger/);
  }));

Deno.test("a damaged or forged entry is skipped with a log line; the others are kept", () =>
  withDir((path, logs) => {
    const good = { ...REQ, copies: [{ chatId: "11", messageId: "12" }] };
    Deno.writeTextFileSync(
      path,
      JSON.stringify({
        open: [
          { request_id: 1 },
          // IDs go into REST paths: only Discord IDs are accepted.
          { ...REQ, request_id: "fghij", copies: [{ chatId: "1/../../guilds/2", messageId: "3" }] },
          { ...REQ, request_id: "qrstu", copies: Array(101).fill({ chatId: "1", messageId: "2" }) },
          { ...REQ, request_id: "vwxyz", description: "x".repeat(100_000) },
          good,
        ],
      }),
    );
    const ledger = new PromptLedger(path, (l) => logs.push(l));
    assert.deepEqual(ledger.takeLeftovers(), [good]);
    assert.equal(logs.length, 1);
    assert.match(logs[0], /skipped 4 damaged or excess prompt entries/);
  }));

Deno.test("a forged file with thousands of entries is cut to the newest 200", () =>
  withDir((path, logs) => {
    const open = Array.from({ length: 5000 }, (_, i) => ({
      ...REQ,
      request_id: `r${i}`,
      copies: [{ chatId: "1", messageId: String(i + 1) }],
    }));
    Deno.writeTextFileSync(path, JSON.stringify({ open }));
    const left = new PromptLedger(path, (l) => logs.push(l)).takeLeftovers();
    assert.equal(left.length, MAX_LEDGER_ENTRIES);
    assert.equal(left.at(-1)?.request_id, "r4999");
    assert.match(logs[0], /skipped 4800/);
  }));

/** Just enough of Discord for the relay with a ledger: posts, reads, edits. */
class LedgerDiscord {
  messages = new Map<string, { chatId: string; content: string; components: unknown[] }>();
  edits: { messageId: string; content: string }[] = [];
  /** Messages whose edits fail with a 503 (Discord away). */
  editFails = new Set<string>();
  #n = 100;
  status() {
    return { state: "ready" as const, botId: "1", botName: "bot" };
  }
  openDm(userId: string) {
    return Promise.resolve(userId === "21" ? "31" : "32");
  }
  sendMessage(chatId: string, body: MessageBody) {
    const id = String(++this.#n);
    this.messages.set(id, {
      chatId,
      content: body.content ?? "",
      components: body.components ?? [],
    });
    return Promise.resolve({ id });
  }
  editMessage(_chatId: string, messageId: string, body: MessageBody) {
    if (this.editFails.has(messageId)) {
      return Promise.reject(Object.assign(new Error("Service Unavailable"), { status: 503 }));
    }
    const m = this.messages.get(messageId)!;
    if (body.content !== undefined) m.content = body.content;
    if (body.components !== undefined) m.components = body.components;
    this.edits.push({ messageId, content: m.content });
    return Promise.resolve({ id: messageId });
  }
  fetchMessage(_chatId: string, messageId: string) {
    const m = this.messages.get(messageId);
    if (!m) return Promise.reject(Object.assign(new Error("Unknown Message"), { status: 404 }));
    return Promise.resolve({
      id: messageId,
      timestamp: "",
      authorId: "1",
      authorName: "bot",
      content: m.content,
      attachments: [],
      hasComponents: m.components.length > 0,
    });
  }
  addReaction() {
    return Promise.resolve();
  }
}

function relayOver(discord: LedgerDiscord, ledger: PromptLedger, logs: string[]) {
  return new PermissionRelay({
    discord: () => discord as unknown as DiscordPort,
    access: () => AccessSchema.parse({ allowFrom: ["21", "22"] }),
    sendVerdict: () => Promise.resolve(),
    lastGuildChat: () => undefined,
    log: (l) => logs.push(l),
    ledger,
  });
}

const FULL_REQ = { ...REQ, input_preview: '{"command":"ls"}' };

Deno.test("a decided prompt whose closing edit failed is brought in line, with its outcome, by the next bridge", () =>
  withDir(async (path, logs) => {
    const discord = new LedgerDiscord();
    const first = relayOver(discord, new PromptLedger(path, (l) => logs.push(l)), logs);
    await first.request(FULL_REQ);
    const [alices, bobs] = [...discord.messages.keys()];
    discord.editFails.add(bobs);
    await first.click({
      customId: "perm:allow:abcde",
      userId: "21",
      userName: "alice",
      channelId: "31",
      messageId: alices,
    });
    await new Promise((r) => setTimeout(r, 10));
    assert.ok(discord.messages.get(bobs)!.components.length > 0, "bob's copy kept its buttons");
    first.stop(); // the session ends before Discord is back

    discord.editFails.clear();
    const next = relayOver(discord, new PromptLedger(path, (l) => logs.push(l)), logs);
    await next.recover();
    const m = discord.messages.get(bobs)!;
    assert.equal(m.components.length, 0, "no buttons left");
    assert.match(m.content, /Allowed by alice/, "the real outcome, not 'expired'");
    next.stop();
    assert.deepEqual(new PromptLedger(path, () => {}).takeLeftovers(), []);
  }));

Deno.test("a left-over copy whose closing edit fails stays listed and is closed at the next login", () =>
  withDir(async (path, logs) => {
    const discord = new LedgerDiscord();
    const first = relayOver(discord, new PromptLedger(path, (l) => logs.push(l)), logs);
    await first.request(FULL_REQ);
    first.stop(); // session over, prompt still open
    const [alices, bobs] = [...discord.messages.keys()];

    discord.editFails.add(bobs);
    const ledger = new PromptLedger(path, (l) => logs.push(l));
    const next = relayOver(discord, ledger, logs);
    await next.recover();
    assert.equal(discord.messages.get(alices)!.components.length, 0);
    assert.ok(discord.messages.get(bobs)!.components.length > 0);
    assert.ok(logs.some((l) => /1 failed, retried at the next login/.test(l)), logs.join("\n"));

    discord.editFails.clear();
    await next.recover(); // a later login of the same process
    assert.equal(discord.messages.get(bobs)!.components.length, 0);
    assert.match(discord.messages.get(bobs)!.content, /expired/);
    next.stop();
    assert.deepEqual(new PromptLedger(path, () => {}).takeLeftovers(), []);
  }));
