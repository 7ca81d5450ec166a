import assert from "node:assert/strict";
import { approvedDir, takeApprovals, writeApproval } from "../lib/access/approvals.ts";

const USER = "123456789012345678";
const USER2 = "223456789012345678";
const DM = "923456789012345678";

async function withStateDir(fn: (stateDir: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "access_approvals_test_" });
  try {
    await fn(`${root}/state`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("writeApproval drops approved/<senderId> containing the DM channel ID", async () => {
  await withStateDir(async (dir) => {
    await writeApproval(dir, { senderId: USER, chatId: DM });
    assert.equal(approvedDir(dir), `${dir}/approved`);
    assert.equal(Deno.readTextFileSync(`${dir}/approved/${USER}`).trim(), DM);
    assert.equal(Deno.statSync(`${dir}/approved`).mode! & 0o777, 0o700);
    assert.equal(Deno.statSync(`${dir}/approved/${USER}`).mode! & 0o777, 0o600);
    assert.deepEqual([...Deno.readDirSync(`${dir}/approved`)].map((e) => e.name), [USER]);
  });
});

Deno.test("writeApproval refuses non-snowflake IDs (no path traversal)", async () => {
  await withStateDir(async (dir) => {
    await assert.rejects(writeApproval(dir, { senderId: "../../x", chatId: DM }), /user ID/);
    await assert.rejects(writeApproval(dir, { senderId: USER, chatId: "general" }), /channel ID/);
  });
});

Deno.test("takeApprovals returns and deletes each approval once", async () => {
  await withStateDir(async (dir) => {
    assert.deepEqual(await takeApprovals(dir), [], "no mailbox yet");
    await writeApproval(dir, { senderId: USER, chatId: DM });
    // The official skill writes the bare ID without a newline.
    Deno.writeTextFileSync(`${dir}/approved/${USER2}`, DM);
    const taken = await takeApprovals(dir);
    assert.deepEqual(
      taken.sort((a, b) => a.senderId.localeCompare(b.senderId)),
      [{ senderId: USER, chatId: DM }, { senderId: USER2, chatId: DM }],
    );
    assert.deepEqual(await takeApprovals(dir), []);
  });
});

Deno.test("malformed approvals are removed unused; temp files are left for their writer", async () => {
  await withStateDir(async (dir) => {
    const box = `${dir}/approved`;
    Deno.mkdirSync(box, { recursive: true });
    Deno.writeTextFileSync(`${box}/not-an-id`, DM);
    Deno.writeTextFileSync(`${box}/${USER}`, "hello\nworld");
    Deno.writeTextFileSync(`${box}/${USER2}`, "");
    Deno.writeTextFileSync(`${box}/.${USER}.tmp-1-abc`, DM);
    Deno.symlinkSync("/etc/hostname", `${box}/323456789012345678`);
    assert.deepEqual(await takeApprovals(dir), []);
    assert.deepEqual([...Deno.readDirSync(box)].map((e) => e.name), [`.${USER}.tmp-1-abc`]);
  });
});
