/**
 * AdamW — PyTorch's `torch.optim.AdamW`: decoupled weight decay `w ← w·(1 − η·wd)` applied
 * before the Adam step (Loshchilov & Hutter). Shares the Adam core (adam.ts).
 *
 * Defaults: β1 0.9, β2 0.999, ε 1e-8, weightDecay 0.01 (PyTorch's).
 */
import type { GradientTransformation } from "./types.js";
import { adamFamily, type AdamOptions, type AdamState } from "./adam.js";

export type AdamwState = AdamState;

/**
 * @example const opt = adamw({ learningRate: 1e-3, weightDecay: 0.05 });
 */
export function adamw(options: AdamOptions): GradientTransformation<AdamwState> {
  return adamFamily("adamw", options, true);
}
