/**
 * GSAM — Surrogate Gap guided SAM (Zhuang et al., ICLR 2022), following juntang-zhuang/GSAM
 * `gradient_decompose` (its eps placement included):
 *
 *   ε = ρ g / (‖g‖ + 1e-12);  g_p = ∇L_B(w + ε)
 *   cos = ⟨g, g_p⟩ / (‖g_p‖ ‖g‖ + 1e-12)
 *   g_⊥ = g − cos ‖g‖ g_p / (‖g_p‖ + 1e-12)      (g minus its projection on g_p)
 *   d = g_p − α g_⊥;  w ← base step with d, taken at w
 *
 * α = 0 is SAM exactly. The official code ties ρ to the learning rate (rhoFollowLr here).
 * Defaults: rho 0.05, alpha 0.4 (Zhuang et al.).
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import type { GradientTransformation, Params } from "../optim/types.js";
import { EPS, treeDot, treeNorm } from "../engine/tree.js";
import { resolveOptions, type Descriptor } from "../optim/hyper.js";
import { makeSharpnessAware, noExtraState, type SharpnessAwareOptimizer, type SharpnessState, CORE_OPTIONS, type CoreOptions } from "./core.js";
import { normalizedPerturbation } from "./sam.js";
import { checkRho, rhoAt, rhoPhases, type Rho, rhoHyper } from "./rho.js";

/**
 * Options of {@link gsam} (and every optimizer's {@link CoreOptions}); each default is the one stated.
 *
 * @example
 * ```ts
 * const opt = gsam(sgd({ learningRate: 0.1 }), { rho: 0.05, alpha: 0.2 } satisfies GsamOptions);
 * ```
 */
export interface GsamOptions extends CoreOptions {
  /** Radius ρ ≥ 0 or a ρ schedule. Default 0.05. */
  rho?: Rho;
  /** α ≥ 0, the weight of the ascent along the orthogonal component. Default 0.4. */
  alpha?: number;
}

/**
 * GSAM's hyperparameters, declared once. The factory validates its options with it ({@link resolveOptions}); the
 * run registry derives flags, spec checks and docs from it.
 *
 * @example
 * ```ts
 * for (const [k, h] of Object.entries(gsamDescriptor.params)) console.log(k, h.default, h.doc);
 * ```
 */
export const gsamDescriptor = {
  name: "gsam",
  fn: "gsam",
  label: "GSAM",
  paper: "Zhuang et al., ICLR 2022 (juntang-zhuang/GSAM)",
  params: {
    rho: rhoHyper(0.05),
    alpha: { type: "number", default: 0.4, min: 0, symbol: "α", doc: "α, the weight of the ascent along the orthogonal component" },
  },
} as const satisfies Descriptor;

/** The state of {@link gsam}: the base optimizer's, the step count and the skipped-step count (GSAM keeps nothing of its own). */
export type GsamState<BS = unknown> = SharpnessState<BS, Record<string, never>>;

/**
 * Wrap `base` with GSAM (Zhuang et al., ICLR 2022): ε = ρ g/(‖g‖ + 1e-12), g_p = ∇L_B(w + ε),
 * g_⊥ = g − cos(g, g_p) ‖g‖ g_p/(‖g_p‖ + 1e-12), then the base step with d = g_p − α g_⊥ at w.
 * α = 0 is SAM. Defaults: rho 0.05, alpha 0.4 (the official code ties ρ to the learning rate:
 * use {@link rhoFollowLr}).
 * Consumes what every sharpness-aware optimizer's `init` and `step` consume (see {@link SharpnessAwareOptimizer}); options are validated when it is built (`RangeError` naming the option).
 *
 * @example
 * ```ts
 * const opt = gsam(sgd({ learningRate: 0.1 }), { rho: 0.05, alpha: 0.4 });
 * ```
 */
export function gsam<BS>(base: GradientTransformation<BS>, options: GsamOptions = {}): SharpnessAwareOptimizer<GsamState<BS>> {
  const { rho, alpha } = resolveOptions(gsamDescriptor, options, CORE_OPTIONS) as Required<GsamOptions>;
  checkRho("gsam", rho);
  return makeSharpnessAware<BS, Record<string, never>>(base, {
    name: "gsam",
    ...rhoPhases(rho),
    initExtra: noExtraState,
    perturb(g, params, extra, count) {
      tree.dispose(params);
      return [normalizedPerturbation(g, rhoAt(rho, count)), extra];
    },
    combine(g, gp, params, extra, count) {
      tree.dispose(params);
      count.dispose();
      if (gp === undefined) return [g, extra]; // a ρ(t) = 0 step
      if (alpha === 0) {
        tree.dispose(g);
        return [gp, extra];
      }
      const gpNorm = treeNorm(tree.ref(gp));
      const gNorm = treeNorm(tree.ref(g));
      const cos = treeDot(tree.ref(g), tree.ref(gp)).div(gpNorm.ref.mul(gNorm.ref).add(EPS));
      const coef = cos.mul(gNorm).div(gpNorm.add(EPS)); // cos ‖g‖ / (‖g_p‖ + eps)
      const d = tree.map((x: np.Array, y: np.Array) => y.ref.sub(x.sub(y.mul(coef.ref)).mul(alpha)), g, gp) as Params;
      coef.dispose();
      return [d, extra];
    },
  }, undefined, options);
}
