/**
 * Rewriting the GitHub-flavoured Markdown Claude writes into the subset
 * Discord renders, so a reply reads well on a phone.
 *
 * Discord renders `#`, `##` and `###` headings, `-#` subtext, bullet and
 * numbered lists (nested by indentation), `>` block quotes, inline code and
 * fenced code blocks, emphasis, strikethrough, spoilers and masked links
 * `[text](url)`. It does not render tables, task lists, footnotes, HTML,
 * images `![alt](url)`, reference-style links, `####` and deeper headings,
 * setext headings or horizontal rules: those become their closest Discord
 * form here. Code (fenced blocks and inline spans) is never touched.
 *
 * @module
 */
import { isTableRow, isTableStart, parseTable, renderTable } from "./table.ts";

/** A range of the shaped text that must not be split across two messages. */
export interface AtomicRange {
  start: number;
  end: number;
}

/** The shaped text and the ranges (tables, code blocks) to keep in one message. */
export interface ShapedText {
  text: string;
  atomic: AtomicRange[];
}

/** What replaces a horizontal rule: a visible divider line. */
export const DIVIDER = "──────────";

/**
 * A fence line at any indentation: CommonMark stops at three spaces, but a
 * code block nested in a list is often indented further, and Discord renders
 * it as code all the same, so its lines must not be rewritten.
 */
const FENCE_OPEN_RE = /^[ \t]*(`{3,}|~{3,})(.*)$/;
const ATX_RE = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const HR_RE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const SETEXT_RE = /^ {0,3}(=+|-+)[ \t]*$/;
const TASK_RE = /^(\s*)([-*+]|\d{1,9}[.)])[ \t]+\[([ xX])\][ \t]+/;
const BULLET_PLUS_RE = /^(\s*)\+[ \t]+/;
const ORDERED_PAREN_RE = /^(\s*)(\d{1,9})\)[ \t]+/;
const FOOTNOTE_DEF_RE = /^ {0,3}\[\^([^\]\s]{1,32})\]:[ \t]*(.*)$/;
const REF_DEF_RE =
  /^ {0,3}\[([^\]^][^\]]{0,98})\]:[ \t]*<?(\S+?)>?(?:[ \t]+(?:"[^"]*"|'[^']*'|\([^)]*\)))?[ \t]*$/;
const QUOTE_TIGHT_RE = /^(\s{0,3})>+(?=\S)(?!>)/;
const NESTED_QUOTE_RE = /^(\s{0,3})>[ \t]*>[ >\t]*/;
const LIST_OR_BLOCK_RE = /^\s*(?:[-*+]\s|\d{1,9}[.)]\s|>|#|\||```|~~~)/;

/** Rewrites `text` for Discord; see the module doc. Returns the ranges to keep whole. */
export function shapeForDiscord(text: string): ShapedText {
  const lines = text.split("\n");
  const refs = collectReferences(lines);
  const out: { text: string; atomic: boolean }[] = [];
  const push = (t: string, atomic = false) => out.push({ text: t, atomic });
  let inComment = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    // Fenced code: copied as is, kept whole.
    const open = FENCE_OPEN_RE.exec(line);
    if (open && !(open[1][0] === "`" && open[2].includes("`"))) {
      const marker = open[1];
      let j = i + 1;
      const closer = new RegExp(
        `^[ \\t]*${marker[0] === "`" ? "`" : "~"}{${marker.length},}[ \\t]*\\r?$`,
      );
      while (j < lines.length && !closer.test(lines[j])) j++;
      push(lines.slice(i, Math.min(j, lines.length - 1) + 1).join("\n"), true);
      i = j;
      continue;
    }
    if (inComment) {
      if (line.includes("-->")) {
        inComment = false;
        const rest = line.slice(line.indexOf("-->") + 3);
        if (rest.trim()) push(inline(rest, refs));
      }
      continue;
    }
    if (/^\s*<!--/.test(line) && !line.includes("-->")) {
      inComment = true;
      continue;
    }
    if (isTableStart(line, lines[i + 1])) {
      let j = i + 2;
      while (j < lines.length && isTableRow(lines[j]) && !FENCE_OPEN_RE.test(lines[j])) j++;
      const table = parseTable(line, lines[i + 1], lines.slice(i + 2, j));
      push(renderTable(table), true);
      i = j - 1;
      continue;
    }
    if (REF_DEF_RE.test(line) && refs.size > 0) continue; // folded into the links that use it
    const shaped = shapeLine(line, out, refs);
    if (shaped !== null) push(shaped);
  }
  let pos = 0;
  const atomic: AtomicRange[] = [];
  const parts: string[] = [];
  for (const [k, part] of out.entries()) {
    if (part.atomic) atomic.push({ start: pos, end: pos + part.text.length });
    parts.push(part.text);
    pos += part.text.length + (k < out.length - 1 ? 1 : 0);
  }
  return { text: parts.join("\n"), atomic };
}

/**
 * One line outside code and tables, or null when it folds into the previous
 * one. `out` is what was emitted so far (a setext underline rewrites it).
 */
function shapeLine(
  line: string,
  out: { text: string; atomic: boolean }[],
  refs: Map<string, string>,
): string | null {
  const setext = SETEXT_RE.exec(line);
  const prev = out.at(-1);
  if (
    setext && prev && !prev.atomic && prev.text.trim() !== "" &&
    !LIST_OR_BLOCK_RE.test(prev.text) &&
    !prev.text.startsWith("-#") && prev.text !== DIVIDER && !prev.text.includes("\n")
  ) {
    // `Title` over `===` / `---` is a heading in Markdown; Discord shows the rule.
    prev.text = `${setext[1][0] === "=" ? "#" : "##"} ${prev.text.trim()}`;
    return null;
  }
  if (HR_RE.test(line)) return DIVIDER;
  const atx = ATX_RE.exec(line);
  if (atx) {
    const body = inline(atx[2] ?? "", refs).trim();
    if (!body) return "";
    // Discord renders three heading levels; deeper ones become a bold line.
    return atx[1].length <= 3 ? `${atx[1]} ${body}` : `**${body.replace(/^\*\*(.*)\*\*$/, "$1")}**`;
  }
  const foot = FOOTNOTE_DEF_RE.exec(line);
  if (foot) return `-# ${footnoteMark(foot[1])} ${inline(foot[2], refs)}`.trimEnd();
  let s = line;
  const task = TASK_RE.exec(s);
  if (task) {
    const box = task[3] === " " ? "☐" : "☑";
    const bullet = /^\d/.test(task[2]) ? task[2].replace(")", ".") : "-";
    s = `${task[1]}${bullet} ${box} ${s.slice(task[0].length)}`;
  } else {
    s = s.replace(BULLET_PLUS_RE, "$1- ").replace(ORDERED_PAREN_RE, "$1$2. ");
  }
  // Discord quotes need `> ` and have one level only.
  s = s.replace(NESTED_QUOTE_RE, "$1> ").replace(QUOTE_TIGHT_RE, "$1> ");
  return inline(s, refs);
}

const SUPERSCRIPT = "⁰¹²³⁴⁵⁶⁷⁸⁹";

function footnoteMark(id: string): string {
  return /^\d+$/.test(id) ? [...id].map((d) => SUPERSCRIPT[Number(d)]).join("") : `[${id}]`;
}

/** Reference definitions `[id]: url`, keyed by lower-cased id. */
function collectReferences(lines: readonly string[]): Map<string, string> {
  const refs = new Map<string, string>();
  let fence: string | null = null;
  for (const line of lines) {
    const open = FENCE_OPEN_RE.exec(line);
    if (fence) {
      if (open && open[1][0] === fence[0] && open[1].length >= fence.length && !open[2].trim()) {
        fence = null;
      }
      continue;
    }
    if (open) {
      fence = open[1];
      continue;
    }
    const m = REF_DEF_RE.exec(line);
    if (m && /^https?:\/\//i.test(m[2])) refs.set(m[1].toLowerCase(), m[2]);
  }
  return refs;
}

/** Inline rewriting of text outside inline code spans. */
function inline(text: string, refs: Map<string, string>): string {
  // Split into code spans (kept) and text (rewritten).
  const parts = text.split(/(`+[^`]*?`+)/);
  return parts.map((p, i) => (i % 2 === 1 ? p : inlineText(p, refs))).join("");
}

const TAG_ALIASES: Record<string, string> = {
  b: "**",
  strong: "**",
  i: "*",
  em: "*",
  u: "__",
  ins: "__",
  s: "~~",
  del: "~~",
  strike: "~~",
  code: "`",
  kbd: "`",
};
/** HTML elements whose tags are dropped (their text is kept). */
const DROPPED_TAGS =
  "p|div|span|sub|sup|mark|small|big|center|font|details|summary|section|article|header|footer|nav|abbr|cite|q|dl|dt|dd|ul|ol|li|table|thead|tbody|tr|td|th|picture|source|figure|figcaption|var|samp|tt|blockquote|h[1-6]";

/**
 * Removes `<!-- … -->` comments in one linear pass (a lazy regex rescans the
 * rest of the line from every unclosed `<!--`, quadratic on hostile input).
 * Like HTML, a comment ends at the first `-->`.
 */
function stripComments(text: string): string {
  let out = "";
  let from = 0;
  for (;;) {
    const open = text.indexOf("<!--", from);
    if (open === -1) break;
    const close = text.indexOf("-->", open + 4);
    if (close === -1) break;
    out += text.slice(from, open);
    from = close + 3;
  }
  return out + text.slice(from);
}

function inlineText(text: string, refs: Map<string, string>): string {
  let s = text;
  // HTML comments on one line.
  s = stripComments(s);
  // Images: Discord does not show inline images; a masked link does open them.
  // Every pattern below stays linear on hostile input (a 100 KB line of
  // `![`, `<img src=http://…` or `[` must not stall the event loop): bracket
  // texts stop at the next bracket, URLs are bounded, and tags are matched
  // whole first (`[^<>]*` stops at the next `<`) with attributes read inside.
  s = s.replace(
    /!\[([^[\]\n]*)\]\(\s*<?(https?:\/\/[^\s)>]{1,2048})>?(?:\s+"[^"]*")?\s*\)/g,
    (_m, alt: string, url: string) => `[${alt.trim() || "image"}](${url})`,
  );
  s = s.replace(/<img\b[^<>]*>/gi, (m) => {
    const url = /\bsrc\s*=\s*["']?(https?:\/\/[^"'\s>]+)/i.exec(m)?.[1];
    if (!url) return m;
    return `[${/\balt\s*=\s*["']([^"']*)["']/i.exec(m)?.[1] || "image"}](${url})`;
  });
  // HTML links: the label stops at the next `<a` or `</a`.
  s = s.replace(
    /<a\b([^<>]*)>((?:(?!<\/?a\b)[\s\S])*)<\/a\s*>/gi,
    (m, attrs: string, label: string) => {
      const url = /\bhref\s*=\s*["'](https?:\/\/[^"'\s]+)["']/i.exec(attrs)?.[1];
      return url ? `[${label.trim() || url}](${url})` : m;
    },
  );
  s = s.replace(
    /<summary>((?:(?!<\/?summary>)[\s\S])*)<\/summary>/gi,
    (_m, t: string) => `**${t.trim()}** `,
  );
  s = s.replace(/<br\s*\/?>/gi, "\n");
  s = s.replace(/<hr\s*\/?>/gi, DIVIDER);
  s = s.replace(/<\/?([a-z]+)>/gi, (m, tag: string) => TAG_ALIASES[tag.toLowerCase()] ?? m);
  s = s.replace(
    new RegExp(
      `</?(?:${DROPPED_TAGS})(?:\\s+[a-z-]+(?:\\s*=\\s*(?:"[^"]*"|'[^']*'|[^\\s<>]+))?)*\\s*/?>`,
      "gi",
    ),
    "",
  );
  // Reference-style links become masked links.
  if (refs.size > 0) {
    s = s.replace(/\[([^[\]\n]+)\]\[([^[\]\n]*)\]/g, (m, label: string, id: string) => {
      const url = refs.get((id || label).toLowerCase());
      return url ? `[${label}](${url})` : m;
    });
  }
  // Footnote references.
  s = s.replace(/\[\^([^\]\s]{1,32})\]/g, (_m, id: string) => footnoteMark(id));
  return s;
}
