/**
 * MSAM (src/sam/msam.ts): two steps by hand, float64 agreement with the official update loop of
 * MarlonBecker/MSAM optimizer/msam.py (parameters kept at the perturbed point, moved back for the
 * comparison) on a quadratic and on the tiny MLP, one gradient pass per step, the reductions
 * (ρ = 0 ≡ base, ρ(t) = 0 steps ≡ base), ε along the last update for other bases, per-leaf
 * selection, jit ≡ eager, state structure, ownership and no live-buffer growth, NaN-batch skip,
 * bad options.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { blockUntilReady, jit, numpy as np, tree } from "@jax-js/jax";
import { adam, adamw, phasedStep, plain, rhoSwitch, sgd, stepSchedule, type SharpnessAwareOptimizer } from "../../src/index.js";
import { msam, msamDescriptor } from "../../src/sam/msam.js";
import { assertClose, flat, maxTreeDiff, runSteps, setup, trackBuffers, quad } from "../helpers.js";
import { tinyLoss, tinyProblem, toBatch, toParams, type TinyParams, assertStepOwnership, runTiny } from "../fixtures.js";
import * as ref from "../reference/torchlike.js";

before(setup);

const noBatch = () => ({ z: np.zeros([1]) });

test("msam: two steps by hand — w=[1,2], L=Σw², ρ 0.3, SGD lr 0.1, μ 0.9", () => {
  // step 0: u = 0 → ε = 0; g = 2w = [2, 4]; v = [2, 4]; u0 = −0.1 v = [−0.2, −0.4]
  //         w1 = [0.8, 1.6]; reported loss L(w + ε) = L(w) = 5
  // step 1: ‖u0‖ = √0.2 = 0.447214; ε = 0.3 u0/‖u0‖ = [−0.134164, −0.268328]
  //         w1 + ε = [0.665836, 1.331672]; reported loss = 0.665836² + 1.331672² = 2.216687
  //         g = 2(w1 + ε) = [1.331672, 2.663344]; v = 0.9·[2, 4] + g = [3.131672, 6.263344]
  //         u1 = −0.1 v = [−0.313167, −0.626334]; w2 = w1 + u1 = [0.486833, 0.973666]
  //         (SGD with momentum alone: v = [3.4, 6.8], w2 = [0.46, 0.92])
  const loss = quad([1, 1]);
  const opt = msam(sgd({ learningRate: 0.1, momentum: 0.9 }), { rho: 0.3 });
  let w = np.array([1, 2]);
  let s = opt.init(w.ref);
  const ws: number[][] = [];
  const losses: number[] = [];
  for (let t = 0; t < 2; t++) {
    const out = opt.step(loss, w, s, noBatch());
    losses.push(flat(out.loss)[0]);
    assert.equal(flat(out.finite)[0], 1);
    w = out.params;
    s = out.state;
    ws.push(flat(w.ref));
  }
  assertClose(ws[0], [0.8, 1.6], 1e-6, "w1");
  assertClose(ws[1], [0.4868328, 0.9736656], 1e-6, "w2");
  assertClose(losses, [5, 2.2166874], 1e-6, "loss L(w + ε)");
  assertClose(flat((s.extra.u as np.Array).ref), [-0.3131672, -0.6263344], 1e-6, "u = the last applied update");
  assert.equal(loss.calls, 2, "one gradient pass per step");
  tree.dispose([w, s]);
});

// ---- the official loop (optimizer/msam.py) in float64 ----

type Hp = { lr: (t: number) => number; mu: number; wd: number; rho: number };
const norm = (x: number[]) => Math.sqrt(x.reduce((a, v) => a + v * v, 0));

/**
 * MSAM.step of the official code on flat float64 vectors: the parameters p are kept at the
 * perturbed point; the gradient (plus wd·p) is taken there, p is moved back by ρ v/‖v‖ (old v),
 * the SGD-momentum step is applied, and p is moved to the new perturbed point. Returns, after
 * each step, the unperturbed weights p + ρ v/‖v‖ (`move_back_from_momentumAscent`).
 * `decayAt: "w"` puts the decay at the unperturbed point instead (to show the test can tell).
 */
function officialMsam(w0: number[], grad: (p: number[], t: number) => number[], hp: Hp, n: number, decayAt: "perturbed" | "w" = "perturbed"): number[][] {
  const p = [...w0];
  let buf = p.map(() => 0);
  let inv = 0; // the code's inverse_norm_buffer, 0 before the first step
  const out: number[][] = [];
  for (let t = 0; t < n; t++) {
    const g = grad([...p], t);
    const atW = p.map((x, i) => x + hp.rho * inv * buf[i]);
    const d = g.map((x, i) => x + hp.wd * (decayAt === "w" ? atW[i] : p[i]));
    for (let i = 0; i < p.length; i++) p[i] += hp.rho * inv * buf[i];
    buf = buf.map((b, i) => hp.mu * b + d[i]);
    for (let i = 0; i < p.length; i++) p[i] -= hp.lr(t) * buf[i];
    inv = 1 / (norm(buf) + 1e-12);
    for (let i = 0; i < p.length; i++) p[i] -= hp.rho * inv * buf[i];
    out.push(p.map((x, i) => x + hp.rho * inv * buf[i]));
  }
  return out;
}

// L(w) = ½ wᵀAw − bᵀw, ∇L = Aw − b (A symmetric positive definite, not diagonal).
const A = [
  [3, 1, 0],
  [1, 2, 0.5],
  [0, 0.5, 1],
];
const B = [1, -1, 0.5];
const quadForm = (w: np.Array, _b: unknown) => {
  const outer = w.ref.reshape([3, 1]).mul(w.ref.reshape([1, 3]));
  return np.sum(outer.mul(np.array(A))).mul(0.5).sub(np.sum(w.mul(np.array(B))));
};
const quadFormGrad = (p: number[]) => A.map((row, i) => row.reduce((s, a, j) => s + a * p[j], 0) - B[i]);

const officialCases: { name: string; hp: Hp; lr: number | ReturnType<typeof stepSchedule> }[] = [
  { name: "no weight decay", hp: { lr: () => 0.1, mu: 0.9, wd: 0, rho: 0.3 }, lr: 0.1 },
  { name: "weight decay 0.05 (at the perturbed point)", hp: { lr: () => 0.1, mu: 0.9, wd: 0.05, rho: 0.3 }, lr: 0.1 },
  { name: "lr schedule 0.1·0.5^⌊t/3⌋, wd 0.05, ρ 0.5", hp: { lr: (t) => 0.1 * 0.5 ** Math.floor(t / 3), mu: 0.9, wd: 0.05, rho: 0.5 }, lr: stepSchedule({ initValue: 0.1, stepSize: 3, gamma: 0.5 }) },
];
for (const { name, hp, lr } of officialCases) {
  test(`msam ≡ official msam.py loop (float64, moved back), quadratic, 10 steps: ${name}`, () => {
    const w0 = [1, -2, 0.5];
    const theirs = officialMsam(w0, quadFormGrad, hp, 10);
    const opt = msam(sgd({ learningRate: lr, momentum: hp.mu, weightDecay: hp.wd }), { rho: hp.rho });
    const ours = runSteps(opt, quadForm, w0, 10);
    ours.forEach((w, t) => assertClose(w, theirs[t], 1e-5, `step ${t + 1}`));
    if (hp.wd > 0) {
      // The comparison can tell where the decay is taken: at w it differs by far more than 1e-5.
      const atW = officialMsam(w0, quadFormGrad, hp, 10, "w");
      const gap = Math.max(...atW[9].map((x, i) => Math.abs(x - theirs[9][i])));
      assert.ok(gap > 1e-4, `decay at w vs at w̃: ${gap}`);
    }
  });
}

// ---- the tiny MLP ----

const { init, batches } = tinyProblem(3, 6);
const KEYS = ["w1", "b1", "w2", "b2"] as const;
const SGD = { learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4 };
const base = () => sgd(SGD);

test("msam ≡ official msam.py loop on the tiny MLP (float64 backprop), SGD μ 0.9 wd 5e-4, ρ 0.3, 6 steps, eager and jitted", () => {
  const p0 = ref.fromData(init);
  const sizes = KEYS.map((k) => p0[k].length);
  const unflat = (v: number[]): ref.P => {
    let o = 0;
    return Object.fromEntries(KEYS.map((k, i) => [k, v.slice(o, (o += sizes[i]))])) as ref.P;
  };
  const toFlat = (q: ref.P) => KEYS.flatMap((k) => q[k]);
  const theirs = officialMsam(toFlat(p0), (p, t) => toFlat(ref.lossGrad(unflat(p), batches[t])[1]), { lr: () => 0.1, mu: 0.9, wd: 5e-4, rho: 0.3 }, 6);
  for (const jitted of [false, true]) {
    const p = runTiny(msam(base(), { rho: 0.3 }), init, batches, {
      jitted,
      onStep: (q, t) => assertClose(KEYS.flatMap((k) => flat(q[k].ref)), theirs[t], 2e-4, `${jitted ? "jit" : "eager"} step ${t + 1}`),
    });
    tree.dispose(p);
  }
});

function run(opt: SharpnessAwareOptimizer<any>, jitted = false, n = batches.length): { p: TinyParams; s: any } {
  const step = phasedStep(opt, tinyLoss, { jitted });
  let p = toParams(init);
  let s = opt.init(tree.ref(p));
  batches.slice(0, n).forEach((b, t) => {
    const out = step(p, s, toBatch(b), t);
    out.loss.dispose();
    out.finite.dispose();
    p = out.params;
    s = out.state;
  });
  step.dispose();
  return { p, s };
}
/** `run`'s final parameters (the state disposed). */
const runP = (opt: SharpnessAwareOptimizer<any>, n = batches.length): TinyParams => {
  const { p, s } = run(opt, false, n);
  tree.dispose(s);
  return p;
};

test("msam: exactly one gradient evaluation per step (eager), at every ρ", () => {
  for (const rho of [0.3, 0, rhoSwitch(0.3, 2)]) {
    const loss = quad([1, 3]);
    runSteps(msam(sgd({ learningRate: 0.1, momentum: 0.9 }), { rho }), loss, [1, 2], 5);
    assert.equal(loss.calls, 5, `ρ ${typeof rho === "number" ? rho : rho.describe}`);
  }
});

test("msam reduction: ρ = 0 is exactly the base optimizer (params and base state, 6 steps)", () => {
  const ours = run(msam(base(), { rho: 0 }));
  const theirs = run(plain(base()));
  assert.equal(maxTreeDiff(tree.ref(ours.p), tree.ref(theirs.p)), 0, "params");
  assert.equal(maxTreeDiff(ours.s.base, theirs.s.base), 0, "base state");
  tree.dispose([ours.p, theirs.p, ours.s.count, ours.s.skipped, ours.s.extra, theirs.s.count, theirs.s.skipped]);
});

test("msam reduction: steps with ρ(t) = 0 are the base optimizer's (ε exactly 0), and ρ > 0 is not", () => {
  const baseRun = () => runP(plain(base()));
  assert.ok(maxTreeDiff(runP(msam(base(), { rho: rhoSwitch(0.3, 100) })), baseRun()) <= 1e-7, "ρ(t) = 0 throughout");
  assert.ok(maxTreeDiff(runP(msam(base(), { rho: 0.3 })), baseRun()) > 1e-4, "ρ 0.3 differs from the base");
  // ERM→MSAM at step 3: the first three steps are the base's; the fourth perturbs along u_2.
  assert.ok(maxTreeDiff(runP(msam(base(), { rho: rhoSwitch(0.3, 3) }), 3), runP(plain(base()), 3)) <= 1e-7, "first three steps");
  assert.ok(maxTreeDiff(runP(msam(base(), { rho: rhoSwitch(0.3, 3) })), baseRun()) > 1e-4, "after the switch");
});

test("msam: ε follows the last applied update for any base (u = w_{t+1} − w_t)", () => {
  const bases: [string, () => any][] = [
    ["adam", () => adam({ learningRate: 0.01, weightDecay: 1e-3 })],
    ["adamw", () => adamw({ learningRate: 0.01, weightDecay: 0.05 })],
    ["sgd nesterov", () => sgd({ ...SGD, nesterov: true })],
  ];
  for (const [name, make] of bases) {
    const opt = msam(make(), { rho: 0.3 });
    let p = toParams(init);
    let s = opt.init(tree.ref(p));
    for (const b of batches.slice(0, 3)) {
      const before = tree.ref(p);
      const out = opt.step(tinyLoss, p, s, toBatch(b));
      out.loss.dispose();
      out.finite.dispose();
      p = out.params;
      s = out.state;
      const delta = tree.map((x: np.Array, y: np.Array) => x.sub(y), tree.ref(p), before);
      const d = maxTreeDiff(delta, tree.ref(s.extra.u));
      assert.ok(d <= 1e-6, `${name}: u vs Δw ${d}`);
    }
    tree.dispose([p, s]);
  }
});

test("msam per-leaf control: ‖u‖ over the selected leaves, ε 0 elsewhere, rhoScale per leaf (float64)", () => {
  // params {a: [1, 2], b: [3]}, L = a₁² + 3a₂² + 2b², SGD lr 0.1 μ 0.9 wd 0.05, ρ 0.3.
  const loss = (p: { a: np.Array; b: np.Array }, _b: unknown) => np.sum(np.square(p.a).mul(np.array([1, 3]))).add(np.sum(np.square(p.b)).mul(2));
  const gradAt = (x: number[]) => [2 * x[0], 6 * x[1], 4 * x[2]];
  for (const [name, scaleA, scaleB, opts] of [
    ["perturbLeaves a", 1, 0, { perturbLeaves: (path: string) => path === "a" }],
    ["rhoScale a 2, b 0.5", 2, 0.5, { rhoScale: (path: string) => (path === "a" ? 2 : 0.5) }],
  ] as const) {
    // Reference: ε_a = s_a ρ u_a/‖u_S‖, ε_b = s_b ρ u_b/‖u_S‖ (S = the selected leaves).
    let w = [1, 2, 3];
    let v = [0, 0, 0];
    let u = [0, 0, 0];
    const theirs: number[][] = [];
    for (let t = 0; t < 4; t++) {
      const sel = scaleB === 0 ? [u[0], u[1], 0] : u;
      const n = norm(sel) + 1e-12;
      const eps = [scaleA * 0.3 * sel[0] / n, scaleA * 0.3 * sel[1] / n, scaleB * 0.3 * sel[2] / n];
      const pt = w.map((x, i) => x + eps[i]);
      const g = gradAt(pt).map((x, i) => x + 0.05 * pt[i]);
      v = v.map((x, i) => 0.9 * x + g[i]);
      u = v.map((x) => -0.1 * x);
      w = w.map((x, i) => x + u[i]);
      theirs.push(w);
    }
    const opt = msam(sgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 0.05 }), { rho: 0.3, ...opts });
    let p = { a: np.array([1, 2]), b: np.array([3]) };
    let s = opt.init(tree.ref(p));
    for (let t = 0; t < 4; t++) {
      const out = opt.step(loss, p, s, noBatch());
      out.loss.dispose();
      out.finite.dispose();
      p = out.params;
      s = out.state;
      assertClose([...flat(p.a.ref), ...flat(p.b.ref)], theirs[t], 1e-5, `${name}, step ${t + 1}`);
    }
    tree.dispose([p, s]);
  }
});

test("msam with hasAux: the aux and the loss are those of the only pass, at w + ε", () => {
  // Same problem as the hand test; the aux is the point itself. Step 1's point is w1 + ε.
  const lossAux = (w: np.Array, _b: unknown): [np.Array, np.Array] => [np.sum(np.square(w.ref)), w.add(0)];
  const opt = msam(sgd({ learningRate: 0.1, momentum: 0.9 }), { rho: 0.3 });
  let w = np.array([1, 2]);
  let s = opt.init(w.ref);
  const auxes: number[][] = [];
  for (let t = 0; t < 2; t++) {
    const out = opt.step(lossAux, w, s, noBatch(), { hasAux: true });
    auxes.push(flat(out.aux as np.Array));
    out.loss.dispose();
    out.finite.dispose();
    w = out.params;
    s = out.state;
  }
  assertClose(auxes[0], [1, 2], 1e-7, "step 0: ε = 0");
  assertClose(auxes[1], [0.6658359, 1.3316718], 1e-6, "step 1: w1 + ε");
  tree.dispose([w, s]);
});

test("msam accumulation: micro-batches at the one w + ε give the whole-batch step (both modes)", () => {
  const whole = runP(msam(base()));
  for (const accumulateMode of ["global", "per-micro-batch"] as const) {
    const d = maxTreeDiff(runP(msam(base(), { accumulate: 2, accumulateMode })), tree.ref(whole));
    assert.ok(d <= 1e-6, `${accumulateMode}: ${d}`);
  }
  tree.dispose(whole);
});

test("msam telemetry: ‖ε‖ = ρ once there is an update (0 on the first step), L(w + ε) is the loss, no clean-pass numbers", () => {
  const opt = msam(base(), { rho: 0.3 });
  let p = toParams(init);
  let s = opt.init(tree.ref(p));
  for (let t = 0; t < 2; t++) {
    const out = opt.step(tinyLoss, p, s, toBatch(batches[t]), { telemetry: true });
    const tel = Object.fromEntries(Object.entries(out.telemetry!).map(([k, v]) => [k, flat(v)[0]]));
    assertClose(tel.epsNorm, t === 0 ? 0 : 0.3, 1e-6, `step ${t}: ‖ε‖`);
    assertClose(tel.lossPerturbed, flat(out.loss)[0], 0, `step ${t}: loss`);
    assert.ok(Number.isNaN(tel.lossClean) && Number.isNaN(tel.gradNorm) && Number.isNaN(tel.cosine), `step ${t}: ${JSON.stringify(tel)}`);
    out.finite.dispose();
    p = out.params;
    s = out.state;
  }
  tree.dispose([p, s]);
});

const family: [string, () => SharpnessAwareOptimizer<any>][] = [
  ["default (ρ 0.3), SGD μ 0.9 wd 5e-4", () => msam(base())],
  ["ERM→MSAM at step 2", () => msam(base(), { rho: rhoSwitch(0.3, 2) })],
  ["AdamW base", () => msam(adamw({ learningRate: 0.01, weightDecay: 0.05 }), { rho: 0.1 })],
  ["weights only, rhoScale, per-micro-batch accumulate 2", () => msam(base(), { perturbLeaves: (path) => path.startsWith("w"), rhoScale: (path) => (path === "w1" ? 2 : 1), accumulate: 2, accumulateMode: "per-micro-batch" })],
];
for (const [name, make] of family) {
  test(`msam jit ≡ eager: ${name}`, () => {
    const j = run(make(), true);
    const e = run(make(), false);
    const d = maxTreeDiff(j.p, e.p);
    assert.ok(d <= 1e-5, `${name}: params ${d}`);
    const du = maxTreeDiff(j.s.extra.u, e.s.extra.u);
    assert.ok(du <= 1e-5, `${name}: u ${du}`);
    tree.dispose([j.s, e.s].map(({ extra: _x, ...rest }) => rest));
  });
}

test("msam state: u has the parameters' structure, shapes and dtypes; the state's structure is stable across steps", () => {
  const opt = msam(base());
  let p = toParams(init);
  let s = opt.init(tree.ref(p));
  const sig = (x: any) => tree.structure(x).toString() + JSON.stringify((tree.leaves(x) as np.Array[]).map((a) => [a.shape, a.dtype]));
  assert.equal(sig(s.extra.u), sig(p));
  assert.deepEqual(Object.keys(s.extra), ["u"]);
  const before0 = sig(s);
  for (const b of batches.slice(0, 3)) {
    const out = opt.step(tinyLoss, p, s, toBatch(b));
    out.loss.dispose();
    out.finite.dispose();
    p = out.params;
    s = out.state;
    assert.equal(sig(s), before0);
  }
  tree.dispose([p, s]);
});

test("msam ownership: step consumes params, state and batch; .ref keeps them alive", () => {
  const opt = msam(base());
  const p = toParams(init);
  // One step first, so that u is a real update.
  const first = opt.step(tinyLoss, p, opt.init(tree.ref(p)), toBatch(batches[0]));
  tree.dispose([first.loss, first.finite]);
  assertStepOwnership(opt, first.params, first.state, toBatch(batches[1]));
});

test("msam: no live-buffer growth over 50 jitted steps (and 10 eager), nothing left after disposal", async () => {
  const live = await trackBuffers();
  for (const [name, make] of family) {
    for (const [jitted, n] of [[true, 50], [false, 10]] as const) {
      const baseline = live();
      const opt = make();
      const step = phasedStep(opt, tinyLoss, { jitted });
      let p = toParams(init);
      let s = opt.init(tree.ref(p));
      const counts: number[] = [];
      for (let t = 0; t < n; t++) {
        const out = step(p, s, toBatch(batches[t % batches.length]), t);
        out.loss.dispose();
        out.finite.dispose();
        p = out.params;
        s = out.state;
        await blockUntilReady([p, s]);
        if (t === n / 5 - 1 || t === n - 1) counts.push(live());
      }
      tree.dispose([p, s]);
      step.dispose();
      const how = `${name} (${jitted ? "jit" : "eager"})`;
      assert.equal(counts[1], counts[0], `${how}: ${counts[0]} → ${counts[1]}`);
      assert.equal(live(), baseline, `${how}: ${live() - baseline} left after disposal`);
    }
  }
});

test("msam: jitted through jax-js jit directly (the README form)", () => {
  const opt = msam(sgd({ learningRate: 0.1, momentum: 0.9 }), { rho: 0.3 });
  const loss = quad([1, 1]);
  const step = jit((p: np.Array, s: any, b: any) => opt.step(loss, p, s, b));
  let w = np.array([1, 2]);
  let s = opt.init(w.ref);
  for (let t = 0; t < 2; t++) {
    const out = step(w, s, noBatch());
    out.loss.dispose();
    out.finite.dispose();
    w = out.params;
    s = out.state;
  }
  assertClose(flat(w), [0.4868328, 0.9736656], 1e-6);
  tree.dispose(s);
  step.dispose();
});

test("msam: bad options are one-line RangeErrors naming the option", () => {
  const b = sgd({ learningRate: 0.1, momentum: 0.9 });
  const oneLine = (re: RegExp) => (e: Error) => e instanceof RangeError && re.test(e.message) && !e.message.includes("\n");
  assert.throws(() => msam(b, { rho: -0.3 }), oneLine(/^msam: rho must be a finite number ≥ 0 \(got -0.3\)$/));
  assert.throws(() => msam(b, { rho: NaN }), oneLine(/^msam: rho must be a finite number ≥ 0 \(got NaN\)$/));
  assert.throws(() => msam(b, { rho: Infinity }), oneLine(/^msam: rho .*got Infinity/));
  assert.throws(() => msam(b, { rho: "0.3" as any }), oneLine(/^msam: rho /));
  assert.throws(() => msam(b, { rhp: 0.3 } as any), /msam: unknown option "rhp"/);
  assert.throws(() => msam(b, { accumulate: 0 }), oneLine(/^msam: accumulate /));
  assert.throws(() => msam(b, { perturbLeaves: "bias" as any }), oneLine(/^msam: perturbLeaves must be /));
  assert.throws(() => msam(b, { nonFinite: "ignore" as any }), oneLine(/^msam: nonFinite /));
  assert.equal(msamDescriptor.params.rho.default, 0.3);
  assert.equal(msamDescriptor.name, "msam");
});
