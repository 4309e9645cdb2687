/**
 * SAM-noise (003 §4.1): ascent along the stochastic-noise component g − P g of the batch
 * gradient (P the projection on the full gradient). See sam-full.ts for the rule.
 * Defaults: rho 0.05.
 */
import type { GradientTransformation } from "../optim/types.js";
import type { SharpnessAwareOptimizer } from "./core.js";
import { projectedSam, type SamFullOptions, type SamFullState } from "./sam-full.js";

export type SamNoiseOptions = SamFullOptions;
export type SamNoiseState<BS = unknown> = SamFullState<BS>;

/** @example samNoise(sgd({ learningRate: 0.1 }), { rho: 0.05 }) — step(..., { fullGrad }) */
export function samNoise<BS>(base: GradientTransformation<BS>, options: SamNoiseOptions = {}): SharpnessAwareOptimizer<SamNoiseState<BS>> {
  return projectedSam("samNoise", base, options);
}
