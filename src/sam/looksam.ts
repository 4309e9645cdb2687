/**
 * LookSAM (Liu et al., CVPR 2022): a full SAM step every k steps, reusing its sharpness
 * direction in between at the cost of one gradient pass.
 *
 *   t mod k = 0 ("full"):  g_s = ∇L_B(w + ρ ĝ);  g_v = g_s − ‖g_s‖ cos(g, g_s) ĝ   (stored)
 *                          d = g_s
 *   otherwise ("reuse"):   d = g + α (‖g‖ / ‖g_v‖) g_v          (one pass: g only)
 *
 * ‖g_v‖ is computed once, at the full step, and stored with g_v: a reuse step then reads
 * the parameters' size once (for ‖g‖) instead of twice (docs/performance.md).
 *   w ← base step with d, taken at w
 *
 * cos and the projection are over the whole parameter vector (not per layer), d is a gradient
 * handed to any base optimizer (not a parameter update), and step 0 is always "full", so g_v
 * exists before it is reused — the three points where a public implementation goes wrong.
 * The step kind comes from the host: `opt.phase(t)`, passed as `step(..., { phase })`
 * (`phasedStep` does both); calling `step` without a phase is an error. k = 1 is SAM exactly.
 *
 * Defaults: rho 0.05, k 5, alpha 0.7 (Liu et al.).
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import type { GradientTransformation, Params } from "../optim/types.js";
import { EPS, treeDot, treeNorm } from "../engine/tree.js";
import { resolveOptions, type Descriptor } from "../optim/hyper.js";
import { rhoHyper } from "./rho.js";
import { makeSharpnessAware, type SharpnessAwareOptimizer, type SharpnessState, CORE_OPTIONS, type CoreOptions } from "./core.js";
import { normalizedPerturbation } from "./sam.js";

/**
 * Options of {@link lookSam} (and every optimizer's {@link CoreOptions}); each default is the one stated.
 *
 * @example
 * ```ts
 * const opt = lookSam(sgd({ learningRate: 0.1 }), { rho: 0.05, k: 10, alpha: 0.7 } satisfies LookSamOptions);
 * ```
 */
export interface LookSamOptions extends CoreOptions {
  /** Radius ρ ≥ 0. Default 0.05. */
  rho?: number;
  /** Full SAM step every k steps (integer ≥ 1). Default 5. */
  k?: number;
  /** α ≥ 0, the weight of the reused direction. Default 0.7. */
  alpha?: number;
}

/**
 * LookSAM's hyperparameters, declared once. The factory validates its options with it ({@link resolveOptions}); the
 * run registry derives flags, spec checks and docs from it.
 *
 * @example
 * ```ts
 * for (const [k, h] of Object.entries(lookSamDescriptor.params)) console.log(k, h.default, h.doc);
 * ```
 */
export const lookSamDescriptor = {
  name: "looksam",
  fn: "lookSam",
  label: "LookSAM",
  paper: "Liu et al., CVPR 2022",
  params: {
    rho: rhoHyper(0.05, { schedule: false }),
    k: { type: "number", default: 5, min: 1, integer: true, doc: "a full SAM step every k steps" },
    alpha: { type: "number", default: 0.7, min: 0, symbol: "α", doc: "α, the weight of the reused direction" },
  },
} as const satisfies Descriptor;

/**
 * g_v, the stored sharpness direction, and ‖g_v‖ (0-d).
 *
 * @inline
 */
export type LookSamExtra = {
  /** g_v, stored at the last full step. */
  gv: Params;
  /** ‖g_v‖₂, 0-d. */
  gvNorm: np.Array;
};
/** The state of {@link lookSam}: the base optimizer's, the step count, the skipped-step count and `extra`: the stored component g_v and its norm. */
export type LookSamState<BS = unknown> = SharpnessState<BS, LookSamExtra>;

/**
 * Wrap `base` with LookSAM (Liu et al., CVPR 2022): on steps t mod k = 0 ("full") a SAM step
 * that stores g_v = g_s − ‖g_s‖ cos(g, g_s) ĝ; on the others ("reuse", one pass)
 * d = g + α (‖g‖/‖g_v‖) g_v. The step kind comes from the host: pass `opt.phase(t)` as
 * `step(…, { phase })`, or use {@link phasedStep}. k = 1 is SAM. Defaults: rho 0.05, k 5,
 * alpha 0.7.
 * Consumes what every sharpness-aware optimizer's `init` and `step` consume (see {@link SharpnessAwareOptimizer}); options are validated when it is built (`RangeError` naming the option).
 *
 * @example
 * ```ts
 * const opt = lookSam(sgd({ learningRate: 0.1 }), { rho: 0.05, k: 5, alpha: 0.7 });
 * const step = phasedStep(opt, loss);
 * ```
 */
export function lookSam<BS>(base: GradientTransformation<BS>, options: LookSamOptions = {}): SharpnessAwareOptimizer<LookSamState<BS>> {
  const { rho, k, alpha } = resolveOptions(lookSamDescriptor, options, CORE_OPTIONS) as Required<LookSamOptions>;
  const phaseOf = (phase: string) => {
    if (phase !== "full" && phase !== "reuse") throw new Error(`lookSam: step needs { phase: opt.phase(t) } ("full" or "reuse"; got ${JSON.stringify(phase)}); phasedStep passes it`);
    return phase;
  };
  return makeSharpnessAware<BS, LookSamExtra>(base, {
    name: "lookSam",
    trivial: rho === 0,
    initExtra: (params) => ({ gv: tree.map((w: np.Array) => np.zerosLike(w), params), gvNorm: np.array(0) }),
    phase: (t) => (t % k === 0 ? "full" : "reuse"),
    secondPass: (phase) => phaseOf(phase) === "full",
    perturb(g, params, extra, count) {
      tree.dispose(params);
      count.dispose();
      return [normalizedPerturbation(g, rho), extra];
    },
    combine(g, gs, params, extra, count, ctx) {
      tree.dispose(params);
      count.dispose();
      if (ctx.phase === "full") {
        // g_v = g_s − ‖g_s‖ cos(g, g_s) ĝ = g_s − (⟨g, g_s⟩ / ‖g‖²) g
        tree.dispose([extra.gv, extra.gvNorm]);
        const gNorm = treeNorm(tree.ref(g));
        const coef = treeDot(tree.ref(g), tree.ref(gs!)).div(gNorm.mul(gNorm.ref).add(EPS));
        const gv = tree.map((y: np.Array, x: np.Array) => y.sub(x.mul(coef.ref)), tree.ref(gs!), g) as Params;
        coef.dispose();
        return [gs!, { gv: tree.ref(gv), gvNorm: treeNorm(gv) }];
      }
      const scale = treeNorm(tree.ref(g)).mul(alpha).div(extra.gvNorm.ref.add(EPS));
      const d = tree.map((x: np.Array, v: np.Array) => x.add(v.mul(scale.ref)), g, tree.ref(extra.gv)) as Params;
      scale.dispose();
      return [d, extra];
    },
  }, undefined, options);
}
