/**
 * The diagonal linear network of Andriushchenko & Flammarion 2022, "Towards Understanding
 * Sharpness-Aware Minimization" (seed paper 002: eq. 5, §4.2 "Provable benefit of SAM for
 * diagonal linear networks", App. B; Fig. 6, 14, 15), trained exactly in float64 with
 * full-batch ERM, n-SAM and 1-SAM. Follows the authors' code, tml-epfl/understanding-sam,
 * diagonal_linear_nets/diag_nets.py (functions GD, n_SAM_GD, one_SAM_GD) and the notebook
 * diag_nets_sam.ipynb beside it.
 *
 * Model and loss. β = u ⊙ v with u, v ∈ ℝᵈ; initialization u₀ = 2α·1, v₀ = 0 (α is the paper's
 * initialization scale; the notebook's u0 = 0.1 is α = 0.05). On n rows x_k of X with labels y,
 *
 *     L(u, v) = ‖X(u ⊙ v) − y‖² / (2n),
 *     r = Xβ − y,  ∇_u L = (Xᵀr) ⊙ v / n,  ∇_v L = (Xᵀr) ⊙ u / n.
 *
 * Update rules (step size γ, radius ρ), one full-batch step each:
 *
 *   ERM    u ← u − γ ∇_u L(u, v),   v ← v − γ ∇_v L(u, v).
 *   n-SAM  ũ = u + ρ ∇_u L(u, v),   ṽ = v + ρ ∇_v L(u, v)   (unnormalized ascent, whole batch);
 *          u ← u − γ (Xᵀ(X(ũ⊙ṽ) − y)) ⊙ ṽ / n,   v ← v − γ (Xᵀ(X(ũ⊙ṽ) − y)) ⊙ ũ / n.
 *   1-SAM  one unnormalized ascent per example k, perturbed gradients averaged:
 *          r_k = x_kᵀβ − y_k,  ũ_k = u + 2ρ r_k x_k ⊙ v,  ṽ_k = v + 2ρ r_k x_k ⊙ u,
 *          e_k = x_kᵀ(ũ_k ⊙ ṽ_k) − y_k,
 *          u ← u − γ (1/n) Σ_k e_k ṽ_k ⊙ x_k,   v ← v − γ (1/n) Σ_k e_k ũ_k ⊙ x_k.
 *
 * Where this follows the code rather than the paper:
 *   - 1-SAM's ascent is the gradient of r_k² (the code's `2 * rho * r[k] * X[k] * v`), i.e.
 *     WITHOUT the ½ of the per-example loss r_k²/2. So 1-SAM(ρ) on a single example (n = 1)
 *     is n-SAM(2ρ), not n-SAM(ρ); the radii are the code's, as in the paper's figures.
 *   - The parametrization is the code's β = u ⊙ v rather than eq. (5)'s β = w₊² − w₋² with
 *     L = (1/4n)Σ(…)²; the two are equivalent (u = w₊ + w₋, v = w₊ − w₋, so w₊ = w₋ = α is
 *     u = 2α, v = 0), see the paper's footnote 2 and Woodworth et al. 2020.
 *   - The 1-SAM sums are regrouped exactly (same algebra, different rounding): with
 *     c_k = 2ρ r_k, e_k ṽ_k ⊙ x_k = e_k x_k ⊙ v + e_k c_k x_k² ⊙ u, so
 *     Σ_k e_k ṽ_k ⊙ x_k = A ⊙ v + B ⊙ u and Σ_k e_k ũ_k ⊙ x_k = A ⊙ u + B ⊙ v with
 *     A = Σ_k e_k x_k, B = Σ_k e_k c_k x_k². This costs two passes over X per step and makes
 *     ρ = 0 reproduce ERM bit for bit (as does n-SAM at ρ = 0).
 *   - Switching (Fig. 15): phase 1 (method, ρ, steps) then phase 2 from phase 1's final (u, v)
 *     with the same γ (the paper's ERM→1-SAM uses a larger ρ after the switch, e.g. 10).
 *
 * Defaults (Fig. 14): α = 0.05, γ = 15/d, 10⁴ steps; data n = 20, d = 30, k = 3
 * (src/data/sparse-regression.ts).
 *
 * Why plain TypeScript over Float64Array and not jax-js: with d = 30 and n = 20 a step is a few
 * thousand flops (microseconds), where the engine's per-step dispatch would cost far more than
 * the arithmetic, and float64 makes the runs exact (no float32 drift over 10⁴–10⁵ steps).
 * Browser-safe: no Node imports.
 */
import type { RegressionProblem } from "../data/sparse-regression.js";

/**
 * The update rules of the diagonal network (002 §4.2, the authors' code): "erm" (gradient
 * descent), "n-sam" (one unnormalized ascent on the whole batch) and "1-sam" (one unnormalized
 * ascent per example, the perturbed gradients averaged).
 */
export type DiagNetMethod = "erm" | "n-sam" | "1-sam";
/**
 * The update rules, in the order of the paper's figures.
 *
 * @example
 * ```ts
 * for (const method of DIAG_NET_METHODS) console.log(method, trainDiagNet(problem, { alpha: 0.05, lr: 0.5, phases: [{ method, rho: 0.1, steps: 1000 }] }).testLoss);
 * ```
 */
export const DIAG_NET_METHODS: readonly DiagNetMethod[] = Object.freeze(["erm", "n-sam", "1-sam"] as DiagNetMethod[]);

/** The parameters of the network: β = u ⊙ v. */
export type DiagNetState = {
  /** u ∈ ℝᵈ. */
  u: Float64Array;
  /** v ∈ ℝᵈ. */
  v: Float64Array;
};

const finite = (x: number) => typeof x === "number" && Number.isFinite(x);

function checkPositive(where: string, name: string, x: number): void {
  if (!finite(x) || x <= 0) throw new RangeError(`${where}: ${name} must be a finite number > 0 (got ${x})`);
}
function checkRho(where: string, name: string, x: number): void {
  if (!finite(x) || x < 0) throw new RangeError(`${where}: ${name} must be a finite number ≥ 0 (got ${x})`);
}
function checkMethod(where: string, name: string, m: string): void {
  if (!(DIAG_NET_METHODS as readonly string[]).includes(m)) throw new RangeError(`${where}: ${name} must be one of ${DIAG_NET_METHODS.join(", ")} (got ${JSON.stringify(m)})`);
}

/** Checks that the problem's arrays have consistent widths (one-line RangeError). */
function checkProblem(where: string, p: RegressionProblem): void {
  const { n, d, nTest } = p;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${where}: problem n must be an integer ≥ 1 (got ${n})`);
  if (!Number.isInteger(d) || d < 1) throw new RangeError(`${where}: problem d must be an integer ≥ 1 (got ${d})`);
  if (!Number.isInteger(nTest) || nTest < 1) throw new RangeError(`${where}: problem nTest must be an integer ≥ 1 (got ${nTest})`);
  if (p.X.length !== n * d) throw new RangeError(`${where}: problem X has ${p.X.length} numbers, expected n·d = ${n * d}`);
  if (p.y.length !== n) throw new RangeError(`${where}: problem y has ${p.y.length} numbers, expected n = ${n}`);
  if (p.Xtest.length !== nTest * d) throw new RangeError(`${where}: problem Xtest has ${p.Xtest.length} numbers, expected nTest·d = ${nTest * d}`);
  if (p.ytest.length !== nTest) throw new RangeError(`${where}: problem ytest has ${p.ytest.length} numbers, expected nTest = ${nTest}`);
  if (p.betaStar !== null && p.betaStar.length !== d) throw new RangeError(`${where}: problem betaStar has ${p.betaStar.length} numbers, expected d = ${d}`);
}

function checkState(where: string, s: DiagNetState, d: number, name = "state"): void {
  if (s.u.length !== d || s.v.length !== d) throw new RangeError(`${where}: ${name} u and v must have d = ${d} numbers (got ${s.u.length} and ${s.v.length})`);
}

/**
 * The initialization of 002 §4.2 in the code's parametrization: u = 2α·1, v = 0 (β = 0),
 * i.e. w₊ = w₋ = α. α must be finite and > 0. Returns new arrays.
 *
 * @example
 * ```ts
 * const s0 = initDiagNet(30, 0.05); // u = 0.1·1, v = 0
 * ```
 */
export function initDiagNet(d: number, alpha: number): DiagNetState {
  if (!Number.isInteger(d) || d < 1) throw new RangeError(`initDiagNet: d must be an integer ≥ 1 (got ${d})`);
  checkPositive("initDiagNet", "alpha", alpha);
  return { u: new Float64Array(d).fill(2 * alpha), v: new Float64Array(d) };
}

/**
 * The linear predictor β = u ⊙ v (a new array).
 *
 * @example
 * ```ts
 * const beta = diagNetBeta(initDiagNet(30, 0.05)); // all zeros
 * ```
 */
export function diagNetBeta(s: DiagNetState): Float64Array {
  if (s.u.length !== s.v.length) throw new RangeError(`diagNetBeta: u and v must have the same length (got ${s.u.length} and ${s.v.length})`);
  const b = new Float64Array(s.u.length);
  for (let i = 0; i < b.length; i++) b[i] = s.u[i] * s.v[i];
  return b;
}

/** ½‖Aβ − y‖² / rows, with A rows × d row-major; the residual goes into r when given. */
function lossOf(A: Float64Array, y: Float64Array, beta: Float64Array, rows: number, d: number, r?: Float64Array): number {
  let sq = 0;
  for (let k = 0; k < rows; k++) {
    const o = k * d;
    let s = 0;
    for (let i = 0; i < d; i++) s += A[o + i] * beta[i];
    const e = s - y[k];
    if (r) r[k] = e;
    sq += e * e;
  }
  return sq / (2 * rows);
}

/**
 * The squared loss ‖Xβ − y‖² / (2n) with n = y.length, d = beta.length and X n × d row-major
 * (the code's `loss`). Throws a RangeError when X does not have n·d numbers.
 *
 * @example
 * ```ts
 * const problem = sparseRegression({ seed: 0 });
 * regressionLoss(problem.Xtest, problem.ytest, diagNetBeta(run.state!));
 * ```
 */
export function regressionLoss(X: Float64Array, y: Float64Array, beta: Float64Array): number {
  const n = y.length;
  const d = beta.length;
  if (n < 1) throw new RangeError("regressionLoss: y must have at least one number");
  if (X.length !== n * d) throw new RangeError(`regressionLoss: X has ${X.length} numbers, expected y.length · beta.length = ${n * d}`);
  return lossOf(X, y, beta, n, d);
}

/** Preallocated buffers for one (n, d). */
type Work = { beta: Float64Array; r: Float64Array; a: Float64Array; b: Float64Array; ut: Float64Array; vt: Float64Array };
const makeWork = (n: number, d: number): Work => ({
  beta: new Float64Array(d),
  r: new Float64Array(n),
  a: new Float64Array(d),
  b: new Float64Array(d),
  ut: new Float64Array(d),
  vt: new Float64Array(d),
});

/**
 * Xᵀr into w.a for the point (u, v) (via w.beta, w.r); returns the training loss there.
 */
function residualGrad(p: RegressionProblem, u: Float64Array, v: Float64Array, w: Work): number {
  const { n, d, X } = p;
  const { beta, r, a } = w;
  for (let i = 0; i < d; i++) beta[i] = u[i] * v[i];
  const loss = lossOf(X, p.y, beta, n, d, r);
  a.fill(0);
  for (let k = 0; k < n; k++) {
    const o = k * d;
    const rk = r[k];
    for (let i = 0; i < d; i++) a[i] += X[o + i] * rk;
  }
  return loss;
}

/**
 * One step from (u, v) into (uOut, vOut) (distinct arrays). Returns the training loss at
 * (u, v), which the step computes anyway.
 */
function stepInto(p: RegressionProblem, u: Float64Array, v: Float64Array, method: DiagNetMethod, rho: number, lr: number, w: Work, uOut: Float64Array, vOut: Float64Array): number {
  const { n, d, X, y } = p;
  const { a, b, r, ut, vt } = w;
  const loss = residualGrad(p, u, v, w); // a = Xᵀr, r = Xβ − y
  if (method === "erm") {
    for (let i = 0; i < d; i++) {
      const gu = (a[i] * v[i]) / n;
      const gv = (a[i] * u[i]) / n;
      uOut[i] = u[i] - lr * gu;
      vOut[i] = v[i] - lr * gv;
    }
  } else if (method === "n-sam") {
    for (let i = 0; i < d; i++) {
      ut[i] = u[i] + rho * ((a[i] * v[i]) / n);
      vt[i] = v[i] + rho * ((a[i] * u[i]) / n);
    }
    residualGrad(p, ut, vt, w); // a = Xᵀ(X(ũ⊙ṽ) − y)
    for (let i = 0; i < d; i++) {
      const gu = (a[i] * vt[i]) / n;
      const gv = (a[i] * ut[i]) / n;
      uOut[i] = u[i] - lr * gu;
      vOut[i] = v[i] - lr * gv;
    }
  } else {
    // 1-SAM, regrouped (header): A = Σ_k e_k x_k into a, B = Σ_k e_k c_k x_k² into b.
    a.fill(0);
    b.fill(0);
    for (let k = 0; k < n; k++) {
      const o = k * d;
      const c = 2 * rho * r[k];
      let s = 0;
      for (let i = 0; i < d; i++) {
        const x = X[o + i];
        const uk = u[i] + c * x * v[i];
        const vk = v[i] + c * x * u[i];
        s += x * (uk * vk);
      }
      const e = s - y[k];
      const ec = e * c;
      for (let i = 0; i < d; i++) {
        const x = X[o + i];
        a[i] += x * e;
        b[i] += ec * x * x;
      }
    }
    for (let i = 0; i < d; i++) {
      const gu = (a[i] * v[i] + b[i] * u[i]) / n;
      const gv = (a[i] * u[i] + b[i] * v[i]) / n;
      uOut[i] = u[i] - lr * gu;
      vOut[i] = v[i] - lr * gv;
    }
  }
  return loss;
}

/**
 * The gradient of the training loss L(u, v) = ‖X(u⊙v) − y‖²/(2n):
 * ∂L/∂u = (Xᵀr) ⊙ v / n, ∂L/∂v = (Xᵀr) ⊙ u / n with r = X(u⊙v) − y. Returns new arrays
 * `{ u: ∂L/∂u, v: ∂L/∂v }`.
 *
 * @example
 * ```ts
 * const g = diagNetGrad(problem, initDiagNet(problem.d, 0.05));
 * ```
 */
export function diagNetGrad(p: RegressionProblem, s: DiagNetState): DiagNetState {
  checkProblem("diagNetGrad", p);
  checkState("diagNetGrad", s, p.d);
  const w = makeWork(p.n, p.d);
  residualGrad(p, s.u, s.v, w);
  const gu = new Float64Array(p.d);
  const gv = new Float64Array(p.d);
  for (let i = 0; i < p.d; i++) {
    gu[i] = (w.a[i] * s.v[i]) / p.n;
    gv[i] = (w.a[i] * s.u[i]) / p.n;
  }
  return { u: gu, v: gv };
}

function checkStepOptions(where: string, o: { method: DiagNetMethod; rho: number }, prefix = ""): void {
  checkMethod(where, `${prefix}method`, o.method);
  checkRho(where, `${prefix}rho`, o.rho);
}

/**
 * One full-batch step of `method` (ERM, n-SAM or 1-SAM; formulas in the file header) with
 * step size `lr` (γ > 0) and radius `rho` (ρ ≥ 0; ignored by ERM, and ρ = 0 gives ERM exactly).
 * Returns the new state (new arrays; s is not changed).
 *
 * @example
 * ```ts
 * let s = initDiagNet(problem.d, 0.05);
 * for (let t = 0; t < 100; t++) s = diagNetStep(problem, s, { method: "1-sam", rho: 0.1, lr: 0.5 });
 * ```
 */
export function diagNetStep(p: RegressionProblem, s: DiagNetState, o: { method: DiagNetMethod; rho: number; lr: number }): DiagNetState {
  checkProblem("diagNetStep", p);
  checkState("diagNetStep", s, p.d);
  checkStepOptions("diagNetStep", o);
  checkPositive("diagNetStep", "lr", o.lr);
  const out = { u: new Float64Array(p.d), v: new Float64Array(p.d) };
  stepInto(p, s.u, s.v, o.method, o.rho, o.lr, makeWork(p.n, p.d), out.u, out.v);
  return out;
}

/**
 * One phase of a run: `steps` steps of `method` with radius `rho`.
 *
 * @example
 * ```ts
 * const phases: DiagNetPhase[] = [{ method: "erm", rho: 0, steps: 5000 }, { method: "1-sam", rho: 0.175, steps: 5000 }];
 * ```
 */
export type DiagNetPhase = {
  /** The update rule. */
  method: DiagNetMethod;
  /** The radius ρ ≥ 0 (ignored by ERM). */
  rho: number;
  /** Steps of this phase (an integer ≥ 0). */
  steps: number;
};
/** Losses after `step` steps (step 0: the initialization). */
export type CurvePoint = {
  /** Steps taken. */
  step: number;
  /** Training loss ‖Xβ − y‖²/(2n). */
  trainLoss: number;
  /** Test loss, the same on the test rows. */
  testLoss: number;
};
/** What {@link trainDiagNet} returns: the final losses, ‖β‖₁, β, the loss curve, and whether it diverged. */
export type DiagNetRun = {
  /** training/test loss ‖Xβ − y‖²/(2n) at the end; null when diverged */
  trainLoss: number | null;
  /** test loss at the end; null when diverged */
  testLoss: number | null;
  /** ‖β‖₁ at the end; null when diverged */
  l1Norm: number | null;
  /** a loss or parameter became non-finite */
  diverged: boolean;
  /** steps actually taken: the total, or the step after which a loss or parameter was first non-finite */
  steps: number;
  /** β = u ⊙ v at the end; null when diverged */
  beta: number[] | null;
  /** the losses at log-spaced steps (logSteps); when diverged, the finite points before */
  curve: CurvePoint[];
  /** cumulative step at the end of each phase */
  phaseEnds: number[];
  /** ‖β − β*‖₂ when betaStar is known, else null (null when diverged) */
  recoveryError: number | null;
  /** the final (u, v) (new arrays), e.g. to continue a run with `init`; null when diverged */
  state: DiagNetState | null;
};

/**
 * About `points` log-spaced unique integer steps in [0, total], sorted, always including 0,
 * total and every value of `include` that lies in [0, total] (phase boundaries). With
 * total + 1 ≤ points every step is included. total an integer ≥ 0, points an integer ≥ 2.
 *
 * @example
 * ```ts
 * logSteps(10000, 5); // [0, 1, 22, 464, 10000]
 * ```
 */
export function logSteps(total: number, points: number, include: number[] = []): number[] {
  if (!Number.isInteger(total) || total < 0) throw new RangeError(`logSteps: total must be an integer ≥ 0 (got ${total})`);
  if (!Number.isInteger(points) || points < 2) throw new RangeError(`logSteps: points must be an integer ≥ 2 (got ${points})`);
  const want = Math.min(points, total + 1);
  const grid = (m: number) => {
    const set = new Set<number>([0, total]);
    if (total >= 1) for (let i = 0; i < m; i++) set.add(Math.round(Math.pow(total, i / Math.max(1, m - 1))));
    return set;
  };
  // Rounding merges the first few log points; densen the grid until `want` distinct steps remain.
  let set = grid(points - 1);
  for (let m = points; set.size < want && m < 64 * points + total; m++) set = grid(m);
  if (set.size < want) for (let s = 0; s <= total && set.size < want; s++) set.add(s);
  for (const s of include) if (Number.isInteger(s) && s >= 0 && s <= total) set.add(s);
  return [...set].sort((x, y) => x - y);
}

function l1(b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i++) s += Math.abs(b[i]);
  return s;
}

function allFinite(a: Float64Array, b: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]) || !Number.isFinite(b[i])) return false;
  return true;
}

/**
 * Trains the diagonal network on p: from `init` (default initDiagNet(d, alpha)) run each phase
 * in turn (`steps` steps of `method` with radius `rho`), all with step size `lr`; phase k + 1
 * starts from phase k's final (u, v) (the switching experiments, 002 Fig. 15).
 *
 * Records the train and test losses after the steps of logSteps(total, curvePoints (default 80),
 * phase ends). Stops at the first non-finite loss or parameter: diverged true, steps the step
 * count where it happened, losses/l1Norm/beta/recoveryError/state null, the curve the finite
 * points before. onProgress(step, total) is called about every 1% and at the end.
 *
 * Options: alpha > 0 finite (ignored with init), lr > 0 finite, at least one phase, each with a
 * method of DIAG_NET_METHODS, rho ≥ 0 finite and steps an integer ≥ 0; one-line RangeErrors.
 *
 * @example
 * ```ts
 * const problem = sparseRegression({ n: 20, d: 30, k: 3, seed: 0 });
 * const run = trainDiagNet(problem, { alpha: 0.05, lr: 0.5, phases: [{ method: "erm", rho: 0, steps: 5000 }, { method: "1-sam", rho: 0.175, steps: 5000 }] });
 * console.log(run.testLoss, run.l1Norm);
 * ```
 */
export function trainDiagNet(
  p: RegressionProblem,
  o: { alpha: number; lr: number; phases: DiagNetPhase[]; curvePoints?: number; init?: DiagNetState; onProgress?: (step: number, total: number) => void },
): DiagNetRun {
  const where = "trainDiagNet";
  checkProblem(where, p);
  if (o.init === undefined) checkPositive(where, "alpha", o.alpha);
  checkPositive(where, "lr", o.lr);
  if (!Array.isArray(o.phases) || o.phases.length === 0) throw new RangeError(`${where}: phases must list at least one phase { method, rho, steps }`);
  o.phases.forEach((ph, i) => {
    checkStepOptions(where, ph, `phases[${i}].`);
    if (!Number.isInteger(ph.steps) || ph.steps < 0) throw new RangeError(`${where}: phases[${i}].steps must be an integer ≥ 0 (got ${ph.steps})`);
  });
  const curvePoints = o.curvePoints ?? 80;
  if (!Number.isInteger(curvePoints) || curvePoints < 2) throw new RangeError(`${where}: curvePoints must be an integer ≥ 2 (got ${curvePoints})`);
  const { n, d, nTest } = p;
  if (o.init !== undefined) {
    checkState(where, o.init, d, "init");
    if (!allFinite(o.init.u, o.init.v)) throw new RangeError(`${where}: init u and v must be finite numbers`);
  }

  const phaseEnds: number[] = [];
  let total = 0;
  for (const ph of o.phases) phaseEnds.push((total += ph.steps));
  const record = logSteps(total, curvePoints, phaseEnds);

  const start = o.init ?? initDiagNet(d, o.alpha);
  let u = Float64Array.from(start.u);
  let v = Float64Array.from(start.v);
  let u2 = new Float64Array(d);
  let v2 = new Float64Array(d);
  const w = makeWork(n, d);
  const beta = new Float64Array(d);
  const curve: CurvePoint[] = [];
  let next = 0; // index into record
  let t = 0;
  let diverged = false;
  const progressEvery = Math.max(1, Math.floor(total / 100));

  /** Records the losses after t steps when t is a curve step; false when they are non-finite. */
  const maybeRecord = (): boolean => {
    if (record[next] !== t) return true;
    next++;
    for (let i = 0; i < d; i++) beta[i] = u[i] * v[i];
    const trainLoss = lossOf(p.X, p.y, beta, n, d);
    const testLoss = lossOf(p.Xtest, p.ytest, beta, nTest, d);
    if (!Number.isFinite(trainLoss) || !Number.isFinite(testLoss)) return false;
    curve.push({ step: t, trainLoss, testLoss });
    return true;
  };

  if (!maybeRecord()) diverged = true;
  outer: for (const ph of diverged ? [] : o.phases) {
    for (let j = 0; j < ph.steps; j++) {
      const lossBefore = stepInto(p, u, v, ph.method, ph.rho, o.lr, w, u2, v2);
      if (!Number.isFinite(lossBefore)) {
        diverged = true; // the state after t steps has a non-finite loss
        break outer;
      }
      [u, u2] = [u2, u];
      [v, v2] = [v2, v];
      t++;
      if (!allFinite(u, v) || !maybeRecord()) {
        diverged = true;
        break outer;
      }
      if (o.onProgress && t % progressEvery === 0) o.onProgress(t, total);
    }
  }
  if (diverged) {
    return { trainLoss: null, testLoss: null, l1Norm: null, diverged, steps: t, beta: null, curve, phaseEnds, recoveryError: null, state: null };
  }
  if (o.onProgress && (total === 0 || total % progressEvery !== 0)) o.onProgress(total, total);
  const last = curve[curve.length - 1]; // record always holds `total`
  for (let i = 0; i < d; i++) beta[i] = u[i] * v[i];
  let recoveryError: number | null = null;
  if (p.betaStar) {
    let sq = 0;
    for (let i = 0; i < d; i++) sq += (beta[i] - p.betaStar[i]) ** 2;
    recoveryError = Math.sqrt(sq);
  }
  return {
    trainLoss: last.trainLoss,
    testLoss: last.testLoss,
    l1Norm: l1(beta),
    diverged: false,
    steps: total,
    beta: Array.from(beta),
    curve,
    phaseEnds,
    recoveryError,
    state: { u, v },
  };
}
