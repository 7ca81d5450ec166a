/**
 * The inbound gate applied to history: whether a message Discord returns
 * from a chat's history is one the inbound gate would have put in front of
 * Claude. `fetch_messages` and `download_attachment` read history, and
 * without this they would be a side door: a member outside a group's
 * `allowFrom`, or an unlisted bot or webhook, could reach Claude through them
 * although every live message of theirs is dropped.
 *
 * The decision is {@link decideInbound}'s own, not a second copy of the
 * rules. Only the mention rule is set aside: it decides which messages
 * interrupt Claude, not whose text may be read (a listed member's unmentioned
 * message is as trusted as a mentioned one).
 *
 * @module
 */
import type { Access } from "../access/schema.ts";
import { type ChatFacts, decideInbound } from "../gate.ts";
import type { InboundMessage } from "../notification.ts";

/** Who wrote a history message. */
export interface HistoryAuthor {
  authorId: string;
  /** A bot account or a webhook post. */
  authorIsBot?: boolean;
}

/**
 * True when the inbound gate would deliver a message by this author in this
 * chat (whatever its mention), or it is the bridge's own message.
 */
export function gateAdmitsAuthor(
  access: Access,
  chatId: string,
  chat: ChatFacts,
  author: HistoryAuthor,
  botId: string,
): boolean {
  if (botId !== "" && author.authorId === botId) return true; // our own: shown as "me"
  if (chat.kind === "other") return false;
  const decision = decideInbound(access, {
    isDm: chat.kind === "dm",
    channelId: chatId,
    parentId: chat.kind === "guild" ? chat.parentId : undefined,
    authorId: author.authorId,
    authorIsBot: author.authorIsBot === true,
    authorIsSelf: false,
    mentionsBot: true,
    repliesToBot: true,
    content: "",
  });
  return decision.action === "deliver";
}

/** What a withheld history row says instead of its text. */
export const WITHHELD_TEXT =
  "⟨withheld: the inbound gate does not deliver this author's messages here (not in allowFrom), so their text is not shown⟩";

/**
 * The message with the text it quotes withheld when the quoted author is one
 * the gate would not deliver in this chat: a listed member replying to an
 * outsider's message must not carry the outsider's words to Claude in the
 * reply's quote. Replies to the bot's own messages are left alone.
 */
export function withholdQuote(access: Access, msg: InboundMessage): InboundMessage {
  const quote = msg.rich?.quote;
  if (!quote || msg.repliesToBot) return msg;
  const chat: ChatFacts = msg.isDm
    ? { kind: "dm", recipientId: msg.authorId }
    : { kind: "guild", channelId: msg.channelId, parentId: msg.parentId };
  if (gateAdmitsAuthor(access, msg.channelId, chat, { authorId: quote.authorId }, "")) return msg;
  return {
    ...msg,
    rich: {
      ...msg.rich!,
      quote: {
        authorId: quote.authorId,
        authorName: `user ${quote.authorId}`,
        text: WITHHELD_TEXT,
      },
    },
  };
}
