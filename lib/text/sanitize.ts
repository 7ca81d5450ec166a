/**
 * Making untrusted Discord text safe to hand to Claude Code.
 *
 * Claude Code shows each inbound event to the model as
 * `<channel source="discord" key="value" ...>\ncontent\n</channel>`. The host
 * entity-escapes attribute values but not the content, and it drops a meta key
 * that is not an identifier, or the whole event when a meta value is not a
 * string. Everything here is pure string work, so it can be tested directly.
 *
 * @module
 */

/**
 * Characters that render as nothing but can sit inside a word to hide it from
 * a naive filter or to reorder what a reader sees: zero-width characters, the
 * soft hyphen, the word joiner family, bidi marks, embeddings, overrides and
 * isolates, the Mongolian vowel separator, Hangul fillers and variation
 * selectors.
 */
const INVISIBLE =
  "\\u00AD\\u034F\\u061C\\u115F\\u1160\\u17B4\\u17B5\\u180B-\\u180F\\u200B-\\u200F" +
  "\\u202A-\\u202E\\u2060-\\u206F\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0";

/** Anything that may stand between `<` and a tag name without a reader noticing. */
const GAP = `[\\s${INVISIBLE}]*`;

/** `<`, plus the full-width and small forms a model reads the same way. */
const OPENERS = "<\uFF1C\uFE64";

/** The slash of a closing tag, plus look-alikes. */
const SLASHES = "/\uFF0F\u2215\u2044";

/**
 * Tag names that would pose as structure in the model's context: the channel
 * wrapper itself and the host's own system and command wrappers. Matched as
 * prefixes, so `<system-reminder>` and `<command-name>` are covered too.
 */
const TAG_NAMES = ["channel", "system", "command", "local-command", "user-prompt-submit-hook"];

/** One letter of a tag name: either case, ASCII or full-width. */
function letterClass(ch: string): string {
  const lower = ch.toLowerCase();
  const upper = ch.toUpperCase();
  if (lower === upper) return ch === "-" ? "[-\uFF0D_]" : ch;
  const wide = (c: string) => String.fromCharCode(c.charCodeAt(0) + 0xfee0);
  return `[${lower}${upper}${wide(lower)}${wide(upper)}]`;
}

/**
 * `<` (or a look-alike), optional invisible gap, optional slash, gap, then a
 * tag name whose letters may themselves be split by invisible characters.
 */
const FAKE_TAG_RE = new RegExp(
  `[${OPENERS}](?=${GAP}(?:[${SLASHES}]${GAP})?(?:${
    TAG_NAMES.map((name) => [...name].map(letterClass).join(`[${INVISIBLE}]*`)).join("|")
  }))`,
  "g",
);

/** What replaces the `<` of a fake tag: looks alike to a human, inert to a parser. */
const INERT_ANGLE = "\u2039";

/**
 * Defangs anything in message content that could pose as the channel wrapper
 * or a host tag (`</channel>`, `<channel source="...">`, `<system-reminder>`),
 * including case variants, full-width `＜`, and invisible characters between
 * `<` and the name. Blocks a sender who closes the real wrapper early and
 * writes text the model would take for the operator's. Only the `<` is
 * replaced (by `‹`); every other character, and ordinary mentions, emoji and
 * `<https://…>` links, are left as they are.
 */
export function neutralizeContent(text: string): string {
  return text.replace(FAKE_TAG_RE, INERT_ANGLE);
}

// Matching control characters is the point: C0, DEL and C1, plus the Unicode
// line and paragraph separators, which also break a line.
// deno-lint-ignore no-control-regex
const CONTROL_RE = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]/g;
const INVISIBLE_RE = new RegExp(`[${INVISIBLE}]`, "g");

/** Removes controls and invisibles and collapses whitespace; no length cap. */
function flatten(value: string): string {
  return value
    .toWellFormed()
    .replace(CONTROL_RE, " ")
    .replace(INVISIBLE_RE, "")
    .replace(/\s+/g, " ")
    .trim();
}

const HIDDEN_RE = new RegExp(`[\u0000-\u0008\u000B-\u001F\u007F-\u009F${INVISIBLE}]`, "g");

/**
 * Makes hidden characters visible as `⟨U+202E⟩`-style markers: control
 * characters other than tab and line feed, bidi controls and zero-width
 * characters. For text a person must judge (a command awaiting approval),
 * where a right-to-left override could show `rm -rf ~` as harmless text
 * ("Trojan Source") and a zero-width character could hide a difference;
 * showing them beats dropping them silently.
 */
export function revealInvisible(text: string): string {
  return text.replace(
    HIDDEN_RE,
    (ch) => `⟨U+${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}⟩`,
  );
}

/** Cuts `text` to at most `max` UTF-16 units without splitting a surrogate pair. */
export function cutUnits(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max);
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return text.slice(0, end);
}

/**
 * Cleans a single-line meta value (a user name, a file name): control
 * characters and line breaks become spaces, so a name cannot start a new line
 * that reads as a separate event; bidi controls and zero-width characters are
 * removed, so an "RLO" name cannot display reversed or hide a word; whitespace
 * is collapsed and trimmed; the result is capped at `maxLen` UTF-16 units with
 * a trailing `…`, never splitting a surrogate pair. An empty result gives
 * `fallback` (default "", so `cleanMetaValue(name) || other` also works).
 */
export function cleanMetaValue(value: string, maxLen = 256, fallback = ""): string {
  const flat = flatten(value);
  if (flat === "") return fallback;
  const max = Math.max(1, Math.floor(maxLen));
  if (flat.length <= max) return flat;
  return cutUnits(flat, max - 1).trimEnd() + "…";
}

/** Names Windows reserves for devices; a file called `con.txt` cannot be created there. */
const WINDOWS_DEVICE_RE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)/i;
const MAX_FILE_NAME = 100;

/**
 * Makes an uploader-controlled attachment name safe to display and to use as
 * part of a local file name. Only letters, digits, marks and `. _ - + ( ) @ , =`
 * survive; anything else (path separators, `:`, `;`, `[ ]`, quotes, controls,
 * bidi and zero-width characters) becomes `_`. That blocks path traversal
 * (`../../.env`, `..\\x`), hidden files (leading dot), option injection in a
 * shell command (leading `-`), a fake extension via right-to-left override
 * (`gpj.exe` shown as `exe.jpg`), and breaking out of a `; `-separated list.
 * A run of dots (and underscores around them) collapses to one dot, so `..`
 * never appears. The result is at most
 * 100 characters, keeping a short extension when the name is cut. An empty
 * result gives `fallback`.
 */
export function safeFileName(name: string, fallback: string): string {
  let out = name
    .toWellFormed()
    .normalize("NFC")
    .replace(INVISIBLE_RE, "")
    .replace(/[^\p{L}\p{N}\p{M}._\-+()@,=]/gu, "_")
    .replace(/[._]*\.[._]*/g, ".")
    .replace(/_{2,}/g, "_")
    .replace(/^[._\-]+/, "")
    .replace(/[._]+$/, "");
  if (out === "") return fallback;
  if (WINDOWS_DEVICE_RE.test(out)) out = "_" + out;
  if (out.length > MAX_FILE_NAME) {
    const ext = /\.[\p{L}\p{N}]{1,16}$/u.exec(out)?.[0] ?? "";
    out = cutUnits(out.slice(0, out.length - ext.length), MAX_FILE_NAME - ext.length)
      .replace(/[._]+$/, "") + ext;
  }
  return out === "" ? fallback : out;
}

/** What the host accepts as a meta key; others are dropped one by one, silently. */
export const META_KEY_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Keys the host writes itself: a meta `source` would sit beside the host's own
 * attribute and could pass an event off as coming from another channel.
 */
const RESERVED_META_KEYS = new Set(["source"]);

/**
 * Shapes event meta to the host contract, so no event is dropped and no value
 * carries a line break or invisible text: keys that are not identifiers (or
 * are reserved) are left out, `undefined` and `null` values are left out,
 * strings, numbers, booleans and bigints become their string form, anything
 * else its JSON (left out if it has none). Every value then passes through
 * {@link cleanMetaValue} with an empty fallback.
 */
export function shapeMeta(meta: Record<string, unknown>, maxLen = 256): Record<string, string> {
  const entries: [string, string][] = [];
  for (const [key, value] of Object.entries(meta)) {
    if (!META_KEY_RE.test(key) || RESERVED_META_KEYS.has(key)) continue;
    const text = stringify(value);
    if (text === undefined) continue;
    entries.push([key, cleanMetaValue(text, maxLen, "")]);
  }
  // fromEntries defines own properties, so even a `__proto__` key stays data.
  return Object.fromEntries(entries);
}

function stringify(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
      return value;
    case "number":
    case "boolean":
    case "bigint":
      return String(value);
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
  }
  if (value === null) return undefined;
  try {
    return JSON.stringify(value) ?? undefined;
  } catch {
    // A cycle or a throwing toJSON: there is no faithful string to send.
    return undefined;
  }
}
