/**
 * `chain(a, b, …)`: apply transformations in sequence (optax `chain`). Each one sees the
 * previous one's updates; all see the same params. The state is the tuple of their states.
 */
import "../engine/polyfills.js";
import { tree } from "@jax-js/jax";
import type { GradientTransformation, Params } from "./types.js";

/**
 * Apply transformations in sequence (optax `chain`): each sees the previous one's updates; all
 * see the same `params`. The state is the array of their states. Throws a `RangeError` for no
 * transformations. `init` consumes `params`; `update` consumes `grads`, `states` and `params`.
 *
 * @example
 * ```ts
 * const opt = chain(clipByGlobalNorm(1), adamw({ learningRate: 1e-3 }));
 * ```
 */
export function chain(...transforms: GradientTransformation<any>[]): GradientTransformation<unknown[]> {
  if (transforms.length === 0) throw new RangeError("chain: needs at least one transformation (got 0)");
  return {
    init(params) {
      const states = transforms.map((t) => t.init(tree.ref(params)));
      tree.dispose(params);
      return states;
    },
    update(grads, states, params) {
      let u: Params = grads;
      const next: unknown[] = [];
      transforms.forEach((t, i) => {
        const [nu, ns] = t.update(u, states[i], params ? tree.ref(params) : undefined);
        u = nu;
        next.push(ns);
      });
      if (params) tree.dispose(params);
      return [u, next];
    },
  };
}
