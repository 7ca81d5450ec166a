/**
 * Turns JSON Schema validation errors (ajv's, run against Discord's OpenAPI
 * spec) into the error tree Discord answers with `50035 Invalid Form Body`:
 * `{"content":{"_errors":[{"code":"BASE_TYPE_MAX_LENGTH","message":"Must be 2000 or fewer in length."}]}}`,
 * array elements keyed by their index.
 *
 * Pure: no ajv import, only the shape of its error objects (`verbose: true`).
 *
 * @module
 */
import { FormErrors } from "./validate.ts";

/** The fields of an ajv `ErrorObject` (compiled with `verbose: true`) that we read. */
export interface SchemaError {
  /** JSON pointer into the validated value, e.g. `/components/0/type`. */
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
  /** The schema object holding the failing keyword. */
  parentSchema?: Record<string, unknown>;
  /** The failing value. */
  data?: unknown;
}

/** One Discord `_errors` entry at a field path. */
export interface FieldError {
  path: string[];
  code: string;
  message: string;
}

/**
 * Marks the `type` enum that the emulator synthesises for a union of objects
 * told apart by their `type` field (components, interaction callbacks): a value
 * outside it is Discord's `UNION_TYPE_CHOICES` on the object itself.
 */
export const UNION_MARK = "x-emulator-union";

/** Keywords that only combine other results: their own error adds nothing when others exist. */
const STRUCTURAL = new Set(["if", "then", "else", "oneOf", "anyOf", "allOf", "not", "$ref"]);

const SNOWFLAKE_MAX = "9223372036854775807";

/** Maps ajv errors to Discord's field errors (deduplicated, structural ones dropped). */
export function discordFieldErrors(errors: readonly SchemaError[]): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  const push = (e: FieldError | undefined) => {
    if (!e) return;
    const key = JSON.stringify(e);
    if (seen.has(key)) return;
    seen.add(key);
    out.push(e);
  };
  for (const e of errors) if (!STRUCTURAL.has(e.keyword)) push(mapError(e));
  if (out.length === 0) {
    // Only structural failures (e.g. a value matching two branches of a oneOf).
    for (const e of errors) {
      push({ path: pointer(e.instancePath), code: "BASE_TYPE_INVALID", message: e.message ?? "" });
    }
  }
  return out;
}

/** Builds Discord's 50035 error from ajv errors. */
export function formErrorFrom(errors: readonly SchemaError[], prefix: string[] = []): FormErrors {
  const form = new FormErrors();
  addTo(form, errors, prefix);
  return form;
}

/** Adds ajv errors to an existing {@link FormErrors} under `prefix`. */
export function addTo(form: FormErrors, errors: readonly SchemaError[], prefix: string[] = []) {
  for (const e of discordFieldErrors(errors)) form.add([...prefix, ...e.path], e.code, e.message);
}

function pointer(p: string): string[] {
  if (p === "") return [];
  return p.slice(1).split("/").map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
}

function shown(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

function mapError(e: SchemaError): FieldError | undefined {
  const path = pointer(e.instancePath);
  const parent = e.parentSchema ?? {};
  const at = (code: string, message: string, p = path): FieldError => ({ path: p, code, message });
  switch (e.keyword) {
    case "required":
      return at("BASE_TYPE_REQUIRED", "This field is required", [
        ...path,
        String(e.params.missingProperty),
      ]);
    case "type":
      return typeError(path, parent, e.data);
    case "maxLength":
    case "minLength":
      return lengthError(path, parent, e.keyword);
    case "maxItems":
      return at("BASE_TYPE_MAX_LENGTH", `Must be ${parent.maxItems} or fewer in length.`);
    case "minItems":
      return at("BASE_TYPE_MIN_LENGTH", `Must be ${parent.minItems} or more in length.`);
    case "maxProperties":
      return at("BASE_TYPE_MAX_LENGTH", `Must be ${parent.maxProperties} or fewer in length.`);
    case "minimum":
    case "exclusiveMinimum":
      return at(
        "NUMBER_TYPE_MIN",
        `${numberKind(parent)} value should be greater than or equal to ${e.params.limit}.`,
      );
    case "maximum":
    case "exclusiveMaximum":
      return at(
        "NUMBER_TYPE_MAX",
        `${numberKind(parent)} value should be less than or equal to ${e.params.limit}.`,
      );
    case "pattern":
      if (parent.format === "snowflake") {
        return at("NUMBER_TYPE_COERCE", `Value "${shown(e.data)}" is not snowflake.`);
      }
      return at("STRING_TYPE_REGEX", "String value did not match validation regex.");
    case "format":
      return formatError(path, String(e.params.format), e.data);
    case "enum":
    case "const": {
      const values = (e.keyword === "enum" ? parent.enum : [parent.const]) as unknown[];
      if (parent[UNION_MARK]) {
        const sorted = [...values].sort((a, b) => Number(a) - Number(b));
        const list = sorted.join(", ") + (values.length === 1 ? "," : "");
        return at(
          "UNION_TYPE_CHOICES",
          `Value of field "${path.at(-1)}" must be one of (${list}).`,
          path.slice(0, -1),
        );
      }
      return at("BASE_TYPE_CHOICES", `Value must be one of ${choices(values)}.`);
    }
    case "uniqueItems":
      return at("SET_TYPE_ALREADY_CONTAINS_VALUE", "The set already contains this value.", [
        ...path,
        String(Math.max(Number(e.params.i), Number(e.params.j))),
      ]);
    case "additionalProperties":
      return at("BASE_TYPE_INVALID", "Unknown field.", [
        ...path,
        String(e.params.additionalProperty),
      ]);
    default:
      return at("BASE_TYPE_INVALID", e.message ?? e.keyword);
  }
}

function numberKind(schema: Record<string, unknown>): string {
  const t = schema.type;
  return t === "number" || (Array.isArray(t) && t.includes("number")) ? "float" : "int";
}

function choices(values: unknown[]): string {
  if (values.every((v) => typeof v === "string")) {
    return `(${values.map((v) => `'${v}'`).join(", ")})`;
  }
  return `{${values.map((v) => JSON.stringify(v)).join(", ")}}`;
}

function typeError(path: string[], schema: Record<string, unknown>, data: unknown): FieldError {
  const types = ([] as unknown[]).concat(schema.type ?? []).filter((t) => t !== "null");
  const at = (code: string, message: string): FieldError => ({ path, code, message });
  // Discord treats an explicit null in a non-nullable field as a missing one.
  if (data === null) return at("BASE_TYPE_REQUIRED", "This field is required");
  switch (types[0]) {
    case "string":
      return at("BASE_TYPE_STRING", "Must be a string.");
    case "integer":
      return at("NUMBER_TYPE_COERCE", `Value "${shown(data)}" is not int.`);
    case "number":
      return at("NUMBER_TYPE_COERCE", `Value "${shown(data)}" is not a valid number.`);
    case "boolean":
      return at("BASE_TYPE_BOOLEAN", "Must be either true or false.");
    case "array":
      return at("BASE_TYPE_LIST", "Must be a list.");
    case "object":
      return at("MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType");
    default:
      return at("BASE_TYPE_INVALID", `Must be of type ${types.join(" or ")}.`);
  }
}

function lengthError(path: string[], schema: Record<string, unknown>, keyword: string): FieldError {
  const min = typeof schema.minLength === "number" ? schema.minLength : 0;
  const max = typeof schema.maxLength === "number" ? schema.maxLength : undefined;
  if (min > 0 && max !== undefined) {
    return {
      path,
      code: "BASE_TYPE_BAD_LENGTH",
      message: `Must be between ${min} and ${max} in length.`,
    };
  }
  return keyword === "maxLength"
    ? { path, code: "BASE_TYPE_MAX_LENGTH", message: `Must be ${max} or fewer in length.` }
    : { path, code: "BASE_TYPE_MIN_LENGTH", message: `Must be ${min} or more in length.` };
}

function formatError(path: string[], format: string, data: unknown): FieldError {
  const at = (code: string, message: string): FieldError => ({ path, code, message });
  switch (format) {
    case "snowflake":
      return at(
        "NUMBER_TYPE_MAX",
        `snowflake value should be less than or equal to ${SNOWFLAKE_MAX}.`,
      );
    case "uri":
      return at("URL_TYPE_INVALID_URL", "Not a well formed URL.");
    case "date-time":
      return at("DATE_TYPE_PARSE", `Could not parse "${shown(data)}". Should be ISO8601.`);
    case "int32":
      return typeof data === "number" && data < 0
        ? at("NUMBER_TYPE_MIN", "int value should be greater than or equal to -2147483648.")
        : at("NUMBER_TYPE_MAX", "int value should be less than or equal to 2147483647.");
    default:
      return at("NUMBER_TYPE_COERCE", `Value "${shown(data)}" is not ${format}.`);
  }
}
