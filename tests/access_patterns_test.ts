/**
 * Mention patterns: vetting, JavaScript-equivalent matching on ordinary text,
 * and a time bound on adversarial patterns against adversarial messages
 * (issue 10, defect 5: one crafted message must never stall the bridge).
 */
import assert from "node:assert/strict";
import {
  compileLinear,
  MAX_PROGRAM_SIZE,
  UnsupportedPatternError,
} from "../lib/access/linear_regex.ts";
import {
  checkMentionPattern,
  compileMentionPatterns,
  MAX_EXAMINED_CHARS,
  MAX_PATTERN_LENGTH,
  type MentionPattern,
} from "../lib/access/patterns.ts";

function accepted(pattern: string): MentionPattern {
  const check = checkMentionPattern(pattern);
  assert.ok(check.ok, `${pattern}: ${check.ok ? "" : check.reason}`);
  return check.pattern;
}

function rejected(pattern: string): string {
  const check = checkMentionPattern(pattern);
  assert.equal(check.ok, false, `expected ${JSON.stringify(pattern)} to be rejected`);
  return check.ok ? "" : check.reason;
}

/** Patterns covering the supported syntax, each checked against `new RegExp(p, "i")`. */
const TABLE = [
  "\\bclaude\\b",
  "^claude[,:]?",
  "hey\\s+claude",
  "<@!?\\d{17,20}>",
  "(?:hi|hey) claude",
  "@?claude\\s?bot",
  "[a-z]+bot\\b",
  "(?<name>claude)",
  "a{",
  "a{2",
  "x{1,}y",
  "a{2,3}b",
  "[(+*)]claude",
  "\\(claude\\)",
  "[|]claude",
  "[^a-z ]",
  "[\\d.]+x",
  "[\\]a]",
  "[\\b]",
  "[]a",
  "[^]",
  "claude$",
  "^$|x",
  "\\Bude",
  "\\w\\W\\w",
  "\\S\\s\\S",
  "\\D\\d",
  "\\x41\\u0042",
  "\\x4g",
  "\\u12",
  "\\cJ",
  "\\c1",
  "\\t|\\n|\\r|\\v|\\f",
  "\\0",
  "\\-\\.\\*\\?\\/",
  "\\a\\p\\e",
  "a.c",
  "ſ|K|σ",
  "Σ",
  "[a-z]",
  "[A-Z]{3}",
  "é+",
  "[à-ÿ]",
  "}",
  "]",
  "a|b|",
  "(a|aa)+b",
  "(?:)x",
  "x(?:a|)y",
  "(a*)*b",
  "((?:ab)?c){2,4}d",
  "😀+",
  "[😀]",
];

const INPUTS = [
  "",
  "claude",
  "Hey CLAUDE, look",
  "hey    claude",
  "hi claude",
  "<@123456789012345678>",
  "<@!12345678901234567890>",
  "<@1234>",
  "robot bot RoBot",
  "a{ a{2 xy xxy AAB aab",
  "(claude) [claude] |claude *claude",
  "CLAUDE!",
  "1.5x 3x",
  "]a a] \b",
  "include",
  "a1! b2?",
  "AB ab Ab",
  "x4g xg",
  "u12 \u0012",
  "line\nbreak\ttab\rcr\vvt\fff",
  "nul\0here",
  "-.*?/ ap e",
  "abc aXc a\nc",
  "ſ s S K k K σ ς Σ",
  "ÉÉé",
  "Ä ä ß",
  "}]",
  "aaab aab ab",
  "b",
  "x xy xay",
  "abcabccd cccd abcd",
  "😀😀 \ud83d",
];

Deno.test("the linear matcher agrees with JavaScript's RegExp (flag i) on ordinary text", () => {
  for (const p of TABLE) {
    const mine = compileLinear(p);
    const js = new RegExp(p, "i");
    for (const text of INPUTS) {
      assert.equal(
        mine.test(text),
        js.test(text),
        `${JSON.stringify(p)} on ${JSON.stringify(text)}`,
      );
    }
  }
});

Deno.test("the linear matcher agrees with RegExp on random patterns and texts", () => {
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const pick = <T>(xs: readonly T[]) => xs[rand(xs.length)];
  const atoms = ["a", "b", "A", ".", "[ab]", "[^a]", "\\w", "\\s", "\\d", " ", "1"];
  const quants = ["", "", "", "*", "+", "?", "{2}", "{1,3}", "{0,2}", "{2,}", "*?"];
  const gen = (depth: number): string => {
    const parts: string[] = [];
    const len = 1 + rand(4);
    for (let i = 0; i < len; i++) {
      const r = rand(10);
      let atom: string;
      if (r < 2 && depth < 3) {
        atom = `(${gen(depth + 1)}${rand(2) ? "|" + gen(depth + 1) : ""})`;
      } else if (r < 3) atom = pick(["^", "$", "\\b", "\\B"]);
      else atom = pick(atoms);
      const q = /^[\^$]|\\[bB]$/.test(atom) ? "" : pick(quants);
      parts.push(atom + q);
    }
    return parts.join("");
  };
  const alphabet = ["a", "b", "A", "B", " ", "1", "\n", "-"];
  let compared = 0;
  for (let i = 0; i < 600; i++) {
    const p = gen(0);
    let js: RegExp;
    try {
      js = new RegExp(p, "i");
    } catch {
      continue;
    }
    const mine = compileLinear(p);
    for (let j = 0; j < 10; j++) {
      const text = Array.from({ length: rand(9) }, () => pick(alphabet)).join("");
      assert.equal(
        mine.test(text),
        js.test(text),
        `${JSON.stringify(p)} on ${JSON.stringify(text)}`,
      );
      compared++;
    }
  }
  assert.ok(compared > 3000, `only ${compared} comparisons`);
});

Deno.test("ordinary mention patterns are accepted and match case-insensitively", () => {
  for (const p of TABLE.filter((p) => !new RegExp(p, "i").test(""))) accepted(p);
  assert.ok(accepted("\\bclaude\\b").test("Hey CLAUDE, look"));
  assert.ok(!accepted("\\bclaude\\b").test("include"));
});

Deno.test("syntax errors are rejected with the engine's explanation", () => {
  assert.match(rejected("(unclosed"), /not a valid regular expression/);
  assert.match(rejected("*claude"), /not a valid regular expression/);
  assert.match(rejected("a{3,2}"), /not a valid regular expression/);
});

Deno.test("syntax outside the linear subset is rejected with a reason", () => {
  assert.match(rejected("(a)\\1"), /backreference/);
  assert.match(rejected("(?<x>a)\\k<x>"), /backreference/);
  assert.match(rejected("claude(?=\\W)"), /lookahead or lookbehind/);
  assert.match(rejected("claude(?!bot)"), /lookahead or lookbehind/);
  assert.match(rejected("(?<=@)claude"), /lookahead or lookbehind/);
  assert.match(rejected("(?<!x)claude"), /lookahead or lookbehind/);
  assert.match(rejected("\\01"), /octal/);
});

Deno.test("escapes that would silently mean other text without the u flag are rejected, saying so", () => {
  // Without `u`, `\p{L}+` is the text "p{L" then "}"s, and `\u{1F600}` is
  // "u{1F600}": an approver's pattern that never matches what it says.
  for (const p of ["\\p{L}+", "hey \\P{Lu}", "[\\p{L}]", "\\u{1F600}", "[\\u{41}]"]) {
    assert.match(rejected(p), /needs the u flag/, p);
  }
  // `\k`, `\8` and `\9` are plain letters or digits only when no such group exists.
  for (const p of ["\\kate", "v\\8", "\\9lives"]) assert.match(rejected(p), /ambiguous/, p);
  // Written out, the same characters are fine.
  for (const p of ["\\\\p{L}", "[\\\\p]{L}", "\\u0041", "\\pa", "kate"]) accepted(p);
});

Deno.test("patterns expanding past the program limit are rejected", () => {
  assert.match(rejected("a{1000}"), /expands to more than/);
  assert.match(rejected("(?:a{30}){30}"), /expands to more than/);
  assert.match(rejected("((((a{9}){9}){9}){9}){9}"), /expands to more than/);
  assert.match(rejected("a{0,4294967295}"), /expands to more than/);
  // An empty body is not unrolled, whatever the count.
  assert.match(rejected("(?:(?:){4294967295}){4294967295}"), /empty text/);
  accepted(`a{${MAX_PROGRAM_SIZE - 10}}`);
});

Deno.test("patterns over the length limit are rejected", () => {
  accepted("a".repeat(MAX_PATTERN_LENGTH));
  assert.match(rejected("a".repeat(MAX_PATTERN_LENGTH + 1)), /201 characters/);
});

Deno.test("patterns matching empty text are rejected (every message would be a mention)", () => {
  assert.match(rejected(""), /empty/);
  assert.match(rejected("x*"), /empty text/);
  assert.match(rejected("^"), /empty text/);
  assert.match(rejected("\\b"), /empty text/);
  assert.match(rejected("(?:)"), /empty text/);
  assert.match(rejected("a|"), /empty text/);
  assert.match(rejected("(.*)*"), /empty text/);
});

/** The fastest of five runs, so a busy machine does not fail the bound. */
function fastestMs(p: MentionPattern, text: string): number {
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    p.test(text);
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

Deno.test("adversarial patterns against adversarial 4,000-character messages: bounded work, fast", () => {
  const a = "a".repeat(MAX_EXAMINED_CHARS);
  const patterns = [
    // Each of these takes JavaScript's backtracking engine seconds or worse.
    "(a|aa)".repeat(26) + "b",
    "a+a+x",
    ".*a.*a.*b",
    "(a+)+$",
    "(a|a)*x",
    "(.*a){12}x",
    "(\\w+\\s?)+$",
    "a?".repeat(30) + "a".repeat(30) + "x",
    "(?:a|a|a|a){1,55}#",
    "(.?){200}#",
    "[^]{1,240}#",
    "^(a+)+b",
    "\\b(\\w+\\b\\W*)+#",
  ];
  const inputs = [
    a,
    a.slice(0, 60),
    "a".repeat(MAX_EXAMINED_CHARS - 1) + "!",
    "ab".repeat(MAX_EXAMINED_CHARS / 2),
    "a ".repeat(MAX_EXAMINED_CHARS / 2),
    " ".repeat(MAX_EXAMINED_CHARS),
    "a".repeat(100_000), // longer than Discord allows: only the first 4,000 are read
  ];
  for (const source of patterns) {
    const p = accepted(source);
    const raw = compileLinear(source);
    for (const text of inputs) {
      // The guarantee, independent of the machine's speed: every position
      // visits each NFA state at most twice.
      const examined = text.slice(0, MAX_EXAMINED_CHARS);
      raw.test(examined);
      const bound = 2 * raw.size * (examined.length + 1);
      assert.ok(raw.lastWork() <= bound, `${source}: ${raw.lastWork()} steps > ${bound}`);
      // And on the clock (generous: a loaded CI machine; backtracking takes seconds).
      const ms = fastestMs(p, text);
      assert.ok(ms < 100, `${source} on ${text.length} chars took ${ms.toFixed(1)} ms`);
    }
  }
});

Deno.test("the patterns of one access.json together stay fast on one message", () => {
  const many = Array.from({ length: 40 }, (_, i) => `(.?){${20 + i}}#${i}`);
  const out = compileMentionPatterns(many);
  assert.ok(out.rejected.length > 0, "the shared budget let everything through");
  assert.match(out.rejected[0].reason, /together/);
  const text = "a".repeat(MAX_EXAMINED_CHARS);
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    for (const p of out.patterns) p.test(text);
    best = Math.min(best, performance.now() - start);
  }
  assert.ok(best < 200, `all patterns took ${best.toFixed(1)} ms`);
});

Deno.test("only the first 4,000 characters of a message are examined", () => {
  const p = accepted("claude");
  assert.ok(p.test("x".repeat(MAX_EXAMINED_CHARS - 6) + "claude"));
  assert.ok(!p.test("x".repeat(MAX_EXAMINED_CHARS) + "claude"));
});

Deno.test("compileMentionPatterns keeps the safe ones and explains the rest", () => {
  const out = compileMentionPatterns(["claude", "(a)\\1", "[bad"]);
  assert.deepEqual(out.patterns.map((r) => r.source), ["claude"]);
  assert.deepEqual(out.rejected.map((r) => r.pattern), ["(a)\\1", "[bad"]);
});

Deno.test("the linear matcher agrees with RegExp on random patterns over Unicode, line terminators and escapes", () => {
  // Mulberry32: a fixed seed, so a failure names a pattern that can be replayed.
  let seed = 20261129;
  const rand = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  const pick = <T>(xs: readonly T[]) => xs[rand(xs.length)];
  // Case folding without the `u` flag (ſ, K = Kelvin, σ/ς/Σ, ß), `.` and the
  // line terminators, lone and paired surrogates, class ranges, negations and
  // escapes, Annex B literals (`{`, `]`, `\c1`, `\x4`, `\u{2}`, `\p{L}`).
  const atoms = [
    "a",
    "b",
    "A",
    "K",
    "s",
    "ſ",
    "\u212a",
    "σ",
    "ς",
    "Σ",
    "é",
    "É",
    "ß",
    ".",
    "[ab]",
    "[^a]",
    "[a-c]",
    "[^a-c]",
    "[A-Z]",
    "[\\w-]",
    "[\\s\\S]",
    "[\\d.]",
    "[\\]a]",
    "[\\b]",
    "[]",
    "[^]",
    "[-a]",
    "[\\x41-\\x5a]",
    "\\w",
    "\\W",
    "\\s",
    "\\S",
    "\\d",
    "\\D",
    " ",
    "1",
    "\\n",
    "\\r",
    "\\u2028",
    "\\t",
    "\\.",
    "\\x41",
    "\\u00e9",
    "\\cJ",
    "\\c1",
    "\\0",
    "\\a",
    "\\-",
    "{",
    "}",
    "]",
    "a{",
    "a{,2}",
    "\\u{2}",
    "\\x4",
    "\\p{L}",
    "😀",
    "\ud83d",
    "\\ude00",
    "[😀]",
    "[\\ud800-\\udbff]",
    "\\$",
    "\\^",
    "\\|",
    "\\(",
    "\\[",
    "\\{",
    "\\*",
    "\\?",
  ];
  const quants = [
    "",
    "",
    "",
    "*",
    "+",
    "?",
    "{2}",
    "{1,3}",
    "{0,2}",
    "{2,}",
    "*?",
    "+?",
    "??",
    "{0}",
  ];
  const gen = (depth: number): string => {
    const parts: string[] = [];
    for (let i = rand(5); i > 0; i--) {
      const r = rand(12);
      let atom: string;
      if (r < 3 && depth < 2) {
        const alts = [gen(depth + 1)];
        for (let j = rand(3); j > 0; j--) alts.push(gen(depth + 1)); // empty ones included
        atom = pick(["(", "(?:", `(?<g${depth}${i}>`]) + alts.join("|") + ")";
      } else if (r < 4) atom = pick(["^", "$", "\\b", "\\B"]);
      else atom = pick(atoms);
      parts.push(atom + (/^[\^$]$|\\[bB]$/.test(atom) ? "" : pick(quants)));
    }
    return parts.join("") + (rand(6) === 0 ? "|" + gen(depth + 1) : "");
  };
  const alphabet = [
    "a",
    "b",
    "A",
    "B",
    "k",
    "K",
    "\u212a",
    "s",
    "S",
    "ſ",
    "σ",
    "ς",
    "Σ",
    "é",
    "É",
    "ß",
    " ",
    "1",
    "\n",
    "\r",
    "\u2028",
    "\u2029",
    "\t",
    "-",
    "_",
    "{",
    "}",
    ",",
    "]",
    "😀",
    "\ud83d",
    "\ude00",
    "\b",
    "\0",
    "\x01",
    "x",
    "u",
    "p",
    "L",
    "$",
    ".",
    "\\",
  ];
  let compared = 0;
  // A few letters only, so that counted repetitions meet texts they match.
  const few = ["a", "A", "b", " "];
  for (let i = 0; i < 1500; i++) {
    // Anchored on both ends half the time, so counts and ends are decisive.
    const p = rand(2) ? `^(?:${gen(0)})$` : gen(0);
    let js: RegExp;
    try {
      js = new RegExp(p, "i");
    } catch {
      continue;
    }
    let mine;
    try {
      mine = compileLinear(p);
    } catch (err) {
      if (err instanceof UnsupportedPatternError) continue; // e.g. `\0` then a digit
      throw err;
    }
    // Accepting a pattern as non-empty when it matches "" would make every message a mention.
    if (js.test("")) assert.ok(mine.matchesEmpty, `${JSON.stringify(p)} matches ""`);
    for (let j = 0; j < 8; j++) {
      const letters = j % 2 ? few : alphabet;
      const text = Array.from({ length: rand(8) }, () => pick(letters)).join("");
      assert.equal(
        mine.test(text),
        js.test(text),
        `${JSON.stringify(p)} on ${JSON.stringify(text)}`,
      );
      compared++;
    }
  }
  assert.ok(compared > 8000, `only ${compared} comparisons`);
});
