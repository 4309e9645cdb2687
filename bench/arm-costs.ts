/**
 * The cost model of the `sam-at-sgd-price` experiment: seconds per training step of each of its
 * cost probes (experiments/sam-at-sgd-price.ts COST_PROBES) in `sharpness train`'s own loop —
 * batch assembly, the jitted step, the host reads of loss and finiteness — on the label-noise
 * default setting (Fashion-MNIST 5,000 images, MLP 784-256-10, batch 128), one thread.
 *
 * Each probe trains 6 epochs; its cost is the training time of epochs 2-6 per step (epoch 1
 * compiles). Rounds interleave the probes, each round starting one probe later, so that load
 * drift and the position in a round hit all alike; a probe's cost is
 * the median over rounds of its time / SGD's time in the same round. Prints one JSON line
 * (run by bench.ts, or alone: `node build/bench/arm-costs.js [rounds]`).
 */
import "../src/engine/polyfills.js";
import { initEngine } from "../src/engine/device.js";
import { loadFashionMnist } from "../src/data/fashion-mnist.js";
import { train } from "../src/train/trainer.js";
import { armRuns } from "../src/experiments/training.js";
import { COST_PROBES, SETTING, type CostKey } from "../src/experiments/sam-at-sgd-price.js";
import { median } from "../src/experiments/experiment.js";

const rounds = Number(process.argv[2] ?? 3);
const EPOCHS = 6;
await initEngine("wasm");
const data = loadFashionMnist();
const keys = Object.keys(COST_PROBES) as CostKey[];
const perRound: Record<CostKey, number>[] = [];
for (let i = 0; i < rounds; i++) {
  const secs = {} as Record<CostKey, number>;
  // Rotate the order: the first run of a round is not always the same probe.
  for (const k of [...keys.slice(i % keys.length), ...keys.slice(0, i % keys.length)]) {
    const [spec] = armRuns({ ...SETTING.default, seeds: [0] }, COST_PROBES[k], { epochs: EPOCHS });
    const r = await train(spec, data);
    const h = r.history;
    secs[k] = (h[EPOCHS - 1].trainSeconds! - h[0].trainSeconds!) / ((EPOCHS - 1) * r.stepsPerEpoch);
  }
  perRound.push(secs);
}
const cost = Object.fromEntries(keys.map((k) => [k, Number(median(perRound.map((s) => s[k] / s.sgd)).toFixed(2))]));
const msPerStep = Object.fromEntries(keys.map((k) => [k, Number((1000 * median(perRound.map((s) => s[k]))).toFixed(2))]));
process.stdout.write(JSON.stringify({ rounds, epochs: EPOCHS, msPerStep, cost }) + "\n", () => process.exit(0));
