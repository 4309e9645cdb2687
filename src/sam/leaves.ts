/**
 * Per-leaf control of the perturbation: which parameter leaves ε touches, and a ρ scale per
 * leaf, as functions of the leaf's path ("layers.0.w", "norms.1.scale", "convs.0.b"; the paths
 * of `leafPaths`). Every sharpness-aware optimizer takes them (`perturbLeaves`, `rhoScale`;
 * core.ts applies them around the variant's `perturb`):
 *
 *   g_S = g on the selected leaves, 0 elsewhere      the variant sees only these
 *   ε   = perturb(g_S)                                ‖·‖ in the variant runs over S alone
 *   ε_ℓ ← 0 (ℓ ∉ S),  ε_ℓ ← s(ℓ)·ε_ℓ (ℓ ∈ S)
 *
 * so SAM over "norm" is SAM-ON (Mueller et al., NeurIPS 2023: ε = ρ g_N / ‖g_N‖ over the
 * normalization layers' parameters N). The descent direction is untouched: every leaf still
 * gets its (perturbed-point) gradient.
 *
 * Presets, by the naming convention of this library's models (weights end in ".w", biases in
 * ".b", normalization-layer parameters live under "norms"):
 * - "all" (default): every leaf;
 * - "weights": weight matrices and conv kernels only — no biases, no normalization parameters
 *   (the common "no weight decay on biases and norms" split applied to ε);
 * - "norm": normalization-layer parameters only (SAM-ON).
 *
 * Browser-safe.
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import type { Params } from "../optim/types.js";
import { leafPaths } from "../engine/tree.js";

/**
 * Which leaves are perturbed: a preset — "all", "weights" (weight matrices and kernels, no
 * biases or normalization parameters), "norm" (normalization layers: SAM-ON) — or a predicate on
 * the leaf's path ("layers.0.w").
 *
 * @example
 * ```ts
 * const opt = sam(base, { rho: 0.05, perturbLeaves: (path) => path.startsWith("layers.0") });
 * ```
 */
export type LeafSelector = "all" | "weights" | "norm" | ((path: string) => boolean);

/**
 * The presets' names, in order (for flags and specs).
 *
 * @example
 * ```ts
 * LEAF_PRESETS.includes(flag as LeafSelector); // validate a --perturb-leaves value
 * ```
 */
export const LEAF_PRESETS = ["all", "weights", "norm"] as const;

/**
 * A normalization layer's parameter: some path segment is "norms" (BatchNorm scale/offset).
 *
 * @example
 * ```ts
 * isNormLeaf("norms.0.scale"); // true
 * isNormLeaf("layers.0.w");    // false
 * ```
 */
export const isNormLeaf = (path: string): boolean => path.split(".").includes("norms");

/**
 * A weight matrix or conv kernel: the last segment is "w".
 *
 * @example
 * ```ts
 * isWeightLeaf("layers.0.w"); // true
 * isWeightLeaf("layers.0.b"); // false
 * ```
 */
export const isWeightLeaf = (path: string): boolean => path.split(".").pop() === "w" && !isNormLeaf(path);

/**
 * The predicate for a selector. Throws a RangeError naming `owner` for anything else.
 *
 * @example
 * ```ts
 * const selected = leafPredicate("sam", "weights");
 * selected("layers.1.w"); // true
 * ```
 */
export function leafPredicate(owner: string, selector: LeafSelector): (path: string) => boolean {
  if (typeof selector === "function") return selector;
  if (selector === "all") return () => true;
  if (selector === "weights") return isWeightLeaf;
  if (selector === "norm") return isNormLeaf;
  throw new RangeError(`${owner}: perturbLeaves must be "all", "weights", "norm" or a function (path) => boolean (got ${JSON.stringify(selector)})`);
}

/** Checks a `rhoScale` option: undefined or a function. */
export function checkRhoScale(owner: string, f: unknown): void {
  if (f !== undefined && typeof f !== "function") throw new RangeError(`${owner}: rhoScale must be a function (path) => number (got ${JSON.stringify(f)})`);
}

/**
 * Per leaf of `params` (in `tree.leaves` order): its scale on ε, 0 for leaves left out. Throws a
 * RangeError when nothing is selected or a scale is not a finite number ≥ 0. Runs at trace time
 * (paths and scales are static). Does not consume.
 */
export function leafScales(owner: string, params: Params, selected: (path: string) => boolean, rhoScale?: (path: string) => number): number[] {
  const paths = leafPaths(params);
  const scales = paths.map((p) => {
    if (!selected(p)) return 0;
    const s = rhoScale ? rhoScale(p) : 1;
    if (typeof s !== "number" || !Number.isFinite(s) || s < 0) throw new RangeError(`${owner}: rhoScale("${p}") must be a finite number ≥ 0 (got ${String(s)})`);
    return s;
  });
  if (scales.every((s) => s === 0)) throw new RangeError(`${owner}: perturbLeaves selects none of the parameters (${paths.slice(0, 4).join(", ")}${paths.length > 4 ? ", …" : ""})`);
  return scales;
}

/**
 * Leaf-wise `s_ℓ · x_ℓ` (in `tree.leaves` order), s_ℓ = 0 giving exact zeros (never 0·x, which
 * keeps NaN) and s_ℓ = 1 the leaf itself. Consumes `x`.
 */
export function scaleLeaves(x: Params, scales: number[]): Params {
  let i = 0;
  return tree.map((leaf: np.Array) => {
    const s = scales[i++];
    if (s === 0) return np.zerosLike(leaf);
    return s === 1 ? leaf : leaf.mul(s);
  }, x) as Params;
}
