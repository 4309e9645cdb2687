/**
 * ℓp-ball perturbations (Foret et al. 2021 §2, eq. 2; seed 000): the first-order maximizer of
 * gᵀε over ‖ε‖_p ≤ ρ is
 *
 *   ε = ρ sign(g) |g|^{q−1} / ‖g‖_q^{q−1},   1/p + 1/q = 1
 *
 * p = 2 gives ρ g/‖g‖ (SAM), p = ∞ (q = 1) gives ρ sign(g). eps = 1e-12 is added to the
 * denominator. Powers use `np.power` (~1e-5 relative here, DESIGN §5): fine for a direction.
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import type { Params } from "../optim/types.js";
import { EPS, stagedSum } from "../engine/tree.js";
import type { Scalar } from "../engine/tree.js";

/**
 * The ℓp-ball perturbation of radius `rho` for 1 < p < ∞ or p = ∞ (Foret et al. §2):
 * ε = ρ sign(g) |g|^{q−1} / (‖g‖_q^{q−1} + 1e-12) with 1/p + 1/q = 1; p = ∞ gives ρ sign(g),
 * p = 2 SAM's ρ g/‖g‖. Consumes `g` and `rho`.
 *
 * @example
 * ```ts
 * const eps = lpPerturbation(g, 0.05, Infinity); // ρ sign(g)
 * ```
 */
export function lpPerturbation(g: Params, rho: Scalar, p: number): Params {
  const r = (x: np.Array) => (typeof rho === "number" ? x.mul(rho) : x.mul(rho.ref));
  if (p === Infinity) {
    const out = tree.map((x: np.Array) => r(np.sign(x)), g) as Params;
    if (typeof rho !== "number") rho.dispose();
    return out;
  }
  const q = p / (p - 1);
  const leaves = tree.leaves(g) as np.Array[];
  let sumQ: np.Array | null = null;
  for (const x of leaves) {
    const s = stagedSum(np.power(np.abs(x.ref), q));
    sumQ = sumQ === null ? s : sumQ.add(s);
  }
  // ‖g‖_q^{q−1} = (Σ|g|^q)^{(q−1)/q}
  const denom = np.power(sumQ!, (q - 1) / q).add(EPS);
  const out = tree.map((x: np.Array) => r(np.sign(x.ref).mul(np.power(np.abs(x), q - 1))).div(denom.ref), g) as Params;
  denom.dispose();
  if (typeof rho !== "number") rho.dispose();
  return out;
}
