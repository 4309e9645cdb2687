/**
 * `npm run soak` (not part of `npm test`): 20,000 training steps through the real trainer
 * (F-SAM on MNIST, MLP 784-128-10, batch 128, a checkpoint every 5,000 steps) reporting resident
 * memory (RSS), the JS heap and the number of live engine buffers every 2,000 steps. Writes
 * runs/soak.json. The buffer count wraps the wasm backend's allocations (test/helpers.ts).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initEngine } from "../src/index.js";
import { loadMnist } from "../src/data/mnist.js";
import { train } from "../src/train/trainer.js";
import { trackBuffers } from "../test/helpers.js";

const STEPS = Number(process.env.SOAK_STEPS ?? 20000);
const EVERY = 2000;
await initEngine("wasm");
const live = await trackBuffers();
const data = loadMnist();
const perEpoch = 100;
const config = {
  data: { name: "mnist", trainSize: perEpoch * 128, labelNoise: 0.2 },
  model: { name: "mlp", hidden: 128 },
  optimizer: { name: "fsam", rho: 0.05, lambda: 0.6, base: { name: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 5e-4 } },
  epochs: Math.ceil(STEPS / perEpoch),
  batchSize: 128,
};
const mb = (x: number) => Math.round((x / 2 ** 20) * 10) / 10;
const rows: { step: number; rssMB: number; heapMB: number; liveBuffers: number; seconds: number }[] = [];
const t0 = performance.now();
console.log("step     RSS MB   heap MB  live buffers   seconds");
const sample = (step: number) => {
  const m = process.memoryUsage();
  const row = { step, rssMB: mb(m.rss), heapMB: mb(m.heapUsed), liveBuffers: live(), seconds: Math.round((performance.now() - t0) / 100) / 10 };
  rows.push(row);
  console.log(`${String(step).padStart(6)} ${String(row.rssMB).padStart(9)} ${String(row.heapMB).padStart(9)} ${String(row.liveBuffers).padStart(13)} ${String(row.seconds).padStart(9)}`);
};
sample(0);
await train(config, data, {
  checkpointDir: mkdtempSync(join(tmpdir(), "soak-")),
  checkpointEvery: 5000,
  onStep: (e) => {
    const t = (e.epoch - 1) * e.steps + e.step;
    if (t % EVERY === 0 && t <= STEPS) sample(t);
  },
});
mkdirSync("runs", { recursive: true });
writeFileSync("runs/soak.json", JSON.stringify({ date: new Date().toISOString(), config, rows }, null, 2));
const [first, after, last] = [rows[0], rows[1], rows[rows.length - 1]];
console.log(`\nRSS ${first.rssMB} MB at start, ${after.rssMB} MB at step ${after.step}, ${last.rssMB} MB at step ${last.step}; live buffers ${after.liveBuffers} → ${last.liveBuffers}. Wrote runs/soak.json`);
