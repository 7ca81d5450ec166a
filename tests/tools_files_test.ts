/**
 * `loadUploads` in-process (the end-to-end tests run the bridge inside its
 * Deno sandbox, which may refuse some of these paths before this code does).
 */
import { match as assertMatch, rejects as assertRejects } from "node:assert/strict";
import { loadUploads } from "../lib/tools/files.ts";

Deno.test("uploads: kernel pseudo-files are refused, /proc/self/environ above all", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "files-unit-" });
  try {
    for (const path of ["/proc/self/environ", "/proc/self/cmdline", "/dev/null"]) {
      await assertRejects(loadUploads([path], stateDir), (err: Error) => {
        assertMatch(err.message, /refused: system pseudo-files/);
        return true;
      });
    }
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});
