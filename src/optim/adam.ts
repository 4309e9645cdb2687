/**
 * Adam — PyTorch's `torch.optim.Adam` (weight decay coupled as L2 on the gradient), as an optax
 * gradient transformation. AdamW (adamw.ts) shares this core.
 *
 *   g = g + wd·w                                   (adam only; adamw decays w directly)
 *   m_t = β1·m + (1 − β1)·g,   v_t = β2·v + (1 − β2)·g²,   t = count + 1
 *   update = −η(t) · (m_t / (1 − β1^t)) / (sqrt(v_t) / sqrt(1 − β2^t) + ε)
 *
 * The bias corrections `1 − β^t` are computed as `−expm1(t·log β)`: `np.power` is ~1e-5
 * accurate on this engine and would make Adam drift ~1e-3 from PyTorch in six steps (DESIGN §5).
 *
 * Defaults: β1 0.9, β2 0.999, ε 1e-8, weightDecay 0 (PyTorch's).
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import type { GradientTransformation, Params, ScalarOrSchedule } from "./types.js";
import { evalSchedule } from "./schedules.js";
import { addWeightDecay, checkLearningRate, learningRateHyper } from "./sgd.js";
import { resolveOptions, type Descriptor } from "./hyper.js";
import { assertSameTree } from "../engine/tree.js";

/**
 * Options of {@link adam} and {@link adamw} (which differ in how weight decay acts, and its default).
 *
 * @example
 * ```ts
 * const o: AdamOptions = { learningRate: 1e-3, b2: 0.99, weightDecay: 1e-4 };
 * const opt = adam(o);
 * ```
 */
export interface AdamOptions {
  /** η, a number ≥ 0 or a schedule. Required. */
  learningRate: ScalarOrSchedule;
  /** β1 ∈ [0, 1). Default 0.9. */
  b1?: number;
  /** β2 ∈ [0, 1). Default 0.999. */
  b2?: number;
  /** ε > 0 added to the denominator. Default 1e-8. */
  eps?: number;
  /** Weight decay ≥ 0. Adam: coupled L2 (default 0). AdamW: decoupled (default 0.01). */
  weightDecay?: number;
}

/** The state of {@link adam} and {@link adamw}. */
export type AdamState = {
  /** Steps taken, 0-d int32. */
  count: np.Array;
  /** First moment m. */
  mu: Params;
  /** Second moment v. */
  nu: Params;
};

const adamParams = (weightDecay: number) =>
  ({
    learningRate: learningRateHyper,
    b1: { type: "number", default: 0.9, min: 0, max: 1, maxOpen: true, symbol: "β1", doc: "first-moment decay β1" },
    b2: { type: "number", default: 0.999, min: 0, max: 1, maxOpen: true, symbol: "β2", doc: "second-moment decay β2" },
    eps: { type: "number", default: 1e-8, min: 0, minOpen: true, doc: "ε added to the denominator" },
    weightDecay: { type: "number", default: weightDecay, min: 0, doc: weightDecay === 0 ? "coupled L2 weight decay, added to the gradient" : "decoupled weight decay: w ← w·(1 − η·wd)" },
  }) as const;

/**
 * Adam's hyperparameters, declared once. The factory validates its options with it ({@link resolveOptions}); the
 * run registry derives flags, spec checks and docs from it.
 *
 * @example
 * ```ts
 * for (const [k, h] of Object.entries(adamDescriptor.params)) console.log(k, h.default, h.doc);
 * ```
 */
export const adamDescriptor = { name: "adam", fn: "adam", label: "Adam", paper: "Kingma & Ba 2015; PyTorch torch.optim.Adam", params: adamParams(0) } as const satisfies Descriptor;
/**
 * AdamW's hyperparameters, declared once (weight decay decoupled, default 0.01). The factory validates its options with it ({@link resolveOptions}); the
 * run registry derives flags, spec checks and docs from it.
 *
 * @example
 * ```ts
 * for (const [k, h] of Object.entries(adamwDescriptor.params)) console.log(k, h.default, h.doc);
 * ```
 */
export const adamwDescriptor = { name: "adamw", fn: "adamw", label: "AdamW", paper: "Loshchilov & Hutter 2019; PyTorch torch.optim.AdamW", params: adamParams(0.01) } as const satisfies Descriptor;

/** `1 − β^t` for a 0-d float array t, accurate to float32 rounding. Consumes `t`. */
function biasCorrection(beta: number, t: np.Array): np.Array {
  return np.expm1(t.mul(Math.log(beta))).neg();
}

/** @internal The Adam core shared by `adam` and `adamw`. */
export function adamFamily(owner: "adam" | "adamw", options: AdamOptions, decoupled: boolean): GradientTransformation<AdamState> {
  const { learningRate, b1, b2, eps, weightDecay } = resolveOptions(decoupled ? adamwDescriptor : adamDescriptor, options) as Required<AdamOptions>;
  const lr = checkLearningRate(owner, learningRate);

  return {
    init(params) {
      const mu = tree.map((w: np.Array) => np.zerosLike(w), tree.ref(params));
      const nu = tree.map((w: np.Array) => np.zerosLike(w), params);
      return { count: np.array(0, { dtype: np.int32 }), mu, nu };
    },
    update(grads, state, params) {
      assertSameTree(owner, "gradients do not match the optimizer state", grads, state.mu);
      if (params) assertSameTree(owner, "gradients do not match the parameters", grads, params);
      let keep: Params | undefined;
      if (decoupled) {
        if (weightDecay > 0 && !params) throw new Error(`${owner}: weightDecay needs params; call update(grads, state, params)`);
        keep = weightDecay > 0 ? params : (params && tree.dispose(params), undefined);
      } else grads = addWeightDecay(owner, grads, weightDecay, params);

      const t = state.count.ref.add(1).astype(np.float32);
      const bc1 = biasCorrection(b1, t.ref);
      const bc2Sqrt = np.sqrt(biasCorrection(b2, t));
      const step = evalSchedule(lr, state.count.ref);
      const negStep = typeof step === "number" ? -step : step.ref.neg();

      const mu = tree.map((m: np.Array, g: np.Array) => m.mul(b1).add(g.mul(1 - b1)), state.mu, tree.ref(grads));
      const nu = tree.map((v: np.Array, g: np.Array) => v.mul(b2).add(np.square(g).mul(1 - b2)), state.nu, grads);
      let updates: Params = tree.map(
        (m: np.Array, v: np.Array) => m.div(bc1.ref).div(np.sqrt(v).div(bc2Sqrt.ref).add(eps)).mul(typeof negStep === "number" ? negStep : negStep.ref),
        tree.ref(mu),
        tree.ref(nu),
      );
      if (keep) {
        // Decoupled decay: w ← w·(1 − η·wd), i.e. an extra update −η·wd·w.
        updates = tree.map((u: np.Array, w: np.Array) => u.add(w.mul(typeof negStep === "number" ? negStep * weightDecay : negStep.ref.mul(weightDecay))), updates, keep);
      }
      bc1.dispose();
      bc2Sqrt.dispose();
      if (typeof step !== "number") step.dispose();
      if (typeof negStep !== "number") negStep.dispose();
      return [updates, { count: state.count.add(1), mu, nu }];
    },
  };
}

/**
 * PyTorch-style Adam (`torch.optim.Adam`; weight decay coupled as L2 on the gradient):
 *
 *   g = g + wd·w;  m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²;  t = count + 1
 *   update = −η(t) · (m/(1 − β1ᵗ)) / (√v/√(1 − β2ᵗ) + ε)
 *
 * Defaults: b1 0.9, b2 0.999, eps 1e-8, weightDecay 0; `learningRate` is required. `init`
 * consumes `params`; `update` consumes `grads`, `state` and `params` (needed only with weight
 * decay).
 *
 * @example
 * ```ts
 * const opt = adam({ learningRate: 1e-3 });
 * const samOpt = sam(adam({ learningRate: 1e-3, weightDecay: 1e-4 }), { rho: 0.05 });
 * ```
 */
export function adam(options: AdamOptions): GradientTransformation<AdamState> {
  return adamFamily("adam", options, false);
}
