/**
 * SAM — Sharpness-Aware Minimization (Foret et al., ICLR 2021; seeds 001, 003 eq. 3-4), with
 * the unnormalized (002 §5.2), ℓp-ball (Foret et al. §2), m-sharpness (002 eq. 3-4) and
 * ρ-schedule (002 §4.3, 003 Thm 2) forms.
 *
 *   g = ∇L_B(w)
 *   ε = ρ g / (‖g‖₂ + 1e-12)                      normalize (default, p = 2)
 *   ε = ρ g                                       normalize: false (constant ρ, 002 Fig 11)
 *   ε = ρ sign(g) |g|^{q−1} / ‖g‖_q^{q−1}          p ∈ (1, ∞], 1/p + 1/q = 1 (p = ∞: ρ sign g)
 *   w ← base step with ∇L_B(w + ε), taken at w
 *
 * With a ρ schedule, steps where ρ(t) = 0 are the base optimizer's (one pass; see `phase`).
 * n-SAM / SAM-db: pass `{ ascentBatch }` to `step` (002 App. D, 003 §4.2).
 *
 * Follows davda54/sam and the PyTorch implementations: the base optimizer (and its weight decay)
 * acts at the clean w; the JAX original adds L2 to the loss instead — do that through your loss.
 *
 * Defaults: rho 0.05 (Foret et al., CIFAR-10), normalize true, p 2, m = the whole batch.
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import type { GradientTransformation, Params } from "../optim/types.js";
import { EPS, treeNorm, treeScale, type Scalar } from "../engine/tree.js";
import { resolveOptions, type Descriptor } from "../optim/hyper.js";
import { makeSharpnessAware, noExtraState, type SharpnessAwareOptimizer, type SharpnessState, CORE_OPTIONS, type CoreOptions } from "./core.js";
import { lpPerturbation } from "./lp-ball.js";
import { checkRho, rhoAt, rhoPhases, type Rho, rhoHyper } from "./rho.js";

/**
 * Options of {@link sam} (and every optimizer's {@link CoreOptions}); each default is the one stated.
 *
 * @example
 * ```ts
 * const o: SamOptions = { rho: 0.05, m: 32 };             // m-SAM
 * const l: SamOptions = { rho: 0.01, p: Infinity };      // the ℓ∞ ball
 * const opt = sam(sgd({ learningRate: 0.1 }), o);
 * ```
 */
export interface SamOptions extends CoreOptions {
  /** Radius ρ ≥ 0 or a ρ schedule (rho.ts). Default 0.05. ρ = 0 is exactly the base optimizer. */
  rho?: Rho;
  /** Divide by ‖g‖ (default true); false gives ε = ρ g. */
  normalize?: boolean;
  /** The ball's norm: 2 (default), any p > 1, or Infinity (ε = ρ sign g). */
  p?: number;
  /** m-sharpness sub-batch size (integer ≥ 1); the batch must be a multiple of it. Default: whole batch. */
  m?: number;
}

/**
 * SAM's hyperparameters, declared once. The factory validates its options with it ({@link resolveOptions}); the
 * run registry derives flags, spec checks and docs from it.
 *
 * @example
 * ```ts
 * for (const [k, h] of Object.entries(samDescriptor.params)) console.log(k, h.default, h.doc);
 * ```
 */
export const samDescriptor = {
  name: "sam",
  fn: "sam",
  label: "SAM",
  paper: "Foret et al., ICLR 2021 (davda54/sam); 002 §5.2, eq. 3-4",
  params: {
    rho: rhoHyper(0.05),
    normalize: { type: "boolean", default: true, doc: "divide by ‖g‖ (false: ε = ρ g, 002 Fig 11)" },
    p: { type: "number", default: 2, min: 1, minOpen: true, allowInfinity: true, doc: "the ball's norm: 2, any p > 1, or inf (ε = ρ sign g)" },
    m: { type: "number", default: null, min: 1, integer: true, doc: "m-sharpness sub-batch size (null: the whole batch)" },
  },
} as const satisfies Descriptor;

/** The state of {@link sam}: the base optimizer's, the step count and the skipped-step count (SAM keeps nothing of its own). */
export type SamState<BS = unknown> = SharpnessState<BS, Record<string, never>>;

/**
 * ε = ρ d / (‖d‖₂ + 1e-12), the norm global over all leaves. Consumes `d` (and `rho` when an
 * array). Shared by the variants that normalize.
 *
 * @example
 * ```ts
 * const eps = normalizedPerturbation(g, 0.05); // SAM's ε
 * ```
 */
export function normalizedPerturbation(d: Params, rho: Scalar): Params {
  const scale = np.divide(rho, treeNorm(tree.ref(d)).add(EPS));
  return treeScale(d, scale);
}

/**
 * Wrap `base` with SAM (Foret et al., ICLR 2021): ε = ρ g/(‖g‖₂ + 1e-12) (`normalize: false`:
 * ρ g; `p`: the ℓp ball, p = ∞ giving ρ sign g), then the base step with ∇L_B(w + ε) taken at
 * the clean w; with `m`, one ε per sub-batch of m and the perturbed gradients averaged (m-SAM).
 * ρ = 0 (or a ρ schedule at 0) is the base optimizer's one-pass step. Defaults: rho 0.05,
 * normalize true, p 2, m the whole batch.
 * Consumes what every sharpness-aware optimizer's `init` and `step` consume (see
 * {@link SharpnessAwareOptimizer}); options are validated when it is built (`RangeError` naming
 * the option).
 *
 * @example
 * const opt = sam(sgd({ learningRate: 0.1, momentum: 0.9 }), { rho: 0.05 });
 * let state = opt.init(tree.ref(params));
 * const out = jit((p, s, b) => opt.step(loss, p, s, b))(params, state, batch);
 */
export function sam<BS>(base: GradientTransformation<BS>, options: SamOptions = {}): SharpnessAwareOptimizer<SamState<BS>> {
  const { rho, normalize, p, m } = resolveOptions(samDescriptor, options, CORE_OPTIONS) as Required<SamOptions>;
  checkRho("sam", rho);
  if (!normalize && p !== 2) throw new RangeError(`sam: normalize: false needs p = 2 (got p = ${p})`);
  return makeSharpnessAware<BS, Record<string, never>>(
    base,
    {
      name: "sam",
      ...rhoPhases(rho),
      initExtra: noExtraState,
      perturb(g, params, extra, count) {
        tree.dispose(params);
        const r = rhoAt(rho, count);
        if (p !== 2) return [lpPerturbation(g, r, p), extra];
        if (!normalize) return [treeScale(g, r), extra];
        return [normalizedPerturbation(g, r), extra];
      },
    },
    m ?? undefined,
    options,
  );
}
