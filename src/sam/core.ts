/**
 * The two-pass sharpness-aware step, written once. Every variant supplies only what differs:
 * how the perturbation ε is formed from the first-pass gradient (and its own extra state).
 *
 *   1. (L, aux), g = ∇L_B(w)                         first pass, at the clean weights
 *   2. ε, extra' = perturb(g, w, extra, count)      the variant
 *   3. g_s = ∇L_B(w + ε)                             second pass (skipped when ρ = 0)
 *   4. updates, base' = base.update(g_s, base, w)    weight decay etc. at the clean w
 *   5. w ← w + updates
 *
 * m-sharpness (`m` < batch size, 002 eq. 3-4): the batch (every leaf's leading axis) is split
 * into B/m sub-batches S_j; each gets its own first pass and perturbation, and
 * g_s = mean_j ∇L_{S_j}(w + ε_j). The reported loss is the mean of the clean sub-batch losses
 * (= the clean batch loss), and with `hasAux` the aux of the first sub-batch's clean pass is
 * returned (a ghost batch of m, as in Foret et al.'s m-sharpness runs with BatchNorm).
 *
 * Ownership: `step` consumes `params`, `state` and `batch`; it returns fresh `params`, `state`,
 * `loss` (0-d) and `aux`. No host reads: it runs eagerly or under `jit`.
 */
import "../engine/polyfills.js";
import { grad, numpy as np, tree, valueAndGrad } from "@jax-js/jax";
import type { GradientTransformation, Params } from "../optim/types.js";
import { applyUpdates } from "../optim/apply.js";
import { treeAdd, treeScale } from "../engine/tree.js";

/** A loss `(params, batch) => scalar` (mean over the batch), or `[scalar, aux]` with `hasAux`. */
export type LossFn<B = any, A = any> = (params: any, batch: B) => np.Array | [np.Array, A];

export interface StepOptions {
  /** The loss returns `[scalar, aux]`; `step` returns the aux of the clean (first) pass. */
  hasAux?: boolean;
}

export type StepOutput<S, A = any> = {
  /** The updated parameters. */
  params: any;
  /** The updated optimizer state. */
  state: S;
  /** The batch loss at the unperturbed weights (0-d array). */
  loss: np.Array;
  /** With `hasAux`: the aux of the first (unperturbed) pass; otherwise undefined. */
  aux?: A;
};

/** State of every sharpness-aware optimizer: the base optimizer's, a step count, the variant's. */
export type SharpnessState<BS, X> = {
  /** The wrapped base optimizer's state. */
  base: BS;
  /** Sharpness-aware steps taken, 0-d int32. */
  count: np.Array;
  /** The variant's own state (`{}` when it has none). */
  extra: X;
};

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
   * `count` (0-d int32, the step index).
   */
  perturb(g: Params, params: Params, extra: X, count: np.Array): [Params, X];
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
export function makeSharpnessAware<BS, X>(base: GradientTransformation<BS>, variant: Perturbation<X>, m?: number): SharpnessAwareOptimizer<SharpnessState<BS, X>> {
  const owner = variant.name;
  return {
    init(params) {
      return {
        base: base.init(tree.ref(params)),
        count: np.array(0, { dtype: np.int32 }),
        extra: variant.initExtra(params),
      };
    },
    step(loss, params, state, batch, options = {}) {
      const hasAux = options.hasAux ?? false;
      const vg = lossAndGrad(loss, hasAux);
      const gOnly = gradOnly(loss, hasAux);

      const n = m === undefined ? undefined : batchSize(batch, owner);
      if (n !== undefined && n % m! !== 0) {
        tree.dispose([params, state as any, batch as any]);
        throw new RangeError(`${owner}: batch size ${n} is not a multiple of m = ${m}`);
      }
      const k = n === undefined ? 1 : n / m!;
      const parts: any[] = k === 1 ? [batch] : Array.from({ length: k }, (_, j) => subBatch(batch, j, m!));
      if (k > 1) tree.dispose(batch as Params);

      let extra = state.extra;
      let lossSum: np.Array | null = null;
      let gradSum: Params | null = null;
      let aux: any = undefined;
      for (let j = 0; j < k; j++) {
        const part = parts[j];
        const [[l, a], g] = vg(tree.ref(params), variant.trivial ? part : tree.ref(part));
        if (j === 0) aux = a;
        else if (a !== undefined) tree.dispose(a);
        lossSum = lossSum === null ? l : lossSum.add(l);

        let gs: Params;
        if (variant.trivial) {
          gs = g;
        } else {
          const [eps, nextExtra] = variant.perturb(g, tree.ref(params), extra, state.count.ref);
          extra = nextExtra;
          gs = gOnly(treeAdd(tree.ref(params), eps), part);
        }
        gradSum = gradSum === null ? gs : treeAdd(gradSum, gs);
      }
      const gMean = k === 1 ? gradSum! : treeScale(gradSum!, 1 / k);
      const lossMean = k === 1 ? lossSum! : lossSum!.mul(1 / k);

      const [updates, baseState] = base.update(gMean, state.base, tree.ref(params));
      const out: StepOutput<SharpnessState<BS, X>, any> = {
        params: applyUpdates(params, updates),
        state: { base: baseState, count: state.count.add(1), extra },
        loss: lossMean,
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
export function plain<BS>(base: GradientTransformation<BS>): SharpnessAwareOptimizer<SharpnessState<BS, Record<string, never>>> {
  return makeSharpnessAware<BS, Record<string, never>>(base, {
    name: "plain",
    trivial: true,
    initExtra: noExtraState,
    perturb() {
      throw new Error("plain: no perturbation");
    },
  });
}
