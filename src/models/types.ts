/**
 * The model contract used by the trainer and experiments.
 *
 * Models are pairs of pure functions over parameter trees. Model state that is not trained by
 * gradients (BatchNorm running statistics) is a separate tree, passed in and returned by
 * `apply`, so that it threads through `jit` and through the sharpness-aware step's `hasAux`
 * (updated once per step, from the clean pass).
 */
import type { numpy as np } from "@jax-js/jax";
import type { Params } from "../engine/tree.js";

/** A model's state that gradients do not train (BatchNorm running statistics): a parameter tree, `{ norms: [] }` when there is none. */
export type ModelState = Params;

/**
 * A model: a name and two pure functions, `init` (fresh parameters and state from a seed) and
 * `apply` (logits and the new state; consumes its arguments). {@link mlp} and {@link cnn} are
 * the bundled ones; {@link classificationLoss} turns one into a loss for the optimizers.
 *
 * @example
 * ```ts
 * const model = mlp({ sizes: [784, 256, 10] });
 * const { params, state } = model.init(0);
 * const [logits, state2] = model.apply(tree.ref(params), state, x, false); // consumes state and x
 * ```
 */
export interface Model<P extends Params = Params, S extends ModelState = ModelState> {
  /** Human-readable description, e.g. "mlp 784-256-10". */
  readonly name: string;
  /** Fresh parameters and model state from a seed (He/Glorot initialization). */
  init(seed: number): { params: P; state: S };
  /**
   * Logits for inputs `x` ([N, 784] for the image models) and the new model state. With
   * `train` true, BatchNorm uses batch statistics and updates its running statistics; with
   * false it uses the running statistics and returns the state unchanged. Consumes
   * `params`, `state` and `x`.
   */
  apply(params: P, state: S, x: np.Array, train: boolean): [np.Array, S];
}
