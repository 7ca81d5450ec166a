/**
 * What every MCP tool is made of: a name, a description, a zod input schema
 * (the single source of truth for validation and for the JSON Schema shown
 * to Claude) and a `run` over the plain {@link ToolContext}.
 *
 * @module
 */
import type { z } from "zod";
import type { Access } from "../access/schema.ts";
import type { DiscordPort } from "../discord/port.ts";
import { checkOutbound } from "../access/gate.ts";
import { describeDiscordErrorLite } from "./errors.ts";

/** A failure whose message is shown to Claude as the tool's error result. */
export class ToolError extends Error {
  override name = "ToolError";
}

/** What tools may use: the Discord connection, the access file, the state directory. */
export interface ToolContext {
  /** The live connection (waiting briefly for a login in progress); throws a {@link ToolError} explaining why there is none. */
  discord(): Promise<DiscordPort>;
  /** The current access configuration; throws a {@link ToolError} when access.json is unusable. */
  access(): Access;
  /** The state directory (token, access.json, inbox). */
  stateDir: string;
  /** Discord's REST base (attachments are only fetched from Discord or this host). */
  apiUrl: string;
  /** Called after a message was sent to a chat (stops its typing indicator). */
  onSent(chatId: string): void;
}

/** One MCP tool. */
export interface Tool<S extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  input: S;
  run(ctx: ToolContext, args: z.infer<S>): Promise<string>;
}

/** Declares a tool with its schema's types flowing into `run`. */
export function defineTool<S extends z.ZodType>(tool: Tool<S>): Tool<S> {
  return tool;
}

/**
 * The outbound gate for tools: the chat must be one the inbound gate would
 * deliver from, so a prompt-injected Claude cannot post to any channel the
 * bot can see or DM a stranger. Nothing is sent when this throws.
 */
export async function requireAllowedChat(ctx: ToolContext, chatId: string): Promise<DiscordPort> {
  const discord = await ctx.discord();
  const access = ctx.access();
  let facts;
  try {
    facts = await discord.chatFacts(chatId);
  } catch (err) {
    throw new ToolError(`chat ${chatId} not found: ${describeDiscordErrorLite(err)}`);
  }
  const refusal = checkOutbound(access, facts);
  if (refusal) throw new ToolError(`chat ${chatId} is not allowed: ${refusal}; nothing was sent`);
  return discord;
}

/** The bot's own user ID on a connected port. */
export function botIdOf(discord: DiscordPort): string {
  const s = discord.status();
  return s.state === "ready" || s.state === "reconnecting" ? s.botId : "";
}
