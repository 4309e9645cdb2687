import { test, before } from "node:test";
import assert from "node:assert/strict";
import { numpy as np, tree } from "@jax-js/jax";
import { adam, adamw, applyUpdates, type GradientTransformation } from "../../src/index.js";
import { assertClose, runTransformation as run, setup } from "../helpers.js";

before(setup);


// w = [1, 2], lr 0.1, β (0.9, 0.999), ε 1e-8; g1 = [0.5, -1], g2 = [1, 1].
test("adam: two steps by hand", () => {
  // step 1: m = 0.1 g = [0.05, -0.1]; v = 0.001 g² = [2.5e-4, 1e-3]; m̂ = g, v̂ = g²
  //         w1 = w − 0.1 g/(|g| + 1e-8) = [0.900000002, 2.099999999]
  // step 2: m = 0.9 m + 0.1 g2 = [0.145, 0.01]; v = 0.999 v + 0.001 = [1.24975e-3, 1.999e-3]
  //         bc1 = 1 − 0.9² = 0.19; bc2 = 1 − 0.999² = 1.999e-3
  //         w2 = w1 − 0.1 (m/bc1)/(√v/√bc2 + ε) = [0.8034818006, 2.0947368412]
  const [w1, w2] = run(adam({ learningRate: 0.1 }), [1, 2], [[0.5, -1], [1, 1]]);
  assertClose(w1, [0.900000002, 2.099999999], 1e-6);
  assertClose(w2, [0.8034818006, 2.0947368412], 1e-6);
});

test("adam: weight decay is L2 on the gradient (coupled)", () => {
  // g' = g + 0.1 w = [0.6, -0.8]; first step moves each coordinate by 0.1·sign(g'): [0.9, 2.1]
  const [w1] = run(adam({ learningRate: 0.1, weightDecay: 0.1 }), [1, 2], [[0.5, -1]]);
  assertClose(w1, [0.9000000017, 2.0999999988], 1e-6);
});

test("adamw: decoupled decay w ← w(1 − lr·wd) before the Adam step", () => {
  // step 1: w·(1 − 0.01) = [0.99, 1.98]; then −0.1·sign(g) → [0.890000002, 2.079999999]
  // step 2: w1·0.99 − 0.1 (m/bc1)/(√v/√bc2 + ε) = [0.7845818006, 2.0539368412]
  const [w1, w2] = run(adamw({ learningRate: 0.1, weightDecay: 0.1 }), [1, 2], [[0.5, -1], [1, 1]]);
  assertClose(w1, [0.890000002, 2.079999999], 1e-6);
  assertClose(w2, [0.7845818006, 2.0539368412], 1e-6);
});

test("adam: bias correction stays accurate after many steps (no np.power drift)", () => {
  // Constant gradient g: m̂ = g and v̂ = g² exactly at every t, so each step moves by lr·g/(|g|+ε).
  // 500 steps of lr 1e-3 with g = 1: w = 1 − 0.5 = 0.5.
  const grads = Array.from({ length: 500 }, () => [1]);
  const ws = run(adam({ learningRate: 1e-3 }), [1], grads);
  assertClose(ws[499], [0.5], 2e-4);
});

test("adam/adamw: bad options", () => {
  assert.throws(() => adam({ learningRate: 0.1, b1: 1 }), /adam: b1 must be a finite number in \[0, 1\) \(got 1\)/);
  assert.throws(() => adamw({ learningRate: 0.1, eps: 0 }), /adamw: eps must be a finite number > 0 \(got 0\)/);
  assert.throws(() => adamw({ learningRate: 0.1, weightDecay: -1 }), /adamw: weightDecay/);
});
