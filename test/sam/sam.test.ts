import { test, before } from "node:test";
import assert from "node:assert/strict";
import { numpy as np, tree } from "@jax-js/jax";
import { asam, fsam, sam, sgd, type SharpnessAwareOptimizer } from "../../src/index.js";
import { assertClose, flat, runSteps, setup } from "../helpers.js";

before(setup);

/** L(w) = Σ a_i w_i² (the batch is ignored). */
const quad = (a: number[]) => (w: np.Array, _b: unknown) => np.sum(np.square(w).mul(np.array(a)));
const noBatch = () => ({ z: np.zeros([1]) });
const steps = (opt: SharpnessAwareOptimizer<any>, loss: any, w0: number[], n: number, batch?: () => any) => runSteps(opt, loss, w0, n, { batch });

test("sam: DESIGN §7 step — w=[1,2], L=Σw², ρ 0.05, SGD lr 0.1", () => {
  // g = [2,4], ‖g‖ = √20; ε = 0.05 g/‖g‖ = [0.022361, 0.044721]
  // g_s = 2(w+ε) = [2.044721, 4.089443]; w' = w − 0.1 g_s = [0.795528, 1.591056]
  const [w1] = steps(sam(sgd({ learningRate: 0.1 }), { rho: 0.05 }), quad([1, 1]), [1, 2], 1);
  assertClose(w1, [0.795528, 1.591056], 1e-6);
});

test("sam: returns the loss at the unperturbed w", () => {
  const opt = sam(sgd({ learningRate: 0.1 }), { rho: 0.05 });
  const s = opt.init(np.array([1, 2]));
  const out = opt.step(quad([1, 1]), np.array([1, 2]), s, noBatch());
  assertClose(flat(out.loss), 5); // 1² + 2²
  assert.equal(flat(out.finite)[0], 1);
  tree.dispose([out.params, out.state]);
});

test("sam: auxFrom — the aux of the clean pass (default) or of the perturbed pass at w + ε", () => {
  // L = Σw², aux = w; w = [1, 2], ρ 0.05: ε = 0.05·[2, 4]/√20 = [0.022361, 0.044721], so the
  // perturbed pass's aux is w + ε = [1.022361, 2.044721]; the update is the same either way.
  // aux is computed from w (jax-js hands a tracer back when the aux is the input itself)
  const lossAux = (w: np.Array, _b: unknown): [np.Array, np.Array] => [np.sum(np.square(w.ref)), w.mul(1)];
  for (const [auxFrom, want] of [["clean", [1, 2]], ["perturbed", [1.022361, 2.044721]]] as const) {
    const opt = sam(sgd({ learningRate: 0.1 }), { rho: 0.05 });
    const s = opt.init(np.array([1, 2]));
    const out = opt.step(lossAux, np.array([1, 2]), s, noBatch(), { hasAux: true, auxFrom });
    assertClose(flat(out.aux!), [...want], 1e-6);
    assertClose(flat(out.params), [0.795528, 1.591056], 1e-6);
    tree.dispose([out.state, out.loss, out.finite]);
  }
});

test("sam: unnormalized (normalize: false) — ε = ρ g", () => {
  // ε = 0.05·[2,4] = [0.1, 0.2]; g_s = [2.2, 4.4]; w' = [0.78, 1.56]
  const [w1] = steps(sam(sgd({ learningRate: 0.1 }), { rho: 0.05, normalize: false }), quad([1, 1]), [1, 2], 1);
  assertClose(w1, [0.78, 1.56], 1e-6);
});

test("sam: p = ∞ — ε = ρ sign(g)", () => {
  // ε = [0.05, 0.05]; g_s = 2·[1.05, 2.05] = [2.1, 4.1]; w' = [0.79, 1.59]
  const [w1] = steps(sam(sgd({ learningRate: 0.1 }), { rho: 0.05, p: Infinity }), quad([1, 1]), [1, 2], 1);
  assertClose(w1, [0.79, 1.59], 1e-6);
});

test("sam: m-sharpness, m = 1 on a batch of 2 (one sub-batch has zero gradient)", () => {
  // L_B = mean_i ½(x_i·w − y_i)², X = [[1,0],[1,2]], y = [1,−1], w = [1,2], ρ 0.05, lr 0.1
  // S_0: residual 0 → g_0 = 0, ε_0 = 0 (finite thanks to eps), g_s0 = 0
  // S_1: residual 6 → g_1 = [6,12], ε_1 = 0.05·[6,12]/√180 = [0.022361, 0.044721]
  //      g_s1 = (x·(w+ε) − y)·x = 6.111803·[1,2] = [6.111803, 12.223607]
  // g_s = mean = [3.055902, 6.111803]; w' = [0.694410, 1.388820]
  // (full-batch SAM would give [0.693292, 1.388820])
  const loss = (w: np.Array, b: { x: np.Array; y: np.Array }) => np.mean(np.square(np.matmul(b.x, w).sub(b.y))).mul(0.5);
  const batch = () => ({ x: np.array([[1, 0], [1, 2]]), y: np.array([1, -1]) });
  const [m1] = steps(sam(sgd({ learningRate: 0.1 }), { rho: 0.05, m: 1 }), loss, [1, 2], 1, batch);
  assertClose(m1, [0.6944098, 1.3888197], 1e-6);
  const [full] = steps(sam(sgd({ learningRate: 0.1 }), { rho: 0.05 }), loss, [1, 2], 1, batch);
  assertClose(full, [0.6932918, 1.3888197], 1e-6);
});

test("sam: m must divide the batch", () => {
  const opt = sam(sgd({ learningRate: 0.1 }), { m: 3 });
  const s = opt.init(np.array([1, 2]));
  assert.throws(() => opt.step((w: np.Array, b: any) => np.sum(w).add(np.sum(b.x)), np.array([1, 2]), s, { x: np.zeros([4]) }), /sam: batch size 4 is not a multiple of m = 3/);
});

test("asam: η 0.01, ρ 0.5 — ε = ρ T² g/‖T g‖", () => {
  // T = |w| + 0.01 = [1.01, 2.01]; T g = [2.02, 8.04]; ‖T g‖ = 8.289873
  // ε = 0.5·[1.0201·2, 4.0401·4]/8.289873 = [0.123054, 0.974707]
  // w' = w − 0.1·2(w+ε) = [0.775389, 1.405059]
  const [w1] = steps(asam(sgd({ learningRate: 0.1 }), { rho: 0.5, eta: 0.01 }), quad([1, 1]), [1, 2], 1);
  assertClose(w1, [0.7753893, 1.4050585], 1e-6);
});

test("fsam: official order, two steps (state matters)", () => {
  // L = w₁² + 3w₂², w = [1,2], ρ 0.05, σ 1, λ 0.9, SGD lr 0.1
  // step 1: g = [2,12]; m = g; d = g; ε = 0.05 d/‖d‖ = [0.008220, 0.049320]
  //         g_s = [2(1.008220), 6(2.049320)]; w1 = [0.798356, 0.770408]
  // step 2: g = [1.596712, 4.622449]; d = g − m = [−0.403288, −7.377551]
  //         ε = [−0.002729, −0.049925]; m = 0.9[2,12] + 0.1 g = [1.959671, 11.262245]
  //         w2 = w1 − 0.1 g_s(w1+ε) = [0.639231, 0.338119]
  const [w1, w2] = steps(fsam(sgd({ learningRate: 0.1 }), { rho: 0.05, sigma: 1, lambda: 0.9 }), quad([1, 3]), [1, 2], 2);
  assertClose(w1, [0.798356, 0.7704082], 1e-6);
  assertClose(w2, [0.6392306, 0.3381186], 1e-6);
});

test("fsam: paper order (Algorithm 1), two steps", () => {
  // step 1: m = 0.1 g = [0.2, 1.2]; d = g − m = [1.8, 10.8] (parallel to g: same w1 as above)
  // step 2: m = 0.9 m + 0.1 g = [0.339671, 1.542245]; d = g − m = [1.257041, 3.080204]
  //         ε = [0.018892, 0.046293]; w2 = [0.634906, 0.280387]
  const [w1, w2] = steps(fsam(sgd({ learningRate: 0.1 }), { rho: 0.05, sigma: 1, lambda: 0.9, order: "paper" }), quad([1, 3]), [1, 2], 2);
  assertClose(w1, [0.798356, 0.7704082], 1e-6);
  assertClose(w2, [0.6349063, 0.2803873], 1e-6);
});

test("zero gradient gives a finite step for every variant", () => {
  const zero = (w: np.Array, _b: unknown) => np.sum(w).mul(0);
  const opts: [string, SharpnessAwareOptimizer<any>][] = [
    ["sam", sam(sgd({ learningRate: 0.1 }))],
    ["sam m=1", sam(sgd({ learningRate: 0.1 }), { m: 1 })],
    ["asam", asam(sgd({ learningRate: 0.1 }))],
    ["asam η=0 at w=0", asam(sgd({ learningRate: 0.1 }), { eta: 0 })],
    ["fsam", fsam(sgd({ learningRate: 0.1 }))],
    ["fsam adaptive", fsam(sgd({ learningRate: 0.1 }), { adaptive: true })],
  ];
  for (const [name, opt] of opts) {
    const w = steps(opt, zero, [0, 0], 2);
    assert.ok(w.flat().every(Number.isFinite), `${name}: ${w}`);
    assertClose(w[1], [0, 0], 0, name);
  }
});

test("bad options: RangeError naming option, value and range", () => {
  const b = sgd({ learningRate: 0.1 });
  assert.throws(() => sam(b, { rho: -1 }), /sam: rho must be a finite number ≥ 0 \(got -1\)/);
  assert.throws(() => sam(b, { rho: Infinity }), /sam: rho .*got Infinity/);
  assert.throws(() => sam(b, { m: 0 }), /sam: m must be an integer ≥ 1 \(got 0\)/);
  assert.throws(() => sam(b, { m: 2.5 }), /sam: m must be an integer/);
  assert.throws(() => sam(b, { p: 1 }), /sam: p must be a finite number > 1 \(or Infinity\) \(got 1\)/);
  assert.throws(() => sam(b, { normalize: false, p: Infinity }), /normalize: false needs p = 2/);
  assert.throws(() => asam(b, { eta: -0.1 }), /asam: eta must be a finite number ≥ 0 \(got -0.1\)/);
  assert.throws(() => fsam(b, { lambda: 1 }), /fsam: lambda must be a finite number in \[0, 1\) \(got 1\)/);
  assert.throws(() => fsam(b, { lambda: -0.1 }), /fsam: lambda/);
  assert.throws(() => fsam(b, { sigma: -1 }), /fsam: sigma must be a finite number ≥ 0/);
  assert.throws(() => fsam(b, { order: "book" as any }), /fsam: order must be one of "official", "paper" \(got "book"\)/);
  assert.throws(() => sam(b, { rh0: 0.1 } as any), /sam: unknown option "rh0"/);
});
