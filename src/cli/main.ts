#!/usr/bin/env node
/**
 * The `sharpness` command. Polyfills load before jax-js (DESIGN §5), and so must the worker
 * shim when `--threads` (or SHARPNESS_THREADS=1) asks for wasm worker threads — hence the
 * dynamic import of everything that imports jax-js.
 */
import "../engine/polyfills.js";
import { installWasmThreads } from "../engine/node-threads.js";

const argv = process.argv.slice(2);
const threads = (argv.includes("--threads") || process.env.SHARPNESS_THREADS === "1") && installWasmThreads();
const { main } = await import("./run.js");
const code = await main(argv, { threads });
// Worker threads keep Node alive; end explicitly once the output is flushed.
if (threads) process.stdout.write("", () => process.exit(code));
else process.exitCode = code;
