/**
 * MESA (src/sam/mesa.ts): two steps by hand on a 2-class model with logits linear in w (a step
 * before the start that only moves the EMA, then a step with the EMA weights' logits as the
 * teacher), the passes per step, the reductions (λ = 0 and the epochs before startEpoch are the
 * base optimizer exactly; decay 0 makes the teacher the current weights, so the term's gradient
 * vanishes), the EMA against a host recursion, jit ≡ eager, ownership, no live-buffer growth, a
 * NaN batch (the EMA untouched), and bad options.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { numpy as np, tree } from "@jax-js/jax";
import { crossEntropy, phasedStep, plain, sgd, type SharpnessAwareOptimizer } from "../../src/index.js";
import { mesa, mesaDescriptor } from "../../src/sam/mesa.js";
import type { LogitsLossFn, LossFn } from "../../src/sam/core.js";
import { assertClose, flat, maxTreeDiff, setup } from "../helpers.js";
import { tinyLoss, tinyProblem, toBatch, toParams, type TinyParams, tinyWithLogits, liveBuffersOver, assertStepOwnership } from "../fixtures.js";

before(setup);

// ---- by hand: two classes, logits zᵢ = [aᵢ w₁, bᵢ w₂] ----

type LinBatch = { x: np.Array; y: np.Array };
const linLoss = (w: np.Array, b: LinBatch) => crossEntropy(b.x.mul(w), b.y);
const linWithLogits = (w: np.Array, b: LinBatch): [np.Array, np.Array] => {
  const z = b.x.mul(w);
  return [crossEntropy(z.ref, b.y), z];
};
const linBatch = () => ({ x: np.array([[1, 2], [3, -1]]), y: np.array([0, 1], { dtype: np.int32 }) });

test("mesa: two steps by hand — a step before the start moves only the EMA; then the EMA weights' logits are the teacher (SGD lr 0.1, λ 0.5, τ 2, δ 0.5)", () => {
  // One step per epoch, startEpoch 2. w₀ = [0.5, −0.3], w̄₀ = w₀; x = [[1, 2], [3, −1]], y = [0, 1].
  // Step 0 (epoch 1, no term): ∇L(w₀) = [1.027917, 0.634002]; w₁ = [0.397208, −0.363400];
  //   w̄₁ = 0.5 w̄₀ + 0.5 w₁ = [0.448604, −0.331700]
  // Step 1 (epoch 2): z = x ⊙ w₁ = [[0.397208, −0.726800], [1.191625, 0.363400]],
  //   t = x ⊙ w̄₁ = [[0.448604, −0.663400], [1.345812, 0.331700]]
  //   q = softmax(z/2) = [[0.636916, 0.363084], [0.602074, 0.397926]], p = softmax(t/2) = [[0.635527, 0.364473], [0.624116, 0.375884]]
  //   ∇L(w₁) = [0.921335, 0.593258]; ∂R/∂z = λτ(q − p)/2 = 0.5 (q − p) = [[0.000695, −0.000695], [−0.011021, 0.011021]]
  //   g = ∇L(w₁) + [Σ aᵢ ∂R/∂zᵢ₁, Σ bᵢ ∂R/∂zᵢ₂] = [0.888966, 0.580848]
  //   w₂ = w₁ − 0.1 g = [0.308312, −0.421485] (the base step: [0.305075, −0.422726]); w̄₂ = 0.5 w̄₁ + 0.5 w₂ = [0.378458, −0.376593]
  const opt = mesa(sgd({ learningRate: 0.1 }), { lambda: 0.5, temperature: 2, decay: 0.5, startEpoch: 2, stepsPerEpoch: 1 });
  let w = np.array([0.5, -0.3]);
  let s = opt.init(w.ref);
  const expected = [
    { w: [0.3972083, -0.3634002], ema: [0.4486041, -0.3317001] },
    { w: [0.3083117, -0.421485], ema: [0.3784579, -0.3765926] },
  ];
  for (let t = 0; t < 2; t++) {
    const out = opt.step(linLoss as LossFn, w, s, linBatch(), { phase: opt.phase(t), lossWithLogits: linWithLogits as LogitsLossFn });
    assert.equal(out.logits, undefined, "MESA returns no logits");
    assert.equal(flat(out.finite)[0], 1);
    out.loss.dispose();
    w = out.params;
    s = out.state;
    assertClose(flat(w.ref), expected[t].w, 1e-6, `w after step ${t}`);
    assertClose(flat((s.extra.ema as np.Array).ref), expected[t].ema, 1e-6, `EMA after step ${t}`);
  }
  tree.dispose([w, s]);
});

test("mesa passes: with the term one gradient pass and one forward (of the EMA weights) through lossWithLogits; before the start one pass of the plain loss", () => {
  const calls = { withLogits: 0, plain: 0 };
  const counted = (w: np.Array, b: LinBatch) => (calls.withLogits++, linWithLogits(w, b));
  const countedLoss = (w: np.Array, b: LinBatch) => (calls.plain++, linLoss(w, b));
  const opt = mesa(sgd({ learningRate: 0.1 }), { lambda: 0.5, startEpoch: 2, stepsPerEpoch: 1 });
  assert.equal(opt.logitsTerm!.needsTeacher(5), false, "the teacher is the optimizer's own");
  assert.equal(opt.logitsTerm!.returnsLogits, false);
  let w = np.array([0.5, -0.3]);
  let s = opt.init(w.ref);
  const seen: [number, number][] = [];
  for (let t = 0; t < 3; t++) {
    const before = { ...calls };
    const out = opt.step(countedLoss as LossFn, w, s, linBatch(), { phase: opt.phase(t), lossWithLogits: counted as LogitsLossFn });
    seen.push([calls.withLogits - before.withLogits, calls.plain - before.plain]);
    tree.dispose([out.loss, out.finite]);
    w = out.params;
    s = out.state;
  }
  assert.deepEqual(seen, [[0, 1], [2, 0], [2, 0]], "[lossWithLogits calls, loss calls] per step");
  tree.dispose([w, s]);
});

// ---- the tiny MLP ----

const { init, batches } = tinyProblem(6, 6);
const base = () => sgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4 });

/** Params and state after one step per batch (phasedStep), and the params after each step (host copies). */
function run(opt: SharpnessAwareOptimizer<any>, { jitted = true, data = batches }: { jitted?: boolean; data?: typeof batches } = {}) {
  const step = phasedStep(opt, tinyLoss, { jitted, lossWithLogits: tinyWithLogits as LogitsLossFn });
  let p = toParams(init);
  let s = opt.init(tree.ref(p));
  const finite: number[] = [];
  const trail: number[][] = [];
  data.forEach((b, t) => {
    const out = step(p, s, toBatch(b), t);
    out.loss.dispose();
    finite.push(flat(out.finite)[0]);
    p = out.params;
    s = out.state;
    trail.push((tree.leaves(p) as np.Array[]).flatMap((x) => flat(x.ref)));
  });
  step.dispose();
  return { p, s, finite, trail };
}

test("mesa reduction: λ = 0 is the base optimizer exactly (the EMA is still kept)", () => {
  const a = run(mesa(base(), { lambda: 0, startEpoch: 1 }));
  const b = run(plain(base()));
  assert.equal(maxTreeDiff(a.p, b.p), 0);
  tree.dispose([a.s, b.s]);
});

test("mesa reduction: before startEpoch the step is the base optimizer's exactly; from it on it differs", () => {
  const opt = () => mesa(base(), { lambda: 0.5, startEpoch: 3, stepsPerEpoch: 2, decay: 0.5 });
  const a = run(opt(), { data: batches.slice(0, 4) });
  const b = run(plain(base()), { data: batches.slice(0, 4) });
  assert.equal(maxTreeDiff(a.p, b.p), 0, "epochs 1-2");
  tree.dispose([a.s, b.s]);
  const c = run(opt());
  const d = run(plain(base()));
  assert.ok(maxTreeDiff(c.p, d.p) > 1e-5, "epoch 3 adds the term");
  tree.dispose([c.s, d.s]);
});

test("mesa reduction: decay 0 makes the teacher the current weights — the term's gradient vanishes (the base step to 1e-6); decay 0.5 does not", () => {
  const a = run(mesa(base(), { lambda: 1, temperature: 2, decay: 0, startEpoch: 1 }));
  const b = run(plain(base()));
  const d = maxTreeDiff(a.p, b.p);
  assert.ok(d <= 1e-6, `decay 0: ${d}`);
  tree.dispose([a.s, b.s]);
  const c = run(mesa(base(), { lambda: 1, temperature: 2, decay: 0.5, startEpoch: 1 }));
  const e = run(plain(base()));
  assert.ok(maxTreeDiff(c.p, e.p) > 1e-5, "decay 0.5: a real teacher");
  tree.dispose([c.s, e.s]);
});

test("mesa: the EMA follows w̄ ← δ w̄ + (1 − δ) w after every step from w̄₀ = w₀ (host recursion, 1e-6)", () => {
  const decay = 0.7;
  const r = run(mesa(base(), { lambda: 0.5, decay, startEpoch: 2, stepsPerEpoch: 3 }));
  let ema = (tree.leaves(toParams(init)) as np.Array[]).flatMap((x) => flat(x));
  for (const w of r.trail) ema = ema.map((e, i) => decay * e + (1 - decay) * w[i]);
  assertClose((tree.leaves(r.s.extra.ema) as np.Array[]).flatMap((x) => flat(x.ref)), ema, 1e-6, "EMA");
  tree.dispose([r.p, r.s]);
});

test("mesa jit ≡ eager; the state's structure, shapes and dtypes are stable", () => {
  const opt = () => mesa(base(), { lambda: 0.5, decay: 0.8, startEpoch: 2, stepsPerEpoch: 2 });
  const a = run(opt(), { jitted: true });
  const b = run(opt(), { jitted: false });
  const d = maxTreeDiff(a.p, b.p);
  assert.ok(d <= 1e-6, `params ${d}`);
  const sig = (x: any) => tree.structure(x).toString() + JSON.stringify((tree.leaves(x) as np.Array[]).map((v) => [v.shape, v.dtype]));
  const fresh = opt().init(toParams(init));
  assert.equal(sig(a.s), sig(fresh));
  tree.dispose(fresh);
  assert.ok(maxTreeDiff(a.s, b.s) <= 1e-6, "state");
});

test("mesa ownership: step consumes params, state and batch; .ref keeps them alive; the EMA is a copy", () => {
  const opt = mesa(base(), { lambda: 0.5, startEpoch: 1 });
  const p = toParams(init);
  const s = opt.init(tree.ref(p));
  assert.notEqual((s.extra.ema as TinyParams).w1, p.w1, "the EMA does not share the parameters' arrays");
  assertStepOwnership(opt, p, s, toBatch(batches[0]), { lossWithLogits: tinyWithLogits as LogitsLossFn });
});

test("mesa: no live-buffer growth over 30 jitted steps, nothing left after disposal", async () => {
  const opt = mesa(base(), { lambda: 0.5, startEpoch: 2, stepsPerEpoch: 3 });
  const { early, late, left } = await liveBuffersOver(opt, init, batches, { stepOptions: { lossWithLogits: tinyWithLogits as LogitsLossFn } });
  assert.equal(late, early, `${early} → ${late}`);
  assert.equal(left, 0, `${left} left after disposal`);
});

for (const jitted of [false, true]) {
  test(`mesa: a NaN batch is skipped exactly — params and state, the EMA included, as without it${jitted ? " (jit)" : ""}`, () => {
    const nanBatch = (b: { x: number[][]; y: number[] }) => ({ x: b.x.map((r, i) => (i === 0 ? r.map(() => NaN) : r)), y: b.y });
    const opt = () => mesa(base(), { lambda: 0.5, decay: 0.8, startEpoch: 1 });
    const poisoned = run(opt(), { jitted, data: batches.map((b, i) => (i === 2 ? nanBatch(b) : b)) });
    const clean = run(opt(), { jitted, data: batches.filter((_, i) => i !== 2) });
    assert.deepEqual(poisoned.finite, [1, 1, 0, 1, 1, 1]);
    assert.equal(maxTreeDiff(poisoned.p, clean.p), 0, "params");
    const { skipped: a, ...ra } = poisoned.s;
    const { skipped: b, ...rb } = clean.s;
    assert.deepEqual([flat(a)[0], flat(b)[0]], [1, 0]);
    assert.equal(maxTreeDiff(ra, rb), 0, "state (EMA included)");
  });
}

// ---- errors ----

test("mesa: bad options are one-line RangeErrors naming the option, value and range; a step with the term needs lossWithLogits", () => {
  const b = sgd({ learningRate: 0.1 });
  const oneLine = (re: RegExp) => (e: Error) => e instanceof RangeError && re.test(e.message) && !e.message.includes("\n");
  assert.throws(() => mesa(b, { lambda: -1, stepsPerEpoch: 1 }), oneLine(/^mesa: lambda must be a finite number ≥ 0 \(got -1\)$/));
  assert.throws(() => mesa(b, { temperature: -2, stepsPerEpoch: 1 }), oneLine(/^mesa: temperature must be a finite number > 0 \(got -2\)$/));
  assert.throws(() => mesa(b, { decay: 1.5, stepsPerEpoch: 1 }), oneLine(/^mesa: decay must be a finite number in \[0, 1\] \(got 1.5\)$/));
  assert.throws(() => mesa(b, { decay: -0.1, stepsPerEpoch: 1 }), oneLine(/^mesa: decay must be a finite number in \[0, 1\] \(got -0.1\)$/));
  assert.throws(() => mesa(b, { startEpoch: 0 }), oneLine(/^mesa: startEpoch must be an integer ≥ 1 \(got 0\)$/));
  assert.throws(() => mesa(b), oneLine(/^mesa: stepsPerEpoch must be an integer ≥ 1 \(got undefined\)$/));
  assert.throws(() => mesa(b, { decy: 0.9 } as never), /mesa: unknown option "decy"/);
  assert.deepEqual(
    Object.fromEntries(Object.entries(mesaDescriptor.params).map(([k, h]) => [k, h.default])),
    { lambda: 0.3, temperature: 5, startEpoch: 7, decay: 0.9998 },
  );
  const opt = mesa(base(), { startEpoch: 1 });
  const p = toParams(init);
  assert.throws(
    () => opt.step(tinyLoss as LossFn, tree.ref(p), opt.init(tree.ref(p)), toBatch(batches[0])),
    (e: Error) => e.constructor === Error && /^mesa: step needs options\.lossWithLogits/.test(e.message) && !e.message.includes("\n"),
  );
  tree.dispose(p);
});
