/**
 * The rest of the family (issue 3): a hand-computed step for each, the reductions of DESIGN §4
 * that concern it, pass counts, jit ≡ eager, ownership/no growth, zero gradient.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { grad, jit, numpy as np, tree } from "@jax-js/jax";
import { chain, clipByGlobalNorm, fasam, fisherSam, fsam, gradNormPenalty, gsam, hvpAt, lookSam, multiStepSam,
  randomPerturbation, rhoEvery, rhoInvSqrt, rhoSwitch, wsam, vasso, msam, lookbehindSam, sam, samFull, samNoise, sgd, asam, type SharpnessAwareOptimizer } from "../../src/index.js";
import { assertClose, flat, maxTreeDiff, runSteps, setup, quad } from "../helpers.js";
import { tinyLoss, tinyProblem, toBatch, toParams, type TinyParams, liveBuffersOver, runTiny } from "../fixtures.js";

before(setup);

const noBatch = () => ({ z: np.zeros([1]) });

const steps = (opt: SharpnessAwareOptimizer<any>, loss: any, w0: number[], n: number, inputs?: () => any) => runSteps(opt, loss, w0, n, { inputs });
const lr = () => sgd({ learningRate: 0.1 });

test("ℓp SAM, p = 3: ε = ρ sign(g)|g|^{q−1}/‖g‖_q^{q−1}, q = 3/2", () => {
  // L = Σw², w = [1.5, 2] → g = [3, 4]; |g|^{1/2} = [1.732051, 2]; ‖g‖_q^{1/2} = (3^1.5 + 4^1.5)^{1/3} = 2.363204
  // ε = 0.05·[1.732051, 2]/2.363204 = [0.036648, 0.042317] (‖ε‖₃ = 0.05); w' = w − 0.1·2(w + ε) = [1.192670, 1.591537]
  const [w1] = steps(sam(lr(), { rho: 0.05, p: 3 }), quad([1, 1]), [1.5, 2], 1);
  assertClose(w1, [1.1926704, 1.5915365], 2e-6);
});

test("Fisher-SAM, η = 1: ε = ρ f⁻¹g/√(gᵀf⁻¹g), f = 1 + η g²", () => {
  // g = [2, 4]; f = [5, 17]; f⁻¹g = [0.4, 0.235294]; gᵀf⁻¹g = 1.741176 → √ = 1.319536
  // ε = 0.05·[0.4, 0.235294]/1.319536 = [0.015157, 0.008916]; w' = w − 0.1·2(w + ε) = [0.796969, 1.598217]
  const [w1] = steps(fisherSam(lr(), { rho: 0.05, eta: 1 }), quad([1, 1]), [1, 2], 1);
  assertClose(w1, [0.7969686, 1.5982168], 1e-6);
});

test("GSAM, α = 0.4: d = g_p − α g_⊥ (official decomposition)", () => {
  // L = w₁² + 3w₂², w = [1, 2]: g = [2, 12]; g_p = ∇L(w + 0.05ĝ) = [2.016440, 12.295918]
  // g_⊥ = g − cos‖g‖ g_p/‖g_p‖ = [0.031248, −0.005124]; d = g_p − 0.4 g_⊥ = [2.003941, 12.297968]
  // w' = w − 0.1 d = [0.799606, 0.770203]
  const [w1] = steps(gsam(lr(), { rho: 0.05, alpha: 0.4 }), quad([1, 3]), [1, 2], 1);
  assertClose(w1, [0.7996059, 0.7702032], 1e-6);
});

test("LookSAM, k = 2, α = 0.7: full step, then one-pass reuse of g_v", () => {
  // step 0 (full): SAM step → w1 = [0.798356, 0.770408]; g_v = g_s − (⟨g,g_s⟩/‖g‖²) g = [−0.031991, 0.005332]
  // step 1 (reuse): g = [1.596712, 4.622449]; d = g + 0.7·‖g‖/‖g_v‖·g_v = [−1.780027, 5.185239]
  //                 w2 = w1 − 0.1 d = [0.976359, 0.251884]
  const loss = quad([1, 3]);
  const opt = lookSam(lr(), { rho: 0.05, k: 2, alpha: 0.7 });
  assert.deepEqual([0, 1, 2, 3].map((t) => opt.phase(t)), ["full", "reuse", "full", "reuse"]);
  const [w1, w2] = steps(opt, loss, [1, 2], 2);
  assertClose(w1, [0.798356, 0.7704082], 1e-6);
  // g_v (‖g_v‖ ≈ 0.03) is a difference of numbers ≈ 12, then scaled by ‖g‖/‖g_v‖ ≈ 150: float32
  // cancellation makes ~1e-5 the honest tolerance on w2.
  assertClose(w2, [0.9763587, 0.2518843], 5e-5);
  assert.equal(loss.calls, 3, "2 passes on the full step + exactly 1 on the reuse step");
});

test("LookSAM without a phase is a clear error", () => {
  const opt = lookSam(lr(), { k: 2 });
  const s = opt.init(np.array([1, 2]));
  assert.throws(() => opt.step(quad([1, 1]), np.array([1, 2]), s, noBatch()), /lookSam: step needs \{ phase: opt\.phase\(t\) \}/);
});

test("multi-step SAM, k = 2, α = 0.5: two normalized ascent steps, projected", () => {
  // ε1 = Π(0.025 ĝ(w)); ε2 = Π(ε1 + 0.025 ĝ(w + ε1)) = [0.008187, 0.049325] (‖ε2‖ = 0.0499999892 ≤ ρ)
  // w' = w − 0.1 ∇L(w + ε2) = [0.798363, 0.770405]; passes: clean + 1 extra + final = 3
  const loss = quad([1, 3]);
  const [w1] = steps(multiStepSam(lr(), { rho: 0.05, steps: 2, alpha: 0.5 }), loss, [1, 2], 1);
  assertClose(w1, [0.7983625, 0.7704049], 1e-6);
  assert.equal(loss.calls, 3);
});

test("projection onto the ρ-ball caps the radius", () => {
  // ρ 0.05, α 1, k 3 along a constant gradient: without Π, ‖ε‖ would be 0.15
  const loss = (w: np.Array, _b: unknown) => np.sum(w.mul(np.array([3, 4])));
  const [w1] = steps(multiStepSam(lr(), { rho: 0.05, steps: 3, alpha: 1 }), loss, [0, 0], 1);
  assertClose(w1, [-0.3, -0.4], 1e-6); // linear loss: g_s = [3, 4] whatever ε
});

test("gradient-norm penalty: g + λHĝ (hvp) and its finite-difference form agree on a quadratic", () => {
  // L = w₁² + 3w₂², H = diag(2, 6), g = [2, 12], ĝ = [0.164399, 0.986394]
  // d = g + 0.05·Hĝ = [2.016440, 12.295918]; w' = [0.798356, 0.770408] (= the SAM step with ρ = λ on a quadratic)
  const hvpLoss = quad([1, 3]);
  const [a] = steps(gradNormPenalty(lr(), { lambda: 0.05 }), hvpLoss, [1, 2], 1);
  const [b] = steps(gradNormPenalty(lr(), { lambda: 0.05, method: "finite-difference", r: 0.1 }), quad([1, 3]), [1, 2], 1);
  assertClose(a, [0.798356, 0.7704082], 1e-6);
  assertClose(b, [0.798356, 0.7704082], 1e-6);
  assert.throws(() => gradNormPenalty(lr(), { lambda: 0.2, method: "finite-difference", r: 0.1 }), /lambda must be ≤ r/);
});

test("the finite-difference penalty at λ = r = ρ is SAM itself: ∇L + ρ(∇L(w + ρĝ) − ∇L)/ρ = ∇L(w + ρĝ)", () => {
  // On a non-quadratic loss, where the exact penalty and SAM differ, the two stay equal step for step.
  const quartic = (w: np.Array, _b: unknown) => np.sum(w.ref.mul(w.ref).mul(w.ref).mul(w));
  const a = steps(gradNormPenalty(lr(), { lambda: 0.1, method: "finite-difference", r: 0.1 }), quartic, [1, -2], 3);
  const b = steps(sam(lr(), { rho: 0.1 }), quartic, [1, -2], 3);
  for (let t = 0; t < 3; t++) assertClose(a[t], b[t], 1e-6);
  const c = steps(gradNormPenalty(lr(), { lambda: 0.1 }), quartic, [1, -2], 3);
  assert.ok(Math.abs(c[2][0] - b[2][0]) > 1e-3, `the exact penalty differs from SAM here (${c[2]} vs ${b[2]})`);
});

test("H·v by forward-over-reverse matches a float64 finite difference on the tanh MLP", () => {
  // jax-js's float64 gradients carry ~6e-9 of noise (its transcendentals are not accurate to a
  // full double: a central difference's error grows as 1/h below h = 1e-3), so the reference is
  // the 4-point stencil (8(g(h) − g(−h)) − (g(2h) − g(−2h)))/12h at h = 0.01 (truncation O(h⁴)).
  const { init, batches } = tinyProblem(5, 1);
  const p = toParams(init, np.float64);
  const v = tree.map((x: np.Array) => np.cos(x.ref.mul(3)), tree.ref(p)) as TinyParams;
  const b = toBatch(batches[0], np.float64);
  const hv = hvpAt(tinyLoss as any, false, tree.ref(p), tree.ref(b), tree.ref(v)) as TinyParams;
  const h = 0.01;
  const at = (k: number) => grad(tinyLoss)(tree.map((x: np.Array, y: np.Array) => x.add(y.mul(k * h)), tree.ref(p), tree.ref(v)) as TinyParams, tree.ref(b)) as TinyParams;
  const [a1, a2, b1, b2] = [at(1), at(-1), at(2), at(-2)];
  const fd = tree.map((x: np.Array, y: np.Array, z: np.Array, w: np.Array) => x.sub(y).mul(8).sub(z.sub(w)).mul(1 / (12 * h)), a1, a2, b1, b2) as TinyParams;
  const size = Math.max(...flat(hv.w1.ref).map(Math.abs));
  assert.ok(size > 0.05, `‖Hv‖∞ = ${size}: the check would be vacuous`);
  const err = maxTreeDiff(hv, fd);
  assert.ok(err < 5e-6, `|Hv − FD| = ${err}`);
  tree.dispose([p, v, b]);
});

test("SAM-full / SAM-noise: ascent along P g or g − P g with the given full gradient", () => {
  // L = w₁² + 3w₂², g = [2, 12], G = [1, 0] → P g = [2, 0], g − P g = [0, 12]
  // full:  ε = [0.05, 0] → g_s = [2.1, 12] → w' = [0.79, 0.8]
  // noise: ε = [0, 0.05] → g_s = [2, 12.3] → w' = [0.8, 0.77]
  const G = () => ({ fullGrad: np.array([1, 0]) });
  assertClose(steps(samFull(lr(), { rho: 0.05 }), quad([1, 3]), [1, 2], 1, G)[0], [0.79, 0.8], 1e-6);
  assertClose(steps(samNoise(lr(), { rho: 0.05 }), quad([1, 3]), [1, 2], 1, G)[0], [0.8, 0.77], 1e-6);
  const opt = samFull(lr());
  assert.equal(opt.needsFullGrad, true);
  const s = opt.init(np.array([1, 2]));
  assert.throws(() => opt.step(quad([1, 1]), np.array([1, 2]), s, noBatch()), /samFull: step needs options\.fullGrad/);
});

test("random perturbation: ε ~ N(0, σ²) from the state's key, reproducible, fresh each step", () => {
  // L = ½‖w‖² → ∇L(w + ε) = w + ε; SGD lr 1 from w = 0 gives w' = −ε.
  const loss = (w: np.Array, _b: unknown) => np.sum(np.square(w)).mul(0.5);
  const eps = (seed: number, n: number) => steps(randomPerturbation(sgd({ learningRate: 1 }), { sigma: 0.1, seed }), loss, new Array(4000).fill(0), n);
  const [a] = eps(1, 1);
  const m = a.reduce((s, x) => s + x, 0) / a.length;
  const sd = Math.sqrt(a.reduce((s, x) => s + (x - m) ** 2, 0) / a.length);
  assert.ok(Math.abs(m) < 0.01 && Math.abs(sd - 0.1) < 0.005, `mean ${m}, std ${sd}`);
  assert.deepEqual(eps(1, 1)[0], a, "same seed, same draw");
  assert.notDeepEqual(eps(2, 1)[0].slice(0, 5), a.slice(0, 5));
  const [s1, s2] = eps(1, 2);
  assert.notDeepEqual(s2.slice(0, 5), s1.map((x) => 2 * x).slice(0, 5), "a fresh draw on the second step");
});

test("ρ schedules: values, phases, and ρ(t) = 0 steps are the base step with one pass", () => {
  assertClose(flat(rhoInvSqrt(0.2).value(np.array(3, { dtype: np.int32 }))), 0.1);
  const sw = rhoSwitch(0.05, 2);
  const opt = sam(lr(), { rho: sw });
  assert.deepEqual([0, 1, 2, 3].map((t) => opt.phase(t)), ["base", "base", "step", "step"]);
  const loss = quad([1, 3]);
  const ws = steps(opt, loss, [1, 2], 3);
  // two plain SGD steps: w ← w − 0.1·[2w₁, 6w₂] → [0.8, 0.8], [0.64, 0.32]; then a SAM step
  assertClose(ws[0], [0.8, 0.8], 1e-6);
  assertClose(ws[1], [0.64, 0.32], 1e-6);
  assert.equal(loss.calls, 1 + 1 + 2, "one pass on each ρ = 0 step, two on the SAM step");
  const back = sam(lr(), { rho: rhoSwitch(0.05, 1, "sam-to-erm") });
  assert.deepEqual([0, 1, 2].map((t) => back.phase(t)), ["step", "base", "base"]);
});

test("ρ every k-th step: SAM on t mod k = 0, the base step (one pass) between; k = 1 is SAM", () => {
  const opt = sam(lr(), { rho: rhoEvery(0.05, 2) });
  assert.deepEqual([0, 1, 2, 3].map((t) => opt.phase(t)), ["step", "base", "step", "base"]);
  const loss = quad([1, 1]);
  const ws = steps(opt, loss, [1, 2], 2);
  // step 0, SAM (DESIGN §7): w1 = [0.795528, 1.591056]; step 1, plain SGD: w2 = 0.8·w1 = [0.636422, 1.272845]
  assertClose(ws[0], [0.7955279, 1.5910557], 1e-6);
  assertClose(ws[1], [0.6364223, 1.2728446], 1e-6);
  assert.equal(loss.calls, 2 + 1);
  const every1 = steps(sam(lr(), { rho: rhoEvery(0.05, 1) }), quad([1, 3]), [1, 2], 3);
  assert.deepEqual(every1, steps(sam(lr(), { rho: 0.05 }), quad([1, 3]), [1, 2], 3));
  assert.throws(() => rhoEvery(0.05, 0), /rhoEvery: k must be/);
});

test("clipping by global norm in the base applies to the perturbed-point gradient", () => {
  // L = Σw², w = [1, 2]: g_s = [2.044721, 4.089443] (‖g_s‖ = 4.572) clipped to norm 1 → [0.447214, 0.894427]
  const [w1] = steps(sam(chain(clipByGlobalNorm(1), sgd({ learningRate: 0.1 })), { rho: 0.05 }), quad([1, 1]), [1, 2], 1);
  assertClose(w1, [1 - 0.0447214, 2 - 0.0894427], 1e-6);
});

// ---- table-driven properties over the tiny MLP ----

const { init, batches } = tinyProblem(3, 4);
const base = () => sgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4 });

const run = (opt: SharpnessAwareOptimizer<any>, jitted = false, inputs?: (b: any) => any): TinyParams => runTiny(opt, init, batches, { jitted, inputs });
const ref = () => run(sam(base(), { rho: 0.1 }));
const fullGradOf = (b: any) => ({ fullGrad: grad(tinyLoss)(toParams(init), toBatch(b)) });

const reductions: [string, () => SharpnessAwareOptimizer<any>, () => TinyParams][] = [
  ["GSAM α=0 ≡ SAM", () => gsam(base(), { rho: 0.1, alpha: 0 }), ref],
  ["LookSAM k=1 ≡ SAM", () => lookSam(base(), { rho: 0.1, k: 1 }), ref],
  ["multi-step k=1 ≡ SAM", () => multiStepSam(base(), { rho: 0.1, steps: 1 }), ref],
  ["Fisher-SAM η=0 ≡ SAM", () => fisherSam(base(), { rho: 0.1, eta: 0 }), ref],
  ["ℓp p=2 ≡ SAM", () => sam(base(), { rho: 0.1, p: 2 }), ref],
  ["ρ schedule ≡ 0 → base", () => sam(base(), { rho: rhoSwitch(0.1, 100) }), () => run(sam(base(), { rho: 0 }))],
  ["random perturbation σ=0 ≡ base", () => randomPerturbation(base(), { sigma: 0 }), () => run(sam(base(), { rho: 0 }))],
  ["gradient-norm penalty λ=0 ≡ base", () => gradNormPenalty(base(), { lambda: 0 }), () => run(sam(base(), { rho: 0 }))],
  ["F-ASAM = fsam adaptive", () => fasam(base(), { rho: 0.5 }), () => run(fsam(base(), { rho: 0.5, adaptive: true, eta: 0.01 }))],
];
for (const [name, ours, expected] of reductions) {
  test(`reduction: ${name}`, () => {
    const d = maxTreeDiff(run(ours()), expected());
    assert.ok(d <= 1e-6, `${name}: max diff ${d}`);
  });
}

test("the new reductions are not vacuous", () => {
  for (const [name, o] of [
    ["gsam α=0.4", gsam(base(), { rho: 0.1, alpha: 0.4 })],
    ["lookSam k=2", lookSam(base(), { rho: 0.1, k: 2 })],
    ["multi-step k=3", multiStepSam(base(), { rho: 0.1, steps: 3 })],
    ["fisher η=1", fisherSam(base(), { rho: 0.1, eta: 1 })],
    ["p=∞", sam(base(), { rho: 0.02, p: Infinity })],
  ] as const) assert.ok(maxTreeDiff(run(o), ref()) > 1e-4, name);
});

const family: [string, () => SharpnessAwareOptimizer<any>, ((b: any) => any)?][] = [
  ["ℓp p=3", () => sam(base(), { rho: 0.1, p: 3 })],
  ["fisherSam", () => fisherSam(base(), { rho: 0.1 })],
  ["gsam", () => gsam(base(), { rho: 0.1 })],
  ["lookSam", () => lookSam(base(), { rho: 0.1, k: 2 })],
  ["multiStepSam", () => multiStepSam(base(), { rho: 0.1, steps: 2 })],
  ["randomPerturbation", () => randomPerturbation(base(), { sigma: 0.01 })],
  ["gradNormPenalty hvp", () => gradNormPenalty(base(), { lambda: 0.05 })],
  ["gradNormPenalty fd", () => gradNormPenalty(base(), { lambda: 0.01, method: "finite-difference", r: 0.05 })],
  ["samFull", () => samFull(base(), { rho: 0.1 }), fullGradOf],
  ["samNoise", () => samNoise(base(), { rho: 0.1 }), fullGradOf],
  ["sam ρ/√t", () => sam(base(), { rho: rhoInvSqrt(0.1) })],
  ["asam ERM→SAM", () => asam(base(), { rho: rhoSwitch(0.5, 2) })],
  ["n-SAM (ascent batch)", () => sam(base(), { rho: 0.1 }), (b) => ({ ascentBatch: toBatch({ x: b.x.slice().reverse(), y: b.y.slice().reverse().map((y: number) => (y + 1) % 3) }) })],
];
for (const [name, make, inputs] of family) {
  test(`jit ≡ eager: ${name}`, () => {
    const d = maxTreeDiff(run(make(), true, inputs), run(make(), false, inputs));
    assert.ok(d <= 1e-5, `${name}: ${d}`);
  });
}

test("n-SAM / SAM-db: the ascent batch changes the step; the same batch is SAM", () => {
  const same = (b: any) => ({ ascentBatch: toBatch(b) });
  assert.ok(maxTreeDiff(run(sam(base(), { rho: 0.1 }), false, same), ref()) <= 1e-6);
  const other = family.find(([n]) => n.startsWith("n-SAM"))![2]!;
  assert.ok(maxTreeDiff(run(sam(base(), { rho: 0.1 }), false, other), ref()) > 1e-4);
});

test("no live-buffer growth over 50 jitted steps of the new variants", async () => {
  for (const [name, make, inputs] of family) {
    const { early, late, left } = await liveBuffersOver(make(), init, batches, { steps: 50, inputs: inputs ? (t: number) => inputs(batches[t % 4]) : undefined });
    assert.equal(late, early, `${name}: ${early} → ${late}`);
    assert.equal(left, 0, `${name}: ${left} left after disposal`);
  }
});

test("zero gradient gives a finite step for every new variant", () => {
  const zero = (w: np.Array, _b: unknown) => np.sum(w).mul(0);
  for (const [name, opt, inputs] of [
    ["lp", sam(lr(), { p: 3 })], ["lp ∞", sam(lr(), { p: Infinity })], ["fisher", fisherSam(lr())], ["gsam", gsam(lr())],
    ["lookSam", lookSam(lr(), { k: 2 })], ["multi", multiStepSam(lr(), { steps: 3 })], ["gnr", gradNormPenalty(lr())],
    ["gnr fd", gradNormPenalty(lr(), { method: "finite-difference" })], ["samFull", samFull(lr()), () => ({ fullGrad: np.zeros([2]) })],
    ["samNoise", samNoise(lr()), () => ({ fullGrad: np.zeros([2]) })],
    ["wsam", wsam(lr(), { learningRate: 0.1 })], ["wsam coupled", wsam(lr(), { decouple: false })], ["vasso", vasso(lr())], ["msam", msam(lr())],
    ["lookbehindSam", lookbehindSam(lr())],
  ] as [string, SharpnessAwareOptimizer<any>, (() => any)?][]) {
    const w = steps(opt, zero, [0, 0], 3, inputs);
    assert.ok(w.flat().every(Number.isFinite), `${name}: ${w}`);
  }
});

test("bad options of the new variants", () => {
  assert.throws(() => gsam(lr(), { alpha: -1 }), /gsam: alpha must be a finite number ≥ 0 \(got -1\)/);
  assert.throws(() => lookSam(lr(), { k: 0 }), /lookSam: k must be an integer ≥ 1 \(got 0\)/);
  assert.throws(() => multiStepSam(lr(), { steps: 2, alpha: 1.5 }), /multiStepSam: alpha must be a finite number in \(0, 1\] \(got 1.5\)/);
  assert.throws(() => fisherSam(lr(), { eta: -1 }), /fisherSam: eta/);
  assert.throws(() => randomPerturbation(lr(), { sigma: -0.1 }), /randomPerturbation: sigma/);
  assert.throws(() => gradNormPenalty(lr(), { method: "exact" as any }), /gradNormPenalty: method must be one of "hvp", "finite-difference"/);
  assert.throws(() => sam(lr(), { rho: { kind: "nope" } as any }), /sam: rho must be a finite number ≥ 0/);
  assert.throws(() => rhoSwitch(0.1, -1), /rhoSwitch: at must be an integer ≥ 0/);
});
