/**
 * The emulated REST API v10: authentication, routing, rate limits, fault
 * injection, request recording and the route handlers, plus the attachment CDN.
 *
 * @module
 */
import type { Gateway } from "./gateway.ts";
import type { ApplicationCommand, Interactions } from "./interactions.ts";
import type { FileInput, Messages } from "./messages.ts";
import { matchOperation, validateRequest } from "./openapi.ts";
import { rateLimitedBody, type RateLimiter } from "./ratelimit.ts";
import type { Channel, Message, World } from "./state.ts";
import { Intents } from "./gateway.ts";
import {
  ApiError,
  Errors,
  FormErrors,
  MAX_ATTACHMENTS,
  MAX_FILE_BYTES,
  parseEmoji,
  validateMessagePayload,
} from "./validate.ts";

/** One REST call as recorded in `emulator.requests`. */
export interface RecordedRequest {
  method: string;
  /** Path after `/api/v10`, e.g. `/channels/123/messages`. */
  path: string;
  query: Record<string, string>;
  /** Parsed JSON, or `{payload_json, files}` for multipart, or undefined. */
  body: unknown;
  status: number;
  /** `performance.now()` when the request arrived. */
  at: number;
}

/** A queued fault for `failNext`. */
export interface Fault {
  method?: string;
  path: string | RegExp;
  response: { status: number; retryAfter?: number; global?: boolean; body?: unknown };
  remaining: number;
}

/** What the REST layer needs from the emulator. */
export interface RestDeps {
  world: World;
  gateway: Gateway;
  messages: Messages;
  interactions: Interactions;
  limiter: RateLimiter;
  token: () => string;
  applicationId: string;
  origin: () => string;
  gatewayUrl: () => string;
  requests: RecordedRequest[];
  faults: Fault[];
  /** The application's registered global commands. */
  commands: ApplicationCommand[];
  /** Check requests against Discord's OpenAPI spec (`openapi.ts`); default true. */
  spec?: boolean;
}

interface ParsedBody {
  json: unknown;
  files: (FileInput & { field: string; index: number })[];
  recorded: unknown;
}

interface Ctx {
  req: Request;
  params: Record<string, string>;
  query: URLSearchParams;
  body: () => Promise<ParsedBody>;
}

type Handler = (ctx: Ctx) => Promise<Response> | Response;

interface Route {
  method: string;
  template: string;
  regex: RegExp;
  names: string[];
  auth: boolean;
  global: boolean;
  handler: Handler;
}

const JSON_HEADERS = { "content-type": "application/json" };

/** Builds a JSON response. */
export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } });
}

function noContent(): Response {
  return new Response(null, { status: 204 });
}

/** The REST API of one emulator. */
export class RestApi {
  readonly #routes: Route[] = [];
  readonly #d: RestDeps;

  /** Registers every route. */
  constructor(deps: RestDeps) {
    this.#d = deps;
    this.#register();
  }

  #add(
    method: string,
    template: string,
    handler: Handler,
    opts: { auth?: boolean; global?: boolean } = {},
  ): void {
    const names: string[] = [];
    const pattern = template.split("/").map((seg) => {
      if (seg.startsWith(":")) {
        names.push(seg.slice(1));
        return "([^/]+)";
      }
      return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    }).join("/");
    this.#routes.push({
      method,
      template,
      regex: new RegExp(`^${pattern}$`),
      names,
      auth: opts.auth ?? true,
      global: opts.global ?? true,
      handler,
    });
  }

  /** Serves a request whose path (after the version prefix) is `path`. */
  async handle(req: Request, path: string): Promise<Response> {
    const url = new URL(req.url);
    const d = this.#d;
    const record: RecordedRequest = {
      method: req.method,
      path,
      query: Object.fromEntries(url.searchParams),
      body: undefined,
      status: 0,
      at: performance.now(),
    };
    d.requests.push(record);
    let parsed: ParsedBody | undefined;
    let parseError: ApiError | undefined;
    const body = async (): Promise<ParsedBody> => {
      if (parsed) return parsed;
      if (parseError) throw parseError;
      try {
        parsed = await parseBody(req);
        record.body = parsed.recorded;
        return parsed;
      } catch (e) {
        parseError = e instanceof ApiError
          ? e
          : new ApiError(400, { message: "400: Bad Request", code: 0 });
        throw parseError;
      }
    };
    let response: Response;
    try {
      response = await this.#dispatch(req, path, url, body);
    } catch (e) {
      if (e instanceof ApiError) response = json(e.status, e.body);
      else {
        console.error("emulator: internal error", e);
        response = json(500, { message: "500: Internal Server Error", code: 0 });
      }
    }
    if (record.body === undefined && req.body && !req.bodyUsed) {
      // Record bodies even for requests rejected before the handler read them.
      try {
        record.body = (await body()).recorded;
      } catch {
        // unparseable body: leave undefined
      }
    }
    record.status = response.status;
    return response;
  }

  async #dispatch(
    req: Request,
    path: string,
    url: URL,
    body: () => Promise<ParsedBody>,
  ): Promise<Response> {
    const d = this.#d;
    const matches = this.#routes.map((r) => ({ r, m: r.regex.exec(path) })).filter((x) => x.m);
    // Fault injection comes first: the test decides what this call returns.
    const fault = d.faults.find((f) =>
      (!f.method || f.method.toUpperCase() === req.method) &&
      (typeof f.path === "string" ? f.path === path : f.path.test(path))
    );
    if (fault) {
      if (--fault.remaining <= 0) d.faults.splice(d.faults.indexOf(fault), 1);
      return faultResponse(fault, matches[0]?.r.template ?? path);
    }
    // Discord's router: unknown path → 404, unserved method → 405 (per the OpenAPI spec).
    const operation = d.spec === false ? undefined : matchOperation(req.method, path);
    if (operation instanceof ApiError) return json(operation.status, operation.body);
    const hit = matches.find((x) => x.r.method === req.method);
    if (!hit && operation) notEmulated(operation.operationId, req.method, path);
    if (matches.length === 0) return json(404, { message: "404: Not Found", code: 0 });
    if (!hit) return json(405, { message: "405: Method Not Allowed", code: 0 });
    const route = hit.r;
    if (route.auth && req.headers.get("authorization") !== `Bot ${d.token()}`) {
      return json(401, { message: "401: Unauthorized", code: 0 });
    }
    const params: Record<string, string> = {};
    route.names.forEach((n, i) => (params[n] = hit.m![i + 1]));
    const major = params.channel ?? params.guild ??
      (params.webhook ? `${params.webhook}/${params.token}` : "");
    const decision = d.limiter.take(`${route.method} ${route.template}`, major, route.global);
    if (decision.limited) {
      const { retryAfter, global, scope } = decision.limited;
      return json(429, rateLimitedBody(retryAfter, global), {
        ...decision.headers,
        "Retry-After": retryAfter.toFixed(3),
        "X-RateLimit-Scope": scope,
      });
    }
    // Form validation against the operation's schemas: 400 / 50035 with the field paths.
    if (operation) await validateRequest(operation, url.searchParams, body);
    const response = await route.handler({ req, params, query: url.searchParams, body });
    for (const [k, v] of Object.entries(decision.headers)) response.headers.set(k, v);
    return response;
  }

  // ---------------------------------------------------------------- helpers

  #channel(id: string): Channel {
    const channel = this.#d.world.channels.get(id);
    if (!channel) throw Errors.unknownChannel();
    if (!this.#d.world.botCanView(channel)) throw Errors.missingAccess();
    return channel;
  }

  #message(channel: Channel, id: string): Message {
    const m = this.#d.world.findMessage(channel.id, id);
    if (!m) throw Errors.unknownMessage();
    return m;
  }

  #rest(m: Message): Message {
    return this.#d.messages.serialize(m, "rest");
  }

  #emoji(raw: string): { id: string | null; name: string; animated?: boolean } {
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      throw Errors.unknownEmoji();
    }
    const emoji = parseEmoji(decoded);
    if (!emoji) throw Errors.unknownEmoji();
    if (emoji.id !== null) {
      const known = this.#d.world.emojis.get(emoji.id);
      if (!known) throw Errors.unknownEmoji();
      return { id: known.id, name: known.name, animated: known.animated };
    }
    return emoji;
  }

  // ---------------------------------------------------------------- routes

  #register(): void {
    const d = this.#d;
    const world = d.world;

    this.#add("GET", "/gateway", () => json(200, { url: d.gatewayUrl() }), { auth: false });
    this.#add("GET", "/gateway/bot", () =>
      json(200, {
        url: d.gatewayUrl(),
        shards: 1,
        session_start_limit: { ...d.gateway.sessionStartLimit },
      }));
    this.#add("GET", "/users/@me", () =>
      json(200, {
        ...world.bot,
        accent_color: null,
        avatar_decoration_data: null,
        banner: null,
        banner_color: null,
        clan: null,
        collectibles: null,
        email: null,
        flags: 0,
        locale: "en-US",
        mfa_enabled: true,
        premium_type: 0,
        primary_guild: null,
        verified: true,
      }));
    // Current user's guilds: partial guilds, sorted by id, at most `limit`
    // (1..200, default 200) after `after` / before `before`.
    this.#add("GET", "/users/@me/guilds", ({ query }) => {
      const raw = query.get("limit");
      const limit = raw === null ? 200 : Number(raw);
      if (!Number.isInteger(limit) || limit < 1 || limit > 200) {
        throw new ApiError(400, {
          message: "Invalid Form Body",
          code: 50035,
          errors: {
            limit: {
              _errors: [{
                code: limit > 200 ? "NUMBER_TYPE_MAX" : "NUMBER_TYPE_MIN",
                message: limit > 200
                  ? "int value should be less than or equal to 200."
                  : "int value should be greater than or equal to 1.",
              }],
            },
          },
        });
      }
      const after = query.get("after");
      const before = query.get("before");
      const bySnowflake = (a: string, b: string) =>
        a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
      let ids = world.guildIds().filter((id) => world.botInGuild(id)).sort(bySnowflake);
      if (after) ids = ids.filter((id) => bySnowflake(id, after) > 0);
      if (before) ids = ids.filter((id) => bySnowflake(id, before) < 0).slice(-limit);
      return json(
        200,
        ids.slice(0, limit).map((id) => {
          const g = world.guild(id)!;
          return {
            id: g.id,
            name: g.name,
            icon: null,
            banner: null,
            owner: false,
            permissions: "2248473465835073",
            features: [],
          };
        }),
      );
    });
    this.#add("GET", "/users/:user", ({ params }) => {
      const user = world.users.get(params.user);
      if (!user) throw Errors.unknownUser();
      return json(200, { ...user, accent_color: null, banner: null, avatar_decoration_data: null });
    });
    this.#add("GET", "/applications/@me", () => json(200, this.#application()));
    this.#add("GET", "/oauth2/applications/@me", () => json(200, this.#application()));
    this.#add("POST", "/users/@me/channels", async ({ body }) => {
      const { json: b } = await body();
      const recipient = (b as Record<string, unknown> | null)?.recipient_id;
      if (typeof recipient !== "string") {
        throw new ApiError(400, {
          message: "Invalid Form Body",
          code: 50035,
          errors: {
            recipient_id: {
              _errors: [{ code: "BASE_TYPE_REQUIRED", message: "This field is required" }],
            },
          },
        });
      }
      if (!world.users.has(recipient) || recipient === world.bot.id) {
        throw new ApiError(400, { message: "Invalid Recipient(s)", code: 50033 });
      }
      return json(200, world.dmChannel(recipient).channel);
    });
    this.#add("GET", "/guilds/:guild", ({ params }) => {
      const guild = world.guild(params.guild);
      if (!guild) throw Errors.unknownGuild();
      if (!world.botInGuild(guild.id)) throw Errors.missingAccess();
      return json(200, { ...guild, features: [], emojis: [], stickers: [] });
    });
    this.#add("GET", "/guilds/:guild/channels", ({ params }) => {
      if (!world.guild(params.guild)) throw Errors.unknownGuild();
      if (!world.botInGuild(params.guild)) throw Errors.missingAccess();
      return json(200, world.guildChannels(params.guild));
    });
    this.#add("GET", "/guilds/:guild/members/:user", ({ params }) => {
      if (!world.guild(params.guild)) throw Errors.unknownGuild();
      if (!world.botInGuild(params.guild)) throw Errors.missingAccess();
      const member = world.member(params.guild, params.user, true);
      if (!member) throw new ApiError(404, { message: "Unknown Member", code: 10007 });
      return json(200, member);
    });
    this.#add(
      "GET",
      "/channels/:channel",
      ({ params }) => json(200, this.#channel(params.channel)),
    );
    this.#add("GET", "/channels/:channel/messages", ({ params, query }) => {
      const channel = this.#channel(params.channel);
      return json(200, this.#history(channel, query));
    });
    this.#add("GET", "/channels/:channel/messages/:message", ({ params }) => {
      const channel = this.#channel(params.channel);
      return json(200, this.#rest(this.#message(channel, params.message)));
    });
    this.#add("POST", "/channels/:channel/messages", async ({ params, body }) => {
      const channel = this.#channel(params.channel);
      const { json: b, files } = await body();
      return json(200, this.#rest(this.#createFromPayload(channel, b, files)));
    });
    this.#add("PATCH", "/channels/:channel/messages/:message", async ({ params, body }) => {
      const channel = this.#channel(params.channel);
      const message = this.#message(channel, params.message);
      const { json: b, files } = await body();
      if (message.author.id !== world.bot.id) throw Errors.cannotEditOthers();
      const payload = validateMessagePayload(b, { edit: true, fileCount: files.length });
      return json(200, this.#rest(d.messages.edit(message, payload, files)));
    });
    this.#add("DELETE", "/channels/:channel/messages/:message", ({ params }) => {
      const channel = this.#channel(params.channel);
      const message = this.#message(channel, params.message);
      if (message.author.id !== world.bot.id) {
        if (channel.type === 1) {
          throw new ApiError(403, {
            message: "Cannot execute action on a DM channel",
            code: 50003,
          });
        }
        throw Errors.missingPermissions();
      }
      d.messages.remove(channel, message);
      return noContent();
    });
    this.#add("PUT", "/channels/:channel/messages/:message/reactions/:emoji/@me", ({ params }) => {
      const channel = this.#channel(params.channel);
      const message = this.#message(channel, params.message);
      const emoji = this.#emoji(params.emoji);
      const existing = world.reactionsByMessage.get(message.id) ?? [];
      if (
        existing.length >= 20 &&
        !existing.some((r) => r.emoji.name === emoji.name && r.emoji.id === emoji.id)
      ) {
        throw new ApiError(400, {
          message: "Maximum number of reactions reached (20)",
          code: 30010,
        });
      }
      d.messages.addReaction(channel, message, world.bot.id, emoji);
      return noContent();
    });
    this.#add(
      "DELETE",
      "/channels/:channel/messages/:message/reactions/:emoji/@me",
      ({ params }) => {
        const channel = this.#channel(params.channel);
        const message = this.#message(channel, params.message);
        d.messages.removeReaction(channel, message, world.bot.id, this.#emoji(params.emoji));
        return noContent();
      },
    );
    this.#add(
      "DELETE",
      "/channels/:channel/messages/:message/reactions/:emoji/:user",
      ({ params }) => {
        const channel = this.#channel(params.channel);
        this.#message(channel, params.message);
        this.#emoji(params.emoji);
        throw channel.type === 1
          ? new ApiError(403, { message: "Cannot execute action on a DM channel", code: 50003 })
          : Errors.missingPermissions();
      },
    );
    this.#add(
      "GET",
      "/channels/:channel/messages/:message/reactions/:emoji",
      ({ params, query }) => {
        const channel = this.#channel(params.channel);
        const message = this.#message(channel, params.message);
        const emoji = this.#emoji(params.emoji);
        const record = (world.reactionsByMessage.get(message.id) ?? []).find((r) =>
          emoji.id !== null ? r.emoji.id === emoji.id : r.emoji.name === emoji.name
        );
        const limit = clampLimit(query.get("limit"), 25, 100);
        const users = (record?.userIds ?? []).map((id) => world.users.get(id)!).slice(0, limit);
        return json(200, users);
      },
    );
    // Global application commands: bulk overwrite and list.
    this.#add("GET", "/applications/:app/commands", ({ params }) => {
      if (params.app !== d.applicationId) throw Errors.missingAccess();
      return json(200, d.commands);
    });
    this.#add("PUT", "/applications/:app/commands", async ({ params, body }) => {
      if (params.app !== d.applicationId) throw Errors.missingAccess();
      const { json: raw } = await body();
      const list = validateCommands(raw);
      const next: ApplicationCommand[] = list.map((c) => {
        const old = d.commands.find((o) => o.name === c.name && o.type === c.type);
        return {
          id: old?.id ?? world.ids.next(),
          application_id: d.applicationId,
          version: world.ids.next(),
          type: c.type,
          name: c.name,
          description: c.description,
          ...(c.options ? { options: c.options } : {}),
          default_member_permissions: null,
          dm_permission: true,
          contexts: null,
          integration_types: [0],
          nsfw: false,
        };
      });
      d.commands.splice(0, d.commands.length, ...next);
      return json(200, next);
    });
    // Start Thread without Message: type 11 (public) or 12 (private, the v10 default).
    this.#add("POST", "/channels/:channel/threads", async ({ params, body }) => {
      const parent = this.#channel(params.channel);
      const { json: raw } = await body();
      const b = (raw ?? {}) as Record<string, unknown>;
      const errors = new FormErrors();
      if (typeof b.name !== "string" || b.name.trim().length === 0) {
        errors.add(["name"], "BASE_TYPE_REQUIRED", "This field is required");
      } else if (b.name.length > 100) {
        errors.add(["name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.");
      }
      const type = b.type ?? 12;
      if (type !== 11 && type !== 12) {
        errors.add(["type"], "BASE_TYPE_CHOICES", "Value must be one of {11, 12}.");
      }
      const archive = b.auto_archive_duration ?? 4320;
      if (![60, 1440, 4320, 10080].includes(archive as number)) {
        errors.add(
          ["auto_archive_duration"],
          "BASE_TYPE_CHOICES",
          "Value must be one of {60, 1440, 4320, 10080}.",
        );
      }
      errors.throwIfAny();
      // Threads start from guild text (0) or announcement (5) channels only.
      if (parent.type !== 0 && parent.type !== 5) {
        throw new ApiError(400, {
          message: "Cannot execute action on this channel type",
          code: 50024,
        });
      }
      const thread = world.addThread(parent.id, { name: b.name as string });
      thread.type = type as number;
      (thread.thread_metadata as Record<string, unknown>).auto_archive_duration = archive;
      d.gateway.dispatch("THREAD_CREATE", { ...thread, newly_created: true }, {
        intent: Intents.Guilds,
      });
      return json(201, thread);
    });
    // Modify Channel, for threads: name, archived, locked, auto_archive_duration.
    this.#add("PATCH", "/channels/:channel", async ({ params, body }) => {
      const channel = this.#channel(params.channel);
      const { json: raw } = await body();
      const b = (raw ?? {}) as Record<string, unknown>;
      const errors = new FormErrors();
      for (const key of ["archived", "locked"]) {
        if (key in b && typeof b[key] !== "boolean") {
          errors.add([key], "BASE_TYPE_BOOLEAN", "Must be either true or false.");
        }
      }
      if ("name" in b && (typeof b.name !== "string" || !b.name || b.name.length > 100)) {
        errors.add(["name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.");
      }
      errors.throwIfAny();
      const meta = channel.thread_metadata as Record<string, unknown> | undefined;
      if (("archived" in b || "locked" in b) && !meta) {
        throw new ApiError(400, {
          message: "Cannot execute action on this channel type",
          code: 50024,
        });
      }
      if (typeof b.name === "string") channel.name = b.name;
      if (meta) {
        if (typeof b.archived === "boolean" && b.archived !== meta.archived) {
          meta.archived = b.archived;
          meta.archive_timestamp = new Date().toISOString();
        }
        if (typeof b.locked === "boolean") meta.locked = b.locked;
      }
      d.gateway.dispatch(meta ? "THREAD_UPDATE" : "CHANNEL_UPDATE", channel, {
        intent: Intents.Guilds,
      });
      return json(200, channel);
    });
    this.#add("POST", "/channels/:channel/typing", ({ params }) => {
      const channel = this.#channel(params.channel);
      d.messages.typing(channel, world.bot.id);
      return noContent();
    });
    this.#add(
      "POST",
      "/interactions/:interaction/:token/callback",
      async ({ params, body, query }) => {
        const { json: b, files } = await body();
        const out = d.interactions.callback(
          params.interaction,
          params.token,
          b,
          files,
          query.get("with_response") === "true",
        );
        return out ? json(200, out) : noContent();
      },
      { auth: false, global: false },
    );
    this.#add("POST", "/webhooks/:webhook/:token", async ({ params, body }) => {
      const { json: b, files } = await body();
      const m = d.interactions.followUp(params.webhook, params.token, asObject(b), files);
      return json(200, this.#rest(m));
    }, { auth: false, global: false });
    this.#add("GET", "/webhooks/:webhook/:token/messages/:message", ({ params }) => {
      return json(
        200,
        this.#rest(d.interactions.get(params.webhook, params.token, params.message)),
      );
    }, { auth: false, global: false });
    this.#add("PATCH", "/webhooks/:webhook/:token/messages/:message", async ({ params, body }) => {
      const { json: b, files } = await body();
      const m = d.interactions.edit(
        params.webhook,
        params.token,
        params.message,
        asObject(b),
        files,
      );
      return json(200, this.#rest(m));
    }, { auth: false, global: false });
    this.#add("DELETE", "/webhooks/:webhook/:token/messages/:message", ({ params }) => {
      d.interactions.delete(params.webhook, params.token, params.message);
      return noContent();
    }, { auth: false, global: false });
  }

  #application(): Record<string, unknown> {
    const d = this.#d;
    return {
      id: d.applicationId,
      name: d.world.bot.username,
      icon: null,
      description: "",
      summary: "",
      type: null,
      hook: true,
      bot_public: true,
      bot_require_code_grant: false,
      verify_key: "0".repeat(64),
      flags: d.gateway.intentsAllowed ? 1 << 19 : 0,
      bot: { ...d.world.bot },
      owner: { ...d.world.bot, bot: undefined, id: d.world.ids.next(), username: "owner" },
      team: null,
      approximate_guild_count: d.world.guildIds().length,
      redirect_uris: [],
      interactions_endpoint_url: null,
      tags: [],
    };
  }

  #history(channel: Channel, query: URLSearchParams): Message[] {
    const raw = query.get("limit");
    let limit = 50;
    if (raw !== null) {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 1 || n > 100) {
        throw new ApiError(400, {
          message: "Invalid Form Body",
          code: 50035,
          errors: {
            limit: {
              _errors: [{
                code: n > 100 ? "NUMBER_TYPE_MAX" : "NUMBER_TYPE_MIN",
                message: n > 100
                  ? "int value should be less than or equal to 100."
                  : "int value should be greater than or equal to 1.",
              }],
            },
          },
        });
      }
      limit = n;
    }
    const all = this.#d.world.history.get(channel.id) ?? [];
    const before = query.get("before");
    const after = query.get("after");
    const around = query.get("around");
    let picked: Message[];
    if (around) {
      const pivot = BigInt(around);
      const older = all.filter((m) => BigInt(m.id) < pivot);
      const newer = all.filter((m) => BigInt(m.id) >= pivot);
      const half = Math.floor(limit / 2);
      const newerPart = newer.slice(0, limit - Math.min(half, older.length));
      const olderPart = older.slice(Math.max(0, older.length - (limit - newerPart.length)));
      picked = [...olderPart, ...newerPart];
    } else if (after) {
      const pivot = BigInt(after);
      picked = all.filter((m) => BigInt(m.id) > pivot).slice(0, limit);
    } else {
      const pivot = before ? BigInt(before) : null;
      const older = pivot === null ? all : all.filter((m) => BigInt(m.id) < pivot);
      picked = older.slice(Math.max(0, older.length - limit));
    }
    return picked.reverse().map((m) => this.#rest(m));
  }

  #createFromPayload(channel: Channel, b: unknown, files: FileInput[]): Message {
    const world = this.#d.world;
    const payload = validateMessagePayload(b, { edit: false, fileCount: files.length });
    if (channel.type === 1) {
      const recipient = world.dmRecipient(channel);
      if (recipient?.bot) throw Errors.cannotDmBot();
    }
    const meta = Array.isArray(payload.attachments)
      ? payload.attachments as Record<string, unknown>[]
      : [];
    const described = files.map((f, i) => {
      const m = meta.find((a) => String(a.id) === String(i));
      return {
        ...f,
        filename: typeof m?.filename === "string" ? m.filename : f.filename,
        description: typeof m?.description === "string" ? m.description : undefined,
      };
    });
    if (payload.nonce !== undefined && payload.enforce_nonce === true) {
      const dup = (world.history.get(channel.id) ?? []).find((m) =>
        m.nonce === payload.nonce && m.author.id === world.bot.id &&
        Date.now() - Date.parse(m.timestamp) < 120_000
      );
      if (dup) return dup;
    }
    return this.#d.messages.create(channel, world.bot, {
      content: payload.content as string | undefined,
      tts: payload.tts as boolean | undefined,
      embeds: payload.embeds as unknown[] | undefined,
      components: payload.components as unknown[] | undefined,
      flags: payload.flags as number | undefined,
      nonce: payload.nonce as string | number | undefined,
      files: described,
      allowedMentions: payload.allowed_mentions as Record<string, unknown> | undefined,
      reference: payload.message_reference as Record<string, unknown> | undefined,
    });
  }

  /** Serves the attachment CDN: GET /attachments/{channel}/{attachment}/{filename}. */
  cdn(path: string): Response {
    const m = /^\/(?:proxy\/)?attachments\/(\d+)\/(\d+)\/([^/]+)$/.exec(path);
    const file = m ? this.#d.world.files.get(m[2]) : undefined;
    if (
      !m || !file ||
      encodeURIComponent(file.filename) !== m[3] && file.filename !== decodeURIComponent(m[3])
    ) {
      return new Response("This content is no longer available.", {
        status: 404,
        headers: { "content-type": "text/plain" },
      });
    }
    return new Response(file.data.slice(), {
      status: 200,
      headers: {
        "content-type": file.contentType,
        "content-length": String(file.data.byteLength),
        "cache-control": "public, max-age=31536000",
        "content-disposition": `attachment; filename=${encodeURIComponent(file.filename)}`,
      },
    });
  }
}

/** A route Discord serves but the emulator does not: say so, since the 404 alone would mislead. */
function notEmulated(operationId: string, method: string, path: string): void {
  console.error(
    `emulator: ${method} ${path} is Discord's ${operationId}, which the emulator does not implement`,
  );
}

function asObject(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v)
    ? v as Record<string, unknown>
    : {};
}

function clampLimit(raw: string | null, def: number, max: number): number {
  const n = raw === null ? def : Number(raw);
  return Number.isInteger(n) ? Math.min(Math.max(n, 1), max) : def;
}

function faultResponse(fault: Fault, template: string): Response {
  const { status, retryAfter, global, body } = fault.response;
  if (status === 429) {
    const ra = retryAfter ?? 1;
    const headers: Record<string, string> = {
      "Retry-After": String(ra),
      "X-RateLimit-Scope": global ? "global" : "user",
    };
    if (global) headers["X-RateLimit-Global"] = "true";
    else {
      headers["X-RateLimit-Limit"] = "5";
      headers["X-RateLimit-Remaining"] = "0";
      headers["X-RateLimit-Reset"] = ((Date.now() + ra * 1000) / 1000).toFixed(3);
      headers["X-RateLimit-Reset-After"] = ra.toFixed(3);
    }
    return json(429, body ?? rateLimitedBody(ra, global ?? false), headers);
  }
  if (status === 204) return noContent();
  const defaults: Record<number, { message: string; code: number }> = {
    400: { message: "400: Bad Request", code: 0 },
    401: { message: "401: Unauthorized", code: 0 },
    403: { message: "Missing Permissions", code: 50013 },
    404: { message: "404: Not Found", code: 0 },
    500: { message: "500: Internal Server Error", code: 0 },
    502: { message: "502: Bad Gateway", code: 0 },
    503: { message: "503: Service Unavailable", code: 0 },
  };
  void template;
  return json(status, body ?? defaults[status] ?? { message: `${status}: Error`, code: 0 });
}

/** Parses a JSON or multipart/form-data body (payload_json + files[n]). */
async function parseBody(req: Request): Promise<ParsedBody> {
  const type = req.headers.get("content-type") ?? "";
  if (type.startsWith("multipart/form-data")) {
    let form: FormData;
    try {
      form = await req.formData();
    } catch {
      throw new ApiError(400, { message: "400: Bad Request", code: 0 });
    }
    let json: unknown = {};
    const files: ParsedBody["files"] = [];
    for (const [field, value] of form.entries()) {
      if (field === "payload_json" && typeof value === "string") {
        try {
          json = JSON.parse(value);
        } catch {
          throw new ApiError(400, {
            message: "The request body contains invalid JSON.",
            code: 50109,
          });
        }
      } else if (typeof value !== "string") {
        const m = /^files\[(\d+)\]$/.exec(field) ?? /^file(\d*)$/.exec(field);
        const index = m ? Number(m[1] || 0) : files.length;
        files.push({
          field,
          index,
          filename: value.name,
          contentType: value.type || undefined,
          data: new Uint8Array(await value.arrayBuffer()),
        });
      }
    }
    files.sort((a, b) => a.index - b.index);
    const recorded = {
      payload_json: json,
      files: files.map((f) => ({
        field: f.field,
        filename: f.filename,
        contentType: f.contentType ?? "",
        size: f.data.byteLength,
      })),
    };
    if (files.length > MAX_ATTACHMENTS) {
      return { json, files, recorded };
    }
    if (files.some((f) => f.data.byteLength > MAX_FILE_BYTES)) throw Errors.tooLarge();
    return { json, files, recorded };
  }
  const text = await req.text();
  if (text.length === 0) return { json: {}, files: [], recorded: undefined };
  try {
    const json = JSON.parse(text);
    return { json, files: [], recorded: json };
  } catch {
    throw new ApiError(400, { message: "The request body contains invalid JSON.", code: 50109 });
  }
}

/** A command as registered: Discord's rules for CHAT_INPUT commands and string options. */
interface CommandInput {
  type: number;
  name: string;
  description: string;
  options?: { type: number; name: string; description: string; required?: boolean }[];
}

const COMMAND_NAME_RE = /^[-_\p{Ll}\p{Lo}\p{N}]{1,32}$/u;

/** Validates a bulk-overwrite body (at most 100 commands; names, descriptions, options). */
function validateCommands(raw: unknown): CommandInput[] {
  const errors = new FormErrors();
  if (!Array.isArray(raw)) {
    throw formErrorAt([], "BASE_TYPE_ARRAY", "Must be an array.");
  }
  if (raw.length > 100) errors.add([], "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.");
  const out: CommandInput[] = [];
  const seen = new Set<string>();
  raw.forEach((c: Record<string, unknown>, i) => {
    const type = (c?.type ?? 1) as number;
    if (![1, 2, 3, 4].includes(type)) {
      errors.add([i, "type"], "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4}.");
    }
    const name = c?.name;
    if (typeof name !== "string" || !COMMAND_NAME_RE.test(name)) {
      errors.add([i, "name"], "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid");
    } else if (seen.has(`${type}:${name}`)) {
      errors.add(
        [i, "name"],
        "APPLICATION_COMMANDS_DUPLICATE_NAME",
        "Application command names must be unique",
      );
    } else seen.add(`${type}:${name}`);
    const desc = c?.description;
    if (type === 1 && (typeof desc !== "string" || desc.length < 1 || desc.length > 100)) {
      errors.add(
        [i, "description"],
        "BASE_TYPE_BAD_LENGTH",
        "Must be between 1 and 100 in length.",
      );
    }
    const options = c?.options as Record<string, unknown>[] | undefined;
    if (options !== undefined) {
      if (!Array.isArray(options) || options.length > 25) {
        errors.add([i, "options"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.");
      } else {
        options.forEach((o, j) => {
          if (typeof o?.type !== "number" || o.type < 1 || o.type > 11) {
            errors.add(
              [i, "options", j, "type"],
              "BASE_TYPE_CHOICES",
              "Value must be one of {1, …, 11}.",
            );
          }
          if (typeof o?.name !== "string" || !COMMAND_NAME_RE.test(o.name)) {
            errors.add(
              [i, "options", j, "name"],
              "APPLICATION_COMMAND_INVALID_NAME",
              "Command name is invalid",
            );
          }
          if (
            typeof o?.description !== "string" || o.description.length < 1 ||
            o.description.length > 100
          ) {
            errors.add(
              [i, "options", j, "description"],
              "BASE_TYPE_BAD_LENGTH",
              "Must be between 1 and 100 in length.",
            );
          }
        });
      }
    }
    out.push({
      type,
      name: name as string,
      description: (desc as string) ?? "",
      ...(options ? { options: options as CommandInput["options"] } : {}),
    });
  });
  errors.throwIfAny();
  return out;
}

function formErrorAt(path: (string | number)[], code: string, message: string) {
  const e = new FormErrors();
  e.add(path, code, message);
  return e.toError();
}
