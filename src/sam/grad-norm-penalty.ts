/**
 * Gradient-norm regularization — the first-order explanation of SAM that seed 000 asks to be
 * ablated: minimize L + λ‖∇L‖, whose gradient is
 *
 *   ∇(L + λ‖∇L‖) = g + λ H ĝ,   ĝ = g / (‖g‖ + 1e-12)
 *
 *   method "hvp" (default): H ĝ by forward-over-reverse (jvp of the gradient; grad-of-grad is
 *     wrong on this engine, DESIGN §5). Cost ≈ one gradient pass plus one jvp of it.
 *   method "finite-difference": d = (1 − λ/r) g + (λ/r) ∇L(w + r ĝ) ≈ g + λ H ĝ (Zhao et al.
 *     2022 form; two gradient passes, like SAM).
 *
 * λ = 0 is the base optimizer. Defaults: lambda 0.05, method "hvp", r 0.1 (so α = λ/r = 0.5).
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import type { GradientTransformation, Params } from "../optim/types.js";
import { EPS, treeNorm, treeScale } from "../engine/tree.js";
import { resolveOptions, type Descriptor } from "../optim/hyper.js";
import { makeSharpnessAware, noExtraState, type SharpnessAwareOptimizer, type SharpnessState, CORE_OPTIONS, type CoreOptions } from "./core.js";
import { normalizedPerturbation } from "./sam.js";

/**
 * Options of {@link gradNormPenalty} (and every optimizer's {@link CoreOptions}); each default is the one stated.
 *
 * @example
 * ```ts
 * const o: GradNormPenaltyOptions = { lambda: 0.05, method: "finite-difference", r: 0.1 };
 * const opt = gradNormPenalty(sgd({ learningRate: 0.1 }), o);
 * ```
 */
export interface GradNormPenaltyOptions extends CoreOptions {
  /** λ ≥ 0, the weight of ‖∇L‖. Default 0.05. */
  lambda?: number;
  /** "hvp" (exact Hessian-vector product, default) or "finite-difference". */
  method?: "hvp" | "finite-difference";
  /** Finite-difference radius r > 0 (needs λ ≤ r). Default 0.1. */
  r?: number;
}

/**
 * The gradient-norm penalty's hyperparameters, declared once. The factory validates its options with it ({@link resolveOptions}); the
 * run registry derives flags, spec checks and docs from it.
 *
 * @example
 * ```ts
 * for (const [k, h] of Object.entries(gradNormPenaltyDescriptor.params)) console.log(k, h.default, h.doc);
 * ```
 */
export const gradNormPenaltyDescriptor = {
  name: "gnr",
  fn: "gradNormPenalty",
  label: "gradient-norm penalty",
  paper: "000 \"missing ablation\"; 002 baselines",
  params: {
    lambda: { type: "number", default: 0.05, min: 0, symbol: "λ", doc: "λ, the weight of ‖∇L‖" },
    method: { type: "enum", values: ["hvp", "finite-difference"], default: "hvp", doc: "exact Hessian-vector product, or the finite-difference form" },
    r: { type: "number", default: 0.1, min: 0, minOpen: true, doc: "finite-difference radius r (needs λ ≤ r)" },
  },
} as const satisfies Descriptor;

/** The state of {@link gradNormPenalty}: the base optimizer's, the step count and the skipped-step count (the gradient-norm penalty keeps nothing of its own). */
export type GradNormPenaltyState<BS = unknown> = SharpnessState<BS, Record<string, never>>;

/**
 * Wrap `base` with the gradient-norm penalty: descend on ∇(L + λ‖∇L‖) = g + λ H ĝ (ĝ = g/(‖g‖ +
 * 1e-12)), H ĝ by forward-over-reverse (method "hvp", one gradient pass plus a jvp), or the
 * finite-difference form d = (1 − λ/r) g + (λ/r) ∇L(w + r ĝ) (method "finite-difference", two
 * passes; needs λ ≤ r). λ = 0 is the base optimizer. Defaults: lambda 0.05, method "hvp", r 0.1.
 * Consumes what every sharpness-aware optimizer's `init` and `step` consume (see {@link SharpnessAwareOptimizer}); options are validated when it is built (`RangeError` naming the option).
 *
 * @example
 * ```ts
 * const opt = gradNormPenalty(sgd({ learningRate: 0.1 }), { lambda: 0.05 });
 * ```
 */
export function gradNormPenalty<BS>(base: GradientTransformation<BS>, options: GradNormPenaltyOptions = {}): SharpnessAwareOptimizer<GradNormPenaltyState<BS>> {
  const { lambda, method, r } = resolveOptions(gradNormPenaltyDescriptor, options, CORE_OPTIONS) as Required<GradNormPenaltyOptions>;
  if (method === "finite-difference" && lambda > r) throw new RangeError(`gradNormPenalty: lambda must be ≤ r for the finite-difference form (got lambda ${lambda}, r ${r})`);
  const a = lambda / r;
  return makeSharpnessAware<BS, Record<string, never>>(base, {
    name: "gradNormPenalty",
    trivial: lambda === 0,
    initExtra: noExtraState,
    secondPass: () => method === "finite-difference",
    perturb(g, params, extra, count) {
      tree.dispose(params);
      count.dispose();
      return [normalizedPerturbation(g, r), extra];
    },
    combine(g, gs, params, extra, count, ctx) {
      tree.dispose(params);
      count.dispose();
      if (method === "finite-difference") {
        const d = tree.map((x: np.Array, y: np.Array) => x.mul(1 - a).add(y.mul(a)), g, gs!) as Params;
        return [d, extra];
      }
      const unit = treeScale(tree.ref(g), np.reciprocal(treeNorm(tree.ref(g)).add(EPS)));
      const hv = ctx.hvp(unit);
      const d = tree.map((x: np.Array, h: np.Array) => x.add(h.mul(lambda)), g, hv) as Params;
      return [d, extra];
    },
  }, undefined, options);
}
