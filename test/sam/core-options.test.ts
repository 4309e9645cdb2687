/**
 * What every sharpness-aware optimizer shares (CoreOptions, issue 13): gradient accumulation in
 * its two modes, per-leaf control of ε (perturbLeaves, rhoScale; SAM-ON's "norm"), leaves a loss
 * does not touch, and the opt-in telemetry — table-driven over the family where they share a
 * property, by hand where a number can be checked.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { jit, numpy as np, tree } from "@jax-js/jax";
import {
  asam, fisherSam, fsam, gradNormPenalty, gsam, lookSam, multiStepSam, plain, randomPerturbation, sam, sgd, type SharpnessAwareOptimizer,
} from "../../src/index.js";
import { assertClose, flat, maxTreeDiff, setup, trackBuffers } from "../helpers.js";
import { tinyLoss, tinyProblem, toBatch, toParams } from "../fixtures.js";

before(setup);

const base = () => sgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4 });
/** [name, factory taking the shared options]: every variant a batch of 8 can run. */
const FAMILY: [string, (o: Record<string, unknown>) => SharpnessAwareOptimizer<any>][] = [
  ["sgd", (o) => plain(base(), o)],
  ["sam", (o) => sam(base(), { rho: 0.1, ...o })],
  ["asam", (o) => asam(base(), { rho: 0.5, ...o })],
  ["fsam", (o) => fsam(base(), { rho: 0.1, ...o })],
  ["gsam", (o) => gsam(base(), { rho: 0.1, ...o })],
  ["lookSam", (o) => lookSam(base(), { rho: 0.1, k: 2, ...o })],
  ["fisherSam", (o) => fisherSam(base(), { rho: 0.1, ...o })],
  ["multiStepSam", (o) => multiStepSam(base(), { rho: 0.1, steps: 2, ...o })],
  ["gradNormPenalty", (o) => gradNormPenalty(base(), { lambda: 0.1, ...o })],
  ["randomPerturbation", (o) => randomPerturbation(base(), { sigma: 0.05, seed: 3, ...o })],
];

/** Three steps of `opt` on the tiny MLP's batches (each batch given whole); the final params. */
function run(opt: SharpnessAwareOptimizer<any>, steps = 3) {
  const { init, batches } = tinyProblem(1, steps);
  let p: any = toParams(init);
  let s = opt.init(tree.ref(p));
  for (let t = 0; t < steps; t++) {
    const out = opt.step(tinyLoss as any, p, s, toBatch(batches[t]), { phase: opt.phase(t) });
    p = out.params;
    s = out.state;
    out.loss.dispose();
    out.finite.dispose();
  }
  tree.dispose(s);
  return p;
}

for (const [name, make] of FAMILY) {
  test(`${name}: accumulate 2 and 4 (global) equal the step on the whole batch (≤ 1e-6)`, () => {
    for (const k of [2, 4]) {
      const d = maxTreeDiff(run(make({})), run(make({ accumulate: k })));
      assert.ok(d <= 1e-6, `accumulate ${k}: max |Δw| ${d}`);
    }
  });
}

test("accumulate in per-micro-batch mode is m-SAM with m = batch / accumulate, exactly", () => {
  for (const k of [2, 4]) {
    const a = run(sam(base(), { rho: 0.1, accumulate: k, accumulateMode: "per-micro-batch" }));
    const b = run(sam(base(), { rho: 0.1, m: 8 / k }));
    assert.equal(maxTreeDiff(a, b), 0, `k = ${k}`);
  }
  // …and it is not the global step (each micro-batch its own ε).
  const g = run(sam(base(), { rho: 0.1, accumulate: 4 }));
  const p = run(sam(base(), { rho: 0.1, accumulate: 4, accumulateMode: "per-micro-batch" }));
  assert.ok(maxTreeDiff(g, p) > 1e-4);
});

test("accumulate: bad values and combinations are one-line RangeErrors", () => {
  assert.throws(() => sam(base(), { accumulate: 0 }), /sam: accumulate must be .*1/);
  assert.throws(() => sam(base(), { accumulate: 1.5 }), /accumulate/);
  assert.throws(() => sam(base(), { accumulateMode: "each" as never }), /accumulateMode must be one of/);
  assert.throws(() => sam(base(), { m: 2, accumulate: 2 }), /sam: m and accumulate cannot be combined/);
  const opt = sam(base(), { accumulate: 3 });
  const { init, batches } = tinyProblem(1, 1);
  const p = toParams(init);
  const s = opt.init(tree.ref(p));
  assert.throws(() => opt.step(tinyLoss as any, p, s, toBatch(batches[0])), /sam: batch size 8 is not a multiple of accumulate = 3/);
});

// A two-leaf problem by hand: params {layers: [{w, b}], norms: [{scale}]}, L = Σ all squares.
const quadLoss = (p: any) => np.sum(np.square(p.layers[0].w)).add(np.sum(np.square(p.layers[0].b))).add(np.sum(np.square(p.norms[0].scale)));
const quadParams = () => ({ layers: [{ w: np.array([1, 2]), b: np.array([3]) }], norms: [{ scale: np.array([0.5]) }] });
function oneStep(opt: SharpnessAwareOptimizer<any>, options: Record<string, unknown> = {}) {
  const p = quadParams();
  const s = opt.init(tree.ref(p));
  const out = opt.step(quadLoss as any, p, s, { z: np.zeros([1]) }, options);
  const w = { w: flat(out.params.layers[0].w.ref), b: flat(out.params.layers[0].b.ref), scale: flat(out.params.norms[0].scale.ref) };
  tree.dispose([out.params, out.state, out.loss, out.finite]);
  return { w, out };
}

test('perturbLeaves "weights": ε on weight matrices only, normalized over them (by hand)', () => {
  // g = 2w: g_w = [2, 4], g_b = [6], g_scale = [1]. Weights only: ε_w = 0.05·[2, 4]/√20 = [0.022361, 0.044721], ε_b = ε_scale = 0.
  // g_s = 2(w + ε) = [2.044721, 4.089443] | [6] | [1]; SGD lr 0.1: w' = [0.795528, 1.591056] | [2.4] | [0.4]
  const { w } = oneStep(sam(sgd({ learningRate: 0.1 }), { rho: 0.05, perturbLeaves: "weights" }));
  assertClose(w.w, [0.7955279, 1.5910557], 1e-6);
  assertClose(w.b, [2.4], 1e-6);
  assertClose(w.scale, [0.4], 1e-6);
});

test('perturbLeaves "norm" is SAM-ON: ε on normalization parameters only (by hand)', () => {
  // ε_scale = 0.05·1/1 = [0.05]; g_s,scale = 2(0.5 + 0.05) = 1.1 → scale' = 0.5 − 0.11 = 0.39; w, b: plain SGD → [0.8, 1.6], [2.4]
  const { w } = oneStep(sam(sgd({ learningRate: 0.1 }), { rho: 0.05, perturbLeaves: "norm" }));
  assertClose(w.scale, [0.39], 1e-6);
  assertClose(w.w, [0.8, 1.6], 1e-6);
  assertClose(w.b, [2.4], 1e-6);
});

test("rhoScale multiplies ε per leaf after the variant's normalization (by hand)", () => {
  // all leaves: ‖g‖ = √(4 + 16 + 36 + 1) = √57 = 7.549834; ε = 0.05 g/√57 · s(ℓ) with s(b) = 2, else 1
  // ε_w = [0.013245, 0.026491]; ε_b = 2·0.05·6/√57 = 0.079472; ε_scale = 0.05/√57 = 0.006623
  // w' = w − 0.2(w + ε): [0.797351, 1.594702] | [2.384106] | [0.398675]
  const { w } = oneStep(sam(sgd({ learningRate: 0.1 }), { rho: 0.05, rhoScale: (path) => (path.endsWith(".b") ? 2 : 1) }));
  assertClose(w.w, [0.7973509, 1.5947018], 1e-6);
  assertClose(w.b, [2.3841060], 1e-6);
  assertClose(w.scale, [0.3986755], 1e-6);
});

test("per-leaf control: bad selectors and scales are one-line RangeErrors naming the optimizer", () => {
  assert.throws(() => sam(base(), { perturbLeaves: "biases" as never }), /sam: perturbLeaves must be "all", "weights", "norm" or a function/);
  assert.throws(() => sam(base(), { rhoScale: 2 as never }), /sam: rhoScale must be a function/);
  const none = sam(base(), { perturbLeaves: () => false });
  const p = quadParams();
  assert.throws(() => none.step(quadLoss as any, p, none.init(tree.ref(p)), { z: np.zeros([1]) }), /sam: perturbLeaves selects none of the parameters \(layers\.0\.w, layers\.0\.b, norms\.0\.scale\)/);
  const neg = sam(base(), { rhoScale: () => -1 });
  const q = quadParams();
  assert.throws(() => neg.step(quadLoss as any, q, neg.init(tree.ref(q)), { z: np.zeros([1]) }), /rhoScale\("layers\.0\.w"\) must be a finite number ≥ 0/);
});

for (const [name, make] of FAMILY) {
  test(`${name}: a leaf the loss does not touch (zero gradient) stays finite under every leaf selection`, () => {
    // The loss ignores norms.0.scale; with "norm" only that (zero-gradient) leaf is perturbed.
    const loss = (p: any) => np.sum(np.square(p.layers[0].w)).add(np.sum(np.square(p.layers[0].b)));
    for (const perturbLeaves of ["all", "weights", "norm"] as const) {
      const opt = make({ perturbLeaves });
      let p: any = quadParams();
      let s = opt.init(tree.ref(p));
      for (let t = 0; t < 3; t++) {
        const out = opt.step(loss as any, p, s, { z: np.zeros([1]) }, { phase: opt.phase(t) });
        assert.ok(flat(out.finite)[0], `${perturbLeaves}: step ${t} skipped`);
        out.loss.dispose();
        p = out.params;
        s = out.state;
      }
      const all = (tree.leaves(p) as np.Array[]).flatMap((l) => flat(l.ref));
      assert.ok(all.every(Number.isFinite), `${perturbLeaves}: ${all}`);
      // The untouched leaf moves only by weight decay: 0.5 → 0.5·(1 − 0.1·5e-4·…) stays within 1e-3.
      assertClose(flat(p.norms[0].scale.ref), [0.5], 1e-3, `${perturbLeaves}: scale`);
      tree.dispose([p, s]);
    }
  });
}

test("telemetry: L(w), L(w + ε), the gap, ‖g‖, ‖ε‖ and cos(g, g_s) by hand; parameters unchanged by asking", () => {
  // L = Σ squares, w = ([1, 2], [3], [0.5]): L(w) = 14.25; g = 2w, ‖g‖ = √57 = 7.549834; ε = 0.05 ĝ, ‖ε‖ = 0.05
  // L(w + ε) = ‖w + 0.05 w/‖w‖‖² = (‖w‖ + 0.05)², ‖w‖ = √14.25 = 3.774917 → 3.824917² = 14.629990; gap 0.379990
  // g_s = 2(w + ε) ∥ g → cos = 1
  const opt = sam(sgd({ learningRate: 0.1 }), { rho: 0.05 });
  const { w: plainW } = oneStep(opt);
  const p = quadParams();
  const out = opt.step(quadLoss as any, p, opt.init(tree.ref(p)), { z: np.zeros([1]) }, { telemetry: true });
  const t = Object.fromEntries(Object.entries(out.telemetry!).map(([k, v]) => [k, flat(v)[0]]));
  assertClose(t.lossClean, 14.25, 1e-5);
  assertClose(t.lossPerturbed, 14.62999, 1e-4);
  assertClose(t.gap, 0.37999, 1e-4);
  assertClose(t.gradNorm, 7.549834, 1e-5);
  assertClose(t.epsNorm, 0.05, 1e-6);
  assertClose(t.cosine, 1, 1e-6);
  assert.deepEqual(flat(out.params.layers[0].w.ref), plainW.w);
  tree.dispose([out.params, out.state, out.loss, out.finite]);
});

test("telemetry: NaN where a step has no such quantity; m-SAM means over sub-batches; jit ≡ eager; nothing leaks", async () => {
  const { init, batches } = tinyProblem(1, 2);
  // The base optimizer: no ε, no perturbed loss.
  {
    const opt = plain(base());
    const p = toParams(init);
    const out = opt.step(tinyLoss as any, p, opt.init(tree.ref(p)), toBatch(batches[0]), { telemetry: true });
    const t = Object.fromEntries(Object.entries(out.telemetry!).map(([k, v]) => [k, flat(v)[0]]));
    assert.ok(t.lossClean > 0 && t.gradNorm > 0);
    assert.ok([t.epsNorm, t.lossPerturbed, t.gap, t.cosine].every(Number.isNaN));
    tree.dispose([out.params, out.state, out.loss, out.finite]);
  }
  // m-SAM (m = 4, two sub-batches): ‖ε‖ is ρ in each, so its mean is ρ; jitted equals eager.
  const opt = sam(base(), { rho: 0.1, m: 4 });
  const live = await trackBuffers();
  const before = live();
  const f = jit((p: any, s: any, b: any) => opt.step(tinyLoss as any, p, s, b, { telemetry: true }));
  const values: number[][] = [];
  for (const jitted of [false, true]) {
    const p = toParams(init);
    const s = opt.init(tree.ref(p));
    const out: any = jitted ? f(p, s, toBatch(batches[0])) : opt.step(tinyLoss as any, p, s, toBatch(batches[0]), { telemetry: true });
    values.push(Object.values(out.telemetry).map((v: any) => flat(v)[0]));
    tree.dispose([out.params, out.state, out.loss, out.finite]);
  }
  f.dispose();
  assertClose(values[1], values[0], 1e-6, "jit vs eager");
  assertClose(values[0][4], 0.1, 1e-6, "mean ‖ε‖");
  assert.equal(live(), before, "live buffers");
});
