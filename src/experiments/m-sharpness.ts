/**
 * `m-sharpness` — 002 §3, Fig 1 and Fig 16: SAM's generalization depends on m, the number of
 * examples each ascent is computed on (m-SAM: the batch split into sub-batches of m, one
 * perturbation per sub-batch, the perturbed gradients averaged). Smaller m generalizes better;
 * n-SAM (the ascent on other data than the descent's: here the previous batch, as the registry's
 * `ascentBatch: "previous"`) and a random perturbation of the same norm are about ERM.
 *
 * Random perturbation: ε ~ N(0, σ²I) with σ = ρ/√P, so that E‖ε‖² = ρ² (P parameters of the
 * MLP: 795·h + 10). m must divide the batch: m ∈ {10, 50} at `quick` (batch 50), {8, 32, 128} at
 * `default` and `full` (batch 128; m = 128 is standard SAM).
 */
import { lineChart, type Row } from "./charts.js";
import { meanCi, type Experiment, type Judgement, type Scale } from "./experiment.js";
import { NOISY, describeSetting, betterVerdict, equivalentVerdict, pairedDiff, showPts, armRuns, trainingReport } from "./training.js";
import { vegaLiteToSvg } from "../report/html.js";
import type { RunSpec } from "../train/spec.js";

const RHO = 0.1;
const MARGIN = 0.02;
const MS: Record<Scale, number[]> = { quick: [10, 50], default: [8, 32, 128], full: [8, 32, 128] };
const params = (scale: Scale) => 795 * NOISY[scale].hidden + 10;
const erm = (scale: Scale) => armRuns(NOISY[scale], { name: "sgd" });
const random = (scale: Scale) => armRuns(NOISY[scale], { name: "random-perturbation", sigma: Number((RHO / Math.sqrt(params(scale))).toPrecision(6)) });
const nSam = (scale: Scale) => armRuns(NOISY[scale], { name: "sam", rho: RHO, ascentBatch: "previous" });
/** m-SAM; m = the batch size is standard SAM (no split). */
const mSam = (scale: Scale, m: number) => armRuns(NOISY[scale], m === NOISY[scale].batchSize ? { name: "sam", rho: RHO } : { name: "sam", rho: RHO, m });

export const mSharpness: Experiment = {
  id: "m-sharpness",
  claim: "m-SAM generalizes better the smaller m is, while n-SAM and a random perturbation of the same norm are about as good as ERM.",
  source: "002 §3, Fig 1, Fig 16",
  setting: `The label-noise setting (Fashion-MNIST, MLP, SGD lr 0.05 momentum 0.9), ρ ${RHO}: ERM, a random perturbation with E‖ε‖ = ρ, n-SAM (ascent on the previous batch), and m-SAM for several m (m = batch size is standard SAM).`,
  rule: `Reproduced when m-SAM with the smallest m beats n-SAM (final test accuracy paired by seed, 95% CI excluding 0); not reproduced when it is not better on average; inconclusive otherwise. Further verdicts: the smallest m beats standard SAM (m = batch); n-SAM ≈ ERM and random ≈ ERM within ±${100 * MARGIN} points.`,
  scales: {
    quick: describeSetting(NOISY.quick, `ERM, random, n-SAM, m ∈ {${MS.quick.join(", ")}}`),
    default: describeSetting(NOISY.default, `ERM, random, n-SAM, m ∈ {${MS.default.join(", ")}}`),
    full: describeSetting(NOISY.full, `ERM, random, n-SAM, m ∈ {${MS.full.join(", ")}}`),
  },
  differences: "CPU scale: an MLP on Fashion-MNIST with 60% label noise instead of ResNets on clean CIFAR-10/100; n-SAM's ascent uses the previous batch (an independent batch), not the whole training set.",
  specs(scale) {
    return [...erm(scale), ...random(scale), ...nSam(scale), ...MS[scale].flatMap((m) => mSam(scale, m))];
  },
  judge(r, scale): Judgement {
    const ms = MS[scale];
    const small = ms[0];
    const numbers: Judgement["numbers"] = {
      smallMMinusNSam: pairedDiff(r, mSam(scale, small), nSam(scale), `m-SAM (m ${small}) − n-SAM, final test accuracy paired by seed`),
      smallMMinusSam: pairedDiff(r, mSam(scale, small), mSam(scale, ms.at(-1)!), `m-SAM (m ${small}) − standard SAM (m ${ms.at(-1)})`),
      nSamMinusErm: pairedDiff(r, nSam(scale), erm(scale), "n-SAM − ERM"),
      randomMinusErm: pairedDiff(r, random(scale), erm(scale), "random perturbation − ERM"),
    };
    for (const m of ms) numbers[`m${m}MinusErm`] = pairedDiff(r, mSam(scale, m), erm(scale), `m-SAM (m ${m}) − ERM`);
    const summary = `m ${small} − n-SAM ${showPts(numbers.smallMMinusNSam)}; m ${small} − SAM ${showPts(numbers.smallMMinusSam)}; n-SAM − ERM ${showPts(numbers.nSamMinusErm)}; random − ERM ${showPts(numbers.randomMinusErm)}; m-SAM − ERM by m: ${ms.map((m) => `${m}: ${showPts(numbers[`m${m}MinusErm`])}`).join(", ")}`;
    return {
      ...betterVerdict(numbers.smallMMinusNSam, `m-SAM (m ${small})`, "n-SAM"),
      summary,
      numbers,
      also: [
        { claim: `smaller m is better: m ${small} beats standard SAM (m ${ms.at(-1)})`, ...betterVerdict(numbers.smallMMinusSam, `m ${small}`, `m ${ms.at(-1)}`) },
        { claim: "n-SAM ≈ ERM within ±2 points", ...equivalentVerdict(numbers.nSamMinusErm, "n-SAM", "ERM", MARGIN) },
        { claim: "random perturbation ≈ ERM within ±2 points", ...equivalentVerdict(numbers.randomMinusErm, "random", "ERM", MARGIN) },
      ],
    };
  },
  async report(r, scale) {
    const lines: Row[] = [];
    const refs: Row[] = [];
    const mean = (xs: RunSpec[]) => meanCi(xs.map((s) => r.train(s).metrics.testAccuracy), "").value;
    for (const m of MS[scale]) lines.push({ m, arm: "m-SAM", accuracy: mean(mSam(scale, m)) });
    for (const [name, xs] of [["ERM", erm(scale)], ["n-SAM", nSam(scale)], ["random", random(scale)]] as const) for (const m of [MS[scale][0], MS[scale].at(-1)!]) refs.push({ m, arm: name, accuracy: mean(xs) });
    const fig = await vegaLiteToSvg(lineChart({ title: "Final test accuracy against m (mean over seeds; ERM, n-SAM, random flat)", x: { field: "m", title: "m (examples per ascent)", log: true }, y: { field: "accuracy", title: "final test accuracy" }, color: { field: "arm", title: "method" }, lines: [...lines, ...refs] }));
    return `<div class="plots">${fig}</div>\n${await trainingReport(r, this.specs(scale))}`;
  },
};
