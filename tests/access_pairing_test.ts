import assert from "node:assert/strict";
import { type Access, defaultAccess } from "../lib/access/schema.ts";
import {
  approvePairing,
  decidePairing,
  denyPairing,
  generatePairingCode,
  MAX_PENDING,
  PAIRING_CODE_TTL_MS,
  type PairingDecision,
  pruneExpired,
} from "../lib/access/pairing.ts";

const T0 = 1_700_000_000_000;
const ALICE = { senderId: "111111111111111111", chatId: "911111111111111111" };
const BOB = { senderId: "222222222222222222", chatId: "922222222222222222" };

/** A deterministic RNG: each call fills with the next byte value. */
function counterRandom(start = 0): (b: Uint8Array) => Uint8Array {
  let n = start;
  return (bytes) => bytes.fill(n++ & 0xff);
}

function deepFrozen<T>(v: T): T {
  if (v && typeof v === "object") {
    Object.freeze(v);
    Object.values(v).forEach(deepFrozen);
  }
  return v;
}

function sent(d: PairingDecision): Extract<PairingDecision, { action: "send_code" }> {
  assert.equal(d.action, "send_code", JSON.stringify(d));
  return d as Extract<PairingDecision, { action: "send_code" }>;
}

function stranger(i: number) {
  return { senderId: `33333333333333333${i}`, chatId: `93333333333333333${i}` };
}

Deno.test("codes are 6 lowercase hex characters from the random source", () => {
  assert.match(generatePairingCode(), /^[0-9a-f]{6}$/);
  assert.equal(generatePairingCode(() => new Uint8Array([0xab, 0x01, 0xff])), "ab01ff");
  const many = new Set(Array.from({ length: 200 }, () => generatePairingCode()));
  assert.ok(many.size > 190, "the system RNG does not repeat itself");
});

Deno.test("a stranger's first DM creates a pending code valid for one hour", () => {
  const before = deepFrozen(defaultAccess());
  const d = sent(
    decidePairing(before, ALICE, { now: T0, random: () => new Uint8Array([1, 2, 3]) }),
  );
  assert.equal(d.code, "010203");
  assert.equal(d.resend, false);
  assert.equal(d.expiresAt, T0 + PAIRING_CODE_TTL_MS);
  assert.deepEqual(d.access.pending["010203"], {
    senderId: ALICE.senderId,
    chatId: ALICE.chatId,
    createdAt: T0,
    expiresAt: T0 + 60 * 60 * 1000,
    replies: 1,
  });
  assert.deepEqual(before.pending, {}, "the input is not mutated");
});

Deno.test("the same sender gets one reminder, then silence until the code expires", () => {
  let access: Access = defaultAccess();
  const first = sent(decidePairing(access, ALICE, { now: T0 }));
  access = first.access;
  const second = sent(decidePairing(access, ALICE, { now: T0 + 1000 }));
  assert.equal(second.code, first.code);
  assert.equal(second.resend, true);
  assert.equal(second.access.pending[first.code].replies, 2);
  access = second.access;
  const third = decidePairing(access, ALICE, { now: T0 + 2000 });
  assert.deepEqual([third.action, third.changed], ["ignore", false]);
  assert.equal(third.action === "ignore" && third.reason, "reply_limit");

  // After expiry the old code is pruned and the sender may get a new one.
  const later = sent(decidePairing(access, ALICE, {
    now: T0 + PAIRING_CODE_TTL_MS + 1,
    random: () => new Uint8Array([9, 9, 9]),
  }));
  assert.equal(later.code, "090909");
  assert.equal(later.resend, false);
  assert.deepEqual(Object.keys(later.access.pending), ["090909"]);
});

Deno.test("at most three codes pend at once; a fourth stranger is silently ignored", () => {
  assert.equal(MAX_PENDING, 3);
  let access: Access = defaultAccess();
  const random = counterRandom();
  for (let i = 0; i < 3; i++) {
    access = sent(decidePairing(access, stranger(i), { now: T0, random })).access;
  }
  const fourth = decidePairing(access, stranger(3), { now: T0, random });
  assert.equal(fourth.action, "ignore");
  assert.equal(fourth.action === "ignore" && fourth.reason, "pending_cap");
  assert.equal(fourth.changed, false);
  assert.equal(Object.keys(fourth.access.pending).length, 3);
  // Once one expires, there is room again.
  const roomy = decidePairing(access, stranger(3), { now: T0 + PAIRING_CODE_TTL_MS + 1, random });
  assert.equal(roomy.action, "send_code");
});

Deno.test("a code collision is re-drawn instead of overwriting another sender's code", () => {
  const first = sent(decidePairing(defaultAccess(), ALICE, { now: T0, random: counterRandom(5) }));
  let calls = 0;
  const random = (b: Uint8Array) => b.fill(calls++ === 0 ? 5 : 6); // first draw collides
  const second = sent(decidePairing(first.access, BOB, { now: T0, random }));
  assert.equal(first.code, "050505");
  assert.equal(second.code, "060606");
  assert.equal(second.access.pending["050505"].senderId, ALICE.senderId);
});

Deno.test("an ignored DM still reports pruned expired codes, so the caller saves them", () => {
  const random = counterRandom();
  let access = sent(decidePairing(defaultAccess(), BOB, { now: T0, random })).access;
  const later = T0 + 10 * 60 * 1000;
  for (let i = 0; i < 2; i++) {
    access = sent(decidePairing(access, ALICE, { now: later, random })).access;
  }
  const d = decidePairing(access, ALICE, { now: T0 + PAIRING_CODE_TTL_MS + 1, random });
  assert.equal(d.action === "ignore" && d.reason, "reply_limit");
  assert.equal(d.changed, true, "Bob's expired code was pruned");
  assert.deepEqual(Object.values(d.access.pending).map((p) => p.senderId), [ALICE.senderId]);
});

Deno.test("not applicable outside pairing policy or for allowed senders", () => {
  const allowlist = { ...defaultAccess(), dmPolicy: "allowlist" as const };
  assert.equal(decidePairing(allowlist, ALICE, { now: T0 }).action, "ignore");
  const allowed = { ...defaultAccess(), allowFrom: [ALICE.senderId] };
  const d = decidePairing(allowed, ALICE, { now: T0 });
  assert.equal(d.action === "ignore" && d.reason, "not_pairing");
});

Deno.test("pruneExpired returns the same object when nothing expired", () => {
  const access = sent(decidePairing(defaultAccess(), ALICE, { now: T0 })).access;
  assert.equal(pruneExpired(access, T0 + 10), access);
  assert.deepEqual(pruneExpired(access, T0 + PAIRING_CODE_TTL_MS + 1).pending, {});
});

Deno.test("approving a code allows the sender once and removes the code", () => {
  const d = sent(decidePairing(defaultAccess(), ALICE, { now: T0 }));
  const frozen = deepFrozen(d.access);
  const r = approvePairing(frozen, d.code.toUpperCase(), T0 + 5000);
  assert.ok(r.ok);
  assert.equal(r.senderId, ALICE.senderId);
  assert.equal(r.chatId, ALICE.chatId);
  assert.deepEqual(r.access.allowFrom, [ALICE.senderId]);
  assert.deepEqual(r.access.pending, {});
  // Already allowed (e.g. via allow): no duplicate entry.
  const again = approvePairing({ ...d.access, allowFrom: [ALICE.senderId] }, d.code, T0);
  assert.ok(again.ok);
  assert.deepEqual(again.access.allowFrom, [ALICE.senderId]);
});

Deno.test("approving an unknown or expired code fails and changes nothing", () => {
  const d = sent(decidePairing(defaultAccess(), ALICE, { now: T0 }));
  const unknown = approvePairing(d.access, "ffffff", T0);
  assert.equal(unknown.ok, false);
  assert.match(!unknown.ok ? unknown.error : "", /no pending pairing code ffffff/);
  const expired = approvePairing(d.access, d.code, T0 + PAIRING_CODE_TTL_MS + 1);
  assert.equal(expired.ok, false);
  assert.match(!expired.ok ? expired.error : "", /expired/);
});

Deno.test("denying a code removes it without allowing anyone", () => {
  const d = sent(decidePairing(defaultAccess(), ALICE, { now: T0 }));
  const r = denyPairing(d.access, d.code);
  assert.ok(r.ok);
  assert.deepEqual(r.access.pending, {});
  assert.deepEqual(r.access.allowFrom, []);
  assert.equal(denyPairing(r.access, d.code).ok, false);
});
