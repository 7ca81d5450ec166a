import assert from "node:assert/strict";
import { type AccessCommand, parseAccessArgs } from "../lib/access/cli_args.ts";

const USER = "123456789012345678";
const USER2 = "223456789012345678";
const CHANNEL = "923456789012345678";
const TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.abcdefghijklmnopqrstuvwxyz0123456789AB";

function command(...args: string[]): AccessCommand {
  const r = parseAccessArgs(args);
  assert.ok(r.ok, `expected ${JSON.stringify(args)} to parse: ${r.ok ? "" : r.error}`);
  return r.command;
}

function usageError(...args: string[]): string {
  const r = parseAccessArgs(args);
  assert.equal(r.ok, false, `expected ${JSON.stringify(args)} to be a usage error`);
  return r.ok ? "" : r.error;
}

Deno.test("no arguments means status; help at the top level and per verb", () => {
  assert.deepEqual(command(), { verb: "status" });
  assert.deepEqual(command("status"), { verb: "status" });
  assert.deepEqual(command("--help"), { verb: "help" });
  assert.deepEqual(command("-h"), { verb: "help" });
  assert.deepEqual(command("help", "pair"), { verb: "help", topic: "pair" });
  for (const verb of ["status", "pair", "deny", "allow", "remove", "policy", "set", "unset"]) {
    assert.deepEqual(command(verb, "--help"), { verb: "help", topic: verb });
    assert.deepEqual(command(verb, "-h"), { verb: "help", topic: verb });
  }
  assert.deepEqual(command("group", "--help"), { verb: "help", topic: "group" });
  assert.deepEqual(command("group", "add", "-h"), { verb: "help", topic: "group" });
  assert.deepEqual(command("configure", "--help"), { verb: "help", topic: "configure" });
  assert.match(usageError("help", "nope"), /no help for 'nope'/);
});

Deno.test("unknown verbs are usage errors with a suggestion", () => {
  assert.match(usageError("frobnicate"), /unknown command 'frobnicate'/);
  assert.match(usageError("pari"), /did you mean 'pair'/);
  assert.match(usageError("stauts"), /did you mean 'status'/);
});

Deno.test("pair/deny take one pairing code, lowercased", () => {
  assert.deepEqual(command("pair", "A1B2C3"), { verb: "pair", code: "a1b2c3", fresh: false });
  assert.deepEqual(command("deny", "a1b2c3", "--fresh"), {
    verb: "deny",
    code: "a1b2c3",
    fresh: true,
  });
  assert.match(usageError("pair"), /needs the pairing code/);
  assert.match(usageError("pair", "a1b2c3", "d4e5f6"), /one code/);
  assert.match(usageError("pair", "../../x"), /not a pairing code/);
  assert.match(usageError("pair", "a1b2c3", "--force"), /unknown option '--force'/);
});

Deno.test("allow/remove take one snowflake user ID", () => {
  assert.deepEqual(command("allow", USER), { verb: "allow", userId: USER, fresh: false });
  assert.deepEqual(command("remove", USER, "--fresh"), {
    verb: "remove",
    userId: USER,
    fresh: true,
  });
  assert.match(usageError("allow"), /needs a Discord user ID/);
  assert.match(usageError("allow", "12345"), /not a Discord user ID \(17-20 digits/);
  assert.match(usageError("allow", "1234567890123456789012"), /not a Discord user ID/);
  assert.match(usageError("allow", `${USER}x`), /not a Discord user ID/);
  assert.match(usageError("allow", "@alice"), /not a Discord user ID/);
  assert.match(usageError("remove", USER, USER2), /one user ID/);
});

Deno.test("policy accepts exactly pairing, allowlist or disabled", () => {
  for (const policy of ["pairing", "allowlist", "disabled"] as const) {
    assert.deepEqual(command("policy", policy), { verb: "policy", policy, fresh: false });
  }
  assert.match(usageError("policy"), /exactly one of/);
  assert.match(usageError("policy", "open"), /unknown policy 'open'/);
  assert.match(usageError("policy", "Pairing"), /unknown policy/);
});

Deno.test("group add parses --no-mention and --allow (both spellings)", () => {
  assert.deepEqual(command("group", "add", CHANNEL), {
    verb: "group-add",
    channelId: CHANNEL,
    requireMention: true,
    allowFrom: [],
    fresh: false,
  });
  assert.deepEqual(
    command("group", "add", CHANNEL, "--no-mention", "--allow", `${USER},${USER2}`),
    {
      verb: "group-add",
      channelId: CHANNEL,
      requireMention: false,
      allowFrom: [USER, USER2],
      fresh: false,
    },
  );
  const eq = command("group", "add", `--allow=${USER},${USER}`, CHANNEL, "--fresh");
  assert.deepEqual(eq, {
    verb: "group-add",
    channelId: CHANNEL,
    requireMention: true,
    allowFrom: [USER],
    fresh: true,
  });
});

Deno.test("group add/rm reject bad IDs, missing values and unknown options", () => {
  assert.match(usageError("group"), /needs add or rm/);
  assert.match(usageError("group", "list"), /unknown group command 'list'/);
  assert.match(usageError("group", "add"), /needs a channel ID/);
  assert.match(usageError("group", "add", "general"), /not a Discord channel ID/);
  assert.match(usageError("group", "add", CHANNEL, "--allow"), /--allow needs a value/);
  assert.match(usageError("group", "add", CHANNEL, "--allow", "bob"), /--allow: 'bob' is not/);
  assert.match(usageError("group", "add", CHANNEL, "--allow", ","), /comma-separated list/);
  assert.match(usageError("group", "add", CHANNEL, "--output", USER), /unknown option/);
  assert.match(usageError("group", "add", CHANNEL, "--no-mention=yes"), /takes no value/);
  assert.deepEqual(command("group", "rm", CHANNEL), {
    verb: "group-rm",
    channelId: CHANNEL,
    fresh: false,
  });
  assert.match(usageError("group", "rm", "x"), /not a Discord channel ID/);
});

Deno.test("set validates each key's value type and range", () => {
  const set = (key: string, value: string) => {
    const c = command("set", key, value);
    assert.equal(c.verb, "set");
    return c.verb === "set" ? c.value : undefined;
  };
  assert.equal(set("ackReaction", "👀"), "👀");
  assert.equal(set("ackReaction", ""), "", "empty disables");
  assert.equal(set("replyToMode", "all"), "all");
  assert.equal(set("textChunkLimit", "1500"), 1500);
  assert.equal(set("chunkMode", "newline"), "newline");
  assert.deepEqual(set("mentionPatterns", '["^claude\\\\b", "hey bot"]'), [
    "^claude\\b",
    "hey bot",
  ]);
  assert.deepEqual(set("mentionPatterns", "[]"), []);
  assert.equal(set("permissionPrompts", "both"), "both");
  assert.equal(set("permissionTimeoutSeconds", "120"), 120);

  assert.match(usageError("set"), /needs a key/);
  assert.match(usageError("set", "ackReaction"), /needs a value \(use "" to disable\)/);
  assert.match(usageError("set", "colour", "red"), /unknown key 'colour'/);
  assert.match(usageError("set", "dmPolicy", "pairing"), /use the policy command/);
  assert.match(usageError("set", "ackReaction", "two words"), /one emoji/);
  assert.match(usageError("set", "replyToMode", "sometimes"), /replyToMode: Invalid option/);
  assert.match(usageError("set", "textChunkLimit", "0"), /textChunkLimit: Too small/);
  assert.match(usageError("set", "textChunkLimit", "2001"), /textChunkLimit: Too big/);
  assert.match(usageError("set", "textChunkLimit", "1e3"), /whole number/);
  assert.match(usageError("set", "textChunkLimit", "-5"), /whole number/);
  assert.match(usageError("set", "chunkMode", "words"), /chunkMode: Invalid option/);
  assert.match(usageError("set", "permissionPrompts", "email"), /Invalid option/);
  assert.match(usageError("set", "permissionTimeoutSeconds", "2.5"), /whole number/);
  assert.match(usageError("set", "permissionTimeoutSeconds", "0"), /Too small/);
  assert.match(usageError("set", "mentionPatterns", "claude"), /JSON array/);
  assert.match(usageError("set", "mentionPatterns", '["a", 1]'), /array of strings/);
  assert.match(usageError("set", "mentionPatterns", '["(a)\\\\1"]'), /uses a backreference/);
  assert.match(usageError("set", "mentionPatterns", '["hi(?=!)"]'), /lookahead or lookbehind/);
  const many = JSON.stringify(Array.from({ length: 8 }, (_, i) => `(.?){100}#${i}`));
  assert.match(usageError("set", "mentionPatterns", many), /"\(\.\?\)\{100\}#\d" does not fit/);
  assert.match(usageError("set", "mentionPatterns", '["[bad"]'), /not a valid regular/);
  assert.match(usageError("set", "replyToMode", "all", "extra"), /one value/);
});

Deno.test("unset takes one known key", () => {
  assert.deepEqual(command("unset", "ackReaction"), {
    verb: "unset",
    key: "ackReaction",
    fresh: false,
  });
  assert.match(usageError("unset"), /needs a key/);
  assert.match(usageError("unset", "allowFrom"), /use allow \/ remove/);
});

Deno.test("configure takes a token-shaped value, or nothing or - to read it off the command line", () => {
  assert.deepEqual(command("configure", TOKEN), { verb: "configure", token: TOKEN });
  assert.deepEqual(command("configure", "-"), { verb: "configure", fromStdin: true });
  assert.deepEqual(command("configure"), { verb: "configure", fromStdin: true });
  assert.match(usageError("configure", TOKEN, "x"), /takes one token/);
  const secretish = "not-a-token-but-secret";
  const error = usageError("configure", secretish);
  assert.match(error, /does not look like a Discord bot token/);
  assert.ok(!error.includes(secretish));
  // A newline would inject extra variables into .env.
  assert.match(usageError("configure", `${TOKEN}\nDISCORD_STATE_DIR=/tmp`), /does not look/);
});

Deno.test("-- ends options; control characters are not echoed", () => {
  assert.match(usageError("allow", "--", "-12"), /'-12' is not a Discord user ID/);
  assert.match(usageError("allow", "\u001b[31mred"), /'\?\[31mred'/);
});
