import { test } from "node:test";
import assert from "node:assert/strict";
import { BLANC_1D } from "../../src/data/relu-1d.js";
import {
  effectiveKinks,
  initReluNet1d,
  pathNorms,
  reluNetGrad,
  reluNetLoss,
  reluNetPredict,
  sampleFunction,
  trainReluNet1d,
  type ReluNet1d,
} from "../../src/models/relu-net-1d.js";

const net = (w: number[], b: number[], a: number[]): ReluNet1d => ({ w: Float64Array.from(w), b: Float64Array.from(b), a: Float64Array.from(a) });
const flatNet = (n: ReluNet1d): number[] => [...n.w, ...n.b, ...n.a];

function near(got: readonly number[], want: readonly number[], tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= tol, `${what}[${i}]: got ${got[i]}, want ${want[i]} (tol ${tol})`);
  }
}

// The hand-worked example: 2 units, 2 points.
//   data x = (−1, 1), y = (0, 1); w = (1, −1), b = (1, 0), a = (1, 1)
//   unit 1: z = x + 1 → 0 at x = −1 (inactive: relu'(0) = 0), 2 at x = 1
//   unit 2: z = −x    → 1 at x = −1, −1 at x = 1 (inactive)
//   f(−1) = 1·1 = 1, f(1) = 1·2 = 2 → r = (1, 1), L = ½(1 + 1) = 1
//   ∂w₁ = a₁ r₂ x₂ = 1, ∂b₁ = a₁ r₂ = 1, ∂a₁ = r₂·2 = 2
//   ∂w₂ = a₂ r₁ x₁ = −1, ∂b₂ = a₂ r₁ = 1, ∂a₂ = r₁·1 = 1
//   ‖g‖² = 1 + 1 + 4 + 1 + 1 + 1 = 9 → ‖g‖ = 3
const HAND = { x: [-1, 1], y: [0, 1] };
const handNet = () => net([1, -1], [1, 0], [1, 1]);

test("the Blanc et al. data set: 12 points, x = [−5.5…5.5]/4 + 0.07, y = 0.345 + offsets", () => {
  assert.equal(BLANC_1D.x.length, 12);
  assert.equal(BLANC_1D.y.length, 12);
  const offsets = [-2, 1.5, 0, 0, 2, 1, 0, -1, 0, 1, 2, -1];
  for (let i = 0; i < 12; i++) {
    assert.equal(BLANC_1D.x[i], (-5.5 + i) / 4 + 0.07);
    assert.equal(BLANC_1D.y[i], 0.345 + offsets[i]);
  }
  near([BLANC_1D.x[0], BLANC_1D.x[11]], [-1.305, 1.445], 1e-15, "ends");
  near([BLANC_1D.y[0], BLANC_1D.y[1]], [-1.655, 1.845], 1e-15, "first targets");
});

test("predict, loss and gradient on the hand-worked 2-unit net", () => {
  const n = handNet();
  assert.equal(reluNetPredict(n, -1), 1);
  assert.equal(reluNetPredict(n, 1), 2);
  assert.equal(reluNetLoss(n, HAND.x, HAND.y), 1);
  const g = reluNetGrad(n, HAND.x, HAND.y);
  assert.deepEqual(flatNet(g), [1, -1, 1, 1, 2, 1]);
  assert.deepEqual(flatNet(n), [1, -1, 1, 0, 1, 1], "the argument is not modified");
});

test("gradient agrees with central finite differences (≤ 1e-6 relative) away from kinks", () => {
  const n = initReluNet1d({ hidden: 20, seed: 7, initScale: 0.3 });
  const { x, y } = BLANC_1D;
  // no unit sits within 1e-3 of a kink at any data point
  for (let j = 0; j < 20; j++) for (const xi of x) assert.ok(Math.abs(n.w[j] * xi + n.b[j]) > 1e-3, `unit ${j} near a kink`);
  const g = flatNet(reluNetGrad(n, x, y));
  const theta = flatNet(n);
  const h = 1e-6;
  const at = (t: number[]) => net(t.slice(0, 20), t.slice(20, 40), t.slice(40, 60));
  const scale = Math.max(...g.map(Math.abs));
  for (let k = 0; k < theta.length; k++) {
    const tp = theta.slice();
    const tm = theta.slice();
    tp[k] += h;
    tm[k] -= h;
    const fd = (reluNetLoss(at(tp), x, y) - reluNetLoss(at(tm), x, y)) / (2 * h);
    const rel = Math.abs(fd - g[k]) / Math.max(Math.abs(g[k]), 1e-3 * scale);
    assert.ok(rel <= 1e-6, `param ${k}: fd ${fd}, analytic ${g[k]}, rel ${rel}`);
  }
});

test("the training kernel's gradient equals reluNetGrad (kinks at data points, w = 0, unsorted x)", () => {
  // x unsorted; unit 0 has z = 0 exactly at x = 0.25 (4·0.25 − 1), unit 1 has w = 0 (active,
  // b > 0), unit 2 w = 0 inactive, unit 3 negative w with a kink at x = 0.5, the rest random
  const x = [0.5, -1, 0.25, 2, -0.75, 1];
  const y = [0.3, -0.2, 1, 0.5, 0, -1];
  const base = initReluNet1d({ hidden: 12, seed: 11 });
  base.w.set([4, 0, 0, -2]);
  base.b.set([-1, 0.7, -0.3, 1]);
  const lr = 1e-3;
  const g = flatNet(reluNetGrad(base, x, y));
  const r = trainReluNet1d({ x, y }, { method: "erm", seed: 0, init: base, lr, maxSteps: 1, lossTarget: -1 });
  assert.equal(r.steps, 1);
  const theta = flatNet(base);
  const want = theta.map((t, k) => t - lr * g[k]);
  const got = flatNet(r.net);
  for (let k = 0; k < want.length; k++) {
    assert.ok(Math.abs(got[k] - want[k]) <= 1e-13 * (Math.abs(theta[k]) + lr * Math.abs(g[k]) + 1), `param ${k}: ${got[k]} vs ${want[k]}`);
  }
  assert.ok(Math.abs(r.curve[0].loss - reluNetLoss(base, x, y)) <= 1e-12 * reluNetLoss(base, x, y), "step-0 loss");
});

test("one ERM step by hand (lr 0.1, ERM's default lrDecay is 'none')", () => {
  // θ − 0.1 g: w = (1 − 0.1, −1 + 0.1), b = (1 − 0.1, 0 − 0.1), a = (1 − 0.2, 1 − 0.1)
  const r = trainReluNet1d(HAND, { method: "erm", seed: 0, init: handNet(), lr: 0.1, maxSteps: 1, lossTarget: 0 });
  assert.equal(r.steps, 1);
  near(flatNet(r.net), [0.9, -0.9, 0.9, -0.1, 0.8, 0.9], 1e-12, "ERM step");
  assert.ok(Math.abs((r.finalLoss as number) - reluNetLoss(r.net, HAND.x, HAND.y)) < 1e-14);
  assert.deepEqual(r.curve.map((c) => c.step), [0, 1]);
  assert.equal(r.curve[0].loss, 1);
});

test("one SAM step by hand (ρ = 0.3, lr 0.1, lrDecay 'none')", () => {
  // ascent θ̃ = θ + 0.3·g/3 = θ + 0.1 g (the 1e-12 in the norm changes it by ~1e-14):
  //   w̃ = (1.1, −1.1), b̃ = (1.1, 0.1), ã = (1.2, 1.1)
  //   x = −1: z₁ = −1.1 + 1.1 = 0 (inactive), z₂ = 1.1 + 0.1 = 1.2
  //   x =  1: z₁ = 1.1 + 1.1 = 2.2,          z₂ = −1.1 + 0.1 = −1 (inactive)
  //   f̃(−1) = 1.1·1.2 = 1.32 → r₁ = 1.32;  f̃(1) = 1.2·2.2 = 2.64 → r₂ = 1.64
  //   ∂w₁ = ã₁ r₂ = 1.968, ∂b₁ = 1.968, ∂a₁ = r₂·2.2 = 3.608
  //   ∂w₂ = ã₂ r₁·(−1) = −1.452, ∂b₂ = 1.452, ∂a₂ = r₁·1.2 = 1.584
  //   θ − 0.1 ∇L(θ̃): w = (0.8032, −0.8548), b = (0.8032, −0.1452), a = (0.6392, 0.8416)
  const r = trainReluNet1d(HAND, { method: "sam", rho: 0.3, seed: 0, init: handNet(), lr: 0.1, maxSteps: 1, lrDecay: "none", lossTarget: 0 });
  assert.equal(r.steps, 1);
  near(flatNet(r.net), [0.8032, -0.8548, 0.8032, -0.1452, 0.6392, 0.8416], 1e-12, "SAM step");
});

test("SAM's default lrDecay is linear: η_t = η(1 − t/T), so the last step has η = 0", () => {
  // T = 2: step 1 uses 0.1·(1 − 1/2) = 0.05, step 2 uses 0 → θ − 0.05 ∇L(θ̃)
  //   w = (1 − 0.0984, −1 + 0.0726), b = (1 − 0.0984, −0.0726), a = (1 − 0.1804, 1 − 0.0792)
  const r = trainReluNet1d(HAND, { method: "sam", rho: 0.3, seed: 0, init: handNet(), lr: 0.1, maxSteps: 2, lossTarget: 0 });
  assert.equal(r.steps, 2);
  near(flatNet(r.net), [0.9016, -0.9274, 0.9016, -0.0726, 0.8196, 0.9208], 1e-12, "SAM, linear decay");
  // T = 1: the only step has η = 0
  const one = trainReluNet1d(HAND, { method: "sam", seed: 0, init: handNet(), lr: 0.1, maxSteps: 1, lossTarget: 0 });
  assert.deepEqual(flatNet(one.net), flatNet(handNet()));
  // ERM with lrDecay "linear" follows the same schedule: θ − 0.05 g
  const erm = trainReluNet1d(HAND, { method: "erm", seed: 0, init: handNet(), lr: 0.1, maxSteps: 2, lrDecay: "linear", lossTarget: 0 });
  near(flatNet(erm.net), [0.95, -0.95, 0.95, -0.05, 0.9, 0.95], 1e-12, "ERM, linear decay");
});

test("SAM with ρ = 0 equals ERM under the same lrDecay", () => {
  for (const lrDecay of ["none", "linear"] as const) {
    const o = { seed: 3, hidden: 30, lr: 5e-5, maxSteps: 3000, lrDecay };
    const e = trainReluNet1d(BLANC_1D, { method: "erm", ...o });
    const s = trainReluNet1d(BLANC_1D, { method: "sam", rho: 0, ...o });
    assert.deepEqual(flatNet(s.net), flatNet(e.net), lrDecay);
    assert.equal(s.finalLoss, e.finalLoss);
    assert.deepEqual(s.curve, e.curve);
  }
});

test("a zero gradient does not divide by zero (the 1e-12 in ‖g‖)", () => {
  // w = 0, b < 0: every unit is off at every point, so ∇L = 0 while L = ½ Σ y² > 0
  const dead = net([0, 0], [-1, -2], [1, -1]);
  const r = trainReluNet1d(HAND, { method: "sam", seed: 0, init: dead, lr: 0.1, maxSteps: 5, lossTarget: 0 });
  assert.equal(r.diverged, false);
  assert.equal(r.steps, 5);
  assert.deepEqual(flatNet(r.net), flatNet(dead));
  assert.equal(r.finalLoss, 0.5);
});

test("initialization: |w| = 2.5·s exactly, signs balanced, b ~ 2.5·N(0,1), a ~ 4·N(0,1)", () => {
  const n = initReluNet1d({ hidden: 2000, seed: 5 });
  assert.ok(n.w.every((v) => v === 2.5 || v === -2.5));
  const pos = n.w.filter((v) => v > 0).length;
  assert.ok(pos > 900 && pos < 1100, `positive signs ${pos} of 2000`);
  const std = (v: Float64Array) => Math.sqrt(v.reduce((s, u) => s + u * u, 0) / v.length);
  const mean = (v: Float64Array) => v.reduce((s, u) => s + u, 0) / v.length;
  assert.ok(Math.abs(std(n.b) - 2.5) < 0.15, `std b ${std(n.b)}`);
  assert.ok(Math.abs(std(n.a) - 4) < 0.25, `std a ${std(n.a)}`);
  assert.ok(Math.abs(mean(n.b)) < 0.15 && Math.abs(mean(n.a)) < 0.25, "means near 0");
  const s2 = initReluNet1d({ hidden: 10, seed: 5, initScale: 2 });
  assert.ok(s2.w.every((v) => Math.abs(v) === 5));
  assert.equal(initReluNet1d({ seed: 0 }).w.length, 100, "default 100 hidden units");
  assert.deepEqual(flatNet(initReluNet1d({ seed: 4 })), flatNet(initReluNet1d({ seed: 4 })));
  assert.notDeepEqual(flatNet(initReluNet1d({ seed: 4 })), flatNet(initReluNet1d({ seed: 5 })));
});

test("effectiveKinks: merging, range, zero-output units, cancellation, threshold", () => {
  // units 0, 1: both bend at x = 0.5 (w = 1, b = −0.5; w = 2, b = −1), slope changes 1·1 and 1·2 → one kink, 3
  // unit 2: bends at x = 5, outside [−1, 1]
  // unit 3: a = 0 at x = −0.5: no slope change
  // unit 4: w = −2, b = −1 → bends at −0.5 too, slope change 0.5·|−2| = 1 (the zero unit adds 0)
  const n = net([1, 2, 1, 1, -2], [-0.5, -1, -5, 0.5, -1], [1, 1, 7, 0, 0.5]);
  const k = effectiveKinks(n, -1, 1);
  assert.equal(k.count, 2);
  assert.deepEqual(k.kinks, [
    { x: -0.5, slopeChange: 1 },
    { x: 0.5, slopeChange: 3 },
  ]);
  // cancellation: two units at the same point with slope changes +1 and −1 → no kink
  assert.equal(effectiveKinks(net([1, 2], [0, 0], [1, -0.5]), -1, 1).count, 0);
  // merge radius (default 1% of hi − lo = 0.02): 0 and 0.015 merge, 0 and 0.05 do not
  assert.equal(effectiveKinks(net([1, 1], [0, -0.015], [1, 1]), -1, 1).count, 1);
  assert.equal(effectiveKinks(net([1, 1], [0, -0.05], [1, 1]), -1, 1).count, 2);
  assert.equal(effectiveKinks(net([1, 1], [0, -0.05], [1, 1]), -1, 1, { merge: 0.1 }).count, 1);
  // threshold: slope change 0.05 is below the default 0.1, above 0.01
  const small = net([1], [0], [0.05]);
  assert.equal(effectiveKinks(small, -1, 1).count, 0);
  assert.equal(effectiveKinks(small, -1, 1, { minSlopeChange: 0.01 }).count, 1);
  // w = 0: a constant unit, no breakpoint
  assert.equal(effectiveKinks(net([0], [1], [3]), -1, 1).count, 0);
});

test("pathNorms by hand", () => {
  // |2|·‖(3, 4)‖ + |−0.5|·‖(−1, 0)‖ = 10 + 0.5; |2|·3 + 0.5·1 = 6.5
  assert.deepEqual(pathNorms(net([3, -1], [4, 0], [2, -0.5])), { withBias: 10.5, weightsOnly: 6.5 });
});

test("sampleFunction: evenly spaced, inclusive, values of f", () => {
  const s = sampleFunction(handNet(), -1, 1, 5);
  assert.deepEqual(s.x, [-1, -0.5, 0, 0.5, 1]);
  // f(x) = relu(x + 1) + relu(−x)
  assert.deepEqual(s.y, [1, 1, 1, 1.5, 2]);
});

test("training reduces the loss; the curve is log-spaced from step 0 to the last step", () => {
  for (const method of ["erm", "sam"] as const) {
    const r = trainReluNet1d(BLANC_1D, { method, seed: 0, maxSteps: 5000, curvePoints: 20 });
    assert.equal(r.diverged, false);
    assert.ok((r.finalLoss as number) < r.curve[0].loss / 100, `${method}: ${r.curve[0].loss} → ${r.finalLoss}`);
    assert.equal(r.curve[0].step, 0);
    assert.equal(r.curve[r.curve.length - 1].step, r.steps);
    assert.ok(r.curve.every((c, i) => i === 0 || c.step > r.curve[i - 1].step));
    assert.ok(r.curve.length >= 15 && r.curve.length <= 20, `${r.curve.length} points`);
  }
});

test("ERM stops at the loss target; the result is deterministic for a seed", () => {
  const e = trainReluNet1d(BLANC_1D, { method: "erm", seed: 0, lossTarget: 1e-2 });
  assert.equal(e.reachedTarget, true);
  assert.ok(e.steps < 1e6 && (e.finalLoss as number) <= 1e-2);
  const o = { method: "sam" as const, seed: 1, maxSteps: 3000 };
  let progress = 0;
  const a = trainReluNet1d(BLANC_1D, { ...o, onProgress: () => progress++ });
  const b = trainReluNet1d(BLANC_1D, o);
  assert.deepEqual(flatNet(a.net), flatNet(b.net));
  assert.deepEqual(a.curve, b.curve);
  assert.equal(a.finalLoss, b.finalLoss);
  assert.equal(progress, 100);
});

test("options are validated", () => {
  assert.throws(() => trainReluNet1d(BLANC_1D, { method: "adam" as any, seed: 0 }), RangeError);
  assert.throws(() => trainReluNet1d(BLANC_1D, { method: "sam", seed: 0, rho: -1 }), RangeError);
  assert.throws(() => trainReluNet1d(BLANC_1D, { method: "sam", seed: 0, lrDecay: "cosine" as any }), RangeError);
  assert.throws(() => trainReluNet1d(BLANC_1D, { method: "sam", seed: 0, maxStep: 5 } as any), /unknown option/);
  assert.throws(() => trainReluNet1d({ x: [1, 2], y: [1] }, { method: "erm", seed: 0 }), RangeError);
  assert.throws(() => reluNetLoss(net([1, 2], [0], [1]), [1], [1]), RangeError);
});
