import assert from "node:assert/strict";
import {
  checkMentionPattern,
  compileMentionPatterns,
  MAX_PATTERN_LENGTH,
} from "../lib/access/patterns.ts";

function rejected(pattern: string): string {
  const check = checkMentionPattern(pattern);
  assert.equal(check.ok, false, `expected ${JSON.stringify(pattern)} to be rejected`);
  return check.ok ? "" : check.reason;
}

Deno.test("ordinary mention patterns are accepted and compiled case-insensitively", () => {
  for (
    const pattern of [
      "\\bclaude\\b",
      "^claude[,:]?",
      "hey\\s+claude",
      "<@!?\\d{17,20}>",
      "(?:hi|hey) claude",
      "@?claude\\s?bot",
      "[a-z]+bot\\b",
      "claude(?=\\W)",
      "(?<name>claude)",
      "a{",
      "[(+*)]claude",
    ]
  ) {
    const check = checkMentionPattern(pattern);
    assert.ok(check.ok, `${pattern}: ${check.ok ? "" : check.reason}`);
    assert.ok(check.regex.flags.includes("i"));
  }
  const check = checkMentionPattern("\\bclaude\\b");
  assert.ok(check.ok && check.regex.test("Hey CLAUDE, look"));
});

Deno.test("syntax errors are rejected with the engine's explanation", () => {
  assert.match(rejected("(unclosed"), /not a valid regular expression/);
  assert.match(rejected("*claude"), /not a valid regular expression/);
});

Deno.test("nested quantifiers are rejected: (a+)+, (.*)*, (?:a*)+, ((ab)+)*", () => {
  for (const p of ["(a+)+", "(.*)*", "(?:a*)+x", "((ab)+)*", "(a+){2,}", "(\\w+\\s?)*$"]) {
    assert.match(rejected(p), /nests a repetition|more than one unbounded/, p);
  }
});

Deno.test("repeated alternations are rejected: (a|a)*, (a|ab)+", () => {
  for (const p of ["(a|a)*", "(a|ab)+", "(?:hi|hey)+", "((a|b)c)*"]) {
    assert.match(rejected(p), /alternatives/, p);
  }
});

Deno.test("a group that may match once (?, {0,1}) is not a nested repetition", () => {
  assert.ok(checkMentionPattern("(?:hey|hi)?\\s*claude").ok);
  assert.ok(checkMentionPattern("(claude+)?bot").ok);
});

Deno.test("more than one unbounded repetition is rejected: .*a.*b, a+a+x", () => {
  for (const p of [".*a.*b", "a+a+x", "\\w+\\s*\\w+x", "[^x]*a[^x]*b", "a*a*a*a*x", ".{0,99}a.*"]) {
    assert.match(rejected(p), /more than one unbounded/, p);
  }
});

Deno.test("too many optional parts are rejected: a?a?a?a?a?", () => {
  assert.match(rejected("a?a?a?a?a?b"), /too many optional/);
  assert.ok(checkMentionPattern("a?a?a?a?b").ok, "16 combinations is the limit");
});

Deno.test("backreferences are rejected", () => {
  assert.match(rejected("(a)\\1"), /backreference/);
  assert.match(rejected("(?<x>a)\\k<x>"), /backreference/);
});

Deno.test("patterns over the length limit are rejected", () => {
  assert.ok(checkMentionPattern("a".repeat(MAX_PATTERN_LENGTH)).ok);
  assert.match(rejected("a".repeat(MAX_PATTERN_LENGTH + 1)), /201 characters/);
});

Deno.test("patterns matching empty text are rejected (every message would be a mention)", () => {
  assert.match(rejected(""), /empty/);
  assert.match(rejected("x*"), /empty text/);
  assert.match(rejected("^"), /empty text/);
  assert.match(rejected("(?:)"), /empty text/);
});

Deno.test("escaped and bracketed metacharacters are not mistaken for structure", () => {
  // \( and \) are literals: this is two sibling repetitions, not a nested one.
  assert.match(rejected("\\(a+\\)+"), /more than one unbounded/);
  assert.ok(checkMentionPattern("[(]a+[)]").ok);
  assert.ok(checkMentionPattern("\\(claude\\)").ok);
  assert.ok(checkMentionPattern("[|]claude").ok, "| inside a class is literal");
});

Deno.test("accepted patterns stay fast on adversarial input", () => {
  const inputs = ["a".repeat(4000), " ".repeat(4000), "claude ".repeat(570), "ab".repeat(2000)];
  for (const p of ["^claude[,:]?", "hey\\s+claude", "a?a?a?a?.*x", ".*claude", "[a-z]+bot\\b"]) {
    const check = checkMentionPattern(p);
    assert.ok(check.ok, p);
    for (const text of inputs) {
      const start = performance.now();
      check.regex.test(text);
      const ms = performance.now() - start;
      assert.ok(ms < 1000, `${p} took ${ms.toFixed(0)} ms`);
    }
  }
});

Deno.test("compileMentionPatterns keeps the safe ones and explains the rest", () => {
  const out = compileMentionPatterns(["claude", "(a+)+", "[bad"]);
  assert.deepEqual(out.regexes.map((r) => r.source), ["claude"]);
  assert.deepEqual(out.rejected.map((r) => r.pattern), ["(a+)+", "[bad"]);
});
