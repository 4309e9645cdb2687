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
 * Ownership: `step` consumes `params`, `state`, `batch` and the arrays in its options; it
 * returns fresh `params`, `state`, `loss` (0-d) and `aux`. No host reads: eager or under `jit`.
 */
import "../engine/polyfills.js";
import { grad, jit, jvp, numpy as np, tree, valueAndGrad } from "@jax-js/jax";
import type { GradientTransformation, Params } from "../optim/types.js";
import { applyUpdates } from "../optim/apply.js";
import { assertSameTree, treeAdd, treeAllFinite, treeScale, treeSelect } from "../engine/tree.js";
import { checkOneOf } from "../optim/validate.js";

/** A loss `(params, batch) => scalar` (mean over the batch), or `[scalar, aux]` with `hasAux`. */
export type LossFn<B = any, A = any> = (params: any, batch: B) => np.Array | [np.Array, A];

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
}

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
};

/** State of every sharpness-aware optimizer: the base optimizer's, a step count, the variant's. */
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

/** What a step does when the loss, a gradient or the new parameters are NaN/Inf. */
export type NonFinitePolicy = "skip" | "error";

/**
 * A non-finite step under the "error" policy (raised on the host by `phasedStep` and the
 * trainer, after the step; the parameters were left unchanged).
 */
export class NonFiniteError extends Error {
  override name = "NonFiniteError";
  /** The step's output (parameters and state unchanged), so nothing is lost; owned by the catcher. */
  output?: StepOutput<any>;
}

/** What a variant may use besides the clean gradient. */
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

/** What a variant supplies to the shared step. */
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
  /** "grad" (default): the clean pass computes ∇L(w); "forward": loss only (random perturbation). */
  cleanPass?: "grad" | "forward";
  /** Whether the step of this phase computes the second pass (default: yes unless trivial). */
  secondPass?(phase: string): boolean;
  /** Does this variant read `ctx.fullGrad`? (then `step` requires `fullGrad`). */
  needsFullGrad?: boolean;
  /** Host-side step kind for step t (0-based); default "step". */
  phase?(t: number): string;
}

/** `initExtra` for variants without state of their own: disposes `params`, returns `{}`. */
export function noExtraState(params: Params): Record<string, never> {
  tree.dispose(params);
  return {};
}

/** A sharpness-aware optimizer: wraps a base optimizer and owns the two-pass step. */
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
 */
export function hvpAt(loss: LossFn, hasAux: boolean, params: Params, batch: unknown, v: Params): Params {
  const g = gradOnly(loss, hasAux);
  const f = (p: Params) => g(p, tree.ref(batch as Params)) as any;
  const [primal, tangent] = jvp(f, [params], [v]) as [Params, Params];
  tree.dispose([primal, batch as Params]);
  return tangent;
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
 * Build a sharpness-aware optimizer from a base optimizer and a variant's perturbation.
 * `m` = sub-batch size for m-sharpness (undefined: the whole batch).
 */
export function makeSharpnessAware<BS, X>(base: GradientTransformation<BS>, variant: Perturbation<X>, m?: number, nonFinite: NonFinitePolicy = "skip"): SharpnessAwareOptimizer<SharpnessState<BS, X>> {
  const owner = variant.name;
  checkOneOf(owner, "nonFinite", nonFinite, ["skip", "error"]);
  return {
    init(params) {
      return {
        base: base.init(tree.ref(params)),
        count: np.array(0, { dtype: np.int32 }),
        extra: variant.initExtra(params),
        skipped: np.array(0, { dtype: np.int32 }),
      };
    },
    phase(t) {
      return variant.phase ? variant.phase(t) : "step";
    },
    needsFullGrad: variant.needsFullGrad ?? false,
    nonFinite,
    step(loss, params, state, batch, options = {}) {
      const hasAux = options.hasAux ?? false;
      const phase = options.phase ?? "step";
      const vg = lossAndGrad(loss, hasAux);
      const gOnly = gradOnly(loss, hasAux);
      const forward = forwardOnly(loss, hasAux);
      if (variant.needsFullGrad && !options.fullGrad) {
        tree.dispose([params, state as any, batch as any, options.ascentBatch as any]);
        throw new Error(`${owner}: step needs options.fullGrad, the full-data gradient at w`);
      }
      const second = !variant.trivial && (variant.secondPass ? variant.secondPass(phase) : true);

      const n = m === undefined ? undefined : batchSize(batch, owner);
      if (n !== undefined && n % m! !== 0) {
        tree.dispose([params, state as any, batch as any, options.ascentBatch as any, options.fullGrad as any]);
        throw new RangeError(`${owner}: batch size ${n} is not a multiple of m = ${m}`);
      }
      const k = n === undefined ? 1 : n / m!;
      const split = (b: any) => (k === 1 ? [b] : Array.from({ length: k }, (_, j) => subBatch(b, j, m!)));
      const parts: any[] = split(batch);
      const ascentParts: any[] | null = options.ascentBatch === undefined ? null : split(options.ascentBatch);
      if (k > 1) {
        tree.dispose(batch as Params);
        if (options.ascentBatch !== undefined) tree.dispose(options.ascentBatch as Params);
      }
      const fullGrad = options.fullGrad;
      // Kept to restore on a non-finite step (selected in-graph, no host read).
      const prev = { params: tree.ref(params), state: tree.ref(state) as SharpnessState<BS, X> };

      let extra = state.extra;
      let lossSum: np.Array | null = null;
      let gradSum: Params | null = null;
      let aux: any = undefined;
      for (let j = 0; j < k; j++) {
        const part = parts[j];
        const ascent = ascentParts ? ascentParts[j] : part;
        const ctx: PerturbContext = {
          grad: (p) => gOnly(p, tree.ref(part)),
          hvp: (v) => hvpAt(loss, hasAux, tree.ref(params), tree.ref(part), v),
          fullGrad: fullGrad === undefined ? undefined : j === k - 1 ? fullGrad : tree.ref(fullGrad),
          phase,
        };
        let l: np.Array;
        let a: any;
        let g: Params | undefined;
        if (variant.cleanPass === "forward") [l, a] = forward(tree.ref(params), tree.ref(ascent));
        else [[l, a], g] = vg(tree.ref(params), tree.ref(ascent));
        if (ascent !== part) tree.dispose(ascent);
        if (j === 0) aux = a;
        else if (a !== undefined) tree.dispose(a);
        lossSum = lossSum === null ? l : lossSum.add(l);

        let d: Params;
        if (variant.trivial) {
          d = g!;
        } else {
          let gs: Params | undefined;
          const gKeep = variant.combine && g !== undefined ? tree.ref(g) : undefined;
          if (second) {
            const [eps, nextExtra] = variant.perturb(g as Params, tree.ref(params), extra, state.count.ref, ctx);
            extra = nextExtra;
            if (hasAux && options.auxFrom === "perturbed" && j === 0) {
              const [[l2, a2], g2] = vg(treeAdd(tree.ref(params), eps), tree.ref(part));
              l2.dispose();
              tree.dispose(aux);
              aux = a2;
              gs = g2;
            } else gs = gOnly(treeAdd(tree.ref(params), eps), tree.ref(part));
          } else if (gKeep) tree.dispose(g!); // combine holds its own reference
          if (!second && !variant.combine) {
            // A one-pass phase (ρ(t) = 0): the base step with the clean gradient.
            d = g!;
          } else if (variant.combine) {
            const [dir, nextExtra] = variant.combine(gKeep as Params, gs, tree.ref(params), extra, state.count.ref, ctx);
            extra = nextExtra;
            d = dir;
          } else d = gs!;
        }
        tree.dispose(part);
        if (ctx.fullGrad !== undefined && !variant.needsFullGrad) tree.dispose(ctx.fullGrad);
        gradSum = gradSum === null ? d : treeAdd(gradSum, d);
      }
      const gMean = k === 1 ? gradSum! : treeScale(gradSum!, 1 / k);
      const lossMean = k === 1 ? lossSum! : lossSum!.mul(1 / k);

      // One finiteness check of the new parameters covers the gradients: a NaN/Inf in the clean
      // gradient, the perturbation or the descent direction reaches them through every variant's
      // rule and every base update (the poisoned-batch tests hold each variant to it), and the
      // check is most of a step's fixed cost (docs/performance.md).
      let finite = np.isfinite(lossMean.ref);
      const [updates, baseState] = base.update(gMean, state.base, tree.ref(params));
      const newParams = applyUpdates(params, updates);
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
      return out;
    },
  };
}

/**
 * The base optimizer alone, behind the same `step` interface (one pass, no perturbation), so
 * that training code treats SGD and the SAM family alike.
 *
 * @example const opt = plain(sgd({ learningRate: 0.1 }));
 */
export function plain<BS>(base: GradientTransformation<BS>, options: { nonFinite?: NonFinitePolicy } = {}): SharpnessAwareOptimizer<SharpnessState<BS, Record<string, never>>> {
  return makeSharpnessAware<BS, Record<string, never>>(base, {
    name: "plain",
    trivial: true,
    initExtra: noExtraState,
    perturb() {
      throw new Error("plain: no perturbation");
    },
  }, undefined, options.nonFinite);
}

/** Arrays a step may take besides params, state and batch (passed through `jit` as a tree). */
export type StepInputs = { ascentBatch?: unknown; fullGrad?: Params };

/**
 * A step function that picks the optimizer's phase for host step `t` and runs the step compiled
 * for that phase (one `jit` per phase, made on first use). Consumes what `step` consumes.
 *
 * @example
 * const step = phasedStep(opt, loss, { hasAux: true });
 * const out = step(params, state, batch, t);
 * // … step.dispose() when done
 */
export function phasedStep<S>(opt: SharpnessAwareOptimizer<S>, loss: LossFn, { hasAux = false, jitted = true, auxFrom = "clean" as "clean" | "perturbed" } = {}) {
  const cache = new Map<string, (p: any, s: any, b: any, x: StepInputs) => StepOutput<S>>();
  const run = (params: Params, state: S, batch: unknown, t: number, inputs: StepInputs = {}): StepOutput<S> => {
    const phase = opt.phase(t);
    let f = cache.get(phase);
    if (!f) {
      const g = (p: any, s: any, b: any, x: StepInputs) => opt.step(loss, p, s, b, { hasAux, phase, auxFrom, ...x });
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
 */
export function throwIfNonFinite(out: StepOutput<any>, t: number): void {
  if (!(out.finite.ref.dataSync() as ArrayLike<number>)[0]) {
    const e = new NonFiniteError(`step ${t}: the loss or a gradient is NaN/Inf (parameters left unchanged; see error.output)`);
    e.output = out;
    throw e;
  }
}
