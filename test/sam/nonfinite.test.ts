/** Non-finite numbers: skip (default) leaves params and state unchanged and counts; error throws. */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { numpy as np, tree, valueAndGrad } from "@jax-js/jax";
import { applyUpdates, fsam, NonFiniteError, phasedStep, plain, randomPerturbation, sam, sgd, adam, asam, fasam, gsam, lookSam, fisherSam, multiStepSam, gradNormPenalty, wsam, vasso, msam, lookbehindSam, chain, clipByGlobalNorm, type SharpnessAwareOptimizer } from "../../src/index.js";
import { flat, maxTreeDiff, setup } from "../helpers.js";
import { tinyLoss, tinyProblem, toBatch, toParams } from "../fixtures.js";

before(setup);

const { init, batches } = tinyProblem(11, 40);
const poisoned = new Set([3, 27]); // 2 of 40 batches: 5%
const nanBatch = (b: { x: number[][]; y: number[] }) => ({ x: b.x.map((r, i) => (i === 0 ? r.map(() => NaN) : r)), y: b.y });
const base = () => sgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4 });

function runOver(opt: SharpnessAwareOptimizer<any>, data: { x: number[][]; y: number[] }[], jitted: boolean) {
  const step = phasedStep(opt, tinyLoss, { jitted });
  let p = toParams(init);
  let s = opt.init(tree.ref(p));
  const finite: number[] = [];
  data.forEach((b, t) => {
    const out = step(p, s, toBatch(b), t);
    finite.push(flat(out.finite)[0]);
    out.loss.dispose();
    p = out.params;
    s = out.state;
  });
  const skipped = flat(s.skipped.ref)[0];
  step.dispose();
  return { p, s, finite, skipped };
}

const table: [string, () => SharpnessAwareOptimizer<any>, Set<number>?][] = [
  ["sgd", () => plain(base())],
  ["sam", () => sam(base(), { rho: 0.1 })],
  ["fsam (EMA state)", () => fsam(base(), { rho: 0.1 })],
  ["random perturbation (PRNG key)", () => randomPerturbation(base(), { sigma: 0.01 })],
  ["sam+adam", () => sam(adam({ learningRate: 0.01 }), { rho: 0.1 })],
  // Every other variant: the step checks only the loss and the new parameters, so a NaN in the
  // clean gradient, ε or the direction must reach the parameters through each rule.
  ["asam", () => asam(base(), { rho: 0.5 })],
  ["fasam", () => fasam(base(), { rho: 0.5 })],
  ["gsam", () => gsam(base(), { rho: 0.1 })],
  // LookSAM's phase follows the host step t, so the run without the poisoned batches stays in
  // phase only if they are dropped in a multiple of k: two adjacent batches for k = 2.
  ["lookSam (k 2: off-cycle steps reuse a stored direction)", () => lookSam(base(), { rho: 0.1, k: 2 }), new Set([3, 4])],
  ["fisherSam", () => fisherSam(base(), { rho: 0.1 })],
  ["multiStepSam", () => multiStepSam(base(), { rho: 0.1, steps: 2 })],
  ["gradNormPenalty (hvp)", () => gradNormPenalty(base(), { lambda: 0.1 })],
  ["gradNormPenalty (finite difference)", () => gradNormPenalty(base(), { lambda: 0.1, method: "finite-difference" })],
  ["sam p = ∞", () => sam(base(), { rho: 0.1, p: Infinity })],
  ["sam, unnormalized", () => sam(base(), { rho: 0.1, normalize: false })],
  ["sam after clip-by-global-norm", () => sam(chain(clipByGlobalNorm(1), base()), { rho: 0.1 })],
  ["wsam (decoupled: the sharpness step outside the base)", () => wsam(base(), { rho: 0.1, learningRate: 0.1 })],
  ["wsam (coupled)", () => wsam(base(), { rho: 0.1, decouple: false })],
  ["vasso (EMA of g)", () => vasso(base(), { rho: 0.1 })],
  ["msam (one pass along the last update)", () => msam(base(), { rho: 0.3 })],
  ["lookbehindSam (k 2 inner steps, adaptive α)", () => lookbehindSam(base(), { rho: 0.1, k: 2 })],
];

// Every configuration jitted (how training runs it); the first five also eagerly (the same
// guard in eager mode — it does not depend on the variant, so five are enough).
for (const [k, [name, make, poisonedHere = poisoned]] of table.entries()) {
  for (const jitted of k < 5 ? [false, true] : [true]) {
    test(`skip: ${name}${jitted ? " (jit)" : ""} — poisoned batches leave no trace; same params as the clean batches alone`, () => {
      const withNaN = runOver(make(), batches.map((b, i) => (poisonedHere.has(i) ? nanBatch(b) : b)), jitted);
      const clean = runOver(make(), batches.filter((_, i) => !poisonedHere.has(i)), jitted);
      assert.deepEqual(withNaN.finite.map((f, i) => (f ? -1 : i)).filter((i) => i >= 0), [...poisonedHere]);
      assert.equal(withNaN.skipped, 2);
      assert.equal(clean.skipped, 0);
      const d = maxTreeDiff(withNaN.p, clean.p);
      assert.equal(d, 0, `${name}: params differ by ${d}`);
      const { skipped: _a, ...sa } = withNaN.s;
      const { skipped: _b, ...sb } = clean.s;
      assert.equal(maxTreeDiff(sa, sb), 0, `${name}: optimizer state differs`);
      tree.dispose([_a, _b]);
    });
  }
}

test("a step whose update overflows (finite gradient, Inf parameters) is skipped too", () => {
  const opt = plain(sgd({ learningRate: 1e38 }));
  const p = np.array([3e38]);
  const s = opt.init(p.ref);
  const out = opt.step((w: np.Array, _b: unknown) => np.sum(w.mul(-1)), p, s, { z: np.zeros([1]) });
  assert.equal(flat(out.finite)[0], 0);
  assert.deepEqual(flat(out.params), [Math.fround(3e38)]);
  tree.dispose([out.state, out.loss]);
});

test("error policy: phasedStep throws NonFiniteError naming the step, carrying the unchanged params", () => {
  const opt = sam(base(), { rho: 0.1, nonFinite: "error" });
  const step = phasedStep(opt, tinyLoss);
  let p = toParams(init);
  let s = opt.init(tree.ref(p));
  const ok = step(p, s, toBatch(batches[0]), 0);
  ok.loss.dispose();
  ok.finite.dispose();
  const before0 = flat(ok.params.w1.ref);
  try {
    step(ok.params, ok.state, toBatch(nanBatch(batches[1])), 1);
    assert.fail("expected a NonFiniteError");
  } catch (e) {
    assert.ok(e instanceof NonFiniteError);
    assert.match((e as Error).message, /^step 1: the loss or a gradient is NaN\/Inf/);
    const out = (e as NonFiniteError).output!;
    assert.deepEqual(flat(out.params.w1.ref), before0);
    tree.dispose([out.params, out.state, out.loss, out.finite]);
  }
  step.dispose();
  assert.throws(() => sam(base(), { nonFinite: "ignore" as any }), /sam: nonFinite must be one of "skip", "error" \(got "ignore"\)/);
});

test("inputs: mismatched trees are clear errors, not engine crashes", () => {
  const opt = sgd({ learningRate: 0.1, momentum: 0.9 });
  const s = opt.init({ w: np.zeros([3, 2]), b: np.zeros([2]) });
  assert.throws(() => opt.update({ w: np.zeros([3, 4]), b: np.zeros([2]) }, tree.ref(s) as any), /sgd: gradients do not match the optimizer state: at "w" shape \[3, 4\] vs \[3, 2\]/);
  assert.throws(() => opt.update({ w: np.zeros([3, 2]), c: np.zeros([2]) }, tree.ref(s) as any), /sgd: gradients do not match the optimizer state: 2 vs 2 leaves; first difference at position 1 \("c" vs "b"\)/);
  const a = adam({ learningRate: 0.1 });
  const sa = a.init([np.zeros([2])]);
  assert.throws(() => a.update([np.zeros([2]), np.zeros([1])], sa), /adam: gradients do not match the optimizer state: 2 vs 1 leaves/);
  assert.throws(() => applyUpdates({ w: np.zeros([2]) }, { w: np.zeros([3]) }), /applyUpdates: updates do not match the parameters: at "w" shape \[3\] vs \[2\]/);
  // through a sharpness-aware step: params of another model against this state
  const so = sam(sgd({ learningRate: 0.1, momentum: 0.9 }));
  const st = so.init(toParams(init));
  const other = { ...toParams(init), w2: np.zeros([5, 4]) };
  const badLoss = (p: any, b: any) => np.sum(p.w2).add(valueAndGrad(tinyLoss)({ ...p, w2: np.zeros([5, 3]) }, b)[0]);
  assert.throws(() => so.step(badLoss, other, st, toBatch(batches[0])), /sgd: gradients do not match the optimizer state: at "w2" shape \[5, 4\] vs \[5, 3\]/);
});
