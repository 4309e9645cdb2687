/**
 * `constant-rho` — 002 §5.2, Fig 11 and Fig 21: SAM without the gradient normalization
 * (unnormalized, ε = ρ·∇L, "constant ρ" in the paper's reading of the step as a ρ that follows
 * ‖∇L‖) generalizes about as well as normalized SAM (ε = ρ·∇L/‖∇L‖).
 *
 * Each form gets its own ρ grid (their scales differ: ‖∇L‖ is not 1), and each is judged at the
 * ρ of its highest mean final test accuracy over seeds — chosen on the test set for both, as the
 * paper's figures do, so the selection is equally optimistic for both. "About as well" is an
 * equivalence with a margin of 2 points of test accuracy, stated before the runs.
 */
import { type Experiment, type Judgement, type Results, type Scale } from "./experiment.js";
import { NOISY, describeScales, equivalentVerdict, betterVerdict, pairedDiff, showPts, armRuns, trainingReport } from "./training.js";

const NORMALIZED = [0.05, 0.1, 0.2];
const UNNORMALIZED = [0.1, 0.3, 1];
const MARGIN = 0.02;

const seeds = (scale: Scale) => NOISY[scale].seeds;
const sgd = (scale: Scale) => armRuns(NOISY[scale], { name: "sgd" });
const samRuns = (scale: Scale, rho: number, normalize: boolean) => armRuns(NOISY[scale], { name: "sam", rho, normalize });

/** The grid ρ with the highest mean final test accuracy over seeds. */
function best(r: Results, scale: Scale, normalize: boolean): number {
  const grid = normalize ? NORMALIZED : UNNORMALIZED;
  const mean = (rho: number) => samRuns(scale, rho, normalize).reduce((a, s) => a + r.train(s).metrics.testAccuracy, 0) / seeds(scale).length;
  return grid.reduce((b, rho) => (mean(rho) > mean(b) ? rho : b), grid[0]);
}

export const constantRho: Experiment = {
  id: "constant-rho",
  claim: "Unnormalized SAM (ε = ρ∇L, no division by ‖∇L‖) generalizes about as well as normalized SAM, each at its best ρ.",
  source: "002 §5.2, Fig 11, Fig 21",
  setting: `The label-noise setting (Fashion-MNIST, MLP, SGD lr 0.05 momentum 0.9); SGD, SAM normalized with ρ ∈ {${NORMALIZED.join(", ")}}, SAM unnormalized with ρ ∈ {${UNNORMALIZED.join(", ")}}.`,
  rule: `Each form at the ρ of its highest mean final test accuracy over seeds. Reproduced when the paired difference unnormalized − normalized has its 95% CI inside ±${100 * MARGIN} points; not reproduced when the CI excludes 0 and |mean| > ${100 * MARGIN} points; inconclusive otherwise.`,
  scales: describeScales(() => "SGD + 3 + 3 SAM arms"),
  differences: "CPU scale: an MLP on Fashion-MNIST with 60% label noise instead of ResNets/WRNs on CIFAR-10/100 (clean labels); ρ selected on the test set for both forms, as the paper's figures.",
  specs(scale) {
    return [...sgd(scale), ...NORMALIZED.flatMap((rho) => samRuns(scale, rho, true)), ...UNNORMALIZED.flatMap((rho) => samRuns(scale, rho, false))];
  },
  judge(r, scale): Judgement {
    const rn = best(r, scale, true);
    const ru = best(r, scale, false);
    const d = pairedDiff(r, samRuns(scale, ru, false), samRuns(scale, rn, true), `unnormalized SAM (ρ ${ru}) − normalized SAM (ρ ${rn}), final test accuracy paired by seed`);
    const dn = pairedDiff(r, samRuns(scale, rn, true), sgd(scale), `normalized SAM (ρ ${rn}) − SGD`);
    const du = pairedDiff(r, samRuns(scale, ru, false), sgd(scale), `unnormalized SAM (ρ ${ru}) − SGD`);
    const numbers = { rhoNormalized: { value: rn, what: "best ρ of normalized SAM" }, rhoUnnormalized: { value: ru, what: "best ρ of unnormalized SAM" }, unnormalizedMinusNormalized: d, normalizedMinusSgd: dn, unnormalizedMinusSgd: du };
    const summary = `unnormalized (ρ ${ru}) − normalized (ρ ${rn}): ${showPts(d)}; normalized − SGD ${showPts(dn)}; unnormalized − SGD ${showPts(du)}`;
    return { ...equivalentVerdict(d, "unnormalized SAM", "normalized SAM", MARGIN), summary, numbers, also: [{ claim: "Unnormalized SAM beats SGD", ...betterVerdict(du, "unnormalized SAM", "SGD") }] };
  },
  async report(r, scale) {
    return trainingReport(r, this.specs(scale));
  },
};
