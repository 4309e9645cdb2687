/**
 * WSAM — Weighted Sharpness-Aware Minimization (Yue, Jiang, Ye, Gao, Liu, Zhang, KDD 2023,
 * "Sharpness-Aware Minimization Revisited: Weighted Sharpness as a Regularization Term"),
 * following the official code: `WeightedSAM` in intelligent-machine-learning/dlrover,
 * atorch/atorch/optimizers/wsam.py (the paper's code link, atorch, later moved to its own repo).
 *
 * Sharpness becomes a regularizer with weight α = γ/(1 − γ):
 * L_WSAM(w) = L(w) + α·(max_{‖δ‖≤ρ} L(w + δ) − L(w)).
 *
 *   g = ∇L_B(w);  ε = ρ g / (‖g‖₂ + 1e-12);  g_s = ∇L_B(w + ε);  α = γ / (1 − γ)
 *
 *   decoupled (default; the code's `decouple=True`, which its README calls the paper's form):
 *     w ← w + base.update(g, w) − η(t)·α·(g_s − g)
 *     The base optimizer — its momentum, its Adam statistics, its weight decay — sees only the
 *     clean g; the sharpness term is a plain step outside it, of size η(t) = the base
 *     optimizer's learning rate (the code's `group["lr"]`), so this form needs `learningRate`.
 *   coupled (`decouple: false`; the code's `decouple=False`):
 *     d = g + α (g_s − g);  w ← base step with d, taken at w
 *
 * Reductions: γ = 0 is the base optimizer (one pass, both forms). γ = ½ (α = 1) is SAM exactly
 * in the coupled form, and in the decoupled form for plain SGD without momentum
 * (w − η(g + wd·w) − η(g_s − g) = w − η(g_s + wd·w)); with momentum or Adam the decoupled form
 * differs from SAM at any γ > 0 (momentum accumulates only g).
 *
 * Weight decay: the base optimizer's (PyTorch's `weight_decay` of the wrapped optimizer in the
 * official code), at the clean w; the decoupled sharpness step carries none.
 *
 * Not implemented from the official code: `adaptive` (an ASAM-style ε = ρ w² g / ‖|w| g‖) and
 * `max_norm` (default None; it clips g and g_s separately before forming g_s − g). Clip with
 * `chain(clipByGlobalNorm(c), base)` instead: in the decoupled form that clips g only.
 * The code's `sam_eps` is 1e-12, as here.
 *
 * Defaults: rho 0.05, gamma 0.9, decouple true — the official code's (dlrover history from
 * 2023-05-24 on; a first version of 2023-05-23 had γ 0.88 and max_norm 1.0). Its README and
 * CIFAR-10 demo use γ 0.9 (demo: ρ 0.2, SGD lr 0.1, momentum 0.9, wd 5e-4).
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import type { GradientTransformation, Params, ScalarOrSchedule } from "../optim/types.js";
import { treeAdd, treeScale, treeSub } from "../engine/tree.js";
import { resolveOptions, type Descriptor } from "../optim/hyper.js";
import { evalSchedule } from "../optim/schedules.js";
import { checkLearningRate } from "../optim/sgd.js";
import { makeSharpnessAware, noExtraState, type SharpnessAwareOptimizer, type SharpnessState, CORE_OPTIONS, type CoreOptions } from "./core.js";
import { normalizedPerturbation } from "./sam.js";
import { checkRho, rhoAt, rhoPhases, type Rho, rhoHyper } from "./rho.js";

/**
 * Options of `wsam`; every one optional except `learningRate` in the (default) decoupled form.
 *
 * @example
 * ```ts
 * const opt = wsam(sgd({ learningRate: 0.1 }), { rho: 0.05, gamma: 0.9, learningRate: 0.1 } satisfies WsamOptions);
 * ```
 */
export interface WsamOptions extends CoreOptions {
  /** Radius ρ ≥ 0 or a ρ schedule (rho.ts). Default 0.05. ρ = 0 is exactly the base optimizer. */
  rho?: Rho;
  /** γ ∈ [0, 1), the sharpness weight (α = γ/(1 − γ)). Default 0.9. 0: the base optimizer; ½: SAM. */
  gamma?: number;
  /**
   * true (default, the official code and the paper): the base optimizer steps with the clean g
   * and the sharpness term −η(t)·α·(g_s − g) is added outside it; false: the base optimizer
   * steps with d = g + α(g_s − g).
   */
  decouple?: boolean;
  /**
   * η, the base optimizer's learning rate (the same number or schedule), for the decoupled
   * sharpness step. Required with `decouple: true`; ignored otherwise. A schedule is evaluated
   * at this optimizer's step count, which is the count the base's own schedule sees.
   */
  learningRate?: ScalarOrSchedule;
}

/**
 * WSAM's hyperparameters, declared once (`learningRate` is the base's, not WSAM's own). The factory validates its options with it ({@link resolveOptions}); the
 * run registry derives flags, spec checks and docs from it.
 *
 * @example
 * ```ts
 * for (const [k, h] of Object.entries(wsamDescriptor.params)) console.log(k, h.default, h.doc);
 * ```
 */
export const wsamDescriptor = {
  name: "wsam",
  fn: "wsam",
  label: "WSAM",
  paper: "Yue et al., KDD 2023 (intelligent-machine-learning/dlrover atorch/optimizers/wsam.py)",
  params: {
    rho: rhoHyper(0.05),
    gamma: { type: "number", default: 0.9, min: 0, max: 1, maxOpen: true, symbol: "γ", doc: "γ, the sharpness weight α = γ/(1−γ) on g_s − g (0: the base optimizer, 0.5: SAM)" },
    decouple: { type: "boolean", default: true, doc: "the sharpness term as a plain lr-step outside the base optimizer (official code); false: the base steps with g + α(g_s − g)" },
  },
} as const satisfies Descriptor;

/** WSAM's state: the base optimizer's, the step count and the skip count (no state of its own). */
export type WsamState<BS = unknown> = SharpnessState<BS, Record<string, never>>;

/** The decoupled form's descent "direction": the base optimizer's gradient and a delta added to its updates. */
type DecoupledDirection = { grad: Params; delta?: Params };

/**
 * The base optimizer seen through the decoupled form: `update({ grad, delta })` is
 * `base.update(grad) + delta`. Same state as `base`. Consumes what `base.update` consumes.
 */
function decoupledBase<BS>(base: GradientTransformation<BS>): GradientTransformation<BS> {
  return {
    init: (params) => base.init(params),
    update(direction, state, params) {
      const { grad, delta } = direction as unknown as DecoupledDirection;
      const [updates, next] = base.update(grad, state, params);
      return [delta === undefined ? updates : treeAdd(updates, delta), next];
    },
  };
}

/**
 * Wrap `base` with WSAM. `base` is used as is; with `decouple: true` pass its learning rate as
 * `learningRate` too. The returned optimizer's `step` consumes `params`, `state` and `batch`
 * (keep them with `tree.ref`).
 *
 *   ε = ρ g/(‖g‖ + 1e-12), α = γ/(1 − γ)
 *   decoupled: w ← w + base.update(g) − η(t)·α·(∇L(w + ε) − g)
 *   coupled:   w ← w + base.update(g + α(∇L(w + ε) − g))
 *
 * Defaults: rho 0.05, gamma 0.9, decouple true.
 *
 * @example
 * const opt = wsam(sgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4 }), { rho: 0.2, gamma: 0.9, learningRate: 0.1 });
 * let state = opt.init(tree.ref(params));
 * const out = jit((p, s, b) => opt.step(loss, p, s, b))(params, state, batch);
 * // coupled: wsam(sgd({ learningRate: 0.1 }), { gamma: 0.8, decouple: false })
 */
export function wsam<BS>(base: GradientTransformation<BS>, options: WsamOptions = {}): SharpnessAwareOptimizer<WsamState<BS>> {
  const { rho, gamma, decouple, learningRate } = resolveOptions(wsamDescriptor, options, [...CORE_OPTIONS, "learningRate"]) as Required<WsamOptions>;
  checkRho("wsam", rho);
  if (learningRate !== undefined) checkLearningRate("wsam", learningRate);
  if (decouple && learningRate === undefined) {
    throw new RangeError(
      "wsam: decouple: true (the default, as in the official code) needs learningRate, the base optimizer's learning rate η (a number ≥ 0 or a schedule); or pass decouple: false",
    );
  }
  const alpha = gamma / (1 - gamma);
  const phases = rhoPhases(rho);
  // γ = 0 is the base optimizer: one pass, the clean gradient, the base itself.
  const trivial = phases.trivial || gamma === 0;
  const decoupled = decouple && !trivial;
  return makeSharpnessAware<BS, Record<string, never>>(
    decoupled ? decoupledBase(base) : base,
    {
      name: "wsam",
      ...phases,
      trivial,
      initExtra: noExtraState,
      perturb(g, params, extra, count) {
        tree.dispose(params);
        return [normalizedPerturbation(g, rhoAt(rho, count)), extra];
      },
      combine(g, gs, params, extra, count) {
        tree.dispose(params);
        if (gs === undefined) {
          // A ρ(t) = 0 step: g_s = g, no sharpness term.
          count.dispose();
          return [decoupled ? ({ grad: g } as DecoupledDirection) : g, extra];
        }
        if (decoupled) {
          const lr = evalSchedule(learningRate, count);
          const scale = typeof lr === "number" ? -lr * alpha : lr.mul(-alpha);
          const delta = treeScale(treeSub(gs, tree.ref(g)), scale); // −η α (g_s − g)
          return [{ grad: g, delta } as DecoupledDirection, extra];
        }
        count.dispose();
        if (alpha === 1) {
          // γ = ½: d = g_s exactly (SAM), without the rounding of g + (g_s − g).
          tree.dispose(g);
          return [gs, extra];
        }
        const d = tree.map((x: np.Array, y: np.Array) => x.ref.add(y.sub(x).mul(alpha)), g, gs) as Params;
        return [d, extra];
      },
    },
    undefined,
    options,
  );
}
