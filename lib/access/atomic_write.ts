/**
 * Crash-safe file replacement for the state directory.
 *
 * @module
 */

/**
 * Replaces `path` with `text` atomically: the data goes to a fresh temporary
 * file in the same directory (created exclusively with `mode`, so no other
 * user can read a token or allowlist mid-write, and a symlink planted at the
 * temp name cannot redirect the write), is flushed to disk, then renamed over
 * the target. Readers see either the old or the new file, never half of one.
 */
export function writeFileAtomic(path: string, text: string, mode = 0o600): void {
  const slash = path.lastIndexOf("/");
  const dir = slash >= 0 ? path.slice(0, slash) : ".";
  const base = path.slice(slash + 1);
  const tmp = `${dir}/.${base}.tmp-${Deno.pid}-${randomHex(6)}`;
  try {
    const file = Deno.openSync(tmp, { write: true, createNew: true, mode });
    try {
      const bytes = new TextEncoder().encode(text);
      let written = 0;
      while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
      file.syncSync();
    } finally {
      file.close();
    }
    // The process umask may have narrowed the mode; make it exact.
    if (Deno.build.os !== "windows") Deno.chmodSync(tmp, mode);
    Deno.renameSync(tmp, path);
  } catch (err) {
    try {
      Deno.removeSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw err;
  }
}

/** `bytes` random bytes from the system CSPRNG, as lowercase hex. */
export function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)))
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}
