/**
 * Random weight perturbation (002 Fig 1 baseline): the gradient at a random point near w.
 *
 *   ε ~ N(0, σ² I)   (a fresh draw each step from a jax-js PRNG key kept in the state)
 *   w ← base step with ∇L_B(w + ε), taken at w
 *
 * One gradient pass (at w + ε) plus a forward pass at w for the reported loss and aux. The key
 * lives in the optimizer state, so runs are reproducible and resume exactly. σ = 0 is the base
 * optimizer (with one extra forward pass).
 *
 * Defaults: sigma 0.01, seed 0.
 */
import "../engine/polyfills.js";
import { numpy as np, random, tree } from "@jax-js/jax";
import type { GradientTransformation, Params } from "../optim/types.js";
import { resolveOptions, type Descriptor } from "../optim/hyper.js";
import { makeSharpnessAware, type SharpnessAwareOptimizer, type SharpnessState, CORE_OPTIONS, type CoreOptions } from "./core.js";

/**
 * Options of {@link randomPerturbation} (and every optimizer's {@link CoreOptions}); each default is the one stated.
 *
 * @example
 * ```ts
 * const opt = randomPerturbation(sgd({ learningRate: 0.1 }), { sigma: 0.005, seed: 3 } satisfies RandomPerturbationOptions);
 * ```
 */
export interface RandomPerturbationOptions extends CoreOptions {
  /** Standard deviation σ ≥ 0 of each coordinate of ε. Default 0.01. */
  sigma?: number;
  /** Seed of the PRNG key stored in the state. Default 0. */
  seed?: number;
}

/**
 * Random perturbation's hyperparameters, declared once (the seed comes from the run). The factory validates its options with it ({@link resolveOptions}); the
 * run registry derives flags, spec checks and docs from it.
 *
 * @example
 * ```ts
 * for (const [k, h] of Object.entries(randomPerturbationDescriptor.params)) console.log(k, h.default, h.doc);
 * ```
 */
export const randomPerturbationDescriptor = {
  name: "random-perturbation",
  fn: "randomPerturbation",
  label: "random perturbation",
  paper: "002 Fig 1",
  params: {
    sigma: { type: "number", default: 0.01, min: 0, symbol: "σ", doc: "σ of ε ~ N(0, σ² I)" },
    seed: { type: "number", default: 0, min: 0, integer: true, fromRun: "seed", doc: "seed of the PRNG key kept in the state" },
  },
} as const satisfies Descriptor;

/** The state of {@link randomPerturbation}: the base optimizer's, the step count, the skipped-step count and `extra.key`: the PRNG key of the next ε. */
export type RandomPerturbationState<BS = unknown> = SharpnessState<BS, { key: np.Array }>;

/**
 * Wrap `base` with random weight perturbation (002 Fig 1's baseline): ε ~ N(0, σ² I), a fresh
 * draw each step from a PRNG key kept in the state, then the base step with ∇L_B(w + ε) at w
 * (one gradient pass plus a forward pass at w for the reported loss). σ = 0 is the base
 * optimizer. Defaults: sigma 0.01, seed 0.
 * Consumes what every sharpness-aware optimizer's `init` and `step` consume (see {@link SharpnessAwareOptimizer}); options are validated when it is built (`RangeError` naming the option).
 *
 * @example
 * ```ts
 * const opt = randomPerturbation(sgd({ learningRate: 0.1 }), { sigma: 0.01, seed: 1 });
 * ```
 */
export function randomPerturbation<BS>(base: GradientTransformation<BS>, options: RandomPerturbationOptions = {}): SharpnessAwareOptimizer<RandomPerturbationState<BS>> {
  const { sigma, seed } = resolveOptions(randomPerturbationDescriptor, options, CORE_OPTIONS) as Required<RandomPerturbationOptions>;
  return makeSharpnessAware<BS, { key: np.Array }>(base, {
    name: "randomPerturbation",
    trivial: false,
    cleanPass: "forward",
    initExtra(params) {
      tree.dispose(params);
      return { key: random.key(seed) };
    },
    perturb(_g, params, extra, count) {
      count.dispose();
      const [leaves, def] = tree.flatten(params) as [np.Array[], any];
      const keys = random.split(extra.key, leaves.length + 1);
      const next = keys.ref.slice(leaves.length);
      const eps = leaves.map((w, i) => {
        const shape = w.shape;
        const dtype = w.dtype;
        w.dispose();
        return random.normal(keys.ref.slice(i), shape).mul(sigma).astype(dtype);
      });
      keys.dispose();
      return [tree.unflatten(def, eps) as Params, { key: next }];
    },
  }, undefined, options);
}
