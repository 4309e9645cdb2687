/**
 * `npm run bench`: one run, side by side — the median milliseconds per training step (blocks of 5
 * jitted steps, warm-up excluded; steps.ts) of SGD, SAM, F-SAM, LookSAM (k = 5) and m-SAM
 * (m = 16), all on SGD momentum 0.9 at batch 128, for the MLP 784-256-10, the MLP 784-512-512-10
 * and the CNN 16-32, on single-threaded wasm and with wasm worker threads (each in its own
 * process: threads are fixed at import) — with the ratios SAM/SGD (limit 2.0: two passes),
 * LookSAM/SGD (≈ 1.2) and m-SAM/SAM, and the peers present on the machine in the same run:
 * PyTorch (peer_torch.py, when some `python3` imports torch; Debian's python3-torch wants
 * libopenblas0-pthread, or its matmuls run on reference BLAS) and TensorFlow.js on its wasm
 * backend (peer-tfjs.ts). Writes runs/bench.json. Not a test: the numbers depend on the machine
 * and its load.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, "..", "..", "bench");
type Ours = { model: string; device: string; threads: boolean; ms: Record<string, number> };
type Peer = { model: string; threads?: number; ms?: Record<string, number>; error?: string };

function lastJson(cmd: string, args: string[], env: Record<string, string> = {}): unknown | { failed: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", env: { ...process.env, ...env } });
  if (r.status !== 0) return { failed: (r.stderr || r.error?.message || "").trim().split("\n").pop() ?? "failed" };
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

const ours: Ours[] = [];
for (const threads of [false, true]) {
  const out = lastJson(process.execPath, [join(here, "steps.js")], { SHARPNESS_THREADS: threads ? "1" : "0" });
  if ("failed" in (out as object)) {
    process.stderr.write(`bench: the ${threads ? "threaded" : "single-thread"} run failed: ${(out as { failed: string }).failed}\n`);
    process.exit(1);
  }
  ours.push(...(out as Ours[]));
}

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
console.log(`PyTorch: ${torch ? (torch.torch ? `${torch.torch} (${python}; threads 1 and 2)` : `failed: ${torch.failed}`) : "not on this machine (python3 -c 'import torch' fails)"}`);
console.log(`TensorFlow.js: ${tfjs.tfjs ? `${tfjs.tfjs}, wasm backend, one thread` : `failed: ${tfjs.failed}`}${tfjs.results?.filter((p) => p.error).map((p) => `; ${p.model}: ${p.error}`).join("") ?? ""}`);
mkdirSync("runs", { recursive: true });
writeFileSync("runs/bench.json", JSON.stringify({ date: new Date().toISOString(), node: process.version, ours, torch, tfjs }, null, 2) + "\n");
console.log("wrote runs/bench.json");
