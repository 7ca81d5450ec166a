/**
 * Reading a secret (the bot token) without it ever being on a command line:
 * a token typed as an argument stays in the shell's history and is visible
 * to every user in `ps` while the command runs.
 *
 * - On a terminal, {@link readHiddenLine} prompts (on stderr) and reads one
 *   line in raw mode, so nothing is echoed, not even asterisks.
 * - Otherwise (a pipe, or `< token.txt`), {@link readAllStdin} reads it all.
 *
 * @module
 */

/** Thrown when the user cancels the prompt with Ctrl-C, or Ctrl-D on an empty line. */
export class PromptCancelled extends Error {
  override name = "PromptCancelled";
}

/** The terminal operations {@link readHiddenLine} needs (Deno.stdin by default). */
export interface RawTerminal {
  setRaw(raw: boolean): void;
  read(buffer: Uint8Array): Promise<number | null>;
}

const CR = 0x0d, LF = 0x0a, CTRL_C = 0x03, CTRL_D = 0x04, CTRL_U = 0x15, BS = 0x08, DEL = 0x7f;

/**
 * Writes `prompt` with `write`, then reads one line from the terminal with
 * echo off. Backspace and Ctrl-U edit; other control bytes (arrow keys'
 * escape sequences start with one) are dropped. The terminal is restored
 * however the read ends.
 */
export async function readHiddenLine(
  prompt: string,
  write: (s: string) => void,
  terminal: RawTerminal = Deno.stdin,
): Promise<string> {
  // Echo off before the prompt shows, so nothing typed after it is echoed.
  terminal.setRaw(true);
  write(prompt);
  const bytes: number[] = [];
  const buffer = new Uint8Array(256);
  try {
    for (;;) {
      const n = await terminal.read(buffer);
      if (n === null) {
        if (bytes.length === 0) throw new PromptCancelled("no input");
        break;
      }
      const done = take(buffer.subarray(0, n), bytes);
      if (done) break;
    }
  } finally {
    terminal.setRaw(false);
    write("\n");
    buffer.fill(0);
  }
  const line = new TextDecoder().decode(new Uint8Array(bytes));
  bytes.fill(0);
  return line;
}

/** Applies typed bytes to the line; true when the line is complete. */
function take(chunk: Uint8Array, line: number[]): boolean {
  for (const b of chunk) {
    if (b === CR || b === LF) return true;
    if (b === CTRL_C) throw new PromptCancelled("cancelled");
    if (b === CTRL_D) {
      if (line.length === 0) throw new PromptCancelled("cancelled");
      return true;
    }
    if (b === BS || b === DEL) line.pop();
    else if (b === CTRL_U) line.length = 0;
    else if (b >= 0x20) line.push(b);
  }
  return false;
}

/** All of standard input as text (for a pipe or a redirected file). */
export function readAllStdin(): Promise<string> {
  return new Response(Deno.stdin.readable).text();
}
