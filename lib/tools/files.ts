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

/** Validates every path, then reads them; throws a {@link ToolError} naming the first bad file. */
export async function loadUploads(paths: string[], stateDir: string): Promise<FileUpload[]> {
  if (paths.length > MAX_FILES) {
    throw new ToolError(
      `at most ${MAX_FILES} files per message (got ${paths.length}); nothing was sent`,
    );
  }
  const stateReal = realStateDir(stateDir);
  const checked: { path: string; real: string; name: string }[] = [];
  for (const path of paths) {
    if (!path.startsWith("/")) {
      throw new ToolError(`file ${path}: must be an absolute path; nothing was sent`);
    }
    let real: string;
    let info: Deno.FileInfo;
    try {
      real = await Deno.realPath(path);
      info = await Deno.stat(real);
    } catch (err) {
      throw new ToolError(
        `file ${path}: ${
          err instanceof Deno.errors.NotFound ? "does not exist" : "cannot be read"
        }; nothing was sent`,
      );
    }
    const refusal = refuseStatePath(real, stateReal);
    if (refusal) throw new ToolError(`file ${path} refused: ${refusal}; nothing was sent`);
    if (!info.isFile) throw new ToolError(`file ${path} is not a regular file; nothing was sent`);
    if (info.size > MAX_FILE_BYTES) {
      throw new ToolError(
        `file ${path} is ${(info.size / 1024 / 1024).toFixed(1)} MB, over Discord's ${
          MAX_FILE_BYTES / 1024 / 1024
        } MB upload limit; nothing was sent`,
      );
    }
    checked.push({ path, real, name: real.slice(real.lastIndexOf("/") + 1) || "file" });
  }
  const uploads: FileUpload[] = [];
  for (const f of checked) {
    uploads.push({ name: f.name, data: await Deno.readFile(f.real) });
  }
  return uploads;
}
