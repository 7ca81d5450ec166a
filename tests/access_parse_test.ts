import assert from "node:assert/strict";
import { findJsonSyntaxProblem } from "../lib/access/json_error.ts";
import { parseAccessJson, serializeAccess } from "../lib/access/parse.ts";
import { maskToken, upsertDotEnv } from "../lib/access/dotenv_write.ts";
import { duration } from "../lib/access/status.ts";
import { defaultAccess } from "../lib/access/schema.ts";

Deno.test("JSON problems are located by line and column with a hint", () => {
  const cases: [string, number, number, RegExp][] = [
    ['{"a": 1,}', 1, 9, /trailing comma before '}'/],
    ['{\n  "a": [1, 2,]\n}', 2, 14, /trailing comma before ']'/],
    ['{\n  "a": 1\n  "b": 2\n}', 3, 3, /expected ',' or '}' \(a missing comma\?\)/],
    ["{'a': 1}", 1, 2, /expected a property name in double quotes/],
    ["{\"a\": 'x'}", 1, 7, /double quotes, not single quotes/],
    ['{"a": 1', 1, 8, /unexpected end of file inside an object/],
    ["", 1, 1, /the file is empty/],
    ['{"a": 1} x', 1, 10, /unexpected text after the end/],
    ['{"a": tru}', 1, 7, /expected a value/],
    ['{"a": "x\ny"}', 1, 9, /unterminated string/],
  ];
  for (const [text, line, column, message] of cases) {
    const p = findJsonSyntaxProblem(text);
    assert.ok(p, `expected a problem in ${JSON.stringify(text)}`);
    assert.deepEqual([p.line, p.column], [line, column], JSON.stringify(text));
    assert.match(p.message, message);
  }
  assert.equal(
    findJsonSyntaxProblem('{"a": [1, {"b": null}], "c": "\\u00e9\\n", "d": -1.5e3}'),
    undefined,
  );
});

Deno.test("the scanner agrees with JSON.parse on what is valid", () => {
  for (
    const text of ["{}", "[]", '"x"', "0", "-0.5", "true", ' { "a" : [ ] } ', "01", "1.", '"\\x"']
  ) {
    let valid = true;
    try {
      JSON.parse(text);
    } catch {
      valid = false;
    }
    assert.equal(findJsonSyntaxProblem(text) === undefined, valid, text);
  }
});

Deno.test("parseAccessJson fills defaults and keeps unknown keys", () => {
  const r = parseAccessJson('{"allowFrom": ["1"], "x": true}', "/s/access.json");
  assert.ok(r.ok);
  assert.equal(r.access.dmPolicy, "pairing");
  assert.deepEqual(r.access.allowFrom, ["1"]);
  assert.equal((r.access as Record<string, unknown>).x, true);
  assert.deepEqual(r.warnings, []);
  const bad = parseAccessJson("[]", "/s/access.json");
  assert.equal(bad.ok, false);
  assert.match(bad.ok ? "" : bad.error, /\/s\/access\.json has invalid settings: \(top level\)/);
});

Deno.test("serializeAccess writes 2-space JSON with a final newline", () => {
  assert.equal(
    serializeAccess(defaultAccess()),
    '{\n  "dmPolicy": "pairing",\n  "allowFrom": [],\n  "groups": {},\n  "pending": {}\n}\n',
  );
});

Deno.test("upsertDotEnv replaces every definition once and keeps other lines", () => {
  assert.equal(upsertDotEnv("", "K", "v"), "K=v\n");
  assert.equal(upsertDotEnv("A=1", "K", "v"), "A=1\nK=v\n");
  assert.equal(upsertDotEnv("K=old\r\nA=1\r\nexport K = older\r\n", "K", "v"), "K=v\nA=1\n");
  assert.equal(upsertDotEnv("# K=comment\nKK=1\n", "K", "v"), "# K=comment\nKK=1\nK=v\n");
});

Deno.test("maskToken shows only the ends and the length", () => {
  assert.equal(maskToken("abcdefghijklmnopqrstuvwxyz"), "abcd…wxyz (26 characters)");
  assert.equal(maskToken("short"), "(5 characters)");
});

Deno.test("duration is compact", () => {
  assert.deepEqual([duration(0), duration(45_000), duration(12 * 60_000), duration(65 * 60_000)], [
    "0s",
    "45s",
    "12m",
    "1h 5m",
  ]);
});
