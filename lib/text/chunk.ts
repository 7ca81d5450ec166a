/**
 * Splitting outbound text into messages that fit Discord's 2,000-character
 * limit without breaking the Markdown a reader sees.
 *
 * Lengths are counted in UTF-16 code units (`string.length`), which is never
 * less than what Discord counts, and a cut never falls between the two halves
 * of a surrogate pair or between the `\r` and `\n` of a CRLF.
 *
 * Fenced code blocks follow the CommonMark line rules: an opening line is up
 * to three spaces, then three or more backticks or tildes, then an optional
 * info string (no backtick in it for a backtick fence); the block ends at a
 * line of the same character, at least as long, and nothing else but
 * whitespace. A block that has to be cut is closed at the end of one chunk by a
 * synthetic closing line and reopened at the start of the next by a synthetic
 * opening line carrying the block's language, so every chunk of a split
 * message has balanced fences and the code keeps its highlighting.
 *
 * ## Reassembly property
 *
 * {@link planMessage} describes each chunk as `prefix + body + suffix`, where
 * `prefix` and `suffix` are the synthetic fence lines (empty when not needed)
 * and `body` is an untouched slice of the input. Nothing is dropped or
 * rewritten at a cut, not even whitespace, so for every input:
 *
 *     planMessage(text, o).map((c) => c.body).join("") === text
 *
 * {@link splitMessage} renders each plan entry as `prefix + body + suffix`, and
 * leaves out only entries that are nothing but whitespace with no synthetic
 * lines, because Discord rejects a whitespace-only message.
 *
 * @module
 */

import { DISCORD_MESSAGE_LIMIT } from "../access/schema.ts";

/** `length` cuts as late as possible; `newline` prefers paragraph, line and word boundaries. */
export type SplitMode = "length" | "newline";

/** How {@link splitMessage} cuts: the per-message limit and the boundary preference. */
export interface SplitOptions {
  /** Maximum UTF-16 length of a chunk; clamped to [2, 2000]. */
  limit: number;
  mode: SplitMode;
  /**
   * Ranges of `text` (start inclusive, end exclusive) to keep in one message,
   * such as a rendered table: a chunk ends before a range rather than inside
   * it. A range longer than the limit is split as usual.
   */
  atomic?: readonly { start: number; end: number }[];
}

/** One chunk as the synthetic fence lines around an untouched slice of the input. */
export interface ChunkPlan {
  /** Synthetic line reopening a code block cut by the previous chunk, or "". */
  prefix: string;
  /** The slice of the input this chunk carries, byte for byte. */
  body: string;
  /** Synthetic line closing a code block that continues in the next chunk, or "". */
  suffix: string;
}

/**
 * Splits `text` into Discord messages of at most `opts.limit` characters.
 *
 * Empty or whitespace-only text gives `[]`; other text within the limit comes
 * back as `[text]`, unchanged. See the module doc for the reassembly property.
 */
export function splitMessage(text: string, opts: SplitOptions): string[] {
  return planMessage(text, opts)
    .filter((c) => c.prefix !== "" || c.suffix !== "" || c.body.trim() !== "")
    .map((c) => c.prefix + c.body + c.suffix);
}

/**
 * The chunk plan behind {@link splitMessage}, with the synthetic fence lines
 * kept apart from the input so that callers and tests can check that the
 * bodies concatenate back to `text` exactly.
 */
export function planMessage(text: string, opts: SplitOptions): ChunkPlan[] {
  const limit = clampLimit(opts.limit);
  if (text.length === 0) return [];
  if (text.length <= limit) return [{ prefix: "", body: text, suffix: "" }];
  return new Splitter(text, limit, opts.mode, opts.atomic ?? []).run();
}

/** Smallest limit honoured: a surrogate pair must fit in one chunk. */
const MIN_LIMIT = 2;
/**
 * Room a fenced chunk must leave for its own body beyond the synthetic lines;
 * below that, fences are ignored rather than producing chunks that are all
 * fence and no code.
 */
const MIN_FENCED_BODY = 16;
/** Candidate cuts checked with {@link Splitter.cleanCut} per chunk before a plain cut. */
const MAX_CUT_TRIES = 64;
/** A language tag longer than this is not repeated on a reopened block. */
const MAX_LANG = 32;

function clampLimit(limit: number): number {
  if (!Number.isFinite(limit)) return DISCORD_MESSAGE_LIMIT;
  return Math.min(DISCORD_MESSAGE_LIMIT, Math.max(MIN_LIMIT, Math.floor(limit)));
}

/** An open fenced code block. */
interface Fence {
  /** The run of backticks or tildes that opened it; a closer needs as many. */
  marker: string;
  /** The synthetic opening line used to reopen it: marker plus language. */
  reopen: string;
}

type LineKind = "text" | "open" | "close";

interface Line {
  start: number;
  /** Index of the terminating "\n", or the text's length for the last line. */
  end: number;
  /** Fence state before this line. */
  before: Fence | null;
  kind: LineKind;
  blank: boolean;
}

const OPENER_RE = /^ {0,3}(`{3,}|~{3,})([\s\S]*)$/;
const CLOSER_RE = /^ {0,3}(`{3,}|~{3,})[ \t\r]*$/;
/** Cheap pre-check: only a string starting like this can be a fence line. */
const FENCE_START_RE = /^ {0,3}(?:```|~~~)/;

function openerOf(line: string): Fence | null {
  const m = OPENER_RE.exec(line.endsWith("\r") ? line.slice(0, -1) : line);
  if (!m) return null;
  const marker = m[1];
  const info = m[2];
  if (marker[0] === "`" && info.includes("`")) return null;
  const lang = info.trim().split(/\s+/)[0] ?? "";
  return { marker, reopen: marker + (lang.length <= MAX_LANG ? lang : "") };
}

function closes(line: string, fence: Fence): boolean {
  const m = CLOSER_RE.exec(line);
  return m !== null && m[1][0] === fence.marker[0] && m[1].length >= fence.marker.length;
}

/** Fence state after one line, given the state before it. */
function step(line: string, state: Fence | null): Fence | null {
  if (!FENCE_START_RE.test(line)) return state;
  if (state) return closes(line, state) ? null : state;
  return openerOf(line);
}

/** Fence state at the end of `text` when it starts in `state`. */
function fenceAfter(text: string, state: Fence | null): Fence | null {
  let s = state;
  let from = 0;
  for (;;) {
    const nl = text.indexOf("\n", from);
    s = step(text.slice(from, nl === -1 ? text.length : nl), s);
    if (nl === -1) return s;
    from = nl + 1;
  }
}

function isHigh(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLow(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/**
 * Discord tokens and URLs that stop working when cut in two: user, role and
 * channel mentions, custom emoji, timestamps, slash-command mentions, links.
 */
const TOKEN_RE =
  /<(?:@[!&]?\d+|#\d+|a?:\w{1,32}:\d+|t:-?\d+(?::[tTdDfFR])?|\/[^<>\n]{1,100}:\d+)>|<?https?:\/\/[^\s<>]+>?/g;

class Splitter {
  private readonly n: number;
  private readonly lines: Line[] = [];
  private readonly finalState: Fence | null;
  private readonly fenceAware: boolean;

  constructor(
    private readonly text: string,
    private readonly limit: number,
    private readonly mode: SplitMode,
    private readonly atomic: readonly { start: number; end: number }[] = [],
  ) {
    this.n = text.length;
    let state: Fence | null = null;
    let maxReopen = 0;
    let maxMarker = 0;
    for (let start = 0;;) {
      const nl = text.indexOf("\n", start);
      const end = nl === -1 ? text.length : nl;
      const content = text.slice(start, end);
      const next = step(content, state);
      let kind: LineKind = "text";
      if (next !== state) kind = state ? "close" : "open";
      if (kind === "open" && next) {
        maxReopen = Math.max(maxReopen, next.reopen.length);
        maxMarker = Math.max(maxMarker, next.marker.length);
      }
      this.lines.push({ start, end, before: state, kind, blank: /^[ \t\r]*$/.test(content) });
      state = next;
      if (nl === -1) break;
      start = nl + 1;
    }
    this.finalState = state;
    // A chunk may open with one block's reopening line and end with another's
    // closing line; if those alone crowd out the code, cut without fences.
    this.fenceAware = maxReopen + 1 + 1 + maxMarker + MIN_FENCED_BODY <= limit;
  }

  run(): ChunkPlan[] {
    const plans: ChunkPlan[] = [];
    let pos = 0;
    while (pos < this.n) {
      const plan = this.fencedChunk(pos) ?? this.plainChunk(pos);
      plans.push(plan);
      pos += plan.body.length;
    }
    return plans;
  }

  /** The chunk starting at `pos`, with synthetic fence lines as needed. */
  private fencedChunk(pos: number): ChunkPlan | null {
    const state = this.fenceAware ? this.stateAt(pos) : null;
    const prefix = state ? state.reopen + "\n" : "";
    let w = this.beforeAtomic(pos, Math.min(this.n, pos + this.limit - prefix.length));
    while (w > pos) {
      const p = this.keepAtomic(pos, this.chooseCut(pos, w), w);
      const body = this.text.slice(pos, p);
      // The chunk's own parse decides the closer, so a chunk is balanced even
      // when a cut had to fall somewhere that changes how a line parses.
      const open = this.fenceAware ? fenceAfter(body, state) : null;
      const suffix = open ? (body.endsWith("\n") ? "" : "\n") + open.marker : "";
      const over = prefix.length + body.length + suffix.length - this.limit;
      if (over <= 0) return { prefix, body, suffix };
      // Halving the overshoot converges even when the closer grows with the
      // body (a chunk that opens a block with a run of backticks).
      w = Math.min(w - 1, p - Math.ceil(over / 2));
    }
    return null;
  }

  /**
   * `w`, or the start of an atomic range that a cut at `w` would split when
   * that range fits in one message (so the next chunk carries it whole).
   */
  private beforeAtomic(pos: number, w: number): number {
    for (const r of this.atomic) {
      if (r.start > pos && r.start < w && r.end > w && r.end - r.start <= this.limit) {
        return r.start;
      }
    }
    return w;
  }

  /**
   * A cut that fell inside an atomic range that fits in one message moves
   * to the range's start, or to its end when the chunk starts with it.
   */
  private keepAtomic(pos: number, p: number, w: number): number {
    for (const r of this.atomic) {
      if (r.start < pos || r.start >= p || r.end <= p || r.end - r.start > this.limit) continue;
      if (r.start > pos) return r.start;
      if (r.end <= w) return r.end;
    }
    return p;
  }

  /** Last resort: a plain cut at the limit that only keeps surrogate pairs whole. */
  private plainChunk(pos: number): ChunkPlan {
    let p = Math.min(this.n, pos + this.limit);
    if (this.splitsPair(p)) p--;
    return { prefix: "", body: this.text.slice(pos, p), suffix: "" };
  }

  private splitsPair(p: number): boolean {
    return p > 0 && p < this.n &&
      isHigh(this.text.charCodeAt(p - 1)) && isLow(this.text.charCodeAt(p));
  }

  private lineIndexAt(p: number): number {
    let lo = 0;
    let hi = this.lines.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lines[mid].start <= p) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Fence state of the input at position `p` (the state a chunk starting there inherits). */
  private stateAt(p: number): Fence | null {
    if (p >= this.n) return this.finalState;
    return this.lines[this.lineIndexAt(p)].before;
  }

  /**
   * Whether cutting at `p` keeps text and Markdown intact: no split surrogate
   * pair or CRLF, no cut inside a fence line, and neither half of a cut line
   * turns into a fence line of its own in the chunk it lands in.
   */
  private cleanCut(pos: number, p: number): boolean {
    if (p <= pos || p > this.n) return false;
    if (p === this.n) return true;
    if (this.splitsPair(p)) return false;
    const text = this.text;
    if (text.charCodeAt(p - 1) === 13 && text.charCodeAt(p) === 10) return false;
    if (!this.fenceAware) return true;
    const line = this.lines[this.lineIndexAt(p)];
    if (p === line.start) return true;
    if (line.kind !== "text") return false;
    const head = text.slice(Math.max(line.start, pos), p);
    // The tail is judged as far as the next chunk can carry it (at most
    // `limit`): that is what Discord will parse there, and it keeps each check
    // bounded, where the whole rest of a 100 KB line made every candidate cut
    // cost O(n). Cutting a line short can only add a fence reading (an
    // opener loses a later backtick, a closer its later text), never remove
    // one, so this is at least as careful.
    const tail = text.slice(p, Math.min(line.end, p + this.limit));
    return step(head, line.before) === line.before && step(tail, line.before) === line.before;
  }

  /** Picks the cut for a chunk starting at `pos` whose body may reach `w`. */
  private chooseCut(pos: number, w: number): number {
    if (w >= this.n) return this.n;
    // Boundaries earlier than half the room would waste too much of the chunk.
    const half = pos + Math.max(1, Math.floor((w - pos) / 2));
    if (this.mode === "newline") {
      const boundary = this.boundaryCut(pos, half, w);
      if (boundary !== -1) return boundary;
      const token = this.tokenStartAround(pos, half, w);
      if (token !== -1) return token;
    }
    // A clean cut, if any, is almost always among the last few positions; a
    // chunk that starts on a fence-like run (hostile or odd text) has none,
    // and trying every position then costs O(limit²) per chunk.
    for (let p = w, tries = 0; p > pos && tries < MAX_CUT_TRIES; p--, tries++) {
      if (this.cleanCut(pos, p)) return p;
    }
    for (let p = w; p > pos; p--) if (!this.splitsPair(p)) return p;
    return Math.min(w + 1, this.n);
  }

  /**
   * The best boundary in [half, w]: a paragraph break outside code, then a
   * line end outside code, then a line end inside code, then a space.
   */
  private boundaryCut(pos: number, half: number, w: number): number {
    const text = this.text;
    let lineOut = -1;
    let lineIn = -1;
    let space = -1;
    let spaceTries = 0;
    for (let p = w; p >= half; p--) {
      const prev = text.charCodeAt(p - 1);
      if (prev === 10) {
        const i = this.lineIndexAt(p);
        const line = this.lines[i];
        const before = this.lines[i - 1];
        if (!this.fenceAware || line.before === null) {
          if (before.blank) return p;
          if (lineOut === -1) lineOut = p;
        } else if (lineIn === -1 && line.kind !== "close" && before.kind !== "open") {
          // Skipped: a cut right after an opening line or right before a
          // closing one would leave an empty code block behind.
          lineIn = p;
        }
      } else if (
        space === -1 && (prev === 32 || prev === 9) && spaceTries++ < MAX_CUT_TRIES &&
        this.cleanCut(pos, p)
      ) {
        space = p;
      }
    }
    if (lineOut !== -1) return lineOut;
    if (lineIn !== -1) return lineIn;
    return space;
  }

  /** Start of a mention, emoji, timestamp or URL that a cut at `w` would split, if late enough. */
  private tokenStartAround(pos: number, half: number, w: number): number {
    const from = half;
    const window = this.text.slice(from, Math.min(this.n, w + 600));
    for (const m of window.matchAll(TOKEN_RE)) {
      const s = from + m.index;
      const e = s + m[0].length;
      if (s >= w) break;
      if (e > w && s > pos && this.cleanCut(pos, s)) return s;
    }
    return -1;
  }
}
