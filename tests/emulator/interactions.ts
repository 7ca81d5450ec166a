/**
 * Message-component interactions: INTERACTION_CREATE for a button click, the
 * 3-second callback window, callback types 4/5/6/7/9, and the 15-minute
 * interaction webhook (follow-ups and `@original`).
 *
 * @module
 */
import type { Messages } from "./messages.ts";
import type { Gateway } from "./gateway.ts";
import type { Channel, Message, User, World } from "./state.ts";
import { ApiError, Errors, formError, validateMessagePayload } from "./validate.ts";
import type { FileInput } from "./messages.ts";

/** A registered application command (global), as Discord returns it. */
export interface ApplicationCommand {
  id: string;
  application_id: string;
  version: string;
  type: number;
  name: string;
  description: string;
  options?: { type: number; name: string; description: string; required?: boolean }[];
  default_member_permissions: string | null;
  dm_permission: boolean;
  contexts: number[] | null;
  integration_types: number[];
  nsfw: boolean;
}

/** How long Discord waits for the initial callback. */
export const CALLBACK_WINDOW_MS = 3_000;
/** How long the interaction token stays valid for follow-ups. */
export const TOKEN_LIFETIME_MS = 15 * 60_000;

/** Callback data as the bot sent it (typed loosely on purpose: tests dig into it). */
// deno-lint-ignore no-explicit-any
export type CallbackData = any;

/** What happened to a button click. */
export interface InteractionOutcome {
  /** Whether the bot answered the callback within 3 s. */
  acknowledged: boolean;
  /** The callback body the bot sent (type and data). */
  callback?: { type: number; data?: CallbackData };
  /** Milliseconds from dispatch to callback (or to the timeout). */
  ms: number;
  /** The interaction id. */
  interactionId: string;
  /** For type 4/5: the response message (ephemeral ones are only visible here). */
  message?: Message;
  /** Whether the response is ephemeral (flags 64). */
  ephemeral: boolean;
}

/** An interaction as the emulator tracks it. */
export interface InteractionRecord {
  /** A component click or an application (slash) command. */
  kind?: "component" | "command";
  /** For commands: the command's name and options. */
  command?: { name: string; options: { name: string; type: number; value: unknown }[] };
  id: string;
  token: string;
  customId: string;
  userId: string;
  channelId: string;
  messageId: string;
  createdAt: number;
  callback?: { type: number; data?: CallbackData };
  /** Response message for callbacks 4/5 (may be ephemeral). */
  response?: Message;
  /** Follow-up messages (ephemeral ones are stored only here). */
  followUps: Message[];
  resolve?: (o: InteractionOutcome) => void;
  timer?: ReturnType<typeof setTimeout>;
  dispatchedAt: number;
}

const EPHEMERAL = 1 << 6;
const LOADING = 1 << 7;

/** The interaction registry of one emulator. */
export class Interactions {
  /** Every interaction created, in order. */
  readonly records: InteractionRecord[] = [];
  readonly #byId = new Map<string, InteractionRecord>();

  /** Creates the registry. */
  constructor(
    private readonly world: World,
    private readonly gateway: Gateway,
    private readonly messages: Messages,
    private readonly applicationId: string,
  ) {}

  /**
   * Dispatches INTERACTION_CREATE for a button on a bot message; resolves on
   * callback or when the 3 s window closes. `lateByMs` models a click whose
   * gateway delivery was delayed: the interaction was created that long ago,
   * so with 3,000 or more Discord answers its callback with 10062 Unknown
   * interaction, as it does for any token past the window.
   */
  clickButton(
    opts: { userId: string; messageId: string; customId: string; lateByMs?: number },
  ): Promise<InteractionOutcome> {
    const world = this.world;
    const user = world.users.get(opts.userId);
    if (!user) throw new Error(`clickButton: unknown user ${opts.userId}`);
    // Buttons on ephemeral responses can be clicked too (by the user who saw them).
    const message = world.findMessageAnywhere(opts.messageId) ??
      this.#ephemeralMessage(opts.messageId, opts.userId);
    if (!message) throw new Error(`clickButton: unknown message ${opts.messageId}`);
    if (message.author.id !== world.bot.id) {
      throw new Error(`clickButton: message ${opts.messageId} was not sent by the bot`);
    }
    const button = findButton(message.components, opts.customId);
    if (!button) {
      throw new Error(
        `clickButton: message ${opts.messageId} has no button with custom_id ${opts.customId}`,
      );
    }
    if (button.disabled === true) {
      throw new Error(`clickButton: button ${opts.customId} is disabled`);
    }
    const channel = world.channels.get(message.channel_id)!;
    const id = world.ids.next();
    // Real tokens are base64 of "interaction:<id>:<secret>" (no characters that need URL escaping).
    const token = btoa(`interaction:${id}:${randomToken(64)}`).replace(/=+$/, "");
    const record: InteractionRecord = {
      id,
      token,
      customId: opts.customId,
      userId: user.id,
      channelId: channel.id,
      messageId: message.id,
      createdAt: Date.now() - (opts.lateByMs ?? 0),
      followUps: [],
      dispatchedAt: performance.now(),
    };
    this.records.push(record);
    this.#byId.set(id, record);
    return this.#dispatch(record, channel, user, {
      data: { component_type: 2, custom_id: opts.customId, id: button.id ?? 1 },
      message: this.messages.serialize(message, "rest"),
      type: 3,
    }, Math.max(0, CALLBACK_WINDOW_MS - (opts.lateByMs ?? 0)));
  }

  /** An ephemeral response or follow-up shown to `userId`. */
  #ephemeralMessage(messageId: string, userId: string): Message | undefined {
    for (const r of this.records) {
      if (r.userId !== userId) continue;
      for (const m of [r.response, ...r.followUps]) {
        if (m?.id === messageId && (m.flags & EPHEMERAL) !== 0) return m;
      }
    }
    return undefined;
  }

  /**
   * A user runs a registered slash command (CHAT_INPUT, type 1) in a channel:
   * INTERACTION_CREATE type 2 with the command's id, name and options, as
   * Discord sends it. Resolves on the callback or after 3 s.
   */
  runCommand(
    opts: {
      userId: string;
      channelId: string;
      name: string;
      options?: Record<string, string>;
    },
    commands: readonly ApplicationCommand[],
  ): Promise<InteractionOutcome> {
    const world = this.world;
    const user = world.users.get(opts.userId);
    if (!user) throw new Error(`runCommand: unknown user ${opts.userId}`);
    const command = commands.find((c) => c.name === opts.name);
    if (!command) throw new Error(`runCommand: no command "${opts.name}" is registered`);
    const channel = world.channels.get(opts.channelId);
    if (!channel) throw new Error(`runCommand: unknown channel ${opts.channelId}`);
    const options = Object.entries(opts.options ?? {}).map(([name, value]) => {
      const declared = command.options?.find((o) => o.name === name);
      if (!declared) throw new Error(`runCommand: "${opts.name}" has no option ${name}`);
      return { name, type: declared.type, value };
    });
    for (const o of command.options ?? []) {
      if (o.required && !options.some((x) => x.name === o.name)) {
        throw new Error(`runCommand: option ${o.name} is required`);
      }
    }
    const id = world.ids.next();
    const token = btoa(`interaction:${id}:${randomToken(64)}`).replace(/=+$/, "");
    const record: InteractionRecord = {
      kind: "command",
      command: { name: command.name, options },
      id,
      token,
      customId: "",
      userId: user.id,
      channelId: channel.id,
      messageId: "",
      createdAt: Date.now(),
      followUps: [],
      dispatchedAt: performance.now(),
    };
    this.records.push(record);
    this.#byId.set(id, record);
    return this.#dispatch(record, channel, user, {
      data: {
        id: command.id,
        name: command.name,
        type: 1,
        ...(options.length ? { options } : {}),
      },
      type: 2,
    }, CALLBACK_WINDOW_MS);
  }

  /**
   * Sends INTERACTION_CREATE with the envelope every interaction carries (the
   * guild member or the DM user, the channel, the token) around `fields`, and
   * resolves once the bot answers or `windowMs` passes without an answer.
   */
  #dispatch(
    record: InteractionRecord,
    channel: Channel,
    user: User,
    fields: Record<string, unknown>,
    windowMs: number,
  ): Promise<InteractionOutcome> {
    const world = this.world;
    const guildId = channel.guild_id;
    const payload: Record<string, unknown> = {
      app_permissions: guildId ? "1071698660929" : "1125899906842623",
      application_id: this.applicationId,
      attachment_size_limit: 10_485_760,
      authorizing_integration_owners: guildId ? { "0": guildId } : { "1": user.id },
      channel: channelPartial(channel),
      channel_id: channel.id,
      context: guildId ? 0 : 1,
      entitlement_sku_ids: [],
      entitlements: [],
      id: record.id,
      locale: "en-US",
      token: record.token,
      version: 1,
      ...fields,
    };
    if (guildId) {
      payload.guild_id = guildId;
      payload.guild = { id: guildId, locale: "en-US", features: [] };
      payload.guild_locale = "en-US";
      payload.member = { ...world.member(guildId, user.id, true), permissions: "1071698660929" };
    } else {
      payload.user = { ...user };
    }
    const promise = new Promise<InteractionOutcome>((resolve) => {
      record.resolve = resolve;
      record.timer = setTimeout(() => {
        record.timer = undefined;
        if (record.callback) return;
        record.resolve = undefined;
        resolve({
          acknowledged: false,
          ms: performance.now() - record.dispatchedAt,
          interactionId: record.id,
          ephemeral: false,
        });
      }, windowMs);
    });
    record.dispatchedAt = performance.now();
    this.gateway.dispatch("INTERACTION_CREATE", payload);
    return promise;
  }

  /** Handles POST /interactions/{id}/{token}/callback. Returns the response body (or null for 204). */
  callback(
    id: string,
    token: string,
    body: unknown,
    files: FileInput[],
    withResponse: boolean,
  ): Record<string, unknown> | null {
    const record = this.#byId.get(id);
    if (!record || record.token !== token) throw Errors.unknownInteraction();
    if (record.callback) throw Errors.alreadyAcknowledged();
    if (Date.now() - record.createdAt > CALLBACK_WINDOW_MS) throw Errors.unknownInteraction();
    if (typeof body !== "object" || body === null) {
      throw formError(["type"], "BASE_TYPE_REQUIRED", "This field is required");
    }
    const { type, data } = body as { type?: unknown; data?: Record<string, unknown> };
    if (![4, 5, 6, 7, 9].includes(type as number)) {
      throw formError(
        ["type"],
        "BASE_TYPE_CHOICES",
        "Value must be one of {4, 5, 6, 7, 9, 10, 12}.",
      );
    }
    const world = this.world;
    const channel = world.channels.get(record.channelId)!;
    const target = world.findMessage(record.channelId, record.messageId) ??
      this.#ephemeralMessage(record.messageId, record.userId);
    if (record.kind === "command" && (type === 6 || type === 7)) {
      // Deferred/updated message only exist for component interactions.
      throw new ApiError(400, {
        message: "Interaction has already been acknowledged.",
        code: 40060,
      });
    }
    let resource: Record<string, unknown> = { type };
    if (type === 4) {
      validateMessagePayload(data ?? {}, { edit: false, fileCount: files.length });
      record.response = this.#respond(record, data ?? {}, files, false);
      resource.message = this.messages.serialize(record.response, "rest");
    } else if (type === 5) {
      record.response = this.#respond(record, { flags: data?.flags }, [], true);
      resource.message = this.messages.serialize(record.response, "rest");
    } else if (type === 7) {
      validateMessagePayload(data ?? {}, { edit: true, fileCount: files.length });
      if (!target) throw Errors.unknownMessage();
      this.messages.edit(target, data ?? {}, files);
      resource.message = this.messages.serialize(target, "rest");
    } else if (type === 9) {
      const d = data ?? {};
      if (typeof d.custom_id !== "string" || typeof d.title !== "string") {
        throw formError(["data", "custom_id"], "BASE_TYPE_REQUIRED", "This field is required");
      }
      resource = { type };
    }
    record.callback = { type: type as number, data };
    if (record.timer !== undefined) clearTimeout(record.timer);
    record.timer = undefined;
    const ephemeral = record.response ? (record.response.flags & EPHEMERAL) !== 0 : false;
    record.resolve?.({
      acknowledged: true,
      callback: record.callback,
      ms: performance.now() - record.dispatchedAt,
      interactionId: record.id,
      message: record.response,
      ephemeral,
    });
    record.resolve = undefined;
    void channel;
    if (!withResponse) return null;
    const interaction: Record<string, unknown> = {
      id: record.id,
      type: record.kind === "command" ? 2 : 3,
    };
    if (record.response) {
      interaction.response_message_id = record.response.id;
      interaction.response_message_loading = type === 5;
      interaction.response_message_ephemeral = ephemeral;
    }
    return { interaction, resource };
  }

  #respond(
    record: InteractionRecord,
    data: Record<string, unknown>,
    files: FileInput[],
    loading: boolean,
  ): Message {
    const channel = this.world.channels.get(record.channelId)!;
    const user = this.world.users.get(record.userId)!;
    const flags = Number(data.flags ?? 0);
    const ephemeral = (flags & EPHEMERAL) !== 0;
    const message = this.messages.create(channel, this.world.bot, {
      content: data.content as string | undefined,
      embeds: data.embeds as unknown[] | undefined,
      components: data.components as unknown[] | undefined,
      flags,
      tts: data.tts as boolean | undefined,
      files,
      allowedMentions: data.allowed_mentions as Record<string, unknown> | undefined,
      ephemeral,
      extra: {
        application_id: this.applicationId,
        webhook_id: this.applicationId,
        interaction_metadata: interactionMetadata(record, user, channel.guild_id),
      },
    });
    if (loading) message.flags |= LOADING;
    return message;
  }

  #webhookRecord(applicationId: string, token: string): InteractionRecord {
    if (applicationId !== this.applicationId) throw Errors.unknownWebhook();
    const record = this.records.find((r) => r.token === token);
    if (!record || Date.now() - record.createdAt > TOKEN_LIFETIME_MS) throw Errors.unknownWebhook();
    if (!record.callback) throw Errors.unknownWebhook();
    return record;
  }

  #webhookMessage(record: InteractionRecord, messageId: string): Message {
    if (messageId === "@original") {
      if (record.response) return record.response;
      if (record.callback?.type === 6 || record.callback?.type === 7) {
        const m = this.world.findMessage(record.channelId, record.messageId);
        if (m) return m;
      }
      throw Errors.unknownMessage();
    }
    const found = [record.response, ...record.followUps].find((m) => m?.id === messageId) ??
      this.world.findMessage(record.channelId, messageId);
    if (!found || found.webhook_id !== this.applicationId && found.id !== record.messageId) {
      throw Errors.unknownMessage();
    }
    return found;
  }

  /** POST /webhooks/{app}/{token}: a follow-up message. */
  followUp(
    applicationId: string,
    token: string,
    body: Record<string, unknown>,
    files: FileInput[],
  ): Message {
    const record = this.#webhookRecord(applicationId, token);
    validateMessagePayload(body, { edit: false, fileCount: files.length });
    const m = this.#respond(record, body, files, false);
    record.followUps.push(m);
    return m;
  }

  /** GET /webhooks/{app}/{token}/messages/{id|@original}. */
  get(applicationId: string, token: string, messageId: string): Message {
    return this.#webhookMessage(this.#webhookRecord(applicationId, token), messageId);
  }

  /** PATCH /webhooks/{app}/{token}/messages/{id|@original}. */
  edit(
    applicationId: string,
    token: string,
    messageId: string,
    body: Record<string, unknown>,
    files: FileInput[],
  ): Message {
    const record = this.#webhookRecord(applicationId, token);
    const message = this.#webhookMessage(record, messageId);
    validateMessagePayload(body, { edit: true, fileCount: files.length });
    message.flags &= ~LOADING;
    return this.messages.edit(message, body, files);
  }

  /** DELETE /webhooks/{app}/{token}/messages/{id|@original}. */
  delete(applicationId: string, token: string, messageId: string): void {
    const record = this.#webhookRecord(applicationId, token);
    const message = this.#webhookMessage(record, messageId);
    if (message.flags & EPHEMERAL) {
      if (record.response === message) record.response = undefined;
      record.followUps = record.followUps.filter((m) => m !== message);
      return;
    }
    const channel = this.world.channels.get(message.channel_id)!;
    this.messages.remove(channel, message);
  }

  /** Clears pending timers (emulator shutdown); pending clicks resolve as unacknowledged. */
  shutdown(): void {
    for (const r of this.records) {
      if (r.timer !== undefined) clearTimeout(r.timer);
      r.timer = undefined;
      r.resolve?.({
        acknowledged: false,
        ms: performance.now() - r.dispatchedAt,
        interactionId: r.id,
        ephemeral: false,
      });
      r.resolve = undefined;
    }
  }
}

/** Throws unless `e` is an ApiError (helper for callers wanting typed errors). */
export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}

function interactionMetadata(
  record: InteractionRecord,
  user: User,
  guildId?: string,
): Record<string, unknown> {
  const owners = guildId ? { "0": guildId } : { "1": user.id };
  if (record.kind === "command") {
    return { id: record.id, type: 2, user: { ...user }, authorizing_integration_owners: owners };
  }
  return {
    id: record.id,
    type: 3,
    user: { ...user },
    authorizing_integration_owners: owners,
    interacted_message_id: record.messageId,
  };
}

function channelPartial(channel: { [k: string]: unknown }): Record<string, unknown> {
  const out: Record<string, unknown> = { ...channel };
  return out;
}

function findButton(components: unknown[], customId: string): Record<string, unknown> | undefined {
  for (const row of components) {
    const children = (row as { components?: unknown[] }).components ?? [];
    for (const c of children) {
      const comp = c as Record<string, unknown>;
      if (comp.type === 2 && comp.custom_id === customId) return comp;
    }
  }
  return undefined;
}

/** Random URL-safe token characters. */
export function randomToken(length: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join("");
}
