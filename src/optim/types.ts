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
 *
 * @example
 * ```ts
 * const halfEvery1000: Schedule = (count) => np.exp(count.astype(np.float32).mul(Math.log(0.5) / 1000)).mul(0.1);
 * ```
 */
export type Schedule = (count: np.Array) => np.Array;

/**
 * A constant or a schedule.
 *
 * @example
 * ```ts
 * const a: ScalarOrSchedule = 0.1;
 * const b: ScalarOrSchedule = cosineDecaySchedule({ initValue: 0.1, decaySteps: 1000 });
 * ```
 */
export type ScalarOrSchedule = number | Schedule;

/**
 * The optax contract with jax-js ownership: `init(params)` builds the state; `update(grads,
 * state, params?)` returns `[updates, newState]`, where updates are deltas to **add**
 * ({@link applyUpdates}). Both consume every array argument. {@link sgd}, {@link adam},
 * {@link adamw}, {@link clipByGlobalNorm} and {@link chain} make them; the sharpness-aware
 * optimizers wrap one.
 *
 * @example
 * ```ts
 * const scale = (k: number): GradientTransformation<{}> => ({
 *   init: (p) => (tree.dispose(p), {}),
 *   update: (g, s, p) => (p && tree.dispose(p), [tree.map((x: np.Array) => x.mul(k), g), s]),
 * });
 * ```
 */
export interface GradientTransformation<S = unknown> {
  /** Build the initial state. Consumes `params`. */
  init(params: Params): S;
  /** `[updates, newState]`. Consumes `grads`, `state` and `params`. */
  update(grads: Params, state: S, params?: Params): [Params, S];
}
