import assert from "node:assert/strict";
import {
  isRequestId,
  parseButtonId,
  parseTextVerdict,
  PERMISSION_REPLY_RE,
  permissionButtonId,
} from "../lib/permission/verdict.ts";

Deno.test("parseTextVerdict: yes/no with an ID", () => {
  assert.deepEqual(parseTextVerdict("yes abcde"), { requestId: "abcde", behavior: "allow" });
  assert.deepEqual(parseTextVerdict("y abcde"), { requestId: "abcde", behavior: "allow" });
  assert.deepEqual(parseTextVerdict("no abcde"), { requestId: "abcde", behavior: "deny" });
  assert.deepEqual(parseTextVerdict("n abcde"), { requestId: "abcde", behavior: "deny" });
});

Deno.test("parseTextVerdict: tolerates case and surrounding whitespace", () => {
  assert.deepEqual(parseTextVerdict("  Yes ABCDE \n"), { requestId: "abcde", behavior: "allow" });
  assert.deepEqual(parseTextVerdict("NO\tXyZwv"), { requestId: "xyzwv", behavior: "deny" });
  assert.deepEqual(parseTextVerdict("yes   mnopq"), { requestId: "mnopq", behavior: "allow" });
});

Deno.test("parseTextVerdict: anything else is not a verdict", () => {
  const others = [
    "",
    "yes",
    "no",
    "approve it",
    "yes abcd",
    "yes abcdef",
    "yes abcde please",
    "sure abcde",
    "yesabcde",
    "yes abcle", // no "l" in the ID alphabet
    "yes abcLe",
    "yes abc1e",
    "yes ab de",
    "yes абвгд",
    "> yes abcde",
    "yes abcde\nno fghij",
    "nope abcde",
  ];
  for (const text of others) assert.equal(parseTextVerdict(text), null, JSON.stringify(text));
});

Deno.test("PERMISSION_REPLY_RE: is the documented pattern", () => {
  assert.equal(PERMISSION_REPLY_RE.source, "^\\s*(y|yes|n|no)\\s+([a-km-z]{5})\\s*$");
  assert.equal(PERMISSION_REPLY_RE.flags, "i");
});

Deno.test("isRequestId: five lowercase letters without l", () => {
  assert.ok(isRequestId("abcde"));
  assert.ok(isRequestId("zzzzz"));
  for (const s of ["", "abcd", "abcdef", "ABCDE", "abcle", "abc1e", " abcde", "abcde\n"]) {
    assert.ok(!isRequestId(s), JSON.stringify(s));
  }
});

Deno.test("permissionButtonId / parseButtonId: round trip", () => {
  for (const action of ["allow", "deny", "details"] as const) {
    const id = permissionButtonId(action, "qwert");
    assert.equal(id, `perm:${action}:qwert`);
    assert.ok(id.length <= 100);
    assert.deepEqual(parseButtonId(id), { action, requestId: "qwert" });
  }
});

Deno.test("permissionButtonId: refuses a malformed request ID", () => {
  for (const bad of ["", "abcle", "ABCDE", "x".repeat(200), "abcde:allow"]) {
    assert.throws(() => permissionButtonId("allow", bad), RangeError);
  }
});

Deno.test("parseButtonId: strict", () => {
  const others = [
    "",
    "perm:allow:",
    "perm:allow:abcd",
    "perm:allow:abcdef",
    "perm:allow:ABCDE",
    "perm:allow:abcle",
    "perm:approve:abcde",
    "perm:less:abcde",
    "PERM:allow:abcde",
    "perm:allow:abcde:x",
    " perm:allow:abcde",
    "perm:allow:abcde\n",
    "other:allow:abcde",
    "perm:allow:abcde".repeat(10),
  ];
  for (const id of others) assert.equal(parseButtonId(id), null, JSON.stringify(id));
});
