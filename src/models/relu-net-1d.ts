/**
 * A one-hidden-layer ReLU network on a 1-D regression problem, trained by full-batch gradient
 * descent (ERM) or SAM: the experiment of 002 §4.3, Fig 7 (Andriushchenko & Flammarion 2022,
 * "Towards Understanding Sharpness-Aware Minimization"; data `BLANC_1D` in
 * `src/data/relu-1d.ts`). Reference code: the authors' notebook
 * tml-epfl/understanding-sam `one_layer_relu_nets/1d_nn.ipynb`.
 *
 * Plain TypeScript in float64, no jax-js: with 100 hidden units and 12 points a step is ~10⁴
 * flops, so the engine's per-step dispatch would dominate; float64 host arithmetic is exact
 * enough to be the reference itself. Browser-safe (no `node:` imports).
 *
 * Model (H hidden units, no output bias):
 *
 *   f(x) = Σⱼ aⱼ relu(wⱼ x + bⱼ),  j = 1..H
 *
 * Loss (the notebook's 0.5 · MSELoss(reduction='sum'), full batch):
 *
 *   L = ½ Σᵢ rᵢ²,  rᵢ = f(xᵢ) − yᵢ
 *   ∂L/∂aⱼ = Σᵢ rᵢ relu(wⱼxᵢ + bⱼ)
 *   ∂L/∂wⱼ = aⱼ Σᵢ rᵢ 1[wⱼxᵢ + bⱼ > 0] xᵢ      (relu'(0) = 0, as torch)
 *   ∂L/∂bⱼ = aⱼ Σᵢ rᵢ 1[wⱼxᵢ + bⱼ > 0]
 *
 * Updates, for steps t = 1..T (T = `maxSteps`), θ = (w, b, a) all parameters together:
 *
 *   ERM:  θ ← θ − η_t ∇L(θ)
 *   SAM:  g = ∇L(θ);  θ̃ = θ + ρ g / (‖g‖₂ + 1e-12);  θ ← θ − η_t ∇L(θ̃)
 *
 * ‖g‖₂ is the global norm over all 3H parameters (the notebook's `sam_grad_normalization`).
 * The 1e-12 is ours: the notebook divides by ‖g‖ bare; with it, g = 0 gives θ̃ = θ instead of
 * NaN, and ρ = 0 gives exactly the ERM step. Full-batch SAM is n-SAM with n = 12 (002 fn. 3:
 * no substantial difference from 1-SAM on this task).
 *
 *   η_t = η (1 − t/T)   `lrDecay: "linear"` (default for SAM)
 *   η_t = η             `lrDecay: "none"`   (default for ERM)
 *
 * Defaults (the notebook's): H = 100, η = 5e-5, T = 10⁶, loss target 1e-5, ρ = 0.3 for SAM
 * ("use 0.3 for SAM"), seeds 0-4 in the paper. Initialization (Blanc et al. 2020, the
 * notebook's `Net`, init scale s = 1): wⱼ = ±2.5 s (fair random sign), bⱼ = 2.5 s N(0, 1),
 * aⱼ = 4 s N(0, 1) (the notebook's docstring says N(0, s²/m); its code, followed here, is this).
 *
 * What follows the code over the paper (the paper says only "full-batch gradient descent …
 * with ERM and SAM"):
 *   - The two arms differ in more than ρ: in the notebook the SAM branch sets the learning rate
 *     to η(1 − t/T) every step (`lr_decay = True`), while the ERM branch (ρ = 0) never touches
 *     it, so ERM runs at constant η. The defaults of `lrDecay` reproduce that (SAM "linear",
 *     ERM "none"); pass the same `lrDecay` to both to compare like with like. With "linear" the
 *     last step (t = T) has η_T = 0.
 *   - Stopping: the notebook loops `while loss > 1e-5`, and in the SAM branch `loss` has been
 *     overwritten by the loss at the perturbed point θ̃ (computed for the second gradient). So
 *     SAM stops on L(θ̃) ≤ target, which with ρ = 0.3 in practice never happens, and runs all T
 *     steps (with its lr decaying to 0). `stopOn: "evaluated"` (default) reproduces that: ERM
 *     checks L(θ), SAM L(θ̃); `stopOn: "clean"` makes SAM check L(θ) too. (For seeds 0-4 at the
 *     defaults the two agree: SAM's clean loss also stays above 1e-5, ending at 3e-3 – 2e-2.)
 *   - The check here comes before the step: training stops at the first θ whose checked loss is
 *     ≤ target, and returns that θ (the notebook takes one more step after the loss it checks).
 *     Up to T steps are taken (the notebook's loop allows T + 1).
 * Other differences from the notebook: float64 instead of float32; our own seeded generator
 * (values differ from torch's, the distribution is the same); the notebook's per-step random
 * permutation of the 12 points is a no-op for a full-batch sum and is omitted.
 *
 * Cost (measured, Node 20, one core): a SAM step ~4 µs and an ERM step ~1.7 µs at H = 100,
 * n = 12, so the notebook's 10⁶ SAM steps take ~4 s per seed.
 *
 * Functions here never modify their arguments: they return new arrays.
 */
import { rng } from "../engine/prng.js";
import { checkKeys, checkNumber, checkOneOf } from "../optim/validate.js";

/** A network f(x) = Σⱼ aⱼ relu(wⱼ x + bⱼ): H hidden units, all three arrays of length H. */
export type ReluNet1d = {
  /** Input weights wⱼ. */
  w: Float64Array;
  /** Biases bⱼ. */
  b: Float64Array;
  /** Output weights aⱼ. */
  a: Float64Array;
};

/** The SAM ascent's guard: g is divided by ‖g‖₂ + SAM_EPS, never by 0. */
export const SAM_EPS = 1e-12;

function hiddenOf(net: ReluNet1d): number {
  const h = net.w.length;
  if (net.b.length !== h || net.a.length !== h) {
    throw new RangeError(`relu-net-1d: w, b, a must have the same length (got ${net.w.length}, ${net.b.length}, ${net.a.length})`);
  }
  return h;
}

function checkData(owner: string, xs: readonly number[], ys: readonly number[]): void {
  if (xs.length !== ys.length) throw new RangeError(`${owner}: x and y must have the same length (got ${xs.length}, ${ys.length})`);
}

/**
 * A seeded Blanc et al. initialization (the notebook's `Net`):
 *
 *   wⱼ = ±2.5 s (sign + when a uniform draw is > 0.5, as `-1 + 2·round(rand)`),
 *   bⱼ = 2.5 s N(0, 1),  aⱼ = 4 s N(0, 1),  s = `initScale`.
 *
 * Draws come from `rng(seed, 0)` (signs), `rng(seed, 1)` (b) and `rng(seed, 2)` (a) of
 * `src/engine/prng.ts`, normals by Box–Muller. The values therefore differ from torch's
 * generator for the same seed; the distribution is the notebook's.
 *
 * @param o.hidden  number of hidden units H (default 100)
 * @param o.seed    the seed
 * @param o.initScale  s (default 1)
 * @returns a fresh network
 *
 * @example
 * ```ts
 * const net = initReluNet1d({ seed: 0 }); // H = 100
 * ```
 */
export function initReluNet1d(o: { hidden?: number; seed: number; initScale?: number }): ReluNet1d {
  checkKeys("initReluNet1d", o, ["hidden", "seed", "initScale"]);
  const h = checkNumber("initReluNet1d", "hidden", o.hidden ?? 100, { lo: 1, integer: true });
  const seed = checkNumber("initReluNet1d", "seed", o.seed, { integer: true });
  const s = checkNumber("initReluNet1d", "initScale", o.initScale ?? 1, { lo: 0 });
  const signs = rng(seed, 0);
  const w = new Float64Array(h);
  for (let j = 0; j < h; j++) w[j] = (signs() > 0.5 ? 2.5 : -2.5) * s;
  return { w, b: normals(rng(seed, 1), h, 2.5 * s), a: normals(rng(seed, 2), h, 4 * s) };
}

/** n draws of scale·N(0, 1) by Box–Muller (both the cos and the sin of each pair). */
function normals(r: () => number, n: number, scale: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = 1 - r(); // in (0, 1]: log is finite
    const u2 = r();
    const rad = Math.sqrt(-2 * Math.log(u1));
    out[i] = scale * rad * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = scale * rad * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/**
 * f(x) = Σⱼ aⱼ relu(wⱼ x + bⱼ).
 *
 * @example
 * ```ts
 * reluNetPredict(net, 0.5);
 * ```
 */
export function reluNetPredict(net: ReluNet1d, x: number): number {
  const h = hiddenOf(net);
  const { w, b, a } = net;
  let f = 0;
  for (let j = 0; j < h; j++) {
    const z = w[j] * x + b[j];
    if (z > 0) f += a[j] * z;
  }
  return f;
}

/**
 * L = ½ Σᵢ (f(xᵢ) − yᵢ)² (the notebook's 0.5 · MSELoss(reduction='sum')).
 *
 * @example
 * ```ts
 * reluNetLoss(net, BLANC_1D.x, BLANC_1D.y);
 * ```
 */
export function reluNetLoss(net: ReluNet1d, xs: readonly number[], ys: readonly number[]): number {
  checkData("reluNetLoss", xs, ys);
  let l = 0;
  for (let i = 0; i < xs.length; i++) {
    const r = reluNetPredict(net, xs[i]) - ys[i];
    l += r * r;
  }
  return 0.5 * l;
}

/**
 * ∇L of L = ½ Σᵢ rᵢ², rᵢ = f(xᵢ) − yᵢ, as a network-shaped triple:
 * ∂L/∂aⱼ = Σᵢ rᵢ relu(zᵢⱼ), ∂L/∂wⱼ = aⱼ Σᵢ rᵢ 1[zᵢⱼ > 0] xᵢ, ∂L/∂bⱼ = aⱼ Σᵢ rᵢ 1[zᵢⱼ > 0],
 * zᵢⱼ = wⱼxᵢ + bⱼ. relu'(0) = 0, as torch.
 *
 * @returns fresh arrays `{ w: ∂L/∂w, b: ∂L/∂b, a: ∂L/∂a }`
 *
 * @example
 * ```ts
 * const g = reluNetGrad(net, BLANC_1D.x, BLANC_1D.y); // { w, b, a }
 * ```
 */
export function reluNetGrad(net: ReluNet1d, xs: readonly number[], ys: readonly number[]): ReluNet1d {
  checkData("reluNetGrad", xs, ys);
  const h = hiddenOf(net);
  const { w, b, a } = net;
  const n = xs.length;
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) r[i] = reluNetPredict(net, xs[i]) - ys[i];
  const g = { w: new Float64Array(h), b: new Float64Array(h), a: new Float64Array(h) };
  for (let j = 0; j < h; j++) {
    let ga = 0;
    let gw = 0;
    let gb = 0;
    for (let i = 0; i < n; i++) {
      const z = w[j] * xs[i] + b[j];
      if (z > 0) {
        ga += r[i] * z;
        gw += r[i] * xs[i];
        gb += r[i];
      }
    }
    g.w[j] = a[j] * gw;
    g.b[j] = a[j] * gb;
    g.a[j] = ga;
  }
  return g;
}

/** θ = (w | b | a) in one buffer of length 3H, units in the order `order`. */
function pack(net: ReluNet1d, order: readonly number[]): Float64Array {
  const h = order.length;
  const p = new Float64Array(3 * h);
  for (let j = 0; j < h; j++) {
    const u = order[j];
    p[j] = net.w[u];
    p[h + j] = net.b[u];
    p[2 * h + j] = net.a[u];
  }
  return p;
}

/** The inverse of `pack`: fresh arrays in the original unit order. */
function unpack(p: Float64Array, order: readonly number[]): ReluNet1d {
  const h = order.length;
  const net = { w: new Float64Array(h), b: new Float64Array(h), a: new Float64Array(h) };
  for (let j = 0; j < h; j++) {
    const u = order[j];
    net.w[u] = p[j];
    net.b[u] = p[h + j];
    net.a[u] = p[2 * h + j];
  }
  return net;
}

/**
 * The hot loop: L(θ) and ∇L(θ) at θ = (w | b | a) in O(H + n) per call, with preallocated
 * buffers (no allocation per call). The points are sorted by x once, so unit j is active
 * (zᵢⱼ = wⱼxᵢ + bⱼ > 0, evaluated exactly as the direct formula does) on a suffix [kⱼ, n) of
 * them when wⱼ > 0 and on a prefix [0, kⱼ) when wⱼ ≤ 0 (fl(w·x) + b is monotone in x, so the
 * mask is exactly the direct one). kⱼ is found by walking from its value at the previous call
 * (a cache per evaluation point; it rarely moves). Then
 *
 *   f(xᵢ) = xᵢ Σ_{j active at i} aⱼwⱼ + Σ_{j active at i} aⱼbⱼ      (cumulative sums over i)
 *   Σ_{i active for j} rᵢ, Σ_{i active for j} rᵢxᵢ                   (prefix / suffix sums)
 *   ∂L/∂wⱼ = aⱼ Σ rᵢxᵢ,  ∂L/∂bⱼ = aⱼ Σ rᵢ,  ∂L/∂aⱼ = wⱼ Σ rᵢxᵢ + bⱼ Σ rᵢ
 *
 * This regroups the sums of `reluNetGrad` (agreement to ~1e-11 relative at init, where the
 * terms are large; see the tests), about 3× faster than the direct O(H·n) loops at H = 100,
 * n = 12. Callers order units with wⱼ > 0 first (a stable branch in the unit loop).
 */
class Kernel {
  readonly h: number;
  readonly n: number;
  /** x sorted ascending, y in the same order. */
  readonly xs: Float64Array;
  readonly ys: Float64Array;
  private readonly res: Float64Array;
  // per cut k ∈ 0..n: Σ aw, Σ ab of units active on [k, n) (sufA/sufB) and on [0, k) (preA/preB)
  private readonly sufA: Float64Array;
  private readonly sufB: Float64Array;
  private readonly preA: Float64Array;
  private readonly preB: Float64Array;
  // prefix sums Σ_{i<k} rᵢ, Σ_{i<k} rᵢxᵢ and suffix sums Σ_{i≥k} (length n + 1)
  private readonly pr: Float64Array;
  private readonly prx: Float64Array;
  private readonly sr: Float64Array;
  private readonly srx: Float64Array;
  /** ‖∇L‖² of the last `lossGrad` call. */
  gradSq = 0;

  constructor(h: number, x: readonly number[], y: readonly number[]) {
    const n = x.length;
    const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => x[i] - x[j] || i - j);
    this.h = h;
    this.n = n;
    this.xs = Float64Array.from(order, (i) => x[i]);
    this.ys = Float64Array.from(order, (i) => y[i]);
    this.res = new Float64Array(n);
    this.sufA = new Float64Array(n + 1);
    this.sufB = new Float64Array(n + 1);
    this.preA = new Float64Array(n + 1);
    this.preB = new Float64Array(n + 1);
    this.pr = new Float64Array(n + 1);
    this.prx = new Float64Array(n + 1);
    this.sr = new Float64Array(n + 1);
    this.srx = new Float64Array(n + 1);
  }

  /** A cache of the cuts kⱼ for one evaluation point. */
  newCuts(): Int32Array {
    return new Int32Array(this.h);
  }

  /** Writes ∇L(θ) into g (length 3H) and ‖∇L(θ)‖² into `gradSq`, updates the cuts, returns L(θ). */
  lossGrad(p: Float64Array, g: Float64Array, cuts: Int32Array): number {
    const { h, n, xs, ys, res, sufA, sufB, preA, preB, pr, prx, sr, srx } = this;
    sufA.fill(0);
    sufB.fill(0);
    preA.fill(0);
    preB.fill(0);
    for (let j = 0; j < h; j++) {
      const w = p[j];
      const b = p[h + j];
      const a = p[2 * h + j];
      let k = cuts[j];
      if (w > 0) {
        // active on [k, n): k = the first i with z > 0
        while (k > 0 && w * xs[k - 1] + b > 0) k--;
        while (k < n && !(w * xs[k] + b > 0)) k++;
        sufA[k] += a * w;
        sufB[k] += a * b;
      } else {
        // active on [0, k): k = the first i with z ≤ 0 (w = 0: z = b for all i)
        while (k > 0 && !(w * xs[k - 1] + b > 0)) k--;
        while (k < n && w * xs[k] + b > 0) k++;
        preA[k] += a * w;
        preB[k] += a * b;
      }
      cuts[j] = k;
    }
    // f(xᵢ) = xᵢ A + B with A, B summed over the units active at i:
    // suffix units with k ≤ i, prefix units with k > i
    let sa = 0;
    let sb = 0;
    for (let i = 0; i < n; i++) {
      sa += sufA[i];
      sb += sufB[i];
      res[i] = xs[i] * sa + sb;
    }
    sa = 0;
    sb = 0;
    let l = 0;
    for (let i = n - 1; i >= 0; i--) {
      sa += preA[i + 1];
      sb += preB[i + 1];
      const r = res[i] + (xs[i] * sa + sb) - ys[i];
      res[i] = r;
      l += r * r;
    }
    pr[0] = 0;
    prx[0] = 0;
    for (let i = 0; i < n; i++) {
      pr[i + 1] = pr[i] + res[i];
      prx[i + 1] = prx[i] + res[i] * xs[i];
    }
    sr[n] = 0;
    srx[n] = 0;
    for (let i = n - 1; i >= 0; i--) {
      sr[i] = sr[i + 1] + res[i];
      srx[i] = srx[i + 1] + res[i] * xs[i];
    }
    let gg = 0;
    for (let j = 0; j < h; j++) {
      const w = p[j];
      const a = p[2 * h + j];
      const k = cuts[j];
      let sm: number;
      let smx: number;
      if (w > 0) {
        sm = sr[k];
        smx = srx[k];
      } else {
        sm = pr[k];
        smx = prx[k];
      }
      const gw = a * smx;
      const gb = a * sm;
      const ga = w * smx + p[h + j] * sm;
      g[j] = gw;
      g[h + j] = gb;
      g[2 * h + j] = ga;
      gg += gw * gw + gb * gb + ga * ga;
    }
    this.gradSq = gg;
    return 0.5 * l;
  }
}

/**
 * Options of `trainReluNet1d`. Defaults are the notebook's.
 *
 * @example
 * ```ts
 * const o: ReluTrainOptions = { method: "sam", seed: 0, rho: 0.3, maxSteps: 200_000 };
 * const r = trainReluNet1d(BLANC_1D, o);
 * ```
 */
export type ReluTrainOptions = {
  /** "erm": plain gradient descent; "sam": normalized full-batch SAM. */
  method: "erm" | "sam";
  /** SAM radius ρ (default 0.3; ignored by "erm"). */
  rho?: number;
  /** Peak learning rate η (default 5e-5). */
  lr?: number;
  /** T: at most this many steps (default 10⁶). */
  maxSteps?: number;
  /** Stop when the checked loss is ≤ this (default 1e-5; see `stopOn`). */
  lossTarget?: number;
  /**
   * η_t = η(1 − t/T) ("linear") or η ("none"). Default per method, as in the notebook: SAM
   * "linear", ERM "none" — a difference between the arms the paper does not mention.
   */
  lrDecay?: "linear" | "none";
  /**
   * Which loss the stop rule checks for SAM: "evaluated" (default, the notebook's) the loss at
   * the perturbed point θ̃, the last one the notebook computes each step; "clean" the loss at θ.
   * ERM always checks L(θ).
   */
  stopOn?: "evaluated" | "clean";
  /** Seed of the initialization (`initReluNet1d`); unused when `init` is given. */
  seed: number;
  /** H (default 100). */
  hidden?: number;
  /** Initialization scale s (default 1). */
  initScale?: number;
  /** Start from this network instead of a seeded initialization (copied, not modified). */
  init?: ReluNet1d;
  /** Number of log-spaced steps at which the curve records L(θ) (default 100). */
  curvePoints?: number;
  /** Called about every 1% of `maxSteps` and at the end with (steps taken, maxSteps). */
  onProgress?: (step: number, maxSteps: number) => void;
};

/** What `trainReluNet1d` returns. */
export type ReluTrainResult = {
  /** The network after the last step (fresh arrays). */
  net: ReluNet1d;
  /** Steps taken (parameter updates). */
  steps: number;
  /** L(θ) of `net`; null when training diverged (a non-finite loss). */
  finalLoss: number | null;
  /** A loss became non-finite; training stopped there. */
  diverged: boolean;
  /** The checked loss (see `stopOn`) reached `lossTarget`. */
  reachedTarget: boolean;
  /** L(θ) after `step` steps, at log-spaced steps (step 0 first, the last step last). */
  curve: { step: number; loss: number }[];
};

const TRAIN_KEYS = ["method", "rho", "lr", "maxSteps", "lossTarget", "lrDecay", "stopOn", "seed", "hidden", "initScale", "init", "curvePoints", "onProgress"];

/** Log-spaced integer steps 0, 1, …, maxSteps (about `points` of them, deduplicated). */
function logSteps(maxSteps: number, points: number): number[] {
  const out = new Set<number>([0]);
  if (maxSteps > 0 && points > 1) {
    const top = Math.log10(maxSteps);
    for (let k = 0; k < points - 1; k++) out.add(Math.round(10 ** ((top * k) / (points - 2 || 1))));
  }
  out.add(maxSteps);
  return [...out].filter((s) => s <= maxSteps).sort((p, q) => p - q);
}

/**
 * Full-batch ERM or SAM on `data` (see the module header for the updates and what follows the
 * notebook). At each step t = 1..T: compute L(θ), ∇L(θ) (and for SAM L(θ̃), ∇L(θ̃)); stop
 * before stepping if the checked loss is ≤ `lossTarget` or any loss is non-finite; else
 * θ ← θ − η_t d. One set of preallocated buffers serves all steps (no allocation per step).
 *
 * Defaults: rho 0.3 (SAM), lr 5e-5, maxSteps 10⁶, lossTarget 1e-5, lrDecay "linear" for SAM and
 * "none" for ERM, stopOn "evaluated", hidden 100, initScale 1, curvePoints 100.
 *
 * @returns the final network (fresh arrays), steps taken, final clean loss, flags and a
 *   log-spaced loss curve
 *
 * @example
 * ```ts
 * const r = trainReluNet1d(BLANC_1D, { method: "sam", seed: 0, maxSteps: 100_000 });
 * console.log(r.finalLoss, effectiveKinks(r.net, -1.5, 1.5).count);
 * ```
 */
export function trainReluNet1d(data: { x: readonly number[]; y: readonly number[] }, o: ReluTrainOptions): ReluTrainResult {
  const own = "trainReluNet1d";
  checkKeys(own, o, TRAIN_KEYS);
  checkData(own, data.x, data.y);
  const method = checkOneOf(own, "method", o.method, ["erm", "sam"] as const);
  const sam = method === "sam";
  const rho = checkNumber(own, "rho", o.rho ?? 0.3, { lo: 0 });
  const lr = checkNumber(own, "lr", o.lr ?? 5e-5, { lo: 0 });
  const maxSteps = checkNumber(own, "maxSteps", o.maxSteps ?? 1e6, { lo: 0, integer: true });
  const lossTarget = checkNumber(own, "lossTarget", o.lossTarget ?? 1e-5);
  const lrDecay = checkOneOf(own, "lrDecay", o.lrDecay ?? (sam ? "linear" : "none"), ["linear", "none"] as const);
  const stopOn = checkOneOf(own, "stopOn", o.stopOn ?? "evaluated", ["evaluated", "clean"] as const);
  const curvePoints = checkNumber(own, "curvePoints", o.curvePoints ?? 100, { lo: 2, integer: true });
  const start = o.init !== undefined ? o.init : initReluNet1d({ hidden: o.hidden ?? 100, seed: o.seed, initScale: o.initScale ?? 1 });
  const h = hiddenOf(start);
  // units with w > 0 first (stable): the kernel's per-unit sign branch then predicts well
  const order = Array.from({ length: h }, (_, j) => j).sort((i, j) => Number(start.w[j] > 0) - Number(start.w[i] > 0) || i - j);
  const p = pack(start, order);
  const k = new Kernel(h, data.x, data.y);
  const cuts = k.newCuts(); // at θ
  const cutsQ = k.newCuts(); // at θ̃
  const dim = 3 * h;
  const g = new Float64Array(dim);
  const q = new Float64Array(dim); // θ̃
  const gq = new Float64Array(dim); // ∇L(θ̃)
  const checkPerturbed = sam && stopOn === "evaluated";
  const linear = lrDecay === "linear";
  const record = logSteps(maxSteps, curvePoints);
  let nextRecord = 0;
  const curve: { step: number; loss: number }[] = [];
  const progressEvery = Math.max(1, Math.floor(maxSteps / 100));
  const onProgress = o.onProgress;
  let lastProgress = -1;

  let steps = 0;
  let diverged = false;
  let reachedTarget = false;
  let loss = NaN; // L(θ) at the current θ, once computed
  for (;;) {
    loss = k.lossGrad(p, g, cuts);
    if (!Number.isFinite(loss)) {
      diverged = true;
      break;
    }
    if (record[nextRecord] === steps) {
      curve.push({ step: steps, loss });
      nextRecord++;
    }
    if (!checkPerturbed && loss <= lossTarget) {
      reachedTarget = true;
      break;
    }
    if (steps >= maxSteps) break;
    const t = steps + 1;
    const eta = linear ? lr * (1 - t / maxSteps) : lr;
    let d = g;
    if (sam) {
      const scale = rho / (Math.sqrt(k.gradSq) + SAM_EPS);
      for (let i = 0; i < dim; i++) q[i] = p[i] + scale * g[i];
      const lq = k.lossGrad(q, gq, cutsQ);
      if (!Number.isFinite(lq)) {
        diverged = true;
        break;
      }
      if (checkPerturbed && lq <= lossTarget) {
        reachedTarget = true;
        break;
      }
      d = gq;
    }
    for (let i = 0; i < dim; i++) p[i] -= eta * d[i];
    steps = t;
    if (onProgress !== undefined && steps % progressEvery === 0) {
      onProgress(steps, maxSteps);
      lastProgress = steps;
    }
  }
  if (!diverged && (curve.length === 0 || curve[curve.length - 1].step !== steps)) curve.push({ step: steps, loss });
  if (onProgress !== undefined && lastProgress !== steps) onProgress(steps, maxSteps);
  return { net: unpack(p, order), steps, finalLoss: diverged ? null : loss, diverged, reachedTarget, curve };
}

/**
 * Breakpoints of f inside [lo, hi]. Unit j (wⱼ ≠ 0) bends at x = −bⱼ/wⱼ, where the slope of f
 * changes by aⱼ|wⱼ| (right minus left, for either sign of wⱼ); units with wⱼ = 0 are constant.
 * Breakpoints in [lo, hi] are sorted and grouped: a group starts at its leftmost breakpoint and
 * takes every later one within `merge` of that start (so a group spans at most `merge`, and a
 * dense run of breakpoints is not chained into one). A group's slope changes are summed, its
 * position is the |slope change|-weighted mean. A group counts as a kink when its summed
 * |slope change| is ≥ `minSlopeChange` and nonzero.
 *
 * Defaults: `merge` = 1% of hi − lo. `minSlopeChange` = 0.1, absolute: a kink of slope change s
 * bends f away from its linear continuation by s·δ over a distance δ; over one data spacing of
 * the 12-point problem (0.25), where y is O(1), s = 0.1 moves f by 0.025, about 0.6% of the
 * targets' range (4) — invisible on the paper's plot. An absolute threshold, unlike one
 * relative to the largest kink, does not let one huge kink hide many visible ones.
 *
 * @returns the number of kinks and the kinks (x, summed slope change), sorted by x
 *
 * @example
 * ```ts
 * const { count, kinks } = effectiveKinks(net, Math.min(...BLANC_1D.x), Math.max(...BLANC_1D.x));
 * ```
 */
export function effectiveKinks(
  net: ReluNet1d,
  lo: number,
  hi: number,
  o: { merge?: number; minSlopeChange?: number } = {},
): { count: number; kinks: { x: number; slopeChange: number }[] } {
  checkKeys("effectiveKinks", o, ["merge", "minSlopeChange"]);
  checkNumber("effectiveKinks", "lo", lo);
  checkNumber("effectiveKinks", "hi", hi, { lo });
  const merge = checkNumber("effectiveKinks", "merge", o.merge ?? 0.01 * (hi - lo), { lo: 0 });
  const minSlope = checkNumber("effectiveKinks", "minSlopeChange", o.minSlopeChange ?? 0.1, { lo: 0 });
  const h = hiddenOf(net);
  const pts: { x: number; s: number }[] = [];
  for (let j = 0; j < h; j++) {
    const wj = net.w[j];
    if (wj === 0) continue;
    const x = -net.b[j] / wj;
    if (x >= lo && x <= hi) pts.push({ x, s: net.a[j] * Math.abs(wj) });
  }
  pts.sort((p, q) => p.x - q.x);
  const kinks: { x: number; slopeChange: number }[] = [];
  for (let i = 0; i < pts.length; ) {
    const start = pts[i].x;
    let s = 0;
    let wsum = 0;
    let xw = 0;
    let xsum = 0;
    let m = 0;
    for (; i < pts.length && pts[i].x - start <= merge; i++, m++) {
      s += pts[i].s;
      wsum += Math.abs(pts[i].s);
      xw += Math.abs(pts[i].s) * pts[i].x;
      xsum += pts[i].x;
    }
    if (Math.abs(s) >= minSlope && Math.abs(s) > 0) kinks.push({ x: wsum > 0 ? xw / wsum : xsum / m, slopeChange: s });
  }
  return { count: kinks.length, kinks };
}

/**
 * Two norms of the network: `withBias` = Σⱼ |aⱼ| ‖(wⱼ, bⱼ)‖₂, the path norm counting the bias as
 * a weight on a constant input 1 (the variation-norm proxy of Chizat & Bach cited in 002
 * §4.3); `weightsOnly` = Σⱼ |aⱼ||wⱼ|, the sum of all units' |slope changes|, an upper bound on
 * the total variation of f' over ℝ (equal when no two kinks cancel).
 *
 * @example
 * ```ts
 * const { withBias, weightsOnly } = pathNorms(net);
 * ```
 */
export function pathNorms(net: ReluNet1d): { withBias: number; weightsOnly: number } {
  const h = hiddenOf(net);
  let withBias = 0;
  let weightsOnly = 0;
  for (let j = 0; j < h; j++) {
    const aa = Math.abs(net.a[j]);
    withBias += aa * Math.hypot(net.w[j], net.b[j]);
    weightsOnly += aa * Math.abs(net.w[j]);
  }
  return { withBias, weightsOnly };
}

/**
 * f on `points` evenly spaced x from lo to hi inclusive (points = 1: just lo).
 *
 * @example
 * ```ts
 * const { x, y } = sampleFunction(net, -2, 2, 241); // for a plot
 * ```
 */
export function sampleFunction(net: ReluNet1d, lo: number, hi: number, points: number): { x: number[]; y: number[] } {
  checkNumber("sampleFunction", "points", points, { lo: 1, integer: true });
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < points; i++) {
    const xi = points === 1 ? lo : lo + ((hi - lo) * i) / (points - 1);
    x.push(xi);
    y.push(reluNetPredict(net, xi));
  }
  return { x, y };
}
