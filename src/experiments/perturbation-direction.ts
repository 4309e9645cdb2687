/**
 * `perturbation-direction` — 003 §4.1, Fig 1 and Fig 2a-b: split the batch gradient g into its
 * component along the full gradient G = ∇L(w) and the batch-specific rest. SAM's benefit comes
 * from the rest: ascending along P_G g only (SAM-full) hurts, along g − P_G g only (SAM-noise)
 * helps at least as much as SAM, and ascending on a different random batch than the descent
 * (SAM-db, which keeps the full-gradient component in expectation but not this batch's noise)
 * is about SGD.
 *
 * The full-gradient oracle: at `quick` the whole (500-image) training set every 10 steps; at
 * `default` a fixed 2,048-image subset every 10 steps (the subset oracle); at `full` the exact
 * full gradient every step on a 2,000-image training set small enough to afford it. Each page
 * states which; the subset oracle's G is an estimate, so SAM-full/SAM-noise there are the
 * paper's variants up to that estimate.
 */
import { type Experiment, type Judgement, type Scale } from "./experiment.js";
import { NOISY, describeSetting, equivalentVerdict, betterVerdict, pairedDiff, showPts, armRuns, trainingReport, type TrainSetting } from "./training.js";

const RHO = 0.1;
const MARGIN = 0.02;
const SETTING: Record<Scale, TrainSetting & { fullGradEvery: number; fullGradSize: number }> = {
  quick: { ...NOISY.quick, fullGradEvery: 10, fullGradSize: 500 },
  default: { ...NOISY.default, fullGradEvery: 10, fullGradSize: 2048 },
  full: { ...NOISY.full, trainSize: 2000, fullGradEvery: 1, fullGradSize: 2000 },
};
const ARMS = {
  sgd: { name: "sgd" },
  sam: { name: "sam", rho: RHO },
  samFull: { name: "sam-full", rho: RHO },
  samNoise: { name: "sam-noise", rho: RHO },
  samDb: { name: "sam", rho: RHO, ascentBatch: "random" },
} as const;
type Arm = keyof typeof ARMS;
const runs = (scale: Scale, arm: Arm) => {
  const s = SETTING[scale];
  const oracle = arm === "samFull" || arm === "samNoise" ? { fullGradEvery: s.fullGradEvery, fullGradSize: s.fullGradSize } : {};
  return armRuns(s, { ...ARMS[arm], ...oracle });
};
const oracleText = (scale: Scale) => {
  const s = SETTING[scale];
  return s.fullGradSize >= s.trainSize && s.fullGradEvery === 1 ? "exact full gradient every step" : s.fullGradSize >= s.trainSize ? `exact full gradient every ${s.fullGradEvery} steps` : `full gradient on a fixed ${s.fullGradSize}-image subset every ${s.fullGradEvery} steps`;
};

export const perturbationDirection: Experiment = {
  id: "perturbation-direction",
  claim: "SAM's benefit comes from the batch-specific part of the gradient: ascending along the full-gradient component only (SAM-full) is worse than along the rest only (SAM-noise).",
  source: "003 §4.1, Fig 1, Fig 2a-b",
  setting: `The label-noise setting (Fashion-MNIST, MLP, SGD lr 0.05 momentum 0.9), ρ ${RHO}: SGD, SAM, SAM-full, SAM-noise, SAM-db (the ascent on another random batch).`,
  rule: `Reproduced when SAM-noise − SAM-full (final test accuracy, paired by seed) is > 0 with its 95% CI excluding 0; not reproduced when it is ≤ 0; inconclusive otherwise. Further verdicts, same paired rules: SAM beats SAM-full; SAM-noise beats SAM; SAM-db ≈ SGD within ±${100 * MARGIN} points.`,
  scales: {
    quick: `${describeSetting(SETTING.quick, "5 arms")}; ${oracleText("quick")}`,
    default: `${describeSetting(SETTING.default, "5 arms")}; ${oracleText("default")}`,
    full: `${describeSetting(SETTING.full, "5 arms")}; ${oracleText("full")}`,
  },
  differences: "CPU scale: an MLP on Fashion-MNIST with 60% label noise instead of ResNets/ViTs on clean CIFAR and transfer tasks; the full gradient at `default` is the subset oracle (2,048 images, every 10 steps), exact only at `full`.",
  specs(scale) {
    return (Object.keys(ARMS) as Arm[]).flatMap((a) => runs(scale, a));
  },
  judge(r, scale): Judgement {
    const d = (a: Arm, b: Arm, what: string) => pairedDiff(r, runs(scale, a), runs(scale, b), what);
    const numbers = {
      noiseMinusFull: d("samNoise", "samFull", "SAM-noise − SAM-full, final test accuracy paired by seed"),
      samMinusFull: d("sam", "samFull", "SAM − SAM-full"),
      noiseMinusSam: d("samNoise", "sam", "SAM-noise − SAM"),
      dbMinusSgd: d("samDb", "sgd", "SAM-db − SGD"),
      samMinusSgd: d("sam", "sgd", "SAM − SGD"),
      fullMinusSgd: d("samFull", "sgd", "SAM-full − SGD"),
    };
    const summary = `SAM-noise − SAM-full ${showPts(numbers.noiseMinusFull)}; SAM − SAM-full ${showPts(numbers.samMinusFull)}; SAM-noise − SAM ${showPts(numbers.noiseMinusSam)}; SAM-db − SGD ${showPts(numbers.dbMinusSgd)}; SAM − SGD ${showPts(numbers.samMinusSgd)}; SAM-full − SGD ${showPts(numbers.fullMinusSgd)}; oracle: ${oracleText(scale)}`;
    return {
      ...betterVerdict(numbers.noiseMinusFull, "SAM-noise", "SAM-full"),
      summary,
      numbers,
      also: [
        { claim: "SAM beats SAM-full (003 Fig 2a)", ...betterVerdict(numbers.samMinusFull, "SAM", "SAM-full") },
        { claim: "SAM-noise beats SAM (003 Fig 2b)", ...betterVerdict(numbers.noiseMinusSam, "SAM-noise", "SAM") },
        { claim: "SAM-db ≈ SGD within ±2 points (003 Fig 2b)", ...equivalentVerdict(numbers.dbMinusSgd, "SAM-db", "SGD", MARGIN) },
      ],
    };
  },
  async report(r, scale) {
    return `<p>Full-gradient oracle of SAM-full and SAM-noise at this scale: ${oracleText(scale)}.</p>\n${await trainingReport(r, this.specs(scale))}`;
  },
};
