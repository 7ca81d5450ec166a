/**
 * The prompt ledger: open prompts survive the process that posted them, so
 * the next bridge can close their copies (issue 10, defect 7).
 */
import assert from "node:assert/strict";
import { PromptLedger } from "../lib/permission/ledger.ts";

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

Deno.test("open prompts are handed to the next process once, closed ones are not", () =>
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
    assert.deepEqual(next.takeLeftovers(), [], "handed out once");
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
    for (const junk of ["{not json", '{"open":[{"request_id":1}]}', "[]"]) {
      Deno.writeTextFileSync(path, junk);
      assert.deepEqual(new PromptLedger(path, (l) => logs.push(l)).takeLeftovers(), []);
    }
    assert.equal(logs.length, 3);
    assert.match(logs[0], /not a prompt ledger/);
  }));
