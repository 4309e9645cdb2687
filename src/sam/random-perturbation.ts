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

export interface RandomPerturbationOptions extends CoreOptions {
  /** Standard deviation σ ≥ 0 of each coordinate of ε. Default 0.01. */
  sigma?: number;
  /** Seed of the PRNG key stored in the state. Default 0. */
  seed?: number;
}

/** Random perturbation's hyperparameters, declared once (the seed comes from the run). */
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

export type RandomPerturbationState<BS = unknown> = SharpnessState<BS, { key: np.Array }>;

/** @example const opt = randomPerturbation(sgd({ learningRate: 0.1 }), { sigma: 0.01, seed: 1 }); */
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
