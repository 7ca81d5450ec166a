/**
 * The state directory holds the bot token (`.env`), the allowlist
 * (`access.json`, the security boundary) and downloaded attachments. Another
 * local user who can read the token can run the bot; one who can write
 * `access.json` can allow themselves to steer Claude.
 *
 * @module
 */

/**
 * Creates the state directory with mode 0700 if it is missing, tightens a
 * `.env` that others can read to 0600, and warns about a directory that
 * others can enter (left alone: it may be a directory the user shares on
 * purpose, e.g. a DISCORD_STATE_DIR they chose). Never throws.
 */
export function secureStateDir(stateDir: string, log: (line: string) => void): void {
  if (Deno.build.os === "windows") return; // POSIX modes do not apply
  try {
    Deno.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) {
      log(`warning: cannot create the state directory ${stateDir}: ${err}`);
      return;
    }
  }
  try {
    const mode = Deno.statSync(stateDir).mode;
    if (mode !== null && (mode & 0o077) !== 0) {
      log(
        `warning: the state directory ${stateDir} is accessible to other users (mode ${
          (mode & 0o777).toString(8)
        }); it holds the bot token and the allowlist. Fix: chmod 700 ${stateDir}`,
      );
    }
  } catch {
    // vanished or unreadable: the bridge reports the real problem later
  }
  const envPath = `${stateDir}/.env`;
  try {
    // lstat: never chmod through a symlink to some other file.
    const info = Deno.lstatSync(envPath);
    if (info.isFile && info.mode !== null && (info.mode & 0o077) !== 0) {
      Deno.chmodSync(envPath, 0o600);
      log(
        `warning: ${envPath} was readable by other users (mode ${
          (info.mode & 0o777).toString(8)
        }); changed it to 600. The bot token in it may have been exposed: consider resetting it.`,
      );
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      log(`warning: cannot check the mode of ${envPath}: ${err}`);
    }
  }
}
