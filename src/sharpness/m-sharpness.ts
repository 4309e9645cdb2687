/**
 * m-sharpness (002 eq. 1, §3, App. D): for batches S of m points from a fixed set,
 *
 *   s_m = mean_S [ max_{δ ∈ B(ρ)} L_S(w + δ) − L_S(w) ]
 *
 * with the inner max found by k steps (default 100) of normalized projected gradient ascent of
 * step α = 0.1ρ (002 App. D), from a small random start (1% of ρ, seeded: at a stationary point
 * the ascent from 0 would not move). Also the one-step value — SAM's perturbation, the first
 * order maximizer — and the ratio multi-step / one-step (the suboptimality factor, 002 Fig 3).
 *
 * Balls:  "l2"        ‖δ‖₂ ≤ ρ;        step δ ← Π(δ + α g/‖g‖); one step ρ g/‖g‖
 *         "linf"      ‖δ‖∞ ≤ ρ;        step δ ← clip(δ + α sign g, ±ρ); one step ρ sign g
 *         "adaptive"  ‖δ / T‖₂ ≤ ρ, T = |w| + η (ASAM, Kwon et al.): ascent on u = δ/T with
 *                     gradient T g; one step ρ T² g/‖T g‖. Scale-invariant when η = 0.
 *
 * The reported maximum is the largest loss met along the ascent (never below the one-step one).
 */
import "../engine/polyfills.js";
import { grad, jit, numpy as np, random, tree } from "@jax-js/jax";
import type { Params } from "../engine/tree.js";
import { EPS, hostScalar, treeAdd, treeMul, treeNorm, treeScale } from "../engine/tree.js";
import { checkKeys, checkNumber, checkOneOf } from "../optim/validate.js";
import type { ScalarLoss } from "./hessian.js";
import { randomLike } from "./hessian.js";

export type Ball = "l2" | "linf" | "adaptive";

export interface SharpnessOptions {
  /** Radius ρ > 0. Default 0.05. */
  rho?: number;
  /** Ascent steps k ≥ 1. Default 100. */
  steps?: number;
  /** Step size as a fraction of ρ. Default 0.1. */
  stepFraction?: number;
  /** The ball. Default "l2". */
  ball?: Ball;
  /** η of the adaptive ball. Default 0. */
  eta?: number;
  /** Seed of the random start. Default 0. */
  seed?: number;
  /** Called after each batch with (done, total), e.g. for a progress bar. */
  onProgress?: (done: number, total: number) => void;
}

export type SharpnessResult = {
  /** Mean over batches of max L_S(w + δ) − L_S(w). */
  sharpness: number;
  /** Mean over batches of L_S(w + δ₁) − L_S(w), δ₁ the one-step perturbation. */
  oneStep: number;
  /** sharpness / oneStep (NaN when oneStep is 0). */
  suboptimality: number;
  /** Per batch: [multi-step, one-step]. */
  perBatch: [number, number][];
};

/**
 * m-sharpness of `loss` at `params` over `batches` (each a batch of m points). Borrows `params`
 * and the batches. Returns host numbers.
 *
 * @example const s = await mSharpness(loss, params, batchesOf128, { rho: 0.05, steps: 100 });
 */
export async function mSharpness<B>(loss: ScalarLoss<B>, params: Params, batches: B[], options: SharpnessOptions = {}): Promise<SharpnessResult> {
  checkKeys("mSharpness", options, ["rho", "steps", "stepFraction", "ball", "eta", "seed", "onProgress"]);
  const { rho = 0.05, steps = 100, stepFraction = 0.1, ball = "l2", eta = 0, seed = 0, onProgress } = options;
  checkNumber("mSharpness", "rho", rho, { lo: 0, loOpen: true });
  checkNumber("mSharpness", "steps", steps, { lo: 1, integer: true });
  checkNumber("mSharpness", "stepFraction", stepFraction, { lo: 0, loOpen: true });
  checkOneOf("mSharpness", "ball", ball, ["l2", "linf", "adaptive"]);
  checkNumber("mSharpness", "eta", eta, { lo: 0 });
  const alpha = stepFraction * rho;
  const T = ball === "adaptive" ? (tree.map((w: np.Array) => np.abs(w.ref).add(eta), params) as Params) : null;

  // One ascent step in u-space (u = δ for l2/linf, δ/T for adaptive): returns [u', L(w + δ(u))].
  const lossAt = jit((p: any, d: any, b: any) => loss(treeAdd(p, d), b));
  const gradAt = jit((p: any, d: any, b: any) => grad(loss)(treeAdd(p, d), b));
  const toDelta = (u: Params): Params => (T ? treeMul(u, tree.ref(T)) : u);
  const direction = (g: Params): Params => {
    const gu = T ? treeMul(g, tree.ref(T)) : g; // ∂L/∂u = T g
    if (ball === "linf") return tree.map((x: np.Array) => np.sign(x), gu) as Params;
    return treeScale(tree.ref(gu), np.reciprocal(treeNorm(gu).add(EPS)));
  };
  const project = (u: Params): Params => {
    if (ball === "linf") return tree.map((x: np.Array) => np.clip(x, -rho, rho), u) as Params;
    return treeScale(tree.ref(u), np.divide(rho, np.maximum(treeNorm(u), rho)));
  };
  const value = hostScalar;

  const perBatch: [number, number][] = [];
  const keys = random.split(random.key(seed), batches.length);
  try {
    for (let i = 0; i < batches.length; i++) {
      const b = batches[i];
      const zero = tree.map((w: np.Array) => np.zerosLike(w.ref), params) as Params;
      const base = await value(lossAt(tree.ref(params), zero, tree.ref(b as any)) as np.Array);
      // one step from δ = 0
      const g0 = gradAt(tree.ref(params), tree.map((w: np.Array) => np.zerosLike(w.ref), params), tree.ref(b as any)) as Params;
      const u1 = treeScale(direction(g0), rho);
      const one = await value(lossAt(tree.ref(params), toDelta(u1), tree.ref(b as any)) as np.Array);
      // k steps of projected ascent from a small random start
      // the start is drawn in u-space (not scaled by T), so the adaptive measure stays exactly
      // invariant under rescalings that leave the function unchanged
      const z = randomLike(params, keys.ref.slice(i), "normal");
      let u = ball === "linf" ? (tree.map((x: np.Array) => np.sign(x).mul(0.01 * rho), z) as Params) : treeScale(tree.ref(z), np.divide(0.01 * rho, treeNorm(z).add(EPS)));
      let best = one;
      for (let s = 0; s < steps; s++) {
        const g = gradAt(tree.ref(params), toDelta(tree.ref(u)), tree.ref(b as any)) as Params;
        u = project(treeAdd(u, treeScale(direction(g), alpha)));
        if (s === steps - 1 || s % 10 === 9) best = Math.max(best, await value(lossAt(tree.ref(params), toDelta(tree.ref(u)), tree.ref(b as any)) as np.Array));
      }
      tree.dispose(u);
      perBatch.push([best - base, one - base]);
      onProgress?.(i + 1, batches.length);
    }
  } finally {
    keys.dispose();
    if (T) tree.dispose(T);
    lossAt.dispose();
    gradAt.dispose();
  }
  const sharp = perBatch.reduce((a, [x]) => a + x, 0) / perBatch.length;
  const oneStep = perBatch.reduce((a, [, y]) => a + y, 0) / perBatch.length;
  return { sharpness: sharp, oneStep, suboptimality: oneStep !== 0 ? sharp / oneStep : NaN, perBatch };
}

export type AverageSharpness = { sharpness: number; ci95: number; samples: number };

/**
 * Average-case sharpness E_{δ ~ N(0, σ² I)} L(w + δ) − L(w) over `samples` draws, with a 95%
 * CI (Monte Carlo). Borrows `params` and `batch`. (002 Fig 1's random perturbations, measured.)
 */
export async function averageSharpness<B>(loss: ScalarLoss<B>, params: Params, batch: B, { sigma = 0.01, samples = 100, seed = 0 } = {}): Promise<AverageSharpness> {
  checkNumber("averageSharpness", "sigma", sigma, { lo: 0 });
  checkNumber("averageSharpness", "samples", samples, { lo: 2, integer: true });
  const lossAt = jit((p: any, d: any, b: any) => loss(treeAdd(p, d), b));
  const keys = random.split(random.key(seed), samples);
  const zero = tree.map((w: np.Array) => np.zerosLike(w.ref), params) as Params;
  const base = (await (lossAt(tree.ref(params), zero, tree.ref(batch as any)) as np.Array).data())[0];
  const diffs: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const d = treeScale(randomLike(params, keys.ref.slice(i), "normal"), sigma);
      diffs.push((await (lossAt(tree.ref(params), d, tree.ref(batch as any)) as np.Array).data())[0] - base);
    }
  } finally {
    keys.dispose();
    lossAt.dispose();
  }
  const { mean, ci95 } = await import("../report/stats.js");
  return { sharpness: mean(diffs), ci95: ci95(diffs), samples };
}
