/**
 * Checking and loading files that `reply` attaches. The state directory holds
 * the bot token (`.env`) and `access.json`; a prompt-injected Claude must not
 * be able to mail them out, so anything in it except `inbox/` is refused,
 * after resolving symlinks (a link in /tmp pointing at `.env` is refused too).
 *
 * @module
 */
import { ToolError } from "./tool.ts";
import type { FileUpload } from "../discord/port.ts";

/** Discord allows at most 10 attachments per message. */
export const MAX_FILES = 10;
/** Discord's default upload limit for bots (servers may allow more with boosts). */
export const MAX_FILE_BYTES = 10 * 1024 * 1024;

function isInside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
}

/** Explains why a resolved path may not be sent, or returns undefined. */
export function refuseStatePath(
  realPath: string,
  realStateDir: string | undefined,
): string | undefined {
  if (!realStateDir || !isInside(realPath, realStateDir)) return undefined;
  if (isInside(realPath, `${realStateDir}/inbox`) && realPath !== `${realStateDir}/inbox`) {
    return undefined;
  }
  return "it is inside the channel's state directory (token and access list); only files in its inbox/ may be sent";
}

function realStateDir(stateDir: string): string | undefined {
  try {
    return Deno.realPathSync(stateDir);
  } catch {
    return undefined; // no state dir: nothing in it to leak
  }
}

/**
 * Device and inode of every file directly in the state directory (`.env`,
 * `access.json`, …). A hard link has its own path, so resolving symlinks does
 * not catch `ln ~/.claude/channels/discord/.env /tmp/notes.txt`; the inode
 * does. (A copy is a new file and cannot be told apart: that needs the user's
 * approval of the command that makes it.)
 */
function stateFileInodes(stateReal: string): Set<string> {
  const out = new Set<string>();
  try {
    for (const entry of Deno.readDirSync(stateReal)) {
      if (!entry.isFile) continue;
      try {
        out.add(inodeKey(Deno.statSync(`${stateReal}/${entry.name}`)));
      } catch {
        // vanished meanwhile
      }
    }
  } catch {
    // unreadable state dir: the path check above still applies
  }
  out.delete("");
  return out;
}

function inodeKey(info: Deno.FileInfo): string {
  return info.dev !== null && info.ino !== null ? `${info.dev}:${info.ino}` : "";
}

/**
 * Kernel pseudo-filesystems. `/proc/self/environ` is a "regular file" that
 * holds this process's environment, bot token included when it came from the
 * environment, and reports size 0 so no size check stops it; `/proc/<pid>/`
 * and `/sys` expose more of the same. Nothing a user asks for lives there.
 */
const PSEUDO_FS = ["/proc", "/sys", "/dev"];

/**
 * Device numbers of the pseudo-filesystems, to recognise a file by what was
 * actually opened rather than by its path (which can change in between).
 */
function pseudoFsDevices(): Set<number> {
  const out = new Set<number>();
  for (const dir of PSEUDO_FS) {
    try {
      const dev = Deno.statSync(dir).dev;
      if (dev !== null) out.add(dev);
    } catch {
      // not on this system
    }
  }
  return out;
}

/** Test seam: runs between the path checks and the reads. */
export interface LoadUploadsHooks {
  beforeRead?: () => void | Promise<void>;
}

/**
 * Validates every path, then reads them; throws a {@link ToolError} naming
 * the first bad file. The checks are repeated on each opened file (its
 * inode and device), so a path swapped for a symlink after it was checked
 * (`/tmp/x/.env` whose directory became a link to the state directory, or
 * into `/proc/self`) is refused rather than read.
 */
export async function loadUploads(
  paths: string[],
  stateDir: string,
  hooks: LoadUploadsHooks = {},
): Promise<FileUpload[]> {
  if (paths.length > MAX_FILES) {
    throw new ToolError(
      `at most ${MAX_FILES} files per message (got ${paths.length}); nothing was sent`,
    );
  }
  const stateReal = realStateDir(stateDir);
  const secretInodes = stateReal ? stateFileInodes(stateReal) : new Set<string>();
  const checked: { path: string; real: string; key: string; name: string }[] = [];
  for (const path of paths) {
    if (!path.startsWith("/")) {
      throw new ToolError(`file ${path}: must be an absolute path; nothing was sent`);
    }
    let real: string;
    let info: Deno.FileInfo;
    try {
      // Symlinks are resolved first, so the decision is about the file that
      // would be read: /tmp/notes.txt -> ~/.claude/channels/discord/.env is refused.
      real = await Deno.realPath(path);
      info = await Deno.stat(real);
    } catch (err) {
      throw new ToolError(
        `file ${path}: ${
          err instanceof Deno.errors.NotFound ? "does not exist" : "cannot be read"
        }; nothing was sent`,
      );
    }
    const refusal = refuseStatePath(real, stateReal) ??
      (PSEUDO_FS.some((dir) => isInside(real, dir))
        ? "system pseudo-files (/proc, /sys, /dev) may not be sent"
        : undefined);
    if (refusal) throw new ToolError(`file ${path} refused: ${refusal}; nothing was sent`);
    if (secretInodes.has(inodeKey(info))) {
      throw new ToolError(
        `file ${path} refused: it is a hard link to a file in the channel's state directory; nothing was sent`,
      );
    }
    if (!info.isFile) {
      throw new ToolError(
        `file ${path} is not a regular file (${
          info.isDirectory ? "a directory" : "a device, pipe or socket"
        }); nothing was sent`,
      );
    }
    checkSize(path, info.size);
    checked.push({
      path,
      real,
      key: inodeKey(info),
      name: real.slice(real.lastIndexOf("/") + 1) || "file",
    });
  }
  await hooks.beforeRead?.();
  const pseudoDevs = pseudoFsDevices();
  const uploads: FileUpload[] = [];
  for (const f of checked) {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(f.real, { read: true });
    } catch {
      throw new ToolError(`file ${f.path} cannot be read; nothing was sent`);
    }
    try {
      let opened: Deno.FileInfo;
      try {
        opened = await file.stat();
      } catch {
        throw new ToolError(`file ${f.path} cannot be read; nothing was sent`);
      }
      // What was opened, not what the path named a moment ago.
      const key = inodeKey(opened);
      if (
        key !== f.key || secretInodes.has(key) || !opened.isFile ||
        (opened.dev !== null && pseudoDevs.has(opened.dev))
      ) {
        throw new ToolError(
          `file ${f.path} refused: it changed between the check and the read; nothing was sent`,
        );
      }
      checkSize(f.path, opened.size);
      const data = await readCapped(file, f.path);
      uploads.push({ name: f.name, data });
    } finally {
      file.close();
    }
  }
  return uploads;
}

/** Reads an open file to its end, refusing more than {@link MAX_FILE_BYTES} (it may have grown). */
async function readCapped(file: Deno.FsFile, path: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(64 * 1024);
  while (true) {
    let n: number | null;
    try {
      n = await file.read(buf);
    } catch {
      throw new ToolError(`file ${path} cannot be read; nothing was sent`);
    }
    if (n === null) break;
    total += n;
    checkSize(path, total);
    chunks.push(buf.slice(0, n));
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

function checkSize(path: string, size: number): void {
  if (size <= MAX_FILE_BYTES) return;
  throw new ToolError(
    `file ${path} is ${(size / 1024 / 1024).toFixed(1)} MB, over Discord's ${
      MAX_FILE_BYTES / 1024 / 1024
    } MB upload limit; nothing was sent`,
  );
}
