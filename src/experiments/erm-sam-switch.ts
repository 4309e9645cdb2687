/**
 * `erm-sam-switch` — 002 §5.1, Fig 8 and 9: switching between ERM and SAM partway through
 * training, the method run at the end decides the final test accuracy (ERM → SAM late recovers
 * most of SAM's gain; SAM → ERM late loses it).
 *
 * Switch points at 25/50/75% of the epochs in both directions, with plain ERM (SGD) and SAM
 * throughout as the 0% / 100% ends (002 Fig 8's x axis). The switch is the ρ schedule
 * erm-to-sam / sam-to-erm (sam/rho.ts): the same optimizer state (momentum) runs through it.
 * The loss interpolation of Fig 10 is not part of this experiment yet.
 */
import { lineChart, type Row } from "./charts.js";
import { meanCi, type Experiment, type Judgement, type Scale } from "./experiment.js";
import { NOISY, describeSetting, betterVerdict, pairedDiff, showPts, armRuns, trainingReport, pts } from "./training.js";
import { vegaLiteToSvg } from "../report/html.js";
import type { RunSpec } from "../train/spec.js";

const RHO = 0.1;
const FRACTIONS = [0.25, 0.5, 0.75];
type Dir = "erm-to-sam" | "sam-to-erm";

/** The 1-based epoch where the second method starts, after round(f·E) epochs of the first. */
const switchEpoch = (scale: Scale, f: number) => Math.round(f * NOISY[scale].epochs) + 1;
const erm = (scale: Scale) => armRuns(NOISY[scale], { name: "sgd" });
const sam = (scale: Scale) => armRuns(NOISY[scale], { name: "sam", rho: RHO });
const switched = (scale: Scale, dir: Dir, f: number) => armRuns(NOISY[scale], { name: "sam", rho: RHO, rhoSchedule: dir, switchEpoch: switchEpoch(scale, f) });
/** The runs of `dir` with the switch after fraction f of the epochs (0 and 1: the pure methods). */
const at = (scale: Scale, dir: Dir, f: number): RunSpec[] => (f === 0 ? (dir === "erm-to-sam" ? sam(scale) : erm(scale)) : f === 1 ? (dir === "erm-to-sam" ? erm(scale) : sam(scale)) : switched(scale, dir, f));

export const ermSamSwitch: Experiment = {
  id: "erm-sam-switch",
  claim: "Switching between ERM and SAM during training, the method run at the end decides: ERM for 75% then SAM beats SAM for 75% then ERM.",
  source: "002 §5.1, Fig 8, Fig 9",
  setting: `The label-noise setting (Fashion-MNIST, MLP, SGD lr 0.05 momentum 0.9), SAM ρ ${RHO}; ERM → SAM and SAM → ERM switched after 25/50/75% of the epochs, plus ERM and SAM throughout.`,
  rule: "Let Δ = (ERM 75% → SAM) − (SAM 75% → ERM), final test accuracy paired by seed. Reproduced when Δ > 0 with its 95% CI excluding 0 (ending with 25% of SAM beats ending with 25% of ERM after 75% of SAM); not reproduced when Δ ≤ 0; inconclusive otherwise.",
  scales: {
    quick: describeSetting(NOISY.quick, "8 arms"),
    default: describeSetting(NOISY.default, "8 arms"),
    full: describeSetting(NOISY.full, "8 arms"),
  },
  differences: "CPU scale: an MLP on Fashion-MNIST with 60% label noise instead of ResNets on clean CIFAR-10/100, where the last epochs decide how much of the noise is memorized.",
  specs(scale) {
    return [...erm(scale), ...sam(scale), ...FRACTIONS.flatMap((f) => [...switched(scale, "erm-to-sam", f), ...switched(scale, "sam-to-erm", f)])];
  },
  judge(r, scale): Judgement {
    const delta = pairedDiff(r, at(scale, "erm-to-sam", 0.75), at(scale, "sam-to-erm", 0.75), "(ERM 75% → SAM) − (SAM 75% → ERM), final test accuracy paired by seed");
    const gain = pairedDiff(r, sam(scale), erm(scale), "SAM − ERM (both throughout)");
    const numbers: Judgement["numbers"] = { delta, samMinusErm: gain };
    for (const f of FRACTIONS) {
      numbers[`ermToSam${100 * f}MinusErm`] = pairedDiff(r, at(scale, "erm-to-sam", f), erm(scale), `(ERM ${100 * f}% → SAM) − ERM`);
      numbers[`samToErm${100 * f}MinusErm`] = pairedDiff(r, at(scale, "sam-to-erm", f), erm(scale), `(SAM ${100 * f}% → ERM) − ERM`);
    }
    const summary = `Δ (ERM→SAM at 75%) − (SAM→ERM at 75%) ${showPts(delta)}; SAM − ERM ${showPts(gain)}; ERM→SAM at 25/50/75% vs ERM ${FRACTIONS.map((f) => pts(numbers[`ermToSam${100 * f}MinusErm`].value)).join("/")}; SAM→ERM ${FRACTIONS.map((f) => pts(numbers[`samToErm${100 * f}MinusErm`].value)).join("/")} points`;
    return { ...betterVerdict(delta, "ERM 75% → SAM", "SAM 75% → ERM"), summary, numbers, also: [{ claim: "SAM throughout beats ERM throughout", ...betterVerdict(gain, "SAM", "ERM") }] };
  },
  async report(r, scale) {
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
    return `<div class="plots">${fig}</div>\n<p>For ERM → SAM, 0% is SAM throughout and 100% is ERM; for SAM → ERM the reverse (002 Fig 8's convention).</p>\n${await trainingReport(r, this.specs(scale))}`;
  },
};
