/**
 * `erm-sam-switch` — 002 §5.1, Fig 8 and 9: switching between ERM and SAM partway through
 * training, the method run at the end decides the final test accuracy (ERM → SAM late recovers
 * most of SAM's gain; SAM → ERM late loses it).
 *
 * Switch points at 25/50/75% of the epochs in both directions, with plain ERM (SGD) and SAM
 * throughout as the 0% / 100% ends (002 Fig 8's x axis). The switch is the ρ schedule
 * erm-to-sam / sam-to-erm (sam/rho.ts): the same optimizer state (momentum) runs through it.
 *
 * Fig 10 (002 §5.1: "the final point of the ERM → SAM model is situated in the same basin as
 * the original ERM model"): for each seed, the losses along θ(α) = (1 − α) w_ERM + α w_ERM→SAM
 * for α ∈ [−0.5, 1.5], w_ERM→SAM the late switch (75%), from the runs' final checkpoints
 * (`measure`, Node-side): training loss on 1,000 fixed training points (given labels), test
 * loss and accuracy. Its sub-verdict reads the barrier on α ∈ [0, 1]: the largest excess of the
 * training loss over the straight line between the endpoint losses.
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import { lineChart, num, type Row } from "./charts.js";
import { meanCi, type Experiment, type Judgement, type Measurements, type Scale, type SubVerdict } from "./experiment.js";
import { initEngine } from "../engine/device.js";
import { loadRun, testSet, trainingPoints, type Batch } from "../sharpness/from-checkpoint.js";
import { interpolate } from "../sharpness/landscape.js";
import { loadFashionMnist } from "../data/fashion-mnist.js";
import { hostScalar, type Params } from "../engine/tree.js";
import { NOISY, describeScales, betterVerdict, pairedDiff, showPts, armRuns, trainingReport, pts } from "./training.js";
import { vegaLiteToSvg } from "../report/html.js";
import type { RunSpec } from "../train/spec.js";

const RHO = 0.1;
/** α grid of the interpolation (002 Fig 10 plots beyond both endpoints). */
const ALPHAS = { from: -0.5, to: 1.5, points: 17 };
/** Barrier thresholds, as a fraction of the larger endpoint training loss. */
const SAME_BASIN = 0.05;
const OTHER_BASIN = 0.2;
const FRACTIONS = [0.25, 0.5, 0.75];
type Dir = "erm-to-sam" | "sam-to-erm";

/** The 1-based epoch where the second method starts, after round(f·E) epochs of the first. */
const switchEpoch = (scale: Scale, f: number) => Math.round(f * NOISY[scale].epochs) + 1;
const erm = (scale: Scale) => armRuns(NOISY[scale], { name: "sgd" });
const sam = (scale: Scale) => armRuns(NOISY[scale], { name: "sam", rho: RHO });
const switched = (scale: Scale, dir: Dir, f: number) => armRuns(NOISY[scale], { name: "sam", rho: RHO, rhoSchedule: dir, switchEpoch: switchEpoch(scale, f) });
/** The runs of `dir` with the switch after fraction f of the epochs (0 and 1: the pure methods). */
const at = (scale: Scale, dir: Dir, f: number): RunSpec[] => (f === 0 ? (dir === "erm-to-sam" ? sam(scale) : erm(scale)) : f === 1 ? (dir === "erm-to-sam" ? erm(scale) : sam(scale)) : switched(scale, dir, f));

type Interp = { seed: number; alpha: number; trainLoss: number; testLoss: number; testAccuracy: number };
const interpOf = (m: Measurements | undefined): Interp[] => ((m?.rows ?? []) as unknown as Interp[]);

/** Per seed: the largest excess of the training loss over the chord on α ∈ [0, 1], relative to the larger endpoint loss. */
export function barriers(rows: Interp[]): { seed: number; barrier: number; relative: number }[] {
  const seeds = [...new Set(rows.map((x) => x.seed))];
  return seeds.map((seed) => {
    const line = rows.filter((x) => x.seed === seed && x.alpha >= -1e-9 && x.alpha <= 1 + 1e-9).sort((a, b) => a.alpha - b.alpha);
    const l0 = line[0].trainLoss;
    const l1 = line[line.length - 1].trainLoss;
    const barrier = Math.max(0, ...line.map((x) => x.trainLoss - ((1 - x.alpha) * l0 + x.alpha * l1)));
    return { seed, barrier, relative: barrier / Math.max(l0, l1, 1e-12) };
  });
}

function basinVerdict(rows: Interp[]): SubVerdict {
  const claim = "ERM → SAM ends in ERM's basin: no training-loss barrier on the line between the endpoints (002 Fig 10)";
  if (rows.length === 0) return { claim, verdict: "inconclusive", reason: "no interpolation measured" };
  const b = barriers(rows);
  const worst = Math.max(...b.map((x) => x.relative));
  const show = b.map((x) => `${num(100 * x.relative, 3)}%`).join(", ");
  if (worst < SAME_BASIN) return { claim, verdict: "reproduced", reason: `the barrier is below ${100 * SAME_BASIN}% of the larger endpoint loss on every seed (${show}).` };
  if (worst >= OTHER_BASIN) return { claim, verdict: "not reproduced", reason: `a barrier of ≥ ${100 * OTHER_BASIN}% of the larger endpoint loss on some seed (${show}).` };
  return { claim, verdict: "inconclusive", reason: `barriers ${show} of the larger endpoint loss: between ${100 * SAME_BASIN}% and ${100 * OTHER_BASIN}%.` };
}

export const ermSamSwitch: Experiment = {
  id: "erm-sam-switch",
  claim: "Switching between ERM and SAM during training, the method run at the end decides: ERM for 75% then SAM beats SAM for 75% then ERM.",
  source: "002 §5.1, Fig 8, Fig 9, Fig 10",
  setting: `The label-noise setting (Fashion-MNIST, MLP, SGD lr 0.05 momentum 0.9), SAM ρ ${RHO}; ERM → SAM and SAM → ERM switched after 25/50/75% of the epochs, plus ERM and SAM throughout.`,
  rule: `Let Δ = (ERM 75% → SAM) − (SAM 75% → ERM), final test accuracy paired by seed. Reproduced when Δ > 0 with its 95% CI excluding 0 (ending with 25% of SAM beats ending with 25% of ERM after 75% of SAM); not reproduced when Δ ≤ 0; inconclusive otherwise. Second verdict, SAM throughout beats ERM throughout (the paired rule). Third (Fig 10), along θ(α) = (1 − α) w_ERM + α w_ERM→SAM (switch at 75%): the training-loss barrier on α ∈ [0, 1] (largest excess over the chord): reproduced when below ${100 * SAME_BASIN}% of the larger endpoint loss on every seed, not reproduced when ≥ ${100 * OTHER_BASIN}% on some seed, inconclusive otherwise.`,
  scales: describeScales(() => "8 arms"),
  differences: "CPU scale: an MLP on Fashion-MNIST with 60% label noise instead of ResNets on clean CIFAR-10/100, where the last epochs decide how much of the noise is memorized.",
  specs(scale) {
    return [...erm(scale), ...sam(scale), ...FRACTIONS.flatMap((f) => [...switched(scale, "erm-to-sam", f), ...switched(scale, "sam-to-erm", f)])];
  },
  async measure(ctx, scale) {
    await initEngine();
    const full = loadFashionMnist();
    const rows: Interp[] = [];
    const ends = [erm(scale), switched(scale, "erm-to-sam", 0.75)];
    for (let i = 0; i < ends[0].length; i++) {
      const a = loadRun(ctx.runDir(ends[0][i]), full);
      const b = loadRun(ctx.runDir(ends[1][i]), full);
      const train = trainingPoints(a, 1000);
      const test = testSet(a);
      const ref = (x: Batch): Batch => ({ x: x.x.ref, y: x.y.ref });
      const value = hostScalar;
      try {
        const metrics = async (p: Params) => ({
          trainLoss: await value(a.loss(tree.ref(p), ref(train))),
          testLoss: await value(a.loss(tree.ref(p), ref(test))),
          testAccuracy: (await value(a.correct(tree.ref(p), ref(test)))) / test.y.shape[0],
        });
        for (const x of await interpolate(metrics, a.params, b.params, ALPHAS)) rows.push({ seed: ends[0][i].seed, alpha: x.alpha, trainLoss: x.trainLoss, testLoss: x.testLoss, testAccuracy: x.testAccuracy });
      } finally {
        tree.dispose([a.params, a.modelState, b.params, b.modelState, train, test] as never);
      }
    }
    return { rows } as unknown as Measurements;
  },
  judge(r, scale, measured): Judgement {
    const delta = pairedDiff(r, at(scale, "erm-to-sam", 0.75), at(scale, "sam-to-erm", 0.75), "(ERM 75% → SAM) − (SAM 75% → ERM), final test accuracy paired by seed");
    const gain = pairedDiff(r, sam(scale), erm(scale), "SAM − ERM (both throughout)");
    const numbers: Judgement["numbers"] = { delta, samMinusErm: gain };
    for (const f of FRACTIONS) {
      numbers[`ermToSam${100 * f}MinusErm`] = pairedDiff(r, at(scale, "erm-to-sam", f), erm(scale), `(ERM ${100 * f}% → SAM) − ERM`);
      numbers[`samToErm${100 * f}MinusErm`] = pairedDiff(r, at(scale, "sam-to-erm", f), erm(scale), `(SAM ${100 * f}% → ERM) − ERM`);
    }
    const summary = `Δ (ERM→SAM at 75%) − (SAM→ERM at 75%) ${showPts(delta)}; SAM − ERM ${showPts(gain)}; ERM→SAM at 25/50/75% vs ERM ${FRACTIONS.map((f) => pts(numbers[`ermToSam${100 * f}MinusErm`].value)).join("/")}; SAM→ERM ${FRACTIONS.map((f) => pts(numbers[`samToErm${100 * f}MinusErm`].value)).join("/")} points`;
    const rows = interpOf(measured);
    const b = rows.length ? barriers(rows) : [];
    if (b.length) numbers.barrier = { value: Math.max(...b.map((x) => x.relative)), n: b.length, what: "largest relative training-loss barrier between w_ERM and w_ERM→SAM (75%) over seeds" };
    const basin = basinVerdict(rows);
    return {
      ...betterVerdict(delta, "ERM 75% → SAM", "SAM 75% → ERM"),
      summary: b.length ? `${summary}; interpolation barrier ${b.map((x) => `${num(100 * x.relative, 3)}%`).join("/")} of the endpoint loss` : summary,
      numbers,
      also: [{ claim: "SAM throughout beats ERM throughout", ...betterVerdict(gain, "SAM", "ERM") }, basin],
    };
  },
  async report(r, scale, _j, measured) {
    const lines: Row[] = [];
    const points: Row[] = [];
    for (const dir of ["erm-to-sam", "sam-to-erm"] as Dir[]) {
      const name = dir === "erm-to-sam" ? "ERM → SAM" : "SAM → ERM";
      for (const f of [0, ...FRACTIONS, 1]) {
        const accs = at(scale, dir, f).map((s) => r.train(s).metrics.testAccuracy);
        lines.push({ switchAt: 100 * f, direction: name, accuracy: meanCi(accs, "").value });
        for (const a of accs) points.push({ switchAt: 100 * f, direction: name, accuracy: a });
      }
    }
    const fig = await vegaLiteToSvg(lineChart({ title: "Final test accuracy against the switch point (mean; dots: seeds)", x: { field: "switchAt", title: "% of epochs before the switch" }, y: { field: "accuracy", title: "final test accuracy" }, color: { field: "direction", title: "switch" }, lines, points }));
    const interp = interpOf(measured);
    const curves: Row[] = interp.flatMap((x) => [
      { alpha: x.alpha, seed: `seed ${x.seed}`, loss: x.trainLoss, kind: "train (given labels)" },
      { alpha: x.alpha, seed: `seed ${x.seed}`, loss: x.testLoss, kind: "test" },
    ]);
    const fig10 = interp.length
      ? await vegaLiteToSvg(lineChart({ title: "Loss along (1 − α) w_ERM + α w_ERM→SAM (switch at 75%); α = 0 is ERM (002 Fig 10)", x: { field: "alpha", title: "α" }, y: { field: "loss", title: "cross-entropy" }, color: { field: "kind", title: "" }, dash: { field: "seed", title: "" }, lines: curves, vrules: [0, 1] }))
      : "";
    return `<div class="plots">${fig}${fig10}</div>\n<p>For ERM → SAM, 0% is SAM throughout and 100% is ERM; for SAM → ERM the reverse (002 Fig 8's convention).</p>\n${await trainingReport(r, this.specs(scale))}`;
  },
};
