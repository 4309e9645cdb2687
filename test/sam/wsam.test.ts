/**
 * WSAM (src/sam/wsam.ts): steps by hand in both forms, the reductions (γ = 0 ≡ base, γ = ½ ≡
 * SAM, ρ = 0 ≡ base), jit ≡ eager, ownership and no live-buffer growth, bad options.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { blockUntilReady, numpy as np, tree } from "@jax-js/jax";
import { phasedStep, plain, rhoSwitch, sam, sgd, stepSchedule, type SharpnessAwareOptimizer } from "../../src/index.js";
import { wsam, wsamDescriptor } from "../../src/sam/wsam.js";
import { assertClose, flat, maxTreeDiff, runSteps, setup, trackBuffers, quad } from "../helpers.js";
import { tinyLoss, tinyProblem, toBatch, toParams, type TinyParams, runTiny } from "../fixtures.js";

before(setup);

const steps = (opt: SharpnessAwareOptimizer<any>, loss: any, w0: number[], n: number) => runSteps(opt, loss, w0, n);

test("wsam coupled: one step by hand — w=[1,2], L=Σw², ρ 0.05, γ 0.8, SGD lr 0.1", () => {
  // α = 0.8/0.2 = 4; g = [2, 4]; ε = 0.05 g/√20 = [0.022361, 0.044721]
  // g_s = 2(w + ε) = [2.044721, 4.089443]; g_s − g = [0.044721, 0.089443]
  // d = g + 4(g_s − g) = [2.178885, 4.357771]; w' = w − 0.1 d = [0.782111, 1.564223]
  const loss = quad([1, 1]);
  const [w1] = steps(wsam(sgd({ learningRate: 0.1 }), { rho: 0.05, gamma: 0.8, decouple: false }), loss, [1, 2], 1);
  assertClose(w1, [0.7821115, 1.5642229], 1e-6);
  assert.equal(loss.calls, 2, "two gradient passes");
});

test("wsam: the two forms agree on the first momentum step and part on the second (by hand)", () => {
  // Same problem, SGD lr 0.1 with momentum μ 0.5. On L = Σw², w stays ∥ [1, 2], so every step
  // has ε = 0.05·[1, 2]/√5 and s = g_s − g = 2ε = [0.044721, 0.089443].
  // step 1: both give w1 = [0.782111, 1.564223] (buf = d or g; the decoupled term adds 0.1·4·s)
  // step 2: g1 = 2 w1 = [1.564223, 3.128446]
  //   coupled:   d1 = g1 + 4s = [1.743108, 3.486217]; buf = 0.5·[2.178885, 4.357771] + d1
  //              = [2.832551, 5.665102]; w2 = w1 − 0.1 buf = [0.498856, 0.997713]
  //   decoupled: buf = 0.5·[2, 4] + g1 = [2.564223, 5.128446];
  //              w2 = w1 − 0.1 buf − 0.1·4·s = [0.507801, 1.015601]
  const base = () => sgd({ learningRate: 0.1, momentum: 0.5 });
  const coupled = steps(wsam(base(), { rho: 0.05, gamma: 0.8, decouple: false }), quad([1, 1]), [1, 2], 2);
  const decoupled = steps(wsam(base(), { rho: 0.05, gamma: 0.8, learningRate: 0.1 }), quad([1, 1]), [1, 2], 2);
  assertClose(coupled[0], [0.7821115, 1.5642229], 1e-6, "coupled w1");
  assertClose(decoupled[0], [0.7821115, 1.5642229], 1e-6, "decoupled w1");
  assertClose(coupled[1], [0.4988563, 0.9977127], 1e-6, "coupled w2");
  assertClose(decoupled[1], [0.5078006, 1.0156012], 1e-6, "decoupled w2");
});

test("wsam decoupled: the sharpness step follows a learning-rate schedule, evaluated at the step count", () => {
  // η(t) = 0.1·2^t for SGD (no momentum) and for the sharpness term alike.
  // step 1 (η 0.1): w1 = [0.782111, 1.564223] as above
  // step 2 (η 0.2): w2 = w1 − 0.2(g1 + 4s) = [0.782111 − 0.348622, 1.564223 − 0.697243] = [0.433490, 0.866980]
  const lr = stepSchedule({ initValue: 0.1, stepSize: 1, gamma: 2 });
  const [w1, w2] = steps(wsam(sgd({ learningRate: lr }), { rho: 0.05, gamma: 0.8, learningRate: lr }), quad([1, 1]), [1, 2], 2);
  assertClose(w1, [0.7821115, 1.5642229], 1e-6);
  assertClose(w2, [0.4334898, 0.8669796], 1e-6);
});

test("wsam γ = 0 takes one pass (the base optimizer itself)", () => {
  for (const decouple of [true, false]) {
    const loss = quad([1, 3]);
    const [w1] = steps(wsam(sgd({ learningRate: 0.1 }), { gamma: 0, decouple, learningRate: 0.1 }), loss, [1, 2], 1);
    assertClose(w1, [0.8, 0.8], 1e-7); // w − 0.1·[2, 12]
    assert.equal(loss.calls, 1, `decouple ${decouple}`);
  }
});

// ---- reductions and jit ≡ eager on the tiny MLP ----

const { init, batches } = tinyProblem(3, 4);
const momentumBase = () => sgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4 });
const plainSgd = () => sgd({ learningRate: 0.1, weightDecay: 5e-4 });

const run = (opt: SharpnessAwareOptimizer<any>, jitted = false): TinyParams => runTiny(opt, init, batches, { jitted });

const reductions: [string, () => SharpnessAwareOptimizer<any>, () => SharpnessAwareOptimizer<any>][] = [
  ["γ=0 decoupled ≡ base", () => wsam(momentumBase(), { rho: 0.1, gamma: 0, learningRate: 0.1 }), () => plain(momentumBase())],
  ["γ=0 coupled ≡ base", () => wsam(momentumBase(), { rho: 0.1, gamma: 0, decouple: false }), () => plain(momentumBase())],
  ["ρ=0 decoupled ≡ base", () => wsam(momentumBase(), { rho: 0, gamma: 0.9, learningRate: 0.1 }), () => plain(momentumBase())],
  ["ρ=0 coupled ≡ base", () => wsam(momentumBase(), { rho: 0, gamma: 0.9, decouple: false }), () => plain(momentumBase())],
  ["ρ(t)=0 schedule ≡ base", () => wsam(momentumBase(), { rho: rhoSwitch(0.1, 100), learningRate: 0.1 }), () => plain(momentumBase())],
  ["γ=½ coupled ≡ SAM (momentum, wd)", () => wsam(momentumBase(), { rho: 0.1, gamma: 0.5, decouple: false }), () => sam(momentumBase(), { rho: 0.1 })],
  ["γ=½ decoupled ≡ SAM (plain SGD, wd)", () => wsam(plainSgd(), { rho: 0.1, gamma: 0.5, learningRate: 0.1 }), () => sam(plainSgd(), { rho: 0.1 })],
];
for (const [name, ours, expected] of reductions) {
  test(`wsam reduction: ${name}`, () => {
    const d = maxTreeDiff(run(ours()), run(expected()));
    assert.ok(d <= 1e-6, `${name}: max diff ${d}`);
  });
}

test("wsam reductions are not vacuous", () => {
  const samRun = () => run(sam(momentumBase(), { rho: 0.1 }));
  const baseRun = () => run(plain(momentumBase()));
  const coupled = () => run(wsam(momentumBase(), { rho: 0.1, gamma: 0.8, decouple: false }));
  const decoupled = () => run(wsam(momentumBase(), { rho: 0.1, gamma: 0.8, learningRate: 0.1 }));
  assert.ok(maxTreeDiff(coupled(), samRun()) > 1e-4, "γ 0.8 coupled vs SAM");
  assert.ok(maxTreeDiff(coupled(), baseRun()) > 1e-4, "γ 0.8 coupled vs base");
  assert.ok(maxTreeDiff(decoupled(), baseRun()) > 1e-4, "γ 0.8 decoupled vs base");
  assert.ok(maxTreeDiff(decoupled(), coupled()) > 1e-4, "decoupled vs coupled under momentum");
  assert.ok(maxTreeDiff(run(wsam(momentumBase(), { rho: 0.1, gamma: 0.5, learningRate: 0.1 })), samRun()) > 1e-4, "γ ½ decoupled with momentum is not SAM");
});

const family: [string, () => SharpnessAwareOptimizer<any>][] = [
  ["decoupled", () => wsam(momentumBase(), { rho: 0.1, learningRate: 0.1 })],
  ["coupled", () => wsam(momentumBase(), { rho: 0.1, gamma: 0.8, decouple: false })],
  ["decoupled, ERM→SAM at step 2", () => wsam(momentumBase(), { rho: rhoSwitch(0.1, 2), learningRate: 0.1 })],
];
for (const [name, make] of family) {
  test(`wsam jit ≡ eager: ${name}`, () => {
    const d = maxTreeDiff(run(make(), true), run(make(), false));
    assert.ok(d <= 1e-5, `${name}: ${d}`);
  });
}

test("wsam ownership: step consumes params, state and batch; .ref keeps them alive", () => {
  for (const [name, make] of family.slice(0, 2)) {
    const opt = make();
    const p = toParams(init);
    const s = opt.init(tree.ref(p));
    const b = toBatch(batches[0]);
    const kept = p.w1.ref;
    const keptBatch = b.x.ref;
    const out = opt.step(tinyLoss, p, s, b);
    assert.equal(p.b1.refCount, 0, `${name}: params consumed`);
    assert.equal(s.count.refCount, 0, `${name}: state consumed`);
    assert.equal(b.y.refCount, 0, `${name}: batch consumed`);
    assert.equal(kept.refCount, 1, `${name}: .ref survives`);
    assert.equal(keptBatch.refCount, 1, `${name}: batch .ref survives`);
    assert.deepEqual(kept.shape, [4, 5]);
    tree.dispose([kept, keptBatch, out.params, out.state, out.loss, out.finite]);
  }
});

test("wsam: bad options are RangeErrors naming the option, value and range", () => {
  const b = sgd({ learningRate: 0.1 });
  assert.throws(() => wsam(b, { gamma: 1, learningRate: 0.1 }), (e: Error) => e instanceof RangeError && /wsam: gamma must be a finite number in \[0, 1\) \(got 1\)/.test(e.message));
  assert.throws(() => wsam(b, { gamma: -0.1, decouple: false }), (e: Error) => e instanceof RangeError && /wsam: gamma .*got -0.1/.test(e.message));
  assert.throws(() => wsam(b, { rho: -1, learningRate: 0.1 }), (e: Error) => e instanceof RangeError && /wsam: rho must be a finite number ≥ 0 \(got -1\)/.test(e.message));
  assert.throws(() => wsam(b), (e: Error) => e instanceof RangeError && /wsam: decouple: true .* needs learningRate/.test(e.message));
  assert.throws(() => wsam(b, { learningRate: -0.1 }), (e: Error) => e instanceof RangeError && /wsam: learningRate must be a finite number ≥ 0 \(got -0.1\)/.test(e.message));
  assert.throws(() => wsam(b, { decouple: "yes" as any, learningRate: 0.1 }), /wsam: decouple must be true or false/);
  assert.throws(() => wsam(b, { gama: 0.9 } as any), /wsam: unknown option "gama"/);
  assert.equal(wsamDescriptor.params.gamma.default, 0.9);
  assert.equal(wsamDescriptor.params.decouple.default, true);
});
