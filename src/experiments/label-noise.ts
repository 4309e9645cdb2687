/**
 * `label-noise` — 002 §5.3 Fig 12 and 003 §6.3.1 Tab 6: with noisy training labels, SAM
 * generalizes better than plain SGD. The `default` scale is the project's default comparison
 * (train/default-comparison.ts, what `npm start` runs): the same specs, hence the same run keys,
 * as `sharpness compare` without flags. ASAM and F-SAM ride along for their numbers; the verdict
 * is on SAM.
 */
import { CLAIM, DEFAULT_COMPARISON } from "../train/default-comparison.js";
import { optimizerFromToken } from "../train/compare.js";
import { fillSpec } from "../train/spec.js";
import { pairedStats, pct } from "../report/html.js";
import { renderSweepBody, summarizeRuns } from "../report/sweep-report.js";
import { meanCi, type Experiment, type Judgement, type Scale } from "./experiment.js";
import type { RunResult } from "../train/result.js";

type Setting = { trainSize: number; hidden: number; epochs: number; seeds: number[]; tokens: string[] };
const D = DEFAULT_COMPARISON;
const SCALE: Record<Scale, Setting> = {
  quick: { trainSize: 2000, hidden: 128, epochs: 10, seeds: [0, 1], tokens: ["sgd", "sam:rho=0.1"] },
  default: { trainSize: D.spec.data.trainSize, hidden: D.spec.model.hidden, epochs: D.spec.epochs, seeds: D.seeds, tokens: D.optimizers },
  full: { trainSize: 10_000, hidden: 256, epochs: 30, seeds: [0, 1, 2, 3, 4], tokens: D.optimizers },
};

function specsOf(scale: Scale) {
  const s = SCALE[scale];
  const common = { ...D.spec, data: { ...D.spec.data, trainSize: s.trainSize }, model: { ...D.spec.model, hidden: s.hidden }, epochs: s.epochs };
  return s.seeds.flatMap((seed) => s.tokens.map((t) => fillSpec({ ...common, seed, optimizer: optimizerFromToken(t, common.optimizer.base) })));
}

const pts = (x: number | null | undefined) => (x === null || x === undefined ? "–" : `${x >= 0 ? "+" : ""}${(100 * x).toFixed(2)}`);

export const labelNoise: Experiment = {
  id: CLAIM.id,
  claim: "With noisy training labels, SAM reaches a higher final test accuracy than plain SGD.",
  source: "002 §5.3, Fig 12; 003 §6.3.1, Tab 6",
  setting: "Fashion-MNIST with 60% symmetric label noise, one-hidden-layer ReLU MLP, SGD (lr 0.05, momentum 0.9, no weight decay), batch 128; SAM ρ 0.1, ASAM ρ 1 (η 0.01, weight matrices only), F-SAM ρ 0.1 (σ 1, λ 0.6); training-set size, width, epochs and seeds per scale.",
  rule: "SAM's final test accuracy minus SGD's, paired by seed: reproduced when the mean difference is > 0 and its 95% t-interval excludes 0; not reproduced when the mean difference is ≤ 0; inconclusive when it is > 0 but the interval includes 0.",
  scales: {
    quick: "Fashion-MNIST 2,000 images, 60% noise, MLP 784-128-10, 10 epochs, SGD vs SAM ρ 0.1, seeds 0-1",
    default: "the default comparison (npm start): 5,000 images, 60% noise, MLP 784-256-10, 30 epochs, SGD/SAM/ASAM/F-SAM, seeds 0-2",
    full: "10,000 images, 60% noise, MLP 784-256-10, 30 epochs, SGD/SAM/ASAM/F-SAM, seeds 0-4",
  },
  differences: "CPU scale: an MLP on Fashion-MNIST instead of ResNet-18 on CIFAR-10 (002) or ResNets/WRNs on CIFAR (003); 30 epochs instead of 200.",
  specs: specsOf,
  judge(r, scale): Judgement {
    const runs = specsOf(scale).map((s) => r.train(s));
    const by = (name: string) => new Map(runs.filter((x) => x.optimizer === name).map((x) => [x.seed, x]));
    const sgd = by("sgd");
    const numbers: Judgement["numbers"] = {};
    const lines: string[] = [];
    for (const name of [...new Set(runs.map((x) => x.optimizer))].filter((x) => x !== "sgd")) {
      const pairs = [...by(name).values()].filter((x) => sgd.has(x.seed)).map((x) => [x.metrics, sgd.get(x.seed)!.metrics] as const);
      const d = meanCi(
        pairs.map(([a, b]) => a.testAccuracy - b.testAccuracy),
        `${name} − SGD final test accuracy, paired by seed (fraction)`,
      );
      const noisy = meanCi(
        pairs.map(([a, b]) => (a.noisyTrainAccuracy ?? NaN) - (b.noisyTrainAccuracy ?? NaN)),
        `${name} − SGD fraction of noisy labels fitted at the end`,
      );
      numbers[`${name}MinusSgd`] = d;
      numbers[`${name}NoisyFitMinusSgd`] = noisy;
      numbers[`${name}Wins`] = { value: pairedStats(pairs).wins, n: pairs.length, what: `seeds where ${name} beats SGD` };
      lines.push(`${name} − SGD ${pts(d.value)} points [${pts(d.lo)}, ${pts(d.hi)}] (${numbers[`${name}Wins`].value}/${pairs.length} seeds)`);
    }
    const d = numbers.samMinusSgd;
    const summary = `${lines.join("; ")}; SGD mean final test accuracy ${pct([...sgd.values()].reduce((a, x) => a + x.metrics.testAccuracy, 0) / sgd.size)}`;
    const n = d.n ?? 0;
    if (d.value === null) return { verdict: "inconclusive", reason: "no SAM/SGD pairs", summary, numbers };
    if (d.value <= 0) return { verdict: "not reproduced", reason: `SAM is not better than SGD on average: ${pts(d.value)} points over ${n} seeds.`, summary, numbers };
    if (d.lo !== null && d.lo !== undefined && d.lo > 0) return { verdict: "reproduced", reason: `SAM beats SGD by ${pts(d.value)} points, 95% CI [${pts(d.lo)}, ${pts(d.hi)}] over ${n} seeds.`, summary, numbers };
    return { verdict: "inconclusive", reason: `SAM is ahead by ${pts(d.value)} points on average but the 95% CI ${d.lo === null ? "is undefined (one seed)" : `[${pts(d.lo)}, ${pts(d.hi)}] includes 0`} over ${n} seeds.`, summary, numbers };
  },
  async report(r, scale) {
    const runs: RunResult[] = specsOf(scale).map((s) => r.train(s));
    return renderSweepBody(summarizeRuns(runs, []));
  },
};
