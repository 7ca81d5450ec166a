/**
 * Pinpoints JSON syntax errors by line and column. `access.json` is edited by
 * hand, and V8's `JSON.parse` messages often give no position at all
 * ("Unexpected token '}'"), which leaves the user hunting for a trailing comma.
 *
 * @module
 */

/**
 * The deepest nesting of objects and arrays `access.json` may have. The real
 * format is four levels deep (`groups` → channel → `allowFrom` → id); the
 * margin leaves room for keys written by other tools. Anything deeper is
 * refused before any recursive code (parser, validator, freezing, copying)
 * sees it, so a hostile or broken file cannot overflow the stack.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Where `text` first nests objects/arrays deeper than `limit`, as a 1-based
 * line and column, or undefined if it never does. A single iterative pass that
 * skips string contents, so it cannot overflow the stack itself.
 */
export function findExcessiveNesting(
  text: string,
  limit: number = MAX_JSON_DEPTH,
): { line: number; column: number } | undefined {
  let depth = 0;
  let line = 1;
  let lineStart = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      else if (c === 0x0a) { // an (invalid) raw newline in a string still starts a line
        line++;
        lineStart = i + 1;
      }
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x0a) {
      line++;
      lineStart = i + 1;
    } else if (c === 0x5b || c === 0x7b) { // [ {
      if (++depth > limit) return { line, column: i - lineStart + 1 };
    } else if (c === 0x5d || c === 0x7d) depth--; // ] }
  }
  return undefined;
}

/** Where a JSON text stops being valid, and what was expected there. */
export interface JsonSyntaxProblem {
  line: number;
  column: number;
  message: string;
}

/**
 * Scans `text` as strict JSON and returns the first syntax problem, or
 * undefined when the text is valid JSON. Line and column are 1-based.
 */
export function findJsonSyntaxProblem(text: string): JsonSyntaxProblem | undefined {
  const scanner = new Scanner(text);
  try {
    scanner.document();
    return undefined;
  } catch (err) {
    if (!(err instanceof ScanError)) {
      // Nesting deep enough to overflow the stack: report it without a position.
      return { line: 1, column: 1, message: "the document is nested too deeply" };
    }
    const before = text.slice(0, err.offset);
    const line = before.split("\n").length;
    const column = err.offset - (before.lastIndexOf("\n") + 1) + 1;
    return { line, column, message: err.message };
  }
}

class ScanError extends Error {
  constructor(readonly offset: number, message: string) {
    super(message);
  }
}

class Scanner {
  #i = 0;
  constructor(readonly text: string) {}

  document(): void {
    this.#ws();
    if (this.#i >= this.text.length) this.#fail("the file is empty (expected a JSON object)");
    this.#value();
    this.#ws();
    if (this.#i < this.text.length) this.#fail("unexpected text after the end of the JSON value");
  }

  #fail(message: string): never {
    throw new ScanError(this.#i, message);
  }

  #ws(): void {
    while (/[ \t\r\n]/.test(this.text[this.#i] ?? "")) this.#i++;
  }

  #value(): void {
    const c = this.text[this.#i];
    if (c === "{") return this.#object();
    if (c === "[") return this.#array();
    if (c === '"') return this.#string();
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.#number();
    for (const word of ["true", "false", "null"]) {
      if (this.text.startsWith(word, this.#i)) {
        this.#i += word.length;
        return;
      }
    }
    if (c === undefined) this.#fail("unexpected end of file (expected a value)");
    if (c === "'") this.#fail("strings must use double quotes, not single quotes");
    this.#fail(`unexpected ${JSON.stringify(c)} (expected a value)`);
  }

  #object(): void {
    this.#i++;
    this.#ws();
    if (this.text[this.#i] === "}") {
      this.#i++;
      return;
    }
    for (;;) {
      this.#ws();
      const c = this.text[this.#i];
      if (c === "}") this.#fail("trailing comma before '}' (remove the last comma)");
      if (c !== '"') {
        this.#fail(
          c === undefined
            ? "unexpected end of file inside an object (missing '}'?)"
            : "expected a property name in double quotes",
        );
      }
      this.#string();
      this.#ws();
      if (this.text[this.#i] !== ":") this.#fail("expected ':' after the property name");
      this.#i++;
      this.#ws();
      this.#value();
      this.#ws();
      const next = this.text[this.#i];
      if (next === ",") {
        this.#i++;
        continue;
      }
      if (next === "}") {
        this.#i++;
        return;
      }
      this.#fail(
        next === undefined
          ? "unexpected end of file inside an object (missing '}'?)"
          : "expected ',' or '}' (a missing comma?)",
      );
    }
  }

  #array(): void {
    this.#i++;
    this.#ws();
    if (this.text[this.#i] === "]") {
      this.#i++;
      return;
    }
    for (;;) {
      this.#ws();
      if (this.text[this.#i] === "]") {
        this.#fail("trailing comma before ']' (remove the last comma)");
      }
      this.#value();
      this.#ws();
      const next = this.text[this.#i];
      if (next === ",") {
        this.#i++;
        continue;
      }
      if (next === "]") {
        this.#i++;
        return;
      }
      this.#fail(
        next === undefined
          ? "unexpected end of file inside an array (missing ']'?)"
          : "expected ',' or ']' (a missing comma?)",
      );
    }
  }

  #string(): void {
    this.#i++;
    for (;;) {
      const c = this.text[this.#i];
      if (c === undefined || c === "\n") this.#fail("unterminated string (missing '\"')");
      if (c === '"') {
        this.#i++;
        return;
      }
      if (c < " ") this.#fail("control character inside a string");
      if (c === "\\") {
        const e = this.text[this.#i + 1] ?? "";
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(this.text.slice(this.#i + 2, this.#i + 6))) {
            this.#fail("invalid \\u escape (expected 4 hex digits)");
          }
          this.#i += 6;
          continue;
        }
        if (!'"\\/bfnrt'.includes(e) || e === "") this.#fail("invalid escape in a string");
        this.#i += 2;
        continue;
      }
      this.#i++;
    }
  }

  #number(): void {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(
      this.text.slice(this.#i, this.#i + 400),
    );
    if (!m) this.#fail("invalid number");
    this.#i += m[0].length;
  }
}
