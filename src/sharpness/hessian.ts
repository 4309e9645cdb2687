/**
 * The Hessian of a loss at w, through Hessian-vector products only.
 *
 *   H v = d/dt ∇L(w + t v) |_{t=0}   — forward-over-reverse: `linearize` of the gradient once at
 *                                    w, then each H v is one call of the linear map (DESIGN §5:
 *                                    ~40 ms per HVP on the MLP; grad-of-grad is wrong here)
 *   λ_max: power iteration v ← H v / ‖H v‖, λ = vᵀ H v (the eigenvalue of largest magnitude)
 *   tr(H): Hutchinson, E[zᵀ H z] with Rademacher z, mean ± 95% CI over samples
 *
 * References: 003 §2 and seed 000 (sharpness as λ_max); Hutchinson (1989).
 */
import "../engine/polyfills.js";
import { grad, linearize, numpy as np, random, tree } from "@jax-js/jax";
import type { Params } from "../engine/tree.js";
import { EPS, treeDot, treeNorm, treeScale } from "../engine/tree.js";
import { ci95, mean } from "../report/stats.js";

export type ScalarLoss<B = any> = (params: any, batch: B) => np.Array;

/** An HVP operator at fixed (w, batch): `apply(v)` consumes v; `dispose()` frees the linearization. */
export type HvpOperator = { apply(v: Params): Params; dispose(): void };

/** Linearize ∇L at `params` on `batch` (both borrowed: pass refs you own). */
export function hvpOperator<B>(loss: ScalarLoss<B>, params: Params, batch: B): HvpOperator {
  const g = (p: Params) => grad(loss)(p, tree.ref(batch as any)) as any;
  const [primal, lin] = linearize(g, [tree.ref(params)]) as [Params, any];
  tree.dispose(primal);
  return { apply: (v) => lin(v) as Params, dispose: () => lin.dispose() };
}

/** A random tree like `like` (borrowed): Gaussian (`normal`) or Rademacher ±1 (`rademacher`). */
export function randomLike(like: Params, key: np.Array, kind: "normal" | "rademacher"): Params {
  const [leaves, def] = tree.flatten(like) as [np.Array[], any];
  const keys = random.split(key, leaves.length);
  const out = leaves.map((x, i) => {
    const k = keys.ref.slice(i);
    return kind === "normal" ? random.normal(k, x.shape).astype(x.dtype) : random.rademacher(k, { shape: x.shape }).astype(x.dtype);
  });
  keys.dispose();
  return tree.unflatten(def, out) as Params;
}

export type EigenResult = { lambdaMax: number; iterations: number; relativeChange: number };

/**
 * Largest-magnitude Hessian eigenvalue by power iteration (stops when λ changes by < `tol`
 * relatively, or after `iterations`). Borrows `params` and `batch`.
 */
export async function topEigenvalue<B>(loss: ScalarLoss<B>, params: Params, batch: B, { iterations = 100, tol = 1e-4, seed = 0 } = {}): Promise<EigenResult> {
  const op = hvpOperator(loss, params, batch);
  let v = randomLike(params, random.key(seed), "normal");
  v = treeScale(v, np.reciprocal(treeNorm(tree.ref(v)).add(EPS)));
  let lambda = 0;
  let change = Infinity;
  let it = 0;
  try {
    for (it = 1; it <= iterations; it++) {
      const hv = op.apply(tree.ref(v));
      const next = (await treeDot(tree.ref(v), tree.ref(hv)).data())[0];
      tree.dispose(v);
      v = treeScale(hv, np.reciprocal(treeNorm(tree.ref(hv)).add(EPS)));
      change = Math.abs(next - lambda) / Math.max(Math.abs(next), 1e-12);
      lambda = next;
      if (it > 1 && change < tol) break;
    }
  } finally {
    tree.dispose(v);
    op.dispose();
  }
  return { lambdaMax: lambda, iterations: Math.min(it, iterations), relativeChange: change };
}

export type TraceResult = { trace: number; ci95: number; samples: number };

/** Hutchinson's trace estimate with `samples` Rademacher vectors. Borrows `params` and `batch`. */
export async function hessianTrace<B>(loss: ScalarLoss<B>, params: Params, batch: B, { samples = 50, seed = 0 } = {}): Promise<TraceResult> {
  const op = hvpOperator(loss, params, batch);
  const keys = random.split(random.key(seed), samples);
  const vals: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      const z = randomLike(params, keys.ref.slice(i), "rademacher");
      const hz = op.apply(tree.ref(z));
      vals.push((await treeDot(z, hz).data())[0]);
    }
  } finally {
    keys.dispose();
    op.dispose();
  }
  return { trace: mean(vals), ci95: ci95(vals), samples };
}
