/**
 * Loss along lines and planes in parameter space.
 *
 *   interpolate:  θ(α) = (1 − α) A + α B for α on a grid (002 Fig 10: ERM ↔ SAM solutions),
 *                 evaluating any metric(s) of the parameters, e.g. loss and accuracy
 *   landscape2d:  θ(x, y) = w + x d₁ + y d₂ with random Gaussian directions d₁, d₂, filter-
 *                 normalized (Li et al. 2018): each row of each weight matrix (a "filter") of d
 *                 is rescaled to the norm of the matching row of w; 1-D leaves (biases) are
 *                 zeroed, as Li et al. do
 *
 * Metrics are host functions of a parameter tree (borrowed) returning numbers, so one pass can
 * give both loss and accuracy.
 */
import "../engine/polyfills.js";
import { numpy as np, random, tree } from "@jax-js/jax";
import type { Params } from "../engine/tree.js";
import { EPS } from "../engine/tree.js";
import { randomLike } from "./hessian.js";

export type Metrics = (params: Params) => Promise<Record<string, number>>;

/** Metrics at `points` evenly spaced α in [from, to] along (1 − α)A + αB. Borrows A and B. */
export async function interpolate(metrics: Metrics, a: Params, b: Params, { points = 21, from = 0, to = 1 } = {}): Promise<({ alpha: number } & Record<string, number>)[]> {
  const out: ({ alpha: number } & Record<string, number>)[] = [];
  for (let i = 0; i < points; i++) {
    const alpha = from + ((to - from) * i) / Math.max(1, points - 1);
    const p = tree.map((x: np.Array, y: np.Array) => x.ref.mul(1 - alpha).add(y.ref.mul(alpha)), a, b) as Params;
    const m = await metrics(p);
    tree.dispose(p);
    out.push({ alpha, ...m });
  }
  return out;
}

/** A random direction filter-normalized to `params` (borrowed). */
export function filterNormalizedDirection(params: Params, key: np.Array): Params {
  const d = randomLike(params, key, "normal");
  return tree.map((x: np.Array, w: np.Array) => {
    if (x.ndim < 2) {
      x.dispose();
      return np.zerosLike(w.ref);
    }
    // norms over every axis but the last (one filter per output unit: a column of x W)
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const dn = np.sqrt(np.sum(np.square(x.ref), axes, { keepdims: true }));
    const wn = np.sqrt(np.sum(np.square(w.ref), axes, { keepdims: true }));
    return x.mul(wn).div(dn.add(EPS));
  }, d, params) as Params;
}

export type Landscape = { xs: number[]; ys: number[]; values: Record<string, number[][]> };

/** Metrics on a `size`×`size` grid over [−span, span]² around `params` (borrowed). */
export async function landscape2d(metrics: Metrics, params: Params, { size = 11, span = 1, seed = 0 } = {}): Promise<Landscape> {
  const keys = random.split(random.key(seed), 2);
  const d1 = filterNormalizedDirection(params, keys.ref.slice(0));
  const d2 = filterNormalizedDirection(params, keys.slice(1));
  const xs = Array.from({ length: size }, (_, i) => -span + (2 * span * i) / Math.max(1, size - 1));
  const values: Record<string, number[][]> = {};
  try {
    for (let j = 0; j < size; j++) {
      for (let i = 0; i < size; i++) {
        const p = tree.map((w: np.Array, u: np.Array, v: np.Array) => w.ref.add(u.ref.mul(xs[i])).add(v.ref.mul(xs[j])), params, d1, d2) as Params;
        const m = await metrics(p);
        tree.dispose(p);
        for (const [k, val] of Object.entries(m)) {
          values[k] ??= xs.map(() => new Array(size).fill(NaN));
          values[k][j][i] = val;
        }
      }
    }
  } finally {
    tree.dispose([d1, d2]);
  }
  return { xs, ys: xs, values };
}
