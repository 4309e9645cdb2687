/**
 * The optax contract, with jax-js ownership.
 *
 * A `GradientTransformation` is a pair of pure functions. `init(params)` builds the state;
 * `update(grads, state, params?)` returns `[updates, newState]`, where updates are deltas to
 * **add** to the parameters (`applyUpdates`). Both consume every array argument; pass
 * `tree.ref(x)` to keep one. States are plain trees of arrays, safe to pass through `jit`.
 */
import type { numpy as np } from "@jax-js/jax";
import type { Params } from "../engine/tree.js";

export type { Params };

/**
 * A learning-rate (or any step-indexed) schedule: maps the step count (0-d int32 array,
 * consumed) to a 0-d float array. Pure array math, so it runs under `jit` with no host reads.
 */
export type Schedule = (count: np.Array) => np.Array;

/** A constant or a schedule. */
export type ScalarOrSchedule = number | Schedule;

export interface GradientTransformation<S = unknown> {
  /** Build the initial state. Consumes `params`. */
  init(params: Params): S;
  /** `[updates, newState]`. Consumes `grads`, `state` and `params`. */
  update(grads: Params, state: S, params?: Params): [Params, S];
}
