/**
 * MSAM — Momentum-SAM (Becker, Altrock & Risse, "Momentum-SAM: Sharpness Aware Minimization
 * without Computational Overhead", arXiv 2401.12033), following the official code:
 * MarlonBecker/MSAM, optimizer/msam.py (`MSAM.step`), driven by main.py.
 *
 * SAM's ascent direction is replaced by the one the optimizer already has: the perturbation
 * points along the last update, i.e. against the momentum. One gradient pass per step.
 *
 *   u_{−1} = 0;  u_{t−1} = the update the base optimizer applied at step t − 1
 *   ε_t = ρ u_{t−1} / (‖u_{t−1}‖₂ + 1e-12)           (step 0: u = 0, so ε = 0)
 *   g_t = ∇L_B(w_t + ε_t)                             the only gradient pass
 *   u_t = base.update(g_t, at w_t + ε_t);  w_{t+1} = w_t + u_t
 *
 * For SGD with momentum μ (v_t = μ v_{t−1} + g_t + wd·w̃_t, u_t = −η v_t) this is
 * ε_t = −ρ v_{t−1}/‖v_{t−1}‖: the paper's Algorithm 1 and msam.py, written at the unperturbed
 * w = w̃ + ρ v/‖v‖. The official code keeps the parameters at the perturbed point w̃ between
 * steps and moves them back (`move_back_from_momentumAscent`) before evaluating and at the end
 * of training; here `params` are always the unperturbed w (evaluation and checkpoints see w),
 * so nothing has to be moved back. The official code's eps (1e-12) is added to ‖v‖, ours to
 * ‖u‖ = η‖v‖: a relative difference of ~1e-12/‖u‖, below float32 precision unless
 * ‖u‖ ≲ 1e-5. ρ = 0 is exactly the base optimizer.
 *
 * Code choices and where they differ from the official code:
 * - The first step is a plain step at w, as in msam.py: its momentum buffer starts at zeros and
 *   its inverse norm at 0, so nothing is perturbed before the first update.
 * - Weight decay at the perturbed point, as msam.py (d = g + wd·w̃ there; the paper's
 *   Algorithm 1 has no weight decay): the base optimizer is
 *   handed w + ε as its `params` argument, and its update is added to w. So SGD's (and Adam's)
 *   coupled L2 term is wd·(w + ε), exactly the code. Consequence for AdamW: its decoupled decay
 *   acts on w + ε too (w ← w − η·wd·(w + ε) − Adam step), where adamW_msam.py decays the
 *   unperturbed point after its step ((w − Adam step)·(1 − η·wd)); the difference is about
 *   η·wd·ρ in norm per step.
 * - Other bases: ε follows the last applied update whatever the base is. For Adam/AdamW that is
 *   the preconditioned step −η m̂/(√v̂ + eps) (plus AdamW's decay term), whereas the official
 *   optimizer/adamW_msam.py perturbs along −m/‖m‖, the raw first moment `exp_avg`. The two do
 *   not agree; an Adam base here is not AdamW_MSAM. With a Nesterov SGD base, ε follows the
 *   Nesterov update −η(d + μ v); msam.py accepts a `nesterov` argument but never reads it
 *   (and optimizer/__init__.py does not pass it to MSAM).
 * - A step whose update is 0 (learning rate 0) leaves u = 0, so the next step has ε = 0; the
 *   official code would still perturb along v.
 * - ρ schedules (rho.ts) are supported: ε_t = ρ(t)·û_{t−1}, one pass at every step (a step
 *   with ρ(t) = 0 is the base optimizer's step: ε is exactly 0). The official code has a ρ
 *   scheduler (utility/rhoScheduler.py) but applies each perturbation with the ρ of the step
 *   that made it and removes it with the ρ of the next, so under a changing ρ its stored
 *   weights drift by (ρ_t − ρ_{t−1})·v̂ per step; here ρ(t) is simply the radius of step t.
 * - The reported loss (and, with `hasAux`, the aux such as BatchNorm statistics) is that of the
 *   only pass, at w + ε — as the official training loop logs. main.py's extra forward epoch at
 *   the end of training to recompute BatchNorm statistics at w is the user's to run.
 * - Gradient clipping: main.py clips the gradient at w̃ before the step adds wd·w̃;
 *   `chain(clipByGlobalNorm(c), sgd(…))` does the same here.
 * - `perturbLeaves` / `rhoScale` (CoreOptions, leaves.ts): ‖u‖ runs over the selected leaves
 *   only, ε is 0 on the others and scaled per leaf, as for every variant. `accumulate` splits
 *   the batch into micro-batches, all evaluated at the one w + ε; `accumulateMode:
 *   "per-micro-batch"` is the same step here (ε comes from the state, not from the batch).
 *
 * Defaults: rho 0.3 — the `MSAM` optimizer's own default (optimizer/msam.py). The experiment
 * configs use larger radii with their learning rates: configs/default.ini, CIFAR100_WRN16_4.ini
 * and CIFAR100_ResNet50.ini ρ 3 (SGD lr 0.5 / 0.1, μ 0.9, wd 5e-4 / 1e-3), ImageNet_ResNet50.ini
 * ρ 0.3 (lr 1.0, wd 1e-4), ImageNet_ViT.ini ρ 10 with AdamW_MSAM (whose own default is ρ 1);
 * the README's MSAM commands pass ρ 3. The learning rate, momentum (0.9) and weight decay
 * (1e-2) of the `MSAM` signature belong to the base optimizer here.
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import type { GradientTransformation, Params } from "../optim/types.js";
import { treeAdd } from "../engine/tree.js";
import { resolveOptions, type Descriptor } from "../optim/hyper.js";
import { makeSharpnessAware, type SharpnessAwareOptimizer, type SharpnessState, CORE_OPTIONS, type CoreOptions } from "./core.js";
import { leafPredicate, leafScales, scaleLeaves } from "./leaves.js";
import { normalizedPerturbation } from "./sam.js";
import { checkRho, rhoAt, rhoIsZero, type Rho, rhoHyper } from "./rho.js";

/**
 * Options of `msam`, all optional: ρ and the options every sharpness-aware optimizer shares.
 *
 * @example const opt = msam(sgd({ learningRate: 0.1, momentum: 0.9 }), { rho: 0.3, nonFinite: "skip" });
 */
export interface MsamOptions extends CoreOptions {
  /**
   * Radius ρ ≥ 0 (the norm of ε) or a ρ schedule (rho.ts). Default 0.3 (optimizer/msam.py).
   * ρ = 0 is exactly the base optimizer.
   */
  rho?: Rho;
}

/**
 * MSAM's hyperparameters, declared once: ρ (default 0.3, a number ≥ 0 or a ρ schedule).
 *
 * @example msamDescriptor.params.rho.default // 0.3
 */
export const msamDescriptor = {
  name: "msam",
  fn: "msam",
  label: "MSAM",
  paper: "Becker, Altrock & Risse, arXiv 2401.12033 (MarlonBecker/MSAM optimizer/msam.py)",
  params: {
    rho: rhoHyper(0.3),
  },
} as const satisfies Descriptor;

/**
 * MSAM's state: the base optimizer's, the step count, the skip count, and `u`, the update the
 * base optimizer applied on the last step (zeros before the first), from which ε is formed.
 *
 * @example
 * const s: MsamState<SgdState> = msam(sgd({ learningRate: 0.1, momentum: 0.9 })).init(tree.ref(params));
 */
export type MsamState<BS = unknown> = SharpnessState<BS, { u: Params }>;

/** The variant's extra state inside a step: `eps` (ε before the per-leaf scales) lives from perturb to combine. */
type MsamExtra = { u: Params; eps?: Params };

/** What MSAM hands the base optimizer: the gradient at w + ε and ε itself (the point of its `params`). */
type MsamDirection = { grad: Params; eps: Params };

/**
 * The base optimizer evaluated at the perturbed point: `update({ grad, eps }, state, w)` is
 * `base.update(grad, state, w + ε)` — the base's weight decay acts at w + ε as in msam.py —
 * and the updates it returns are added to w by the step. Same state as `base`. Consumes what
 * `base.update` consumes (and `eps`).
 */
function atPerturbedPoint<BS>(base: GradientTransformation<BS>): GradientTransformation<BS> {
  return {
    init: (params) => base.init(params),
    update(direction, state, params) {
      const { grad, eps } = direction as unknown as MsamDirection;
      if (params === undefined) {
        tree.dispose(eps);
        return base.update(grad, state);
      }
      return base.update(grad, state, treeAdd(params, eps));
    },
  };
}

/**
 * Wrap `base` with MSAM: one gradient pass per step, at w + ε with ε along the last update.
 * The returned optimizer's `step` consumes `params`, `state` and `batch` (keep them with
 * `tree.ref`); `params` in and out are the unperturbed weights. The step's `loss` is L(w + ε).
 *
 *   ε = ρ u/(‖u‖ + 1e-12), u = the last applied update (0 at first);  w ← w + base.update(∇L(w + ε), at w + ε)
 *
 * Defaults: rho 0.3. With SGD (momentum μ) this is the official MSAM; see the file header for
 * other bases.
 *
 * @example
 * const opt = msam(sgd({ learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4 }), { rho: 0.3 });
 * let state = opt.init(tree.ref(params));
 * const out = jit((p, s, b) => opt.step(loss, p, s, b))(params, state, batch);
 */
export function msam<BS>(base: GradientTransformation<BS>, options: MsamOptions = {}): SharpnessAwareOptimizer<MsamState<BS>> {
  const { rho } = resolveOptions(msamDescriptor, options, CORE_OPTIONS) as Required<MsamOptions>;
  checkRho("msam", rho);
  const trivial = rhoIsZero(rho);
  // The per-leaf selection and scales, as core.ts applies them to ε (null: every leaf, scale 1).
  const perturbLeaves = options.perturbLeaves ?? "all";
  const everyLeaf = perturbLeaves === "all" && options.rhoScale === undefined;
  const selected = leafPredicate("msam", perturbLeaves);
  const scalesOf = (params: Params): number[] | null => (everyLeaf ? null : leafScales("msam", params, selected, options.rhoScale));

  return makeSharpnessAware<BS, MsamExtra>(
    trivial ? base : atPerturbedPoint(base),
    {
      name: "msam",
      trivial,
      cleanPass: "none",
      initExtra(params) {
        return { u: tree.map((w: np.Array) => np.zerosLike(w), params) as Params };
      },
      perturb(_g, params, extra, count) {
        // ε from the last update; the norm over the selected leaves only (core.ts zeroes and
        // scales the leaves of the ε returned here).
        const scales = scalesOf(params);
        tree.dispose(params);
        const u = tree.ref(extra.u);
        const d = scales === null ? u : scaleLeaves(u, scales.map((s) => (s === 0 ? 0 : 1)));
        const eps = normalizedPerturbation(d, rhoAt(rho, count));
        if (extra.eps !== undefined) tree.dispose(extra.eps);
        return [eps, { u: extra.u, eps: tree.ref(eps) }];
      },
      combine(_g, gs, params, extra, count) {
        // The descent direction is g_s; the base also gets ε (the same scaled ε the gradient
        // point had), to take its weight decay at w + ε.
        count.dispose();
        const scales = scalesOf(params);
        tree.dispose(params);
        const eps = scales === null ? extra.eps! : scaleLeaves(extra.eps!, scales);
        return [{ grad: gs!, eps } as unknown as Params, { u: extra.u }];
      },
      afterUpdate(params, updates, extra, count) {
        // Keep the applied update for the next step's ε.
        count.dispose();
        tree.dispose(extra.u);
        if (extra.eps !== undefined) tree.dispose(extra.eps);
        return [params, { u: updates }];
      },
    },
    undefined,
    options,
  );
}
