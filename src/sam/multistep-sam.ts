/**
 * Multi-step SAM: the inner maximization by k steps of normalized projected gradient ascent
 * (002 §3 Fig 4, App. D):
 *
 *   ε_0 = 0;  for i = 1..k:  g_i = ∇L_B(w + ε_{i−1});  ε_i = Π_ρ(ε_{i−1} + α ρ g_i / (‖g_i‖ + 1e-12))
 *   Π_ρ(e) = e · ρ / max(‖e‖, ρ)        (projection onto the ρ-ball)
 *   w ← base step with ∇L_B(w + ε_k), taken at w
 *
 * g_1 is the clean gradient, so a step costs k + 1 gradient passes. k = 1 with α = 1 is SAM.
 * Defaults: rho 0.05, steps 2, alpha 1/steps (k steps of ρ/k reach the sphere when aligned;
 * 002 measures sharpness with α = 0.1 over 100 steps).
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import type { GradientTransformation, Params } from "../optim/types.js";
import { EPS, treeAdd, treeNorm, treeScale } from "../engine/tree.js";
import { checkHyper, resolveOptions, type Descriptor } from "../optim/hyper.js";
import { rhoHyper } from "./rho.js";
import { makeSharpnessAware, noExtraState, type SharpnessAwareOptimizer, type SharpnessState, CORE_OPTIONS, type CoreOptions } from "./core.js";
import { normalizedPerturbation } from "./sam.js";

/**
 * Options of {@link multiStepSam} (and every optimizer's {@link CoreOptions}); each default is the one stated.
 *
 * @example
 * ```ts
 * const opt = multiStepSam(sgd({ learningRate: 0.1 }), { rho: 0.05, steps: 4, alpha: 0.5 } satisfies MultiStepSamOptions);
 * ```
 */
export interface MultiStepSamOptions extends CoreOptions {
  /** Radius ρ ≥ 0. Default 0.05. */
  rho?: number;
  /** Ascent steps k (integer ≥ 1). Default 2. */
  steps?: number;
  /** Step size as a fraction of ρ, in (0, 1]. Default 1/steps. */
  alpha?: number;
}

/** The state of {@link multiStepSam}: the base optimizer's, the step count and the skipped-step count (multi-step SAM keeps nothing of its own). */
export type MultiStepSamState<BS = unknown> = SharpnessState<BS, Record<string, never>>;

/**
 * Multi-step SAM's hyperparameters, declared once. The factory validates its options with it ({@link resolveOptions}); the
 * run registry derives flags, spec checks and docs from it.
 *
 * @example
 * ```ts
 * for (const [k, h] of Object.entries(multiStepSamDescriptor.params)) console.log(k, h.default, h.doc);
 * ```
 */
export const multiStepSamDescriptor = {
  name: "multistep-sam",
  fn: "multiStepSam",
  label: "multi-step SAM",
  paper: "002 §3 Fig 4, App. D",
  params: {
    rho: rhoHyper(0.05, { schedule: false }),
    steps: { type: "number", default: 2, min: 1, integer: true, doc: "ascent steps k" },
    alpha: { type: "number", default: null, min: 0, max: 1, minOpen: true, symbol: "α", doc: "ascent step as a fraction of ρ (null: 1/steps)" },
  },
} as const satisfies Descriptor;

/**
 * Π_ρ(e) = e · ρ / max(‖e‖₂, ρ): scale `e` back onto the ρ-ball if outside (unchanged inside).
 * Consumes `e`.
 *
 * @example
 * ```ts
 * const eps = projectToBall(treeAdd(eps0, step), 0.05);
 * ```
 */
export function projectToBall(e: Params, rho: number): Params {
  const scale = np.divide(rho, np.maximum(treeNorm(tree.ref(e)), rho));
  return treeScale(e, scale);
}

/**
 * Wrap `base` with multi-step SAM (002 Fig 4, App. D): k steps of normalized projected ascent,
 * ε_0 = 0, ε_i = Π_ρ(ε_{i−1} + α ρ g_i/(‖g_i‖ + 1e-12)) with g_i = ∇L_B(w + ε_{i−1}) and
 * Π_ρ the projection onto the ρ-ball, then the base step with ∇L_B(w + ε_k) at w (k + 1
 * passes). k = 1 with α = 1 is SAM. Defaults: rho 0.05, steps 2, alpha 1/steps.
 * Consumes what every sharpness-aware optimizer's `init` and `step` consume (see {@link SharpnessAwareOptimizer}); options are validated when it is built (`RangeError` naming the option).
 *
 * @example
 * ```ts
 * const opt = multiStepSam(sgd({ learningRate: 0.1 }), { rho: 0.05, steps: 3 });
 * ```
 */
export function multiStepSam<BS>(base: GradientTransformation<BS>, options: MultiStepSamOptions = {}): SharpnessAwareOptimizer<MultiStepSamState<BS>> {
  const o = resolveOptions(multiStepSamDescriptor, options, CORE_OPTIONS);
  const { rho, steps } = o as { rho: number; steps: number };
  const alpha: number = o.alpha ?? 1 / steps;
  checkHyper("multiStepSam", "alpha", multiStepSamDescriptor.params.alpha, alpha);
  return makeSharpnessAware<BS, Record<string, never>>(base, {
    name: "multiStepSam",
    trivial: rho === 0,
    initExtra: noExtraState,
    perturb(g, params, extra, count, ctx) {
      count.dispose();
      let eps = projectToBall(normalizedPerturbation(g, alpha * rho), rho);
      for (let i = 1; i < steps; i++) {
        const gi = ctx.grad(treeAdd(tree.ref(params), tree.ref(eps)));
        eps = projectToBall(treeAdd(eps, normalizedPerturbation(gi, alpha * rho)), rho);
      }
      tree.dispose(params);
      return [eps, extra];
    },
  }, undefined, options);
}
