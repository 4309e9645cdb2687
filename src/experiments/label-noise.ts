/**
 * `label-noise` — 002 §5.3 Fig 12 and 003 §6.3.1 Tab 6: with noisy training labels, SAM
 * generalizes better than plain SGD; and (003 Tab 6) F-SAM at least matches SAM there. The
 * `default` scale is the project's default comparison (train/default-comparison.ts, what
 * `npm start` runs): the same specs, hence the same run keys, as `sharpness compare` without
 * flags. ASAM rides along for its numbers.
 */
import { CLAIM, DEFAULT_COMPARISON } from "../train/default-comparison.js";
import { optimizerFromToken } from "../train/compare.js";
import { fillSpec } from "../train/spec.js";
import { pct } from "../report/html.js";
import { type Experiment, type Judgement, type Scale } from "./experiment.js";
import { betterVerdict, pairedDiff, pts, trainingReport } from "./training.js";

type Setting = { trainSize: number; hidden: number; epochs: number; seeds: number[]; tokens: string[] };
const D = DEFAULT_COMPARISON;
const SCALE: Record<Scale, Setting> = {
  quick: { trainSize: 1000, hidden: 32, epochs: 4, seeds: [0, 1], tokens: ["sgd", "sam:rho=0.1", "fsam:rho=0.1:lambda=0.6"] },
  default: { trainSize: D.spec.data.trainSize, hidden: D.spec.model.hidden, epochs: D.spec.epochs, seeds: D.seeds, tokens: D.optimizers },
  full: { trainSize: 10_000, hidden: 256, epochs: 30, seeds: [0, 1, 2, 3, 4], tokens: D.optimizers },
};

function specsOf(scale: Scale) {
  const s = SCALE[scale];
  const common = { ...D.spec, data: { ...D.spec.data, trainSize: s.trainSize }, model: { ...D.spec.model, hidden: s.hidden }, epochs: s.epochs };
  return s.seeds.flatMap((seed) => s.tokens.map((t) => fillSpec({ ...common, seed, optimizer: optimizerFromToken(t, common.optimizer.base) })));
}

/** The runs of optimizer `name`, in seed order. */
const runsOf = (scale: Scale, name: string) => specsOf(scale).filter((s) => s.optimizer.name === name);

export const labelNoise: Experiment = {
  id: CLAIM.id,
  claim: "With noisy training labels, SAM reaches a higher final test accuracy than plain SGD.",
  source: "002 §5.3, Fig 12; 003 §6.3.1, Tab 6",
  setting: "Fashion-MNIST with 60% symmetric label noise, one-hidden-layer ReLU MLP, SGD (lr 0.05, momentum 0.9, no weight decay), batch 128; SAM ρ 0.1, ASAM ρ 1 (η 0.01, weight matrices only), F-SAM ρ 0.1 (σ 1, λ 0.6); training-set size, width, epochs and seeds per scale.",
  rule: "SAM's final test accuracy minus SGD's, paired by seed: reproduced when the mean difference is > 0 and its 95% t-interval excludes 0; not reproduced when the mean difference is ≤ 0; inconclusive when it is > 0 but the interval includes 0. Second verdict (003 Tab 6), the same rule for F-SAM minus SAM.",
  scales: {
    quick: "Fashion-MNIST 1,000 images, 60% noise, MLP 784-32-10, 4 epochs, SGD vs SAM ρ 0.1 vs F-SAM, seeds 0-1 (a smoke test)",
    default: "the default comparison (npm start): 5,000 images, 60% noise, MLP 784-256-10, 30 epochs, SGD/SAM/ASAM/F-SAM, seeds 0-2",
    full: "10,000 images, 60% noise, MLP 784-256-10, 30 epochs, SGD/SAM/ASAM/F-SAM, seeds 0-4",
  },
  differences: "CPU scale: an MLP on Fashion-MNIST instead of ResNet-18 on CIFAR-10 (002) or ResNets/WRNs on CIFAR (003); 30 epochs instead of 200.",
  specs: specsOf,
  judge(r, scale): Judgement {
    const sgd = runsOf(scale, "sgd");
    const numbers: Judgement["numbers"] = {};
    const lines: string[] = [];
    for (const name of [...new Set(specsOf(scale).map((x) => x.optimizer.name))].filter((x) => x !== "sgd")) {
      const mine = runsOf(scale, name);
      const d = pairedDiff(r, mine, sgd, `${name} − SGD final test accuracy, paired by seed (fraction)`);
      numbers[`${name}MinusSgd`] = d;
      numbers[`${name}NoisyFitMinusSgd`] = pairedDiff(r, mine, sgd, `${name} − SGD fraction of noisy labels fitted at the end`, "noisyTrainAccuracy");
      const wins = mine.filter((s, i) => r.train(s).metrics.testAccuracy > r.train(sgd[i]).metrics.testAccuracy).length;
      numbers[`${name}Wins`] = { value: wins, n: mine.length, what: `seeds where ${name} beats SGD` };
      lines.push(`${name} − SGD ${pts(d.value)} points [${pts(d.lo)}, ${pts(d.hi)}] (${wins}/${mine.length} seeds)`);
    }
    const fsamVsSam = pairedDiff(r, runsOf(scale, "fsam"), runsOf(scale, "sam"), "F-SAM − SAM final test accuracy, paired by seed (fraction)");
    numbers.fsamMinusSam = fsamVsSam;
    const sgdMean = sgd.reduce((a, x) => a + r.train(x).metrics.testAccuracy, 0) / sgd.length;
    const summary = `${lines.join("; ")}; F-SAM − SAM ${pts(fsamVsSam.value)} [${pts(fsamVsSam.lo)}, ${pts(fsamVsSam.hi)}]; SGD mean final test accuracy ${pct(sgdMean)}`;
    const main = betterVerdict(numbers.samMinusSgd, "SAM", "SGD");
    const second = betterVerdict(fsamVsSam, "F-SAM", "SAM");
    return { ...main, summary, numbers, also: [{ claim: "F-SAM beats SAM under label noise (003 Tab 6)", ...second }] };
  },
  async report(r, scale) {
    return trainingReport(r, specsOf(scale));
  },
};
