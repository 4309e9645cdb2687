import { test, before } from "node:test";
import assert from "node:assert/strict";
import { jit, lax, numpy as np, random, tree } from "@jax-js/jax";
import { sam, sgd } from "../../src/index.js";
import { batchNorm, conv3x3, maxPool2 } from "../../src/models/layers.js";
import { mlp } from "../../src/models/mlp.js";
import { cnn } from "../../src/models/cnn.js";
import { classificationLoss, crossEntropy } from "../../src/models/loss.js";
import type { Model } from "../../src/models/types.js";
import { assertClose, flat, setup } from "../helpers.js";

before(setup);

test("conv3x3 (shifted matmuls, NHWC) equals lax.conv 'SAME' (NCHW)", () => {
  const x = random.normal(random.key(1), [2, 6, 5, 3]);
  const w = random.normal(random.key(2), [3, 3, 3, 4]);
  const b = np.array([0.1, -0.2, 0.3, 0]);
  const ours = conv3x3(x.ref, w.ref, b.ref);
  const theirs = lax.conv(x.transpose([0, 3, 1, 2]), w.transpose([3, 2, 0, 1]), [1, 1], "SAME").transpose([0, 2, 3, 1]).add(b);
  assertClose(flat(ours), flat(theirs), 1e-4, "conv");
});

test("maxPool2 takes the max of each 2×2 window", () => {
  // one 4×4 channel: windows [[0,1,4,5],[2,3,6,7],[8,9,12,13],[10,11,14,15]] → maxima 5, 7, 13, 15
  const x = np.arange(16).astype(np.float32).reshape([1, 4, 4, 1]);
  assertClose(flat(maxPool2(x)), [5, 7, 13, 15]);
});

test("batchNorm: train normalizes with batch stats and updates running stats (PyTorch rule)", () => {
  // x = [[1],[3]]: mean 2, biased var 1 → y = [−1, 1]·(1/√(1+1e-5))
  // running: mean 0.9·0 + 0.1·2 = 0.2; var 0.9·1 + 0.1·(unbiased 2) = 1.1
  const [y, s] = batchNorm(np.array([[1], [3]]), { scale: np.ones([1]), offset: np.zeros([1]) }, { mean: np.zeros([1]), var: np.ones([1]) }, true);
  assertClose(flat(y), [-1 / Math.sqrt(1 + 1e-5), 1 / Math.sqrt(1 + 1e-5)], 1e-6);
  assertClose(flat(s.mean), [0.2], 1e-7);
  assertClose(flat(s.var), [1.1], 1e-6);
  // eval: (x − 0.2)/√(1.1 + 1e-5), state returned unchanged
  const [ye, se] = batchNorm(np.array([[1.2]]), { scale: np.ones([1]), offset: np.zeros([1]) }, { mean: np.array([0.2]), var: np.array([1.1]) }, false);
  assertClose(flat(ye), [1 / Math.sqrt(1.1 + 1e-5)], 1e-6);
  assertClose(flat(se.mean), [0.2]);
});

test("initialization is seeded, He-scaled, and differs across seeds", () => {
  const m = mlp({ sizes: [784, 256, 10] });
  const a = m.init(0);
  const b = m.init(0);
  const c = m.init(1);
  const w0 = flat(a.params.layers[0].w.ref);
  assert.deepEqual(w0, flat(b.params.layers[0].w.ref));
  assert.notDeepEqual(w0.slice(0, 10), flat(c.params.layers[0].w.ref).slice(0, 10));
  const std = Math.sqrt(w0.reduce((s, v) => s + v * v, 0) / w0.length);
  assert.ok(Math.abs(std - Math.sqrt(2 / 784)) < 0.002, `He std ${std} vs ${Math.sqrt(2 / 784)}`);
  const out = flat(a.params.layers[1].w.ref);
  const lim = Math.sqrt(6 / (256 + 10));
  assert.ok(out.every((v) => Math.abs(v) <= lim) && Math.max(...out.map(Math.abs)) > 0.9 * lim, "Glorot uniform bounds");
  tree.dispose([a, b, c]);
});

test("mlp and cnn forward: logits [N, 10], finite cross-entropy near log 10 at init", () => {
  for (const model of [mlp({ sizes: [784, 32, 10] }), cnn({ channels: [4, 8] }), cnn({ channels: [4, 8], batchNorm: true })] as Model<any, any>[]) {
    const { params, state } = model.init(0);
    const x = random.uniform(random.key(3), [8, 784]);
    const [logits, s2] = model.apply(params, state, x, true);
    assert.deepEqual(logits.shape, [8, 10], model.name);
    const l = flat(crossEntropy(logits, np.array([0, 1, 2, 3, 4, 5, 6, 7], { dtype: np.int32 })))[0];
    assert.ok(Number.isFinite(l) && l > 1 && l < 5, `${model.name}: initial loss ${l}`);
    tree.dispose(s2);
  }
});

test("BatchNorm statistics are updated once per SAM step, from the clean pass", () => {
  const model = mlp({ sizes: [784, 16, 10], batchNorm: true });
  const loss = classificationLoss(model);
  const opt = sam(sgd({ learningRate: 0.1 }), { rho: 0.5 });
  const { params, state } = model.init(0);
  const x = random.uniform(random.key(4), [16, 784]);
  const y = np.array(Array.from({ length: 16 }, (_, i) => i % 10), { dtype: np.int32 });
  // Expected: one forward at the clean weights from the initial running stats.
  const [, clean] = model.apply(tree.ref(params), tree.ref(state), x.ref, true);
  const st = opt.init(tree.ref(params));
  const step = jit((p: any, s: any, b: any) => opt.step(loss, p, s, b, { hasAux: true }));
  const out = step(params, st, { x, y, state }) as any;
  const got = flat(out.aux.norms[0].mean);
  assertClose(got, flat(clean.norms[0].mean.ref), 1e-6, "running mean");
  // and it moved away from 0 exactly once: 0.1·batch mean (not 0.19 = two updates)
  assert.ok(got.some((v) => Math.abs(v) > 1e-3));
  tree.dispose([out.params, out.state, out.loss, out.finite, out.aux.norms[0].var, clean]);
  step.dispose();
});

test("model options are validated", () => {
  assert.throws(() => mlp({ sizes: [784] }), /mlp: sizes must list at least 2 widths/);
  assert.throws(() => mlp({ sizes: [784, 0, 10] }), /mlp: sizes\[1\] must be an integer ≥ 1 \(got 0\)/);
  assert.throws(() => cnn({ side: 30 }), /cnn: side must be divisible by 4 \(got 30\)/);
});
