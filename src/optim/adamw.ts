/**
 * AdamW — PyTorch's `torch.optim.AdamW`: decoupled weight decay `w ← w·(1 − η·wd)` applied
 * before the Adam step (Loshchilov & Hutter). Shares the Adam core (adam.ts).
 *
 * Defaults: β1 0.9, β2 0.999, ε 1e-8, weightDecay 0.01 (PyTorch's).
 */
import type { GradientTransformation } from "./types.js";
import { adamFamily, type AdamOptions, type AdamState } from "./adam.js";

/** AdamW's state: the same as Adam's. */
export type AdamwState = AdamState;

/**
 * PyTorch-style AdamW (`torch.optim.AdamW`): decoupled weight decay, w ← w·(1 − η(t)·wd),
 * before the Adam step of {@link adam} (which then has no L2 term). Defaults: b1 0.9, b2 0.999,
 * eps 1e-8, weightDecay 0.01; `learningRate` is required. `update` needs `params` (for the
 * decay) and consumes `grads`, `state` and `params`.
 *
 * @example
 * ```ts
 * const opt = adamw({ learningRate: 1e-3, weightDecay: 0.05 });
 * let state = opt.init(tree.ref(params));
 * ```
 */
export function adamw(options: AdamOptions): GradientTransformation<AdamwState> {
  return adamFamily("adamw", options, true);
}
