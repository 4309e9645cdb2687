/**
 * The reparameterization objection (Dinh et al. 2017; seed 000; ASAM): a ReLU network computes
 * the same function after scaling layer k by a > 0 and layer k + 1 by 1/a (positive
 * homogeneity), yet plain sharpness and λ_max change. Adaptive sharpness (T = |w|, η = 0) does
 * not. `rescaleMlp` makes the equivalent network; `reparameterizationCheck` measures both.
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import type { MlpParams } from "../models/mlp.js";
import { mSharpness, type SharpnessOptions } from "./m-sharpness.js";
import { topEigenvalue, type ScalarLoss } from "./hessian.js";

/**
 * The same function with layer k (weights and bias) × a and layer k+1's weights × 1/a. Borrows
 * `params`; returns a new tree. Needs a ReLU MLP without BatchNorm (k < number of layers − 1).
 */
export function rescaleMlp(params: MlpParams, k: number, a: number): MlpParams {
  if (!(a > 0)) throw new RangeError(`rescaleMlp: a must be > 0 (got ${a})`);
  if (!(k >= 0 && k < params.layers.length - 1)) throw new RangeError(`rescaleMlp: layer must be in [0, ${params.layers.length - 2}] (got ${k})`);
  if (params.norms.length) throw new RangeError("rescaleMlp: BatchNorm layers break the rescaling symmetry");
  return {
    layers: params.layers.map((l, i) => ({
      w: i === k ? l.w.ref.mul(a) : i === k + 1 ? l.w.ref.mul(1 / a) : l.w.ref,
      b: i === k ? l.b.ref.mul(a) : l.b.ref,
    })),
    norms: [],
  };
}

export type ReparamRow = { measure: string; original: number; rescaled: number; ratio: number };

export type ReparamMeasureOptions = { rho?: number; adaptiveRho?: number; steps?: number };

/**
 * The measures the objection is about, as one function of the parameters (borrowed): loss,
 * ℓ2 m-sharpness (ρ, default 0.05), adaptive m-sharpness (ρ default 0.5, η 0) and λ_max (50
 * power iterations), in this order, on `batches` (borrowed; λ_max and the loss on the first).
 */
export function reparamMeasures<B>(loss: ScalarLoss<B>, batches: B[], { rho = 0.05, adaptiveRho = 0.5, steps = 20 }: ReparamMeasureOptions = {}): (p: MlpParams) => Promise<{ measure: string; value: number }[]> {
  const measures: [string, (p: MlpParams) => Promise<number>][] = [
    ["loss", async (p) => (await (loss(tree.ref(p), tree.ref(batches[0] as any)) as np.Array).data())[0]],
    [`ℓ2 sharpness (ρ ${rho})`, async (p) => (await mSharpness(loss, p, batches, { rho, steps } as SharpnessOptions)).sharpness],
    [`adaptive sharpness (ρ ${adaptiveRho}, η 0)`, async (p) => (await mSharpness(loss, p, batches, { rho: adaptiveRho, steps, ball: "adaptive", eta: 0 })).sharpness],
    ["λ_max", async (p) => (await topEigenvalue(loss, p, batches[0], { iterations: 50 })).lambdaMax],
  ];
  return async (p) => {
    const out: { measure: string; value: number }[] = [];
    for (const [measure, f] of measures) out.push({ measure, value: await f(p) });
    return out;
  };
}

/** Loss, ℓ2 m-sharpness, adaptive m-sharpness (η = 0) and λ_max before and after `rescaleMlp`. */
export async function reparameterizationCheck<B>(loss: ScalarLoss<B>, params: MlpParams, batches: B[], { layer = 0, a = 5, ...opts }: { layer?: number; a?: number } & ReparamMeasureOptions = {}): Promise<ReparamRow[]> {
  const measure = reparamMeasures(loss, batches, opts);
  const scaled = rescaleMlp(params, layer, a);
  try {
    const original = await measure(params);
    const rescaled = await measure(scaled);
    return original.map((o, i) => ({ measure: o.measure, original: o.value, rescaled: rescaled[i].value, ratio: rescaled[i].value / o.value }));
  } finally {
    tree.dispose(scaled);
  }
}
