/**
 * The two-pass sharpness-aware step, written once. Every variant supplies only what differs:
 * how the perturbation ε is formed (and its own extra state), and optionally how the clean and
 * perturbed gradients combine into the descent direction.
 *
 *   1. (L, aux), g = ∇L_A(w)                        clean pass (A = the ascent batch: the batch
 *                                                   itself, or `ascentBatch` for n-SAM / SAM-db)
 *   2. ε, extra' = perturb(g, w, extra, count, ctx) the variant (ctx.grad for more passes)
 *   3. g_s = ∇L_B(w + ε)                            second pass (skipped when ρ = 0 or the
 *                                                   variant's phase needs none)
 *   4. d = combine(g, g_s) (default g_s)            GSAM, LookSAM, gradient-norm penalty
 *   5. updates, base' = base.update(d, base, w)     weight decay, clipping etc. act on d at the
 *                                                   clean w (so `chain(clipByGlobalNorm(c), …)`
 *                                                   clips the perturbed-point gradient, as in
 *                                                   the JAX original)
 *   6. w ← w + updates
 *
 * m-sharpness (`m` < batch size, 002 eq. 3-4): the batch (every leaf's leading axis) is split
 * into B/m sub-batches S_j; each gets its own clean pass and perturbation, and
 * g_s = mean_j ∇L_{S_j}(w + ε_j). The reported loss is the mean of the clean sub-batch losses
 * (= the clean batch loss), and with `hasAux` the aux of the first sub-batch's clean pass is
 * returned (a ghost batch of m, as in Foret et al.'s m-sharpness runs with BatchNorm).
 *
 * Phases: some variants take different kinds of step at different times (LookSAM's off-cycle
 * steps, a ρ schedule at 0). `optimizer.phase(t)` names the kind for host step t and
 * `step(..., { phase })` takes it; under jit compile one step per phase (`phasedStep` does) rather
 * than branching in the graph, so a one-pass phase really costs one pass.
 *
 * Example selection (ESAM's sharpness-sensitive data selection): a variant with
 * `selectExamples` gets the per-example losses lᵢ(w) (kept from the clean pass, which then runs on
 * the mean of `options.perExampleLoss`) and lᵢ(w + ε) (one forward pass), returns 0/1 weights,
 * and the second pass is ∇ Σᵢ weightᵢ·lᵢ(w + ε) / max(Σᵢ weightᵢ, 1) at w + ε. Shapes stay static
 * (weights, not a gather), so the second pass costs what SAM's does. Without such a variant none
 * of this runs.
 *
 * A term on the logits (SAF, MESA: `Perturbation.logitsTerm`): the clean pass runs on
 * `options.lossWithLogits`, `(params, batch) => [loss, logits]` (`[loss, logits, aux]` with
 * `hasAux`), the same forward pass as `loss` that also hands back the logits z [n, K]; the step
 * differentiates L(z) + R(z, t), where R is the variant's term and t the teacher logits
 * (`options.teacher` from the caller — SAF's memory of past epochs, kept by the trainer — or
 * formed by the variant from its state with a forward pass: MESA's EMA weights). t is a constant
 * (it enters the differentiated function as data, never as a function of w). Still one gradient
 * pass: the logits come back as aux of that pass, and with `returnLogits` the step returns them
 * (constants, [n, K]) as `logits`. The reported loss is L(w) without R. Without such a variant, or
 * on a phase where the term is off and no logits are asked for, none of this runs and
 * `lossWithLogits`/`teacher` are ignored (`teacher` is disposed), so existing optimizers take
 * exactly the same graph.
 *
 * Ownership: `step` consumes `params`, `state`, `batch` and the arrays in its options; it
 * returns fresh `params`, `state`, `loss` (0-d) and `aux`. No host reads: eager or under `jit`.
 */
import "../engine/polyfills.js";
import { grad, jit, jvp, numpy as np, tree, valueAndGrad } from "@jax-js/jax";
import type { GradientTransformation, Params } from "../optim/types.js";
import { applyUpdates } from "../optim/apply.js";
import { EPS, assertSameTree, treeAdd, treeAllFinite, treeDot, treeNorm, treeScale, treeSelect } from "../engine/tree.js";
import { checkNumber, checkOneOf } from "../optim/validate.js";
import { checkRhoScale, leafPredicate, leafScales, scaleLeaves, type LeafSelector } from "./leaves.js";

/**
 * A loss `(params, batch) => scalar` (mean over the batch), or `[scalar, aux]` with `hasAux`.
 *
 * @example
 * ```ts
 * const loss: LossFn<{ x: np.Array; y: np.Array }> = (p, b) => np.mean(np.square(np.matmul(b.x, p.w).sub(b.y)));
 * ```
 */
export type LossFn<B = any, A = any> = (params: any, batch: B) => np.Array | [np.Array, A];

/**
 * The loss and the model's logits from one forward pass: `(params, batch) => [loss, logits]`, or
 * `[loss, logits, aux]` with `hasAux` (`loss` as `LossFn`'s, logits [n, K]). Consumes its arguments.
 *
 * @example const withLogits: LogitsLossFn = (w, b) => { const z = np.matmul(b.x, w); return [crossEntropy(z.ref, b.y), z]; };
 */
export type LogitsLossFn<B = any, A = any> = (params: any, batch: B) => [np.Array, np.Array] | [np.Array, np.Array, A];

/**
 * Options of one sharpness-aware step (`opt.step(loss, params, state, batch, options)`). Every
 * array in them is consumed by the step.
 *
 * @example
 * ```ts
 * const out = opt.step(classificationLoss(model), params, state, batch, { hasAux: true, telemetry: true });
 * ```
 */
export interface StepOptions {
  /** The loss returns `[scalar, aux]`; `step` returns the aux of the clean (first) pass. */
  hasAux?: boolean;
  /**
   * n-SAM / SAM-db (002 §2, App. D; 003 §4.2): take the clean pass — loss, aux and the ascent
   * gradient — on this batch instead, and the second (descent) pass on `batch`. Consumed.
   */
  ascentBatch?: unknown;
  /** A full-data gradient ∇L(w) for the variants that need one (SAM-full, SAM-noise). Consumed. */
  fullGrad?: Params;
  /** The step kind for this step, from `optimizer.phase(t)` (default: the variant's usual step). */
  phase?: string;
  /**
   * With `hasAux`: return the aux (e.g. BatchNorm running statistics) of the clean pass
   * ("clean", default) or of the perturbed pass at w + ε ("perturbed": what a naive two-pass
   * implementation keeps; steps without a second pass return the clean aux).
   */
  auxFrom?: "clean" | "perturbed";
  /**
   * Return `telemetry`: in-graph 0-d arrays of L(w), L(w + ε), the surrogate gap, ‖g‖, ‖ε‖ and
   * cos(g, g_s) for this step (NaN where the step has no such quantity). Default false.
   */
  telemetry?: boolean;
  /**
   * Take the clean pass and the perturbation at this point instead of at `params` (the base
   * step still acts on `params`), and return the perturbed point as `ascent`: Lookbehind-SAM's
   * chain of ascent steps. Consumed.
   */
  at?: Params;
  /**
   * The per-example losses of the same model and batch as `loss`: `(params, batch) => [n]`, or
   * `[[n], aux]` with `hasAux`. Read only by a variant that selects examples
   * (`Perturbation.selectExamples`, ESAM), which then requires it; ignored otherwise.
   */
  perExampleLoss?: LossFn;
  /**
   * The same loss with the model's logits, from one forward pass: `(params, batch) =>
   * [loss, logits [n, K]]`, or `[loss, logits, aux]` with `hasAux` (`classificationLossWithLogits`
   * in models/loss.ts). Read only by a variant with a term on the logits
   * (`Perturbation.logitsTerm`: SAF, MESA), which then requires it; ignored otherwise.
   */
  lossWithLogits?: LogitsLossFn;
  /**
   * The teacher logits [n, K] of this batch (constants) for a variant whose `logitsTerm` takes
   * them from the caller (SAF: the same examples' logits `minusEpoch` epochs earlier). Required on
   * the steps where `optimizer.logitsTerm.needsTeacher(t)`; otherwise disposed. Consumed.
   */
  teacher?: np.Array;
}

/**
 * The telemetry quantities (`StepTelemetry`'s fields), in the order they are logged.
 *
 * @example
 * ```ts
 * for (const k of TELEMETRY_KEYS) console.log(k, (await out.telemetry![k].data())[0]);
 * ```
 */
export const TELEMETRY_KEYS = ["lossClean", "lossPerturbed", "gap", "gradNorm", "epsNorm", "cosine"] as const;
/**
 * One of {@link TELEMETRY_KEYS}: a field of {@link StepTelemetry}.
 *
 * @inline
 */
export type TelemetryKey = (typeof TELEMETRY_KEYS)[number];

/**
 * Per-step diagnostics (`StepOptions.telemetry`), each a 0-d float32 array; means over m-SAM's sub-batches.
 *
 * @example
 * ```ts
 * const out = opt.step(loss, params, state, batch, { telemetry: true });
 * const gap = (await out.telemetry!.gap.data())[0]; // L(w + ε) − L(w)
 * ```
 */
export type StepTelemetry = Record<TelemetryKey, np.Array> & {
  /** L(w) on the batch (NaN for a variant without a clean pass). */
  lossClean: np.Array;
  /** L(w + ε) (NaN on a step without a second pass). */
  lossPerturbed: np.Array;
  /** The surrogate gap L(w + ε) − L(w) (Zhuang et al., GSAM). */
  gap: np.Array;
  /** ‖g‖₂ of the clean gradient (NaN without one). */
  gradNorm: np.Array;
  /** ‖ε‖₂ (NaN on a step without a perturbation). */
  epsNorm: np.Array;
  /** cos(g, g_s) between the clean and the perturbed-point gradient. */
  cosine: np.Array;
};

/**
 * What one sharpness-aware step returns; every array in it is freshly owned by the caller
 * (dispose what you do not pass on: `loss` and `finite` at least).
 *
 * @example
 * ```ts
 * const out = step(params, state, batch);
 * params = out.params; state = out.state;
 * const loss = (await out.loss.data())[0]; // reading consumes
 * out.finite.dispose();
 * ```
 */
export type StepOutput<S, A = any> = {
  /** The updated parameters. */
  params: any;
  /** The updated optimizer state. */
  state: S;
  /** The batch loss at the unperturbed weights (0-d array). */
  loss: np.Array;
  /** With `hasAux`: the aux of the first (unperturbed) pass (or the perturbed one, `auxFrom`); otherwise undefined. */
  aux?: A;
  /**
   * 0-d bool: the loss and the new parameters were finite (a NaN/Inf gradient makes the new
   * parameters non-finite under every variant; tested). When false the step was skipped:
   * `params` and `state` are the inputs unchanged (state.skipped + 1).
   */
  finite: np.Array;
  /** With `StepOptions.at`: the perturbed point at + ε (at itself on a step without ε). */
  ascent?: Params;
  /** With `StepOptions.telemetry`: the step's diagnostics. */
  telemetry?: StepTelemetry;
  /**
   * With a variant whose `logitsTerm.returnLogits` is set (SAF): the logits [n, K] of the clean
   * pass at w (the batch's rows in order; constants). Present also on a skipped step.
   */
  logits?: np.Array;
};

/**
 * State of every sharpness-aware optimizer: the base optimizer's, a step count, the variant's.
 *
 * @example
 * ```ts
 * const state: SharpnessState<SgdState, Record<string, never>> = sam(sgd({ learningRate: 0.1 })).init(tree.ref(params));
 * const steps = (await state.count.ref.data())[0];
 * ```
 */
export type SharpnessState<BS, X> = {
  /** The wrapped base optimizer's state. */
  base: BS;
  /** Sharpness-aware steps taken, 0-d int32. */
  count: np.Array;
  /** The variant's own state (`{}` when it has none). */
  extra: X;
  /** Steps skipped for non-finite numbers, 0-d int32. */
  skipped: np.Array;
};

/**
 * What a step does when the loss, a gradient or the new parameters are NaN/Inf.
 *
 * @example
 * ```ts
 * const opt = sam(sgd({ learningRate: 0.1 }), { nonFinite: "error" }); // NonFinitePolicy
 * ```
 */
export type NonFinitePolicy = "skip" | "error";

/**
 * A non-finite step under the "error" policy (raised on the host by `phasedStep` and the
 * trainer, after the step; the parameters were left unchanged).
 *
 * @example
 * ```ts
 * try { step(params, state, batch, t); } catch (e) { if (e instanceof NonFiniteError) ({ params, state } = e.output!); }
 * ```
 */
export class NonFiniteError extends Error {
  /** Always "NonFiniteError". */
  override name = "NonFiniteError";
  /** The step's output (parameters and state unchanged), so nothing is lost; owned by the catcher. */
  output?: StepOutput<any>;
}

/**
 * What a variant may use besides the clean gradient.
 *
 * @example
 * ```ts
 * // inside a Perturbation: one more gradient pass, at w + 0.05·g
 * perturb(g, params, extra, count, ctx) { const g2 = ctx.grad(treeAxpy(0.05, tree.ref(g), params)); … }
 * ```
 */
export interface PerturbContext {
  /** ∇L at `p` on the current (sub-)batch: one more gradient pass. Consumes `p`. */
  grad(p: Params): Params;
  /** Hessian-vector product H(w)·v on the current batch by forward-over-reverse. Consumes `v`. */
  hvp(v: Params): Params;
  /** The full-data gradient given in the step options, if any (owned by the variant). */
  fullGrad?: Params;
  /** The phase of this step. */
  phase: string;
}

/**
 * What a variant supplies to the shared step.
 *
 * @example
 * ```ts
 * // see makeSharpnessAware: a variant is a Perturbation handed to it
 * const variant: Perturbation<Record<string, never>> = { name: "mine", trivial: false, initExtra: noExtraState, perturb(g, p, x, count) { … } };
 * ```
 */
export interface Perturbation<X> {
  /** Variant name for messages ("sam", "asam", …). */
  name: string;
  /** True when the step reduces to the base optimizer (ρ = 0): the second pass is skipped. */
  trivial: boolean;
  /** Initial extra state. Consumes `params`. */
  initExtra(params: Params): X;
  /**
   * ε and the new extra state from the clean gradient `g`. Consumes `g`, `params`, `extra`,
   * `count` (0-d int32, the step index). `g` is undefined when `cleanPass` is "forward".
   */
  perturb(g: Params, params: Params, extra: X, count: np.Array, ctx: PerturbContext): [Params, X];
  /**
   * The descent direction from the clean gradient `g` and the perturbed-point gradient `gs`
   * (undefined when the phase has no second pass). Consumes all. Default: `gs`.
   */
  combine?(g: Params, gs: Params | undefined, params: Params, extra: X, count: np.Array, ctx: PerturbContext): [Params, X];
  /**
   * "grad" (default): the clean pass computes ∇L(w); "forward": loss only (random
   * perturbation); "none": no clean pass at all — ε comes from the variant's state and the step
   * reports L(w + ε) as its loss (MSAM).
   */
  cleanPass?: "grad" | "forward" | "none";
  /**
   * After the base step: the final parameters and extra state from the updated parameters and
   * the applied updates (MSAM keeps the update; Lookbehind-style interpolation). Consumes all.
   */
  afterUpdate?(params: Params, updates: Params, extra: X, count: np.Array): [Params, X];
  /** Whether the step of this phase computes the second pass (default: yes unless trivial). */
  secondPass?(phase: string): boolean;
  /** Does this variant read `ctx.fullGrad`? (then `step` requires `fullGrad`). */
  needsFullGrad?: boolean;
  /** Host-side step kind for step t (0-based); default "step". */
  phase?(t: number): string;
  /**
   * Example selection (ESAM's sharpness-sensitive data selection): weights [n] (0/1 float) from
   * the per-example losses at the clean point (`clean`, [n]) and at w + ε (`perturbed`, [n]).
   * When defined (and the variant is not trivial), `step` requires `options.perExampleLoss`, takes
   * the clean pass on the mean of the per-example losses (keeping the vector), runs one forward
   * pass of the per-example losses at w + ε, and makes the second pass the gradient at w + ε of
   * Σᵢ weightᵢ·lᵢ(w + ε) / max(Σᵢ weightᵢ, 1). Static shapes: examples are weighted, never
   * gathered. Per group (m-SAM sub-batch, per-micro-batch accumulation); global accumulation
   * selects over the whole batch. Consumes `clean`, `perturbed`, `extra`, `count`.
   */
  selectExamples?(clean: np.Array, perturbed: np.Array, extra: X, count: np.Array): [np.Array, X];
  /**
   * A term R(z, t) on the logits z at w added to the loss of the clean pass (SAF, MESA): the
   * step then requires `options.lossWithLogits` and differentiates L + R in its one clean pass.
   * Needs the clean gradient pass (`cleanPass` "grad"); not combinable with `selectExamples` or
   * `ascentBatch`. See `LogitsTerm`.
   */
  logitsTerm?: LogitsTerm<X>;
}

/**
 * A variant's term on the model's logits (`Perturbation.logitsTerm`; SAF and MESA are the users).
 *
 * @example
 * const term: LogitsTerm<Record<string, never>> = { active: () => true, teacher: "input", penalty: (z, t) => trajectoryKl(z, t, 5).mul(0.3), returnLogits: true };
 */
export interface LogitsTerm<X> {
  /** Whether steps of this phase add the term (the others take the plain clean pass). */
  active(phase: string): boolean;
  /**
   * Where the teacher logits t [n, K] come from: "input" — `StepOptions.teacher`, given by the
   * caller (SAF); or a function of the variant's state that may run `forward(p)`, the logits of
   * the model at p on the current (micro-)batch from `lossWithLogits` (MESA: the EMA weights; one
   * forward pass, its loss and aux dropped). The function borrows `extra` (tree.ref what it passes
   * on); `forward` consumes `p`.
   */
  teacher: "input" | ((extra: X, forward: (p: Params) => np.Array) => np.Array);
  /** R(z, t): a 0-d array, the term for the (micro-)batch (a mean over its examples). Consumes both. */
  penalty(logits: np.Array, teacher: np.Array): np.Array;
  /** Return the clean pass's logits as `StepOutput.logits` on every step (SAF's memory). Default false. */
  returnLogits?: boolean;
}

/**
 * `initExtra` for variants without state of their own: disposes `params`, returns `{}`.
 *
 * @example
 * ```ts
 * const variant: Perturbation<Record<string, never>> = { name: "mine", trivial: false, initExtra: noExtraState, perturb(g, p, x, count) { … } };
 * ```
 */
export function noExtraState(params: Params): Record<string, never> {
  tree.dispose(params);
  return {};
}

/**
 * A sharpness-aware optimizer: wraps a base optimizer and owns the two-pass step.
 *
 * @example
 * ```ts
 * const opt: SharpnessAwareOptimizer<SamState<SgdState>> = sam(sgd({ learningRate: 0.1 }));
 * let state = opt.init(tree.ref(params));
 * const out = jit((p, s, b) => opt.step(loss, p, s, b))(params, state, batch);
 * ```
 */
export interface SharpnessAwareOptimizer<S> {
  /** Build the state. Consumes `params`. */
  init(params: Params): S;
  /**
   * One sharpness-aware step. Consumes `params`, `state`, `batch`.
   *
   * @example
   * const step = jit((p, s, b) => opt.step(loss, p, s, b));
   * const out = step(params, state, batch);
   */
  step<B, A = any>(loss: LossFn<B, A>, params: Params, state: S, batch: B, options?: StepOptions): StepOutput<S, A>;
  /** The kind of step to take at host step t (0-based), to pass as `step(..., { phase })`. */
  phase(t: number): string;
  /** True when `step` needs `options.fullGrad` (SAM-full, SAM-noise). */
  readonly needsFullGrad: boolean;
  /** The non-finite policy ("skip" or "error"). */
  readonly nonFinite: NonFinitePolicy;
  /**
   * Present only for a variant with a term on the logits (SAF, MESA): `step` then needs
   * `options.lossWithLogits` (`phasedStep`'s option of that name); `needsTeacher(t)`: host step
   * t needs `options.teacher` (SAF's teacher logits, kept by the caller); `returnsLogits`: every
   * step returns `logits` (for that memory).
   */
  readonly logitsTerm?: { needsTeacher(t: number): boolean; readonly returnsLogits: boolean };
}

/**
 * `(params, batch) => [[loss, aux], grad]` from the user's loss; aux is undefined without
 * `hasAux` (jax-js's hasAux path is only used when there is an aux to carry).
 */
function lossAndGrad<A>(loss: LossFn<any, A>, hasAux: boolean): (p: Params, b: unknown) => [[np.Array, A | undefined], Params] {
  const checked = (p: Params, b: unknown): any => {
    const out = loss(p, b);
    if (hasAux && (!Array.isArray(out) || out.length !== 2)) throw new TypeError("step: with hasAux the loss must return [scalar, aux]");
    if (!hasAux && Array.isArray(out)) throw new TypeError("step: the loss returned a pair; pass { hasAux: true }");
    return out;
  };
  if (hasAux) return valueAndGrad(checked, { hasAux: true }) as any;
  const vg = valueAndGrad(checked);
  return (p, b) => {
    const [l, g] = (vg as any)(p, b) as [np.Array, Params];
    return [[l, undefined], g];
  };
}

/** `(params, batch) => grad`, dropping any aux of the second pass. */
function gradOnly(loss: LossFn, hasAux: boolean): (p: Params, b: unknown) => Params {
  if (!hasAux) return grad(loss as any) as any;
  const g = grad(loss as any, { hasAux: true });
  return (p, b) => {
    const [gr, aux] = (g as any)(p, b) as [Params, any];
    tree.dispose(aux);
    return gr;
  };
}

/** `(params, batch) => [loss, aux]` without a gradient (a forward pass). */
function forwardOnly(loss: LossFn, hasAux: boolean): (p: Params, b: unknown) => [np.Array, any] {
  return (p, b) => {
    const out = loss(p, b);
    if (hasAux) return out as [np.Array, any];
    return [out as np.Array, undefined];
  };
}

/**
 * H(w)·v by forward-over-reverse: the jvp of w ↦ ∇L_B(w) in direction v (DESIGN §5:
 * grad-of-grad is wrong on this engine). Consumes `params`, `batch`, `v`.
 *
 * @example
 * ```ts
 * const hv = hvpAt(loss, false, tree.ref(params), tree.ref(batch), v); // H(w)·v
 * ```
 */
export function hvpAt(loss: LossFn, hasAux: boolean, params: Params, batch: unknown, v: Params): Params {
  const g = gradOnly(loss, hasAux);
  const f = (p: Params) => g(p, tree.ref(batch as Params)) as any;
  const [primal, tangent] = jvp(f, [params], [v]) as [Params, Params];
  tree.dispose([primal, batch as Params]);
  return tangent;
}

/**
 * The per-example loss's passes for example selection: a value-and-grad of the mean with the
 * vector (and the user's aux) as aux, a forward of the vector, and the gradient of the weighted
 * mean Σᵢ wᵢ lᵢ / denom (weights and denom ride in the second argument: constants to `grad`).
 */
function perExample(perLoss: LossFn, hasAux: boolean, owner: string) {
  const vector = (p: Params, b: unknown): [np.Array, any] => {
    const out = perLoss(p, b);
    if (hasAux && (!Array.isArray(out) || out.length !== 2)) throw new TypeError(`${owner}: with hasAux perExampleLoss must return [[n], aux]`);
    if (!hasAux && Array.isArray(out)) throw new TypeError(`${owner}: perExampleLoss returned a pair; pass { hasAux: true }`);
    const [vec, aux] = hasAux ? (out as [np.Array, any]) : [out as np.Array, undefined];
    if (vec.ndim !== 1) throw new TypeError(`${owner}: perExampleLoss must return one loss per example, shape [n] (got [${vec.shape.join(", ")}])`);
    return [vec, aux];
  };
  const meanWithVector = (p: Params, b: unknown) => {
    const [vec, aux] = vector(p, b);
    return [np.mean(vec.ref), [vec, aux]];
  };
  const weighted = (p: Params, wb: { batch: unknown; weights: np.Array; denom: np.Array }): any => {
    const [vec, aux] = vector(p, wb.batch);
    const l = np.sum(vec.mul(wb.weights)).div(wb.denom);
    return hasAux ? [l, aux] : l;
  };
  return {
    valueAndGrad: valueAndGrad(meanWithVector as any, { hasAux: true }) as unknown as (p: Params, b: unknown) => [[np.Array, [np.Array, any]], Params],
    forward: vector,
    weightedGrad: gradOnly(weighted as LossFn, hasAux) as (p: Params, wb: { batch: unknown; weights: np.Array; denom: np.Array }) => Params,
  };
}

/**
 * The clean pass through `lossWithLogits`: a value-and-grad of L (+ the variant's term R(z, t)
 * when the second argument carries a teacher) with [L, z, aux] as aux, and a forward pass for the
 * logits alone. The teacher rides in the second argument: a constant to `grad`.
 */
function logitsPasses(f: LogitsLossFn, hasAux: boolean, owner: string, penalty: ((z: np.Array, t: np.Array) => np.Array) | undefined) {
  const call = (p: Params, b: unknown): [np.Array, np.Array, any] => {
    const out = f(p, b) as unknown;
    const n = hasAux ? 3 : 2;
    if (!Array.isArray(out) || out.length !== n) {
      tree.dispose(out as any);
      throw new TypeError(`${owner}: lossWithLogits must return [loss, logits${hasAux ? ", aux] (hasAux)" : "] (without hasAux)"}`);
    }
    const [l, z, aux] = out as [np.Array, np.Array, any];
    if (z.ndim !== 2) {
      tree.dispose([l, z, aux]);
      throw new TypeError(`${owner}: lossWithLogits must return logits of shape [n, classes] (got [${z.shape.join(", ")}])`);
    }
    return [l, z, hasAux ? aux : undefined];
  };
  const objective = (p: Params, bt: { batch: unknown; teacher?: np.Array }) => {
    const [l, z, aux] = call(p, bt.batch);
    if (bt.teacher !== undefined && (bt.teacher.ndim !== 2 || bt.teacher.shape[0] !== z.shape[0] || bt.teacher.shape[1] !== z.shape[1])) {
      const msg = `${owner}: the teacher logits have shape [${bt.teacher.shape.join(", ")}], the model's logits [${z.shape.join(", ")}]`;
      tree.dispose([l, z, aux, bt.teacher]);
      throw new RangeError(msg);
    }
    const value = bt.teacher === undefined ? l.ref : l.ref.add(penalty!(z.ref, bt.teacher));
    return [value, [l, z, aux]];
  };
  return {
    valueAndGrad: valueAndGrad(objective as any, { hasAux: true }) as unknown as (p: Params, bt: { batch: unknown; teacher?: np.Array }) => [[np.Array, [np.Array, np.Array, any]], Params],
    forward: (p: Params, b: unknown): np.Array => {
      const [l, z, aux] = call(p, b);
      tree.dispose([l, aux]);
      return z;
    },
  };
}

/** Batch leaves' leading size; every leaf must agree. */
function batchSize(batch: unknown, owner: string): number {
  const leaves = tree.leaves(batch as Params) as np.Array[];
  if (leaves.length === 0) throw new RangeError(`${owner}: m-SAM needs a batch of arrays (got none)`);
  const n = leaves[0].shape[0];
  for (const l of leaves) {
    if (l.shape[0] !== n) throw new RangeError(`${owner}: batch leaves disagree on the leading axis (${n} vs ${l.shape[0]})`);
  }
  return n;
}

/** Sub-batch j of size m (slice on the leading axis). Consumes nothing. */
function subBatch<B>(batch: B, j: number, m: number): B {
  return tree.map((x: np.Array) => x.ref.slice([j * m, (j + 1) * m]), batch as Params) as B;
}

/**
 * What every sharpness-aware optimizer takes besides its own hyperparameters (each factory
 * passes its options through): the non-finite policy, gradient accumulation and per-leaf control.
 *
 * @example
 * ```ts
 * const opt = sam(sgd({ learningRate: 0.1 }), { rho: 0.05, accumulate: 4, perturbLeaves: "weights", nonFinite: "error" });
 * ```
 */
export interface CoreOptions {
  /** What a NaN/Inf step does: "skip" (default: params and state unchanged, counted) or "error". */
  nonFinite?: NonFinitePolicy;
  /**
   * Micro-batches per step (integer ≥ 1, default 1): the batch's leading axis is split into
   * `accumulate` equal parts, each with its own forward/backward pass. Not combinable with `m`.
   */
  accumulate?: number;
  /**
   * "global" (default): g = mean of the micro-batch gradients, one ε from it, g_s = mean of the
   * micro-batch gradients at w + ε — the step on the whole batch (for a loss that is a mean over
   * examples; BatchNorm's batch statistics are per micro-batch). "per-micro-batch": one ε per
   * micro-batch — m-SAM with m = batch / accumulate (002 eq. 3-4).
   */
  accumulateMode?: "global" | "per-micro-batch";
  /** Which leaves ε touches (leaves.ts): "all" (default), "weights", "norm" (SAM-ON) or (path) => boolean. */
  perturbLeaves?: LeafSelector;
  /** A factor on ε per leaf, by path (default 1): ε_ℓ ← rhoScale(path)·ε_ℓ. */
  rhoScale?: (path: string) => number;
}

/**
 * The keys of {@link CoreOptions}, for {@link resolveOptions}'s `extraKeys`.
 *
 * @example
 * ```ts
 * const o = resolveOptions(samDescriptor, options, CORE_OPTIONS);
 * ```
 */
export const CORE_OPTIONS = ["nonFinite", "accumulate", "accumulateMode", "perturbLeaves", "rhoScale"] as const;

/** Mean of trees (consumed); one tree is returned as is. */
function treeMean(trees: Params[]): Params {
  if (trees.length === 1) return trees[0];
  return treeScale(trees.reduce((a, b) => treeAdd(a, b)), 1 / trees.length);
}

/** Mean of 0-d arrays (consumed). */
function scalarMean(xs: np.Array[]): np.Array {
  if (xs.length === 1) return xs[0];
  return xs.reduce((a, b) => a.add(b)).mul(1 / xs.length);
}

/**
 * Build a sharpness-aware optimizer from a base optimizer and a variant's perturbation.
 * `m` = sub-batch size for m-sharpness (undefined: the whole batch); `core`: the options every
 * optimizer shares (or just the non-finite policy). The result owns the two-pass step described
 * in {@link SharpnessAwareOptimizer} (ε from `variant.perturb`, the second pass at w + ε, the
 * base step at w with `variant.combine`'s direction, by default g_s); every factory of the
 * family is built on it.
 *
 * @example
 * ```ts
 * // SAM with a fixed ρ = 0.05, written out:
 * const mySam = makeSharpnessAware(sgd({ learningRate: 0.1 }), {
 *   name: "mySam",
 *   trivial: false,
 *   initExtra: noExtraState,
 *   perturb(g, params, extra, count) {
 *     tree.dispose(params);
 *     count.dispose();
 *     return [normalizedPerturbation(g, 0.05), extra];
 *   },
 * });
 * ```
 */
export function makeSharpnessAware<BS, X>(
  base: GradientTransformation<BS>,
  variant: Perturbation<X>,
  m?: number,
  core: NonFinitePolicy | CoreOptions = {},
): SharpnessAwareOptimizer<SharpnessState<BS, X>> {
  const owner = variant.name;
  const { nonFinite = "skip", accumulate = 1, accumulateMode = "global", perturbLeaves = "all", rhoScale } = typeof core === "string" ? { nonFinite: core } : (core ?? {});
  checkOneOf(owner, "nonFinite", nonFinite, ["skip", "error"]);
  checkNumber(owner, "accumulate", accumulate, { lo: 1, integer: true });
  checkOneOf(owner, "accumulateMode", accumulateMode, ["global", "per-micro-batch"]);
  const selected = leafPredicate(owner, perturbLeaves);
  checkRhoScale(owner, rhoScale);
  if (m !== undefined && accumulate > 1) {
    throw new RangeError(`${owner}: m and accumulate cannot be combined (accumulateMode "per-micro-batch" is m-SAM with m = batch / accumulate)`);
  }
  const everyLeaf = perturbLeaves === "all" && rhoScale === undefined;
  // Example selection (ESAM): only a non-trivial variant that defines it pays for it.
  const selecting = variant.selectExamples !== undefined && !variant.trivial;
  if (selecting && variant.cleanPass === "none") throw new Error(`${owner}: selectExamples needs a clean pass (cleanPass "grad" or "forward")`);
  // A variant reduced to its base optimizer (ρ = 0) always takes the clean gradient.
  const cleanPass = variant.trivial ? "grad" : (variant.cleanPass ?? "grad");
  // A term on the logits (SAF, MESA): only a variant that defines it pays for it.
  const term = variant.logitsTerm;
  if (term && cleanPass !== "grad") throw new Error(`${owner}: logitsTerm needs the clean gradient pass (cleanPass "grad")`);
  if (term && selecting) throw new Error(`${owner}: logitsTerm and selectExamples cannot be combined`);
  const phaseAt = (t: number) => (variant.phase ? variant.phase(t) : "step");
  return {
    init(params) {
      return {
        base: base.init(tree.ref(params)),
        count: np.array(0, { dtype: np.int32 }),
        extra: variant.initExtra(params),
        skipped: np.array(0, { dtype: np.int32 }),
      };
    },
    phase: phaseAt,
    needsFullGrad: variant.needsFullGrad ?? false,
    nonFinite,
    ...(term ? { logitsTerm: { needsTeacher: (t: number) => term.teacher === "input" && term.active(phaseAt(t)), returnsLogits: term.returnLogits === true } } : {}),
    step(loss, params, state, batch, options = {}) {
      const hasAux = options.hasAux ?? false;
      const phase = options.phase ?? "step";
      const telemetry = options.telemetry ?? false;
      const vg = lossAndGrad(loss, hasAux);
      const gOnly = gradOnly(loss, hasAux);
      const forward = forwardOnly(loss, hasAux);
      const fail = (e: Error): never => {
        tree.dispose([params, state as any, batch as any, options.ascentBatch as any, options.fullGrad as any, options.at as any, options.teacher as any]);
        throw e;
      };
      if (variant.needsFullGrad && !options.fullGrad) fail(new Error(`${owner}: step needs options.fullGrad, the full-data gradient at w`));
      const second = !variant.trivial && (variant.secondPass ? variant.secondPass(phase) : true);
      if (selecting && options.perExampleLoss === undefined) fail(new Error(`${owner}: step needs options.perExampleLoss, the per-example losses [n] of the same model and batch (selectExamples)`));
      if (selecting && options.ascentBatch !== undefined) fail(new RangeError(`${owner}: selectExamples compares per-example losses on one batch (no ascentBatch)`));
      // This step selects examples: clean per-example losses, a forward at w + ε, a weighted second pass.
      const sel = selecting && second;
      const per = sel ? perExample(options.perExampleLoss!, hasAux, owner) : null;
      // A term on the logits: this step adds it (its phase), or at least returns the logits; then
      // the clean pass runs through lossWithLogits.
      const termOn = term !== undefined && term.active(phase);
      const viaLogits = term !== undefined && (termOn || term.returnLogits === true);
      const teacherIn = termOn && term!.teacher === "input";
      if (viaLogits && options.lossWithLogits === undefined) fail(new Error(`${owner}: step needs options.lossWithLogits, the loss and the logits [n, classes] of the same model and batch (a term on the logits)`));
      if (teacherIn && options.teacher === undefined) fail(new Error(`${owner}: step needs options.teacher, the teacher logits [n, classes] of the batch (this phase adds the term)`));
      if (viaLogits && options.ascentBatch !== undefined) fail(new RangeError(`${owner}: a term on the logits takes the clean pass on the batch itself (no ascentBatch)`));
      const lp = viaLogits ? logitsPasses(options.lossWithLogits!, hasAux, owner, termOn ? term!.penalty : undefined) : null;

      // The batch splits into `groups` (each with its own ε: m-SAM, per-micro-batch
      // accumulation) of `micro` micro-batches (one ε from their mean gradient: global
      // accumulation).
      let groups = 1;
      let micro = 1;
      let size = 0; // examples per part when the batch is split
      if (m !== undefined || accumulate > 1) {
        const n = batchSize(batch, owner);
        const by = m !== undefined ? m : n / accumulate;
        size = by;
        if (m !== undefined && n % m !== 0) fail(new RangeError(`${owner}: batch size ${n} is not a multiple of m = ${m}`));
        if (m === undefined && n % accumulate !== 0) fail(new RangeError(`${owner}: batch size ${n} is not a multiple of accumulate = ${accumulate}`));
        if (m !== undefined || accumulateMode === "per-micro-batch") groups = n / by;
        else micro = accumulate;
      }
      if (options.at !== undefined && groups > 1) fail(new RangeError(`${owner}: options.at needs one perturbation per step (no m, no per-micro-batch accumulation)`));
      const parts = groups * micro;
      const split = (b: any) => (parts === 1 ? [b] : Array.from({ length: parts }, (_, j) => subBatch(b, j, size)));
      const allParts: any[] = split(batch);
      // The teacher logits, split like the batch; disposed when this step has no use for them.
      let teacherParts: np.Array[] = [];
      if (options.teacher !== undefined) {
        if (teacherIn) {
          teacherParts = parts === 1 ? [options.teacher] : Array.from({ length: parts }, (_, k) => options.teacher!.ref.slice([k * size, (k + 1) * size]));
          if (parts > 1) options.teacher.dispose();
        } else options.teacher.dispose();
      }
      const logitParts: np.Array[] = [];
      const allAscent: any[] | null = options.ascentBatch === undefined ? null : split(options.ascentBatch);
      if (parts > 1) {
        tree.dispose(batch as Params);
        if (options.ascentBatch !== undefined) tree.dispose(options.ascentBatch as Params);
      }
      const fullGrad = options.fullGrad;
      // The point of the clean pass and of w + ε: w, or `at` (Lookbehind's ascent chain).
      const at = options.at;
      const origin = (): Params => (at === undefined ? tree.ref(params) : tree.ref(at));
      const scales = everyLeaf ? null : leafScales(owner, params, selected, rhoScale);
      // Kept to restore on a non-finite step (selected in-graph, no host read).
      const prev = { params: tree.ref(params), state: tree.ref(state) as SharpnessState<BS, X> };

      let extra = state.extra;
      const losses: np.Array[] = [];
      const directions: Params[] = [];
      const tel = Object.fromEntries(TELEMETRY_KEYS.map((k) => [k, [] as np.Array[]])) as Record<TelemetryKey, np.Array[]>;
      const nan = () => np.array(NaN);
      let aux: any = undefined;
      let ascentOut: Params | undefined;
      const takeAux = (a: any) => {
        if (aux === undefined) aux = a;
        else if (a !== undefined) tree.dispose(a);
      };
      for (let j = 0; j < groups; j++) {
        const mine = allParts.slice(j * micro, (j + 1) * micro);
        const ascents = allAscent ? allAscent.slice(j * micro, (j + 1) * micro) : mine;
        const meanGrad = (p: Params) => {
          const gs = mine.map((part, i) => gOnly(i === mine.length - 1 ? p : tree.ref(p), tree.ref(part)));
          return treeMean(gs);
        };
        const ctx: PerturbContext = {
          grad: (p) => meanGrad(p),
          hvp: (v) => treeMean(mine.map((part, i) => hvpAt(loss, hasAux, origin(), tree.ref(part), i === mine.length - 1 ? v : tree.ref(v)))),
          fullGrad: fullGrad === undefined ? undefined : j === groups - 1 ? fullGrad : tree.ref(fullGrad),
          phase,
        };
        // 1. The clean pass.
        const cleanVecs: np.Array[] = [];
        let lClean: np.Array | undefined;
        let g: Params | undefined;
        if (cleanPass !== "none") {
          const ls: np.Array[] = [];
          const gs: Params[] = [];
          for (const [i, ascent] of ascents.entries()) {
            if (lp) {
              // The clean pass through lossWithLogits: L (+ R(z, t) on a phase with the term).
              const teacher = !termOn ? undefined : teacherIn ? teacherParts[j * micro + i] : (term!.teacher as Exclude<LogitsTerm<X>["teacher"], "input">)(extra, (q) => lp.forward(q, tree.ref(ascent)));
              const [[total, [l, z, a]], gi] = lp.valueAndGrad(origin(), teacher === undefined ? { batch: tree.ref(ascent) } : { batch: tree.ref(ascent), teacher });
              total.dispose();
              ls.push(l);
              gs.push(gi);
              takeAux(a);
              if (term!.returnLogits) logitParts.push(z);
              else z.dispose();
            } else if (per) {
              // The clean pass on the mean of the per-example losses, keeping the vector.
              if (cleanPass === "forward") {
                const [vec, a] = per.forward(origin(), tree.ref(ascent));
                ls.push(np.mean(vec.ref));
                cleanVecs.push(vec);
                takeAux(a);
              } else {
                const [[l, [vec, a]], gi] = per.valueAndGrad(origin(), tree.ref(ascent));
                ls.push(l);
                cleanVecs.push(vec);
                gs.push(gi);
                takeAux(a);
              }
            } else if (cleanPass === "forward") {
              const [l, a] = forward(origin(), tree.ref(ascent));
              ls.push(l);
              takeAux(a);
            } else {
              const [[l, a], gi] = vg(origin(), tree.ref(ascent));
              ls.push(l);
              gs.push(gi);
              takeAux(a);
            }
          }
          lClean = scalarMean(ls);
          g = gs.length ? treeMean(gs) : undefined;
        }
        if (allAscent) tree.dispose(ascents);

        // 2-4. The perturbation, the second pass, the direction.
        let d: Params;
        let lPert: np.Array | undefined;
        if (variant.trivial) {
          d = g!;
          if (telemetry) {
            tel.gradNorm.push(treeNorm(tree.ref(g!)));
            tel.epsNorm.push(nan());
            tel.cosine.push(nan());
          }
        } else {
          let gs: Params | undefined;
          const gKeep = variant.combine && g !== undefined ? tree.ref(g) : undefined;
          if (telemetry) tel.gradNorm.push(g === undefined ? nan() : treeNorm(tree.ref(g)));
          const gTel = telemetry && g !== undefined && second ? tree.ref(g) : undefined;
          if (second) {
            const gIn = g === undefined || scales === null ? g : scaleLeaves(g, scales.map((s) => (s === 0 ? 0 : 1)));
            const [eps0, nextExtra] = variant.perturb(gIn as Params, origin(), extra, state.count.ref, ctx);
            extra = nextExtra;
            const eps = scales === null ? eps0 : scaleLeaves(eps0, scales);
            if (telemetry) tel.epsNorm.push(treeNorm(tree.ref(eps)));
            const wantValue = telemetry || cleanPass === "none" || (hasAux && options.auxFrom === "perturbed" && j === 0);
            const ls2: np.Array[] = [];
            const gs2: Params[] = [];
            if (per) {
              // Per-example losses at w + ε (one forward per micro-batch), the variant's weights
              // over the group, and the gradient of the weighted mean of the kept examples.
              const pert = mine.map((part, i) => {
                const [vec, a2] = per.forward(treeAdd(origin(), tree.ref(eps)), tree.ref(part));
                if (j === 0 && i === 0 && hasAux && options.auxFrom === "perturbed") {
                  if (aux !== undefined) tree.dispose(aux);
                  aux = a2;
                } else if (a2 !== undefined) tree.dispose(a2);
                if (telemetry) ls2.push(np.mean(vec.ref));
                return vec;
              });
              const cat = (vs: np.Array[]) => (vs.length === 1 ? vs[0] : np.concatenate(vs, 0));
              const [weights, nextExtra] = variant.selectExamples!(cat(cleanVecs), cat(pert), extra, state.count.ref);
              extra = nextExtra;
              const denom = np.maximum(np.sum(weights.ref), 1);
              mine.forEach((part, i) => {
                const w = mine.length === 1 ? weights.ref : weights.ref.slice([i * size, (i + 1) * size]);
                gs2.push(per.weightedGrad(treeAdd(origin(), tree.ref(eps)), { batch: tree.ref(part), weights: w, denom: denom.ref }));
              });
              weights.dispose();
              denom.dispose();
            } else mine.forEach((part, i) => {
              const point = treeAdd(origin(), tree.ref(eps));
              if (wantValue) {
                const [[l2, a2], g2] = vg(point, tree.ref(part));
                ls2.push(l2);
                gs2.push(g2);
                if (j === 0 && i === 0 && (cleanPass === "none" || (hasAux && options.auxFrom === "perturbed"))) {
                  if (aux !== undefined) tree.dispose(aux);
                  aux = a2;
                } else if (a2 !== undefined) tree.dispose(a2);
              } else gs2.push(gOnly(point, tree.ref(part)));
            });
            // Selection: each micro-batch's term already carries 1/Σ weights over the group, so sum.
            gs = per ? gs2.reduce((a, b) => treeAdd(a, b)) : treeMean(gs2);
            if (ls2.length) lPert = scalarMean(ls2);
            if (at !== undefined) ascentOut = treeAdd(origin(), tree.ref(eps));
            tree.dispose(eps);
            if (gTel) {
              const dot = treeDot(tree.ref(gTel), tree.ref(gs));
              tel.cosine.push(dot.div(treeNorm(gTel).mul(treeNorm(tree.ref(gs))).add(EPS)));
            }
          } else {
            if (gKeep) tree.dispose(g!); // combine holds its own reference
            if (telemetry) tel.epsNorm.push(nan());
          }
          if (telemetry && !gTel) tel.cosine.push(nan());
          if (!second && !variant.combine) {
            // A one-pass phase (ρ(t) = 0): the base step with the clean gradient.
            d = g!;
          } else if (variant.combine) {
            const [dir, nextExtra] = variant.combine(gKeep as Params, gs, origin(), extra, state.count.ref, ctx);
            extra = nextExtra;
            d = dir;
          } else d = gs!;
        }
        if (telemetry) {
          tel.lossClean.push(lClean === undefined ? nan() : lClean.ref);
          tel.lossPerturbed.push(lPert === undefined ? nan() : lPert.ref);
          tel.gap.push(lClean === undefined || lPert === undefined ? nan() : lPert.ref.sub(lClean.ref));
        }
        // The step's loss is the clean one; a variant without a clean pass (MSAM) reports L(w + ε).
        losses.push(lClean ?? lPert!);
        if (lClean !== undefined && lPert !== undefined) lPert.dispose();
        tree.dispose(mine);
        if (ctx.fullGrad !== undefined && !variant.needsFullGrad) tree.dispose(ctx.fullGrad);
        directions.push(d);
      }
      if (at !== undefined && ascentOut === undefined) ascentOut = origin();
      if (at !== undefined) tree.dispose(at);
      const gMean = treeMean(directions);
      const lossMean = scalarMean(losses);

      // One finiteness check of the new parameters covers the gradients: a NaN/Inf in the clean
      // gradient, the perturbation or the descent direction reaches them through every variant's
      // rule and every base update (the poisoned-batch tests hold each variant to it), and the
      // check is most of a step's fixed cost (docs/performance.md).
      let finite = np.isfinite(lossMean.ref);
      const [updates, baseState] = base.update(gMean, state.base, tree.ref(params));
      let newParams: Params;
      if (variant.afterUpdate) {
        const [p2, nextExtra] = variant.afterUpdate(applyUpdates(params, tree.ref(updates)), updates, extra, state.count.ref);
        newParams = p2;
        extra = nextExtra;
      } else newParams = applyUpdates(params, updates);
      finite = np.logicalAnd(finite, treeAllFinite(tree.ref(newParams)));
      const { skipped: oldSkipped, ...oldRest } = prev.state;
      state.skipped.dispose();
      const kept = treeSelect(finite, { base: baseState, count: state.count.add(1), extra } as any, oldRest as any) as Omit<SharpnessState<BS, X>, "skipped">;
      const out: StepOutput<SharpnessState<BS, X>, any> = {
        params: treeSelect(finite, newParams, prev.params),
        state: { ...kept, skipped: np.where(finite.ref, oldSkipped.ref, oldSkipped.add(1)) },
        loss: lossMean,
        finite,
      };
      if (hasAux) out.aux = aux;
      else if (aux !== undefined) tree.dispose(aux);
      if (ascentOut !== undefined) out.ascent = ascentOut;
      if (logitParts.length) out.logits = logitParts.length === 1 ? logitParts[0] : np.concatenate(logitParts, 0);
      if (telemetry) out.telemetry = Object.fromEntries(Object.entries(tel).map(([k, xs]) => [k, scalarMean(xs)])) as StepTelemetry;
      return out;
    },
  };
}

/**
 * The base optimizer alone, behind the same `step` interface (one pass, no perturbation), so
 * that training code treats SGD and the SAM family alike.
 *
 * Options: `nonFinite` ("skip" by default) and `accumulate` (1). Consumes what `step` consumes.
 *
 * @example
 * ```ts
 * const opt = plain(sgd({ learningRate: 0.1 }));
 * const out = jit((p, s, b) => opt.step(loss, p, s, b))(params, opt.init(tree.ref(params)), batch);
 * ```
 */
export function plain<BS>(base: GradientTransformation<BS>, options: Pick<CoreOptions, "nonFinite" | "accumulate"> = {}): SharpnessAwareOptimizer<SharpnessState<BS, Record<string, never>>> {
  return makeSharpnessAware<BS, Record<string, never>>(base, {
    name: "plain",
    trivial: true,
    initExtra: noExtraState,
    perturb() {
      throw new Error("plain: no perturbation");
    },
  }, undefined, { nonFinite: options.nonFinite, accumulate: options.accumulate });
}

/** Arrays a step may take besides params, state and batch (passed through `jit` as a tree); each is consumed. */
export type StepInputs = {
  /** {@link StepOptions.ascentBatch}: the batch of the clean pass (n-SAM / SAM-db). */
  ascentBatch?: unknown;
  /** {@link StepOptions.fullGrad}: the full-data gradient (SAM-full, SAM-noise). */
  fullGrad?: Params;
  /** {@link StepOptions.at}: the point of the clean pass (Lookbehind-SAM). */
  at?: Params;
  /** {@link StepOptions.teacher}: the teacher logits (SAF). */
  teacher?: np.Array;
};

/**
 * A step function that picks the optimizer's phase for host step `t` and runs the step compiled
 * for that phase (one `jit` per phase, made on first use). Consumes what `step` consumes.
 * `perExampleLoss` goes to every step (`StepOptions.perExampleLoss`); only a variant that selects
 * examples (ESAM) reads it, so passing it costs the others nothing. Likewise `lossWithLogits`
 * (`StepOptions.lossWithLogits`), read only by a variant with a term on the logits (SAF, MESA);
 * SAF's teacher logits go in `inputs.teacher` on the steps where `opt.logitsTerm.needsTeacher(t)`.
 *
 * Options (defaults): `hasAux` false, `jitted` true (false: eager, for debugging), `auxFrom`
 * "clean", `telemetry` false. The returned function also has `phases()` (the phases compiled so
 * far) and `dispose()` (frees the compiled steps).
 *
 * @example
 * ```ts
 * const step = phasedStep(opt, loss, { hasAux: true });
 * const out = step(params, state, batch, t);
 * // … step.dispose() when done
 * ```
 */
export function phasedStep<S>(opt: SharpnessAwareOptimizer<S>, loss: LossFn, { hasAux = false, jitted = true, auxFrom = "clean" as "clean" | "perturbed", telemetry = false, perExampleLoss = undefined as LossFn | undefined, lossWithLogits = undefined as LogitsLossFn | undefined } = {}) {
  const cache = new Map<string, (p: any, s: any, b: any, x: StepInputs) => StepOutput<S>>();
  const run = (params: Params, state: S, batch: unknown, t: number, inputs: StepInputs = {}): StepOutput<S> => {
    const phase = opt.phase(t);
    let f = cache.get(phase);
    if (!f) {
      const g = (p: any, s: any, b: any, x: StepInputs) => opt.step(loss, p, s, b, { hasAux, phase, auxFrom, telemetry, perExampleLoss, lossWithLogits, ...x });
      f = jitted ? (jit(g as any) as any) : g;
      cache.set(phase, f!);
    }
    const out = f!(params, state, batch, inputs);
    if (opt.nonFinite === "error") throwIfNonFinite(out, t);
    return out;
  };
  return Object.assign(run, {
    /** The phases compiled so far. */
    phases: () => [...cache.keys()],
    dispose: () => cache.forEach((f) => (f as any).dispose?.()),
  });
}

/**
 * Host check for the "error" policy: throws `NonFiniteError` naming step `t` when `out.finite`
 * is false. Reads `out.finite` synchronously (not inside a step; not with wasm threads, where
 * the trainer reads it asynchronously instead). Does not consume `out`.
 *
 * @example
 * ```ts
 * const out = step(params, state, batch);
 * throwIfNonFinite(out, t); // NonFiniteError: "step 12: the loss or a gradient is NaN/Inf …"
 * ```
 */
export function throwIfNonFinite(out: StepOutput<any>, t: number): void {
  if (!(out.finite.ref.dataSync() as ArrayLike<number>)[0]) {
    const e = new NonFiniteError(`step ${t}: the loss or a gradient is NaN/Inf (parameters left unchanged; see error.output)`);
    e.output = out;
    throw e;
  }
}
