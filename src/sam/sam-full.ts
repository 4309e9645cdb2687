/**
 * SAM-full and SAM-noise (003 §4.1, eq. 8): analysis variants that split the batch gradient g
 * into its component along the full-data gradient G = ∇L(w) and the rest, and ascend along one:
 *
 *   P g = (⟨g, G⟩ / (‖G‖² + 1e-12)) G
 *   SAM-full:  d = P g;   SAM-noise:  d = g − P g
 *   ε = ρ d / (‖d‖ + 1e-12);  w ← base step with ∇L_B(w + ε), taken at w
 *
 * They need a full-gradient oracle: `step(..., { fullGrad })` (the trainer computes it over the
 * training set, or a fixed subset, every N steps). Defaults: rho 0.05.
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import type { GradientTransformation, Params } from "../optim/types.js";
import { EPS, treeDot, treeSquaredNorm } from "../engine/tree.js";
import { resolveOptions, type Descriptor } from "../optim/hyper.js";
import { makeSharpnessAware, noExtraState, type SharpnessAwareOptimizer, type SharpnessState, CORE_OPTIONS, type CoreOptions } from "./core.js";
import { normalizedPerturbation } from "./sam.js";
import { checkRho, rhoAt, rhoPhases, type Rho, rhoHyper } from "./rho.js";

/**
 * Options of {@link samFull} and {@link samNoise} (and every optimizer's {@link CoreOptions}); each default is the one stated.
 *
 * @example
 * ```ts
 * const opt = samFull(sgd({ learningRate: 0.1 }), { rho: 0.1 } satisfies SamFullOptions);
 * ```
 */
export interface SamFullOptions extends CoreOptions {
  /** Radius ρ ≥ 0 or a ρ schedule. Default 0.05. */
  rho?: Rho;
}

/** The state of {@link samFull}: the base optimizer's, the step count and the skipped-step count (SAM-full and SAM-noise keep nothing of their own). */
export type SamFullState<BS = unknown> = SharpnessState<BS, Record<string, never>>;

const projectedParams = { rho: rhoHyper(0.05) } as const;
/**
 * SAM-full's hyperparameters, declared once. The factory validates its options with it ({@link resolveOptions}); the
 * run registry derives flags, spec checks and docs from it.
 *
 * @example
 * ```ts
 * for (const [k, h] of Object.entries(samFullDescriptor.params)) console.log(k, h.default, h.doc);
 * ```
 */
export const samFullDescriptor = { name: "sam-full", fn: "samFull", label: "SAM-full", paper: "003 §4.1", params: projectedParams } as const satisfies Descriptor;
/**
 * SAM-noise's hyperparameters, declared once. The factory validates its options with it ({@link resolveOptions}); the
 * run registry derives flags, spec checks and docs from it.
 *
 * @example
 * ```ts
 * for (const [k, h] of Object.entries(samNoiseDescriptor.params)) console.log(k, h.default, h.doc);
 * ```
 */
export const samNoiseDescriptor = { name: "sam-noise", fn: "samNoise", label: "SAM-noise", paper: "003 §4.1", params: projectedParams } as const satisfies Descriptor;

/**
 * `[P g, g − P g]`, P the projection on `full`: P g = (⟨g, G⟩/(‖G‖² + 1e-12)) G. Consumes `g`
 * and `full`; returns two fresh trees.
 *
 * @example
 * ```ts
 * const [alongFull, noise] = splitOnFull(g, fullGrad);
 * ```
 */
export function splitOnFull(g: Params, full: Params): [Params, Params] {
  const coef = treeDot(tree.ref(g), tree.ref(full)).div(treeSquaredNorm(tree.ref(full)).add(EPS));
  const along = tree.map((G: np.Array) => G.mul(coef.ref), full) as Params;
  coef.dispose();
  const rest = tree.map((x: np.Array, p: np.Array) => x.sub(p), g, tree.ref(along)) as Params;
  return [along, rest];
}

/** @internal The shared body of samFull and samNoise. */
export function projectedSam<BS>(owner: "samFull" | "samNoise", base: GradientTransformation<BS>, options: SamFullOptions): SharpnessAwareOptimizer<SamFullState<BS>> {
  const { rho } = resolveOptions(owner === "samFull" ? samFullDescriptor : samNoiseDescriptor, options, CORE_OPTIONS) as Required<SamFullOptions>;
  checkRho(owner, rho);
  return makeSharpnessAware<BS, Record<string, never>>(base, {
    name: owner,
    ...rhoPhases(rho),
    needsFullGrad: true,
    initExtra: noExtraState,
    perturb(g, params, extra, count, ctx) {
      tree.dispose(params);
      const [along, rest] = splitOnFull(g, ctx.fullGrad!);
      const keep = owner === "samFull" ? along : rest;
      tree.dispose(owner === "samFull" ? rest : along);
      return [normalizedPerturbation(keep, rhoAt(rho, count)), extra];
    },
  }, undefined, options);
}

/**
 * Wrap `base` with SAM-full (003 §4.1): ascent along the batch gradient's full-gradient
 * component, ε = ρ P g/(‖P g‖ + 1e-12) with P g = (⟨g, G⟩/(‖G‖² + 1e-12)) G and G the full
 * gradient, which every step needs as `step(…, { fullGrad })` (consumed). Defaults: rho 0.05.
 * Consumes what every sharpness-aware optimizer's `init` and `step` consume (see
 * {@link SharpnessAwareOptimizer}); options are validated when it is built.
 *
 * @example
 * ```ts
 * const opt = samFull(sgd({ learningRate: 0.1 }), { rho: 0.05 });
 * const out = opt.step(loss, params, state, batch, { fullGrad });
 * ```
 */
export function samFull<BS>(base: GradientTransformation<BS>, options: SamFullOptions = {}): SharpnessAwareOptimizer<SamFullState<BS>> {
  return projectedSam("samFull", base, options);
}
