/**
 * The plain-data boundary between the core and Discord. The core (gate,
 * tools, permission relay) speaks only these types; `client.ts` translates
 * them to and from discord.js. Message bodies are Discord REST v10 JSON.
 *
 * @module
 */
import type { ChatFacts } from "../gate.ts";

/** A Discord REST message body (create or edit). */
export interface MessageBody {
  content?: string;
  components?: unknown[];
  allowed_mentions?: {
    parse: string[];
    replied_user?: boolean;
    users?: string[];
    roles?: string[];
  };
  message_reference?: { message_id: string; fail_if_not_exists?: boolean };
  attachments?: unknown[];
  flags?: number;
}

/** A file to upload with a message. */
export interface FileUpload {
  name: string;
  data: Uint8Array;
  contentType?: string;
}

/** A message as read back from history. */
export interface HistoryMessage {
  id: string;
  timestamp: string;
  authorId: string;
  authorName: string;
  /** A bot account or a webhook post (the inbound gate treats both as bots). */
  authorIsBot?: boolean;
  content: string;
  attachments: { id: string; name: string; contentType?: string; size: number; url: string }[];
  /** The message carries components (buttons): the bridge's own permission prompts do. */
  hasComponents?: boolean;
}

/** A button click, reduced to what the permission relay decides on. */
export interface ButtonClick {
  customId: string;
  userId: string;
  userName: string;
  channelId: string;
  messageId: string;
  guildId?: string;
}

/** How the bridge answers an interaction (within Discord's 3-second window). */
export type InteractionAnswer =
  | {
    kind: "update";
    body: MessageBody;
    /**
     * When Discord refuses the answer (e.g. 10062 Unknown interaction for a
     * click delivered after the 3 s window), edit the clicked message to
     * `body` over REST instead. Set for final views (a decided prompt), which
     * nothing else would bring about.
     */
    patchIfRefused?: boolean;
  }
  | { kind: "ephemeral"; content: string; components?: unknown[] };

/** A slash command run by a user, reduced to plain data. */
export interface CommandRun {
  name: string;
  /** String options by name. */
  options: Record<string, string>;
  userId: string;
  userName: string;
  channelId: string;
}

/** Connection state, as tools and logs report it. */
export type DiscordState =
  | { state: "starting" }
  | { state: "ready"; botId: string; botName: string }
  | { state: "reconnecting"; botId: string; botName: string }
  | { state: "failed"; reason: string }
  | { state: "stopped" };

/** What the core needs from a Discord connection. */
export interface DiscordPort {
  /** Current connection state. */
  status(): DiscordState;
  /** What kind of chat an ID is (for the outbound gate). Throws for unknown chats. */
  chatFacts(chatId: string): Promise<ChatFacts>;
  /** The DM channel with a user, opened if needed. */
  openDm(userId: string): Promise<string>;
  sendMessage(chatId: string, body: MessageBody, files?: FileUpload[]): Promise<{ id: string }>;
  editMessage(chatId: string, messageId: string, body: MessageBody): Promise<{ id: string }>;
  addReaction(chatId: string, messageId: string, emoji: string): Promise<void>;
  /** Takes the bot's own reaction off a message (status reactions). */
  removeReaction?(chatId: string, messageId: string, emoji: string): Promise<void>;
  fetchMessages(
    chatId: string,
    opts: { limit: number; after?: string },
  ): Promise<HistoryMessage[]>;
  fetchMessage(chatId: string, messageId: string): Promise<HistoryMessage>;
  sendTyping(chatId: string): Promise<void>;
}
