#!/usr/bin/env node
/**
 * The `sharpness` command. Polyfills load before jax-js (DESIGN §5), and so must the worker
 * shim when wasm worker threads are on (asked for with `--threads` / SHARPNESS_THREADS=1, or
 * chosen for a CNN run: auto-threads.ts) — hence the dynamic import of everything that imports
 * jax-js.
 */
import "../engine/polyfills.js";
import { installWasmThreads } from "../engine/node-threads.js";
import { threadsFor } from "../engine/auto-threads.js";

const argv = process.argv.slice(2);
const choice = threadsFor(argv);
const threads = choice.on && installWasmThreads();
const { main } = await import("./run.js");
const code = await main(argv, { threads, threadsAuto: threads && choice.auto });
// Worker threads keep Node alive; end explicitly once the output is flushed.
if (threads) process.stdout.write("", () => process.exit(code));
else process.exitCode = code;
