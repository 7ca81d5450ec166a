/**
 * Safety checks for `mentionPatterns`, the user-supplied regexes that count as
 * a mention of the bot in guild channels.
 *
 * Every inbound guild message is tested against every pattern, and the text is
 * chosen by whoever posts in the channel. A pattern that backtracks
 * catastrophically would let any member freeze the bridge with one crafted
 * message (ReDoS), so patterns are vetted here, statically, before use: the
 * store skips unsafe ones with a warning, and the CLI refuses to save them.
 *
 * The analysis is deliberately conservative (it can reject a harmless pattern,
 * never the reverse for the shapes it knows): JavaScript's regex engine
 * backtracks, and measured on a 4,000-character message `a+a+x` takes ~8 s and
 * `.*a.*a.*b` does not finish in a minute.
 *
 * @module
 */

/** Longest accepted pattern source, in characters. */
export const MAX_PATTERN_LENGTH = 200;

/** A repetition whose choice count is above this is treated as unbounded. */
const WIDE_REPEAT = 16;

/** Largest product of bounded repetition choices (`a?` = 2, `\d{17,20}` = 4). */
const MAX_BOUNDED_CHOICES = 16;

/** The outcome of vetting one pattern. */
export type PatternCheck =
  | { ok: true; regex: RegExp }
  | { ok: false; reason: string };

/** Patterns compiled for matching, plus the ones skipped and why. */
export interface CompiledPatterns {
  regexes: RegExp[];
  rejected: { pattern: string; reason: string }[];
}

/**
 * Vets one mention pattern and compiles it case-insensitively. Rejects syntax
 * errors, patterns longer than {@link MAX_PATTERN_LENGTH}, backreferences,
 * nested or ambiguous repetition (`(a+)+`, `(.*)*`, `(a|a)*`), more than one
 * unbounded repetition (`.*a.*b`), and patterns that match empty text (which
 * would make every message count as a mention).
 */
export function checkMentionPattern(source: string): PatternCheck {
  if (typeof source !== "string") return { ok: false, reason: "is not a string" };
  if (source.length === 0) {
    return { ok: false, reason: "is empty, so it would match every message" };
  }
  if (source.length > MAX_PATTERN_LENGTH) {
    return {
      ok: false,
      reason: `is ${source.length} characters long (the limit is ${MAX_PATTERN_LENGTH})`,
    };
  }
  let regex: RegExp;
  try {
    regex = new RegExp(source, "i");
  } catch (err) {
    return { ok: false, reason: `is not a valid regular expression (${(err as Error).message})` };
  }
  const problem = findBacktrackingHazard(source);
  if (problem) return { ok: false, reason: problem };
  if (regex.test("")) {
    return {
      ok: false,
      reason: "matches empty text, so every message would count as a mention " +
        "(use a group with requireMention off instead)",
    };
  }
  return { ok: true, regex };
}

/** Compiles a list of patterns, keeping the safe ones and explaining the rest. */
export function compileMentionPatterns(patterns: readonly string[]): CompiledPatterns {
  const out: CompiledPatterns = { regexes: [], rejected: [] };
  for (const pattern of patterns) {
    const check = checkMentionPattern(pattern);
    if (check.ok) out.regexes.push(check.regex);
    else out.rejected.push({ pattern, reason: check.reason });
  }
  return out;
}

interface Frame {
  /** The group (or something nested in it) contains a repetition. */
  repeats: boolean;
  /** The group (or something nested in it) contains an alternation. */
  alternates: boolean;
}

interface Quantifier {
  min: number;
  max: number;
  length: number;
}

/**
 * Walks the pattern source (non-unicode syntax, as compiled with only the `i`
 * flag) and returns why it could backtrack catastrophically, or undefined.
 * The source must already be known to compile.
 */
function findBacktrackingHazard(src: string): string | undefined {
  const stack: Frame[] = [{ repeats: false, alternates: false }];
  let unbounded = 0;
  let boundedChoices = 1;

  // Records a quantifier applied to the atom that ended just before `i`;
  // `inner` is the frame of that atom when it was a group.
  const quantify = (q: Quantifier, inner?: Frame): string | undefined => {
    const top = stack[stack.length - 1];
    top.repeats = true;
    if (inner && q.max > 1 && (inner.repeats || inner.alternates)) {
      // (a+)+, (.*)*, (a|a)*: the engine can split the same text between the
      // inner and outer repetition in exponentially many ways.
      return inner.repeats
        ? "nests a repetition inside a repeated group, e.g. (a+)+, which can take " +
          "exponential time on crafted text"
        : "repeats a group containing alternatives, e.g. (a|ab)*, which can take " +
          "exponential time on crafted text";
    }
    const choices = q.max - q.min + 1;
    if (!Number.isFinite(q.max) || choices > WIDE_REPEAT) {
      unbounded++;
      if (unbounded > 1) {
        // .*a.*b, a+a+x: polynomial blow-up, already seconds per message.
        return "has more than one unbounded repetition (*, +, {n,} or a wide {n,m}), " +
          "e.g. .*a.*b, which can take seconds on crafted text; keep one and bound " +
          "the others, e.g. \\s{0,3}";
      }
    } else {
      boundedChoices *= choices;
      if (boundedChoices > MAX_BOUNDED_CHOICES) {
        return `has too many optional or ranged parts (more than ${MAX_BOUNDED_CHOICES} ` +
          "combinations), e.g. a?a?a?a?a?, which can take exponential time";
      }
    }
    return undefined;
  };

  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === "\\") {
      const d = src[i + 1] ?? "";
      if (/[1-9]/.test(d) || (d === "k" && src[i + 2] === "<")) {
        // Backreferences make matching NP-hard in general and are never needed
        // to recognise a mention.
        return "uses a backreference (\\1, \\k<name>), which can take exponential time";
      }
      i += 2;
    } else if (c === "[") {
      i = skipClass(src, i);
    } else if (c === "(") {
      stack.push({ repeats: false, alternates: false });
      i++;
      if (src[i] === "?") {
        // (?: (?= (?! (?<= (?<! (?<name>
        i++;
        if (src[i] === "<" && src[i + 1] !== "=" && src[i + 1] !== "!") {
          i = src.indexOf(">", i) + 1;
        } else {
          i += src[i] === "<" ? 2 : 1;
        }
      }
      continue;
    } else if (c === ")") {
      const inner = stack.pop()!;
      const parent = stack[stack.length - 1];
      parent.repeats ||= inner.repeats;
      parent.alternates ||= inner.alternates;
      i++;
      const q = readQuantifier(src, i);
      if (q) {
        const problem = quantify(q, inner);
        if (problem) return problem;
        i += q.length;
      }
      continue;
    } else if (c === "|") {
      stack[stack.length - 1].alternates = true;
      i++;
      continue;
    } else {
      i++;
    }
    // An atom just ended at i: an escape, a class or a literal character.
    const q = readQuantifier(src, i);
    if (q) {
      const problem = quantify(q);
      if (problem) return problem;
      i += q.length;
    }
  }
  return undefined;
}

/** Returns the index just past the character class starting at `start` (`[]` is empty in JS). */
function skipClass(src: string, start: number): number {
  let i = start + 1;
  if (src[i] === "^") i++;
  while (i < src.length && src[i] !== "]") i += src[i] === "\\" ? 2 : 1;
  return i + 1;
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
  if (q && src[i + q.length] === "?") q.length++; // lazy: same cost
  return q;
}
