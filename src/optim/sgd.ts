/**
 * SGD with momentum, Nesterov and coupled weight decay — PyTorch's `torch.optim.SGD`
 * (dampening 0), as an optax gradient transformation.
 *
 *   d = g + wd·w
 *   buf_t = μ·buf_{t−1} + d          (buf_0 = 0, so the first step gives buf = d as in PyTorch)
 *   d = nesterov ? d + μ·buf_t : buf_t        (μ = 0: d unchanged, no buffer kept)
 *   update = −η(t)·d
 *
 * Defaults: momentum 0, nesterov false, weightDecay 0 (PyTorch's).
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import type { GradientTransformation, Params, ScalarOrSchedule } from "./types.js";
import { evalSchedule } from "./schedules.js";
import { checkNumber } from "./validate.js";
import { resolveOptions, type Descriptor } from "./hyper.js";
import { assertSameTree } from "../engine/tree.js";

/**
 * Options of {@link sgd}; see {@link sgdDescriptor} for the declared ranges.
 *
 * @example
 * ```ts
 * const o: SgdOptions = { learningRate: cosineDecaySchedule({ initValue: 0.1, decaySteps: 10_000 }), momentum: 0.9, nesterov: true };
 * const opt = sgd(o);
 * ```
 */
export interface SgdOptions {
  /** η, a number ≥ 0 or a schedule of the step count. Required. */
  learningRate: ScalarOrSchedule;
  /** μ ∈ [0, 1). Default 0. */
  momentum?: number;
  /** Nesterov momentum (needs momentum > 0). Default false. */
  nesterov?: boolean;
  /** Coupled L2 weight decay ≥ 0, added to the gradient. Default 0. */
  weightDecay?: number;
}

/** SGD's state (a tree of arrays, safe to pass through `jit`). */
export type SgdState = {
  /** Steps taken, 0-d int32. */
  count: np.Array;
  /** Momentum buffers (absent when momentum is 0). */
  momentum?: Params;
};

/** The learning rate as every base optimizer declares it (required; a number or a schedule). */
export const learningRateHyper = { type: "number", min: 0, schedule: true, spec: "lr", symbol: "η", doc: "learning rate η (a number ≥ 0 or a schedule)" } as const;

/**
 * SGD's hyperparameters, declared once (validation here; flags, specs and docs derive from it). The factory validates its options with it ({@link resolveOptions}); the
 * run registry derives flags, spec checks and docs from it.
 *
 * @example
 * ```ts
 * for (const [k, h] of Object.entries(sgdDescriptor.params)) console.log(k, h.default, h.doc);
 * ```
 */
export const sgdDescriptor = {
  name: "sgd",
  fn: "sgd",
  label: "SGD",
  paper: "PyTorch torch.optim.SGD",
  params: {
    learningRate: learningRateHyper,
    momentum: { type: "number", default: 0, min: 0, max: 1, maxOpen: true, symbol: "μ", doc: "momentum μ" },
    nesterov: { type: "boolean", default: false, doc: "Nesterov momentum (needs momentum > 0)" },
    weightDecay: { type: "number", default: 0, min: 0, doc: "coupled L2 weight decay, added to the gradient" },
  },
} as const satisfies Descriptor;

export function checkLearningRate(owner: string, lr: unknown): ScalarOrSchedule {
  if (typeof lr === "function") return lr as ScalarOrSchedule;
  return checkNumber(owner, "learningRate", lr, { lo: 0 });
}

/** Adds `wd·w` to each gradient. Consumes `grads` and `params`. */
export function addWeightDecay(owner: string, grads: Params, weightDecay: number, params: Params | undefined): Params {
  if (weightDecay === 0) {
    if (params) tree.dispose(params);
    return grads;
  }
  if (!params) throw new Error(`${owner}: weightDecay needs params; call update(grads, state, params)`);
  return tree.map((g: np.Array, w: np.Array) => g.add(w.mul(weightDecay)), grads, params);
}

/**
 * PyTorch-style SGD (`torch.optim.SGD`, dampening 0) as a gradient transformation:
 *
 *   d = g + wd·w;  buf = μ·buf + d (first step: buf = d);  d = nesterov ? d + μ·buf : buf;
 *   update = −η(t)·d
 *
 * Defaults: momentum 0, nesterov false, weightDecay 0; `learningRate` is required (a number or
 * a {@link Schedule}). Options are validated when it is built (`RangeError` naming the option).
 * `init` consumes `params`; `update` consumes `grads`, `state` and `params` (needed only with
 * weight decay) and returns updates to add with {@link applyUpdates}.
 *
 * @example
 * ```ts
 * const opt = sgd({ learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
 * let state = opt.init(tree.ref(params));
 * const [updates, next] = opt.update(grads, state, tree.ref(params));
 * params = applyUpdates(params, updates);
 * state = next;
 * ```
 */
export function sgd(options: SgdOptions): GradientTransformation<SgdState> {
  const { learningRate, momentum, nesterov, weightDecay } = resolveOptions(sgdDescriptor, options) as Required<SgdOptions>;
  const lr = checkLearningRate("sgd", learningRate);
  if (nesterov && momentum === 0) throw new RangeError("sgd: nesterov needs momentum > 0 (got momentum 0)");

  return {
    init(params) {
      const state: SgdState = { count: np.array(0, { dtype: np.int32 }) };
      if (momentum > 0) state.momentum = tree.map((w: np.Array) => np.zerosLike(w), params);
      else tree.dispose(params);
      return state;
    },
    update(grads, state, params) {
      if (state.momentum) assertSameTree("sgd", "gradients do not match the optimizer state", grads, state.momentum);
      if (params) assertSameTree("sgd", "gradients do not match the parameters", grads, params);
      const d = addWeightDecay("sgd", grads, weightDecay, params);
      const step = evalSchedule(lr, state.count.ref);
      const next: SgdState = { count: state.count.add(1) };
      let dir: Params;
      if (momentum > 0) {
        const buf = tree.map((b: np.Array, x: np.Array) => b.mul(momentum).add(x), state.momentum!, tree.ref(d));
        if (nesterov) dir = tree.map((x: np.Array, b: np.Array) => x.add(b.mul(momentum)), d, tree.ref(buf));
        else {
          tree.dispose(d);
          dir = tree.ref(buf);
        }
        next.momentum = buf;
      } else dir = d;
      const updates = tree.map((x: np.Array) => x.mul(typeof step === "number" ? -step : step.ref.neg()), dir);
      if (typeof step !== "number") step.dispose();
      return [updates, next];
    },
  };
}
