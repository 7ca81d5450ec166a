/**
 * Help pages for the `access` CLI, one per verb plus the overview.
 *
 * @module
 */
import type { HelpTopic } from "./cli_args.ts";

/** How the CLI is invoked, for usage lines. */
export const CLI_NAME = "deno task access";

const OVERVIEW = `Manage who can reach Claude through the Discord bridge.

Usage: ${CLI_NAME} <command> [arguments] [--fresh]

Commands:
  status                       show the policy, allowlist, pending codes, groups, settings
  pair <code>                  approve a pairing code the bot sent to someone who DMed it
  deny <code>                  discard a pairing code
  allow <userId>               allow a Discord user to DM the bot
  remove <userId>              take a user off the allowlist
  policy <pairing|allowlist|disabled>
                               how DMs from unknown users are handled
  group add <channelId> [--no-mention] [--allow id1,id2]
                               deliver messages from a server channel
  group rm <channelId>         stop delivering a server channel
  set <key> <value>            change a delivery setting (see: set --help)
  unset <key>                  return a setting to its default
  configure                    store the bot token in the state directory's .env

With no command, status is shown. Every command takes -h / --help.
State lives in $DISCORD_STATE_DIR, or ~/.claude/channels/discord by default
(shared with the official Discord plugin). Changes apply to the running bridge
on its next message; no restart needed.

--fresh (write commands): if access.json is corrupt, keep a copy as
access.json.corrupt-<time> and start over from defaults.

Exit codes: 0 done, 1 failed, 2 usage error.
`;

const PAGES: Record<HelpTopic, string> = {
  status: `Usage: ${CLI_NAME} status

Shows the DM policy, allowed users, pending pairing codes (age and expiry),
group channels with their rules, delivery settings and mention patterns.
Exits with 1 if access.json is corrupt or invalid, and says how to fix it.
`,
  pair: `Usage: ${CLI_NAME} pair <code> [--fresh]

Approves a pairing code: the sender is added to the allowlist, the code is
removed, and the running bridge DMs them a confirmation.
Only approve codes that someone you know read to you. Never approve a code
because a Discord message asked you to: anyone can DM the bot and get one.
`,
  deny: `Usage: ${CLI_NAME} deny <code> [--fresh]

Discards a pending pairing code without allowing its sender.
`,
  allow: `Usage: ${CLI_NAME} allow <userId> [--fresh]

Adds a Discord user ID (17-20 digits; Developer Mode > right-click the user >
Copy User ID) to the allowlist. Allowed users can DM the bot and approve
permission prompts.
`,
  remove: `Usage: ${CLI_NAME} remove <userId> [--fresh]

Removes a user ID from the allowlist.
`,
  policy: `Usage: ${CLI_NAME} policy <pairing|allowlist|disabled> [--fresh]

  pairing    unknown users who DM the bot get a code to approve with 'pair'
  allowlist  only allowed users get through; everyone else is ignored silently
  disabled   the bot ignores everyone
`,
  group: `Usage: ${CLI_NAME} group add <channelId> [--no-mention] [--allow id1,id2] [--fresh]
       ${CLI_NAME} group rm <channelId> [--fresh]

group add opts a server channel in (the channel ID, not the server ID; threads
follow their parent channel). It replaces any existing entry for the channel.
  --no-mention     deliver every message, not only those that mention the bot
  --allow ids      only these user IDs may trigger the bot there (default: anyone)
`,
  set: `Usage: ${CLI_NAME} set <key> <value> [--fresh]

Keys:
  ackReaction               emoji reacted on each delivered message; "" disables
  replyToMode               off | first | all: which reply chunks quote the message
  textChunkLimit            1..2000: split replies longer than this
  chunkMode                 length | newline: where long replies are split
  mentionPatterns           JSON array of case-insensitive regexes that count as a
                            mention, e.g. '["^claude\\\\b"]' (slow or unsafe ones are refused)
  permissionPrompts         dm | channel | both: where tool permission prompts go
  permissionTimeoutSeconds  1..86400: when an unanswered prompt expires
  maxReplyMessages          2..50: messages one reply may take before the rest is
                            attached as a .md file (default 8)
  statusReactions           true | false | JSON object: reactions on the message
                            Claude works on (true: 👀 delivered, ✅ replied, ⚠️ a
                            tool failed), e.g. '{"delivered":"👀","failed":""}'
                            ("" turns one off; default false)
  reactionEvents            true | false: an approver's reaction on a bot message
                            reaches Claude (default true)
  editEvents                true | false: an approver's edit of a recently delivered
                            message reaches Claude, marked as an edit (default true)
`,
  unset: `Usage: ${CLI_NAME} unset <key> [--fresh]

Removes a setting so the bridge's default applies. Keys as for 'set'.
`,
  configure: `Usage: ${CLI_NAME} configure              (prompts; the input is hidden)
       ${CLI_NAME} configure < token.txt  (or from a pipe)
       ${CLI_NAME} configure <token>      (for scripts)

Stores DISCORD_BOT_TOKEN in the state directory's .env (mode 0600), keeping the
file's other lines. The token is never printed back, only a masked form.
Without an argument the token is read from a hidden prompt when standard input
is a terminal, or from standard input otherwise, so it stays out of your shell
history and the process list. '-' as the token means the same.
`,
};

/** The help text for a verb, or the overview. */
export function helpText(topic?: HelpTopic): string {
  return topic ? PAGES[topic] : OVERVIEW;
}
