/**
 * ESAM (src/sam/esam.ts) and the core's example-selection hook (`Perturbation.selectExamples`,
 * `StepOptions.perExampleLoss`): a step by hand with examples dropped, the hook's own arithmetic
 * (losses, aux, telemetry), the reductions (β = γ = 1 ≡ SAM, ρ = 0 ≡ base, an all-ones selection
 * ≡ SAM also under accumulation and m-SAM), SWP's draws and 1/β scale against SAM restricted to
 * the drawn leaves, accumulation, jit ≡ eager, ownership, no live-buffer growth, a NaN batch, the
 * per-example classification loss on an MLP with BatchNorm, and bad options.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { nn, numpy as np, tree } from "@jax-js/jax";
import { classificationLoss, mlp, phasedStep, plain, sam, sgd, type SharpnessAwareOptimizer } from "../../src/index.js";
import { esam, esamDescriptor } from "../../src/sam/esam.js";
import { makeSharpnessAware, noExtraState, type LossFn } from "../../src/sam/core.js";
import { normalizedPerturbation } from "../../src/sam/sam.js";
import { classificationLossPerExample } from "../../src/models/loss.js";
import { assertClose, flat, maxTreeDiff, setup } from "../helpers.js";
import { DIMS, tinyLoss, tinyProblem, toBatch, toParams, type TinyBatch, type TinyParams, runTiny, liveBuffersOver, assertStepOwnership } from "../fixtures.js";

before(setup);

// ---- a step by hand ----

/** lᵢ(w) = aᵢ w₁² + bᵢ w₂ for the rows xᵢ = [aᵢ, bᵢ] of the batch: [n]. Consumes both. */
const perQuad = (w: np.Array, b: { x: np.Array }) => np.matmul(b.x, np.square(w.ref).mul(np.array([1, 0])).add(w.mul(np.array([0, 1]))));
const meanQuad = (w: np.Array, b: { x: np.Array }) => np.mean(perQuad(w, b));
const quadBatch = () => ({ x: np.array([[1, 1], [2, -1], [0, 2], [3, 0]]) });

test("esam: one step by hand — β 1, γ 0.75 drops two of four examples (SGD lr 0.1, ρ 0.1)", () => {
  // w = [1, 2]; a = [1, 2, 0, 3], b = [1, −1, 2, 0]; l(w) = [3, 0, 4, 3], L = 2.5
  // g = [2·w₁·mean(a), mean(b)] = [3, 0.5]; ‖g‖ = √9.25 = 3.041381; ε = 0.1 g/‖g‖ = [0.098639, 0.016440]
  // l(w + ε) = a·1.098639² + b·2.016440 = [3.223448, 0.397577, 4.032880, 3.621026]
  // s = l(w + ε) − l(w) = [0.223448, 0.397577, 0.032880, 0.621026]
  // ⌊4·0.75⌋ = 3; the 3rd largest s is 0.223448 (example 0); strictly above: examples 1 and 3
  // g_s = [2·1.098639·mean(2, 3), mean(−1, 0)] = [5.493197, −0.5]; w' = w − 0.1 g_s = [0.450680, 2.05]
  // (SAM, every example: g_s = [3.295918, 0.5], w' = [0.670408, 1.95])
  const opt = esam(sgd({ learningRate: 0.1 }), { rho: 0.1, beta: 1, gamma: 0.75 });
  const w = np.array([1, 2]);
  const out = opt.step(meanQuad as LossFn, w, opt.init(w.ref), quadBatch(), { perExampleLoss: perQuad as LossFn });
  assertClose(flat(out.params), [0.4506803, 2.05], 1e-6);
  assertClose(flat(out.loss), 2.5, 1e-6, "loss at the clean w");
  assert.equal(flat(out.finite)[0], 1);
  tree.dispose(out.state);
});

test("selectExamples hook: aux of the clean or the perturbed pass, and telemetry from the per-example losses (by hand)", () => {
  // Same problem; the loss's aux is the point it was evaluated at. Clean aux = w = [1, 2];
  // perturbed aux = w + ε = [1.098639, 2.016440]; L(w) = 2.5; L(w + ε) = mean(l(w + ε)) = 2.818733.
  // (w·1, not w: jax-js 0.1.25 hands back an aux that is the differentiated input itself as a tracer.)
  const perAux = (w: np.Array, b: { x: np.Array }) => [perQuad(w.ref, b), w.mul(1)];
  const meanAux = (w: np.Array, b: { x: np.Array }) => [meanQuad(w.ref, b), w.mul(1)];
  const opt = esam(sgd({ learningRate: 0.1 }), { rho: 0.1, beta: 1, gamma: 0.75 });
  for (const auxFrom of ["clean", "perturbed"] as const) {
    const w = np.array([1, 2]);
    const out = opt.step(meanAux as LossFn, w, opt.init(w.ref), quadBatch(), { hasAux: true, perExampleLoss: perAux as LossFn, auxFrom, telemetry: true });
    assertClose(flat(out.params), [0.4506803, 2.05], 1e-6);
    assertClose(flat(out.aux), auxFrom === "clean" ? [1, 2] : [1.0986394, 2.0164399], 1e-6, `aux (${auxFrom})`);
    const t = out.telemetry!;
    assertClose(flat(t.lossClean), 2.5, 1e-6);
    assertClose(flat(t.lossPerturbed), 2.8187327, 1e-6);
    assertClose(flat(t.gap), 0.3187327, 1e-6);
    assertClose(flat(t.epsNorm), 0.1, 1e-6);
    tree.dispose([out.state, out.loss, out.finite, t.gradNorm, t.cosine]);
  }
});

// ---- the tiny MLP ----

/** Per-example cross-entropy of the tiny MLP ([batch]); its mean is `tinyLoss`. Consumes both. */
function tinyLossPer(p: TinyParams, b: TinyBatch): np.Array {
  const h = np.tanh(np.matmul(b.x, p.w1).add(p.b1));
  const logits = np.matmul(h, p.w2).add(p.b2);
  const lp = nn.logSoftmax(logits, -1);
  return np.sum(lp.mul(nn.oneHot(b.y, DIMS.out).astype(lp.dtype)), -1).neg();
}

const { init, batches } = tinyProblem(3, 4);
const base = () => sgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4 });

/** The tiny MLP's final params after one step per batch (phasedStep, with per-example losses). */
const run = (opt: SharpnessAwareOptimizer<any>, jitted = false, data = batches): TinyParams => runTiny(opt, init, data, { jitted, perExampleLoss: tinyLossPer as LossFn });

/** A SAM variant whose selection keeps every example: exercises the hook's passes against SAM. */
function samKeepAll(rho: number, core: Record<string, unknown> = {}, m?: number) {
  return makeSharpnessAware<any, Record<string, never>>(base(), {
    name: "keepAll",
    trivial: false,
    initExtra: noExtraState,
    perturb(g, params, extra, count) {
      tree.dispose([params, count]);
      return [normalizedPerturbation(g, rho), extra];
    },
    selectExamples(clean, perturbed, extra, count) {
      count.dispose();
      perturbed.dispose();
      return [np.onesLike(clean), extra];
    },
  }, m, core);
}

const reductions: [string, () => SharpnessAwareOptimizer<any>, () => SharpnessAwareOptimizer<any>, number][] = [
  ["β = 1, γ = 1 ≡ SAM (4 steps, exactly)", () => esam(base(), { rho: 0.1, beta: 1, gamma: 1 }), () => sam(base(), { rho: 0.1 }), 0],
  ["ρ = 0 ≡ base (exactly)", () => esam(base(), { rho: 0 }), () => plain(base()), 0],
  ["hook: an all-ones selection ≡ SAM", () => samKeepAll(0.1), () => sam(base(), { rho: 0.1 }), 1e-6],
  ["hook: an all-ones selection ≡ SAM, accumulate 4 (global)", () => samKeepAll(0.1, { accumulate: 4 }), () => sam(base(), { rho: 0.1 }), 1e-6],
  ["hook: an all-ones selection ≡ m-SAM, m = 4", () => samKeepAll(0.1, {}, 4), () => sam(base(), { rho: 0.1, m: 4 }), 1e-6],
  ["ESAM accumulate 2 (global) ≡ ESAM on the whole batch", () => esam(base(), { rho: 0.1, beta: 0.5, gamma: 0.5, seed: 2, accumulate: 2 }), () => esam(base(), { rho: 0.1, beta: 0.5, gamma: 0.5, seed: 2 }), 1e-6],
];
for (const [name, ours, expected, tol] of reductions) {
  test(`esam reduction: ${name}`, () => {
    const d = maxTreeDiff(run(ours()), run(expected()));
    assert.ok(d <= tol, `${name}: max diff ${d}`);
  });
}

test("esam reductions are not vacuous: γ < 1 and β < 1 each differ from SAM; per-micro-batch selection differs from global", () => {
  const samP = () => run(sam(base(), { rho: 0.1 }));
  assert.ok(maxTreeDiff(run(esam(base(), { rho: 0.1, beta: 1, gamma: 0.5 })), samP()) > 1e-4, "γ 0.5");
  assert.ok(maxTreeDiff(run(esam(base(), { rho: 0.1, beta: 0.5, gamma: 1, seed: 1 })), samP()) > 1e-4, "β 0.5");
  const global = run(esam(base(), { rho: 0.1, gamma: 0.5, accumulate: 2 }));
  const micro = run(esam(base(), { rho: 0.1, gamma: 0.5, accumulate: 2, accumulateMode: "per-micro-batch" }));
  assert.ok(maxTreeDiff(global, micro) > 1e-5);
});

// ---- SWP ----

test("esam SWP: β 0.5 draws a different leaf set across steps (all on step 0); ε on the drawn leaves is SAM's ×1/β", () => {
  // ε is read as `ascent − w` (StepOptions.at = w). At each step the same point and batch go through
  // SAM with ρ/β restricted to the leaves ESAM drew (perturbLeaves), which must give the same ε.
  const rho = 0.05;
  const beta = 0.5;
  const data = tinyProblem(5, 10).batches;
  const draws = (seed: number) => {
    const opt = esam(base(), { rho, beta, gamma: 1, seed });
    let p: any = toParams(init);
    let s = opt.init(tree.ref(p));
    const sets: string[] = [];
    data.forEach((b, t) => {
      const out = opt.step(tinyLoss as LossFn, tree.ref(p), s, toBatch(b), { at: tree.ref(p) });
      const eps = tree.map((a: np.Array, w: np.Array) => a.sub(w), out.ascent!, tree.ref(p)) as TinyParams;
      const names = Object.keys(eps) as (keyof TinyParams)[];
      const drawn = names.filter((k) => flat(np.max(np.abs(eps[k].ref))) [0] > 0);
      sets.push(drawn.join(","));
      if (seed === 7 && drawn.length > 0) {
        // SAM restricted to the drawn leaves, radius ρ/β, at the same point and batch.
        const ref = sam(base(), { rho: rho / beta, perturbLeaves: (path) => drawn.includes(path as keyof TinyParams) });
        const r = ref.step(tinyLoss as LossFn, tree.ref(p), ref.init(tree.ref(p)), toBatch(b), { at: tree.ref(p) });
        const epsSam = tree.map((a: np.Array, w: np.Array) => a.sub(w), r.ascent!, tree.ref(p));
        assert.ok(maxTreeDiff(tree.ref(eps), epsSam) <= 1e-7, `step ${t}: ε differs from SAM's on {${drawn}}`);
        tree.dispose([r.params, r.state, r.loss, r.finite]);
        assertClose(flat(np.sqrt(np.sum(np.stack(names.map((k) => np.sum(np.square(eps[k].ref))))))), rho / beta, 1e-6, `‖ε‖ at step ${t}`);
      }
      tree.dispose([eps, p, out.loss, out.finite]);
      p = out.params;
      s = out.state;
    });
    tree.dispose([p, s]);
    return sets;
  };
  const a = draws(7);
  assert.equal(a[0], "w1,b1,w2,b2", "step 0 perturbs every leaf (the code's requires_grad starts on)");
  assert.ok(new Set(a.slice(1)).size >= 3, `leaf sets across steps: ${a.join(" | ")}`);
  assert.ok(a.slice(1).some((x) => x !== "w1,b1,w2,b2"), "some step leaves a leaf out");
  assert.deepEqual(draws(7), a, "the same seed draws the same sets");
  assert.notDeepEqual(draws(8), a, "another seed draws other sets");
});

// ---- jit, state, ownership, buffers, NaN ----

const family: [string, () => SharpnessAwareOptimizer<any>][] = [
  ["default (ρ 0.05, β 0.5, γ 0.5)", () => esam(base())],
  ["β 1, γ 0.75, ρ 0.1", () => esam(base(), { rho: 0.1, beta: 1, gamma: 0.75 })],
];
for (const [name, make] of family) {
  test(`esam jit ≡ eager: ${name}`, () => {
    const d = maxTreeDiff(run(make(), true), run(make(), false));
    assert.ok(d <= 1e-5, `${name}: ${d}`);
  });
}

test("esam state: the key's structure, shape and dtype are stable across steps", () => {
  const opt = esam(base());
  let p = toParams(init);
  let s = opt.init(tree.ref(p));
  const sig = (x: any) => tree.structure(x).toString() + JSON.stringify((tree.leaves(x) as np.Array[]).map((a) => [a.shape, a.dtype]));
  const before0 = sig(s);
  for (const b of batches.slice(0, 2)) {
    const out = opt.step(tinyLoss as LossFn, p, s, toBatch(b), { perExampleLoss: tinyLossPer as LossFn });
    tree.dispose([out.loss, out.finite]);
    p = out.params;
    s = out.state;
  }
  assert.equal(sig(s), before0);
  tree.dispose([p, s]);
});

test("esam ownership: step consumes params, state and batch; .ref keeps them alive", () => {
  const opt = esam(base());
  const p = toParams(init);
  assertStepOwnership(opt, p, opt.init(tree.ref(p)), toBatch(batches[0]), { perExampleLoss: tinyLossPer as LossFn });
});

test("esam: no live-buffer growth over 30 jitted steps, nothing left after disposal", async () => {
  for (const [name, make] of family) {
    const { early, late, left } = await liveBuffersOver(make(), init, batches, { stepOptions: { perExampleLoss: tinyLossPer as LossFn } });
    assert.equal(late, early, `${name}: ${early} → ${late}`);
    assert.equal(left, 0, `${name}: ${left} left after disposal`);
  }
});

for (const jitted of [false, true]) {
  test(`esam: a NaN batch is skipped and leaves no trace (params and state, key included, as without it)${jitted ? " (jit)" : ""}`, () => {
    const nanBatch = (b: { x: number[][]; y: number[] }) => ({ x: b.x.map((r, i) => (i === 0 ? r.map(() => NaN) : r)), y: b.y });
    const data = tinyProblem(11, 6).batches;
    const over = (bs: typeof data) => {
      const opt = esam(base(), { rho: 0.1 });
      const step = phasedStep(opt, tinyLoss, { jitted, perExampleLoss: tinyLossPer as LossFn });
      let p = toParams(init);
      let s = opt.init(tree.ref(p));
      const finite: number[] = [];
      bs.forEach((b, t) => {
        const out = step(p, s, toBatch(b), t);
        out.loss.dispose();
        finite.push(flat(out.finite)[0]);
        p = out.params;
        s = out.state;
      });
      step.dispose();
      const { skipped, ...rest } = s;
      return { p, rest, skipped: flat(skipped)[0], finite };
    };
    const poisoned = over(data.map((b, i) => (i === 2 ? nanBatch(b) : b)));
    const clean = over(data.filter((_, i) => i !== 2));
    assert.deepEqual(poisoned.finite, [1, 1, 0, 1, 1, 1]);
    assert.equal(poisoned.skipped, 1);
    assert.equal(maxTreeDiff(poisoned.p, clean.p), 0, "params");
    assert.equal(maxTreeDiff(poisoned.rest, clean.rest), 0, "state");
  });
}

// ---- the classification losses ----

test("classificationLossPerExample: its mean is classificationLoss, same aux; ESAM's first step keeps SAM's clean BatchNorm statistics", () => {
  const model = mlp({ sizes: [6, 5, 3], batchNorm: true });
  const x = np.array(Array.from({ length: 8 }, (_, i) => Array.from({ length: 6 }, (_, j) => Math.sin(i * 6 + j))));
  const y = np.array([0, 1, 2, 0, 1, 2, 0, 1], { dtype: np.int32 });
  const loss = classificationLoss(model);
  const per = classificationLossPerExample(model);
  const { params, state } = model.init(0);
  const [l, s1] = loss(tree.ref(params), { x: x.ref, y: y.ref, state: tree.ref(state) });
  const [v, s2] = per(tree.ref(params), { x: x.ref, y: y.ref, state: tree.ref(state) });
  assert.deepEqual(v.shape, [8]);
  assertClose(flat(np.mean(v)), flat(l), 1e-6);
  assert.equal(maxTreeDiff(s1, s2), 0);

  const first = (opt: SharpnessAwareOptimizer<any>) => {
    const step = phasedStep(opt, loss, { hasAux: true, perExampleLoss: per });
    const out = step(tree.ref(params), opt.init(tree.ref(params)), { x: x.ref, y: y.ref, state: tree.ref(state) }, 0);
    assert.equal(flat(out.finite)[0], 1);
    step.dispose();
    tree.dispose([out.params, out.state]);
    return { aux: out.aux, loss: flat(out.loss)[0] };
  };
  const a = first(esam(sgd({ learningRate: 0.1 }), { rho: 0.5 }));
  const b = first(sam(sgd({ learningRate: 0.1 }), { rho: 0.5 }));
  assert.ok(maxTreeDiff(a.aux, b.aux) <= 1e-6, "running statistics from the clean pass");
  assertClose(a.loss, b.loss, 1e-6);
  tree.dispose([params, state, x, y]);
});

// ---- errors ----

test("esam: bad options are one-line RangeErrors naming the option, value and range", () => {
  const b = sgd({ learningRate: 0.1 });
  const oneLine = (re: RegExp) => (e: Error) => e instanceof RangeError && re.test(e.message) && !e.message.includes("\n");
  assert.throws(() => esam(b, { beta: 0 }), oneLine(/^esam: beta must be a finite number in \(0, 1\] \(got 0\)$/));
  assert.throws(() => esam(b, { beta: 1.5 }), oneLine(/^esam: beta .*\(got 1.5\)$/));
  assert.throws(() => esam(b, { gamma: 0 }), oneLine(/^esam: gamma must be a finite number in \(0, 1\] \(got 0\)$/));
  assert.throws(() => esam(b, { gamma: 1.01 }), oneLine(/^esam: gamma .*\(got 1.01\)$/));
  assert.throws(() => esam(b, { rho: -0.05 }), oneLine(/^esam: rho must be a finite number ≥ 0 \(got -0.05\)$/));
  assert.throws(() => esam(b, { seed: 0.5 }), oneLine(/^esam: seed must be an integer/));
  assert.throws(() => esam(b, { betta: 0.5 } as never), /esam: unknown option "betta"/);
  assert.equal(esamDescriptor.params.rho.default, 0.05);
  assert.equal(esamDescriptor.params.beta.default, 0.5);
  assert.equal(esamDescriptor.params.gamma.default, 0.5);
});

test("esam: a step without perExampleLoss is a one-line Error (γ < 0.99); γ ≥ 0.99 and ρ = 0 need none", () => {
  const opt = esam(base(), { gamma: 0.5 });
  const p = toParams(init);
  assert.throws(
    () => opt.step(tinyLoss as LossFn, tree.ref(p), opt.init(tree.ref(p)), toBatch(batches[0])),
    (e: Error) => e.constructor === Error && /^esam: step needs options\.perExampleLoss, the per-example losses \[n\]/.test(e.message) && !e.message.includes("\n"),
  );
  for (const o of [esam(base(), { gamma: 0.99 }), esam(base(), { rho: 0 })]) {
    const out = o.step(tinyLoss as LossFn, tree.ref(p), o.init(tree.ref(p)), toBatch(batches[0]));
    assert.equal(flat(out.finite)[0], 1);
    tree.dispose([out.params, out.state, out.loss]);
  }
  // ⌊nγ⌋ < 2 keeps no example on any step: refused when the step is traced.
  const tiny = esam(base(), { gamma: 0.2 });
  assert.throws(
    () => tiny.step(tinyLoss as LossFn, tree.ref(p), tiny.init(tree.ref(p)), toBatch(batches[0]), { perExampleLoss: tinyLossPer as LossFn }),
    (e: Error) => e instanceof RangeError && /^esam: gamma 0.2 keeps no example of a batch of 8 .*⌊nγ⌋ = 1/.test(e.message),
  );
  // n-SAM's separate ascent batch cannot be compared example by example.
  assert.throws(
    () => opt.step(tinyLoss as LossFn, tree.ref(p), opt.init(tree.ref(p)), toBatch(batches[0]), { perExampleLoss: tinyLossPer as LossFn, ascentBatch: toBatch(batches[1]) }),
    (e: Error) => e instanceof RangeError && /^esam: selectExamples compares per-example losses on one batch/.test(e.message),
  );
  // A per-example loss that returns a scalar is a clear TypeError.
  assert.throws(
    () => opt.step(tinyLoss as LossFn, tree.ref(p), opt.init(tree.ref(p)), toBatch(batches[0]), { perExampleLoss: tinyLoss as LossFn }),
    /esam: perExampleLoss must return one loss per example, shape \[n\] \(got \[\]\)/,
  );
  tree.dispose(p);
});
