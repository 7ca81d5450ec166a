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

Deno.test("uploads: a directory swapped for a link to the state dir after the check is refused", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "files-unit-state-" });
  const parent = await Deno.makeTempDir({ prefix: "files-unit-decoy-" });
  try {
    await Deno.writeTextFile(`${stateDir}/.env`, "DISCORD_BOT_TOKEN=the-secret\n");
    await Deno.mkdir(`${parent}/a`);
    await Deno.writeTextFile(`${parent}/a/.env`, "harmless\n");
    const swap = async () => {
      await Deno.rename(`${parent}/a`, `${parent}/old`);
      await Deno.symlink(stateDir, `${parent}/a`);
    };
    await assertRejects(
      loadUploads([`${parent}/a/.env`], stateDir, { beforeRead: swap }),
      (err: Error) => {
        assertMatch(err.message, /refused/);
        return true;
      },
    );
  } finally {
    await Deno.remove(stateDir, { recursive: true });
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("uploads: a path swapped into /proc/self after the check is refused", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "files-unit-state-" });
  const parent = await Deno.makeTempDir({ prefix: "files-unit-decoy-" });
  try {
    await Deno.mkdir(`${parent}/a`);
    await Deno.writeTextFile(`${parent}/a/environ`, "harmless\n");
    const swap = async () => {
      await Deno.rename(`${parent}/a`, `${parent}/old`);
      await Deno.symlink("/proc/self", `${parent}/a`);
    };
    await assertRejects(
      loadUploads([`${parent}/a/environ`], stateDir, { beforeRead: swap }),
      (err: Error) => {
        assertMatch(err.message, /refused/);
        return true;
      },
    );
  } finally {
    await Deno.remove(stateDir, { recursive: true });
    await Deno.remove(parent, { recursive: true });
  }
});
