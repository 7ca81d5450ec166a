/**
 * A linear-time matcher for a subset of JavaScript regular expressions, for
 * text chosen by strangers (mention patterns run on every guild message).
 *
 * JavaScript's engine backtracks: `(a|aa)(a|aa)…b` or `a+a+x` can take
 * seconds or years on a crafted message, and no static vetting of patterns
 * catches every such shape. This module never backtracks. A pattern is
 * parsed into a syntax tree, compiled into a Thompson NFA, and run as a
 * state-set simulation: each character of the text is looked at once per
 * NFA state, so the cost is at most O(program size × text length) whatever
 * the pattern and the text.
 *
 * Supported (JavaScript syntax without the `u`/`v` flags, matched
 * case-insensitively like the `i` flag): literals and escapes (`\.` `\n`
 * `\x41` `\u0041` `\cJ` ...), `.`, character classes and `\d \w \s` with
 * their negations, groups `( )` `(?: )` `(?<name> )`, alternation `|`,
 * quantifiers `* + ? {n} {n,} {n,m}` (greedy or lazy: the same for a yes/no
 * answer), and the anchors `^ $ \b \B`. Refused with a reason: backreferences
 * (and the ambiguous `\8`, `\9`, `\k`), escapes that need the `u` flag
 * (`\p{…}`, `\u{…}`, which would silently mean other text without it),
 * lookahead and lookbehind, inline modifiers and legacy octal escapes.
 *
 * Single characters are tested with tiny anchored JavaScript regexes that
 * match exactly one character (they cannot backtrack), so escapes, classes
 * and case folding behave exactly as in `new RegExp(source, "i")`.
 *
 * @module
 */

/** Largest compiled program (NFA instructions) a pattern may expand to. */
export const MAX_PROGRAM_SIZE = 500;

/** A compiled pattern. */
export interface LinearRegex {
  /** The pattern as written. */
  readonly source: string;
  /** Number of NFA instructions (the per-character cost bound). */
  readonly size: number;
  /** True when the pattern matches somewhere in `text`. */
  test(text: string): boolean;
  /** True when the pattern can match without consuming a character (e.g. `x*`, `^`). */
  readonly matchesEmpty: boolean;
  /**
   * The work the last {@link LinearRegex.test} did, in NFA state visits; at
   * most `2 × size × (text length + 1)`, the bound this module guarantees.
   */
  lastWork(): number;
}

/** Why a pattern is outside the supported subset (or too large). */
export class UnsupportedPatternError extends Error {
  override name = "UnsupportedPatternError";
}

type AssertKind = "start" | "end" | "word" | "nonword";

type Node =
  | { t: "char"; atom: string }
  | { t: "assert"; kind: AssertKind }
  | { t: "cat"; items: Node[] }
  | { t: "alt"; alts: Node[] }
  | { t: "rep"; node: Node; min: number; max: number };

/**
 * Compiles `source` (which must already compile as `new RegExp(source, "i")`).
 * Throws {@link UnsupportedPatternError} for syntax outside the subset or a
 * program over {@link MAX_PROGRAM_SIZE} instructions.
 */
export function compileLinear(source: string): LinearRegex {
  const tree = new Parser(source).parse();
  const program = new Compiler().compile(tree);
  const matchesEmpty = nullable(tree);
  const m = machine(program);
  return {
    source,
    size: program.op.length,
    matchesEmpty,
    test: m.test,
    lastWork: () => m.work,
  };
}

// ------------------------------------------------------------------ parser

class Parser {
  #src: string;
  #i = 0;
  constructor(src: string) {
    this.#src = src;
  }

  parse(): Node {
    const node = this.#alternation();
    if (this.#i < this.#src.length) {
      // Only an unbalanced `)` can stop the top level, and RegExp rejects that.
      throw new UnsupportedPatternError(`unexpected ${this.#src[this.#i]} at ${this.#i}`);
    }
    return node;
  }

  #alternation(): Node {
    const alts = [this.#sequence()];
    while (this.#src[this.#i] === "|") {
      this.#i++;
      alts.push(this.#sequence());
    }
    return alts.length === 1 ? alts[0] : { t: "alt", alts };
  }

  #sequence(): Node {
    const items: Node[] = [];
    while (this.#i < this.#src.length && this.#src[this.#i] !== "|" && this.#src[this.#i] !== ")") {
      let atom = this.#atom();
      const q = readQuantifier(this.#src, this.#i);
      if (q) {
        this.#i += q.length;
        atom = { t: "rep", node: atom, min: q.min, max: q.max };
      }
      items.push(atom);
    }
    return items.length === 1 ? items[0] : { t: "cat", items };
  }

  #atom(): Node {
    const src = this.#src;
    const c = src[this.#i];
    if (c === "(") return this.#group();
    if (c === "^" || c === "$") {
      this.#i++;
      return { t: "assert", kind: c === "^" ? "start" : "end" };
    }
    if (c === "[") {
      const end = classEnd(src, this.#i);
      const atom = src.slice(this.#i, end);
      for (let k = 1; k < atom.length; k++) {
        if (atom[k] === "\\") refuseUnicodeOnlyEscape(atom, k++);
      }
      this.#i = end;
      return { t: "char", atom };
    }
    if (c === ".") {
      this.#i++;
      return { t: "char", atom: "." };
    }
    if (c === "\\") return this.#escape();
    // Any other code unit is itself, `]`, `{` and `}` included (Annex B).
    this.#i++;
    return { t: "char", atom: literal(c) };
  }

  #group(): Node {
    const src = this.#src;
    this.#i++;
    if (src[this.#i] === "?") {
      const next = src[this.#i + 1];
      if (next === ":") {
        this.#i += 2;
      } else if (next === "<" && src[this.#i + 2] !== "=" && src[this.#i + 2] !== "!") {
        this.#i = src.indexOf(">", this.#i) + 1; // a named group: the name is irrelevant
      } else if (next === "=" || next === "!" || next === "<") {
        throw new UnsupportedPatternError(
          "uses lookahead or lookbehind ((?=, (?!, (?<=, (?<!), which is not supported; " +
            "use \\b or a character class instead",
        );
      } else {
        throw new UnsupportedPatternError(
          "uses an inline modifier group such as (?i:...), which is not supported " +
            "(patterns are already case-insensitive)",
        );
      }
    }
    const inner = this.#alternation();
    this.#i++; // the `)`
    return inner;
  }

  #escape(): Node {
    const src = this.#src;
    const d = src[this.#i + 1] ?? "";
    const take = (n: number): Node => {
      const atom = src.slice(this.#i, this.#i + n);
      this.#i += n;
      return { t: "char", atom };
    };
    if (d === "b" || d === "B") {
      this.#i += 2;
      return { t: "assert", kind: d === "b" ? "word" : "nonword" };
    }
    refuseUnicodeOnlyEscape(src, this.#i);
    if (d === "8" || d === "9" || (d === "k" && src[this.#i + 2] !== "<")) {
      throw new UnsupportedPatternError(
        `uses \\${d}, which is ambiguous (a backreference, or the plain character "${d}" ` +
          `when no such group exists); write ${d} without the backslash`,
      );
    }
    if (/[1-7]/.test(d) || d === "k") {
      throw new UnsupportedPatternError(
        "uses a backreference (\\1, \\k<name>), which is not supported",
      );
    }
    if (d === "0" && /[0-9]/.test(src[this.#i + 2] ?? "")) {
      throw new UnsupportedPatternError(
        "uses a legacy octal escape (\\0 followed by a digit); write \\xHH instead",
      );
    }
    if (d === "x" && /^[0-9a-fA-F]{2}$/.test(src.slice(this.#i + 2, this.#i + 4))) return take(4);
    if (d === "u" && /^[0-9a-fA-F]{4}$/.test(src.slice(this.#i + 2, this.#i + 6))) return take(6);
    if (d === "c") {
      if (/[a-zA-Z]/.test(src[this.#i + 2] ?? "")) return take(3);
      // Annex B: a `\` not followed by a control letter is a literal backslash.
      this.#i++;
      return { t: "char", atom: "\\\\" };
    }
    return take(2); // \d \w \s \n \t \. \0 and identity escapes such as \- or \a
  }
}

/**
 * Refuses `\p{…}`, `\P{…}` and `\u{…}` at `i` (a backslash): they need the
 * `u` flag, which mention patterns run without, and would silently mean
 * something else (`\p{L}` the text "p{L}", `\u{41}` 41 letters u), so the
 * pattern would never match what it was written for.
 */
function refuseUnicodeOnlyEscape(src: string, i: number): void {
  const d = src[i + 1];
  if (src[i + 2] !== "{") return;
  if (d === "p" || d === "P") {
    throw new UnsupportedPatternError(
      `uses \\${d}{…} (a Unicode property), which needs the u flag that mention patterns ` +
        "do not use (it would match the text " + `"${d}{…}"` +
        "); write a class such as [a-zà-ÿ] instead",
    );
  }
  if (d === "u") {
    throw new UnsupportedPatternError(
      "uses \\u{…}, which needs the u flag that mention patterns do not use (without it, " +
        "it means the letter u and braces or a count); write the character itself or \\uXXXX instead",
    );
  }
}

/** Index just past the character class that starts at `start` (`[]` is a class in JS). */
function classEnd(src: string, start: number): number {
  let i = start + 1;
  if (src[i] === "^") i++;
  while (i < src.length && src[i] !== "]") i += src[i] === "\\" ? 2 : 1;
  return i + 1;
}

/** A code unit as an escape that means exactly that code unit. */
function literal(c: string): string {
  return "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0");
}

interface Quantifier {
  min: number;
  max: number;
  length: number;
}

/** Parses a quantifier (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`, each optionally lazy) at `i`. */
function readQuantifier(src: string, i: number): Quantifier | undefined {
  let q: Quantifier | undefined;
  const c = src[i];
  if (c === "*") q = { min: 0, max: Infinity, length: 1 };
  else if (c === "+") q = { min: 1, max: Infinity, length: 1 };
  else if (c === "?") q = { min: 0, max: 1, length: 1 };
  else if (c === "{") {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i));
    if (!m) return undefined; // a literal brace
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
    q = { min, max, length: m[0].length };
  }
  if (q && src[i + q.length] === "?") q.length++; // lazy: same yes/no answer
  return q;
}

/** Whether a node can match without consuming text (assertions count as empty). */
function nullable(n: Node): boolean {
  switch (n.t) {
    case "char":
      return false;
    case "assert":
      return true;
    case "cat":
      return n.items.every(nullable);
    case "alt":
      return n.alts.some(nullable);
    case "rep":
      return n.min === 0 || nullable(n.node);
  }
}

/** Whether a node contains anything that consumes a character. */
function readsText(n: Node): boolean {
  switch (n.t) {
    case "char":
      return true;
    case "assert":
      return false;
    case "cat":
      return n.items.some(readsText);
    case "alt":
      return n.alts.some(readsText);
    case "rep":
      return n.max > 0 && readsText(n.node);
  }
}

// ---------------------------------------------------------------- compiler

const CHAR = 0;
const SPLIT = 1;
const ASSERT = 2;
const MATCH = 3;

const ASSERT_CODES: Record<AssertKind, number> = { start: 0, end: 1, word: 2, nonword: 3 };

/** A compiled NFA: parallel arrays indexed by instruction. */
interface Program {
  op: number[];
  /** CHAR: atom index; ASSERT: kind; SPLIT: first target. */
  a: number[];
  /** CHAR/ASSERT: next instruction; SPLIT: second target. */
  b: number[];
  atoms: Atom[];
  start: number;
}

/** One single-character test, answered by an anchored JS regex and cached per code unit. */
class Atom {
  #re: RegExp;
  #ascii = new Int8Array(128);
  #other = new Map<number, boolean>();
  constructor(source: string) {
    this.#re = new RegExp(`^(?:${source})$`, "i");
  }
  matches(code: number): boolean {
    if (code < 128) {
      const known = this.#ascii[code];
      if (known !== 0) return known > 0;
      const yes = this.#re.test(String.fromCharCode(code));
      this.#ascii[code] = yes ? 1 : -1;
      return yes;
    }
    let yes = this.#other.get(code);
    if (yes === undefined) {
      yes = this.#re.test(String.fromCharCode(code));
      if (this.#other.size < 4096) this.#other.set(code, yes);
    }
    return yes;
  }
}

class Compiler {
  #p: Program = { op: [], a: [], b: [], atoms: [], start: 0 };
  #atomIndex = new Map<string, number>();

  compile(tree: Node): Program {
    const match = this.#emit(MATCH, 0, 0);
    this.#p.start = this.#node(tree, match);
    return this.#p;
  }

  #emit(op: number, a: number, b: number): number {
    const p = this.#p;
    if (p.op.length >= MAX_PROGRAM_SIZE) {
      throw new UnsupportedPatternError(
        `expands to more than ${MAX_PROGRAM_SIZE} matching steps (large {n,m} counts, ` +
          "possibly nested); use smaller counts",
      );
    }
    p.op.push(op);
    p.a.push(a);
    p.b.push(b);
    return p.op.length - 1;
  }

  /** Compiles `n` so that it continues at `next`; returns its entry point. */
  #node(n: Node, next: number): number {
    switch (n.t) {
      case "char": {
        let idx = this.#atomIndex.get(n.atom);
        if (idx === undefined) {
          idx = this.#p.atoms.push(new Atom(n.atom)) - 1;
          this.#atomIndex.set(n.atom, idx);
        }
        return this.#emit(CHAR, idx, next);
      }
      case "assert":
        return this.#emit(ASSERT, ASSERT_CODES[n.kind], next);
      case "cat": {
        let entry = next;
        for (let i = n.items.length - 1; i >= 0; i--) entry = this.#node(n.items[i], entry);
        return entry;
      }
      case "alt": {
        const entries = n.alts.map((alt) => this.#node(alt, next));
        let entry = entries[entries.length - 1];
        for (let i = entries.length - 2; i >= 0; i--) entry = this.#emit(SPLIT, entries[i], entry);
        return entry;
      }
      case "rep": {
        if (n.max === 0) return next; // x{0} matches the empty text only
        // A repeated body that reads no character (`(?:)`, `(?:\b)`) is the
        // body once or not at all; unrolling its count would loop for nothing.
        if (!readsText(n.node)) {
          const once = this.#node(n.node, next);
          return n.min > 0 ? once : this.#emit(SPLIT, once, next);
        }
        let entry = next;
        if (n.max === Infinity) {
          // L: SPLIT(body → L, next)
          const loop = this.#emit(SPLIT, 0, next);
          this.#p.a[loop] = this.#node(n.node, loop);
          entry = loop;
        } else {
          // (x(x(x)?)?)? for the optional part: linear in the count.
          for (let k = 0; k < n.max - n.min; k++) {
            entry = this.#emit(SPLIT, this.#node(n.node, entry), next);
          }
        }
        for (let k = 0; k < n.min; k++) entry = this.#node(n.node, entry);
        return entry;
      }
    }
  }
}

// ----------------------------------------------------------------- machine

/** JavaScript's \w without the `u` flag: ASCII letters, digits and `_`. */
function isWordCode(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) ||
    (code >= 97 && code <= 122) || code === 95;
}

/**
 * The state-set simulation: `current` holds the NFA states alive before
 * position `pos`; a fresh start state joins at every position (an unanchored
 * search). Each state is visited at most once per position, so the work per
 * character is bounded by the program size.
 */
function machine(p: Program): { test(text: string): boolean; work: number } {
  const size = p.op.length;
  const op = Int32Array.from(p.op);
  const ta = Int32Array.from(p.a);
  const tb = Int32Array.from(p.b);
  const atoms = p.atoms;
  // Reused by every call (matching is synchronous, never re-entered).
  const mark = new Int32Array(size);
  const stack = new Int32Array(size);
  const listA = new Int32Array(size);
  const listB = new Int32Array(size);
  const hit = new Uint8Array(atoms.length);
  const self = {
    work: 0,
    test(text: string): boolean {
      mark.fill(-1);
      work = 0;
      try {
        return run(text);
      } finally {
        self.work = work;
      }
    },
  };
  let work = 0;
  return self;

  function run(text: string): boolean {
    let current = listA;
    let next = listB;
    let count = 0;
    const n = text.length;

    // Adds `pc` and every state reachable from it without consuming text at
    // `pos` to `list` (from index `len`); returns the new length.
    // A state is marked when pushed, so it is pushed at most once per
    // position and the stack never holds more than `size` entries.
    const add = (list: Int32Array, len: number, pc: number, pos: number): number => {
      if (mark[pc] === pos) return len;
      mark[pc] = pos;
      let sp = 0;
      stack[sp++] = pc;
      while (sp > 0) {
        const s = stack[--sp];
        work++;
        const o = op[s];
        if (o === CHAR || o === MATCH) {
          list[len++] = s;
          continue;
        }
        let t1 = -1;
        let t2 = -1;
        if (o === SPLIT) {
          t1 = tb[s];
          t2 = ta[s];
        } else if (assertionHolds(ta[s], text, pos)) {
          t1 = tb[s];
        }
        if (t1 >= 0 && mark[t1] !== pos) {
          mark[t1] = pos;
          stack[sp++] = t1;
        }
        if (t2 >= 0 && mark[t2] !== pos) {
          mark[t2] = pos;
          stack[sp++] = t2;
        }
      }
      return len;
    };

    for (let pos = 0; pos <= n; pos++) {
      count = add(current, count, p.start, pos);
      let nextCount = 0;
      if (pos < n) {
        // Each distinct single-character test once per position.
        const code = text.charCodeAt(pos);
        for (let k = 0; k < atoms.length; k++) hit[k] = atoms[k].matches(code) ? 1 : 0;
      } else {
        hit.fill(0);
      }
      work += count;
      for (let k = 0; k < count; k++) {
        const s = current[k];
        if (op[s] === MATCH) return true;
        if (hit[ta[s]] === 1) nextCount = add(next, nextCount, tb[s], pos + 1);
      }
      const swap = current;
      current = next;
      next = swap;
      count = nextCount;
    }
    return false;
  }
}

/** Whether the assertion with code `kind` holds at `pos` of `text`. */
function assertionHolds(kind: number, text: string, pos: number): boolean {
  if (kind === 0) return pos === 0;
  if (kind === 1) return pos === text.length;
  const before = pos > 0 && isWordCode(text.charCodeAt(pos - 1));
  const after = pos < text.length && isWordCode(text.charCodeAt(pos));
  return kind === 2 ? before !== after : before === after;
}
