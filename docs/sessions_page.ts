/**
 * Renders a snapshot of the emulator (a guild's channels, the session
 * threads, their messages as Discord's REST API returns them) as a
 * self-contained HTML page in a dark, chat-client-like layout: channel list
 * on the left, one or more threads side by side on the right. Plain HTML and
 * CSS, no external assets. Used by `sessions_picture.ts` for the README.
 *
 * @module
 */

/** A channel or thread in the sidebar. */
export interface PageChannel {
  id: string;
  name: string;
  thread: boolean;
  parentId?: string;
  archived: boolean;
  /** The `sessionsChannel` of access.json. */
  sessions: boolean;
}

/** A message as `GET /channels/{id}/messages` returns it (the fields used here). */
export interface PageMessage {
  id: string;
  author: { id: string; username: string; global_name?: string | null; bot?: boolean };
  content: string;
  timestamp: string;
  components?: PageRow[];
}

/** An action row of buttons. */
export interface PageRow {
  type: number;
  components?: { type: number; style?: number; label?: string; emoji?: { name?: string } }[];
}

/** Everything the page shows. */
export interface PageInput {
  guildName: string;
  channels: PageChannel[];
  /** Messages per channel id, oldest first. */
  messages: Record<string, PageMessage[]>;
  /** The thread ids shown side by side, left to right. */
  shown: string[];
  /** The viewer's user id (their name is not highlighted as a mention). */
  me: string;
}

/** Escapes text for HTML. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}

/**
 * A Discord timestamp (`<t:seconds:style>`) as the client shows it to the
 * reader at `now`: relative ("in 10 minutes") or a UTC clock time.
 */
export function timestamp(seconds: number, style: string | undefined, now: number): string {
  if (style === "R") {
    const minutes = Math.round((seconds * 1000 - now) / 60_000);
    const n = Math.abs(minutes);
    const span = n === 0 ? "a few seconds" : n === 1 ? "a minute" : `${n} minutes`;
    return minutes >= 0 ? `in ${span}` : `${span} ago`;
  }
  const d = new Date(seconds * 1000);
  return `${String(d.getUTCHours()).padStart(2, "0")}:${
    String(d.getUTCMinutes()).padStart(2, "0")
  }`;
}

/** Inline Discord Markdown: `code`, **bold**, *italic*, __underline__, `<t:…>`. */
function inline(s: string, now: number): string {
  return s.split(/(`[^`\n]+`)/).map((part) => {
    if (/^`[^`\n]+`$/.test(part)) return `<code>${escapeHtml(part.slice(1, -1))}</code>`;
    return escapeHtml(part)
      .replace(
        /&lt;t:(\d+)(?::([tTdDfFR]))?&gt;/g,
        (_, secs, style) => `<span class="stamp">${timestamp(Number(secs), style, now)}</span>`,
      )
      .replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>")
      .replace(/__(.+?)__/g, "<u>$1</u>")
      .replace(/(^|[^*])\*([^*\n]+)\*/g, "$1<em>$2</em>");
  }).join("");
}

/**
 * The subset of Discord Markdown the bridge sends: code blocks, quotes and
 * inline marks; `now` is when the reader looks (for relative timestamps).
 */
export function markdown(text: string, now: number): string {
  const out: string[] = [];
  const parts = text.split(/```/);
  parts.forEach((part, i) => {
    if (i % 2 === 1) {
      const body = part.replace(/^[a-zA-Z0-9_+-]*\n/, "").replace(/\n$/, "");
      out.push(`<pre>${escapeHtml(body)}</pre>`);
      return;
    }
    const lines = part.replace(/^\n/, "").replace(/\n$/, "").split("\n");
    if (lines.length === 1 && lines[0] === "") return;
    out.push(
      lines.map((l) =>
        l.startsWith("> ")
          ? `<span class="quote">${inline(l.slice(2), now)}</span>`
          : `<span class="line">${inline(l, now)}</span>`
      ).join(""),
    );
  });
  return out.join("");
}

const AVATAR_COLOURS = ["#e67e22", "#1abc9c", "#e91e63", "#3498db", "#9b59b6", "#f1c40f"];

function avatar(author: PageMessage["author"]): string {
  const name = author.global_name ?? author.username;
  const colour = author.bot ? "#5865f2" : AVATAR_COLOURS[
    [...author.username].reduce((n, c) => n + c.charCodeAt(0), 0) %
    AVATAR_COLOURS.length
  ];
  return `<div class="avatar" style="background:${colour}">${
    escapeHtml(name.slice(0, 1).toUpperCase())
  }</div>`;
}

const BUTTON_CLASS: Record<number, string> = {
  1: "primary",
  2: "secondary",
  3: "success",
  4: "danger",
  5: "secondary",
};

function components(rows: PageRow[] | undefined): string {
  if (!rows?.length) return "";
  return rows.map((row) =>
    `<div class="row">${
      (row.components ?? []).filter((c) => c.type === 2).map((b) =>
        `<span class="button ${BUTTON_CLASS[b.style ?? 2] ?? "secondary"}">${
          escapeHtml([b.emoji?.name, b.label].filter(Boolean).join(" "))
        }</span>`
      ).join("")
    }</div>`
  ).join("");
}

function clock(iso: string): string {
  const d = new Date(iso);
  const hh = String(d.getUTCHours()).padStart(2, "0");
  const mm = String(d.getUTCMinutes()).padStart(2, "0");
  return `Today at ${hh}:${mm}`;
}

/** Messages in Discord's grouping: one header per run of the same author. */
function messageList(messages: PageMessage[]): string {
  let last: PageMessage | undefined;
  return messages.map((m) => {
    const body = `<div class="content">${markdown(m.content, Date.parse(m.timestamp))}</div>${
      components(m.components)
    }`;
    const grouped = last?.author.id === m.author.id &&
      Date.parse(m.timestamp) - Date.parse(last.timestamp) < 7 * 60_000;
    last = m;
    if (grouped) return `<div class="message cont">${body}</div>`;
    const name = m.author.global_name ?? m.author.username;
    return `<div class="message">${avatar(m.author)}<div class="main"><div class="head">` +
      `<span class="name${m.author.bot ? " bot" : ""}">${escapeHtml(name)}</span>` +
      (m.author.bot ? `<span class="tag">APP</span>` : "") +
      `<span class="time">${clock(m.timestamp)}</span></div>${body}</div></div>`;
  }).join("");
}

function sidebar(input: PageInput): string {
  const top = input.channels.filter((c) => !c.thread);
  const items = top.map((c) => {
    const threads = input.channels.filter((t) => t.thread && t.parentId === c.id);
    const sub = threads.map((t) =>
      `<div class="thread${input.shown.includes(t.id) ? " active" : ""}${
        t.archived ? " archived" : ""
      }"><span class="elbow"></span><span class="tname">${escapeHtml(t.name)}</span></div>`
    ).join("");
    return `<div class="channel${c.sessions ? " opened" : ""}"><span class="hash">#</span>${
      escapeHtml(c.name)
    }</div>${sub}`;
  }).join("");
  return `<nav class="sidebar"><header>${escapeHtml(input.guildName)}</header>` +
    `<div class="category">Text channels</div>${items}</nav>`;
}

function pane(input: PageInput, id: string): string {
  const thread = input.channels.find((c) => c.id === id);
  const parent = input.channels.find((c) => c.id === thread?.parentId);
  return `<section class="pane"><header><span class="threadicon">🧵</span>` +
    `<span class="title">${escapeHtml(thread?.name ?? id)}</span>` +
    (parent ? `<span class="parent"># ${escapeHtml(parent.name)}</span>` : "") +
    `</header><div class="messages">${messageList(input.messages[id] ?? [])}</div>` +
    `<div class="composer">Message <b>${escapeHtml(thread?.name ?? "")}</b></div></section>`;
}

const CSS = `
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; }
body { display: flex; background: #313338; color: #dbdee1; overflow: hidden;
  font: 15px/1.375 "Noto Sans", "DejaVu Sans", "Liberation Sans", sans-serif; }
.rail { width: 64px; background: #1e1f22; padding-top: 12px; display: flex; flex-direction: column;
  align-items: center; gap: 8px; }
.rail .guild { width: 44px; height: 44px; border-radius: 14px; background: #5865f2; color: #fff;
  display: flex; align-items: center; justify-content: center; font-weight: 700; font-size: 15px; }
.rail .guild.dim { background: #313338; color: #b5bac1; border-radius: 50%; }
.sidebar { width: 232px; background: #2b2d31; flex: none; }
.sidebar header { height: 48px; padding: 0 16px; display: flex; align-items: center;
  font-weight: 700; color: #f2f3f5; border-bottom: 1px solid #1f2023; }
.category { margin: 18px 8px 4px 16px; font-size: 12px; font-weight: 700; letter-spacing: .02em;
  text-transform: uppercase; color: #949ba4; }
.channel { margin: 1px 8px; padding: 6px 8px; border-radius: 4px; color: #949ba4;
  display: flex; align-items: center; }
.channel.opened { color: #f2f3f5; }
.hash { font-size: 20px; margin-right: 6px; color: #80848e; line-height: 1; }
.thread { position: relative; margin: 1px 8px 1px 30px; padding: 5px 8px 5px 14px;
  border-radius: 4px; color: #949ba4; }
.thread .elbow { position: absolute; left: -8px; top: -10px; width: 14px; height: 24px;
  border-left: 2px solid #4e5058; border-bottom: 2px solid #4e5058; border-bottom-left-radius: 8px; }
.thread.active { background: #404249; color: #f2f3f5; }
.thread.archived { opacity: .5; }
.panes { flex: 1; display: flex; min-width: 0; }
.pane { flex: 1; display: flex; flex-direction: column; min-width: 0; border-left: 1px solid #1f2023; }
.pane header { height: 48px; flex: none; padding: 0 16px; display: flex; align-items: center;
  gap: 8px; border-bottom: 1px solid #1f2023; box-shadow: 0 1px 0 rgba(0,0,0,.2); }
.pane .title { font-weight: 700; color: #f2f3f5; }
.pane .parent { color: #949ba4; font-size: 13px; }
.threadicon { font-size: 16px; }
.messages { flex: 1; overflow: hidden; display: flex; flex-direction: column;
  justify-content: flex-end; padding-bottom: 12px; }
.message { display: flex; padding: 2px 16px 2px 16px; margin-top: 14px; }
.message.cont { margin-top: 0; padding-left: 72px; display: block; }
.avatar { width: 40px; height: 40px; border-radius: 50%; flex: none; margin-right: 16px;
  display: flex; align-items: center; justify-content: center; color: #fff; font-weight: 700; }
.main { min-width: 0; flex: 1; }
.head { display: flex; align-items: baseline; gap: 6px; }
.name { font-weight: 600; color: #f2f3f5; }
.name.bot { color: #c9cdfb; }
.tag { background: #5865f2; color: #fff; font-size: 10px; font-weight: 700; padding: 1px 4px;
  border-radius: 3px; position: relative; top: -1px; }
.time { font-size: 12px; color: #949ba4; }
.content { color: #dbdee1; overflow-wrap: anywhere; }
.content .line, .content .quote { display: block; min-height: 1.375em; }
.content .quote { border-left: 4px solid #4e5058; padding-left: 10px; }
code { font: 13px/1.4 "DejaVu Sans Mono", monospace; background: #2b2d31; padding: 1px 4px;
  border-radius: 4px; white-space: nowrap; }
pre { font: 12.5px/1.45 "DejaVu Sans Mono", monospace; background: #2b2d31;
  border: 1px solid #1e1f22; border-radius: 4px; padding: 7px 9px; margin: 4px 0;
  white-space: pre-wrap; overflow-wrap: anywhere; }
strong { color: #f2f3f5; }
.stamp { background: rgba(255,255,255,.06); border-radius: 3px; padding: 0 2px; }
.row { display: flex; gap: 8px; margin-top: 6px; }
.button { padding: 3px 14px; border-radius: 4px; color: #fff; font-size: 14px; font-weight: 500;
  line-height: 26px; }
.primary { background: #5865f2; } .secondary { background: #4e5058; }
.success { background: #248046; } .danger { background: #da373c; }
.composer { margin: 0 16px 18px; padding: 11px 16px; border-radius: 8px; background: #383a40;
  color: #6d6f78; flex: none; }
.composer b { font-weight: 400; }
`;

/** The whole page, self-contained. */
export function renderSessionsPage(input: PageInput): string {
  const initials = input.guildName.split(/\s+/).map((w) => w[0] ?? "").join("").slice(0, 3);
  return `<!doctype html><html><head><meta charset="utf-8"><title>${
    escapeHtml(input.guildName)
  }</title><style>${CSS}</style></head><body>` +
    `<div class="rail"><div class="guild">${escapeHtml(initials)}</div></div>` +
    sidebar(input) +
    `<main class="panes">${input.shown.map((id) => pane(input, id)).join("")}</main>` +
    `</body></html>\n`;
}
