/**
 * Checks REST requests against Discord's own OpenAPI spec
 * (`tests/spec/openapi.json`), the way Discord's router and form validation
 * answer: a path it does not know → 404, a method it does not serve there →
 * 405, a path parameter, query parameter or JSON body (or multipart
 * `payload_json`) that breaks the operation's schemas → 400 `50035 Invalid
 * Form Body` with the field path.
 *
 * The spec is read on the first request a process serves, and an operation's
 * schemas are compiled (ajv 8, JSON Schema 2020-12) on its first call; both are
 * shared by every emulator in the process. Departures from the spec live in
 * `spec_overrides.ts`; the rewriting of unions into schemas whose errors read
 * like Discord's is {@link prepareSchema}.
 *
 * @module
 */
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { addTo, type SchemaError, UNION_MARK } from "./spec_errors.ts";
import { applyOverrides } from "./spec_overrides.ts";
import { ApiError, Errors, FormErrors } from "./validate.ts";

type Schema = Record<string, unknown>;

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema: Schema;
}

interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }>; required?: boolean };
}

interface PathTemplate {
  template: string;
  /** Literal segments, or `null` where a `{param}` stands. */
  segments: (string | null)[];
  names: string[];
  literals: number;
  methods: Map<string, Operation>;
  shared: Parameter[];
}

/** An operation a request was matched to. */
export interface MatchedOperation {
  operationId: string;
  template: string;
  method: string;
  /** Path parameters, URL-decoded. */
  params: Record<string, string>;
}

interface Compiled {
  params?: ValidateFunction;
  query?: ValidateFunction;
  queryTypes: Map<string, string>;
  body?: ValidateFunction;
}

interface Loaded {
  templates: PathTemplate[];
  ajv: Ajv2020;
  raw: Schema;
  compiled: Map<string, Compiled>;
}

/** Where the vendored spec is. */
export const SPEC_URL = new URL("../spec/openapi.json", import.meta.url);

/** The `$id` the prepared spec is registered under in ajv. */
const BASE = "https://discord.test/openapi.json";
const LOCAL_REF = "#/components/schemas/";
const SNOWFLAKE_MAX = 9223372036854775807n;
const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

// ajv-formats is CommonJS: Deno's default import is `module.exports`, the plugin itself.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

let loaded: Loaded | undefined;

function load(): Loaded {
  if (loaded) return loaded;
  const spec = JSON.parse(Deno.readTextFileSync(SPEC_URL));
  if (typeof spec.openapi !== "string" || !spec.openapi.startsWith("3.1.")) {
    throw new Error(`emulator: expected an OpenAPI 3.1 spec, got ${spec.openapi}`);
  }
  const raw = spec.components.schemas as Schema;
  applyOverrides(raw);
  const schemas: Schema = {};
  for (const [name, s] of Object.entries(raw)) schemas[name] = prepareSchema(s, raw);
  const ajv = new Ajv2020({
    allErrors: true,
    verbose: true,
    strict: false,
    validateSchema: false,
    logger: false,
  });
  addFormats(ajv, ["uri", "date-time", "int32", "int64", "double"]);
  ajv.addFormat("snowflake", {
    type: "string",
    validate: (s: string) => !/^\d+$/.test(s) || BigInt(s) <= SNOWFLAKE_MAX,
  });
  // Discord's nonce format is the string's length, which maxLength already checks.
  ajv.addFormat("nonce", true);
  ajv.addSchema({ $id: BASE, components: { schemas } });
  const templates: PathTemplate[] = [];
  for (const [template, item] of Object.entries(spec.paths as Record<string, Schema>)) {
    const segments = template.split("/").slice(1).map((s) => /^\{.+\}$/.test(s) ? null : s);
    const methods = new Map<string, Operation>();
    for (const m of HTTP_METHODS) {
      if (item[m]) methods.set(m.toUpperCase(), item[m] as Operation);
    }
    templates.push({
      template,
      segments,
      names: [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]),
      literals: segments.filter((s) => s !== null).length,
      methods,
      shared: (item.parameters ?? []) as Parameter[],
    });
  }
  // Literal segments win over parameters: `/users/@me` before `/users/{user_id}`.
  templates.sort((a, b) => b.literals - a.literals);
  loaded = { templates, ajv, raw, compiled: new Map() };
  return loaded;
}

function matchTemplate(
  path: string,
): { t: PathTemplate; values: string[] } | undefined {
  const parts = path.split("/").slice(1);
  for (const t of load().templates) {
    if (t.segments.length !== parts.length) continue;
    if (t.segments.every((s, i) => s === null ? parts[i] !== "" : s === parts[i])) {
      return { t, values: parts.filter((_, i) => t.segments[i] === null).map(decode) };
    }
  }
  return undefined;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Matches a request to an operation of the spec, or answers as Discord's router
 * does: 404 for an unknown path, 405 for a method the path does not serve.
 * `path` is the path after `/api/v10`.
 */
export function matchOperation(method: string, path: string): MatchedOperation | ApiError {
  const hit = matchTemplate(path);
  if (!hit) return Errors.notFound();
  const op = hit.t.methods.get(method.toUpperCase());
  if (!op) return Errors.methodNotAllowed();
  const params: Record<string, string> = {};
  hit.t.names.forEach((n, i) => (params[n] = hit.values[i]));
  return { operationId: op.operationId, template: hit.t.template, method, params };
}

/** The body of a request as the emulator parsed it. */
export interface CheckedBody {
  /** Parsed JSON, or the parsed `payload_json` of a multipart body (`{}` when absent). */
  json: unknown;
}

/**
 * Validates path parameters, query parameters and the body of a matched
 * request against its operation's schemas; throws Discord's 50035 error with
 * every violation. The body is only read when the operation takes one.
 */
export async function validateRequest(
  match: MatchedOperation,
  query: URLSearchParams,
  body: () => Promise<CheckedBody>,
): Promise<void> {
  const c = compiled(match);
  const form = new FormErrors();
  if (c.params && !c.params(match.params)) addTo(form, c.params.errors as SchemaError[]);
  if (c.query) {
    const q = coerceQuery(query, c.queryTypes);
    if (!c.query(q)) addTo(form, c.query.errors as SchemaError[]);
  }
  if (c.body) {
    const { json } = await body();
    if (!c.body(json)) addTo(form, c.body.errors as SchemaError[]);
  }
  if (form.any && logViolations()) {
    console.error(
      `emulator: ${match.method} ${match.template} violates the OpenAPI spec:`,
      JSON.stringify(form.toError().body.errors),
    );
  }
  form.throwIfAny();
}

/** Whether `DISCORD_EMULATOR_SPEC_LOG=1` asks for every violation on stderr (to find swallowed ones). */
function logViolations(): boolean {
  try {
    return Deno.env.get("DISCORD_EMULATOR_SPEC_LOG") === "1";
  } catch {
    return false;
  }
}

/** Query strings are strings: turn them into the parameter's type as Discord's parser does. */
function coerceQuery(query: URLSearchParams, types: Map<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of query) {
    const type = types.get(k);
    if (type === "integer" && /^-?\d+$/.test(v)) out[k] = Number(v);
    else if (type === "number" && v.trim() !== "" && Number.isFinite(Number(v))) out[k] = Number(v);
    else if (type === "boolean" && /^(true|false|1|0)$/i.test(v)) {
      out[k] = /^(true|1)$/i.test(v);
    } else out[k] = v;
  }
  return out;
}

function compiled(match: MatchedOperation): Compiled {
  const l = load();
  const key = `${match.method.toUpperCase()} ${match.template}`;
  const cached = l.compiled.get(key);
  if (cached) return cached;
  const t = l.templates.find((x) => x.template === match.template)!;
  const op = t.methods.get(match.method.toUpperCase())!;
  const params = new Map<string, Parameter>();
  for (const p of [...t.shared, ...(op.parameters ?? [])]) params.set(`${p.in}:${p.name}`, p);
  const objectOf = (where: string) => {
    const list = [...params.values()].filter((p) => p.in === where);
    if (list.length === 0) return undefined;
    return l.ajv.compile({
      type: "object",
      properties: Object.fromEntries(list.map((p) => [p.name, prepareSchema(p.schema, l.raw)])),
      required: list.filter((p) => p.required).map((p) => p.name),
    });
  };
  const queryTypes = new Map<string, string>();
  for (const p of params.values()) {
    if (p.in !== "query") continue;
    const type = resolve(p.schema, l.raw).type;
    if (typeof type === "string") queryTypes.set(p.name, type);
  }
  const content = op.requestBody?.content;
  const bodySchema = content?.["application/json"]?.schema ??
    content?.["multipart/form-data"]?.schema;
  const c: Compiled = {
    params: objectOf("path"),
    query: objectOf("query"),
    queryTypes,
    body: bodySchema ? l.ajv.compile(prepareSchema(bodySchema, l.raw)) : undefined,
  };
  l.compiled.set(key, c);
  return c;
}

function resolve(s: Schema, raw: Schema): Schema {
  let node = s;
  for (let i = 0; i < 32 && typeof node.$ref === "string"; i++) {
    node = raw[(node.$ref as string).slice(LOCAL_REF.length)] as Schema;
  }
  return node ?? {};
}

/** The values a branch of a union declares for its `type` property, if it is an object with one. */
function tagValues(branch: Schema, raw: Schema): unknown[] | undefined {
  const s = resolve(branch, raw);
  const props = s.properties as Record<string, Schema> | undefined;
  const tag = props?.type;
  if (!tag) return undefined;
  if ("const" in tag) return [tag.const];
  if (Array.isArray(tag.enum)) return tag.enum;
  return undefined;
}

/**
 * Rewrites a spec schema for ajv so that its errors are the ones Discord
 * reports: local `$ref`s point into the registered spec, and every
 * `oneOf`/`anyOf` becomes a union that validates only the branch the value is
 * meant for (instead of reporting why each branch failed):
 *
 * - all branches `const` → `enum` (Discord: `BASE_TYPE_CHOICES`);
 * - objects told apart by their `type` field → the branch for that `type`, and a
 *   `type` outside the union is `UNION_TYPE_CHOICES` (as for components);
 * - branches of distinct JSON types (e.g. `null` or an object) → the branch of
 *   the value's type;
 * - otherwise, valid when any branch is, and the errors are the first branch's.
 *
 * Union semantics are Discord's "first match", not JSON Schema's "exactly one".
 */
export function prepareSchema(node: unknown, raw: Schema): Schema {
  return rewrite(node, raw) as Schema;
}

function rewrite(node: unknown, raw: Schema): unknown {
  if (Array.isArray(node)) return node.map((n) => rewrite(n, raw));
  if (typeof node !== "object" || node === null) return node;
  const out: Schema = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === "$ref" && typeof v === "string" && v.startsWith(LOCAL_REF)) out[k] = BASE + v;
    else if (k === "oneOf" || k === "anyOf") continue;
    else if (k === "properties" || k === "$defs" || k === "patternProperties") {
      out[k] = Object.fromEntries(
        Object.entries(v as Schema).map(([name, s]) => [name, rewrite(s, raw)]),
      );
    } else if (k === "enum" || k === "const" || k === "required" || k === "examples") out[k] = v;
    else out[k] = rewrite(v, raw);
  }
  const branches = (node as Schema).oneOf ?? (node as Schema).anyOf;
  if (!Array.isArray(branches)) return out;
  const union = rewriteUnion(branches as Schema[], raw);
  if ("enum" in union && !("enum" in out) && Object.keys(union).length === 1) {
    out.enum = union.enum;
  } else out.allOf = [...((out.allOf as unknown[]) ?? []), union];
  return out;
}

function rewriteUnion(branches: Schema[], raw: Schema): Schema {
  const resolved = branches.map((b) => resolve(b, raw));
  if (resolved.every((b) => "const" in b)) return { enum: resolved.map((b) => b.const) };
  const prepared = branches.map((b) => rewrite(b, raw) as Schema);

  const nonNull = branches.map((_, i) => i).filter((i) => resolved[i].type !== "null");
  const tags = nonNull.map((i) => tagValues(branches[i], raw));
  const allTags = tags.flatMap((t) => t ?? []);
  if (
    nonNull.length > 1 && tags.every((t) => t !== undefined) &&
    new Set(allTags).size === allTags.length
  ) {
    return {
      type: nonNull.length < branches.length ? ["object", "null"] : "object",
      allOf: [
        {
          if: { type: "object" },
          then: { required: ["type"], properties: { type: { enum: allTags, [UNION_MARK]: true } } },
        },
        ...nonNull.map((i, n) => ({
          if: { type: "object", required: ["type"], properties: { type: { enum: tags[n] } } },
          then: prepared[i],
        })),
      ],
    };
  }

  const types = resolved.map((b) => b.type);
  if (
    types.every((t) => typeof t === "string") && new Set(types).size === types.length
  ) {
    return {
      type: types,
      allOf: prepared.map((b, i) => ({ if: { type: types[i] }, then: b })),
    };
  }

  return { if: { anyOf: prepared }, else: prepared[0] };
}
