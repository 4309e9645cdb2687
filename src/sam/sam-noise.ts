/**
 * SAM-noise (003 §4.1): ascent along the stochastic-noise component g − P g of the batch
 * gradient (P the projection on the full gradient). See sam-full.ts for the rule.
 * Defaults: rho 0.05.
 */
import type { GradientTransformation } from "../optim/types.js";
import type { SharpnessAwareOptimizer } from "./core.js";
import { projectedSam, type SamFullOptions, type SamFullState } from "./sam-full.js";

/** Options of {@link samNoise}: SAM-full's (ρ, default 0.05, and every optimizer's {@link CoreOptions}). */
export type SamNoiseOptions = SamFullOptions;
/** The state of {@link samNoise}: SAM-full's (the base optimizer's, the step count and the skipped-step count). */
export type SamNoiseState<BS = unknown> = SamFullState<BS>;

/**
 * Wrap `base` with SAM-noise (003 §4.1): ε = ρ (g − P g)/(‖g − P g‖ + 1e-12), the ascent along
 * the batch gradient's noise component, P g = (⟨g, G⟩/(‖G‖² + 1e-12)) G the projection on the full
 * gradient G, which every step needs as `step(…, { fullGrad })` (consumed). Defaults: rho 0.05.
 * Consumes what every sharpness-aware optimizer's `init` and `step` consume (see {@link SharpnessAwareOptimizer}); options are validated when it is built (`RangeError` naming the option).
 *
 * @example
 * ```ts
 * const opt = samNoise(sgd({ learningRate: 0.1 }), { rho: 0.05 });
 * const out = opt.step(loss, params, state, batch, { fullGrad });
 * ```
 */
export function samNoise<BS>(base: GradientTransformation<BS>, options: SamNoiseOptions = {}): SharpnessAwareOptimizer<SamNoiseState<BS>> {
  return projectedSam("samNoise", base, options);
}
