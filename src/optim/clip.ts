/**
 * Clipping by global norm (optax `clip_by_global_norm`):
 *   g ← g · maxNorm / max(‖g‖₂, maxNorm)
 * The denominator is ≥ maxNorm > 0, so no eps is needed. Stateless.
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import type { GradientTransformation, Params } from "./types.js";
import { treeNorm } from "../engine/tree.js";
import { checkNumber } from "./validate.js";

/** {@link clipByGlobalNorm} keeps no state: `{}`. */
export type ClipState = Record<string, never>;

/**
 * Clip by global norm (optax `clip_by_global_norm`): g ← g · maxNorm / max(‖g‖₂, maxNorm), the
 * norm taken over all leaves. `maxNorm` > 0 is required (validated). Stateless; `update`
 * consumes `grads` (and `params` if given). Put it first in a {@link chain}; wrapped by a
 * sharpness-aware optimizer it clips the perturbed-point gradient.
 *
 * @example
 * ```ts
 * const opt = chain(clipByGlobalNorm(1.0), sgd({ learningRate: 0.1 }));
 * ```
 */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation<ClipState> {
  checkNumber("clipByGlobalNorm", "maxNorm", maxNorm, { lo: 0, loOpen: true });
  return {
    init(params) {
      tree.dispose(params);
      return {};
    },
    update(grads, _state, params) {
      if (params) tree.dispose(params);
      const scale = np.divide(maxNorm, np.maximum(treeNorm(tree.ref(grads)), maxNorm));
      const out = tree.map((g: np.Array) => g.mul(scale.ref), grads) as Params;
      scale.dispose();
      return [out, {}];
    },
  };
}
