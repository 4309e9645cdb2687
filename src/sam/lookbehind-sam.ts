/**
 * Lookbehind-SAM (Mordido, Malviya, Baratin & Chandar, ICML 2024, "Lookbehind-SAM: k steps
 * back, 1 step forward"), following the official code chandar-lab/Lookbehind-SAM
 * (lookbehind.py `LookbehindASAM` / `LookbehindSAM`, driven as in example_cifar.py).
 *
 * A wrapper: `lookbehind(inner, { k, alpha })` runs `inner.step` k times on the SAME batch and
 * then interpolates, so the two-pass step stays in one place (core.ts) and every single-ε
 * variant gets a Lookbehind form: Lookbehind-SAM = lookbehind(sam(base, { rho })),
 * Lookbehind-ASAM = lookbehind(asam(base, { rho, eta })). Per batch (one outer step), from w:
 *
 *   θ_0 = a_0 = w                                     slow = fast weights at every batch start
 *   for i = 1..k:
 *     g   = ∇L_B(a_{i−1});  a_i = a_{i−1} + ε(g, a_{i−1})   the ascent points accumulate
 *                                                     (SAM: ε = ρ g/(‖g‖ + 1e-12); ASAM: its ε
 *                                                     with T = |a_{i−1}| + η)
 *     g_s = ∇L_B(a_i);  θ_i = base step from θ_{i−1} with g_s (weight decay at θ_{i−1})
 *   w ← w + α(θ_k − w)                                 the slow-weight interpolation
 *
 * α is a number in (0, 1], or `null` for the adaptive α of the code (alpha = −1 there), chosen
 * PER PARAMETER LEAF: α_ℓ = (cos(θ_1,ℓ − w_ℓ, θ_k,ℓ − w_ℓ) + 1)/2, the cosine over the leaf's
 * elements (cos = ⟨x, y⟩/(‖x‖‖y‖ + 1e-12); a leaf where θ_1 − w or θ_k − w is zero gets cos 0,
 * α_ℓ = ½, as with torch's clamped norms).
 * The code's static α is meant in (0, 1) (README); 1 is allowed here for the reduction to the
 * inner optimizer. Its adaptive flag alpha = −1 is `null` here (−1 is a RangeError).
 *
 * Reading of the official code (lookbehind.py at chandar-lab/Lookbehind-SAM HEAD):
 * - example_cifar.py lines 72-81: per batch, k iterations of {forward/backward at the model's
 *   weights, `ascent_step`; forward/backward at the new weights, `descent_step`} on the same
 *   inputs. `ascent_step` (lines 13-39 ASAM, 175-194 LookbehindSAM) adds ε to the model's current
 *   weights; `LookbehindASAM.descent_step` (lines 139-173) overrides ASAM's and never
 *   subtracts ε: it backs up the model (the ascent point), loads the cached fast weights,
 *   takes the base step there, caches the result, and restores the ascent point — so the next
 *   ascent starts from a_i, not from θ_i or w. After the k-th descent (lines 157-173) the model
 *   gets the fast weights θ_k, interpolated toward the cached slow weights, and both caches
 *   (fast and slow) get the result: slow = fast at the start of every batch, and the ascent
 *   chain restarts from w. The adaptive α (lines 145-150, 165-169) uses θ_1 recorded at the
 *   first descent of the batch and is computed per parameter tensor (`for p in group['params']`).
 * - The base optimizer's state (momentum) carries across inner steps and batches; it is never
 *   reset by the interpolation. Here: the inner state threads through the k inner steps.
 * - The code adds 1e-16 to ‖g‖ (this library: 1e-12, DESIGN §4); torch's CosineSimilarity
 *   clamps each norm at 1e-8 (here: + 1e-12 on the product) — both only matter for a
 *   (near-)zero vector.
 * - The code's logged train loss is the last ascent pass's, L(a_{k−1}); this library reports
 *   L(w), the loss at the unperturbed weights (the first inner clean pass).
 *
 * Decisions:
 * - State: `{ inner, skipped }` — the inner optimizer's state and this wrapper's count of
 *   skipped outer steps. Nothing else: the slow weights are `params` between steps (slow =
 *   fast after every batch), and θ_1 for the adaptive α lives only inside the step. Evaluating
 *   "on the slow weights" (example_cifar.py line 93) is evaluating `params`.
 * - `finite`: every inner step was finite. If any was not, the whole outer step is skipped:
 *   `params` and the inner state are the inputs unchanged (selected by np.where, no host read)
 *   and `state.skipped` + 1 (the inner state's own `skipped` is not touched either).
 * - `loss`: the first inner step's, L_B(w). With `hasAux` the aux (e.g. BatchNorm statistics)
 *   of the first inner step (its clean pass at w, or its perturbed pass with `auxFrom:
 *   "perturbed"`); with `telemetry` the first inner step's diagnostics (at w). The other inner
 *   steps' losses, aux and telemetry are disposed.
 * - `phase(t)` = `inner.phase(k·t)`: one phase for all k inner steps of outer step t. ρ
 *   schedules are evaluated in-graph at the inner step count, which grows by k per outer step:
 *   a schedule's t counts inner steps (ρ0/√(t+1) decays per inner step; `rhoSwitch(ρ, at)`
 *   switches at outer step ⌈at/k⌉) — pass `at·k` for a switch at outer step `at`.
 * - `needsFullGrad`: an inner optimizer that needs `options.fullGrad` (SAM-full, SAM-noise) is
 *   refused when the wrapper is built (the full gradient would be needed at every ascent
 *   point). An inner with m-sharpness or per-micro-batch accumulation fails at its first step
 *   (core.ts: `options.at` needs one perturbation per step).
 * - `nonFinite`: the inner's policy ("error" is raised on the host by `phasedStep`, as for
 *   every optimizer).
 * - `ascentBatch` (n-SAM) is passed to every inner step (each clean pass uses it); `at` and
 *   `fullGrad` are not accepted by the wrapper.
 * - α = 1 returns θ_k itself (no arithmetic), and the adaptive α with k = 1 is 1 (cos(x, x) = 1
 *   on every leaf that moved), so k = 1 with α ∈ {1, null} is the inner optimizer exactly.
 *
 * Cost: 2k gradient passes and k base steps per batch (k when ρ = 0), so an epoch costs k SAM
 * epochs; compare it with SAM at k× the epochs (DESIGN §1, seed 000's compute-matched
 * baselines).
 *
 * Defaults: k 2 and adaptive α (alpha null), as in the README's usage lines (`--k 2 --alpha
 * -1`; example_cifar.py gives --k and --alpha no default, so the README's usage is the code's
 * usage; the classes' own keyword defaults k_steps=5, alpha=0.5 are never used by the
 * example); ρ 0.05 for Lookbehind-SAM (README: `--minimizer LookbehindSAM --rho 0.05`; the
 * README's Lookbehind-ASAM line uses ρ 0.5). Per the README, the paper's static runs used
 * α ∈ {0.2, 0.5, 0.8}.
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import type { GradientTransformation, Params } from "../optim/types.js";
import { EPS, stagedSum, treeSelect } from "../engine/tree.js";
import { resolveOptions, type Descriptor } from "../optim/hyper.js";
import { CORE_OPTIONS, type CoreOptions, type LossFn, type SharpnessAwareOptimizer, type StepOptions, type StepOutput } from "./core.js";
import { sam, type SamState } from "./sam.js";
import { checkRho, rhoHyper, type Rho } from "./rho.js";

const PAPER = "Mordido et al., ICML 2024 (chandar-lab/Lookbehind-SAM)";

const kHyper = { type: "number", default: 2, min: 1, integer: true, symbol: "k", doc: "inner (ascent + descent) steps per batch on the same batch" } as const;
const alphaHyper = {
  type: "number",
  default: null,
  min: 0,
  minOpen: true,
  max: 1,
  symbol: "α",
  doc: "slow-weight step w ← w + α(θ_k − w); null: adaptive, per leaf (cos(θ_1 − w, θ_k − w) + 1)/2",
} as const;

/**
 * The wrapper's hyperparameters (k, α), declared once. The factory validates its options with it ({@link resolveOptions}); the
 * run registry derives flags, spec checks and docs from it.
 *
 * @example
 * ```ts
 * for (const [k, h] of Object.entries(lookbehindDescriptor.params)) console.log(k, h.default, h.doc);
 * ```
 */
export const lookbehindDescriptor = {
  name: "lookbehind",
  fn: "lookbehind",
  label: "Lookbehind",
  paper: PAPER,
  params: { k: kHyper, alpha: alphaHyper },
} as const satisfies Descriptor;

/**
 * Lookbehind-SAM's hyperparameters, declared once. The factory validates its options with it ({@link resolveOptions}); the
 * run registry derives flags, spec checks and docs from it.
 *
 * @example
 * ```ts
 * for (const [k, h] of Object.entries(lookbehindSamDescriptor.params)) console.log(k, h.default, h.doc);
 * ```
 */
export const lookbehindSamDescriptor = {
  name: "lookbehind-sam",
  fn: "lookbehindSam",
  label: "Lookbehind-SAM",
  paper: PAPER,
  params: { rho: rhoHyper(0.05), k: kHyper, alpha: alphaHyper },
} as const satisfies Descriptor;

/**
 * Options of `lookbehind`.
 *
 * @example
 * ```ts
 * const opt = lookbehind(sam(sgd({ learningRate: 0.1 }), { rho: 0.05 }), { k: 3, alpha: 0.5 } satisfies LookbehindOptions);
 * ```
 */
export interface LookbehindOptions {
  /** Inner steps per batch (integer ≥ 1). Default 2. */
  k?: number;
  /** α ∈ (0, 1] of w ← w + α(θ_k − w), or null (default): adaptive per leaf. */
  alpha?: number | null;
}

/**
 * Options of `lookbehindSam`: SAM's ρ, Lookbehind's k and α, and the core options.
 *
 * @example
 * ```ts
 * const opt = lookbehindSam(sgd({ learningRate: 0.1 }), { rho: 0.05, k: 2 } satisfies LookbehindSamOptions);
 * ```
 */
export interface LookbehindSamOptions extends CoreOptions, LookbehindOptions {
  /** Radius ρ ≥ 0 or a ρ schedule (counted in inner steps). Default 0.05. */
  rho?: Rho;
}

/** The wrapper's state: the inner optimizer's, and the outer steps skipped for NaN/Inf (0-d int32). */
export type LookbehindState<S> = {
  /** The wrapped optimizer's state. */
  inner: S;
  /** Outer steps skipped for NaN/Inf, 0-d int32. */
  skipped: np.Array;
};

/**
 * w + α(θ_k − w) leaf-wise (static α), or with the adaptive per-leaf α from θ_1. Consumes
 * `w`, `thetaK`, `theta1`.
 */
function interpolate(w: Params, thetaK: Params, theta1: Params | undefined, alpha: number | null, k: number): Params {
  if (alpha === 1 || (alpha === null && k === 1)) {
    tree.dispose([w, theta1]);
    return thetaK;
  }
  if (alpha !== null) return tree.map((wl: np.Array, tl: np.Array) => tl.sub(wl.ref).mul(alpha).add(wl), w, thetaK) as Params;
  return tree.map(
    (wl: np.Array, tl: np.Array, t1: np.Array) => {
      const u = t1.sub(wl.ref); // θ_1 − w
      const v = tl.sub(wl.ref); // θ_k − w
      const dot = stagedSum(u.ref.mul(v.ref));
      const den = np.sqrt(stagedSum(np.square(u))).mul(np.sqrt(stagedSum(np.square(v.ref)))).add(EPS);
      const a = dot.div(den).add(1).mul(0.5);
      return v.mul(a).add(wl);
    },
    w,
    thetaK,
    theta1!,
  ) as Params;
}

function build<S>(owner: string, inner: SharpnessAwareOptimizer<S>, k: number, alpha: number | null): SharpnessAwareOptimizer<LookbehindState<S>> {
  if (inner === null || typeof inner !== "object" || typeof inner.step !== "function" || typeof inner.init !== "function") {
    throw new TypeError(`${owner}: inner must be a sharpness-aware optimizer (e.g. sam(base, { rho }))`);
  }
  if (inner.needsFullGrad) {
    throw new RangeError(`${owner}: inner must not need options.fullGrad (got one that does, e.g. samFull/samNoise): its k ascent points would each need a full gradient`);
  }
  return {
    init(params) {
      return { inner: inner.init(params), skipped: np.array(0, { dtype: np.int32 }) };
    },
    phase(t) {
      return inner.phase(k * t);
    },
    needsFullGrad: false,
    nonFinite: inner.nonFinite,
    step<B, A = any>(loss: LossFn<B, A>, params: Params, state: LookbehindState<S>, batch: B, options: StepOptions = {}): StepOutput<LookbehindState<S>, A> {
      const { at, fullGrad, ascentBatch, ...rest } = options;
      if (at !== undefined || fullGrad !== undefined) {
        tree.dispose([params, state as any, batch as any, at, fullGrad, ascentBatch as any]);
        throw new Error(`${owner}: step takes no options.${at !== undefined ? "at" : "fullGrad"} (the wrapper sets the inner steps' ascent points itself)`);
      }
      // Kept to restore on a non-finite outer step.
      const prevInner = tree.ref(state.inner as any) as S;
      const w = params;
      let theta: Params = tree.ref(w);
      let innerState = state.inner;
      let a: Params = tree.ref(w);
      let theta1: Params | undefined;
      let finite: np.Array | undefined;
      let first: StepOutput<S, A> | undefined;
      const last = k - 1;
      /** On an error in inner step i: dispose what the step holds besides that step's inputs. */
      const release = (i: number) => {
        tree.dispose([w, prevInner as any, state.skipped, theta1, finite, first?.loss, first?.aux as any, first?.telemetry as any]);
        if (i < last) tree.dispose([batch as any, ascentBatch as any]);
      };
      for (let i = 0; i < k; i++) {
        let out: StepOutput<S, A>;
        try {
          out = inner.step(loss, theta, innerState, i === last ? batch : (tree.ref(batch as any) as B), {
            ...rest,
            at: a,
            ...(ascentBatch === undefined ? {} : { ascentBatch: i === last ? ascentBatch : tree.ref(ascentBatch as any) }),
          });
        } catch (e) {
          // The inner step disposed its own inputs; release what this step still holds.
          release(i);
          throw e;
        }
        if (out.ascent === undefined) {
          tree.dispose([out.params, out.state as any, out.loss, out.finite, out.aux as any, out.telemetry as any]);
          release(i);
          throw new Error(`${owner}: the inner step returned no ascent point (the inner optimizer must support StepOptions.at)`);
        }
        theta = out.params;
        innerState = out.state;
        a = out.ascent;
        finite = finite === undefined ? out.finite : np.logicalAnd(finite, out.finite);
        if (i === 0) first = out;
        else tree.dispose([out.loss, out.aux as any, out.telemetry as any]);
        if (i === 0 && alpha === null && k > 1) theta1 = tree.ref(theta);
      }
      tree.dispose(a);
      const slow = interpolate(tree.ref(w), theta, theta1, alpha, k);
      const ok = finite!;
      const skipped = state.skipped;
      const result: StepOutput<LookbehindState<S>, A> = {
        params: treeSelect(ok, slow, w),
        state: {
          inner: treeSelect(ok, innerState as any, prevInner as any) as S,
          skipped: np.where(ok.ref, skipped.ref, skipped.add(1)),
        },
        loss: first!.loss,
        finite: ok,
      };
      if (first!.aux !== undefined) result.aux = first!.aux;
      if (first!.telemetry !== undefined) result.telemetry = first!.telemetry;
      return result;
    },
  };
}

/**
 * Wrap a sharpness-aware optimizer with Lookbehind: k inner steps on the same batch along a
 * chain of ascent points, then the slow-weight interpolation.
 *
 *   a_0 = θ_0 = w;  a_i = a_{i−1} + ε(∇L(a_{i−1}));  θ_i = base step from θ_{i−1} with ∇L(a_i)
 *   w ← w + α(θ_k − w)     (α null: per leaf (cos(θ_1 − w, θ_k − w) + 1)/2)
 *
 * Defaults: k 2, alpha null (adaptive). k = 1 with α = 1 (or null) is `inner` exactly.
 * `step` consumes `params`, `state`, `batch` (and `ascentBatch`); it returns fresh `params`
 * (the slow = fast weights), `state` ({ inner, skipped }), `loss` = L_B(w), `finite`.
 * Costs 2k gradient passes per batch.
 *
 * @example
 * const opt = lookbehind(asam(sgd({ learningRate: 0.1, momentum: 0.9 }), { rho: 0.5 }), { k: 2 });
 * let state = opt.init(tree.ref(params));
 * const out = jit((p, s, b) => opt.step(loss, p, s, b))(params, state, batch);
 */
export function lookbehind<S>(inner: SharpnessAwareOptimizer<S>, options: LookbehindOptions = {}): SharpnessAwareOptimizer<LookbehindState<S>> {
  const { k, alpha } = resolveOptions(lookbehindDescriptor, options) as { k: number; alpha: number | null };
  return build("lookbehind", inner, k, alpha);
}

/**
 * Lookbehind-SAM: `lookbehind(sam(base, { rho, ...core }), { k, alpha })`.
 *
 *   a_i = a_{i−1} + ρ g_i/(‖g_i‖ + 1e-12), g_i = ∇L_B(a_{i−1});  θ_i = base step from θ_{i−1} with ∇L_B(a_i)
 *   w ← w + α(θ_k − w)
 *
 * Defaults: rho 0.05, k 2, alpha null (adaptive) — the README's Lookbehind-SAM usage. The core
 * options (nonFinite, perturbLeaves, rhoScale, accumulate in "global" mode) go to SAM;
 * per-micro-batch accumulation (one ε per micro-batch) is refused.
 *
 * @example
 * const opt = lookbehindSam(sgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4 }), { rho: 0.05, k: 2 });
 * let state = opt.init(tree.ref(params));
 * const out = jit((p, s, b) => opt.step(loss, p, s, b))(params, state, batch);
 */
export function lookbehindSam<BS>(base: GradientTransformation<BS>, options: LookbehindSamOptions = {}): SharpnessAwareOptimizer<LookbehindState<SamState<BS>>> {
  const { rho, k, alpha, ...core } = resolveOptions(lookbehindSamDescriptor, options, CORE_OPTIONS) as LookbehindSamOptions & { rho: Rho; k: number; alpha: number | null };
  checkRho("lookbehindSam", rho);
  if (core.accumulateMode === "per-micro-batch" && (core.accumulate ?? 1) > 1) {
    throw new RangeError(`lookbehindSam: accumulateMode must be "global" with accumulate > 1 (got "per-micro-batch": one ε per micro-batch has no single ascent point)`);
  }
  let inner: SharpnessAwareOptimizer<SamState<BS>>;
  try {
    inner = sam(base, { ...core, rho });
  } catch (e) {
    // The core options are checked by SAM's builder; name this factory in the message.
    if (e instanceof RangeError && e.message.startsWith("sam: ")) throw new RangeError(`lookbehindSam: ${e.message.slice(5)}`);
    throw e;
  }
  return build("lookbehindSam", inner, k, alpha);
}
