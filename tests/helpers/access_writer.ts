/**
 * A writer of `access.json` for the locking tests, meant to be launched with
 * the permissions of a `deno.json` task ({@link spawnWithTaskPermissions}).
 * It writes through {@link AccessStore.update}, the path every writer of the
 * product takes:
 *
 *     access_writer.ts <stateDir> allow <prefix> <count> <startAtMs>
 *       adds the ids <prefix>000 … one per update (as `access allow` does)
 *     access_writer.ts <stateDir> pairing <stopFile> <startAtMs>
 *       records pairing codes as the bridge does for a stranger's DM, one per
 *       update, until <stopFile> exists; its clock jumps past the code
 *       lifetime each time, so every update prunes the old code and writes
 *
 *     access_writer.ts <stateDir> slow <id> <holdMs>
 *       takes the lock itself, reads access.json, prints "held <pid>", waits
 *       <holdMs>, then adds <id> and writes: a live holder that is slow
 *
 * It prints the number of updates it made.
 *
 * @module
 */
import { AccessStore } from "../../lib/access/store.ts";
import { decidePairing, PAIRING_CODE_TTL_MS } from "../../lib/access/pairing.ts";
import { withFileLock } from "../../lib/access/lock.ts";
import { writeFileAtomic } from "../../lib/access/atomic_write.ts";

const [stateDir, mode, ...rest] = Deno.args;
const store = new AccessStore({ stateDir, warn: () => {} });

async function waitFor(startAt: number): Promise<void> {
  while (Date.now() < startAt) await new Promise((r) => setTimeout(r, 1));
}

let updates = 0;
if (mode === "allow") {
  const [prefix, count, startAt] = rest;
  await waitFor(Number(startAt));
  for (let i = 0; i < Number(count); i++) {
    const id = prefix + String(i).padStart(3, "0");
    await store.update((a) => ({ ...a, allowFrom: [...a.allowFrom, id] }));
    updates++;
  }
} else if (mode === "pairing") {
  const [stopFile, startAt] = rest;
  await waitFor(Number(startAt));
  const stopped = () => {
    try {
      Deno.statSync(stopFile);
      return true;
    } catch {
      return false;
    }
  };
  let now = Date.now();
  while (!stopped()) {
    now += PAIRING_CODE_TTL_MS + 1;
    const stranger = `7${String(updates).padStart(17, "0")}`;
    const result = await store.update((a) => {
      const d = decidePairing(a, { senderId: stranger, chatId: stranger }, { now });
      return d.changed ? d.access : null;
    });
    if (result.changed) updates++;
  }
} else if (mode === "slow") {
  const [id, holdMs] = rest;
  await withFileLock(store.lockPath, async () => {
    const access = JSON.parse(Deno.readTextFileSync(store.path));
    console.log(`held ${Deno.pid}`);
    await new Promise((r) => setTimeout(r, Number(holdMs)));
    access.allowFrom.push(id);
    writeFileAtomic(store.path, JSON.stringify(access, null, 2) + "\n");
  });
  updates++;
} else {
  throw new Error(`unknown mode ${mode}`);
}
console.log(updates);
