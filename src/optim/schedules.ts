/**
 * Learning-rate schedules, optax style: functions of the step count (a 0-d int32 array kept in
 * the optimizer state), made of array math only so they trace under `jit` without host reads.
 * Every schedule consumes `count` and returns a 0-d float32 array.
 *
 * Powers are computed as `exp(k·log b)` because `np.power` is only ~1e-5 accurate here
 * (DESIGN §5).
 */
import "../engine/polyfills.js";
import { numpy as np } from "@jax-js/jax";
import type { Schedule, ScalarOrSchedule } from "./types.js";
import { checkNumber } from "./validate.js";

function asFloat(count: np.Array): np.Array {
  return count.astype(np.float32);
}

/** Evaluate a constant or a schedule at `count` (consumed); returns a 0-d array or a number. */
export function evalSchedule(s: ScalarOrSchedule, count: np.Array): number | np.Array {
  if (typeof s === "number") {
    count.dispose();
    return s;
  }
  return s(count);
}

/**
 * `η(t) = value` for every step (a finite number; validated). The schedule consumes `count`.
 *
 * @example
 * ```ts
 * const opt = sgd({ learningRate: constantSchedule(0.1) }); // the same as learningRate: 0.1
 * ```
 */
export function constantSchedule(value: number): Schedule {
  checkNumber("constantSchedule", "value", value);
  return (count) => asFloat(count).mul(0).add(value);
}

/**
 * Cosine decay (optax `cosine_decay_schedule`):
 * `η(t) = init · ((1 − α)·½(1 + cos(π·min(t, T)/T)) + α)`.
 *
 * @example cosineDecaySchedule({ initValue: 0.1, decaySteps: 1000 })
 */
export function cosineDecaySchedule({ initValue, decaySteps, alpha = 0 }: { initValue: number; decaySteps: number; alpha?: number }): Schedule {
  checkNumber("cosineDecaySchedule", "initValue", initValue);
  checkNumber("cosineDecaySchedule", "decaySteps", decaySteps, { lo: 1, integer: true });
  checkNumber("cosineDecaySchedule", "alpha", alpha, { lo: 0, hi: 1 });
  return (count) => {
    const t = np.minimum(asFloat(count), decaySteps);
    const cos = np.cos(t.mul(Math.PI / decaySteps)).add(1).mul(0.5);
    return cos.mul((1 - alpha) * initValue).add(alpha * initValue);
  };
}

/**
 * Step decay (PyTorch `StepLR`): `η(t) = init · γ^⌊t / stepSize⌋`.
 *
 * @example stepSchedule({ initValue: 0.1, stepSize: 1000, gamma: 0.1 })
 */
export function stepSchedule({ initValue, stepSize, gamma = 0.1 }: { initValue: number; stepSize: number; gamma?: number }): Schedule {
  checkNumber("stepSchedule", "initValue", initValue);
  checkNumber("stepSchedule", "stepSize", stepSize, { lo: 1, integer: true });
  checkNumber("stepSchedule", "gamma", gamma, { lo: 0, loOpen: true });
  const logGamma = Math.log(gamma);
  return (count) => {
    const k = np.floor(asFloat(count).mul(1 / stepSize));
    return np.exp(k.mul(logGamma)).mul(initValue);
  };
}

/**
 * Linear warmup from `initValue` to `peakValue` over `warmupSteps`, then `after(t − warmupSteps)`
 * (constant `peakValue` if `after` is omitted).
 *
 * @example linearWarmup({ peakValue: 0.1, warmupSteps: 100, after: cosineDecaySchedule({ initValue: 0.1, decaySteps: 900 }) })
 */
export function linearWarmup({ initValue = 0, peakValue, warmupSteps, after }: { initValue?: number; peakValue: number; warmupSteps: number; after?: Schedule }): Schedule {
  checkNumber("linearWarmup", "initValue", initValue);
  checkNumber("linearWarmup", "peakValue", peakValue);
  checkNumber("linearWarmup", "warmupSteps", warmupSteps, { lo: 1, integer: true });
  return (count) => {
    const t = asFloat(count);
    const warm = np.minimum(t.ref, warmupSteps).mul((peakValue - initValue) / warmupSteps).add(initValue);
    if (!after) {
      t.dispose();
      return warm;
    }
    const rest = after(np.maximum(t.ref.sub(warmupSteps), 0).astype(np.int32));
    return np.where(t.less(warmupSteps), warm, rest);
  };
}
