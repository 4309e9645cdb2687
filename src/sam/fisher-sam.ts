/**
 * Fisher-SAM (Kim et al., ICML 2022): the ascent ball measured in the diagonal empirical
 * Fisher metric.
 *
 *   f = 1 + η g²   (element-wise)
 *   ε = ρ f⁻¹ g / (sqrt(gᵀ f⁻¹ g) + 1e-12)
 *   w ← base step with ∇L_B(w + ε), taken at w
 *
 * η = 0 gives f = 1 and ε = ρ g/‖g‖: SAM. This is DESIGN §4's form: the diagonal Fisher is
 * estimated from the current batch gradient alone (no running estimate across steps), so the
 * step is stateless and η = 0 is exactly SAM. Not checked against the authors' code.
 *
 * Defaults: rho 0.05, eta 1.
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import type { GradientTransformation, Params } from "../optim/types.js";
import { EPS, treeDot } from "../engine/tree.js";
import { resolveOptions, type Descriptor } from "../optim/hyper.js";
import { makeSharpnessAware, noExtraState, type SharpnessAwareOptimizer, type SharpnessState, CORE_OPTIONS, type CoreOptions } from "./core.js";
import { checkRho, rhoAt, rhoPhases, type Rho, rhoHyper } from "./rho.js";

/**
 * Options of {@link fisherSam} (and every optimizer's {@link CoreOptions}); each default is the one stated.
 *
 * @example
 * ```ts
 * const opt = fisherSam(sgd({ learningRate: 0.1 }), { rho: 0.1, eta: 0.5 } satisfies FisherSamOptions);
 * ```
 */
export interface FisherSamOptions extends CoreOptions {
  /** Radius ρ ≥ 0 or a ρ schedule. Default 0.05. */
  rho?: Rho;
  /** η ≥ 0 in f = 1 + η g². Default 1. */
  eta?: number;
}

/**
 * Fisher-SAM's hyperparameters, declared once. The factory validates its options with it ({@link resolveOptions}); the
 * run registry derives flags, spec checks and docs from it.
 *
 * @example
 * ```ts
 * for (const [k, h] of Object.entries(fisherSamDescriptor.params)) console.log(k, h.default, h.doc);
 * ```
 */
export const fisherSamDescriptor = {
  name: "fisher-sam",
  fn: "fisherSam",
  label: "Fisher-SAM",
  paper: "Kim et al., ICML 2022",
  params: {
    rho: rhoHyper(0.05),
    eta: { type: "number", default: 1, min: 0, symbol: "η", doc: "η in the diagonal Fisher f = 1 + η g²" },
  },
} as const satisfies Descriptor;

/** The state of {@link fisherSam}: the base optimizer's, the step count and the skipped-step count (Fisher-SAM keeps nothing of its own). */
export type FisherSamState<BS = unknown> = SharpnessState<BS, Record<string, never>>;

/**
 * Wrap `base` with Fisher-SAM (Kim et al., ICML 2022): the ascent ball in the diagonal Fisher
 * metric from the batch gradient, f = 1 + η g², ε = ρ f⁻¹ g / (√(gᵀ f⁻¹ g) + 1e-12), then the
 * base step with ∇L_B(w + ε) at w. η = 0 is SAM. Defaults: rho 0.05, eta 1.
 * Consumes what every sharpness-aware optimizer's `init` and `step` consume (see {@link SharpnessAwareOptimizer}); options are validated when it is built (`RangeError` naming the option).
 *
 * @example
 * ```ts
 * const opt = fisherSam(sgd({ learningRate: 0.1 }), { rho: 0.1, eta: 1 });
 * ```
 */
export function fisherSam<BS>(base: GradientTransformation<BS>, options: FisherSamOptions = {}): SharpnessAwareOptimizer<FisherSamState<BS>> {
  const { rho, eta } = resolveOptions(fisherSamDescriptor, options, CORE_OPTIONS) as Required<FisherSamOptions>;
  checkRho("fisherSam", rho);
  return makeSharpnessAware<BS, Record<string, never>>(base, {
    name: "fisherSam",
    ...rhoPhases(rho),
    initExtra: noExtraState,
    perturb(g, params, extra, count) {
      tree.dispose(params);
      const u = tree.map((x: np.Array) => x.ref.div(np.square(x).mul(eta).add(1)), tree.ref(g)) as Params; // f⁻¹ g
      const scale = np.divide(rhoAt(rho, count), np.sqrt(treeDot(g, tree.ref(u))).add(EPS));
      const eps = tree.map((x: np.Array) => x.mul(scale.ref), u) as Params;
      scale.dispose();
      return [eps, extra];
    },
  }, undefined, options);
}
