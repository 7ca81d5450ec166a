/**
 * GitHub-flavoured Markdown tables, which Discord does not render (they
 * arrive as a mess of pipes), turned into something that reads on a phone:
 * a monospaced code block with aligned columns, or a list when the table is
 * too wide for a phone screen or carries links (links in a code block are
 * not clickable).
 *
 * @module
 */

/** How a column is aligned, from its delimiter cell (`:--`, `:-:`, `--:`). */
export type Align = "left" | "center" | "right";

/** A parsed table: header cells, alignments and body rows (all rows as wide as the header). */
export interface Table {
  header: string[];
  align: Align[];
  rows: string[][];
}

/** Widest table (in monospace columns) still shown as a code block. */
export const MAX_TABLE_WIDTH = 60;

const DELIMITER_CELL_RE = /^:?-+:?$/;

/**
 * Splits one table line into cells: outer pipes dropped, `\|` kept as a
 * literal pipe, pipes inside inline code spans not treated as separators.
 */
export function splitRow(line: string): string[] {
  let s = line.trim();
  if (s.startsWith("|")) s = s.slice(1);
  if (s.endsWith("|") && !s.endsWith("\\|")) s = s.slice(0, -1);
  const cells: string[] = [];
  let cell = "";
  let tick = 0; // length of the backtick run that opened a code span, 0 outside
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === "\\" && s[i + 1] === "|") {
      cell += "|";
      i++;
      continue;
    }
    if (ch === "`") {
      let run = 1;
      while (s[i + run] === "`") run++;
      if (tick === 0) tick = run;
      else if (run === tick) tick = 0;
      cell += "`".repeat(run);
      i += run - 1;
      continue;
    }
    if (ch === "|" && tick === 0) {
      cells.push(cell.trim());
      cell = "";
      continue;
    }
    cell += ch;
  }
  cells.push(cell.trim());
  return cells;
}

/** The alignments of a delimiter row, or null when the line is not one. */
export function parseDelimiter(line: string): Align[] | null {
  if (!line.includes("-")) return null;
  const cells = splitRow(line);
  if (!line.includes("|") && cells.length < 2) return null;
  const out: Align[] = [];
  for (const c of cells) {
    const cell = c.replace(/\s+/g, "");
    if (!DELIMITER_CELL_RE.test(cell)) return null;
    const left = cell.startsWith(":");
    const right = cell.endsWith(":");
    out.push(left && right ? "center" : right ? "right" : "left");
  }
  return out;
}

/**
 * True when `line` and `next` open a GFM table: a header row with a pipe,
 * then a delimiter row with as many cells.
 */
export function isTableStart(line: string, next: string | undefined): boolean {
  if (next === undefined || !line.includes("|")) return false;
  if (/^ {4,}/.test(line) || /^\s*>/.test(line)) return false;
  const align = parseDelimiter(next);
  return align !== null && align.length === splitRow(line).length;
}

/** True when `line` continues a table body (not blank, has a pipe). */
export function isTableRow(line: string): boolean {
  return line.trim() !== "" && line.includes("|");
}

/** Parses a header line, a delimiter line and body lines into a {@link Table}. */
export function parseTable(header: string, delimiter: string, body: readonly string[]): Table {
  const head = splitRow(header);
  const align = parseDelimiter(delimiter) ?? head.map(() => "left" as const);
  const width = head.length;
  const rows = body.map((line) => {
    const cells = splitRow(line).slice(0, width);
    while (cells.length < width) cells.push("");
    return cells;
  });
  return { header: head, align, rows };
}

const segmenter = new Intl.Segmenter("en", { granularity: "grapheme" });
const WIDE_RE =
  /[\u1100-\u115F\u2E80-\u303E\u3041-\u33FF\u3400-\u4DBF\u4E00-\u9FFF\uA000-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6\u{1F000}-\u{1FAFF}\u{20000}-\u{3FFFD}]/u;
const PICTOGRAPHIC_RE = /\p{Extended_Pictographic}/u;
const PRINTABLE_ASCII_RE = /^[\x20-\x7e]*$/;
const ZERO_WIDTH_RE = /^[\p{M}\p{Cf}\u200B-\u200F\uFE00-\uFE0F]+$/u;

/**
 * Roughly how many monospace columns `text` takes: East Asian wide and
 * full-width characters and emoji count 2, combining marks and invisible
 * format characters 0, everything else 1 (one per grapheme).
 */
export function displayWidth(text: string): number {
  // Printable ASCII is one column a character: no segmenting needed.
  if (PRINTABLE_ASCII_RE.test(text)) return text.length;
  let w = 0;
  for (const { segment } of segmenter.segment(text)) {
    if (ZERO_WIDTH_RE.test(segment)) continue;
    // A keycap or text-presentation symbol followed by VS16 also shows as emoji.
    const emoji = PICTOGRAPHIC_RE.test(segment) &&
      (segment.includes("\uFE0F") || segment.codePointAt(0)! >= 0x1f000);
    w += WIDE_RE.test(segment) || emoji ? 2 : 1;
  }
  return w;
}

/**
 * A masked link. The text stops at the next bracket and the URL is bounded,
 * so a cell of 100 KB of `[` costs linear time, not quadratic.
 */
const LINK_RE = /\[([^[\]\n]*)\]\(\s*<?(https?:\/\/[^\s)>]{1,2048})>?(?:\s+"[^"]*")?\s*\)/g;
const BARE_URL_RE = /https?:\/\/[^\s<>|]+/;

/** A cell as plain text for a code block: emphasis markers, code ticks and `<br>` removed. */
export function plainCell(cell: string): string {
  return cell
    .replace(/<br\s*\/?>/gi, " ")
    .replace(LINK_RE, "$1")
    .replace(/`+([^`]*)`+/g, "$1")
    // The span stops at the next marker, so unclosed markers stay linear.
    .replace(/(\*\*|__|~~)(?=\S)((?:(?!\1)[\s\S])*?\S)\1/g, "$2")
    .replace(/(^|[^\w*])\*(?=\S)([^*]*?\S)\*(?!\w)/g, "$1$2")
    .replace(/\s+/g, " ")
    .trim();
}

function pad(text: string, width: number, align: Align): string {
  const gap = Math.max(0, width - displayWidth(text));
  if (align === "right") return " ".repeat(gap) + text;
  if (align === "center") {
    const left = Math.floor(gap / 2);
    return " ".repeat(left) + text + " ".repeat(gap - left);
  }
  return text + " ".repeat(gap);
}

/** The columns the code-block form of `table` needs (cells plus ` | ` separators). */
export function tableWidth(table: Table): number {
  const widths = columnWidths(table);
  return widths.reduce((a, b) => a + b, 0) + 3 * Math.max(0, widths.length - 1);
}

// Loops, not `Math.max(...rows)`: spreading 150,000 rows overflows the stack.
function columnWidths(table: Table): number[] {
  return table.header.map((h, i) => {
    let width = Math.max(1, displayWidth(plainCell(h)));
    for (const r of table.rows) width = Math.max(width, displayWidth(plainCell(r[i] ?? "")));
    return width;
  });
}

/** The table as a fenced code block with aligned columns and a dashed rule under the header. */
export function tableAsCode(table: Table): string {
  const widths = columnWidths(table);
  const line = (cells: string[]) =>
    cells.map((c, i) => pad(plainCell(c), widths[i], table.align[i] ?? "left")).join(" | ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("-|-");
  const lines = [line(table.header), rule, ...table.rows.map(line)];
  // A fence longer than any backtick run inside keeps the block closed.
  let longest = 0;
  for (const l of lines) {
    for (const run of l.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  }
  const fence = "`".repeat(Math.max(3, longest + 1));
  return [fence, ...lines, fence].join("\n");
}

/**
 * The table as a list: one bold line per row (its first cell) followed by
 * `- Header: value` items for the other cells; empty cells are left out.
 * Inline Markdown in cells is kept, so links stay clickable.
 */
export function tableAsList(table: Table): string {
  const out: string[] = [];
  const inline = (cell: string) => cell.replace(/<br\s*\/?>/gi, " ").trim();
  for (const [n, row] of table.rows.entries()) {
    const title = inline(row[0] ?? "");
    if (table.header.length === 1) {
      if (title) out.push(`- ${title}`);
      continue;
    }
    out.push(title ? (/^\*\*.*\*\*$/.test(title) ? title : `**${title}**`) : `**${n + 1}.**`);
    for (let i = 1; i < table.header.length; i++) {
      const value = inline(row[i] ?? "");
      if (!value) continue;
      const name = plainCell(table.header[i]);
      out.push(name ? `- ${name}: ${value}` : `- ${value}`);
    }
  }
  return out.join("\n");
}

/** True when any cell carries a link, which a code block would make unclickable. */
export function hasLinks(table: Table): boolean {
  return [table.header, ...table.rows].some((r) =>
    r.some((c) => {
      LINK_RE.lastIndex = 0;
      return LINK_RE.test(c) || BARE_URL_RE.test(c);
    })
  );
}

/**
 * Renders a table for Discord: a code block when it fits in
 * {@link MAX_TABLE_WIDTH} columns and has no links, else a list.
 */
export function renderTable(table: Table, maxWidth = MAX_TABLE_WIDTH): string {
  if (table.rows.length === 0 || hasLinks(table) || tableWidth(table) > maxWidth) {
    return table.rows.length === 0
      ? `**${table.header.map(plainCell).join(" · ")}**`
      : tableAsList(table);
  }
  return tableAsCode(table);
}
