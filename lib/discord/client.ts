/**
 * The discord.js adapter: logs in, turns gateway events into the core's plain
 * data, and implements {@link DiscordPort} over Discord's REST API. Nothing
 * outside this folder imports discord.js, so the core stays testable without
 * it and the MCP handshake never waits for it to load.
 *
 * @module
 */
import {
  Client,
  GatewayIntentBits,
  type Interaction,
  type Message,
  MessageFlags,
  Options,
  Partials,
} from "discord.js";
import type { ChatFacts } from "../gate.ts";
import { describeError } from "../log.ts";
import type { AttachmentInfo, InboundMessage } from "../notification.ts";
import type {
  ButtonClick,
  DiscordPort,
  DiscordState,
  HistoryMessage,
  InteractionAnswer,
  MessageBody,
} from "./port.ts";
import { explainLoginFailure, FATAL_CLOSE_CODES } from "./errors.ts";

/** Callbacks from the gateway into the core. */
export interface DiscordHandlers {
  onMessage(msg: InboundMessage): void;
  onButton(click: ButtonClick): Promise<InteractionAnswer>;
  onState(state: DiscordState): void;
}

/** Options for {@link connectDiscord}. */
export interface DiscordOptions {
  token: string;
  /** REST base without version, e.g. `https://discord.com/api`. */
  apiUrl: string;
  log: (line: string) => void;
}

/** A live Discord connection. */
export interface DiscordConnection extends DiscordPort {
  stop(): Promise<void>;
}

const THREAD_TYPES = new Set([10, 11, 12]);
const DM_TYPES = new Set([1]);
const GUILD_TEXT_TYPES = new Set([0, 2, 5, 13, 15, 16]);
const FACTS_CACHE_LIMIT = 500;

/** Starts logging in; resolves at once with a connection whose state is reported through `onState`. */
export function connectDiscord(opts: DiscordOptions, handlers: DiscordHandlers): DiscordConnection {
  let state: DiscordState = { state: "starting" };
  const setState = (next: DiscordState) => {
    state = next;
    handlers.onState(next);
  };

  const client = new Client({
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.DirectMessages,
      GatewayIntentBits.MessageContent,
    ],
    // DMs arrive on channels discord.js has never seen; without this partial
    // it drops those messages silently.
    partials: [Partials.Channel],
    rest: { api: opts.apiUrl, retries: 3, timeout: 15_000 },
    // The bridge reads history over REST when asked; caching messages would
    // only grow memory with traffic.
    makeCache: Options.cacheWithLimits({
      MessageManager: 0,
      ReactionManager: 0,
      ReactionUserManager: 0,
      GuildMemberManager: { maxSize: 1, keepOverLimit: (m) => m.id === m.client.user.id },
      UserManager: { maxSize: 100, keepOverLimit: (u) => u.id === u.client.user.id },
      PresenceManager: 0,
      VoiceStateManager: 0,
      StageInstanceManager: 0,
      GuildStickerManager: 0,
      GuildEmojiManager: 0,
      GuildScheduledEventManager: 0,
      ThreadMemberManager: 0,
      GuildBanManager: 0,
      GuildInviteManager: 0,
      AutoModerationRuleManager: 0,
      ApplicationCommandManager: 0,
    }),
    sweepers: {
      ...Options.DefaultSweeperSettings,
      users: { interval: 600, filter: () => (u) => u.id !== u.client.user?.id },
    },
  });

  const facts = new Map<string, ChatFacts>();
  const remember = (id: string, f: ChatFacts) => {
    if (facts.size >= FACTS_CACHE_LIMIT) facts.delete(facts.keys().next().value!);
    facts.set(id, f);
  };
  const sentByMe = new Set<string>();
  const noteSent = (id: string) => {
    sentByMe.add(id);
    if (sentByMe.size > 500) sentByMe.delete(sentByMe.values().next().value!);
  };

  const botId = () => client.user?.id ?? "";

  async function chatFacts(chatId: string): Promise<ChatFacts> {
    const cached = facts.get(chatId);
    if (cached) return cached;
    const known = client.channels.cache.get(chatId);
    let type: number | undefined;
    let parentId: string | undefined;
    let recipientId: string | undefined;
    if (known && !known.partial) {
      type = known.type;
      parentId = "parentId" in known ? known.parentId ?? undefined : undefined;
      recipientId = "recipientId" in known ? known.recipientId ?? undefined : undefined;
    } else {
      const raw = await client.rest.get(`/channels/${chatId}`) as {
        type: number;
        parent_id?: string | null;
        recipients?: { id: string }[];
      };
      type = raw.type;
      parentId = raw.parent_id ?? undefined;
      recipientId = raw.recipients?.[0]?.id;
    }
    let f: ChatFacts;
    if (DM_TYPES.has(type)) f = { kind: "dm", recipientId };
    else if (THREAD_TYPES.has(type)) f = { kind: "guild", channelId: chatId, parentId };
    else if (GUILD_TEXT_TYPES.has(type)) f = { kind: "guild", channelId: chatId };
    else f = { kind: "other" };
    // A DM without a known recipient is not cached: a later lookup may learn it.
    if (f.kind !== "dm" || f.recipientId) remember(chatId, f);
    return f;
  }

  async function repliesToBot(m: Message): Promise<boolean> {
    const refId = m.reference?.messageId;
    if (!refId) return false;
    if (m.mentions.repliedUser) return m.mentions.repliedUser.id === botId();
    if (sentByMe.has(refId)) return true;
    // Discord omitted the referenced message (e.g. sent before a restart and
    // not included): ask for it rather than guess.
    try {
      const raw = await client.rest.get(
        `/channels/${m.reference?.channelId ?? m.channelId}/messages/${refId}`,
      ) as { author: { id: string } };
      return raw.author.id === botId();
    } catch {
      return false;
    }
  }

  async function toInbound(m: Message): Promise<InboundMessage> {
    let parentId: string | undefined;
    if (m.guildId) {
      const f = await chatFacts(m.channelId).catch(() => undefined);
      if (f?.kind === "guild") parentId = f.parentId;
    } else if (!facts.has(m.channelId)) {
      // A DM's recipient is its author (when not us): cache it for the outbound gate.
      if (m.author.id !== botId()) remember(m.channelId, { kind: "dm", recipientId: m.author.id });
    }
    const attachments: AttachmentInfo[] = [...m.attachments.values()].map((a) => ({
      id: a.id,
      name: a.name ?? a.id,
      contentType: a.contentType ?? undefined,
      size: a.size,
      url: a.url,
    }));
    return {
      id: m.id,
      isDm: !m.guildId,
      channelId: m.channelId,
      parentId,
      guildId: m.guildId ?? undefined,
      authorId: m.author.id,
      authorName: m.author.username,
      authorIsBot: m.author.bot,
      authorIsSelf: m.author.id === botId(),
      mentionsBot: m.mentions.users.has(botId()),
      repliesToBot: await repliesToBot(m),
      content: m.content,
      createdAt: m.createdAt.toISOString(),
      attachments,
      replyToId: m.reference?.messageId ?? undefined,
    };
  }

  client.on("messageCreate", (m) => {
    if (m.author.id === botId()) {
      noteSent(m.id);
      return;
    }
    toInbound(m).then(handlers.onMessage, (err) => {
      opts.log(`could not read message ${m.id}: ${describeError(err)}`);
    });
  });

  client.on("interactionCreate", (interaction: Interaction) => {
    if (!interaction.isButton()) return;
    const click: ButtonClick = {
      customId: interaction.customId,
      userId: interaction.user.id,
      userName: interaction.user.username,
      channelId: interaction.channelId,
      messageId: interaction.message.id,
      guildId: interaction.guildId ?? undefined,
    };
    handlers.onButton(click).then(async (answer) => {
      if (answer.kind === "update") {
        await interaction.update({
          content: answer.body.content,
          components: (answer.body.components ?? []) as never,
          allowedMentions: { parse: [] },
        });
      } else {
        await interaction.reply({ content: answer.content, flags: MessageFlags.Ephemeral });
      }
    }).catch((err) => opts.log(`could not answer a button click: ${describeError(err)}`));
  });

  client.on("clientReady", (c) => {
    setState({ state: "ready", botId: c.user.id, botName: c.user.username });
  });
  client.on("shardReconnecting", () => {
    if (state.state === "ready") setState({ ...state, state: "reconnecting" });
  });
  client.on("shardResume", () => {
    if (state.state === "reconnecting") setState({ ...state, state: "ready" });
  });
  client.on("shardDisconnect", (event) => {
    if (FATAL_CLOSE_CODES.has(event.code)) {
      setState({ state: "failed", reason: explainLoginFailure({ closeCode: event.code }) });
    }
  });
  client.on("error", (err) => opts.log(`discord.js error: ${describeError(err)}`));

  client.login(opts.token).catch((err) => {
    if (state.state !== "failed") {
      setState({ state: "failed", reason: explainLoginFailure({ err }) });
    }
    client.destroy().catch(() => {});
  });

  const sendable = (body: MessageBody) => ({ allowed_mentions: { parse: [] }, ...body });

  return {
    status: () => state,
    chatFacts,
    async openDm(userId) {
      const raw = await client.rest.post("/users/@me/channels", {
        body: { recipient_id: userId },
      }) as { id: string };
      remember(raw.id, { kind: "dm", recipientId: userId });
      return raw.id;
    },
    async sendMessage(chatId, body, files) {
      const payload = sendable(body);
      const raw = await client.rest.post(`/channels/${chatId}/messages`, {
        body: files?.length
          ? { ...payload, attachments: files.map((f, i) => ({ id: i, filename: f.name })) }
          : payload,
        files: files?.map((f, i) => ({
          key: `files[${i}]`,
          name: f.name,
          data: f.data,
          contentType: f.contentType,
        })),
      }) as { id: string };
      noteSent(raw.id);
      return { id: raw.id };
    },
    async editMessage(chatId, messageId, body) {
      const raw = await client.rest.patch(`/channels/${chatId}/messages/${messageId}`, {
        body: sendable(body),
      }) as { id: string };
      return { id: raw.id };
    },
    async addReaction(chatId, messageId, emoji) {
      await client.rest.put(
        `/channels/${chatId}/messages/${messageId}/reactions/${encodeEmoji(emoji)}/@me`,
      );
    },
    async fetchMessages(chatId, { limit, after }) {
      const query = new URLSearchParams({ limit: String(limit) });
      if (after) query.set("after", after);
      const raw = await client.rest.get(`/channels/${chatId}/messages`, { query }) as RawMessage[];
      return raw.map(toHistory);
    },
    async fetchMessage(chatId, messageId) {
      return toHistory(
        await client.rest.get(`/channels/${chatId}/messages/${messageId}`) as RawMessage,
      );
    },
    async sendTyping(chatId) {
      await client.rest.post(`/channels/${chatId}/typing`);
    },
    async stop() {
      setState({ state: "stopped" });
      await client.destroy();
    },
  };
}

interface RawMessage {
  id: string;
  timestamp: string;
  content: string;
  author: { id: string; username: string };
  attachments?: {
    id: string;
    filename: string;
    content_type?: string;
    size: number;
    url: string;
  }[];
}

function toHistory(m: RawMessage): HistoryMessage {
  return {
    id: m.id,
    timestamp: new Date(m.timestamp).toISOString(),
    authorId: m.author.id,
    authorName: m.author.username,
    content: m.content ?? "",
    attachments: (m.attachments ?? []).map((a) => ({
      id: a.id,
      name: a.filename,
      contentType: a.content_type,
      size: a.size,
      url: a.url,
    })),
  };
}

/** Encodes an emoji for the reactions route: `<:name:id>` becomes `name:id`. */
export function encodeEmoji(emoji: string): string {
  const custom = /^<a?:([A-Za-z0-9_]{1,32}):(\d{15,25})>$/.exec(emoji.trim());
  if (custom) return encodeURIComponent(`${custom[1]}:${custom[2]}`);
  return encodeURIComponent(emoji.trim());
}
