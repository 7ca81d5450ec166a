/**
 * Safety checks and matching for `mentionPatterns`, the user-supplied regexes
 * that count as a mention of the bot in guild channels.
 *
 * Every inbound guild message is tested against every pattern, and the text is
 * chosen by whoever posts in the channel. JavaScript's regex engine
 * backtracks: `(a|aa)(a|aa)…b`, `a+a+x` or `.*a.*a.*b` take seconds to years
 * on one crafted message (ReDoS), and no static vetting catches every such
 * shape. So patterns are never run by JavaScript's engine: they are compiled
 * by {@link compileLinear} into a linear-time matcher, whose cost per message
 * is bounded by the program size times the text length, whatever the pattern
 * and the text. Both are capped ({@link MAX_TOTAL_PROGRAM_SIZE},
 * {@link MAX_EXAMINED_CHARS}), so one message costs tens of milliseconds at
 * most, the worst pattern set against the worst text. Patterns outside the supported subset (backreferences, lookaround)
 * are refused with a reason: the CLI refuses to save them, the bridge skips
 * them with a warning.
 *
 * @module
 */
import { compileLinear, type LinearRegex, UnsupportedPatternError } from "./linear_regex.ts";

/** A vetted mention pattern: case-insensitive, linear-time. */
export interface MentionPattern {
  /** The pattern as written in access.json. */
  readonly source: string;
  /** True when the pattern matches somewhere in the text. */
  test(text: string): boolean;
}

/**
 * How much of a message the patterns look at: Discord's longest message
 * (4,000 characters with Nitro). A mention further in is not one anyway.
 */
export const MAX_EXAMINED_CHARS = 4_000;

/**
 * Largest total program size of all patterns together: every message runs
 * them all, so this bounds the work per message (at most about 8 million NFA
 * state visits, some 10–30 ms, in the worst case).
 */
export const MAX_TOTAL_PROGRAM_SIZE = 1_000;

/** Longest accepted pattern source, in characters. */
export const MAX_PATTERN_LENGTH = 200;

/** The outcome of vetting one pattern. */
export type PatternCheck =
  | { ok: true; pattern: MentionPattern; size: number }
  | { ok: false; reason: string };

/** Patterns compiled for matching, plus the ones skipped and why. */
export interface CompiledPatterns {
  patterns: MentionPattern[];
  /** Skipped patterns, with their position in the list. */
  rejected: { pattern: string; index: number; reason: string }[];
}

/**
 * Vets one mention pattern and compiles it for case-insensitive, linear-time
 * matching. Rejects syntax errors (with JavaScript's explanation), patterns
 * longer than {@link MAX_PATTERN_LENGTH}, syntax outside the supported subset
 * (backreferences, lookahead, lookbehind), patterns whose counted repetitions
 * expand too far, and patterns that match empty text (which would make every
 * message count as a mention).
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
  try {
    // Syntax is checked by JavaScript itself, for its error messages; the
    // RegExp is never used to match.
    new RegExp(source, "i");
  } catch (err) {
    return { ok: false, reason: `is not a valid regular expression (${(err as Error).message})` };
  }
  let compiled: LinearRegex;
  try {
    compiled = compileLinear(source);
  } catch (err) {
    if (err instanceof UnsupportedPatternError) return { ok: false, reason: err.message };
    throw err;
  }
  if (compiled.matchesEmpty) {
    return {
      ok: false,
      reason: "matches empty text, so every message would count as a mention " +
        "(use a group with requireMention off instead)",
    };
  }
  return { ok: true, pattern: capped(compiled), size: compiled.size };
}

/**
 * Compiles a list of patterns, keeping the safe ones and explaining the rest.
 * Patterns beyond the shared {@link MAX_TOTAL_PROGRAM_SIZE} are skipped too.
 */
export function compileMentionPatterns(patterns: readonly string[]): CompiledPatterns {
  const out: CompiledPatterns = { patterns: [], rejected: [] };
  let total = 0;
  for (const [index, pattern] of patterns.entries()) {
    const check = checkMentionPattern(pattern);
    if (!check.ok) {
      out.rejected.push({ pattern, index, reason: check.reason });
    } else if (total + check.size > MAX_TOTAL_PROGRAM_SIZE) {
      out.rejected.push({
        pattern,
        index,
        reason: `does not fit: the patterns together may expand to ${MAX_TOTAL_PROGRAM_SIZE} ` +
          "matching steps, and the ones before it use " + total + "; use fewer or simpler patterns",
      });
    } else {
      total += check.size;
      out.patterns.push(check.pattern);
    }
  }
  return out;
}

/** The pattern, looking at no more than {@link MAX_EXAMINED_CHARS} of a message. */
function capped(p: LinearRegex): MentionPattern {
  return {
    source: p.source,
    test: (text: string) =>
      p.test(text.length > MAX_EXAMINED_CHARS ? text.slice(0, MAX_EXAMINED_CHARS) : text),
  };
}
