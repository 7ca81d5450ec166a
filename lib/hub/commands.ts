/**
 * `/sessions` and `/focus`: the bot's application commands for seeing and
 * switching sessions. Definitions and rendering are pure; the hub answers
 * (approvers only, ephemerally).
 *
 * @module
 */

/** The commands the bot registers (Discord's CHAT_INPUT type 1, string option type 3). */
export const SESSION_COMMANDS = [
  {
    type: 1,
    name: "sessions",
    description: "List the Claude Code sessions on this bot and choose where your messages go",
  },
  {
    type: 1,
    name: "focus",
    description: "Send your next messages to one Claude Code session",
    options: [{ type: 3, name: "name", description: "The session's name", required: true }],
  },
];

/** A session as `/sessions` lists it. */
export interface ListedSession {
  name: string;
  project: string;
  lastActiveAt: number;
  pendingPrompts: number;
  focused: boolean;
}

const FOCUS_PREFIX = "hub:focus:";

/** The custom ID of a session's Focus button. */
export function focusButtonId(name: string): string {
  return FOCUS_PREFIX + name;
}

/** The session name a Focus button names, or undefined for other buttons. */
export function parseFocusButton(customId: string): string | undefined {
  return customId.startsWith(FOCUS_PREFIX) && customId.length > FOCUS_PREFIX.length
    ? customId.slice(FOCUS_PREFIX.length)
    : undefined;
}

/** `42s`, `5m`, `3h`, `2d`. */
export function formatIdle(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** The `/sessions` answer: one line per session, a Focus button each (at most 25). */
export function renderSessionList(
  list: readonly ListedSession[],
  now: number,
): { content: string; components: unknown[] } {
  if (list.length === 0) return { content: "No Claude Code session is connected.", components: [] };
  const lines = list.map((s) => {
    const prompts = s.pendingPrompts === 1
      ? "1 prompt waiting"
      : `${s.pendingPrompts} prompts waiting`;
    const project = s.project.replace(/[`\\]/g, "");
    return `${s.focused ? "▶" : "•"} **${s.name}** · \`${project.slice(-80)}\` · idle ${
      formatIdle(now - s.lastActiveAt)
    }${s.pendingPrompts ? ` · ${prompts}` : ""}`;
  });
  const buttons = list.slice(0, 25).map((s) => ({
    type: 2,
    style: s.focused ? 1 : 2,
    label: `Focus ${s.name}`.slice(0, 80),
    custom_id: focusButtonId(s.name),
  }));
  const rows = [];
  for (let i = 0; i < buttons.length; i += 5) {
    rows.push({ type: 1, components: buttons.slice(i, i + 5) });
  }
  return {
    content: `${list.length} session(s) connected:\n${lines.join("\n")}`.slice(0, 2000),
    components: rows,
  };
}
