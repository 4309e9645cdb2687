/**
 * Every experiment, in the order of the reproduction index. One file per claim; see
 * experiment.ts for the framework and `sharpness reproduce --list`. Browser-safe.
 */
import type { Experiment } from "./experiment.js";
import { labelNoise } from "./label-noise.js";
import { implicitBiasDiagonal } from "./implicit-bias-diagonal.js";
import { switchDiagonal } from "./switch-diagonal.js";
import { relu1dSimplicity } from "./relu-1d-simplicity.js";
import { constantRho } from "./constant-rho.js";
import { ermSamSwitch } from "./erm-sam-switch.js";
import { gradientNormAblation } from "./gradient-norm-ablation.js";
import { perturbationDirection } from "./perturbation-direction.js";
import { fsamRhoRobustness } from "./fsam-rho-robustness.js";
import { mSharpness } from "./m-sharpness.js";
import { reparameterization } from "./reparameterization.js";
import { sharpnessVsGeneralization } from "./sharpness-vs-generalization.js";
import { oneStepSuboptimality } from "./one-step-suboptimality.js";
import { emaTrackingExperiment } from "./ema-tracking.js";
import { perturbationBatch } from "./perturbation-batch.js";
import { computeMatchedBaseline } from "./compute-matched-baseline.js";
import { batchnormPerturbation } from "./batchnorm-perturbation.js";
import { rhoSelectionCost } from "./rho-selection-cost.js";
import { samAtSgdPrice } from "./sam-at-sgd-price.js";

/**
 * Every registered experiment, in the order of the reproduction index (002's claims, 003's, the
 * review's audit, then what SAM users ask for). `sharpness reproduce --list` prints them.
 *
 * @example
 * ```ts
 * for (const e of EXPERIMENTS) console.log(e.id, e.source, e.claim);
 * ```
 */
export const EXPERIMENTS: readonly Experiment[] = [
  // 002 (Andriushchenko & Flammarion)
  labelNoise, implicitBiasDiagonal, switchDiagonal, relu1dSimplicity, constantRho, ermSamSwitch, oneStepSuboptimality, mSharpness, sharpnessVsGeneralization,
  // 003 (Friendly SAM)
  perturbationDirection, perturbationBatch, fsamRhoRobustness, emaTrackingExperiment,
  // 000 (the review's audit)
  gradientNormAblation, reparameterization, computeMatchedBaseline, batchnormPerturbation, rhoSelectionCost,
  // What SAM users ask for (issue 13)
  samAtSgdPrice,
];

/**
 * The experiment with this id (`"label-noise"`), or undefined.
 *
 * @example
 * ```ts
 * const e = experimentById("m-sharpness");
 * if (!e) throw new Error("unknown experiment");
 * ```
 */
export const experimentById = (id: string): Experiment | undefined => EXPERIMENTS.find((e) => e.id === id);
