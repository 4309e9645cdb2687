import { test, before } from "node:test";
import assert from "node:assert/strict";
import { numpy as np, tree } from "@jax-js/jax";
import { applyUpdates, sgd } from "../../src/index.js";
import { assertClose, runTransformation as run, setup } from "../helpers.js";

before(setup);


test("sgd: plain step, w=[1,2], g=[0.5,-1], lr 0.1 → w − 0.1 g = [0.95, 2.1]", () => {
  assertClose(run(sgd({ learningRate: 0.1 }), [1, 2], [[0.5, -1]])[0], [0.95, 2.1]);
});

test("sgd: momentum 0.9 + weight decay 0.1, two steps (PyTorch buf_1 = d)", () => {
  // step 1: d = g + 0.1w = [0.6, -0.8]; buf = d; w1 = w − 0.1 d = [0.94, 2.08]
  // step 2: d = g + 0.1 w1 = [0.594, -0.792]; buf = 0.9[0.6,-0.8] + d = [1.134, -1.512]
  //         w2 = w1 − 0.1 buf = [0.8266, 2.2312]
  const [w1, w2] = run(sgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 0.1 }), [1, 2], [[0.5, -1], [0.5, -1]]);
  assertClose(w1, [0.94, 2.08]);
  assertClose(w2, [0.8266, 2.2312]);
});

test("sgd: nesterov momentum 0.9, two steps", () => {
  // step 1: buf = g = [0.5,-1]; d = g + 0.9 buf = [0.95, -1.9]; w1 = [0.905, 2.19]
  // step 2: buf = 0.9[0.5,-1] + g = [0.95,-1.9]; d = g + 0.9 buf = [1.355, -2.71]; w2 = [0.7695, 2.461]
  const [w1, w2] = run(sgd({ learningRate: 0.1, momentum: 0.9, nesterov: true }), [1, 2], [[0.5, -1], [0.5, -1]]);
  assertClose(w1, [0.905, 2.19]);
  assertClose(w2, [0.7695, 2.461]);
});

test("sgd: learning-rate schedule is read from the count in the state", () => {
  // η(t) = 0.1·(t+1): step 0 uses 0.1, step 1 uses 0.2. g = [1]: w = 1 − 0.1 − 0.2 = 0.7
  const opt = sgd({ learningRate: (c) => c.astype(np.float32).add(1).mul(0.1) });
  const [w1, w2] = run(opt, [1], [[1], [1]]);
  assertClose(w1, [0.9]);
  assertClose(w2, [0.7]);
});

test("sgd: weight decay without params is a clear error", () => {
  const opt = sgd({ learningRate: 0.1, weightDecay: 0.1 });
  const s = opt.init(np.array([1]));
  assert.throws(() => opt.update(np.array([1]), s), /sgd: weightDecay needs params/);
});

test("sgd: bad options are RangeErrors naming option, value and range", () => {
  assert.throws(() => sgd({ learningRate: -1 }), /sgd: learningRate must be a finite number ≥ 0 \(got -1\)/);
  assert.throws(() => sgd({ learningRate: NaN }), /learningRate.*got NaN/);
  assert.throws(() => sgd({ learningRate: 0.1, momentum: 1 }), /sgd: momentum must be a finite number in \[0, 1\) \(got 1\)/);
  assert.throws(() => sgd({ learningRate: 0.1, weightDecay: -0.1 }), /weightDecay.*got -0.1/);
  assert.throws(() => sgd({ learningRate: 0.1, nesterov: true }), /nesterov needs momentum > 0/);
  assert.throws(() => sgd({ learningRate: 0.1, momentun: 0.9 } as any), /unknown option "momentun"/);
  assert.throws(() => sgd({} as any), /learningRate.*got undefined/);
});
