#!/usr/bin/env node
/** The `sharpness` command. Polyfills load before jax-js (DESIGN §5). */
import "../engine/polyfills.js";
import { main } from "./run.js";

process.exitCode = await main(process.argv.slice(2));
