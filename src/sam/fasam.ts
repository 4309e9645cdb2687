/**
 * F-ASAM (003 Tab 3): F-SAM's d (the batch gradient minus σ times its EMA) inside ASAM's
 * scale-invariant ε:
 *
 *   ε = ρ T² d / (‖T d‖ + 1e-12),  T = |w| + η
 *
 * `fsam(base, { adaptive: true })` with ASAM's defaults (ρ 0.5, η 0.01); see fsam.ts for d.
 */
import type { GradientTransformation } from "../optim/types.js";
import type { SharpnessAwareOptimizer } from "./core.js";
import { fsam, type FsamOptions, type FsamState } from "./fsam.js";

export type FasamOptions = Omit<FsamOptions, "adaptive">;

/** @example fasam(sgd({ learningRate: 0.1 }), { rho: 0.5, eta: 0.01, sigma: 1, lambda: 0.6 }) */
export function fasam<BS>(base: GradientTransformation<BS>, options: FasamOptions = {}): SharpnessAwareOptimizer<FsamState<BS>> {
  return fsam(base, { rho: 0.5, eta: 0.01, ...options, adaptive: true });
}
