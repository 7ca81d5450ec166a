/**
 * Discord's request-body limits for message payloads, producing the same
 * `50035 Invalid Form Body` error trees (`errors.<path>._errors[]`) and the
 * other JSON error codes Discord returns.
 *
 * Requests are first checked against Discord's OpenAPI spec (`openapi.ts`);
 * these checks stay for what the spec cannot express (empty message, duplicate
 * custom ids, link-button rules, total embed size, attachment count vs files).
 *
 * @module
 */

/** Max characters in `content`. */
export const MAX_CONTENT = 2000;
/** What a user with Nitro may send (the bot never can). */
export const MAX_USER_CONTENT = 4000;
/** Max attachments per message. */
export const MAX_ATTACHMENTS = 10;
/** Default per-file upload limit for bots (10 MiB). */
export const MAX_FILE_BYTES = 10 * 1024 * 1024;

/** A Discord JSON error body. */
export interface ApiErrorBody {
  message: string;
  code: number;
  errors?: Record<string, unknown>;
}

/** An error that the REST layer turns into an HTTP response. */
export class ApiError extends Error {
  /** HTTP status, JSON body. */
  constructor(readonly status: number, readonly body: ApiErrorBody) {
    super(body.message);
  }
}

/** Well-known Discord JSON errors. */
export const Errors = {
  unauthorized: () => new ApiError(401, { message: "401: Unauthorized", code: 0 }),
  notFound: () => new ApiError(404, { message: "404: Not Found", code: 0 }),
  methodNotAllowed: () => new ApiError(405, { message: "405: Method Not Allowed", code: 0 }),
  unknownChannel: () => new ApiError(404, { message: "Unknown Channel", code: 10003 }),
  unknownGuild: () => new ApiError(404, { message: "Unknown Guild", code: 10004 }),
  unknownMessage: () => new ApiError(404, { message: "Unknown Message", code: 10008 }),
  unknownUser: () => new ApiError(404, { message: "Unknown User", code: 10013 }),
  unknownEmoji: () => new ApiError(400, { message: "Unknown Emoji", code: 10014 }),
  unknownWebhook: () => new ApiError(404, { message: "Unknown Webhook", code: 10015 }),
  unknownInteraction: () => new ApiError(404, { message: "Unknown interaction", code: 10062 }),
  missingAccess: () => new ApiError(403, { message: "Missing Access", code: 50001 }),
  cannotEditOthers: () =>
    new ApiError(403, { message: "Cannot edit a message authored by another user", code: 50005 }),
  emptyMessage: () => new ApiError(400, { message: "Cannot send an empty message", code: 50006 }),
  cannotDmBot: () =>
    new ApiError(400, { message: "Cannot send messages to this user", code: 50007 }),
  alreadyAcknowledged: () =>
    new ApiError(400, { message: "Interaction has already been acknowledged.", code: 40060 }),
  tooLarge: () => new ApiError(413, { message: "Request entity too large", code: 40005 }),
  missingPermissions: () => new ApiError(403, { message: "Missing Permissions", code: 50013 }),
};

/** Collects `_errors` entries at JSON paths and builds a 50035 error. */
export class FormErrors {
  readonly #tree: Record<string, unknown> = {};
  #count = 0;
  /** Adds an error at `path` (e.g. `["components", 0, "custom_id"]`). */
  add(path: (string | number)[], code: string, message: string): void {
    let node = this.#tree;
    for (const key of path) {
      const k = String(key);
      node[k] ??= {};
      node = node[k] as Record<string, unknown>;
    }
    const list = (node._errors ??= []) as { code: string; message: string }[];
    list.push({ code, message });
    this.#count++;
  }
  /** Whether anything was added. */
  get any(): boolean {
    return this.#count > 0;
  }
  /** The 50035 error. */
  toError(): ApiError {
    return new ApiError(400, { message: "Invalid Form Body", code: 50035, errors: this.#tree });
  }
  /** Throws the 50035 error if anything was added. */
  throwIfAny(): void {
    if (this.any) throw this.toError();
  }
}

/** Raises a single-field 50035 error. */
export function formError(path: (string | number)[], code: string, message: string): ApiError {
  const errors = new FormErrors();
  errors.add(path, code, message);
  return errors.toError();
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkString(
  errors: FormErrors,
  path: (string | number)[],
  value: unknown,
  min: number,
  max: number,
  required: boolean,
): void {
  if (value === undefined || value === null) {
    if (required) errors.add(path, "BASE_TYPE_REQUIRED", "This field is required");
    return;
  }
  if (typeof value !== "string") {
    errors.add(path, "BASE_TYPE_STRING", "Must be a string.");
    return;
  }
  const len = [...value].length;
  if (len > max || len < min) {
    if (min <= 0) errors.add(path, "BASE_TYPE_MAX_LENGTH", `Must be ${max} or fewer in length.`);
    else errors.add(path, "BASE_TYPE_BAD_LENGTH", `Must be between ${min} and ${max} in length.`);
  }
}

/** Validates a button or other component inside an action row. */
function checkComponent(errors: FormErrors, path: (string | number)[], c: unknown): void {
  if (!isObject(c)) {
    errors.add(path, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType");
    return;
  }
  const type = c.type;
  if (type === 2) {
    const style = c.style;
    if (typeof style !== "number" || ![1, 2, 3, 4, 5, 6].includes(style)) {
      errors.add(
        [...path, "style"],
        "BASE_TYPE_CHOICES",
        "Value must be one of {1, 2, 3, 4, 5, 6}.",
      );
      return;
    }
    checkString(errors, [...path, "label"], c.label, 0, 80, false);
    if (style === 5) {
      checkString(errors, [...path, "url"], c.url, 1, 512, true);
      if (c.custom_id !== undefined) {
        errors.add(
          [...path, "custom_id"],
          "COMPONENT_LINK_BUTTON_CUSTOM_ID",
          "A custom id cannot be specified with a link button",
        );
      }
    } else if (style === 6) {
      if (typeof c.sku_id !== "string") {
        errors.add([...path, "sku_id"], "BASE_TYPE_REQUIRED", "This field is required");
      }
    } else {
      checkString(errors, [...path, "custom_id"], c.custom_id, 1, 100, true);
      if (c.url !== undefined) {
        errors.add(
          [...path, "url"],
          "BUTTON_URL_NOT_ALLOWED",
          "A url can only be specified with a link button",
        );
      }
    }
    if (c.label === undefined && c.emoji === undefined) {
      errors.add(path, "BUTTON_COMPONENT_INVALID", "Must have either a label or an emoji.");
    }
    return;
  }
  if ([3, 5, 6, 7, 8].includes(type as number)) {
    checkString(errors, [...path, "custom_id"], c.custom_id, 1, 100, true);
    checkString(errors, [...path, "placeholder"], c.placeholder, 0, 150, false);
    return;
  }
  errors.add([...path, "type"], "BASE_TYPE_CHOICES", "Value must be one of {2, 3, 5, 6, 7, 8}.");
}

/** Validates a top-level `components` array (action rows of buttons / selects). */
function checkComponents(errors: FormErrors, components: unknown): void {
  if (!Array.isArray(components)) {
    errors.add(["components"], "BASE_TYPE_LIST", "Must be a list.");
    return;
  }
  if (components.length > 5) {
    errors.add(["components"], "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.");
  }
  components.forEach((row, i) => {
    const path = ["components", i];
    if (!isObject(row)) {
      errors.add(path, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType");
      return;
    }
    if (row.type !== 1) {
      errors.add(
        [...path, "type"],
        "UNION_TYPE_CHOICES",
        'Value of field "type" must be one of (1,).',
      );
      return;
    }
    const children = row.components;
    if (!Array.isArray(children) || children.length === 0) {
      errors.add([...path, "components"], "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length.");
      return;
    }
    if (children.length > 5) {
      errors.add([...path, "components"], "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.");
    }
    children.forEach((c, j) => checkComponent(errors, [...path, "components", j], c));
  });
  const ids = new Set<string>();
  for (const row of components) {
    if (!isObject(row) || !Array.isArray(row.components)) continue;
    for (const c of row.components) {
      if (!isObject(c) || typeof c.custom_id !== "string") continue;
      if (ids.has(c.custom_id)) {
        errors.add(
          ["components"],
          "COMPONENT_CUSTOM_ID_DUPLICATED",
          "Component custom id cannot be duplicated",
        );
      }
      ids.add(c.custom_id);
    }
  }
}

function checkEmbeds(errors: FormErrors, embeds: unknown): void {
  if (!Array.isArray(embeds)) {
    errors.add(["embeds"], "BASE_TYPE_LIST", "Must be a list.");
    return;
  }
  if (embeds.length > 10) {
    errors.add(["embeds"], "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.");
  }
  let total = 0;
  embeds.forEach((e, i) => {
    if (!isObject(e)) {
      errors.add(
        ["embeds", i],
        "MODEL_TYPE_CONVERT",
        "Only dictionaries may be used in a ModelType",
      );
      return;
    }
    checkString(errors, ["embeds", i, "title"], e.title, 0, 256, false);
    checkString(errors, ["embeds", i, "description"], e.description, 0, 4096, false);
    for (const s of [e.title, e.description]) if (typeof s === "string") total += s.length;
    if (Array.isArray(e.fields)) {
      if (e.fields.length > 25) {
        errors.add(
          ["embeds", i, "fields"],
          "BASE_TYPE_MAX_LENGTH",
          "Must be 25 or fewer in length.",
        );
      }
      e.fields.forEach((f, j) => {
        if (!isObject(f)) return;
        checkString(errors, ["embeds", i, "fields", j, "name"], f.name, 1, 256, true);
        checkString(errors, ["embeds", i, "fields", j, "value"], f.value, 1, 1024, true);
        total += String(f.name ?? "").length + String(f.value ?? "").length;
      });
    }
  });
  if (total > 6000) {
    errors.add(["embeds"], "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000");
  }
}

function checkAllowedMentions(errors: FormErrors, am: unknown): void {
  if (!isObject(am)) {
    errors.add(
      ["allowed_mentions"],
      "MODEL_TYPE_CONVERT",
      "Only dictionaries may be used in a ModelType",
    );
    return;
  }
  const parse = am.parse;
  if (parse !== undefined) {
    if (!Array.isArray(parse)) {
      errors.add(["allowed_mentions", "parse"], "BASE_TYPE_LIST", "Must be a list.");
    } else {
      parse.forEach((p, i) => {
        if (!["roles", "users", "everyone"].includes(p as string)) {
          errors.add(
            ["allowed_mentions", "parse", i],
            "BASE_TYPE_CHOICES",
            "Value must be one of ('roles', 'users', 'everyone').",
          );
        }
      });
    }
  }
  for (const key of ["users", "roles"] as const) {
    const list = am[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      errors.add(["allowed_mentions", key], "BASE_TYPE_LIST", "Must be a list.");
      continue;
    }
    if (list.length > 100) {
      errors.add(
        ["allowed_mentions", key],
        "BASE_TYPE_MAX_LENGTH",
        "Must be 100 or fewer in length.",
      );
    }
    list.forEach((id, i) => {
      if (typeof id !== "string" || !/^\d{15,20}$/.test(id)) {
        errors.add(
          ["allowed_mentions", key, i],
          "NUMBER_TYPE_COERCE",
          `Value "${id}" is not snowflake.`,
        );
      }
    });
    if (Array.isArray(parse) && parse.includes(key) && list.length > 0) {
      errors.add(
        ["allowed_mentions"],
        "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
        `parse:["${key}"] and ${key}: [ids...] are mutually exclusive.`,
      );
    }
  }
  if (am.replied_user !== undefined && typeof am.replied_user !== "boolean") {
    errors.add(
      ["allowed_mentions", "replied_user"],
      "BASE_TYPE_BOOLEAN",
      "Must be either true or false.",
    );
  }
}

/** Options for {@link validateMessagePayload}. */
export interface PayloadCheck {
  /** Whether this is an edit (PATCH): fields are optional and emptiness is not checked. */
  edit: boolean;
  /** Number of files uploaded with the request. */
  fileCount: number;
}

/**
 * Validates a create/edit message body against Discord's limits. Throws an
 * {@link ApiError} (50035 with an error tree, or 50006 for an empty message).
 */
export function validateMessagePayload(
  body: unknown,
  check: PayloadCheck,
): Record<string, unknown> {
  if (!isObject(body)) {
    throw formError([], "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType");
  }
  const errors = new FormErrors();
  if (body.content !== undefined && body.content !== null) {
    checkString(errors, ["content"], body.content, 0, MAX_CONTENT, false);
  }
  if (body.nonce !== undefined && body.nonce !== null) {
    if (typeof body.nonce === "string") checkString(errors, ["nonce"], body.nonce, 0, 25, false);
    else if (typeof body.nonce !== "number") {
      errors.add(["nonce"], "BASE_TYPE_STRING", "Must be a string.");
    }
  }
  if (body.embeds !== undefined && body.embeds !== null) checkEmbeds(errors, body.embeds);
  if (body.components !== undefined && body.components !== null) {
    checkComponents(errors, body.components);
  }
  if (body.allowed_mentions !== undefined && body.allowed_mentions !== null) {
    checkAllowedMentions(errors, body.allowed_mentions);
  }
  if (body.tts !== undefined && typeof body.tts !== "boolean") {
    errors.add(["tts"], "BASE_TYPE_BOOLEAN", "Must be either true or false.");
  }
  if (body.flags !== undefined && body.flags !== null && typeof body.flags !== "number") {
    errors.add(["flags"], "NUMBER_TYPE_COERCE", `Value "${body.flags}" is not int.`);
  }
  const keptAttachments = Array.isArray(body.attachments) ? body.attachments.length : 0;
  if (check.fileCount > MAX_ATTACHMENTS || keptAttachments > MAX_ATTACHMENTS) {
    errors.add(
      ["attachments"],
      "BASE_TYPE_MAX_LENGTH",
      `Must be ${MAX_ATTACHMENTS} or fewer in length.`,
    );
  }
  if (body.message_reference !== undefined && body.message_reference !== null) {
    const ref = body.message_reference;
    if (!isObject(ref)) {
      errors.add(
        ["message_reference"],
        "MODEL_TYPE_CONVERT",
        "Only dictionaries may be used in a ModelType",
      );
    } else if (
      ref.message_id !== undefined && typeof ref.message_id !== "string" &&
      typeof ref.message_id !== "number"
    ) {
      errors.add(
        ["message_reference", "message_id"],
        "NUMBER_TYPE_COERCE",
        "Value is not snowflake.",
      );
    }
  }
  errors.throwIfAny();
  if (!check.edit) {
    const hasContent = typeof body.content === "string" && body.content.length > 0;
    const hasEmbeds = Array.isArray(body.embeds) && body.embeds.length > 0;
    const hasComponents = Array.isArray(body.components) && body.components.length > 0;
    const hasStickers = Array.isArray(body.sticker_ids) && body.sticker_ids.length > 0;
    const hasPoll = isObject(body.poll);
    if (
      !hasContent && !hasEmbeds && !hasComponents && !hasStickers && !hasPoll &&
      check.fileCount === 0
    ) {
      throw Errors.emptyMessage();
    }
  }
  return body;
}

/** Parses a reaction emoji path segment (URL-decoded): a unicode emoji, `name:id` or `a:name:id`. */
export function parseEmoji(
  raw: string,
): { id: string | null; name: string; animated?: boolean } | null {
  const custom = /^(?:(a):)?([\w~-]{1,32}):(\d{15,20})$/.exec(raw);
  if (custom) return { id: custom[3], name: custom[2], animated: custom[1] === "a" };
  if (raw.length === 0 || raw.length > 32) return null;
  // Unicode emoji: every code point must be an emoji, a joiner, a variation selector,
  // a skin-tone modifier, a keycap or a regional indicator / tag.
  const ok =
    /^(?:\p{Extended_Pictographic}|\p{Emoji_Component}|\p{Emoji_Presentation}|\p{Emoji_Modifier}|\u200d|\ufe0f|\u20e3)+$/u
      .test(raw) && /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u.test(raw);
  return ok ? { id: null, name: raw } : null;
}
