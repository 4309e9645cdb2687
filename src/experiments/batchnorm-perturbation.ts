/**
 * `batchnorm-perturbation` — the review's "batch norm interaction" (000): SAM's ascent moves
 * the weights to w + ε, which shifts every BatchNorm layer's batch statistics; which running
 * statistics the model keeps is an implementation choice nobody reports. This library keeps
 * the clean pass's (the original JAX SAM and davda54/sam's recommended usage, which disables the
 * running-stat update in the second pass); a naive two-pass implementation keeps the perturbed
 * pass's (its second forward pass in training mode overwrites them). Both passes use their own
 * batch statistics either way: only the running statistics, used at evaluation, differ.
 *
 * The spec field `optimizer.bnStats` ("clean" | "perturbed", train/trainer.ts → `auxFrom` of
 * the two-pass step in sam/core.ts). The MLP of the label-noise setting with BatchNorm after its
 * hidden layer; SGD, SAM with clean statistics, SAM with perturbed statistics.
 */
import { type Experiment, type Judgement, type Scale } from "./experiment.js";
import { NOISY, describeScales, equivalentVerdict, betterVerdict, pairedDiff, showPts, trainingReport, armRuns } from "./training.js";
import type { Verdict } from "./experiment.js";

const RHO = 0.1;
/** A difference smaller than this (final test accuracy) does not change the outcome. */
const MARGIN = 0.01;

const ARMS = {
  sgd: { name: "sgd" },
  clean: { name: "sam", rho: RHO },
  perturbed: { name: "sam", rho: RHO, bnStats: "perturbed" },
} as const;
type Arm = keyof typeof ARMS;
const runs = (scale: Scale, arm: Arm) => armRuns(NOISY[scale], ARMS[arm], { batchNorm: true });

/** The claim "the choice changes the outcome" is the negation of equivalence within ±MARGIN. */
function changesVerdict(eq: { verdict: Verdict; reason: string }): { verdict: Verdict; reason: string } {
  if (eq.verdict === "reproduced") return { verdict: "not reproduced", reason: `No change: ${eq.reason}` };
  if (eq.verdict === "not reproduced") return { verdict: "reproduced", reason: `It changes the outcome: ${eq.reason}` };
  return eq;
}

export const batchnormPerturbation: Experiment = {
  id: "batchnorm-perturbation",
  claim: "With BatchNorm, keeping the running statistics of SAM's perturbed pass (a naive implementation) instead of the clean pass changes SAM's final test accuracy.",
  source: "000 (batch norm interaction)",
  setting: `The label-noise setting (Fashion-MNIST, SGD lr 0.05 momentum 0.9) with BatchNorm after the MLP's hidden layer: SGD, SAM ρ ${RHO} keeping the clean pass's running statistics (this library), SAM ρ ${RHO} keeping the perturbed pass's.`,
  rule: `Let Δ = (SAM, perturbed-pass statistics) − (SAM, clean-pass statistics), final test accuracy paired by seed. Reproduced when the 95% CI of Δ excludes 0 and |mean Δ| > ${100 * MARGIN} point; not reproduced when the CI lies within ±${100 * MARGIN} point (the choice does not matter); inconclusive otherwise. Second verdict, the paired rule: SAM (clean statistics) beats SGD with BatchNorm.`,
  scales: describeScales(() => "BatchNorm; 3 arms"),
  differences: "CPU scale: an MLP with one BatchNorm layer on Fashion-MNIST with 60% label noise; the review's concern is deep ResNets with many BatchNorm layers and small batches, where the shift can be larger.",
  specs(scale) {
    return (Object.keys(ARMS) as Arm[]).flatMap((a) => runs(scale, a));
  },
  judge(r, scale): Judgement {
    const delta = pairedDiff(r, runs(scale, "perturbed"), runs(scale, "clean"), "(SAM, perturbed-pass BatchNorm statistics) − (SAM, clean-pass statistics), final test accuracy paired by seed");
    const samMinusSgd = pairedDiff(r, runs(scale, "clean"), runs(scale, "sgd"), "SAM (clean statistics) − SGD, with BatchNorm");
    const perturbedMinusSgd = pairedDiff(r, runs(scale, "perturbed"), runs(scale, "sgd"), "SAM (perturbed statistics) − SGD, with BatchNorm");
    const summary = `perturbed − clean statistics ${showPts(delta)}; SAM (clean) − SGD ${showPts(samMinusSgd)}; SAM (perturbed) − SGD ${showPts(perturbedMinusSgd)}`;
    return {
      ...changesVerdict(equivalentVerdict(delta, "SAM (perturbed statistics)", "SAM (clean statistics)", MARGIN)),
      summary,
      numbers: { delta, samMinusSgd, perturbedMinusSgd },
      also: [{ claim: "SAM beats SGD with BatchNorm", ...betterVerdict(samMinusSgd, "SAM", "SGD") }],
    };
  },
  async report(r, scale) {
    return `<p>Both SAM arms take the same steps (each pass normalizes with its own batch's statistics); they differ only in the running statistics kept for evaluation.</p>\n${await trainingReport(r, this.specs(scale))}`;
  },
};
