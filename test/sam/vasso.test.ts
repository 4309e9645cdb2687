/**
 * VaSSO (src/sam/vasso.ts): two steps by hand (the EMA matters on the second), d kept warm on
 * ρ(t) = 0 steps, the reductions (θ = 1 ≡ SAM, ρ = 0 ≡ base), jit ≡ eager, state structure,
 * ownership and no live-buffer growth, bad options.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { numpy as np, tree } from "@jax-js/jax";
import { plain, rhoInvSqrt, rhoSwitch, sam, sgd, type SharpnessAwareOptimizer } from "../../src/index.js";
import { vasso, vassoDescriptor } from "../../src/sam/vasso.js";
import { assertClose, maxTreeDiff, runSteps, setup, quad } from "../helpers.js";
import { tinyLoss, tinyProblem, toBatch, toParams, type TinyParams, runTiny, assertStepOwnership } from "../fixtures.js";

before(setup);

const steps = (opt: SharpnessAwareOptimizer<any>, loss: any, w0: number[], n: number) => runSteps(opt, loss, w0, n);

test("vasso: two steps by hand — w=[1,2], L=w₁²+3w₂², ρ 0.05, θ 0.5, SGD lr 0.1", () => {
  // step 1: g = [2, 12]; d = g (first step); ε = 0.05 d/‖d‖ = [0.008220, 0.049320]
  //         g_s = [2(1.008220), 6(2.049320)] = [2.016440, 12.295918]; w1 = w − 0.1 g_s = [0.798356, 0.770408]
  // step 2: g = [1.596712, 4.622449]; d = 0.5·[2, 12] + 0.5 g = [1.798356, 8.311224]
  //         ε = 0.05 d/‖d‖ = [0.010574, 0.048869]; g_s = [2(0.808930), 6(0.819277)] = [1.617860, 4.915664]
  //         w2 = w1 − 0.1 g_s = [0.636570, 0.278842]   (SAM, d = g, would give [0.639231, 0.338119])
  const loss = quad([1, 3]);
  const [w1, w2] = steps(vasso(sgd({ learningRate: 0.1 }), { rho: 0.05, theta: 0.5 }), loss, [1, 2], 2);
  assertClose(w1, [0.798356, 0.7704082], 1e-6);
  assertClose(w2, [0.63657, 0.2788418], 1e-6);
  assert.equal(loss.calls, 4, "two passes per step");
});

test("vasso: a ρ(t) = 0 step is one base pass that still folds g into d", () => {
  // ERM→SAM at step 1, same problem, θ 0.5:
  // step 1 (ρ = 0): w1 = w − 0.1·[2, 12] = [0.8, 0.8]; d = g = [2, 12]
  // step 2: g = [1.6, 4.8]; d = 0.5·[2, 12] + 0.5 g = [1.8, 8.4]; ε = 0.05 d/‖d‖ = [0.010476, 0.048890]
  //         w2 = w1 − 0.1·[2(0.810476), 6(0.848890)] = [0.637905, 0.290666]
  //         (a cold d = θ g would point along g: w2 = [0.636838, 0.291540])
  const loss = quad([1, 3]);
  const opt = vasso(sgd({ learningRate: 0.1 }), { rho: rhoSwitch(0.05, 1), theta: 0.5 });
  assert.deepEqual([0, 1, 2].map((t) => opt.phase(t)), ["base", "step", "step"]);
  const [w1, w2] = steps(opt, loss, [1, 2], 2);
  assertClose(w1, [0.8, 0.8], 1e-6);
  assertClose(w2, [0.6379047, 0.2906659], 1e-6);
  assert.equal(loss.calls, 1 + 2);
});

// ---- reductions, jit ≡ eager, state and ownership on the tiny MLP ----

const { init, batches } = tinyProblem(3, 4);
const base = () => sgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4 });

const run = (opt: SharpnessAwareOptimizer<any>, jitted = false): TinyParams => runTiny(opt, init, batches, { jitted });

const reductions: [string, () => SharpnessAwareOptimizer<any>, () => SharpnessAwareOptimizer<any>][] = [
  ["θ=1 ≡ SAM (4 steps)", () => vasso(base(), { rho: 0.1, theta: 1 }), () => sam(base(), { rho: 0.1 })],
  ["θ=1 ≡ SAM with ρ/√(t+1)", () => vasso(base(), { rho: rhoInvSqrt(0.1), theta: 1 }), () => sam(base(), { rho: rhoInvSqrt(0.1) })],
  ["ρ=0 ≡ base", () => vasso(base(), { rho: 0 }), () => plain(base())],
  ["ρ(t)=0 schedule ≡ base", () => vasso(base(), { rho: rhoSwitch(0.1, 100) }), () => plain(base())],
];
for (const [name, ours, expected] of reductions) {
  test(`vasso reduction: ${name}`, () => {
    const d = maxTreeDiff(run(ours()), run(expected()));
    assert.ok(d <= 1e-6, `${name}: max diff ${d}`);
  });
}

test("vasso reductions are not vacuous: θ < 1 differs from SAM, ρ > 0 from the base", () => {
  assert.ok(maxTreeDiff(run(vasso(base(), { rho: 0.1, theta: 0.5 })), run(sam(base(), { rho: 0.1 }))) > 1e-4);
  assert.ok(maxTreeDiff(run(vasso(base(), { rho: 0.1 })), run(plain(base()))) > 1e-4);
});

const family: [string, () => SharpnessAwareOptimizer<any>][] = [
  ["default (θ 0.9)", () => vasso(base(), { rho: 0.1 })],
  ["θ 0.5, ERM→SAM at step 2", () => vasso(base(), { rho: rhoSwitch(0.1, 2), theta: 0.5 })],
];
for (const [name, make] of family) {
  test(`vasso jit ≡ eager: ${name}`, () => {
    const d = maxTreeDiff(run(make(), true), run(make(), false));
    assert.ok(d <= 1e-5, `${name}: ${d}`);
  });
}

test("vasso state: d has the parameters' structure, shapes and dtypes, stable across steps", () => {
  const opt = vasso(base(), { rho: 0.1 });
  let p = toParams(init);
  let s = opt.init(tree.ref(p));
  const sig = (x: any) => tree.structure(x).toString() + JSON.stringify((tree.leaves(x) as np.Array[]).map((a) => [a.shape, a.dtype]));
  assert.equal(sig(s.extra.d), sig(p));
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

test("vasso ownership: step consumes params, state and batch; .ref keeps them alive", () => {
  const opt = vasso(base(), { rho: 0.1 });
  const p = toParams(init);
  assertStepOwnership(opt, p, opt.init(tree.ref(p)), toBatch(batches[0]));
});

test("vasso: bad options are RangeErrors naming the option, value and range", () => {
  const b = sgd({ learningRate: 0.1 });
  assert.throws(() => vasso(b, { theta: 0 }), (e: Error) => e instanceof RangeError && /vasso: theta must be a finite number in \(0, 1\] \(got 0\)/.test(e.message));
  assert.throws(() => vasso(b, { theta: 1.5 }), (e: Error) => e instanceof RangeError && /vasso: theta .*got 1.5/.test(e.message));
  assert.throws(() => vasso(b, { rho: -0.05 }), (e: Error) => e instanceof RangeError && /vasso: rho must be a finite number ≥ 0 \(got -0.05\)/.test(e.message));
  assert.throws(() => vasso(b, { thetta: 0.9 } as any), /vasso: unknown option "thetta"/);
  assert.equal(vassoDescriptor.params.theta.default, 0.9);
  assert.equal(vassoDescriptor.params.rho.default, 0.05);
});
