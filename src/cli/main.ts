#!/usr/bin/env node
/**
 * The `sharpness` command. Polyfills load before jax-js (DESIGN §5), and so must the worker
 * shim when wasm worker threads are on (asked for with `--threads` / SHARPNESS_THREADS=1, or
 * chosen for a CNN run: auto-threads.ts) — hence the dynamic import of everything that imports
 * jax-js. `sharpness --version` (or `-V`) prints the package's version and loads nothing else.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import "../engine/polyfills.js";
import { installWasmThreads } from "../engine/node-threads.js";
import { threadsFor } from "../engine/auto-threads.js";

/**
 * The version in this package's package.json: the nearest one above this file named
 * sharpness-aware (dist/cli/ in the package, build/src/cli/ in the repository's tests).
 */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "sharpness-aware" && pkg.version) return pkg.version;
    } catch {
      // no package.json here (or not ours): look further up
    }
    const up = dirname(dir);
    if (up === dir) throw new Error("sharpness: cannot find the package.json of sharpness-aware");
    dir = up;
  }
}

const argv = process.argv.slice(2);
if (argv[0] === "--version" || argv[0] === "-V") {
  process.stdout.write(`${packageVersion()}\n`);
} else {
  const choice = threadsFor(argv);
  const threads = choice.on && installWasmThreads();
  const { main } = await import("./run.js");
  const code = await main(argv, { threads, threadsAuto: threads && choice.auto });
  // Worker threads keep Node alive; end explicitly once the output is flushed.
  if (threads) process.stdout.write("", () => process.exit(code));
  else process.exitCode = code;
}
