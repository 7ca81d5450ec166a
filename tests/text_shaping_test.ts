/**
 * Outbound shaping as a specification: what Claude writes (GitHub-flavoured
 * Markdown with tables, task lists, nested lists, code, footnotes, HTML and
 * images) becomes what Discord renders, tables never split across messages,
 * long output folds into an attached file, and many links suppress embeds.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { shapeForDiscord } from "../lib/text/discord_markdown.ts";
import {
  countPreviewLinks,
  OVERFLOW_FILE_NAME,
  planOutbound,
  SUPPRESS_EMBEDS,
} from "../lib/text/outbound.ts";
import { displayWidth, parseTable, renderTable, splitRow } from "../lib/text/table.ts";

const T = "```";

/** [what Claude wrote, what Discord gets] */
const SHAPING: [string, string, string][] = [
  [
    "small table becomes an aligned code block, numbers right-aligned",
    "| Service | p95 | Status |\n|---|---:|:---:|\n| api | 120 ms | ok |\n| worker | 8 ms | **down** |",
    `${T}\nService |    p95 | Status\n--------|--------|-------\napi     | 120 ms |   ok\nworker  |   8 ms |  down\n${T}`,
  ],
  [
    "table without outer pipes and with escaped pipes and code",
    "Flag | Meaning\n--- | ---\n`-a \\| -b` | either\n-v | verbose",
    `${T}\nFlag    | Meaning\n--------|--------\n-a | -b | either\n-v      | verbose\n${T}`,
  ],
  [
    "a table wider than 60 columns becomes a list",
    "| File | What changed | Why |\n|---|---|---|\n| lib/gate.ts | The inbound gate now checks the group allowFrom list for bots too | a bot listed for DMs could post in a group |\n| README.md | docs | - |",
    "**lib/gate.ts**\n- What changed: The inbound gate now checks the group allowFrom list for bots too\n- Why: a bot listed for DMs could post in a group\n**README.md**\n- What changed: docs\n- Why: -",
  ],
  [
    "a table with links becomes a list so the links stay clickable",
    "| PR | Title |\n|---|---|\n| [#12](https://github.com/o/r/pull/12) | Fix lock |",
    "**[#12](https://github.com/o/r/pull/12)**\n- Title: Fix lock",
  ],
  [
    "headings: three levels kept, deeper ones bold, closing hashes dropped",
    "# Plan\n## Steps ##\n### Risks\n#### Details\n###### Tiny",
    "# Plan\n## Steps\n### Risks\n**Details**\n**Tiny**",
  ],
  [
    "setext headings become ATX headings",
    "Release notes\n=============\nFixes\n-----\n- one",
    "# Release notes\n## Fixes\n- one",
  ],
  [
    "task lists become check boxes, nested lists keep their indentation",
    "- [x] write the parser\n- [ ] tests\n  - [ ] unit\n  + e2e\n1) first\n2) second",
    "- ☑ write the parser\n- ☐ tests\n  - ☐ unit\n  - e2e\n1. first\n2. second",
  ],
  [
    "horizontal rules become a divider line",
    "above\n\n---\n\nbelow\n\n***\n",
    "above\n\n──────────\n\nbelow\n\n──────────\n",
  ],
  [
    "footnotes become superscripts and subtext",
    "Deno is fast[^1].\n\n[^1]: Benchmarks from November.",
    "Deno is fast¹.\n\n-# ¹ Benchmarks from November.",
  ],
  [
    "images become masked links, reference links are resolved",
    "See ![the chart](https://example.com/c.png) and [the docs][docs].\n\n[docs]: https://docs.deno.com",
    "See [the chart](https://example.com/c.png) and [the docs](https://docs.deno.com).\n",
  ],
  [
    "HTML: emphasis and line breaks mapped, layout tags dropped, comments removed",
    "<details><summary>Logs</summary>\nPress <kbd>Ctrl</kbd>+<kbd>C</kbd>, then <b>wait</b><br>done <!-- note -->\n</details>",
    "**Logs** \nPress `Ctrl`+`C`, then **wait**\ndone \n",
  ],
  [
    "quotes get their space and a single level",
    ">tight\n> > nested",
    "> tight\n> nested",
  ],
  [
    "code is never touched: fenced blocks, inline spans, pipes and hashes inside",
    `${T}md\n| a | b |\n|---|---|\n#### not a heading\n${T}\nUse \`<b>x</b>\` and \`[^1]\` literally.`,
    `${T}md\n| a | b |\n|---|---|\n#### not a heading\n${T}\nUse \`<b>x</b>\` and \`[^1]\` literally.`,
  ],
  [
    "Discord syntax is left alone: mentions, emoji, timestamps, autolinks, subtext, spoilers",
    "<@123456789012345678> <:blob:123456789012345678> <t:1700000000:R> <https://x.dev>\n-# small\n||secret|| Vec<T> a < b",
    "<@123456789012345678> <:blob:123456789012345678> <t:1700000000:R> <https://x.dev>\n-# small\n||secret|| Vec<T> a < b",
  ],
];

for (const [name, input, expected] of SHAPING) {
  Deno.test(`shape: ${name}`, () => {
    assertEquals(shapeForDiscord(input).text, expected);
  });
}

Deno.test("table cells: pipes in code spans and escaped pipes stay in their cell", () => {
  assertEquals(splitRow("| `a|b` | c \\| d | e |"), ["`a|b`", "c | d", "e"]);
});

Deno.test("display width: CJK and emoji count double, combining marks nothing", () => {
  assertEquals(displayWidth("abc"), 3);
  assertEquals(displayWidth("日本"), 4);
  assertEquals(displayWidth("🚀"), 2);
  assertEquals(displayWidth("👩‍💻"), 2);
  assertEquals(displayWidth("e\u0301"), 1);
  // Columns line up by display width.
  const out = renderTable(parseTable("| a | b |", "|---|---|", ["| 日本 | x |", "| ab | y |"]));
  const rows = out.split("\n").slice(1, -1);
  const bar = rows.map((r) => displayWidth(r.slice(0, r.indexOf("|"))));
  assert(bar.every((w) => w === bar[0]), out);
});

Deno.test("atomic ranges cover tables and code blocks in the shaped text", () => {
  const s = shapeForDiscord(`intro\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n${T}js\nx()\n${T}\nend`);
  const pieces = s.atomic.map((r) => s.text.slice(r.start, r.end));
  assertEquals(pieces, [`${T}\na | b\n--|--\n1 | 2\n${T}`, `${T}js\nx()\n${T}`]);
});

/** A realistic long answer: prose, a table, code, lists. */
function longAnswer(paragraphs: number): string {
  const parts = ["## Findings\n"];
  for (let i = 0; i < paragraphs; i++) {
    parts.push(
      `Paragraph ${i}: the bridge reads access.json on every message and caches compiled patterns. `
        .repeat(4),
    );
    parts.push(
      `| Metric | Before | After |\n|---|---:|---:|\n| RSS | ${i}0 MB | ${i} MB |\n| p95 | 12 ms | 3 ms |\n| CPU | 4% | 1% |`,
    );
    parts.push(`${T}ts\nconst x${i} = await run(${i});\nconsole.log(x${i});\n${T}`);
    parts.push(`- item ${i}\n  - nested ${i}\n1. step ${i}`);
  }
  return parts.join("\n\n");
}

/** The fence left open at the end of a message, or null. */
function openFence(text: string): string | null {
  let open: string | null = null;
  for (const line of text.split("\n")) {
    const m = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    if (!m) continue;
    if (open) {
      if (m[1][0] === open[0] && m[1].length >= open.length && !m[2].trim()) open = null;
    } else open = m[1];
  }
  return open;
}

for (const mode of ["length", "newline"] as const) {
  for (const limit of [2000, 500, 300]) {
    Deno.test(`plan (${mode}, ${limit}): tables never split, fences balanced, within the limit`, () => {
      const text = longAnswer(6);
      const plan = planOutbound(text, { limit, mode, replyToMode: "first", maxMessages: 50 });
      const tables = plan.shaped.match(/```\nMetric[\s\S]*?```/g)!;
      assertEquals(tables.length, 6);
      for (const b of plan.bodies) {
        assert(b.content!.length <= limit, `${b.content!.length} > ${limit}`);
        assertEquals(openFence(b.content!), null, b.content!);
        assertEquals(b.allowed_mentions, { parse: [], replied_user: false });
      }
      // Each table appears whole inside one message.
      for (const t of tables) assert(plan.bodies.some((b) => b.content!.includes(t)), t);
    });
  }
}

Deno.test("plan: past maxMessages (at least 2) the first part is sent and the rest attached, and it says so", () => {
  const text = longAnswer(30);
  const all = planOutbound(text, {
    limit: 2000,
    mode: "newline",
    replyToMode: "first",
    maxMessages: 50,
  });
  assert(all.bodies.length > 8, `only ${all.bodies.length} messages`);
  const plan = planOutbound(text, { limit: 2000, mode: "newline", replyToMode: "first" });
  assertEquals(plan.bodies.length, 8);
  assert(plan.overflow);
  assertEquals(plan.overflow.name, OVERFLOW_FILE_NAME);
  const last = plan.bodies.at(-1)!.content!;
  assert(last.includes(OVERFLOW_FILE_NAME), last);
  // Nothing is lost: the sent messages' text and the file carry the whole reply.
  const sent = all.bodies.slice(0, 7).map((b) => b.content).join("");
  assert(plan.overflow.text.length > 0);
  assert(plan.shaped.endsWith(plan.overflow.text.trimStart().slice(-500)));
  assertEquals(plan.bodies.slice(0, 7).map((b) => b.content).join(""), sent);
  // Configurable: a threshold of 3 sends 2 messages and the note.
  const three = planOutbound(text, {
    limit: 2000,
    mode: "newline",
    replyToMode: "off",
    maxMessages: 3,
  });
  assertEquals(three.bodies.length, 3);
});

Deno.test("plan: more than three preview links suppress embeds on every message", () => {
  const few = "See https://a.dev and [docs](https://b.dev) and <https://c.dev> <https://d.dev>";
  assertEquals(countPreviewLinks(few), 2);
  assertEquals(
    planOutbound(few, { limit: 2000, mode: "length", replyToMode: "off" }).bodies[0].flags,
    undefined,
  );
  const many = "Links: https://a.dev https://b.dev https://c.dev\n\n" + "x ".repeat(1200) +
    "\nhttps://d.dev";
  const plan = planOutbound(many, { limit: 2000, mode: "newline", replyToMode: "off" });
  assertEquals(plan.bodies.length, 2);
  for (const b of plan.bodies) assertEquals(b.flags, SUPPRESS_EMBEDS);
});

Deno.test("plan: reply_to quoted per mode, empty text still gives one body for files", () => {
  const p = planOutbound("x ".repeat(1500), {
    limit: 2000,
    mode: "length",
    replyTo: "42",
    replyToMode: "first",
  });
  assertEquals(p.bodies.map((b) => b.message_reference?.message_id), ["42", undefined]);
  assertEquals(planOutbound("", { limit: 2000, mode: "length", replyToMode: "off" }).bodies, [
    { allowed_mentions: { parse: [], replied_user: false } },
  ]);
});
