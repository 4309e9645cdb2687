/**
 * The anatomy of a minibatch gradient (003 §4, Fig 1, Thm 1): with G = ∇L(w) the full gradient
 * and g_B a minibatch gradient,
 *
 *   P g_B = (⟨g_B, G⟩/‖G‖²) G      the full-gradient component;  g_B − P g_B the noise component
 *   cos(g_B, G), ‖P g_B‖, ‖g_B − P g_B‖ per batch
 *
 * and how well F-SAM's EMA m_t = λ m_{t−1} + (1 − λ) g_t (m_1 = g_1) tracks G: the relative error
 * ‖m_t − G‖/‖G‖ along the stream of batches, for each λ. For i.i.d. noise of total variance s²
 * around a fixed G, the stationary squared error is s² (1 − λ)/(1 + λ) (003 Thm 1's variance
 * reduction), which `emaTracking` lets one check.
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import type { Params } from "../engine/tree.js";
import { EPS, hostScalar, treeDot, treeNorm, treeSub } from "../engine/tree.js";

export type BatchAnatomy = { cosine: number; fullComponentNorm: number; noiseComponentNorm: number; batchNorm: number };

const num = hostScalar;

/** Per-batch decomposition against `full`. Consumes `batchGrads`; borrows `full`. */
export async function decompose(batchGrads: Params[], full: Params): Promise<BatchAnatomy[]> {
  const fn = await num(treeNorm(tree.ref(full)));
  const out: BatchAnatomy[] = [];
  for (const g of batchGrads) {
    const dot = await num(treeDot(tree.ref(g), tree.ref(full)));
    const gn = await num(treeNorm(tree.ref(g)));
    const along = Math.abs(dot) / Math.max(fn, 1e-30);
    const coef = dot / Math.max(fn * fn, 1e-30);
    const noise = await num(treeNorm(tree.map((x: np.Array, G: np.Array) => x.sub(G.mul(coef)), g, tree.ref(full)) as Params));
    out.push({ cosine: dot / Math.max(gn * fn, 1e-30), fullComponentNorm: along, noiseComponentNorm: noise, batchNorm: gn });
  }
  return out;
}

/**
 * Relative error ‖m_t − G‖/‖G‖ of the EMA after each gradient of the stream, per λ. Borrows
 * `stream` and `full`.
 */
export async function emaTracking(stream: Params[], full: Params, lambdas: number[]): Promise<Record<string, number[]>> {
  const fn = await num(treeNorm(tree.ref(full)).add(EPS));
  const out: Record<string, number[]> = {};
  for (const lambda of lambdas) {
    let m: Params | null = null;
    const errs: number[] = [];
    for (const g of stream) {
      m = m === null ? (tree.ref(g) as Params) : (tree.map((a: np.Array, x: np.Array) => a.mul(lambda).add(x.mul(1 - lambda)), m, tree.ref(g)) as Params);
      errs.push((await num(treeNorm(treeSub(tree.ref(m), tree.ref(full))))) / fn);
    }
    if (m) tree.dispose(m);
    out[String(lambda)] = errs;
  }
  return out;
}
