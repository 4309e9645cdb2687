/**
 * SAF (src/sam/saf.ts) and the core's hook for a term on the logits (`Perturbation.logitsTerm`,
 * `StepOptions.lossWithLogits` / `teacher`, `StepOutput.logits`): a step by hand on a 2-class
 * model with logits linear in w, the trajectory loss by hand, one gradient pass per step, the
 * reductions (λ = 0 and the epochs before startEpoch are the base optimizer exactly; accumulation
 * is the whole-batch step), jit ≡ eager, ownership, no live-buffer growth, a NaN batch, the
 * memory's epoch slots, the classification loss with logits, and bad options.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { blockUntilReady, nn, numpy as np, tree } from "@jax-js/jax";
import { classificationLoss, classificationLossWithLogits, crossEntropy, mlp, phasedStep, plain, sgd, type SharpnessAwareOptimizer } from "../../src/index.js";
import { saf, safDescriptor, SafMemory, trajectoryKl } from "../../src/sam/saf.js";
import type { LogitsLossFn, LossFn } from "../../src/sam/core.js";
import { mulberry32 } from "../../src/engine/prng.js";
import { assertClose, flat, maxTreeDiff, setup, trackBuffers } from "../helpers.js";
import { DIMS, tinyLoss, tinyProblem, toBatch, toParams, type TinyBatch, type TinyParams, tinyWithLogits, liveBuffersOver } from "../fixtures.js";

before(setup);

// ---- a step by hand: two classes, logits zᵢ = [aᵢ w₁, bᵢ w₂] ----

type LinBatch = { x: np.Array; y: np.Array };
const linLogits = (w: np.Array, b: LinBatch) => b.x.mul(w);
const linLoss = (w: np.Array, b: LinBatch) => crossEntropy(linLogits(w, b), b.y);
const linWithLogits = (w: np.Array, b: LinBatch): [np.Array, np.Array] => {
  const z = linLogits(w, b);
  return [crossEntropy(z.ref, b.y), z];
};
const linBatch = () => ({ x: np.array([[1, 2], [3, -1]]), y: np.array([0, 1], { dtype: np.int32 }) });
const linTeacher = () => np.array([[0, 1], [2, -1]]);

test("saf: one step by hand — 2 classes, logits linear in w (SGD lr 0.1, λ 0.5, τ 2)", () => {
  // w = [0.5, −0.3]; x = [[1, 2], [3, −1]], y = [0, 1]; z = x ⊙ w = [[0.5, −0.6], [1.5, 0.3]]
  // CE: s = softmax(z) = [[0.750260, 0.249740], [0.768525, 0.231475]]; L = mean(0.287335, 1.463282) = 0.875309
  //   ∂L/∂z = (s − onehot(y))/2 = [[−0.124870, 0.124870], [0.384262, −0.384262]]
  // KL term, t = [[0, 1], [2, −1]]: q = softmax(z/2) = [[0.634136, 0.365864], [0.645656, 0.354344]],
  //   p = softmax(t/2) = [[0.377541, 0.622459], [0.817574, 0.182426]]
  //   ∂R/∂z = λτ(q − p)/n = 0.5·2·(q − p)/2 = [[0.128297, −0.128297], [−0.085959, 0.085959]]
  // g = [Σᵢ aᵢ ∂/∂zᵢ₁, Σᵢ bᵢ ∂/∂zᵢ₂] = [1.027917 − 0.129580, 0.634002 − 0.342554] = [0.898337, 0.291448]
  // w' = w − 0.1 g = [0.410166, −0.329145]   (the base step alone: [0.397208, −0.363400])
  const opt = saf(sgd({ learningRate: 0.1 }), { lambda: 0.5, temperature: 2, startEpoch: 1 });
  const w = np.array([0.5, -0.3]);
  const out = opt.step(linLoss as LossFn, w, opt.init(w.ref), linBatch(), { lossWithLogits: linWithLogits as LogitsLossFn, teacher: linTeacher() });
  assertClose(flat(out.params), [0.4101663, -0.3291448], 1e-6);
  assertClose(flat(out.loss), 0.8753089, 1e-6, "the loss is L(w), without the term");
  assertClose(flat(out.logits!), [0.5, -0.6, 1.5, 0.3], 1e-7, "the clean pass's logits at w");
  assert.equal(flat(out.finite)[0], 1);
  tree.dispose(out.state);
});

test("trajectoryKl by hand: τ² · mean KL(softmax(t/τ) ‖ softmax(z/τ)); 0 for t = z", () => {
  // KL rows (see above) = [0.134998, 0.071892]; τ² · mean = 4 · 0.103445 = 0.413779
  const z = np.array([[0.5, -0.6], [1.5, 0.3]]);
  assertClose(flat(trajectoryKl(z.ref, linTeacher(), 2)), 0.4137790, 1e-6);
  assertClose(flat(trajectoryKl(z.ref, z, 2)), 0, 1e-7);
  // A teacher far out (softmax(t/τ) underflows to 0 in a class) stays finite.
  assert.ok(Number.isFinite(flat(trajectoryKl(np.array([[0, 0]]), np.array([[1e4, -1e4]]), 1))[0]));
});

test("saf: exactly one gradient pass per step — lossWithLogits once, the plain loss never (before and after the start)", () => {
  let calls = 0;
  let plainCalls = 0;
  const counted = (w: np.Array, b: LinBatch) => (calls++, linWithLogits(w, b));
  const countedLoss = (w: np.Array, b: LinBatch) => (plainCalls++, linLoss(w, b));
  const opt = saf(sgd({ learningRate: 0.1 }), { lambda: 0.5, startEpoch: 2, stepsPerEpoch: 1 });
  let w = np.array([0.5, -0.3]);
  let s = opt.init(w.ref);
  for (let t = 0; t < 3; t++) {
    const before = calls;
    const teacher = opt.logitsTerm!.needsTeacher(t) ? { teacher: linTeacher() } : {};
    assert.equal(opt.logitsTerm!.needsTeacher(t), t >= 1, `step ${t}`);
    const out = opt.step(countedLoss as LossFn, w, s, linBatch(), { phase: opt.phase(t), lossWithLogits: counted as LogitsLossFn, ...teacher });
    assert.equal(calls - before, 1, `step ${t}: one forward+backward`);
    assert.deepEqual(out.logits!.shape, [2, 2], "logits returned on every step (the memory records them)");
    tree.dispose([out.loss, out.finite, out.logits!]);
    w = out.params;
    s = out.state;
  }
  assert.equal(plainCalls, 0);
  assert.equal(opt.logitsTerm!.returnsLogits, true);
  tree.dispose([w, s]);
});

// ---- the tiny MLP ----


const { init, batches } = tinyProblem(4, 6);
const base = () => sgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4 });
/** Teacher logits [batch, classes] for step t (seeded). */
const teacherData = (t: number) => {
  const r = mulberry32(100 + t);
  return Array.from({ length: DIMS.batch }, () => Array.from({ length: DIMS.out }, () => (r() * 2 - 1) * 3));
};

/** Final params and state after one step per batch (phasedStep; teacher given where needed), and the returned logits. */
function run(opt: SharpnessAwareOptimizer<any>, { jitted = true, data = batches, teachers = undefined as number[][][] | undefined }: { jitted?: boolean; data?: typeof batches; teachers?: number[][][] } = {}) {
  const given = teachers ?? data.map((_, t) => teacherData(t));
  const step = phasedStep(opt, tinyLoss, { jitted, lossWithLogits: tinyWithLogits as LogitsLossFn });
  let p = toParams(init);
  let s = opt.init(tree.ref(p));
  const logits: number[][] = [];
  const finite: number[] = [];
  data.forEach((b, t) => {
    const inputs = opt.logitsTerm?.needsTeacher(t) ? { teacher: np.array(given[t]) } : {};
    const out = step(p, s, toBatch(b), t, inputs);
    out.loss.dispose();
    finite.push(flat(out.finite)[0]);
    if (out.logits) logits.push(flat(out.logits));
    p = out.params;
    s = out.state;
  });
  step.dispose();
  return { p, s, logits, finite };
}

test("saf reduction: λ = 0 is the base optimizer exactly (no term, no logits)", () => {
  const a = run(saf(base(), { lambda: 0, startEpoch: 1 }));
  const b = run(plain(base()));
  assert.equal(a.logits.length, 0);
  assert.equal(maxTreeDiff(a.p, b.p), 0);
  assert.equal(maxTreeDiff(a.s, b.s), 0, "state");
});

test("saf reduction: before startEpoch the step is the base optimizer's exactly; from it on it differs", () => {
  // 2 steps per epoch, startEpoch 3: steps 0-3 are epochs 1-2 (no term), steps 4-5 epoch 3.
  const opt = () => saf(base(), { lambda: 0.5, startEpoch: 3, stepsPerEpoch: 2 });
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((t) => opt().phase(t)), ["before-start", "before-start", "before-start", "before-start", "step", "step"]);
  const a = run(opt(), { data: batches.slice(0, 4) });
  const b = run(plain(base()), { data: batches.slice(0, 4) });
  assert.equal(maxTreeDiff(a.p, b.p), 0, "epochs 1-2");
  assert.equal(a.logits.length, 4, "logits recorded before the start too");
  tree.dispose([a.s, b.s]);
  const c = run(opt());
  const d = run(plain(base()));
  assert.ok(maxTreeDiff(c.p, d.p) > 1e-4, "epoch 3 adds the term");
  tree.dispose([c.s, d.s]);
});

test("saf: accumulate 2 (the teacher split like the batch) ≡ the whole-batch step; the returned logits are the batch's rows in order", () => {
  const a = run(saf(base(), { lambda: 0.5, startEpoch: 1, accumulate: 2 }));
  const b = run(saf(base(), { lambda: 0.5, startEpoch: 1 }));
  const d = maxTreeDiff(a.p, b.p);
  assert.ok(d <= 1e-6, `params differ by ${d}`);
  assertClose(a.logits.flat(), b.logits.flat(), 1e-5, "logits");
  tree.dispose([a.s, b.s]);
});

test("saf jit ≡ eager", () => {
  const a = run(saf(base(), { lambda: 0.5, temperature: 2, startEpoch: 1 }), { jitted: true });
  const b = run(saf(base(), { lambda: 0.5, temperature: 2, startEpoch: 1 }), { jitted: false });
  const d = maxTreeDiff(a.p, b.p);
  assert.ok(d <= 1e-6, `${d}`);
  assertClose(a.logits.flat(), b.logits.flat(), 1e-5);
  tree.dispose([a.s, b.s]);
});

test("saf ownership: step consumes params, state, batch and teacher; .ref keeps them alive; the state is stable", () => {
  const opt = saf(base(), { lambda: 0.5, startEpoch: 1 });
  const p = toParams(init);
  const s = opt.init(tree.ref(p));
  const sig = (x: any) => tree.structure(x).toString() + JSON.stringify((tree.leaves(x) as np.Array[]).map((a) => [a.shape, a.dtype]));
  const s0 = sig(s);
  const b = toBatch(batches[0]);
  const t = np.array(teacherData(0));
  const kept = p.w1.ref;
  const keptTeacher = t.ref;
  const out = opt.step(tinyLoss as LossFn, p, s, b, { lossWithLogits: tinyWithLogits as LogitsLossFn, teacher: t });
  assert.equal(p.b1.refCount, 0, "params consumed");
  assert.equal(s.count.refCount, 0, "state consumed");
  assert.equal(b.x.refCount, 0, "batch consumed");
  assert.equal(keptTeacher.refCount, 1, "the teacher consumed once, its .ref survives");
  assert.equal(kept.refCount, 1, ".ref survives");
  assert.equal(sig(out.state), s0);
  assert.deepEqual(out.logits!.shape, [DIMS.batch, DIMS.out]);
  tree.dispose([kept, keptTeacher, out.params, out.state, out.loss, out.finite, out.logits!]);
});

test("saf: no live-buffer growth over 30 jitted steps (teacher in, logits out), nothing left after disposal", async () => {
  const opt = saf(base(), { lambda: 0.5, startEpoch: 2, stepsPerEpoch: 3 });
  const inputs = (t: number) => (opt.logitsTerm!.needsTeacher(t) ? { teacher: np.array(teacherData(t % 6)) } : {});
  const { early, late, left } = await liveBuffersOver(opt, init, batches, { stepOptions: { lossWithLogits: tinyWithLogits as LogitsLossFn }, inputs });
  assert.equal(late, early, `${early} → ${late}`);
  assert.equal(left, 0, `${left} left after disposal`);
});

for (const jitted of [false, true]) {
  test(`saf: a NaN batch is skipped exactly (params and state as without it)${jitted ? " (jit)" : ""}`, () => {
    const nanBatch = (b: { x: number[][]; y: number[] }) => ({ x: b.x.map((r, i) => (i === 0 ? r.map(() => NaN) : r)), y: b.y });
    const teachers = batches.map((_, t) => teacherData(t));
    const opt = () => saf(base(), { lambda: 0.5, startEpoch: 1 });
    const poisoned = run(opt(), { jitted, data: batches.map((b, i) => (i === 2 ? nanBatch(b) : b)), teachers });
    const clean = run(opt(), { jitted, data: batches.filter((_, i) => i !== 2), teachers: teachers.filter((_, i) => i !== 2) });
    assert.deepEqual(poisoned.finite, [1, 1, 0, 1, 1, 1]);
    assert.ok(poisoned.logits[2].some((v) => Number.isNaN(v)), "the skipped step's logits carry the NaN (the trainer records nothing then)");
    assert.equal(maxTreeDiff(poisoned.p, clean.p), 0, "params");
    const { skipped: a, ...ra } = poisoned.s;
    const { skipped: b, ...rb } = clean.s;
    assert.deepEqual([flat(a)[0], flat(b)[0]], [1, 0]);
    assert.equal(maxTreeDiff(ra, rb), 0, "state");
  });
}

// ---- the memory ----

test("SafMemory: epoch e records into slot (e − 1) mod (m + 1) and reads what epoch e − m recorded; zeros before", () => {
  const mem = new SafMemory(4, 2, 2); // 3 slots
  assert.deepEqual(mem.shape, [3, 4, 2]);
  assert.deepEqual(Array.from(mem.teacher([0, 3], 1)), [0, 0, 0, 0], "nothing recorded yet: zeros (a uniform teacher)");
  mem.record([3, 1], 1, [1, 2, 3, 4]); // epoch 1: example 3 → [1, 2], example 1 → [3, 4]
  mem.record([0], 2, [5, 6]);
  assert.deepEqual(Array.from(mem.teacher([1, 3, 0], 3)), [3, 4, 1, 2, 0, 0], "epoch 3 reads epoch 1");
  assert.deepEqual(Array.from(mem.teacher([0], 4)), [5, 6], "epoch 4 reads epoch 2");
  mem.record([1], 4, [7, 8]); // slot of epoch 4 = slot of epoch 1: overwritten
  assert.deepEqual(Array.from(mem.teacher([1, 3], 6)), [7, 8, 1, 2], "epoch 6 reads epoch 4; example 3, not seen in epoch 4, keeps epoch 1's");
  const copy = new SafMemory(4, 2, 2);
  copy.load(mem.data);
  assert.deepEqual(Array.from(copy.teacher([1, 3], 6)), [7, 8, 1, 2]);
  assert.throws(() => mem.record([0], 1, [1]), /^RangeError: SafMemory: 1 examples need 2 logits \(got 1\)$/);
  assert.throws(() => new SafMemory(4, 2, 0), /^RangeError: SafMemory: minusEpoch must be an integer ≥ 1 \(got 0\)$/);
});

test("classificationLossWithLogits: the loss and aux of classificationLoss, and the logits of the same forward pass", () => {
  const model = mlp({ sizes: [6, 5, 3], batchNorm: true });
  const x = np.array(Array.from({ length: 8 }, (_, i) => Array.from({ length: 6 }, (_, j) => Math.sin(i * 6 + j))));
  const y = np.array([0, 1, 2, 0, 1, 2, 0, 1], { dtype: np.int32 });
  const { params, state } = model.init(0);
  const [l, s1] = classificationLoss(model)(tree.ref(params), { x: x.ref, y: y.ref, state: tree.ref(state) });
  const [l2, z, s2] = classificationLossWithLogits(model)(tree.ref(params), { x: x.ref, y: y.ref, state: tree.ref(state) });
  assert.deepEqual(z.shape, [8, 3]);
  const lv = flat(l)[0];
  assert.equal(flat(l2)[0], lv);
  assert.equal(flat(crossEntropy(z, y))[0], lv, "the logits are the forward pass's");
  assert.equal(maxTreeDiff(s1, s2), 0);
  tree.dispose([params, state, x]);
});

// ---- errors ----

test("saf: bad options are one-line RangeErrors naming the option, value and range", () => {
  const b = sgd({ learningRate: 0.1 });
  const oneLine = (re: RegExp) => (e: Error) => e instanceof RangeError && re.test(e.message) && !e.message.includes("\n");
  assert.throws(() => saf(b, { lambda: -0.1, stepsPerEpoch: 1 }), oneLine(/^saf: lambda must be a finite number ≥ 0 \(got -0.1\)$/));
  assert.throws(() => saf(b, { temperature: 0, stepsPerEpoch: 1 }), oneLine(/^saf: temperature must be a finite number > 0 \(got 0\)$/));
  assert.throws(() => saf(b, { startEpoch: 0 }), oneLine(/^saf: startEpoch must be an integer ≥ 1 \(got 0\)$/));
  assert.throws(() => saf(b, { startEpoch: 1.5 }), oneLine(/^saf: startEpoch must be an integer ≥ 1 \(got 1.5\)$/));
  assert.throws(() => saf(b, { minusEpoch: 0, stepsPerEpoch: 1 }), oneLine(/^saf: minusEpoch must be an integer ≥ 1 \(got 0\)$/));
  assert.throws(() => saf(b), oneLine(/^saf: stepsPerEpoch must be an integer ≥ 1 \(got undefined\)$/), "startEpoch 7 counts epochs");
  assert.throws(() => saf(b, { stepsPerEpoch: 0 }), oneLine(/^saf: stepsPerEpoch must be an integer ≥ 1 \(got 0\)$/));
  assert.throws(() => saf(b, { lamda: 0.5 } as never), /saf: unknown option "lamda"/);
  assert.doesNotThrow(() => saf(b, { startEpoch: 1 }), "startEpoch 1 needs no stepsPerEpoch");
  assert.deepEqual(
    Object.fromEntries(Object.entries(safDescriptor.params).map(([k, h]) => [k, h.default])),
    { lambda: 0.16, temperature: 5, startEpoch: 7, minusEpoch: 3 },
  );
});

test("saf: a step without lossWithLogits or (with the term) without a teacher is a one-line Error; a misshapen teacher a RangeError", () => {
  const opt = saf(base(), { lambda: 0.5, startEpoch: 1 });
  const p = toParams(init);
  const attempt = (o: Record<string, unknown>) => opt.step(tinyLoss as LossFn, tree.ref(p), opt.init(tree.ref(p)), toBatch(batches[0]), o);
  assert.throws(() => attempt({ teacher: np.array(teacherData(0)) }), (e: Error) => e.constructor === Error && /^saf: step needs options\.lossWithLogits, the loss and the logits \[n, classes\]/.test(e.message) && !e.message.includes("\n"));
  assert.throws(() => attempt({ lossWithLogits: tinyWithLogits }), (e: Error) => e.constructor === Error && /^saf: step needs options\.teacher, the teacher logits \[n, classes\] of the batch/.test(e.message) && !e.message.includes("\n"));
  assert.throws(() => attempt({ lossWithLogits: tinyWithLogits, teacher: np.zeros([DIMS.batch, 2]) }), /^RangeError: saf: the teacher logits have shape \[8, 2\], the model's logits \[8, 3\]$/);
  assert.throws(() => attempt({ lossWithLogits: tinyLoss, teacher: np.array(teacherData(0)) }), /^TypeError: saf: lossWithLogits must return \[loss, logits\] \(without hasAux\)$/);
  assert.throws(() => attempt({ lossWithLogits: tinyWithLogits, teacher: np.array(teacherData(0)), ascentBatch: toBatch(batches[1]) }), /^RangeError: saf: a term on the logits takes the clean pass on the batch itself/);
  // Before the start no teacher is needed (a given one is disposed).
  const late = saf(base(), { lambda: 0.5, startEpoch: 2, stepsPerEpoch: 5 });
  const t = np.array(teacherData(0));
  const out = late.step(tinyLoss as LossFn, tree.ref(p), late.init(tree.ref(p)), toBatch(batches[0]), { phase: late.phase(0), lossWithLogits: tinyWithLogits as LogitsLossFn, teacher: t });
  assert.equal(t.refCount, 0, "an unneeded teacher is disposed");
  tree.dispose([out.params, out.state, out.loss, out.finite, out.logits!, p]);
});
