/**
 * `npm run bench`: one run, side by side — the median milliseconds per training step (blocks of 5
 * jitted steps, warm-up excluded; steps.ts) of SGD, SAM, F-SAM, LookSAM (k = 5) and m-SAM
 * (m = 16), all on SGD momentum 0.9 at batch 128, for the MLP 784-256-10, the MLP 784-512-512-10
 * and the CNN 16-32, on single-threaded wasm and with wasm worker threads (each in its own
 * process: threads are fixed at import) — with the ratios SAM/SGD (limit 2.0: two passes),
 * LookSAM/SGD (≈ 1.2) and m-SAM/SAM, and the peers present on the machine in the same run:
 * PyTorch (peer_torch.py, when some `python3` imports torch; Debian's python3-torch wants
 * libopenblas0-pthread, or its matmuls run on reference BLAS) and TensorFlow.js on its wasm
 * backend (peer-tfjs.ts); the per-step costs of sam-at-sgd-price's arms in the trainer's own loop
 * (arm-costs.ts, about 2.5 min). Then sweep throughput: runs per hour of a fixed small sweep (SWEEP
 * below: 8 short Fashion-MNIST runs of the default comparison's model, SGD and SAM × 4 seeds) through `sharpness sweep` at
 * --jobs 1 and --jobs 2, each into a fresh directory (process start-up and data loading
 * included). Writes runs/bench.json. Not a test: the numbers depend on the machine and its load.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, "..", "..", "bench");
type Ours = { model: string; device: string; threads: boolean; ms: Record<string, number>; kind?: "family" };
type Peer = { model: string; threads?: number; ms?: Record<string, number>; error?: string };

function lastJson(cmd: string, args: string[], env: Record<string, string> = {}): unknown | { failed: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", env: { ...process.env, ...env } });
  if (r.status !== 0) return { failed: (r.stderr || r.error?.message || "").trim().split("\n").pop() ?? "failed" };
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

const all: Ours[] = [];
for (const threads of [false, true]) {
  const out = lastJson(process.execPath, [join(here, "steps.js")], { SHARPNESS_THREADS: threads ? "1" : "0" });
  if ("failed" in (out as object)) {
    process.stderr.write(`bench: the ${threads ? "threaded" : "single-thread"} run failed: ${(out as { failed: string }).failed}\n`);
    process.exit(1);
  }
  all.push(...(out as Ours[]));
}
const ours = all.filter((r) => r.kind !== "family");
const family = all.find((r) => r.kind === "family");

const tfjs = lastJson(process.execPath, [join(here, "peer-tfjs.js")]) as { tfjs?: string; results?: Peer[]; failed?: string };
const python = ["python3", "/usr/bin/python3"].find((p) => spawnSync(p, ["-c", "import torch"]).status === 0);
const torch = python ? (lastJson(python, [join(src, "peer_torch.py")]) as { torch?: string; results?: Peer[]; failed?: string }) : null;

const f = (x: number | undefined, d = 1) => (x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(d));
console.log("median ms per training step at batch 128 (blocks of 5 steps, warm-up excluded); SGD momentum 0.9 base\n");
console.log("model               threads    sgd    sam   fsam looksam  m-sam │ sam/sgd looksam/sgd m-sam/sam │ torch sgd/sam  ours/torch │ tfjs sgd/sam   tfjs/ours");
for (const r of ours) {
  const t = torch?.results?.find((p) => p.model === r.model && p.threads === (r.threads ? 2 : 1));
  const j = tfjs.results?.find((p) => p.model === r.model);
  const m = r.ms;
  console.log(
    [
      r.model.padEnd(19),
      String(r.threads).padEnd(7),
      ...["sgd", "sam", "fsam", "looksam", "msam"].map((k) => f(m[k]).padStart(6)),
      "│",
      f(m.sam / m.sgd, 2).padStart(7),
      f(m.looksam / m.sgd, 2).padStart(11),
      f(m.msam / m.sam, 2).padStart(9),
      "│",
      (t?.ms ? `${f(t.ms.sgd)}/${f(t.ms.sam)}` : "–").padStart(13),
      f(t?.ms ? m.sam / t.ms.sam : undefined, 2).padStart(11),
      "│",
      (j?.ms ? `${f(j.ms.sgd)}/${f(j.ms.sam)}` : j?.error ? "n/a" : "–").padStart(12),
      f(j?.ms ? j.ms.sam / m.sam : undefined, 2).padStart(11),
    ].join(" "),
  );
}
console.log(`\nlimits: sam/sgd ≤ 2.0, looksam/sgd ≈ 1.2; goals (issue 12): ours/torch ≤ 2.5 (MLP 784-256-10), ≤ 1.5 (CNN); tfjs/ours ≥ 5`);
if (family) {
  console.log(`\nthe rest of the family, ${family.model}, batch 128, one thread: ms per step and × SGD`);
  for (const [k, v] of Object.entries(family.ms)) console.log(`  ${k.padEnd(20)} ${f(v).padStart(6)}  ×${f(v / family.ms.sgd, 2)}`);
}
// The trainer's own per-step costs of sam-at-sgd-price's arms (its cost model; arm-costs.ts).
const armCosts = lastJson(process.execPath, [join(here, "arm-costs.js")]) as { msPerStep?: Record<string, number>; cost?: Record<string, number>; failed?: string };
if (armCosts.cost) {
  console.log(`\nsam-at-sgd-price's arms in sharpness train's loop (label-noise setting, epochs 2-6, medians of 3 rounds): ms per step and × SGD`);
  for (const [k, v] of Object.entries(armCosts.cost)) console.log(`  ${k.padEnd(20)} ${f(armCosts.msPerStep![k]).padStart(6)}  ×${f(v, 2)}`);
} else console.log(`arm costs failed: ${armCosts.failed}`);
console.log(`PyTorch: ${torch ? (torch.torch ? `${torch.torch} (${python}; threads 1 and 2)` : `failed: ${torch.failed}`) : "not on this machine (python3 -c 'import torch' fails)"}`);
console.log(`TensorFlow.js: ${tfjs.tfjs ? `${tfjs.tfjs}, wasm backend, one thread` : `failed: ${tfjs.failed}`}${tfjs.results?.filter((p) => p.error).map((p) => `; ${p.model}: ${p.error}`).join("") ?? ""}`);
// Sweep throughput: the same 8 runs at --jobs 1 and --jobs 2.
const SWEEP = {
  title: "bench: sweep throughput",
  base: { data: { name: "fashion-mnist", trainSize: 5000, labelNoise: 0.2 }, model: { name: "mlp", hidden: 256 }, optimizer: { name: "sgd", base: { name: "sgd", lr: 0.05, momentum: 0.9 } }, epochs: 5, batchSize: 128 },
  grid: { optimizer: [{ name: "sgd" }, { name: "sam", rho: 0.05 }], seed: [0, 1, 2, 3] },
};
const sweep: { jobs: number; runs: number; seconds: number; runsPerHour: number }[] = [];
const cli = join(here, "..", "src", "cli", "main.js");
for (const jobs of [1, 2]) {
  const dir = mkdtempSync(join(tmpdir(), "bench-sweep-"));
  writeFileSync(join(dir, "sweep.json"), JSON.stringify(SWEEP));
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, "sweep", "--spec", join(dir, "sweep.json"), "--out", join(dir, "out"), "--jobs", String(jobs)], { encoding: "utf8", env: { ...process.env, CI: "1" } });
  const seconds = (performance.now() - t0) / 1000;
  rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) {
    console.log(`sweep at --jobs ${jobs} failed: ${r.stderr.trim().split("\n").pop()}`);
    continue;
  }
  sweep.push({ jobs, runs: 8, seconds, runsPerHour: (8 * 3600) / seconds });
}
console.log(`\nsweep throughput (8 runs: Fashion-MNIST 5,000 images, MLP 784-256-10, 5 epochs, SGD and SAM × 4 seeds; start-up and data loading included):`);
for (const x of sweep) console.log(`  --jobs ${x.jobs}: ${x.seconds.toFixed(1)} s, ${Math.round(x.runsPerHour)} runs/hour`);
if (sweep.length === 2) console.log(`  --jobs 2 / --jobs 1: ×${(sweep[1].runsPerHour / sweep[0].runsPerHour).toFixed(2)}`);
mkdirSync("runs", { recursive: true });
writeFileSync("runs/bench.json", JSON.stringify({ date: new Date().toISOString(), node: process.version, ours, family, armCosts, torch, tfjs, sweep }, null, 2) + "\n");
console.log("wrote runs/bench.json");
