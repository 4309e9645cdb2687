/**
 * "Done when": the public API reproduces float64 reference trajectories of the official code
 * (PyTorch optimizers; davda54/sam, SamsungLabs/ASAM, nblt/F-SAM step logic) on a small MLP
 * within 2e-4 over six steps, eager and jitted. The reference is reference/torchlike.ts.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { jit, numpy as np, tree, valueAndGrad } from "@jax-js/jax";
import { adam, adamw, applyUpdates, asam, fsam, sam, sgd, type GradientTransformation, type SharpnessAwareOptimizer } from "../../src/index.js";
import { setup, flat } from "../helpers.js";
import { tinyLoss, tinyProblem, toBatch, toParams, type TinyParams } from "../fixtures.js";
import * as ref from "../reference/torchlike.js";

before(setup);

const TOL = 2e-4;
const { init, batches } = tinyProblem(7, 6);

type Case = {
  name: string;
  ours: () => GradientTransformation<any> | SharpnessAwareOptimizer<any>;
  theirs: () => [ref.TorchOptimizer, ref.Ascent | null, number?];
};

const SGD = { learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4 };
const cases: Case[] = [
  { name: "sgd", ours: () => sgd(SGD), theirs: () => [ref.torchSGD(0.1, 0.9, 5e-4), null] },
  { name: "sgd nesterov", ours: () => sgd({ ...SGD, nesterov: true }), theirs: () => [ref.torchSGD(0.1, 0.9, 5e-4, true), null] },
  { name: "adam", ours: () => adam({ learningRate: 0.01, weightDecay: 1e-3 }), theirs: () => [ref.torchAdam(0.01, 1e-3), null] },
  { name: "adamw", ours: () => adamw({ learningRate: 0.01, weightDecay: 0.05 }), theirs: () => [ref.torchAdam(0.01, 0.05, true), null] },
  { name: "sam+sgd", ours: () => sam(sgd(SGD), { rho: 0.1 }), theirs: () => [ref.torchSGD(0.1, 0.9, 5e-4), ref.samAscent(0.1)] },
  { name: "sam+adamw", ours: () => sam(adamw({ learningRate: 0.01, weightDecay: 0.05 }), { rho: 0.1 }), theirs: () => [ref.torchAdam(0.01, 0.05, true), ref.samAscent(0.1)] },
  { name: "unnormalized sam", ours: () => sam(sgd(SGD), { rho: 0.1, normalize: false }), theirs: () => [ref.torchSGD(0.1, 0.9, 5e-4), ref.samAscent(0.1, false)] },
  { name: "asam η=0", ours: () => asam(sgd(SGD), { rho: 0.5, eta: 0 }), theirs: () => [ref.torchSGD(0.1, 0.9, 5e-4), ref.asamAscent(0.5, 0)] },
  { name: "asam η=0.01", ours: () => asam(sgd(SGD), { rho: 0.5, eta: 0.01 }), theirs: () => [ref.torchSGD(0.1, 0.9, 5e-4), ref.asamAscent(0.5, 0.01)] },
  { name: "fsam", ours: () => fsam(sgd(SGD), { rho: 0.1, sigma: 1, lambda: 0.6 }), theirs: () => [ref.torchSGD(0.1, 0.9, 5e-4), ref.fsamAscent(0.1, 1, 0.6)] },
  { name: "sam m=batch/2", ours: () => sam(sgd(SGD), { rho: 0.1, m: 4 }), theirs: () => [ref.torchSGD(0.1, 0.9, 5e-4), ref.samAscent(0.1), 4] },
];

/** One step function for either kind of optimizer: (params, state, batch) → [params, state]. */
function stepper(opt: GradientTransformation<any> | SharpnessAwareOptimizer<any>) {
  if ("step" in opt) {
    return (p: TinyParams, s: any, b: any) => {
      const out = opt.step(tinyLoss, p, s, b);
      out.loss.dispose();
      out.finite.dispose();
      return [out.params, out.state];
    };
  }
  return (p: TinyParams, s: any, b: any) => {
    const [l, g] = valueAndGrad(tinyLoss)(tree.ref(p), b);
    l.dispose();
    const [u, s2] = opt.update(g, s, tree.ref(p));
    return [applyUpdates(p, u), s2];
  };
}

function maxDiffTo(p: TinyParams, r: ref.P): number {
  let m = 0;
  for (const k of ["w1", "b1", "w2", "b2"] as const) {
    const v = flat(p[k].ref);
    v.forEach((x, i) => (m = Math.max(m, Math.abs(x - r[k][i]))));
  }
  return m;
}

for (const c of cases) {
  for (const mode of ["eager", "jit"] as const) {
    test(`reference trajectory: ${c.name} (${mode}) within ${TOL} over 6 steps`, () => {
      const [opt, ascent, m] = c.theirs();
      const expected = ref.trajectory(ref.fromData(init), batches, opt, ascent, m);
      const ours = c.ours();
      const f = stepper(ours);
      const step = mode === "jit" ? jit(f as any) : f;
      let p = toParams(init);
      let s = ours.init(tree.ref(p));
      let worst = 0;
      let moved = 0;
      for (let t = 0; t < batches.length; t++) {
        [p, s] = step(p, s, toBatch(batches[t])) as [TinyParams, any];
        worst = Math.max(worst, maxDiffTo(p, expected[t]));
      }
      moved = maxDiffTo(p, ref.fromData(init));
      tree.dispose([p, s]);
      if (mode === "jit") (step as any).dispose();
      assert.ok(moved > 0.05, `${c.name}: parameters barely moved (${moved}); the comparison would be vacuous`);
      assert.ok(worst <= TOL, `${c.name} (${mode}): max |ours − reference| = ${worst.toExponential(2)} > ${TOL}`);
    });
  }
}

test("the reference distinguishes the variants (differences ≥ 5× tolerance)", () => {
  const run = (c: Case) => {
    const [opt, ascent, m] = c.theirs();
    return ref.trajectory(ref.fromData(init), batches, opt, ascent, m)[5];
  };
  const last = Object.fromEntries(cases.map((c) => [c.name, run(c)]));
  const diff = (a: ref.P, b: ref.P) => Math.max(...(["w1", "b1", "w2", "b2"] as const).flatMap((k) => a[k].map((v, i) => Math.abs(v - b[k][i]))));
  for (const [a, b] of [["sgd", "sam+sgd"], ["sam+sgd", "fsam"], ["sam+sgd", "asam η=0.01"], ["asam η=0", "asam η=0.01"], ["sam+sgd", "sam m=batch/2"], ["sam+sgd", "unnormalized sam"], ["sgd", "sgd nesterov"], ["adam", "adamw"]]) {
    assert.ok(diff(last[a], last[b]) > 5 * TOL, `${a} vs ${b}: ${diff(last[a], last[b])}`);
  }
});
