/**
 * SAM — Sharpness-Aware Minimization (Foret et al., ICLR 2021; seeds 001, 003 eq. 3-4), with
 * the unnormalized (002 §5.2), ℓ∞ (Foret et al. §2) and m-sharpness (002 eq. 3-4) forms.
 *
 *   g = ∇L_B(w)
 *   ε = ρ g / (‖g‖₂ + 1e-12)     normalize (default)
 *   ε = ρ g                      normalize: false  (constant ρ, 002 Fig 11)
 *   ε = ρ sign(g)                p: Infinity
 *   w ← base step with ∇L_B(w + ε), taken at w
 *
 * Follows davda54/sam and the PyTorch implementations: the base optimizer (and its weight decay)
 * acts at the clean w; the JAX original adds L2 to the loss instead — do that through your loss.
 *
 * Defaults: rho 0.05 (Foret et al., CIFAR-10), normalize true, p 2, m = the whole batch.
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import type { GradientTransformation, Params } from "../optim/types.js";
import { EPS, treeNorm, treeScale } from "../engine/tree.js";
import { checkBoolean, checkKeys, checkNumber, checkOneOf } from "../optim/validate.js";
import { makeSharpnessAware, noExtraState, type SharpnessAwareOptimizer, type SharpnessState } from "./core.js";

export interface SamOptions {
  /** Radius ρ ≥ 0. Default 0.05. ρ = 0 is exactly the base optimizer (one pass). */
  rho?: number;
  /** Divide by ‖g‖ (default true); false gives ε = ρ g. */
  normalize?: boolean;
  /** The ball's norm: 2 (default) or Infinity (ε = ρ sign g). */
  p?: 2 | typeof Infinity;
  /** m-sharpness sub-batch size (integer ≥ 1); the batch must be a multiple of it. Default: whole batch. */
  m?: number;
}

export type SamState<BS = unknown> = SharpnessState<BS, Record<string, never>>;

/** `ρ d / (‖d‖₂ + 1e-12)`. Consumes `d`. Shared by the variants that normalize. */
export function normalizedPerturbation(d: Params, rho: number): Params {
  const scale = np.divide(rho, treeNorm(tree.ref(d)).add(EPS));
  return treeScale(d, scale);
}

/**
 * Wrap `base` with SAM.
 *
 * @example
 * const opt = sam(sgd({ learningRate: 0.1, momentum: 0.9 }), { rho: 0.05 });
 * let state = opt.init(tree.ref(params));
 * const out = jit((p, s, b) => opt.step(loss, p, s, b))(params, state, batch);
 */
export function sam<BS>(base: GradientTransformation<BS>, options: SamOptions = {}): SharpnessAwareOptimizer<SamState<BS>> {
  checkKeys("sam", options, ["rho", "normalize", "p", "m"]);
  const { rho = 0.05, normalize = true, p = 2, m } = options;
  checkNumber("sam", "rho", rho, { lo: 0 });
  checkBoolean("sam", "normalize", normalize);
  checkOneOf("sam", "p", p, [2, Infinity]);
  if (m !== undefined) checkNumber("sam", "m", m, { lo: 1, integer: true });
  if (!normalize && p !== 2) throw new RangeError(`sam: normalize: false needs p = 2 (got p = ${p})`);
  return makeSharpnessAware<BS, Record<string, never>>(
    base,
    {
      name: "sam",
      trivial: rho === 0,
      initExtra: noExtraState,
      perturb(g, params, extra, count) {
        tree.dispose(params);
        count.dispose();
        if (p === Infinity) return [tree.map((x: np.Array) => np.sign(x).mul(rho), g), extra];
        if (!normalize) return [treeScale(g, rho), extra];
        return [normalizedPerturbation(g, rho), extra];
      },
    },
    m,
  );
}
