/**
 * VaSSO — Variance-Suppressed Sharpness-aware Optimization (Li & Giannakis, NeurIPS 2023,
 * "Enhancing Sharpness-Aware Optimization Through Variance Suppression"), following the
 * official code: BingcongLi/VaSSO, solver/vasso.py (`VASSO.first_step`).
 *
 * The ascent direction is an exponential moving average of the clean batch gradients, which
 * suppresses the variance of the stochastic adversary:
 *
 *   g_t = ∇L_B(w_t)
 *   d_0 = g_0;  d_t = (1 − θ) d_{t−1} + θ g_t        (t > 0)
 *   ε = ρ d_t / (‖d_t‖₂ + 1e-12)
 *   w ← base step with ∇L_B(w + ε), taken at w
 *
 * θ = 1 is SAM exactly (d_t = g_t); ρ = 0 is the base optimizer.
 *
 * Code choices, all the official code's: the first step takes d_0 = g_0 (the code creates its
 * 'ema' state as a copy of the first gradient; there is no d_{−1} = 0); weight decay belongs to
 * the base optimizer at the clean w (solver/build.py passes weight_decay to torch SGD/AdamW).
 * The code adds 1e-7 to ‖d‖; this library's eps is 1e-12 (DESIGN §4) — it only matters when
 * ‖d‖ ≲ 1e-5. The paper's own statement of the first step was not checked against its full text
 * here; the code's form is the only one offered.
 *
 * With a ρ schedule, steps where ρ(t) = 0 take the base step with g (one pass) and still fold
 * g into d, as the code's first_step does whatever ρ is, so d is warm when ρ turns on.
 *
 * Defaults: rho 0.05, theta 0.9 (configs/defaulf_cfg.py; train.sh runs CIFAR-100 WRN-28-10 with
 * ρ 0.2, θ 0.9, SGD lr 0.1, wd 1e-3). The code accepts θ ∈ [0, 1]; θ = 0 would freeze d at g_0,
 * so θ ∈ (0, 1] here.
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import type { GradientTransformation, Params } from "../optim/types.js";
import { resolveOptions, type Descriptor } from "../optim/hyper.js";
import { makeSharpnessAware, type SharpnessAwareOptimizer, type SharpnessState, CORE_OPTIONS, type CoreOptions } from "./core.js";
import { normalizedPerturbation } from "./sam.js";
import { checkRho, rhoAt, rhoPhases, type Rho, rhoHyper } from "./rho.js";

/**
 * Options of `vasso`, all optional.
 *
 * @example
 * ```ts
 * const opt = vasso(sgd({ learningRate: 0.1 }), { rho: 0.1, theta: 0.4 } satisfies VassoOptions);
 * ```
 */
export interface VassoOptions extends CoreOptions {
  /** Radius ρ ≥ 0 or a ρ schedule (rho.ts). Default 0.05. ρ = 0 is exactly the base optimizer. */
  rho?: Rho;
  /** θ ∈ (0, 1], the weight of the new gradient in d_t = (1 − θ) d_{t−1} + θ g_t. Default 0.9. 1: SAM. */
  theta?: number;
}

/**
 * VaSSO's hyperparameters, declared once. The factory validates its options with it ({@link resolveOptions}); the
 * run registry derives flags, spec checks and docs from it.
 *
 * @example
 * ```ts
 * for (const [k, h] of Object.entries(vassoDescriptor.params)) console.log(k, h.default, h.doc);
 * ```
 */
export const vassoDescriptor = {
  name: "vasso",
  fn: "vasso",
  label: "VaSSO",
  paper: "Li & Giannakis, NeurIPS 2023 (BingcongLi/VaSSO)",
  params: {
    rho: rhoHyper(0.05),
    theta: { type: "number", default: 0.9, min: 0, minOpen: true, max: 1, symbol: "θ", doc: "θ, the weight of the new gradient in the EMA d_t = (1−θ)d_{t−1} + θ g_t (1: SAM)" },
  },
} as const satisfies Descriptor;

/** VaSSO's state: the base's, the step count, and d_{t−1}, the EMA of clean gradients (zeros before the first step). */
export type VassoState<BS = unknown> = SharpnessState<BS, { d: Params }>;

/**
 * Wrap `base` with VaSSO. The returned optimizer's `step` consumes `params`, `state` and
 * `batch` (keep them with `tree.ref`).
 *
 *   d_0 = g_0, d_t = (1 − θ) d_{t−1} + θ g_t;  ε = ρ d_t/(‖d_t‖ + 1e-12);  base step with ∇L(w + ε)
 *
 * Defaults: rho 0.05, theta 0.9.
 *
 * @example
 * const opt = vasso(sgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 1e-3 }), { rho: 0.2, theta: 0.9 });
 * let state = opt.init(tree.ref(params));
 * const out = jit((p, s, b) => opt.step(loss, p, s, b))(params, state, batch);
 */
export function vasso<BS>(base: GradientTransformation<BS>, options: VassoOptions = {}): SharpnessAwareOptimizer<VassoState<BS>> {
  const { rho, theta } = resolveOptions(vassoDescriptor, options, CORE_OPTIONS) as Required<VassoOptions>;
  checkRho("vasso", rho);

  /** d_t from g_t and d_{t−1}: g on the first step (selected by np.where), the EMA after. Consumes all. */
  const track = (g: Params, dPrev: Params, count: np.Array): Params => {
    const first = count.equal(0);
    const d = tree.map(
      (dp: np.Array, x: np.Array) => np.where(first.ref, x.ref, dp.mul(1 - theta).add(x.mul(theta))),
      dPrev,
      g,
    ) as Params;
    first.dispose();
    return d;
  };

  return makeSharpnessAware<BS, { d: Params }>(
    base,
    {
      name: "vasso",
      ...rhoPhases(rho),
      initExtra(params) {
        return { d: tree.map((w: np.Array) => np.zerosLike(w), params) as Params };
      },
      perturb(g, params, extra, count) {
        tree.dispose(params);
        const d = track(g, extra.d, count.ref);
        return [normalizedPerturbation(tree.ref(d), rhoAt(rho, count)), { d }];
      },
      combine(g, gs, params, extra, count) {
        tree.dispose(params);
        if (gs !== undefined) {
          // The usual step: descend along g_s (d was updated in perturb).
          tree.dispose(g);
          count.dispose();
          return [gs, extra];
        }
        // A ρ(t) = 0 step: the base step with g, and g still enters d.
        return [g, { d: track(tree.ref(g), extra.d, count) }];
      },
    },
    undefined,
    options,
  );
}
