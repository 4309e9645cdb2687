/**
 * `npm run bench`: median milliseconds of one jitted training step (SGD, SAM, F-SAM, all on
 * base SGD) for the MLP and the CNN at batch 128, warm-up (compilation) excluded, with the
 * SAM/SGD ratio (physical limit 2.0: two forward-backward passes), on single-threaded wasm and
 * with wasm worker threads — each in its own process, since threads are fixed at import.
 * Writes runs/bench.json. Not a test: the numbers depend on the machine and its load.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
type Row = { model: string; device: string; threads: boolean; sgdMs: number; samMs: number; fsamMs: number; samOverSgd: number; fsamOverSgd: number };
const rows: Row[] = [];
for (const threads of [false, true]) {
  const r = spawnSync(process.execPath, [join(here, "steps.js")], { encoding: "utf8", env: { ...process.env, SHARPNESS_THREADS: threads ? "1" : "0" } });
  if (r.status !== 0) {
    process.stderr.write(`bench: the ${threads ? "threaded" : "single-thread"} run failed: ${r.stderr.trim().split("\n").pop()}\n`);
    process.exit(1);
  }
  rows.push(...(JSON.parse(r.stdout.trim().split("\n").pop()!) as Row[]));
}
console.log("median ms per jitted step at batch 128 (warm-up excluded); sam/sgd limit is 2.0\n");
console.log("model           device threads     sgd      sam     fsam  sam/sgd fsam/sgd");
for (const r of rows) {
  console.log(`${r.model.padEnd(15)} ${r.device.padEnd(6)} ${String(r.threads).padEnd(7)} ${r.sgdMs.toFixed(1).padStart(7)} ${r.samMs.toFixed(1).padStart(8)} ${r.fsamMs.toFixed(1).padStart(8)} ${r.samOverSgd.toFixed(2).padStart(8)} ${r.fsamOverSgd.toFixed(2).padStart(8)}`);
}
for (const m of [...new Set(rows.map((r) => r.model))]) {
  const [a, b] = [rows.find((r) => r.model === m && !r.threads)!, rows.find((r) => r.model === m && r.threads)!];
  console.log(`${m}: threads speed-up on the SAM step ×${(a.samMs / b.samMs).toFixed(2)}`);
}
mkdirSync("runs", { recursive: true });
writeFileSync("runs/bench.json", JSON.stringify({ date: new Date().toISOString(), node: process.version, results: rows }, null, 2));
console.log("wrote runs/bench.json");
