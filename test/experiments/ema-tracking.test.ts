/**
 * `ema-tracking` (003 Thm 1): the accumulation core on synthetic gradient streams with a known
 * answer, the prediction's formulas, and the verdict rule on constructed measurements.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { numpy as np, tree } from "@jax-js/jax";
import { EmaTracker, LAMBDAS, emaTrackingExperiment as e, lagFactor, predictedErr2, stationaryErr2, varianceFactor, type WindowRow } from "../../src/experiments/ema-tracking.js";
import { resultsFrom } from "../../src/experiments/experiment.js";
import { mulberry32 } from "../../src/engine/prng.js";
import { setup, trackBuffers } from "../helpers.js";

before(setup);

/** Standard normal draws from a seeded host generator (Box-Muller). */
function normals(r: () => number, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return out;
}

test("the prediction's factors: start-up m_1 = g_1 (no error beyond the noise, no lag), then the stationary values", () => {
  for (const l of LAMBDAS) {
    assert.ok(Math.abs(varianceFactor(l, 1) - 1) < 1e-12, `v_1 = 1 at λ ${l}`);
    assert.equal(lagFactor(l, 1), 0);
    assert.ok(Math.abs(varianceFactor(l, 2000) - (1 - l) / (1 + l)) < 1e-12);
    assert.ok(Math.abs(lagFactor(l, 2000) - (l === 0 ? 0 : l / (1 - l))) < 1e-9);
  }
  // λ 0.5, t = 2: m_2 − G = ½ξ_1 + ½ξ_2 − ½v: variance s²/2, lag ½ step
  assert.ok(Math.abs(varianceFactor(0.5, 2) - 0.5) < 1e-12);
  assert.ok(Math.abs(lagFactor(0.5, 2) - 0.5) < 1e-12);
  // long windows: the averaged prediction approaches the stationary one
  assert.ok(Math.abs(predictedErr2(3, 0.2, 0.9, 500, 5000) / stationaryErr2(3, 0.2, 0.9) - 1) < 1e-6);
});

test("EmaTracker on i.i.d. Gaussian noise around a fixed G: s², d = 0, and the EMA's error s²(1−λ)/(1+λ)", async () => {
  const live = await trackBuffers();
  const before0 = live();
  const D = 400;
  const sigma = 0.3;
  const r = mulberry32(5);
  const Ghost = normals(r, D).map((x) => 0.5 + 0.2 * x);
  const G2 = Ghost.reduce((a, x) => a + x * x, 0);
  const burn = 50;
  const T = 350;
  const tracker = new EmaTracker(LAMBDAS, burn);
  for (let t = 0; t < T; t++) {
    const noise = normals(r, D);
    const g = Ghost.map((x, i) => x + sigma * noise[i]);
    await tracker.push({ w: np.array(g) }, { w: np.array(Ghost) });
  }
  const s = tracker.summary();
  tracker.dispose();
  assert.equal(live(), before0, "no buffer leaked");
  assert.equal(s.steps, T);
  assert.equal(s.kept, T - burn);
  const s2 = sigma * sigma * D;
  assert.ok(Math.abs(s.s2 / s2 - 1) < 0.05, `s² ${s.s2} vs ${s2}`);
  assert.ok(s.d2 < 1e-9, `d² ${s.d2}`);
  assert.ok(Math.abs(s.G2 / G2 - 1) < 1e-5);
  for (const [i, l] of LAMBDAS.entries()) {
    assert.ok(s.lag2[i] < 1e-9, "a constant G has no lag");
    const rel = Math.sqrt(s.err2[i] / s.G2);
    const want = Math.sqrt((s2 * (1 - l)) / (1 + l) / G2);
    const predicted = Math.sqrt(predictedErr2(s.s2, s.d2, l, burn + 1, T) / s.G2);
    if (l === 0.9) assert.ok(Math.abs(rel / want - 1) < 0.1, `λ 0.9: relative error ${rel} vs ${want}`);
    if (l <= 0.9) assert.ok(Math.abs(rel / predicted - 1) < 0.1, `λ ${l}: ${rel} vs predicted ${predicted}`);
  }
  assert.equal(s.err2[0], s.s2, "λ 0 is the batch gradient itself");
});

test("EmaTracker on a linear trend without noise: the EMA lags λ/(1−λ) steps behind", async () => {
  const D = 10;
  const v = Float32Array.from({ length: D }, (_, i) => 0.01 * (i + 1));
  const d2 = v.reduce((a, x) => a + x * x, 0);
  const tracker = new EmaTracker([0.5, 0.9], 100);
  const T = 300;
  for (let t = 1; t <= T; t++) {
    const G = v.map((x) => 1 + x * t);
    await tracker.push([np.array(G)], [np.array(G)]);
  }
  const s = tracker.summary();
  tracker.dispose();
  assert.ok(Math.abs(s.d2 / d2 - 1) < 1e-3, `d² ${s.d2} vs ${d2}`);
  assert.ok(s.s2 < 1e-12);
  for (const [i, l] of [0.5, 0.9].entries()) {
    const want = predictedErr2(s.s2, s.d2, l, 101, T);
    assert.ok(Math.abs(s.err2[i] / want - 1) < 0.01, `λ ${l}: ${s.err2[i]} vs ${want}`);
    assert.ok(Math.abs(s.lag2[i] / s.err2[i] - 1) < 1e-3, "no noise: G's own EMA has the same error");
  }
});

// ---------------------------------------------------------------- the rule on constructed measurements

/**
 * Rows for 3 seeds whose measured error is `factor(λ, seed)` × the prediction (s² 4, d² 0.001,
 * ‖G‖² 1, W 200, burn-in 50), in both windows.
 */
function rows(factor: (l: number, seed: number, w: string) => number): WindowRow[] {
  const out: WindowRow[] = [];
  for (const seed of [0, 1, 2])
    for (const window of ["early", "late"] as const) {
      const base = { seed, window, W: 200, burnIn: 50, lr: 0.05, batchSize: 128, lambdas: LAMBDAS, steps: 200, kept: 150, s2: 4, d2: 0.001, G2: 1, loss: 1, seconds: 1 };
      const err2 = LAMBDAS.map((l) => predictedErr2(base.s2, base.d2, l, 51, 200) * factor(l, seed, window) ** 2);
      out.push({ ...base, err2, lag2: LAMBDAS.map(() => 0) });
    }
  return out;
}

test("ema-tracking: the verdict rule on constructed measurements", () => {
  const r = resultsFrom(new Map());
  const judge = (f: (l: number, seed: number, w: string) => number) => e.judge(r, "default", { rows: rows(f) } as any);
  const wobble = (seed: number) => [0.97, 1.0, 1.03][seed];
  // clear agreement
  const ok = judge((l, seed) => (l === 0 ? 1 : 1.1 * wobble(seed)));
  assert.equal(ok.verdict, "reproduced", ok.reason);
  assert.equal(ok.also![0].verdict, "reproduced", "late: the EMA at 0.95 beats the batch gradient");
  assert.equal(ok.also![1].verdict, "reproduced");
  assert.ok(Math.abs(ok.numbers.lateRatio0.value! - 1) < 1e-9);
  assert.equal(ok.numbers.lateRatio95.n, 3);
  // far below the prediction is within the bound (Thm 1 bounds the error; G's changes need not be a steady trend)
  assert.equal(judge((l, seed) => (l === 0 ? 1 : 0.2 * wobble(seed))).verdict, "reproduced");
  // a clear miss at λ 0.9 (3× the prediction) in the late window
  const miss = judge((l, seed, w) => (l === 0.9 && w === "late" ? 3 * wobble(seed) : 1));
  assert.equal(miss.verdict, "not reproduced", miss.reason);
  assert.match(miss.reason, /λ 0\.9/);
  // the early window alone does not decide
  assert.equal(judge((l, seed, w) => (l === 0.9 && w === "early" ? 3 * wobble(seed) : 1)).verdict, "reproduced");
  // a straddle: λ 0.95's ratios 1.0, 1.5, 2.2 — CI reaches over 1.5 but not entirely above it
  const straddle = judge((l, seed) => (l === 0.95 ? [1.0, 1.5, 2.2][seed] : 1));
  assert.equal(straddle.verdict, "inconclusive", straddle.reason);
  // one seed: no interval → inconclusive
  const one = e.judge(r, "default", { rows: rows(() => 1).filter((x) => x.seed === 0) } as any);
  assert.equal(one.verdict, "inconclusive");
  // the sub-verdict: an EMA worse than the batch gradient (error ratio ≥ 1)
  const worse = e.judge(r, "default", { rows: rows(() => 1).map((x) => ({ ...x, err2: x.err2.map((v, i) => (i === 3 ? 2 * x.err2[0] : v)) })) } as any);
  assert.equal(worse.also![0].verdict, "not reproduced");
});
