/**
 * Lookbehind-SAM (src/sam/lookbehind-sam.ts): one outer step by hand, a float64 check against
 * the official algorithm's state machine (chandar-lab/Lookbehind-SAM lookbehind.py, driven as
 * in example_cifar.py) written in plain JS numbers, the reductions (k = 1, α = 1 ≡ the inner
 * optimizer; ρ = 0 ≡ the base), the adaptive per-leaf α, 2k gradient passes per batch, the
 * phase mapping, jit ≡ eager, ownership and no live-buffer growth, the NaN-batch skip, and bad
 * options.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { numpy as np, tree } from "@jax-js/jax";
import { asam, plain, rhoSwitch, sam, samFull, sgd, type SharpnessAwareOptimizer } from "../../src/index.js";
import { lookbehind, lookbehindDescriptor, lookbehindSam, lookbehindSamDescriptor } from "../../src/sam/lookbehind-sam.js";
import { assertClose, flat, maxTreeDiff, runSteps, setup, trackBuffers, quad } from "../helpers.js";
import { tinyLoss, tinyProblem, toBatch, toParams, type TinyParams, runTiny, liveBuffersOver, assertStepOwnership } from "../fixtures.js";

before(setup);

const lr = (learningRate = 0.1) => sgd({ learningRate });

test("lookbehind-sam: one outer step by hand — w=[1,2], L=w₁²+3w₂², ρ 0.05, k 2, α 0.5, SGD lr 0.1", () => {
  // i = 1: a₀ = w = [1, 2]; g = [2, 12], ‖g‖ = √148 = 12.165525; a₁ = a₀ + 0.05 g/‖g‖ = [1.0082199, 2.0493197]
  //        g_s = ∇L(a₁) = [2.0164399, 12.295918]; θ₁ = w − 0.1 g_s = [0.7983560, 0.7704082]
  // i = 2: g = ∇L(a₁) = [2.0164399, 12.295918], ‖g‖ = 12.460162; a₂ = a₁ + 0.05 g/‖g‖ = [1.0163115, 2.0986606]
  //        g_s = ∇L(a₂) = [2.0326230, 12.591964]; θ₂ = θ₁ − 0.1 g_s = [0.5950937, −0.4887882]
  // w' = w + 0.5(θ₂ − w) = [1 + 0.5(−0.4049063), 2 + 0.5(−2.4887882)] = [0.7975469, 0.7556059]
  // (SAM alone: w' = θ₁ = [0.798356, 0.770408].) Reported loss: L(w) = 1 + 12 = 13.
  const loss = quad([1, 3]);
  const opt = lookbehindSam(lr(), { rho: 0.05, k: 2, alpha: 0.5 });
  const w = np.array([1, 2]);
  const s = opt.init(w.ref);
  const out = opt.step(loss, w, s, { z: np.zeros([1]) });
  assertClose(flat(out.params), [0.7975469, 0.7556059], 1e-6, "w'");
  assertClose(flat(out.loss), 13, 1e-5, "loss = L(w)");
  assert.equal(flat(out.finite)[0], 1);
  assert.equal(loss.calls, 4, "2k = 4 gradient passes");
  assert.equal(flat(out.state.skipped.ref)[0], 0);
  assert.equal(flat(out.state.inner.count.ref)[0], 2, "the inner optimizer took k = 2 steps");
  tree.dispose(out.state);
  // The wrapper form is the same optimizer.
  const [w1] = runSteps(lookbehind(sam(lr(), { rho: 0.05 }), { k: 2, alpha: 0.5 }), quad([1, 3]), [1, 2], 1);
  assertClose(w1, [0.7975469, 0.7556059], 1e-6, "lookbehind(sam)");
});

// ---- the official algorithm in plain JS float64 numbers ----

type Leaves = Record<string, number[]>;
type Data = { x: number[][]; y: number[] };
const copy = (p: Leaves): Leaves => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, [...v]]));
const l2 = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

/** ∇ of mean((x·weight + bias − y)²). */
function lsqGrad(p: Leaves, b: Data): Leaves {
  const n = b.y.length;
  const gw = p.weight.map(() => 0);
  let gb = 0;
  b.x.forEach((xi, i) => {
    const r = xi.reduce((s, x, j) => s + x * p.weight[j], 0) + p.bias[0] - b.y[i];
    xi.forEach((x, j) => (gw[j] += (2 / n) * r * x));
    gb += (2 / n) * r;
  });
  return { weight: gw, bias: [gb] };
}

/** torch.optim.SGD(lr, momentum, weight_decay), dampening 0, not nesterov: updates `p` in place. */
function torchSgd(lr0: number, mu: number, wd: number) {
  const buf: Leaves = {};
  return (p: Leaves, g: Leaves) => {
    for (const k of Object.keys(p)) {
      const d = g[k].map((x, i) => x + wd * p[k][i]);
      buf[k] = buf[k] ? buf[k].map((b, i) => mu * b + d[i]) : d;
      p[k] = p[k].map((w, i) => w - lr0 * buf[k][i]);
    }
  };
}

/**
 * LookbehindSAM / LookbehindASAM as lookbehind.py runs them: the model's weights, the cached
 * fast weights, the cached slow weights, the backup, first_descent_step, the k counter; alpha
 * −1 = adaptive (per parameter tensor). ASAM scales the "weight" tensor only, as the official
 * code does (names containing 'weight').
 */
function officialLookbehind(model: Leaves, step: (p: Leaves, g: Leaves) => void, o: { rho: number; kSteps: number; alpha: number; asam?: { eta: number } }) {
  let p = copy(model);
  let cached = copy(p);
  let slow = copy(p);
  let first: Leaves = {};
  let k = 0;
  const ascent = (grad: Leaves) => {
    const g = copy(grad);
    const t: Leaves = {};
    if (o.asam) for (const n of Object.keys(p)) if (n.includes("weight")) (t[n] = p[n].map((w) => Math.abs(w) + o.asam!.eta)), (g[n] = g[n].map((x, i) => x * t[n][i]));
    const norm = l2(Object.values(g).map(l2)) + 1e-16;
    for (const n of Object.keys(p)) {
      const e = t[n] ? g[n].map((x, i) => x * t[n][i]) : g[n];
      p[n] = p[n].map((w, i) => w + (e[i] * o.rho) / norm);
    }
  };
  const descent = (grad: Leaves) => {
    const backup = copy(p);
    p = copy(cached);
    step(p, grad);
    if (o.alpha === -1 && k === 0) first = copy(p);
    cached = copy(p);
    p = backup;
    k += 1;
    if (k >= o.kSteps) {
      k = 0;
      p = copy(cached);
      for (const n of Object.keys(p)) {
        let a = o.alpha;
        if (a === -1) {
          const u = first[n].map((x, i) => x - slow[n][i]);
          const v = p[n].map((x, i) => x - slow[n][i]);
          const cos = u.reduce((s, x, i) => s + x * v[i], 0) / (Math.max(l2(u), 1e-8) * Math.max(l2(v), 1e-8));
          a = (cos + 1) / 2;
        }
        p[n] = p[n].map((x, i) => x * a + slow[n][i] * (1 - a));
      }
      cached = copy(p);
      slow = copy(p);
    }
  };
  return {
    /** example_cifar.py: k × (ascent at the model, descent) on the same batch. */
    batch(b: Data): Leaves {
      for (let i = 0; i < o.kSteps; i++) {
        ascent(lsqGrad(p, b));
        descent(lsqGrad(p, b));
      }
      return copy(p);
    },
  };
}

const lsqW0: Leaves = { weight: [0.5, -1.2, 0.8], bias: [0.3] };
const lsqBatches: Data[] = [
  { x: [[1, 0.5, -1], [0.2, -0.7, 1.5], [-1.1, 0.9, 0.3], [0.6, 1.2, -0.4]], y: [0.7, -0.2, 1.1, 0.4] },
  { x: [[-0.3, 1.4, 0.8], [1.3, -0.2, -0.6], [0.4, 0.4, 0.9], [-0.8, -1.0, 0.2]], y: [-0.5, 0.9, 0.3, 1.2] },
];
const lsqLoss = (p: { weight: np.Array; bias: np.Array }, b: { x: np.Array; y: np.Array }) => {
  const r = np.matmul(b.x, p.weight).add(p.bias).sub(b.y);
  return np.mean(np.square(r));
};

const officialCases: [string, () => SharpnessAwareOptimizer<any>, { rho: number; kSteps: number; alpha: number; asam?: { eta: number } }][] = [
  ["Lookbehind-SAM, k 3, static α 0.5", () => lookbehindSam(sgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4 }), { rho: 0.05, k: 3, alpha: 0.5 }), { rho: 0.05, kSteps: 3, alpha: 0.5 }],
  ["Lookbehind-SAM, k 3, adaptive α", () => lookbehindSam(sgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4 }), { rho: 0.05, k: 3, alpha: null }), { rho: 0.05, kSteps: 3, alpha: -1 }],
  [
    "Lookbehind-ASAM (weights only, η 0.01), k 2, adaptive α",
    () => lookbehind(asam(sgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4 }), { rho: 0.5, eta: 0.01, adaptiveLeaves: (path) => path === "weight" }), { k: 2 }),
    { rho: 0.5, kSteps: 2, alpha: -1, asam: { eta: 0.01 } },
  ],
];
for (const [name, ours, theirs] of officialCases) {
  test(`lookbehind ≡ the official state machine in float64, two batches with SGD momentum: ${name}`, () => {
    const ref = officialLookbehind(lsqW0, torchSgd(0.1, 0.9, 5e-4), theirs);
    const opt = ours();
    const f64 = np.float64;
    let p = { weight: np.array(lsqW0.weight, { dtype: f64 }), bias: np.array(lsqW0.bias, { dtype: f64 }) };
    let s = opt.init(tree.ref(p));
    for (const b of lsqBatches) {
      const expected = ref.batch(b);
      const out = opt.step(lsqLoss as any, p, s, { x: np.array(b.x, { dtype: f64 }), y: np.array(b.y, { dtype: f64 }) });
      out.loss.dispose();
      out.finite.dispose();
      p = out.params;
      s = out.state;
      assert.equal(p.weight.dtype, f64);
      assertClose(flat(p.weight.ref), expected.weight, 1e-5, `${name}: weight`);
      assertClose(flat(p.bias.ref), expected.bias, 1e-5, `${name}: bias`);
    }
    tree.dispose([p, s]);
  });
}

test("the official reference is not vacuous: static and adaptive α, SAM and ASAM differ", () => {
  const run = (o: { rho: number; kSteps: number; alpha: number; asam?: { eta: number } }) => {
    const r = officialLookbehind(lsqW0, torchSgd(0.1, 0.9, 5e-4), o);
    return lsqBatches.map((b) => r.batch(b)).at(-1)!;
  };
  const a = run({ rho: 0.05, kSteps: 3, alpha: 0.5 });
  const b = run({ rho: 0.05, kSteps: 3, alpha: -1 });
  const c = run({ rho: 0.05, kSteps: 1, alpha: 0.5 });
  assert.ok(Math.abs(a.weight[0] - b.weight[0]) > 1e-4 && Math.abs(a.weight[0] - c.weight[0]) > 1e-4);
});

// ---- reductions, jit ≡ eager, state and ownership on the tiny MLP ----

const { init, batches } = tinyProblem(5, 4);
const base = () => sgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4 });

const run = (opt: SharpnessAwareOptimizer<any>, jitted = false, data = batches): TinyParams => runTiny(opt, init, data, { jitted });

const reductions: [string, () => SharpnessAwareOptimizer<any>, () => SharpnessAwareOptimizer<any>][] = [
  ["k=1, α=1 ≡ SAM (4 steps)", () => lookbehindSam(base(), { rho: 0.1, k: 1, alpha: 1 }), () => sam(base(), { rho: 0.1 })],
  ["k=1, adaptive α ≡ SAM", () => lookbehindSam(base(), { rho: 0.1, k: 1 }), () => sam(base(), { rho: 0.1 })],
  ["lookbehind(asam), k=1, α=1 ≡ ASAM", () => lookbehind(asam(base(), { rho: 0.5 }), { k: 1, alpha: 1 }), () => asam(base(), { rho: 0.5 })],
  ["ρ=0, k=1, α=1 ≡ base", () => lookbehindSam(base(), { rho: 0, k: 1, alpha: 1 }), () => plain(base())],
];
for (const [name, ours, expected] of reductions) {
  test(`lookbehind reduction: ${name}`, () => {
    // The same arithmetic in the same order: exactly equal, not merely close.
    const d = maxTreeDiff(run(ours()), run(expected()));
    assert.equal(d, 0, `${name}: max diff ${d}`);
  });
}

test("lookbehind reductions are not vacuous: k = 2 differs from SAM, α < 1 from α = 1, ρ > 0 from the base", () => {
  const samP = () => run(sam(base(), { rho: 0.1 }));
  assert.ok(maxTreeDiff(run(lookbehindSam(base(), { rho: 0.1, k: 2, alpha: 1 })), samP()) > 1e-4);
  assert.ok(maxTreeDiff(run(lookbehindSam(base(), { rho: 0.1, k: 1, alpha: 0.5 })), samP()) > 1e-4);
  assert.ok(maxTreeDiff(run(lookbehindSam(base(), { rho: 0.1, k: 1, alpha: 1 })), run(plain(base()))) > 1e-4);
});

test("lookbehind: adaptive α is per leaf — (cos(θ₁ − w, θ_k − w) + 1)/2 on each parameter tensor", () => {
  // L = −p² + q², w = (p, q) = (0.1, 0.02), ρ 0.15, k 2, SGD lr 0.1; ∇L = (−2p, 2q).
  // i = 1: g = (−0.2, 0.04), ‖g‖ = 0.2039608; a₁ = w + 0.15 g/‖g‖ = (−0.0470871, 0.0494174)
  //        g_s = (0.0941742, 0.0988348); θ₁ = w − 0.1 g_s = (0.0905826, 0.0101165)
  // i = 2: g = (0.0941742, 0.0988348), ‖g‖ = 0.1365178; a₂ = a₁ + 0.15 g/‖g‖ = (0.0563875, 0.1580130)
  //        g_s = (−0.1127750, 0.3160260); θ₂ = θ₁ − 0.1 g_s = (0.1018601, −0.0214861)
  // θ₁ − w = (−0.0094174, −0.0098835), θ₂ − w = (0.0018601, −0.0414861)
  // Two scalar leaves {p, q}: cos_p = −1 → α_p = 0 (p stays 0.1); cos_q = 1 → α_q = 1 (q = θ₂ = −0.0214861)
  // One leaf [p, q]: cos = (−0.0000175 + 0.0004100)/(0.0136518 · 0.0415278) = 0.692345 → α = 0.846173
  //                  w' = w + 0.846173(θ₂ − w) = (0.1015740, −0.0151044)
  const loss2 = (w: { p: np.Array; q: np.Array }, _b: unknown) => np.sum(np.square(w.q)).sub(np.sum(np.square(w.p)));
  const opt = lookbehindSam(lr(), { rho: 0.15, k: 2 });
  const w = { p: np.array([0.1]), q: np.array([0.02]) };
  const out = opt.step(loss2 as any, w, opt.init(tree.ref(w)), {});
  assertClose(flat(out.params.p), [0.1], 1e-6, "α_p = 0");
  assertClose(flat(out.params.q), [-0.0214861], 1e-6, "α_q = 1");
  tree.dispose([out.state, out.loss, out.finite]);

  const loss1 = (w: np.Array, _b: unknown) => {
    const sq = np.square(w);
    return np.sum(sq.mul(np.array([-1, 1])));
  };
  const [w1] = runSteps(lookbehindSam(lr(), { rho: 0.15, k: 2 }), loss1, [0.1, 0.02], 1);
  assertClose(w1, [0.101574, -0.0151044], 1e-6, "one leaf: α = 0.846173");
});

test("lookbehind: 2k gradient passes per outer step (k with ρ = 0); the phase is the inner's at step k·t", () => {
  for (const k of [1, 2, 3, 5]) {
    const loss = quad([1, 3]);
    runSteps(lookbehindSam(lr(), { rho: 0.05, k, alpha: 0.5 }), loss, [1, 2], 2);
    assert.equal(loss.calls, 2 * 2 * k, `k = ${k}: 2k passes per step`);
    const loss0 = quad([1, 3]);
    runSteps(lookbehindSam(lr(), { rho: 0, k, alpha: 0.5 }), loss0, [1, 2], 2);
    assert.equal(loss0.calls, 2 * k, `k = ${k}, ρ = 0: k passes per step`);
  }
  // ERM→SAM at inner step 4 with k = 2: outer steps 0, 1 are base steps (k passes), 2, 3 SAM's.
  const opt = lookbehindSam(lr(), { rho: rhoSwitch(0.05, 4), k: 2, alpha: 0.5 });
  assert.deepEqual([0, 1, 2, 3].map((t) => opt.phase(t)), ["base", "base", "step", "step"]);
  const loss = quad([1, 3]);
  runSteps(opt, loss, [1, 2], 4);
  assert.equal(loss.calls, 2 + 2 + 4 + 4);
});

test("lookbehind: with hasAux the aux and with telemetry the diagnostics are the first inner step's (at w)", () => {
  const opt = lookbehindSam(lr(), { rho: 0.05, k: 3, alpha: 0.5 });
  const lossAux = (w: np.Array, _b: unknown): [np.Array, np.Array] => [np.sum(np.square(w.ref).mul(np.array([1, 3]))), np.sum(w)];
  const w = np.array([1, 2]);
  const out = opt.step(lossAux, w, opt.init(w.ref), {}, { hasAux: true, telemetry: true });
  assertClose(flat(out.aux!), 3, 1e-6, "aux at w");
  assertClose(flat(out.loss), 13, 1e-5, "loss at w");
  assertClose(flat(out.telemetry!.lossClean.ref), 13, 1e-5, "telemetry L(w)");
  assertClose(flat(out.telemetry!.epsNorm.ref), 0.05, 1e-6, "‖ε₁‖ = ρ");
  tree.dispose([out.params, out.state, out.finite, out.telemetry as any]);
});

const family: [string, () => SharpnessAwareOptimizer<any>][] = [
  ["Lookbehind-SAM k 2, adaptive α", () => lookbehindSam(base(), { rho: 0.1 })],
  ["Lookbehind-SAM k 3, α 0.5", () => lookbehindSam(base(), { rho: 0.1, k: 3, alpha: 0.5 })],
  ["Lookbehind-ASAM k 2, adaptive α", () => lookbehind(asam(base(), { rho: 0.5 }), { k: 2 })],
];
for (const [name, make] of family) {
  test(`lookbehind jit ≡ eager: ${name}`, () => {
    const d = maxTreeDiff(run(make(), true), run(make(), false));
    assert.ok(d <= 1e-5, `${name}: ${d}`);
  });
}

test("lookbehind state: { inner, skipped }, structure, shapes and dtypes stable across steps", () => {
  const opt = lookbehindSam(base(), { rho: 0.1 });
  let p = toParams(init);
  let s = opt.init(tree.ref(p));
  const sig = (x: any) => tree.structure(x).toString() + JSON.stringify((tree.leaves(x) as np.Array[]).map((a) => [a.shape, a.dtype]));
  assert.deepEqual(Object.keys(s).sort(), ["inner", "skipped"]);
  const before0 = sig(s);
  for (const b of batches.slice(0, 2)) {
    const out = opt.step(tinyLoss, p, s, toBatch(b));
    out.loss.dispose();
    out.finite.dispose();
    p = out.params;
    s = out.state;
  }
  assert.equal(sig(s), before0);
  tree.dispose([p, s]);
});

test("lookbehind ownership: step consumes params, state and batch; .ref keeps them alive", () => {
  const opt = lookbehindSam(base(), { rho: 0.1, k: 2 });
  const p = toParams(init);
  assertStepOwnership(opt, p, opt.init(tree.ref(p)), toBatch(batches[0]));
});

test("lookbehind: no live-buffer growth over 30 jitted steps, nothing left after disposal", async () => {
  for (const [name, make] of family) {
    const { early, late, left } = await liveBuffersOver(make(), init, batches);
    assert.equal(late, early, `${name}: ${early} → ${late}`);
    assert.equal(left, 0, `${name}: ${left} left after disposal`);
  }
});

test("lookbehind: an inner optimizer with one ε per sub-batch (m-SAM) fails at its first step and leaks nothing", async () => {
  const live = await trackBuffers();
  const baseline = live();
  const opt = lookbehind(sam(base(), { rho: 0.1, m: 4 }), { k: 2 });
  const p = toParams(init);
  const s = opt.init(tree.ref(p));
  const kept = p.w1.ref;
  assert.throws(() => opt.step(tinyLoss, p, s, toBatch(batches[0])), /options\.at needs one perturbation per step/);
  assert.equal(kept.refCount, 1, "the caller's .ref survives");
  kept.dispose();
  assert.equal(live(), baseline, `${live() - baseline} buffers left`);
});

test("lookbehind: bad options are one-line RangeErrors naming the option, value and range", () => {
  const b = lr();
  const inner = sam(b, { rho: 0.05 });
  const oneLine = (re: RegExp) => (e: Error) => e instanceof RangeError && re.test(e.message) && !e.message.includes("\n");
  assert.throws(() => lookbehind(inner, { k: 0 }), oneLine(/^lookbehind: k must be an integer ≥ 1 \(got 0\)$/));
  assert.throws(() => lookbehind(inner, { k: 1.5 }), oneLine(/^lookbehind: k must be an integer ≥ 1 \(got 1.5\)$/));
  assert.throws(() => lookbehind(inner, { alpha: 0 }), oneLine(/^lookbehind: alpha must be a finite number in \(0, 1\] \(got 0\)$/));
  assert.throws(() => lookbehind(inner, { alpha: 1.5 }), oneLine(/^lookbehind: alpha .*\(got 1.5\)$/));
  assert.throws(() => lookbehind(inner, { alpha: -1 }), oneLine(/^lookbehind: alpha .*\(got -1\)$/));
  assert.throws(() => lookbehind(inner, { kk: 2 } as any), oneLine(/^lookbehind: unknown option "kk"/));
  assert.throws(() => lookbehindSam(b, { k: 2.5 }), oneLine(/^lookbehindSam: k must be an integer ≥ 1 \(got 2.5\)$/));
  assert.throws(() => lookbehindSam(b, { alpha: 2 }), oneLine(/^lookbehindSam: alpha must be a finite number in \(0, 1\] \(got 2\)$/));
  assert.throws(() => lookbehindSam(b, { rho: -0.1 }), oneLine(/^lookbehindSam: rho must be a finite number ≥ 0 \(got -0.1\)$/));
  assert.throws(() => lookbehindSam(b, { accumulate: 2, accumulateMode: "per-micro-batch" }), oneLine(/^lookbehindSam: accumulateMode/));
  assert.throws(() => lookbehindSam(b, { nonFinite: "ignore" as any }), oneLine(/^lookbehindSam: nonFinite must be one of "skip", "error" \(got "ignore"\)$/));
  assert.throws(() => lookbehind(samFull(b, { rho: 0.05 }), { k: 2 }), oneLine(/^lookbehind: inner must not need options.fullGrad/));
  assert.throws(() => lookbehind({} as any), /lookbehind: inner must be a sharpness-aware optimizer/);
  // The wrapper sets the ascent points itself.
  const opt = lookbehind(inner);
  const w = np.array([1, 2]);
  assert.throws(() => opt.step(quad([1, 1]), w, opt.init(w.ref), {}, { at: np.array([0, 0]) }), /lookbehind: step takes no options.at/);
  assert.equal(w.refCount, 0, "inputs disposed on the error");
  // Defaults: k 2 and adaptive α (README usage `--k 2 --alpha -1`), ρ 0.05 (README, LookbehindSAM).
  assert.equal(lookbehindSamDescriptor.params.k.default, 2);
  assert.equal(lookbehindSamDescriptor.params.alpha.default, null);
  assert.equal(lookbehindSamDescriptor.params.rho.default, 0.05);
  assert.equal(lookbehindSamDescriptor.name, "lookbehind-sam");
  assert.equal(lookbehindSamDescriptor.fn, "lookbehindSam");
  assert.equal(lookbehindSamDescriptor.label, "Lookbehind-SAM");
  assert.equal(lookbehindDescriptor.params.k.default, 2);
});
