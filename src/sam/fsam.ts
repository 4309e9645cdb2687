/**
 * F-SAM — Friendly SAM (Li et al., CVPR 2024; seed 003 §5, Algorithm 1), following the
 * official code (nblt/F-SAM, `FriendlySAM.first_step`) by default.
 *
 * The perturbation drops the full-gradient component, estimated by an EMA m of past batch
 * gradients:
 *
 *   official order (default):  t = 0: m = g, d = g
 *                              t > 0: d = g − σ m_{t−1};  m_t = λ m_{t−1} + (1 − λ) g
 *   paper order (Algorithm 1): m_{−1} = 0;  m_t = λ m_{t−1} + (1 − λ) g;  d = g − σ m_t
 *   ε = ρ d / (‖d‖₂ + 1e-12)
 *   adaptive (F-ASAM, 003 Tab 3): ε = ρ T² d / (‖T d‖₂ + 1e-12), T = |w| + η
 *   w ← base step with ∇L_B(w + ε), taken at w
 *
 * The two orders differ, and the code is what produced the paper's numbers, hence the default.
 * The code's `adaptive=True` is T = |w| on all leaves, i.e. eta 0 (our default for adaptive).
 * With σ = 0 this is SAM exactly.
 *
 * Defaults: rho 0.05, sigma 1, lambda 0.9 (the official code's defaults; the paper's runs use
 * λ 0.6-0.95), adaptive false, eta 0, order "official".
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import type { GradientTransformation, Params } from "../optim/types.js";
import { resolveOptions, type Descriptor } from "../optim/hyper.js";
import { makeSharpnessAware, type SharpnessAwareOptimizer, type SharpnessState, CORE_OPTIONS, type CoreOptions } from "./core.js";
import { normalizedPerturbation } from "./sam.js";
import { adaptivePerturbation, checkAdaptiveLeaves } from "./asam.js";
import { checkRho, rhoAt, rhoPhases, type Rho, rhoHyper } from "./rho.js";

/**
 * Options of {@link fsam} (and every optimizer's {@link CoreOptions}); each default is the one stated.
 *
 * @example
 * ```ts
 * const o: FsamOptions = { rho: 0.1, sigma: 1, lambda: 0.6, order: "paper" };
 * const opt = fsam(sgd({ learningRate: 0.05, momentum: 0.9 }), o);
 * ```
 */
export interface FsamOptions extends CoreOptions {
  /** Radius ρ ≥ 0 or a ρ schedule. Default 0.05. */
  rho?: Rho;
  /** σ ≥ 0, how much of the EMA to remove. Default 1. */
  sigma?: number;
  /** λ ∈ [0, 1), the EMA factor. Default 0.9. */
  lambda?: number;
  /** F-ASAM: the adaptive ε of ASAM with F-SAM's d. Default false. */
  adaptive?: boolean;
  /** η ≥ 0 for the adaptive form. Default 0 (the official code). */
  eta?: number;
  /** Leaves that get T = |w| + η in the adaptive form. Default all. */
  adaptiveLeaves?: (path: string) => boolean;
  /** "official" (nblt/F-SAM, default) or "paper" (Algorithm 1). */
  order?: "official" | "paper";
}

/**
 * F-SAM's hyperparameters, declared once. The factory validates its options with it ({@link resolveOptions}); the
 * run registry derives flags, spec checks and docs from it.
 *
 * @example
 * ```ts
 * for (const [k, h] of Object.entries(fsamDescriptor.params)) console.log(k, h.default, h.doc);
 * ```
 */
export const fsamDescriptor = {
  name: "fsam",
  fn: "fsam",
  label: "F-SAM",
  paper: "Li et al., CVPR 2024 (seed 003; nblt/F-SAM)",
  params: {
    rho: rhoHyper(0.05),
    sigma: { type: "number", default: 1, min: 0, symbol: "σ", doc: "σ, how much of the gradient EMA to remove" },
    lambda: { type: "number", default: 0.9, min: 0, max: 1, maxOpen: true, symbol: "λ", doc: "λ, the EMA factor" },
    adaptive: { type: "boolean", default: false, doc: "ASAM's adaptive ε with F-SAM's d (F-ASAM)" },
    eta: { type: "number", default: 0, min: 0, symbol: "η", doc: "η in T = |w| + η (adaptive form)" },
    order: { type: "enum", values: ["official", "paper"], default: "official", doc: "official code order, or the paper's Algorithm 1" },
  },
} as const satisfies Descriptor;

/** The state of {@link fsam}: the base optimizer's, the step count, the skipped-step count and `extra.momentum`: the EMA m of the clean gradients. */
export type FsamState<BS = unknown> = SharpnessState<BS, { momentum: Params }>;

/**
 * Wrap `base` with F-SAM (Li et al., CVPR 2024; official code order by default): d = g − σ m_{t−1}
 * with m_t = λ m_{t−1} + (1 − λ) g (first step d = m = g; `order: "paper"` updates m before
 * forming d), ε = ρ d/(‖d‖₂ + 1e-12) (`adaptive`: ASAM's ε with T = |w| + η), then the base step
 * with ∇L_B(w + ε) at w. σ = 0 is SAM. Defaults: rho 0.05, sigma 1, lambda 0.9, adaptive false,
 * eta 0, order "official".
 * Consumes what every sharpness-aware optimizer's `init` and `step` consume (see
 * {@link SharpnessAwareOptimizer}); options are validated when it is built (`RangeError` naming
 * the option).
 *
 * @example
 * ```ts
 * const opt = fsam(sgd({ learningRate: 0.05, momentum: 0.9 }), { rho: 0.1, sigma: 1, lambda: 0.6 });
 * ```
 */
export function fsam<BS>(base: GradientTransformation<BS>, options: FsamOptions = {}): SharpnessAwareOptimizer<FsamState<BS>> {
  const { rho, sigma, lambda, adaptive, eta, adaptiveLeaves, order } = resolveOptions(fsamDescriptor, options, [...CORE_OPTIONS, "adaptiveLeaves"]) as Required<FsamOptions>;
  checkRho("fsam", rho);
  checkAdaptiveLeaves("fsam", adaptiveLeaves);

  return makeSharpnessAware<BS, { momentum: Params }>(base, {
    name: "fsam",
    ...rhoPhases(rho),
    initExtra(params) {
      return { momentum: tree.map((w: np.Array) => np.zerosLike(w), params) };
    },
    perturb(g, params, extra, count) {
      let d: Params;
      let momentum: Params;
      if (order === "paper") {
        momentum = tree.map((mPrev: np.Array, x: np.Array) => mPrev.mul(lambda).add(x.mul(1 - lambda)), extra.momentum, tree.ref(g));
        d = tree.map((x: np.Array, mNew: np.Array) => x.sub(mNew.mul(sigma)), g, tree.ref(momentum));
      } else {
        // m_{−1} is zeros, so d = g − σ·0 = g on the first step without a branch; only m needs
        // one, and np.where selects (no NaN leaks from the unused side).
        const first = count.ref.equal(0);
        d = tree.map((x: np.Array, mPrev: np.Array) => x.sub(mPrev.mul(sigma)), tree.ref(g), tree.ref(extra.momentum));
        momentum = tree.map(
          (mPrev: np.Array, x: np.Array) => np.where(first.ref, x.ref, mPrev.mul(lambda).add(x.mul(1 - lambda))),
          extra.momentum,
          g,
        );
        first.dispose();
      }
      const r = rhoAt(rho, count);
      const eps = adaptive ? adaptivePerturbation(d, params, r, eta, adaptiveLeaves) : (tree.dispose(params), normalizedPerturbation(d, r));
      return [eps, { momentum }];
    },
  }, undefined, options);
}
