import "../engine/polyfills.js";
import { nn, numpy as np } from "@jax-js/jax";
import type { Model, ModelState } from "./types.js";
import type { Params } from "../engine/tree.js";

/**
 * A classification batch: inputs, int32 labels, and the model state (BatchNorm statistics).
 *
 * @example
 * ```ts
 * const batch: ClassBatch<MlpState> = { ...take(train, idx), state: modelState };
 * ```
 */
export type ClassBatch<S extends ModelState = ModelState> = {
  /** Inputs, [N, features]. */
  x: np.Array;
  /** int32 class labels, [N]. */
  y: np.Array;
  /** The model state going in (it comes back as the loss's aux). */
  state: S;
};

/**
 * Mean softmax cross-entropy of logits [N, K] against int32 labels [N], a 0-d array:
 * L = −(1/N) Σᵢ log softmax(zᵢ)_{yᵢ}. Consumes both.
 *
 * @example
 * ```ts
 * const loss = (p, b) => crossEntropy(dense(b.x, p.w, p.b), b.y);
 * ```
 */
export function crossEntropy(logits: np.Array, labels: np.Array): np.Array {
  const k = logits.shape[logits.ndim - 1];
  const lp = nn.logSoftmax(logits, -1);
  return np.mean(np.sum(lp.mul(nn.oneHot(labels, k).astype(np.float32)), -1)).neg();
}

/**
 * Softmax cross-entropy of logits [N, K] against int32 labels [N], one value per example ([N]).
 * Consumes both. Its mean is `crossEntropy`'s value: lᵢ = −log softmax(zᵢ)_{yᵢ}.
 *
 * @example
 * ```ts
 * const perExample = crossEntropyPerExample(logits, labels); // [N]
 * ```
 */
export function crossEntropyPerExample(logits: np.Array, labels: np.Array): np.Array {
  const k = logits.shape[logits.ndim - 1];
  const lp = nn.logSoftmax(logits, -1);
  return np.sum(lp.mul(nn.oneHot(labels, k).astype(np.float32)), -1).neg();
}

/**
 * The training loss of a model for `step(..., { hasAux: true })`:
 * `(params, {x, y, state}) => [mean cross-entropy, newState]`. The model state rides in the
 * batch so it is an argument (closures are frozen under jit) and comes back as the aux of the
 * clean pass. The returned function consumes its arguments, like every loss.
 *
 * @example
 * ```ts
 * const loss = classificationLoss(model);
 * const out = opt.step(loss, params, optState, { x, y, state: modelState }, { hasAux: true });
 * modelState = out.aux; // BatchNorm statistics from the clean pass
 * ```
 */
export function classificationLoss<P extends Params, S extends ModelState>(model: Model<P, S>) {
  return (params: P, batch: ClassBatch<S>): [np.Array, S] => {
    const [logits, state] = model.apply(params, batch.state, batch.x, true);
    return [crossEntropy(logits, batch.y), state];
  };
}

/**
 * The per-example counterpart of `classificationLoss` (for `StepOptions.perExampleLoss`, read by
 * ESAM's data selection): `(params, {x, y, state}) => [[N] cross-entropies, newState]`, the same
 * forward pass in training mode (BatchNorm on the batch's statistics, so an example's loss
 * depends on the rest of the batch).
 *
 * @example
 * const step = phasedStep(opt, classificationLoss(model), { hasAux: true, perExampleLoss: classificationLossPerExample(model) });
 */
export function classificationLossPerExample<P extends Params, S extends ModelState>(model: Model<P, S>) {
  return (params: P, batch: ClassBatch<S>): [np.Array, S] => {
    const [logits, state] = model.apply(params, batch.state, batch.x, true);
    return [crossEntropyPerExample(logits, batch.y), state];
  };
}

/**
 * `classificationLoss` with the logits (for `StepOptions.lossWithLogits`, read by the variants
 * with a term on the logits: SAF, MESA): `(params, {x, y, state}) => [mean cross-entropy, logits
 * [N, K], newState]` from the same forward pass in training mode, so the loss and its gradient
 * are `classificationLoss`'s.
 *
 * @example
 * const step = phasedStep(opt, classificationLoss(model), { hasAux: true, lossWithLogits: classificationLossWithLogits(model) });
 */
export function classificationLossWithLogits<P extends Params, S extends ModelState>(model: Model<P, S>) {
  return (params: P, batch: ClassBatch<S>): [np.Array, np.Array, S] => {
    const [logits, state] = model.apply(params, batch.state, batch.x, true);
    return [crossEntropy(logits.ref, batch.y), logits, state];
  };
}
