/**
 * Reading the environment under a narrow `--allow-env` list.
 *
 * @module
 */

/**
 * Reads only the variables named: each task grants exactly those its program
 * uses (`--allow-env=…`), and `Deno.env.toObject()` would need them all. A
 * variable that is not granted reads as unset.
 */
export function readEnv(names: readonly string[]): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const name of names) {
    try {
      env[name] = Deno.env.get(name);
    } catch {
      // Not granted (a narrower --allow-env than ours): treat it as unset.
    }
  }
  return env;
}
