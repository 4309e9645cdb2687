/**
 * F-ASAM (003 Tab 3): F-SAM's d (the batch gradient minus σ times its EMA) inside ASAM's
 * scale-invariant ε:
 *
 *   ε = ρ T² d / (‖T d‖ + 1e-12),  T = |w| + η
 *
 * `fsam(base, { adaptive: true })` with ASAM's defaults (ρ 0.5, η 0.01); see fsam.ts for d.
 */
import type { GradientTransformation } from "../optim/types.js";
import { CORE_OPTIONS, type SharpnessAwareOptimizer } from "./core.js";
import { resolveOptions, type Descriptor } from "../optim/hyper.js";
import { checkRho } from "./rho.js";
import { fsam, fsamDescriptor, type FsamOptions, type FsamState } from "./fsam.js";
import { asamDescriptor } from "./asam.js";

/**
 * F-ASAM's hyperparameters: F-SAM's, with ASAM's ρ and η defaults. The factory validates its options with it ({@link resolveOptions}); the
 * run registry derives flags, spec checks and docs from it.
 *
 * @example
 * ```ts
 * for (const [k, h] of Object.entries(fasamDescriptor.params)) console.log(k, h.default, h.doc);
 * ```
 */
export const fasamDescriptor = {
  name: "fasam",
  fn: "fasam",
  label: "F-ASAM",
  paper: "Li et al., CVPR 2024, Tab 3",
  params: {
    rho: asamDescriptor.params.rho,
    eta: asamDescriptor.params.eta,
    sigma: fsamDescriptor.params.sigma,
    lambda: fsamDescriptor.params.lambda,
    order: fsamDescriptor.params.order,
  },
} as const satisfies Descriptor;

/** Options of {@link fasam}: F-SAM's without `adaptive` (always on); ρ defaults to 0.5 and η to 0.01 (ASAM's). */
export type FasamOptions = Omit<FsamOptions, "adaptive">;

/**
 * Wrap `base` with F-ASAM (003 Tab 3): F-SAM's direction d = g − σ m_{t−1} (m the EMA of g)
 * inside ASAM's scale-invariant ε = ρ T² d / (‖T d‖ + 1e-12), T = |w| + η; that is
 * `fsam(base, { adaptive: true, … })` with ASAM's defaults: rho 0.5, eta 0.01 (sigma 1,
 * lambda 0.9, order "official" as F-SAM's).
 * Consumes what every sharpness-aware optimizer's `init` and `step` consume (see {@link SharpnessAwareOptimizer}); options are validated when it is built (`RangeError` naming the option).
 *
 * @example
 * ```ts
 * const opt = fasam(sgd({ learningRate: 0.1 }), { rho: 0.5, eta: 0.01, sigma: 1, lambda: 0.6 });
 * ```
 */
export function fasam<BS>(base: GradientTransformation<BS>, options: FasamOptions = {}): SharpnessAwareOptimizer<FsamState<BS>> {
  const o = resolveOptions(fasamDescriptor, options, [...CORE_OPTIONS, "adaptiveLeaves"]);
  if (typeof o.rho !== "number") checkRho("fasam", o.rho);
  return fsam(base, { ...(o as FasamOptions), adaptive: true });
}
