/**
 * Outbound shaping stays linear on hostile replies. Claude may echo text a
 * stranger wrote, and `reply` shapes it on the bridge's only thread: a
 * pattern that backtracks quadratically on a 100 KB line stalls MCP answers
 * and the gateway heartbeat for seconds. Each input below took 3 to 30 s
 * before the patterns were bounded; the bound here is generous for a
 * loaded 2-core machine (linear shaping takes well under 200 ms).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { shapeForDiscord } from "../lib/text/discord_markdown.ts";
import { planOutbound } from "../lib/text/outbound.ts";
import { parseTable, plainCell, renderTable } from "../lib/text/table.ts";

const N = 100_000;
const BOUND_MS = 2_000;
const cell = (s: string) => `|a|b|\n|-|-|\n|${s}|b|`;

const HOSTILE: [string, string][] = [
  ["unclosed <img src=http://…", "<img src=http://" + "a".repeat(N)],
  ["a line of ![", "![".repeat(N / 2)],
  ["a line of [ with a reference definition", "[a]: https://x.dev\n" + "[".repeat(N)],
  ["a table cell of ![", cell("![".repeat(N / 2))],
  ["a table cell of [", cell("[".repeat(N))],
  ["a table cell of unclosed **", cell("**a ".repeat(N / 4))],
  ["many unclosed <a href>", "<a href='https://x.dev'>".repeat(N / 24)],
  ["many [](http://… without )", "[](http://a".repeat(N / 11)],
  ["a heading of unclosed <!--", "# " + "<!--".repeat(N / 4)],
  ["a line of unclosed <summary>", "a " + "<summary>".repeat((2 * N) / 9)],
  // Splitting: every candidate cut on a fence-like line used to parse the
  // whole rest of the line (O(n) each, O(n²) per reply).
  ["a line of indented ~~~", "x" + "    ~~~".repeat(N / 7)],
  ["a line of ~~~ and spaces", "x " + "~~~ ".repeat(N / 4)],
  ["a line of tab and ~~~", "\t~~~".repeat(N / 4)],
  ["a run of ~ inside a code block", "```\n" + "~".repeat(N) + "x\n```"],
];

for (const [name, text] of HOSTILE) {
  Deno.test(`shaping stays linear: ${name}`, () => {
    for (const mode of ["length", "newline"] as const) {
      const t0 = performance.now();
      const plan = planOutbound(text, { limit: 2000, mode, replyToMode: "off" });
      const ms = performance.now() - t0;
      assert(ms < BOUND_MS, `${mode}: ${Math.round(ms)} ms for ${text.length} characters`);
      assert(plan.bodies.every((b) => (b.content ?? "").length <= 2000));
    }
  });
}

Deno.test("a table of 150,000 rows is shaped, not a stack overflow", () => {
  // `Math.max(...rows)` threw RangeError past about 120,000 rows.
  const text = "|a|\n|-|\n" + "|\n".repeat(150_000);
  const t0 = performance.now();
  const plan = planOutbound(text, { limit: 2000, mode: "length", replyToMode: "off" });
  const ms = performance.now() - t0;
  assert(ms < 4 * BOUND_MS, `${Math.round(ms)} ms`);
  assertEquals(plan.bodies.length, 8);
  assert(plan.overflow && plan.overflow.text.length > 100_000);
});

Deno.test("bounded patterns still rewrite what they did", () => {
  assertEquals(
    shapeForDiscord('<img alt="cat" src="https://x.dev/c.png"> and <IMG SRC=https://x.dev/d.png>')
      .text,
    "[cat](https://x.dev/c.png) and [image](https://x.dev/d.png)",
  );
  assertEquals(
    shapeForDiscord("<a name=top>see <a href='https://x.dev'>the site</a></a>").text,
    "<a name=top>see [the site](https://x.dev)</a>",
  );
  assertEquals(shapeForDiscord("<img src=ftp://x>").text, "<img src=ftp://x>");
  assertEquals(shapeForDiscord("a <!-- x <!-- y --> b <!-- z").text, "a  b <!-- z");
  assertEquals(
    shapeForDiscord("<summary>One</summary> <summary>Two</summary>").text,
    "**One**  **Two** ",
  );
  assertEquals(
    shapeForDiscord("![](https://x.dev/a.png) [x][r]\n\n[r]: https://r.dev").text,
    "[image](https://x.dev/a.png) [x](https://r.dev)\n",
  );
  assertEquals(
    plainCell("**bold** and __under__ and ~~gone~~ [l](https://x.dev)"),
    "bold and under and gone l",
  );
  assertEquals(
    renderTable(parseTable("|a|b|", "|-|-|", ["|**x**|[l](https://x.dev)|"])),
    "**x**\n- b: [l](https://x.dev)",
  );
});
