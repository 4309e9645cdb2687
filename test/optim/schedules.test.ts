import { test, before } from "node:test";
import assert from "node:assert/strict";
import { jit, numpy as np } from "@jax-js/jax";
import { chain, clipByGlobalNorm, constantSchedule, cosineDecaySchedule, linearWarmup, sgd, stepSchedule, applyUpdates } from "../../src/index.js";
import { assertClose, flat, setup } from "../helpers.js";

before(setup);

const at = (s: (c: np.Array) => np.Array, t: number) => flat(s(np.array(t, { dtype: np.int32 })))[0];

test("schedules: values by hand", () => {
  assertClose(at(constantSchedule(0.3), 7), 0.3);
  // cosine: 0.1·½(1 + cos(π·50/100)) = 0.05; past the end it stays at α·init
  const cos = cosineDecaySchedule({ initValue: 0.1, decaySteps: 100, alpha: 0.1 });
  assertClose(at(cos, 0), 0.1);
  assertClose(at(cos, 50), 0.1 * (0.9 * 0.5 + 0.1));
  assertClose(at(cos, 500), 0.01);
  // step: 0.1·0.5^⌊t/10⌋
  const st = stepSchedule({ initValue: 0.1, stepSize: 10, gamma: 0.5 });
  assertClose(at(st, 9), 0.1);
  assertClose(at(st, 10), 0.05);
  assertClose(at(st, 35), 0.0125);
  // warmup 0 → 0.2 over 4 steps, then constant
  const wu = linearWarmup({ peakValue: 0.2, warmupSteps: 4 });
  assertClose([at(wu, 0), at(wu, 2), at(wu, 4), at(wu, 9)], [0, 0.1, 0.2, 0.2]);
  const wc = linearWarmup({ peakValue: 0.2, warmupSteps: 4, after: cosineDecaySchedule({ initValue: 0.2, decaySteps: 10 }) });
  assertClose([at(wc, 4), at(wc, 9), at(wc, 14)], [0.2, 0.1, 0]);
});

test("schedules: evaluate under jit from the count (no recompilation per value)", () => {
  const cos = cosineDecaySchedule({ initValue: 1, decaySteps: 4 });
  const f = jit((c: np.Array) => cos(c));
  assertClose([0, 1, 2, 3, 4].map((t) => flat(f(np.array(t, { dtype: np.int32 })))[0]), [1, 0.853553, 0.5, 0.146447, 0]);
  f.dispose();
});

test("schedules: bad options", () => {
  assert.throws(() => cosineDecaySchedule({ initValue: 0.1, decaySteps: 0 }), /decaySteps must be an integer ≥ 1 \(got 0\)/);
  assert.throws(() => stepSchedule({ initValue: 0.1, stepSize: 10, gamma: 0 }), /gamma must be a finite number > 0/);
});

test("clipByGlobalNorm: scales to maxNorm only above it; chains with sgd", () => {
  // g = [3, 4], ‖g‖ = 5 → clipped to norm 1: [0.6, 0.8]; sgd lr 1: w = [1,1] − [0.6,0.8]
  const opt = chain(clipByGlobalNorm(1), sgd({ learningRate: 1 }));
  const s = opt.init(np.array([1, 1]));
  const [u, s2] = opt.update(np.array([3, 4]), s, np.array([1, 1]));
  assertClose(flat(applyUpdates(np.array([1, 1]), u)), [0.4, 0.2]);
  const [u2] = opt.update(np.array([0.3, 0.4]), s2, np.array([1, 1]));
  assertClose(flat(u2 as np.Array), [-0.3, -0.4]);
  assert.throws(() => clipByGlobalNorm(0), /maxNorm must be a finite number > 0/);
});
