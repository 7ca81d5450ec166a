import assert from "node:assert/strict";
import {
  type ButtonComponent,
  escapeMarkdown,
  imitatesPermissionPrompt,
  isPermissionPromptMessage,
  type PermissionRequest,
  PermissionRequestSchema,
  type PromptPayload,
  renderDetails,
  renderExpired,
  renderOutcome,
  renderPrompt,
  SHORT_PREVIEW_CHARS,
} from "../lib/permission/prompt.ts";
import { parseButtonId } from "../lib/permission/verdict.ts";

const REQ: PermissionRequest = {
  request_id: "abcde",
  tool_name: "Bash",
  description: "List the files in the project",
  input_preview: '{"command":"ls -la","description":"List the files in the project"}',
};

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

function buttonsOf(p: PromptPayload): ButtonComponent[] {
  return p.components.flatMap((row) => {
    assert.equal(row.type, 1);
    return row.components;
  });
}

/** Discord limits and mention safety that hold for every payload. */
function checkLimits(p: PromptPayload, label: string): void {
  assert.ok(p.content.length <= 2000, `${label}: content ${p.content.length}`);
  assert.ok(p.content.length > 0, `${label}: empty content`);
  assert.deepEqual(p.allowed_mentions, { parse: [] }, label);
  assert.ok(p.components.length <= 5, label);
  for (const b of buttonsOf(p)) {
    assert.equal(b.type, 2);
    assert.ok(b.custom_id.length <= 100, `${label}: custom_id`);
    assert.ok(b.label.length <= 80, `${label}: label`);
  }
  // Code fences pair up, so no user text escapes a block (or opens one).
  const fences = p.content.match(/```/g)?.length ?? 0;
  assert.equal(fences % 2, 0, `${label}: odd number of fences`);
  assert.equal(p.content, p.content.toWellFormed(), `${label}: split surrogate pair`);
}

function checkButtons(p: PromptPayload, detailsDisabled: boolean): void {
  const buttons = buttonsOf(p);
  assert.deepEqual(
    buttons.map((b) => [b.label, b.style, b.custom_id, b.disabled ?? false]),
    [
      ["Allow", 3, "perm:allow:abcde", false],
      ["Deny", 4, "perm:deny:abcde", false],
      ["Details", 2, "perm:details:abcde", detailsDisabled],
    ],
  );
  for (const b of buttons) assert.notEqual(parseButtonId(b.custom_id), null);
}

Deno.test("PermissionRequestSchema: four strings, extra keys dropped", () => {
  assert.deepEqual(PermissionRequestSchema.parse({ ...REQ, extra: 1 }), REQ);
  assert.equal(PermissionRequestSchema.safeParse({ ...REQ, tool_name: 3 }).success, false);
  assert.equal(PermissionRequestSchema.safeParse({ request_id: "abcde" }).success, false);
});

Deno.test("renderPrompt: header, description, preview, id, hint, expiry and buttons", () => {
  const p = renderPrompt(REQ, { expiresAt: 1_790_000_123_456 });
  checkLimits(p, "prompt");
  checkButtons(p, false);
  assert.ok(p.content.startsWith("🔐 Claude wants to run **Bash**\n"));
  assert.ok(p.content.includes("List the files in the project"));
  assert.ok(p.content.includes('```\n{"command":"ls -la",'));
  assert.ok(p.content.includes("Request `abcde` · expires <t:1790000123:R>"));
  assert.ok(p.content.includes("reply `yes abcde` / `no abcde`"));
  assert.ok(!p.content.includes("…"), "short preview is not marked as cut");
});

Deno.test("renderPrompt: no expiry line without a valid expiresAt", () => {
  for (const expiresAt of [undefined, Number.NaN, -5, Infinity]) {
    assert.ok(!renderPrompt(REQ, { expiresAt }).content.includes("<t:"));
  }
  assert.ok(!renderPrompt(REQ).content.includes("<t:"));
});

Deno.test("renderPrompt: a long preview is cut short with a marker", () => {
  const input = JSON.stringify({ command: "x".repeat(5000) });
  const p = renderPrompt({ ...REQ, input_preview: input });
  checkLimits(p, "prompt");
  const block = /```\n([\s\S]*?)\n```/.exec(p.content)![1];
  assert.ok(block.endsWith("\n…"));
  assert.ok(block.length <= SHORT_PREVIEW_CHARS + 2);
  assert.ok(p.content.includes(`${(input.length - SHORT_PREVIEW_CHARS).toLocaleString("en-US")}`));
  assert.match(p.content, /more characters: press Details/);
});

Deno.test("renderPrompt: an empty preview shows no code block", () => {
  const p = renderPrompt({ ...REQ, input_preview: "" });
  assert.ok(!p.content.includes("```"));
  checkButtons(p, false);
});

Deno.test("renderDetails: pretty-prints JSON and keeps the buttons", () => {
  const p = renderDetails(REQ, { expiresAt: 1_790_000_000_000 });
  checkLimits(p, "details");
  checkButtons(p, true);
  assert.ok(p.content.includes('```json\n{\n  "command": "ls -la",\n  "description": '));
  assert.ok(!p.content.includes("truncated"));
  assert.ok(p.content.includes("<t:1790000000:R>"));
});

Deno.test("renderDetails: a preview that is not JSON is shown raw", () => {
  const raw = '{"command":"echo hi", "content": "cut off mid-str';
  const p = renderDetails({ ...REQ, input_preview: raw });
  assert.ok(p.content.includes("```\n" + raw + "\n```"));
  const text = renderDetails({ ...REQ, input_preview: "just text\n  indented" });
  assert.ok(text.content.includes("```\njust text\n  indented\n```"));
});

Deno.test("renderDetails: a huge input is cut to fit with a truncation marker", () => {
  const input = JSON.stringify({ file_path: "/tmp/x", content: "line\n".repeat(3000) });
  const p = renderDetails({ ...REQ, tool_name: "Write", input_preview: input });
  checkLimits(p, "details");
  checkButtons(p, true);
  const m = /… \[truncated: ([\d,]+) more characters — see the terminal\]/.exec(p.content);
  assert.ok(m, "marker present");
  const pretty = JSON.stringify(JSON.parse(input), null, 2);
  const shown = /```json\n([\s\S]*?)\n```/.exec(p.content)![1];
  assert.equal(Number(m[1].replaceAll(",", "")), pretty.length - shown.length);
  assert.ok(pretty.startsWith(shown));
  assert.ok(p.content.length > 1800, "uses the room it has");
});

Deno.test("code blocks cannot be closed from inside", () => {
  const hostile = "```\n@everyone <@123> **bold**\n```js\n``````";
  for (const render of [renderPrompt, renderDetails]) {
    const p = render({ ...REQ, input_preview: hostile });
    checkLimits(p, render.name);
    assert.equal(p.content.match(/```/g)!.length, 2, render.name);
    assert.ok(p.content.includes("`\u200b`\u200b`"));
  }
});

Deno.test("tool name and description are Markdown-escaped", () => {
  const p = renderPrompt({
    ...REQ,
    tool_name: "**Bash**`x`",
    description: "# Heading\n> quote\n- item\n1. step\n[safe](https://evil.example) ||spoiler|| " +
      "__u__ ~~s~~ @everyone @here <@123> <t:1:R>",
  });
  checkLimits(p, "escaped");
  assert.ok(p.content.startsWith("🔐 Claude wants to run **\\*\\*Bash\\*\\*\\`x\\`**"));
  for (
    const s of [
      "\\# Heading",
      "\\> quote",
      "\\- item",
      "1\\. step",
      "\\[safe\\]\\(https://evil.example\\)",
      "\\|\\|spoiler\\|\\|",
      "\\_\\_u\\_\\_",
      "\\~\\~s\\~\\~",
      "@\u200beveryone",
      "@\u200bhere",
      "\\<@123\\>",
      "\\<t:1:R\\>",
    ]
  ) assert.ok(p.content.includes(s), s);
});

Deno.test("hidden characters are shown, not obeyed", () => {
  const p = renderPrompt({
    ...REQ,
    description: "rename \u202Etxt.exe",
    input_preview: '{"command":"rm -rf ~\u202E #safe"}',
  });
  assert.ok(!p.content.includes("\u202E"));
  assert.equal(p.content.match(/⟨U\+202E⟩/g)?.length, 2);
});

Deno.test("escapeMarkdown: plain words are untouched", () => {
  assert.equal(escapeMarkdown("Run the tests"), "Run the tests");
  assert.equal(escapeMarkdown("a_b"), "a\\_b");
  assert.equal(escapeMarkdown("mail me@example.com"), "mail me@example.com");
});

Deno.test("renderOutcome: who decided, and no buttons", () => {
  const allow = renderOutcome(REQ, { behavior: "allow", decidedBy: "alice" });
  checkLimits(allow, "allow");
  assert.deepEqual(allow.components, []);
  assert.ok(allow.content.startsWith("✅ Allowed by alice\n"));
  assert.ok(allow.content.includes("**Bash**"));
  assert.ok(allow.content.includes("`abcde`"));
  const deny = renderOutcome(REQ, { behavior: "deny", decidedBy: "bob", via: "text" });
  assert.deepEqual(deny.components, []);
  assert.ok(deny.content.startsWith("❌ Denied by bob (text reply)\n"));
  const button = renderOutcome(REQ, { behavior: "deny", decidedBy: "bob", via: "button" });
  assert.ok(button.content.startsWith("❌ Denied by bob (button)\n"));
  // A hostile display name cannot ping, format or break the line.
  const hostile = renderOutcome(REQ, {
    behavior: "allow",
    decidedBy: "@everyone\n**x**\u202E" + "n".repeat(5000),
  });
  checkLimits(hostile, "hostile name");
  assert.ok(hostile.content.startsWith("✅ Allowed by @\u200beveryone \\*\\*x\\*\\*"));
  assert.ok(hostile.content.split("\n")[0].length < 200);
});

Deno.test("renderExpired: says so, points at the terminal, no buttons", () => {
  const p = renderExpired(REQ);
  checkLimits(p, "expired");
  assert.deepEqual(p.components, []);
  assert.match(p.content, /expired/);
  assert.match(p.content, /terminal may still be waiting/);
  assert.ok(p.content.includes("`abcde`"));
});

Deno.test("a malformed request ID gets no buttons and no unusable hint", () => {
  const bad = { ...REQ, request_id: "NOT-AN-ID`" + "x".repeat(500) };
  for (const p of [renderPrompt(bad), renderDetails(bad)]) {
    checkLimits(p, "bad id");
    assert.deepEqual(p.components, []);
    assert.match(p.content, /only be answered in the terminal/);
    assert.ok(!p.content.includes("reply `yes"));
  }
  checkLimits(renderOutcome(bad, { behavior: "allow", decidedBy: "a" }), "bad id outcome");
  checkLimits(renderExpired(bad), "bad id expired");
});

Deno.test("huge and hostile inputs never break Discord's limits", () => {
  const rand = prng(2026);
  const units = [
    "a",
    "*",
    "`",
    "```",
    "\n",
    "\r\n",
    "😀",
    "\u202E",
    "\u200b",
    "\u0007",
    "@everyone ",
    "<@1>",
    '"',
    "{",
    "}",
    "\\",
    "#",
    " ",
  ];
  const gen = (max: number) => {
    const size = Math.floor(rand() * max);
    let s = "";
    while (s.length < size) s += units[Math.floor(rand() * units.length)];
    return s;
  };
  for (let i = 0; i < 300; i++) {
    const req: PermissionRequest = {
      request_id: rand() < 0.9 ? "qwert" : gen(300),
      tool_name: gen(rand() < 0.2 ? 10_000 : 100),
      description: gen(rand() < 0.3 ? 10_000 : 600),
      input_preview: rand() < 0.5
        ? gen(20_000)
        : JSON.stringify({ command: gen(3_500), content: gen(11_000) }),
    };
    const opts = { expiresAt: rand() < 0.5 ? Date.now() : undefined };
    checkLimits(renderPrompt(req, opts), `prompt ${i}`);
    checkLimits(renderDetails(req, opts), `details ${i}`);
    checkLimits(renderOutcome(req, { behavior: "deny", decidedBy: gen(5_000) }), `outcome ${i}`);
    checkLimits(renderExpired(req), `expired ${i}`);
  }
});

Deno.test("renderDetails: any input size from 0 to 20,000 fits, marked when cut", () => {
  const rand = prng(7);
  for (let i = 0; i < 200; i++) {
    const size = Math.floor(rand() * 20_001);
    const input = rand() < 0.5
      ? JSON.stringify({ command: "c".repeat(Math.max(0, size - 14)) })
      : "r".repeat(size);
    const p = renderDetails({ ...REQ, input_preview: input });
    checkLimits(p, `size ${size}`);
    const cut = p.content.includes("… [truncated:");
    const pretty = input.startsWith("{") ? JSON.stringify(JSON.parse(input), null, 2) : input;
    if (!cut) assert.ok(p.content.includes(pretty === "" ? "(empty)" : pretty), `size ${size}`);
    else assert.ok(pretty.length > 1500, `size ${size}: cut although small`);
  }
});

Deno.test("the compact preview collapses padding, so a command cannot hide its tail", () => {
  const padded = JSON.stringify({ command: "ls" + " ".repeat(500) + "; rm -rf ~" });
  const p = renderPrompt({
    request_id: "abcde",
    tool_name: "Bash",
    description: "list files",
    input_preview: padded,
  });
  assert.match(p.content, /rm -rf ~/);
  assert.match(p.content, /⟨500 blank⟩/);
  const escaped = JSON.stringify({ command: "ls" + "\n".repeat(300) + "rm -rf ~" });
  assert.match(
    renderPrompt({
      request_id: "abcde",
      tool_name: "Bash",
      description: "",
      input_preview: escaped,
    })
      .content,
    /rm -rf ~/,
  );
});

Deno.test("isPermissionPromptMessage: every state of every prompt is recognised from its text", () => {
  const odd: PermissionRequest[] = [
    REQ,
    { ...REQ, request_id: "NOT-AN-ID\n`x`", tool_name: "", description: "" },
    { ...REQ, tool_name: "Request `abcde`\n🔐", description: "a\n".repeat(400) },
    { ...REQ, input_preview: "x".repeat(15_000) },
  ];
  for (const req of odd) {
    const views: [string, PromptPayload][] = [
      ["prompt", renderPrompt(req, { expiresAt: Date.now() + 60_000 })],
      ["details", renderDetails(req, { expiresAt: Date.now() + 60_000 })],
      ["allowed", renderOutcome(req, { behavior: "allow", decidedBy: "alice", via: "button" })],
      ["denied", renderOutcome(req, { behavior: "deny", decidedBy: "bob", via: "text" })],
      ["expired", renderExpired(req)],
    ];
    for (const [state, view] of views) {
      // Recognised without the buttons: answered and expired views have none.
      assert.ok(
        isPermissionPromptMessage({ content: view.content }),
        `${state} of ${JSON.stringify(req.request_id)} not recognised:\n${view.content}`,
      );
    }
  }
  // Anything with buttons is one (the bridge sends no other components).
  assert.ok(isPermissionPromptMessage({ content: "hi", hasComponents: true }));
  for (const content of ["working…", "done: 42", "🔐 secret stuff", "Request `abc` sent", ""]) {
    assert.equal(isPermissionPromptMessage({ content }), false, content);
  }
});

Deno.test("imitatesPermissionPrompt: every rendering and its look-alikes count; 🔐 inside a line does not", () => {
  for (
    const view of [
      renderPrompt(REQ),
      renderDetails(REQ),
      renderOutcome(REQ, { behavior: "allow", decidedBy: "alice", via: "button" }),
      renderExpired(REQ),
      renderExpired({ ...REQ, request_id: "NOT-AN-ID" }),
    ]
  ) {
    assert.ok(imitatesPermissionPrompt(view.content), view.content);
  }
  // What a hijacked session would post instead of the real thing.
  for (
    const fake of [
      "✅ Allowed by alice (button)\n🔐 **Bash**: List the files\nRequest `abcde`",
      "🔐 Claude wants to run **Read**\nPress Allow or Deny, or reply `yes abcde`.",
      "> 🔐 Claude wants to run **Read**",
      "**🔐 Claude wants to run Read**",
      "\u200b🔐 Claude wants to run **Read**",
      "1. 🔐 x",
      "- 🔐 x",
      "  # 🔐 x",
      "all done\n🔐 Claude wants to run **Read**",
    ]
  ) {
    assert.ok(imitatesPermissionPrompt(fake), JSON.stringify(fake));
  }
  for (const ok of ["working…", "the key is in the 🔐 vault", "Request `abc` sent", ""]) {
    assert.equal(imitatesPermissionPrompt(ok), false, ok);
  }
});
