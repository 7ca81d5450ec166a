/**
 * Where the emulator departs from Discord's published OpenAPI spec, and why.
 * Every entry is applied to the vendored spec (`tests/spec/openapi.json`)
 * before its schemas are compiled; the file itself is never edited.
 *
 * - `tighten`: the spec is looser than what Discord enforces for a bot.
 * - `relax`: the spec rejects what Discord accepts (or what discord.js sends
 *   and Discord takes).
 *
 * @module
 */

/** One documented change to a component schema of the spec. */
export interface SpecOverride {
  kind: "tighten" | "relax";
  /** Component schema name (`components.schemas.<name>`). */
  schema: string;
  /** Keys from that schema to the node to change. */
  path: string[];
  /** Keywords to set on that node (`undefined` deletes the keyword). */
  set: Record<string, unknown>;
  /** Why the spec is not followed here. */
  why: string;
}

const BOT_CONTENT =
  "The spec's 4,000 is the limit for users with Nitro; for a bot Discord answers 50035 " +
  'BASE_TYPE_MAX_LENGTH "Must be 2000 or fewer in length." past 2,000 characters.';

/** The overrides, applied in order. */
export const SPEC_OVERRIDES: readonly SpecOverride[] = [
  {
    kind: "tighten",
    schema: "MessageCreateRequest",
    path: ["properties", "content"],
    set: { maxLength: 2000 },
    why: BOT_CONTENT,
  },
  {
    kind: "tighten",
    schema: "MessageEditRequestPartial",
    path: ["properties", "content"],
    set: { maxLength: 2000 },
    why: BOT_CONTENT,
  },
  {
    kind: "relax",
    schema: "MessageAttachmentRequest",
    path: ["properties", "id"],
    set: {
      $ref: undefined,
      oneOf: [
        { $ref: "#/components/schemas/SnowflakeType" },
        { type: "integer", minimum: 0 },
      ],
    },
    why: "An upload's attachment id is the index of its `files[n]` part. discord.js sends it " +
      "as a JSON number (`{id: 0}`) and Discord's own docs show it so; Discord coerces integer " +
      "snowflakes. Elsewhere the emulator keeps the spec's string: a real snowflake sent as a " +
      "JSON number past 2^53 has already lost digits.",
  },
];

/** Applies {@link SPEC_OVERRIDES} in place to `components.schemas` of a freshly parsed spec. */
export function applyOverrides(
  schemas: Record<string, unknown>,
  overrides: readonly SpecOverride[] = SPEC_OVERRIDES,
): void {
  for (const o of overrides) {
    let node = schemas[o.schema] as Record<string, unknown> | undefined;
    for (const key of o.path) node = node?.[key] as Record<string, unknown> | undefined;
    if (!node || typeof node !== "object") {
      throw new Error(`spec override: ${o.schema}/${o.path.join("/")} is not in the spec`);
    }
    for (const [k, v] of Object.entries(o.set)) {
      if (v === undefined) delete node[k];
      else node[k] = v;
    }
  }
}
