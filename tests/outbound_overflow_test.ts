/**
 * The `.md` file that carries the rest of a long reply is Markdown that
 * reads on its own: when the cut falls inside a code block, the file
 * reopens that block (with its language) instead of starting with bare code
 * lines and leaving the closing fence to open a new block around the prose.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { planOutbound } from "../lib/text/outbound.ts";

/** Fence lines toggle; true when every opened block is closed. */
function balanced(md: string): boolean {
  let open: string | null = null;
  for (const line of md.split("\n")) {
    const m = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (!m) continue;
    if (open === null) open = m[1];
    else if (m[1][0] === open[0] && m[1].length >= open.length && line.trim() === m[1]) open = null;
  }
  return open === null;
}

Deno.test("an overflow file cut inside a code block reopens it with its language", () => {
  const code = Array.from({ length: 300 }, (_, i) => `const v${i} = ${i}; // line ${i}`);
  const text = `Intro\n\n\`\`\`ts\n${code.join("\n")}\n\`\`\`\n\nDone.`;
  for (const mode of ["length", "newline"] as const) {
    const plan = planOutbound(text, { limit: 2000, mode, replyToMode: "off", maxMessages: 2 });
    const file = plan.overflow?.text ?? "";
    assert(file.startsWith("```ts\n"), `${mode}: ${JSON.stringify(file.slice(0, 40))}`);
    assert(balanced(file), `${mode}: unbalanced fences in the file`);
    assert(file.endsWith("```\n\nDone."), mode);
    // The message part and the file together carry the whole text: only the
    // synthetic closing and reopening fence lines (and a line break) are added.
    const first = (plan.bodies[0].content ?? "").replace(/```$/, "");
    const joined = first + file.slice("```ts\n".length);
    assertEquals(joined.replaceAll("\n", ""), text.replaceAll("\n", ""), mode);
  }
});

Deno.test("an overflow file cut between paragraphs starts at the next paragraph", () => {
  const text = Array.from({ length: 40 }, (_, i) => `Paragraph ${i} ${"x".repeat(300)}`)
    .join("\n\n");
  const plan = planOutbound(text, {
    limit: 1000,
    mode: "newline",
    replyToMode: "off",
    maxMessages: 2,
  });
  const file = plan.overflow?.text ?? "";
  assert(/^Paragraph \d+ x/.test(file), JSON.stringify(file.slice(0, 30)));
});
