/**
 * `perturbation-batch` — 003 §4.1, Fig 2c: SAM with the ascent (perturbation) gradient taken on
 * a batch B' of another size than the descent batch B. 003 grows B' (k × 128, B ⊆ B') and sees
 * SAM's accuracy fall as k grows: a larger B' brings the perturbation closer to the full
 * gradient's direction, the component 003 argues does not help.
 *
 * We run both ways around the descent batch: smaller B' (the first |B'| examples of B, so
 * B' ⊆ B) and larger B' (B plus random other examples, B ⊆ B' as in 003) — the spec field
 * `optimizer.ascentBatchSize` (train/trainer.ts). |B'| = |B| is SAM itself (the same run as
 * label-noise's SAM ρ 0.1). The claim's test is the trend over |B'|: a least-squares slope of
 * final test accuracy against log₂ |B'| per seed, averaged over seeds.
 */
import { lineChart, type Row } from "./charts.js";
import { meanCi, type Experiment, type Judgement, type Measured, type Results, type Scale } from "./experiment.js";
import { NOISY, describeScales, betterVerdict, pairedDiff, showPts, armRuns, trainingReport, pts } from "./training.js";
import { vegaLiteToSvg } from "../report/html.js";
import type { Verdict } from "./experiment.js";

const RHO = 0.1;
/** Ascent batch sizes per scale (the descent batch is NOISY[scale].batchSize: 50 quick, 128 default/full). */
const SIZES: Record<Scale, number[]> = { quick: [10, 50, 200], default: [32, 128, 512, 1024], full: [32, 64, 128, 256, 512, 1024] };

const sgd = (scale: Scale) => armRuns(NOISY[scale], { name: "sgd" });
const samAt = (scale: Scale, size: number) =>
  armRuns(NOISY[scale], size === NOISY[scale].batchSize ? { name: "sam", rho: RHO } : { name: "sam", rho: RHO, ascentBatchSize: size });

/** Least-squares slope of y on x. */
export function slope(x: number[], y: number[]): number {
  const mx = x.reduce((a, v) => a + v, 0) / x.length;
  const my = y.reduce((a, v) => a + v, 0) / y.length;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
  }
  return sxx > 0 ? sxy / sxx : NaN;
}

/** Per seed: the slope of final test accuracy against log₂ |B'|, as a fraction per doubling. */
function slopes(r: Results, scale: Scale): Measured {
  const sizes = SIZES[scale];
  const x = sizes.map(Math.log2);
  const per = NOISY[scale].seeds.map((_, i) => slope(x, sizes.map((s) => r.train(samAt(scale, s)[i]).metrics.testAccuracy)));
  return meanCi(per, "slope of final test accuracy per doubling of the ascent batch (least squares over |B'|, per seed, then mean)");
}

/** "The accuracy falls as B' grows": reproduced when the mean slope is < 0 with its CI below 0. */
function fallingVerdict(m: Measured): { verdict: Verdict; reason: string } {
  const show = `${pts(m.value)} points per doubling [${pts(m.lo)}, ${pts(m.hi)}] (n = ${m.n})`;
  if (m.value === null || !Number.isFinite(m.value)) return { verdict: "inconclusive", reason: "no slope" };
  if (m.value >= 0) return { verdict: "not reproduced", reason: `SAM's final test accuracy does not fall as the ascent batch grows: slope ${show}.` };
  if (m.hi !== null && m.hi !== undefined && m.hi < 0) return { verdict: "reproduced", reason: `SAM's final test accuracy falls as the ascent batch grows: slope ${show}; the 95% CI excludes 0.` };
  return { verdict: "inconclusive", reason: `the slope is negative, ${show}, but the 95% CI includes 0.` };
}

export const perturbationBatch: Experiment = {
  id: "perturbation-batch",
  claim: "SAM generalizes worse when its perturbation is computed on a larger batch than the descent step's (the perturbation moves toward the full gradient).",
  source: "003 §4.1, Fig 2c",
  setting: `The label-noise setting (Fashion-MNIST, MLP, SGD lr 0.05 momentum 0.9), SAM ρ ${RHO} with the ascent pass on |B'| examples: fewer = the first ones of the descent batch B, more = B plus random others (B ⊆ B', as in 003); plus SGD.`,
  rule: "Per seed, the least-squares slope of SAM's final test accuracy against log₂ |B'| over the ascent batch sizes. Reproduced when the mean slope over seeds is < 0 with its 95% t CI excluding 0; not reproduced when the mean slope is ≥ 0; inconclusive otherwise. Second verdict, the paired rule: SAM (|B'| = |B|) beats SAM with the largest |B'|.",
  scales: describeScales((s) => `SGD + SAM with |B'| ∈ {${SIZES[s].join(", ")}}`),
  differences: "CPU scale: an MLP on Fashion-MNIST with 60% label noise instead of ResNet-18 on CIFAR-100; 003 only grows B' (k = 1…10 × 128), we also shrink it; |B'| ≤ 1,024 of 5,000 training images at default.",
  specs(scale) {
    return [...sgd(scale), ...SIZES[scale].flatMap((s) => samAt(scale, s))];
  },
  judge(r, scale): Judgement {
    const b = NOISY[scale].batchSize;
    const largest = SIZES[scale].at(-1)!;
    const slopeM = slopes(r, scale);
    const numbers: Judgement["numbers"] = { slope: slopeM };
    for (const s of SIZES[scale]) numbers[`sam${s}MinusSgd`] = pairedDiff(r, samAt(scale, s), sgd(scale), `SAM (|B'| = ${s}) − SGD`);
    const samMinusLargest = pairedDiff(r, samAt(scale, b), samAt(scale, largest), `SAM (|B'| = |B| = ${b}) − SAM (|B'| = ${largest})`);
    numbers.samMinusLargest = samMinusLargest;
    const summary = `slope ${pts(slopeM.value)} points per doubling of |B'| [${pts(slopeM.lo)}, ${pts(slopeM.hi)}] (n = ${slopeM.n}); SAM − SGD at |B'| = ${SIZES[scale].join("/")}: ${SIZES[scale].map((s) => pts(numbers[`sam${s}MinusSgd`].value)).join("/")} points; SAM (|B'| = ${b}) − SAM (|B'| = ${largest}) ${showPts(samMinusLargest)}`;
    return { ...fallingVerdict(slopeM), summary, numbers, also: [{ claim: `SAM (|B'| = |B|) beats SAM with |B'| = ${largest} (003 Fig 2c)`, ...betterVerdict(samMinusLargest, `SAM (|B'| = ${b})`, `SAM (|B'| = ${largest})`) }] };
  },
  async report(r, scale) {
    const lines: Row[] = [];
    const points: Row[] = [];
    for (const s of SIZES[scale]) {
      const accs = samAt(scale, s).map((x) => r.train(x).metrics.testAccuracy);
      lines.push({ size: s, arm: "SAM", accuracy: meanCi(accs, "").value });
      for (const a of accs) points.push({ size: s, arm: "SAM", accuracy: a });
    }
    const sgdMean = meanCi(sgd(scale).map((x) => r.train(x).metrics.testAccuracy), "").value;
    for (const s of [SIZES[scale][0], SIZES[scale].at(-1)!]) lines.push({ size: s, arm: "SGD (mean)", accuracy: sgdMean });
    const fig = await vegaLiteToSvg(
      lineChart({ title: "Final test accuracy against the ascent batch size (mean; dots: seeds)", x: { field: "size", title: "|B'| (ascent batch; log scale)", log: true }, y: { field: "accuracy", title: "final test accuracy" }, color: { field: "arm", title: "" }, lines, points }),
    );
    return `<div class="plots">${fig}</div>\n<p>The descent batch has ${NOISY[scale].batchSize} examples; |B'| = ${NOISY[scale].batchSize} is SAM.</p>\n${await trainingReport(r, this.specs(scale))}`;
  },
};
