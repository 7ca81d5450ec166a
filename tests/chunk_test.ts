import assert from "node:assert/strict";
import { planMessage, splitMessage, type SplitMode } from "../lib/text/chunk.ts";

// ---------------------------------------------------------------------------
// Helpers

/** Small seeded PRNG (mulberry32) so a failing case can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An independent CommonMark fence scanner: the fence left open at the end of
 * `text`, or null when every block is closed.
 */
function openFence(text: string): string | null {
  let open: string | null = null;
  for (const raw of text.split("\n")) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (open) {
      const m = /^ {0,3}(`+|~+)[ \t]*$/.exec(line);
      if (m && m[1][0] === open[0] && m[1].length >= open.length) open = null;
    } else {
      const m = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
      if (m && !(m[1][0] === "`" && m[2].includes("`"))) open = m[1];
    }
  }
  return open;
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Checks every documented invariant of one split. */
function checkSplit(text: string, limit: number, mode: SplitMode, label: string): void {
  const plan = planMessage(text, { limit, mode });
  const chunks = splitMessage(text, { limit, mode });
  // Reassembly: the bodies are the input, exactly.
  assert.equal(plan.map((c) => c.body).join(""), text, `${label}: bodies reassemble`);
  // splitMessage renders the plan and drops only whitespace-only pieces.
  const rendered = plan.map((c) => c.prefix + c.body + c.suffix);
  assert.deepEqual(chunks, rendered.filter((c) => c.trim() !== ""), `${label}: render`);
  for (const c of plan) {
    if (c.prefix === "" && c.suffix === "") continue;
    // Synthetic lines are whole fence lines.
    if (c.prefix) assert.match(c.prefix, /^(`{3,}|~{3,})\S*\n$/, `${label}: prefix shape`);
    if (c.suffix) assert.match(c.suffix, /^\n?(`{3,}|~{3,})$/, `${label}: suffix shape`);
  }
  const split = plan.length > 1;
  for (const [i, chunk] of chunks.entries()) {
    const where = `${label} chunk ${i}/${chunks.length}`;
    assert.ok(chunk.length <= limit, `${where}: ${chunk.length} > ${limit}`);
    assert.ok(chunk.trim() !== "", `${where}: whitespace-only`);
    assert.ok(!isLow(chunk.charCodeAt(0)), `${where}: starts with a low surrogate`);
    assert.ok(!isHigh(chunk.charCodeAt(chunk.length - 1)), `${where}: ends with a high surrogate`);
    if (split) assert.equal(openFence(chunk), null, `${where}: unbalanced fence`);
  }
  for (let i = 1; i < plan.length; i++) {
    const crlf = plan[i - 1].body.endsWith("\r") && plan[i].body.startsWith("\n");
    assert.ok(!crlf, `${label}: CRLF split at chunk ${i}`);
  }
}

// ---------------------------------------------------------------------------
// Generator

const WORDS = ["the", "a", "quick", "brown", "fox", "jumps", "über", "naïve", "日本語", "テスト"];
const LANGS = ["", "ts", "typescript", "py", "json", "sh", "diff", "c++", "x".repeat(40)];
const ODD = ["😀", "👨‍👩‍👧", "🏳️‍🌈", "𝔘𝔫𝔦", "é", "\u200b", "\t", "`", "``", "<", ">"];
const TOKENS = [
  "<@123456789012345678>",
  "<@!42>",
  "<#987654321>",
  "<:blob:112233445566>",
  "<a:dance:998877>",
  "<t:1700000000:R>",
  "https://example.com/some/long/path?q=1&r=2#frag",
  "<https://discord.com/channels/1/2/3>",
];

function generate(rand: () => number, size: number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const nl = () => (rand() < 0.2 ? "\r\n" : "\n");
  let out = "";
  while (out.length < size) {
    const r = rand();
    if (r < 0.3) {
      const n = 1 + Math.floor(rand() * 30);
      for (let i = 0; i < n; i++) out += pick(WORDS) + (rand() < 0.9 ? " " : "");
    } else if (r < 0.4) {
      // Long runs; a backtick run gets a letter first so it is not a fence line
      // whose marker alone is longer than the chunk can carry (see below).
      const [lead, unit] = pick([["", "a"], ["", "b"], ["", "😀"], ["", "-"], ["x", "`"]]);
      out += lead + unit.repeat(1 + Math.floor(rand() * 300));
    } else if (r < 0.55) {
      out += rand() < 0.5 ? nl() : nl() + nl();
    } else if (r < 0.75) {
      const ch = rand() < 0.8 ? "`" : "~";
      const marker = ch.repeat(3 + Math.floor(rand() * 2));
      const indent = " ".repeat(rand() < 0.8 ? 0 : Math.floor(rand() * 4));
      if (!out.endsWith("\n") && out !== "") out += nl();
      out += indent + marker + pick(LANGS) + nl();
      const lines = Math.floor(rand() * 40);
      for (let i = 0; i < lines; i++) {
        const kind = rand();
        if (kind < 0.05) out += "```js"; // inside a fence: content, not a closer
        else if (kind < 0.1) out += "foo " + marker; // mid-line: not a closer
        else if (kind < 0.15) out += " ".repeat(Math.floor(rand() * 8));
        else {
          const n = Math.floor(rand() * 12);
          for (let j = 0; j < n; j++) out += pick(WORDS) + pick([" ", "(", ")", ";", "  "]);
        }
        out += nl();
      }
      if (rand() < 0.95) out += indent + marker + (rand() < 0.3 ? "  " : "") + nl();
    } else if (r < 0.85) {
      out += pick(ODD);
    } else {
      out += pick(TOKENS) + (rand() < 0.5 ? " " : "");
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Examples

Deno.test("splitMessage: empty and whitespace-only text give no chunks", () => {
  assert.deepEqual(splitMessage("", { limit: 2000, mode: "newline" }), []);
  assert.deepEqual(splitMessage(" \n\t ", { limit: 2000, mode: "length" }), []);
  assert.deepEqual(planMessage("", { limit: 10, mode: "length" }), []);
});

Deno.test("splitMessage: text within the limit comes back unchanged", () => {
  const text = "hello\n```ts\nconst x = 1;\n```\n";
  assert.deepEqual(splitMessage(text, { limit: 2000, mode: "newline" }), [text]);
  assert.deepEqual(splitMessage("x".repeat(2000), { limit: 2000, mode: "length" }), [
    "x".repeat(2000),
  ]);
  // Even an unbalanced fence is left alone when nothing has to be cut.
  assert.deepEqual(splitMessage("```\nopen", { limit: 100, mode: "newline" }), ["```\nopen"]);
});

Deno.test("splitMessage: the limit is clamped to [2, 2000]", () => {
  const text = "y".repeat(4500);
  assert.deepEqual(
    splitMessage(text, { limit: 10_000, mode: "length" }).map((c) => c.length),
    [2000, 2000, 500],
  );
  assert.deepEqual(splitMessage("abcde", { limit: 0, mode: "length" }), ["ab", "cd", "e"]);
  assert.deepEqual(splitMessage("abc", { limit: Number.NaN, mode: "length" }), ["abc"]);
  assert.deepEqual(splitMessage("abcde", { limit: 2.9, mode: "length" }), ["ab", "cd", "e"]);
});

Deno.test("splitMessage: length mode cuts at the limit", () => {
  const text = "word ".repeat(50);
  const chunks = splitMessage(text, { limit: 100, mode: "length" });
  assert.deepEqual(chunks.map((c) => c.length), [100, 100, 50]);
  assert.equal(chunks.join(""), text);
});

Deno.test("splitMessage: newline mode prefers a paragraph break", () => {
  const a = "a".repeat(40) + "\n" + "a".repeat(20);
  const b = "b".repeat(30) + "\n" + "b".repeat(30);
  const chunks = splitMessage(`${a}\n\n${b}`, { limit: 100, mode: "newline" });
  assert.deepEqual(chunks, [`${a}\n\n`, b]);
});

Deno.test("splitMessage: newline mode falls back to a line end, then a space", () => {
  const lines = "l".repeat(70) + "\n" + "m".repeat(70);
  assert.deepEqual(splitMessage(lines, { limit: 100, mode: "newline" }), [
    "l".repeat(70) + "\n",
    "m".repeat(70),
  ]);
  const words = "w".repeat(60) + " " + "v".repeat(60);
  assert.deepEqual(splitMessage(words, { limit: 100, mode: "newline" }), [
    "w".repeat(60) + " ",
    "v".repeat(60),
  ]);
});

Deno.test("splitMessage: a boundary too early is ignored for a hard cut", () => {
  const text = "ab\n" + "c".repeat(200);
  const chunks = splitMessage(text, { limit: 100, mode: "newline" });
  assert.equal(chunks[0], "ab\n" + "c".repeat(97));
});

Deno.test("splitMessage: a cut code block is closed and reopened with its language", () => {
  const code = Array.from({ length: 30 }, (_, i) => `const v${i} = ${i};`).join("\n");
  const text = "Here:\n```typescript\n" + code + "\n```\nDone.";
  const chunks = splitMessage(text, { limit: 200, mode: "newline" });
  assert.ok(chunks.length > 2);
  for (const [i, chunk] of chunks.entries()) {
    assert.ok(chunk.length <= 200);
    assert.equal(openFence(chunk), null, `chunk ${i} balanced`);
    if (i > 0) assert.ok(chunk.startsWith("```typescript\n"), `chunk ${i} reopens`);
    if (i < chunks.length - 1) assert.ok(chunk.endsWith("\n```"), `chunk ${i} closes`);
  }
  assert.ok(chunks.at(-1)!.endsWith("```\nDone."));
  // Never an empty block: no chunk is just an opener followed by a closer.
  for (const chunk of chunks) assert.doesNotMatch(chunk, /```typescript\n```/);
});

Deno.test("splitMessage: tilde fences and long markers keep their marker", () => {
  const body = "x = 1\n".repeat(40);
  const text = "~~~~python\n" + body + "~~~~\n";
  const chunks = splitMessage(text, { limit: 100, mode: "length" });
  assert.ok(chunks.length > 2);
  assert.ok(chunks[1].startsWith("~~~~python\n"));
  assert.ok(chunks[0].endsWith("\n~~~~"));
  for (const chunk of chunks) assert.equal(openFence(chunk), null);
});

Deno.test("splitMessage: a line cut inside a block gets its closer on a new line", () => {
  const text = "```\n" + "z".repeat(300) + "\n```";
  const chunks = splitMessage(text, { limit: 100, mode: "length" });
  assert.equal(chunks[0], "```\n" + "z".repeat(92) + "\n```");
  assert.ok(chunks[1].startsWith("```\nzzz"));
  for (const chunk of chunks) assert.equal(openFence(chunk), null);
});

Deno.test("splitMessage: an input ending inside an open block is closed in its last chunk", () => {
  const text = "```sh\n" + "echo hi\n".repeat(30);
  const chunks = splitMessage(text, { limit: 100, mode: "newline" });
  for (const chunk of chunks) assert.equal(openFence(chunk), null);
  assert.ok(chunks.at(-1)!.endsWith("```"));
});

Deno.test("splitMessage: a cut never lands so that half a line poses as a fence", () => {
  // Cutting right before the mid-line ``` would start the next chunk with a
  // fence opener that is not one in the original.
  const text = "q".repeat(96) + " ```js and more text after it";
  const chunks = splitMessage(text, { limit: 100, mode: "length" });
  for (const chunk of chunks) {
    assert.doesNotMatch(chunk, /^```/);
    assert.equal(openFence(chunk), null);
  }
});

Deno.test("splitMessage: surrogate pairs and CRLF are never split", () => {
  const emoji = "😀".repeat(100);
  for (const limit of [3, 7, 99, 100]) {
    for (const chunk of splitMessage(emoji, { limit, mode: "length" })) {
      assert.ok(chunk.length <= limit);
      assert.ok(!isLow(chunk.charCodeAt(0)));
      assert.ok(!isHigh(chunk.charCodeAt(chunk.length - 1)));
    }
  }
  const crlf = ("a".repeat(9) + "\r\n").repeat(30);
  for (const chunk of splitMessage(crlf, { limit: 10, mode: "length" })) {
    assert.ok(!chunk.startsWith("\n"), JSON.stringify(chunk));
  }
});

Deno.test("splitMessage: newline mode keeps mentions, emoji, timestamps and links whole", () => {
  const tokens = [
    "<@123456789012345678>",
    "<:party_blob:112233445566778899>",
    "<t:1700000000:R>",
    "https://example.com/a/b/c?d=e",
  ];
  for (const token of tokens) {
    const text = "x".repeat(90) + token + "y".repeat(50);
    const chunks = splitMessage(text, { limit: 100, mode: "newline" });
    assert.equal(chunks[0], "x".repeat(90), token);
    assert.ok(chunks[1].startsWith(token), token);
  }
});

Deno.test("splitMessage: tiny limits fall back to plain cuts", () => {
  const text = "```ts\nconst a = 1;\nconst b = 2;\n```\n";
  const chunks = splitMessage(text, { limit: 8, mode: "newline" });
  assert.equal(chunks.join(""), text);
  for (const chunk of chunks) assert.ok(chunk.length <= 8);
});

Deno.test("splitMessage: a 2000-char default reply splits into Discord-sized messages", () => {
  const para = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(20);
  const text = Array.from({ length: 6 }, () => para).join("\n\n");
  const chunks = splitMessage(text, { limit: 2000, mode: "newline" });
  assert.ok(chunks.every((c) => c.length <= 2000));
  // Every cut is at a paragraph break since paragraphs (~1,140 chars) fit.
  for (const chunk of chunks.slice(0, -1)) assert.ok(chunk.endsWith("\n\n"));
  assert.equal(chunks.join(""), text);
});

// ---------------------------------------------------------------------------
// Properties

Deno.test("splitMessage: properties over generated inputs", () => {
  let cases = 0;
  for (const limit of [2000, 500, 100]) {
    for (const mode of ["length", "newline"] as const) {
      const rand = prng(limit * 7 + (mode === "length" ? 1 : 2));
      const count = limit === 2000 ? 400 : 800;
      for (let i = 0; i < count; i++) {
        const size = Math.floor(rand() * (limit === 2000 ? 9000 : 2500));
        const text = generate(rand, size);
        checkSplit(text, limit, mode, `limit ${limit} ${mode} case ${i}`);
        cases++;
      }
    }
  }
  assert.equal(cases, 4000);
});

Deno.test("splitMessage: properties over awkward limits", () => {
  const rand = prng(99);
  for (let i = 0; i < 500; i++) {
    const limit = 2 + Math.floor(rand() * 150);
    const mode = rand() < 0.5 ? "length" : "newline";
    const text = generate(rand, Math.floor(rand() * 1500));
    const plan = planMessage(text, { limit, mode });
    assert.equal(plan.map((c) => c.body).join(""), text);
    for (const chunk of splitMessage(text, { limit, mode })) {
      assert.ok(chunk.length <= limit, `limit ${limit}`);
      assert.ok(!isHigh(chunk.charCodeAt(chunk.length - 1)));
      assert.ok(!isLow(chunk.charCodeAt(0)));
    }
  }
});

Deno.test("splitMessage: a fence whose marker cannot fit is cut plainly, text intact", () => {
  // A 300-backtick fence cannot be closed and reopened within 500 characters,
  // so fences are ignored: the limit and the text still hold.
  const text = "`".repeat(300) + "\n" + "code\n".repeat(200) + "`".repeat(300);
  const plan = planMessage(text, { limit: 500, mode: "newline" });
  assert.equal(plan.map((c) => c.body).join(""), text);
  assert.ok(plan.every((c) => c.prefix === "" && c.suffix === "" && c.body.length <= 500));
});

Deno.test("atomic ranges that fit are never cut; bodies still reassemble exactly", () => {
  for (let seed = 1; seed <= 40; seed++) {
    const rand = prng(seed);
    const lines: string[] = [];
    const atomic: { start: number; end: number }[] = [];
    let pos = 0;
    for (let i = 0; i < 60; i++) {
      const block = rand() < 0.3;
      const n = block ? 2 + Math.floor(rand() * 8) : 1;
      const text = Array.from(
        { length: n },
        () => "w".repeat(1 + Math.floor(rand() * 60)) + (block ? " | cell" : ""),
      ).join("\n");
      if (block) atomic.push({ start: pos, end: pos + text.length });
      lines.push(text);
      pos += text.length + 1;
    }
    const text = lines.join("\n");
    for (const limit of [200, 450]) {
      for (const mode of ["length", "newline"] as const) {
        const plan = planMessage(text, { limit, mode, atomic });
        assert.equal(plan.map((c) => c.body).join(""), text);
        let at = 0;
        for (const c of plan) {
          assert.ok((c.prefix + c.body + c.suffix).length <= limit);
          at += c.body.length;
          const inside = atomic.find((r) => r.start < at && at < r.end && r.end - r.start <= limit);
          assert.equal(inside, undefined, `seed ${seed} ${mode} ${limit}: cut at ${at}`);
        }
      }
    }
  }
});
