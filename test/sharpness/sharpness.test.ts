/** Instruments against closed forms (issue 5). */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { numpy as np, tree } from "@jax-js/jax";
import { averageSharpness, hessianTrace, mSharpness, topEigenvalue } from "../../src/sharpness/index.js";
import { setup } from "../helpers.js";

before(setup);

// L(w) = ½ wᵀAw with A = R diag(4, 1) Rᵀ, R a 30° rotation: λ = {4, 1}, tr = 5.
const c = Math.cos(Math.PI / 6);
const s = Math.sin(Math.PI / 6);
const A = [
  [4 * c * c + s * s, 3 * c * s],
  [3 * c * s, 4 * s * s + c * c],
];
const quadLoss = (w: np.Array, _b: unknown) => np.sum(w.ref.mul(np.matmul(np.array(A), w))).mul(0.5);
const noBatch = { z: np.zeros([1]) };

test("Hessian of ½wᵀAw: λ_max = 4 by power iteration, trace = 5 by Hutchinson", async () => {
  const w = np.array([0.3, -0.2]);
  const eig = await topEigenvalue(quadLoss, w, noBatch, { iterations: 200, tol: 1e-7 });
  assert.ok(Math.abs(eig.lambdaMax - 4) < 1e-4, `λ_max ${eig.lambdaMax}`);
  const tr = await hessianTrace(quadLoss, w, noBatch, { samples: 200 });
  // zᵀAz = A11 + A22 + 2 z1 z2 A12 with z Rademacher: mean 5, each sample 5 ± 2·1.299
  assert.ok(Math.abs(tr.trace - 5) < 3 * tr.ci95 + 1e-6, `trace ${tr.trace} ± ${tr.ci95}`);
  assert.ok(tr.ci95 > 0 && tr.ci95 < 0.5);
  w.dispose();
});

test("m-sharpness on ½wᵀAw: one step = ρ‖g‖ + ½ρ² ĝᵀAĝ; the ascent finds the true max", async () => {
  const rho = 0.1;
  // at w = (1, 0.5): g = A w; one-step value exact for a quadratic
  const w0 = [1, 0.5];
  const g = [A[0][0] * w0[0] + A[0][1] * w0[1], A[1][0] * w0[0] + A[1][1] * w0[1]];
  const gn = Math.hypot(g[0], g[1]);
  const gh = [g[0] / gn, g[1] / gn];
  const quadForm = gh[0] * (A[0][0] * gh[0] + A[0][1] * gh[1]) + gh[1] * (A[1][0] * gh[0] + A[1][1] * gh[1]);
  const w = np.array(w0);
  const r = await mSharpness(quadLoss, w, [noBatch], { rho, steps: 100 });
  assert.ok(Math.abs(r.oneStep - (rho * gn + 0.5 * rho * rho * quadForm)) < 1e-5, `one step ${r.oneStep}`);
  assert.ok(r.sharpness >= r.oneStep - 1e-7 && r.suboptimality >= 1 - 1e-6);
  // at the minimum w = 0 the gradient vanishes: one step gives 0, the max is ½ρ²λ_max = 0.02
  const z = np.array([0, 0]);
  const r0 = await mSharpness(quadLoss, z, [noBatch], { rho, steps: 100 });
  assert.ok(Math.abs(r0.oneStep) < 1e-9);
  assert.ok(Math.abs(r0.sharpness - 0.5 * rho * rho * 4) < 2e-4, `max ${r0.sharpness} vs 0.02`);
  tree.dispose([w, z]);
});

test("1-sharpness of a linear model with logistic loss matches 002 §3's closed form", async () => {
  // per point: ℓ(y⟨w,x⟩ − ρ‖x‖) − ℓ(y⟨w,x⟩), ℓ(z) = log(1 + e^{−z}); m = 1, mean over points
  const X = [[1, 2, 0], [0.5, -1, 1], [-2, 0.3, 0.7], [1.5, 1.5, -1]];
  const Y = [1, -1, 1, -1];
  const w0 = [0.2, -0.4, 0.9];
  const rho = 0.3;
  const l = (z: number) => Math.log1p(Math.exp(-z));
  const expected = X.map((x, i) => {
    const m = Y[i] * x.reduce((a, v, k) => a + v * w0[k], 0);
    return l(m - rho * Math.hypot(...x)) - l(m);
  }).reduce((a, v) => a + v, 0) / X.length;
  const loss = (w: np.Array, b: { x: np.Array; y: np.Array }) => np.mean(np.log1p(np.exp(np.matmul(b.x, w).mul(b.y).neg())));
  const batches = X.map((x, i) => ({ x: np.array([x]), y: np.array([Y[i]]) }));
  const w = np.array(w0);
  const r = await mSharpness(loss, w, batches, { rho, steps: 100 });
  assert.ok(Math.abs(r.sharpness - expected) < 2e-5, `${r.sharpness} vs ${expected}`);
  assert.ok(Math.abs(r.oneStep - expected) < 2e-5, "for a linear model one step is already the max");
  tree.dispose([w, batches]);
});

test("ℓ∞ ball: the max of a linear loss gᵀδ over ‖δ‖∞ ≤ ρ is ρ‖g‖₁", async () => {
  const loss = (w: np.Array, _b: unknown) => np.sum(w.mul(np.array([3, -4, 0.5])));
  const w = np.array([1, 1, 1]);
  const r = await mSharpness(loss, w, [noBatch], { rho: 0.1, ball: "linf", steps: 20 });
  assert.ok(Math.abs(r.sharpness - 0.75) < 1e-5 && Math.abs(r.oneStep - 0.75) < 1e-5, JSON.stringify(r));
  w.dispose();
});

test("average-case sharpness on ½wᵀAw is ½σ² tr(A) (within the reported CI)", async () => {
  const w = np.array([0.3, -0.2]);
  const sigma = 0.1;
  const r = await averageSharpness(quadLoss, w, noBatch, { sigma, samples: 400 });
  // E[½(w+δ)ᵀA(w+δ) − ½wᵀAw] = ½σ² tr(A) = 0.025 (the linear term has mean 0)
  assert.ok(Math.abs(r.sharpness - 0.025) < 3 * r.ci95, `${r.sharpness} ± ${r.ci95}`);
  assert.ok(r.ci95 > 0 && r.ci95 < 0.02);
  w.dispose();
});

test("the linearize-based HVP operator matches jvp-of-grad and a float64 finite difference on the tanh MLP", async () => {
  const { hvpOperator } = await import("../../src/sharpness/index.js");
  const { hvpAt } = await import("../../src/index.js");
  const { tinyLoss, tinyProblem, toBatch, toParams } = await import("../fixtures.js");
  const { maxTreeDiff } = await import("../helpers.js");
  const { grad } = await import("@jax-js/jax");
  const { init, batches } = tinyProblem(5, 1);
  const p = toParams(init, np.float64);
  const b = toBatch(batches[0], np.float64);
  const v = tree.map((x: np.Array) => np.sin(x.ref.mul(2)), tree.ref(p));
  const op = hvpOperator(tinyLoss as any, p, b);
  const a1 = op.apply(tree.ref(v));
  const a2 = op.apply(tree.ref(v)); // reused linearization gives the same answer
  const ref = hvpAt(tinyLoss as any, false, tree.ref(p), tree.ref(b), tree.ref(v));
  const h = 0.01; // 4-point stencil (see the note in family.test.ts on float64 noise)
  const at = (k: number) => grad(tinyLoss)(tree.map((x: np.Array, y: np.Array) => x.add(y.mul(k * h)), tree.ref(p), tree.ref(v)) as any, tree.ref(b)) as any;
  const fd = tree.map((x: np.Array, y: np.Array, z: np.Array, w: np.Array) => x.sub(y).mul(8).sub(z.sub(w)).mul(1 / (12 * h)), at(1), at(-1), at(2), at(-2));
  assert.ok(maxTreeDiff(tree.ref(a1), a2) === 0);
  assert.ok(maxTreeDiff(tree.ref(a1), ref) < 1e-10);
  assert.ok(maxTreeDiff(a1, fd) < 5e-6);
  op.dispose();
  tree.dispose([p, b, v]);
});
