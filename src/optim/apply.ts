import "../engine/polyfills.js";
import { tree, type numpy as np } from "@jax-js/jax";
import type { Params } from "./types.js";
import { assertSameTree } from "../engine/tree.js";

/**
 * `params + updates`, leaf-wise, keeping each parameter's dtype (optax `apply_updates`).
 * Consumes both trees; returns the new parameters.
 *
 * Throws a one-line `Error` naming the first leaf where the trees differ.
 *
 * @example
 * ```ts
 * const [updates, s2] = opt.update(grads, s, tree.ref(params));
 * params = applyUpdates(params, updates);
 * ```
 */
export function applyUpdates<T extends Params>(params: T, updates: Params): T {
  assertSameTree("applyUpdates", "updates do not match the parameters", updates, params);
  return tree.map((p: np.Array, u: np.Array) => {
    const dt = p.dtype;
    const out = p.add(u);
    return out.dtype === dt ? out : out.astype(dt);
  }, params, updates as T) as T;
}
