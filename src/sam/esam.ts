/**
 * ESAM — Efficient Sharpness-aware Minimization (Du, Yan, Feng, Zhou, Zhen, Goh & Tan, ICLR 2022,
 * "Efficient Sharpness-aware Minimization for Improved Training of Neural Networks"), following
 * the official code: dydjw9/Efficient_SAM, utils/Esam.py (`ESAM.step`, `first_step`,
 * `second_step`).
 *
 * Two changes to SAM's step:
 *
 * Stochastic Weight Perturbation (SWP): each parameter leaf ℓ (a whole tensor) is in this step's
 * perturbation set S independently with probability β; ε touches S only and is scaled up by 1/β:
 *
 *   g = ∇L_B(w),   g_S = g on the leaves of S, 0 elsewhere
 *   ε = ρ g_S / (‖g_S‖₂ + 1e-12) / β
 *
 * Sharpness-Sensitive Data Selection (SDS): the examples whose loss rises most under ε carry the
 * descent gradient. With per-example losses lᵢ on the batch of n,
 *
 *   sᵢ = lᵢ(w + ε) − lᵢ(w)                         instance sharpness (one forward at w + ε)
 *   c  = the ⌊nγ⌋-th largest sᵢ                     (lax.topK)
 *   B⁺ = { i : sᵢ > c }                             strictly above: ⌊nγ⌋ − 1 examples without ties
 *   w  ← base step with ∇ (1/|B⁺|) Σ_{i∈B⁺} lᵢ(w + ε), taken at w
 *
 * and γ ≥ 0.99 keeps every example (the code's threshold; then no per-example pass runs). β = 1,
 * γ = 1 is SAM exactly; ρ = 0 is the base optimizer.
 *
 * Code choices (utils/Esam.py at dydjw9/Efficient_SAM 1e06840, line numbers there), followed
 * where the paper differs:
 * - SWP draws per tensor, not per coordinate: the code flips `requires_grad` of each parameter
 *   tensor with `random.random() > beta` (second_step, l. 60-61), so a whole leaf is in or out
 *   of the perturbation; the paper writes a Bernoulli mask over the weights (per coordinate as
 *   summaries of it render it; its full text was not checked here). Leaves here.
 * - The draw made at the end of a step decides the next step's set, and every tensor starts with
 *   `requires_grad = True` (first_step turns it back on, l. 28): the first step perturbs every
 *   leaf. Here step 0 takes all leaves and step t > 0 a fresh draw (a jax-js PRNG key in the
 *   state, seeded by `seed`; the code uses Python's `random`). The 1/β scale applies on every
 *   step, the first included (l. 26).
 * - ‖g_S‖ runs over the drawn leaves only (the others have no gradient in the code's first
 *   backward); the code adds 1e-7 to the norm (l. 26), this library 1e-12 (DESIGN §4).
 * - SDS keeps sᵢ strictly above the ⌊nγ⌋-th largest value (`instance_sharpness > cutoff` after
 *   `torch.topk(instance_sharpness, int(n·γ))`, l. 94-104), i.e. ⌊nγ⌋ − 1 examples when there
 *   are no ties, not the paper's |B⁺| = γ|B|; ties at the cutoff are all dropped. γ ≥ 0.99
 *   keeps all.
 *   ⌊nγ⌋ < 2 would keep nothing on every step (the code then crashes or averages an empty batch
 *   into NaN): refused here with a RangeError when the step is traced.
 * - The descent gradient covers every leaf (the code sets `requires_grad` back on before the second
 *   backward) and the base optimizer, with its weight decay, steps at the clean w (second_step
 *   subtracts ε first, l. 57-63).
 * - The code's `adaptive` (ASAM-style) switch, off by default, is not offered; use `asam` for that.
 *
 * Library choices: a step whose selection comes out empty at run time (every sᵢ tied at the
 * cutoff, e.g. ε = 0 when no leaf was drawn and the gradient at w + ε equals g) descends along a
 * zero gradient (weights / max(Σ weights, 1)) — the base step with g = 0 (momentum and weight
 * decay still act) — where the code would average an empty batch into NaN. With BatchNorm the
 * per-example losses are those of the whole batch in training mode (batch statistics over all n);
 * the code's second pass runs the model on B⁺ alone (statistics over B⁺). The aux (BatchNorm
 * running statistics) comes from the clean pass, as everywhere in this library; the code's extra
 * forward passes in training mode update the running statistics three times per step.
 *
 * Cost on this engine: ESAM's saving does not materialize here. jax-js cannot gather a
 * data-dependent number of examples or differentiate a data-dependent set of leaves, so the
 * second pass runs on the whole batch with 0/1 weights and the clean gradient covers every leaf
 * (same shapes either way); the rule is ESAM's, the cost is SAM's plus one forward pass at w + ε
 * (none when γ ≥ 0.99).
 *
 * Needs per-example losses: pass `{ perExampleLoss }` to `step` (or `phasedStep`), the same model
 * and batch as the loss, returning [n] (`[[n], aux]` with `hasAux`); `classificationLossPerExample`
 * in models/loss.ts is the counterpart of `classificationLoss`. m-sharpness-style grouping through
 * `accumulate` works: "per-micro-batch" selects within each micro-batch, "global" over the batch.
 *
 * Defaults: rho 0.05 (Esam.py's and options.py's default; run.sh's ResNet-18 lines), beta 0.5,
 * gamma 0.5 (run.sh: γ 0.5 on every line, β 0.5 on the active WideResNet and the PyramidNet lines,
 * 0.6 on the ResNet-18 lines; Esam.py's own defaults β = γ = 1 are plain SAM), seed 0.
 */
import "../engine/polyfills.js";
import { lax, numpy as np, random, tree } from "@jax-js/jax";
import type { GradientTransformation, Params } from "../optim/types.js";
import { resolveOptions, type Descriptor } from "../optim/hyper.js";
import { makeSharpnessAware, type SharpnessAwareOptimizer, type SharpnessState, CORE_OPTIONS, type CoreOptions, type Perturbation } from "./core.js";
import { normalizedPerturbation } from "./sam.js";
import { checkRho, rhoAt, rhoPhases, type Rho, rhoHyper } from "./rho.js";

/**
 * Options of `esam`, all optional (and the options every sharpness-aware optimizer shares).
 *
 * @example
 * ```ts
 * const o: EsamOptions = { rho: 0.05, beta: 0.6, gamma: 0.5 };
 * const opt = esam(sgd({ learningRate: 0.05 }), o);
 * ```
 */
export interface EsamOptions extends CoreOptions {
  /** Radius ρ ≥ 0 or a ρ schedule (rho.ts). Default 0.05. ρ = 0 is exactly the base optimizer. */
  rho?: Rho;
  /** β ∈ (0, 1]: the probability that a parameter leaf is perturbed (SWP); ε is scaled by 1/β. Default 0.5. 1: every leaf. */
  beta?: number;
  /** γ ∈ (0, 1]: the fraction of the batch SDS aims to keep (those above the ⌊nγ⌋-th largest sharpness). Default 0.5. ≥ 0.99: all. */
  gamma?: number;
  /** Seed of the PRNG key in the state that draws the perturbed leaves. Default 0. */
  seed?: number;
}

/**
 * ESAM's hyperparameters, declared once. The factory validates its options with it ({@link resolveOptions}); the
 * run registry derives flags, spec checks and docs from it.
 *
 * @example
 * ```ts
 * for (const [k, h] of Object.entries(esamDescriptor.params)) console.log(k, h.default, h.doc);
 * ```
 */
export const esamDescriptor = {
  name: "esam",
  fn: "esam",
  label: "ESAM",
  paper: "Du et al., ICLR 2022 (dydjw9/Efficient_SAM)",
  params: {
    rho: rhoHyper(0.05),
    beta: { type: "number", default: 0.5, min: 0, minOpen: true, max: 1, symbol: "β", doc: "β, the probability that a parameter leaf is perturbed (SWP; ε scaled by 1/β; 1: every leaf)" },
    gamma: { type: "number", default: 0.5, min: 0, minOpen: true, max: 1, symbol: "γ", doc: "γ, the fraction of the batch kept by sharpness (SDS: sᵢ above the ⌊nγ⌋-th largest; ≥ 0.99: all)" },
    seed: { type: "number", default: 0, min: 0, integer: true, fromRun: "seed", doc: "seed of the PRNG key that draws the perturbed leaves" },
  },
} as const satisfies Descriptor;

/**
 * ESAM's extra state: the PRNG key for the next draw of perturbed leaves.
 *
 * @inline
 */
export type EsamExtra = {
  /** The PRNG key of the next draw. */
  key: np.Array;
};

/** ESAM's state: the base's, the step count, the skipped-step count, and the PRNG key (`extra.key`). */
export type EsamState<BS = unknown> = SharpnessState<BS, EsamExtra>;

/**
 * SDS's weights for γ < 0.99: 1 where sᵢ = perturbedᵢ − cleanᵢ is strictly above the ⌊nγ⌋-th
 * largest sᵢ, else 0 (dtype of the losses). Consumes `clean` and `perturbed`. Needs ⌊nγ⌋ ≥ 1.
 */
function selectBySharpness(clean: np.Array, perturbed: np.Array, gamma: number): np.Array {
  const k = Math.floor(clean.shape[0] * gamma);
  const s = perturbed.sub(clean);
  const [top, idx] = lax.topK(s.ref, k);
  idx.dispose();
  const cutoff = top.slice(k - 1);
  const dtype = s.dtype;
  return s.greater(cutoff).astype(dtype);
}

/**
 * Wrap `base` with ESAM. The returned optimizer's `step` consumes `params`, `state` and `batch`
 * (keep them with `tree.ref`) and, for γ < 0.99, needs `{ perExampleLoss }` (a one-line Error
 * otherwise):
 *
 *   S ~ each leaf with probability β (all leaves on step 0);  ε = ρ g_S/(‖g_S‖ + 1e-12)/β
 *   sᵢ = lᵢ(w + ε) − lᵢ(w);  B⁺ = {i : sᵢ > ⌊nγ⌋-th largest s};  base step with ∇ mean_{B⁺} l(w + ε)
 *
 * Defaults: rho 0.05, beta 0.5, gamma 0.5, seed 0. Bad options are one-line RangeErrors naming
 * the option (β, γ ∈ (0, 1], ρ ≥ 0).
 *
 * @example
 * const opt = esam(sgd({ learningRate: 0.05, momentum: 0.9, weightDecay: 1e-3 }), { rho: 0.05, beta: 0.5, gamma: 0.5 });
 * let state = opt.init(tree.ref(params));
 * const step = phasedStep(opt, classificationLoss(model), { hasAux: true, perExampleLoss: classificationLossPerExample(model) });
 * const out = step(params, state, batch, t);
 */
export function esam<BS>(base: GradientTransformation<BS>, options: EsamOptions = {}): SharpnessAwareOptimizer<EsamState<BS>> {
  const { rho, beta, gamma, seed } = resolveOptions(esamDescriptor, options, CORE_OPTIONS) as Required<EsamOptions>;
  checkRho("esam", rho);

  const variant: Perturbation<EsamExtra> = {
    name: "esam",
    ...rhoPhases(rho),
    initExtra(params) {
      tree.dispose(params);
      return { key: random.key(seed) };
    },
    perturb(g, params, extra, count) {
      tree.dispose(params);
      const r = rhoAt(rho, count.ref);
      const radius = typeof r === "number" ? r / beta : r.div(beta);
      if (beta === 1) {
        // Every leaf, every step: SAM's ε (the key is left as it is).
        count.dispose();
        return [normalizedPerturbation(g, radius), extra];
      }
      const [leaves, def] = tree.flatten(g) as [np.Array[], any];
      const keys = random.split(extra.key, 2);
      const next = keys.ref.slice(1);
      // Leaf ℓ is perturbed when uₗ < β (probability β); on step 0 every leaf is (the code's
      // requires_grad starts on, and its draws take effect from the next step).
      const drawn = np.logicalOr(count.equal(0), random.uniform(keys.slice(0), [leaves.length]).less(beta));
      const masked = leaves.map((x, i) => {
        const dtype = x.dtype;
        const y = np.where(drawn.ref.slice(i), x, 0);
        return y.dtype === dtype ? y : y.astype(dtype);
      });
      drawn.dispose();
      return [normalizedPerturbation(tree.unflatten(def, masked) as Params, radius), { key: next }];
    },
  };
  if (gamma < 0.99) {
    variant.selectExamples = (clean, perturbed, extra, count) => {
      count.dispose();
      const n = clean.shape[0];
      const k = Math.floor(n * gamma);
      if (k < 2) {
        tree.dispose([clean, perturbed, extra]);
        throw new RangeError(`esam: gamma ${gamma} keeps no example of a batch of ${n} (examples above the ⌊nγ⌋-th largest sharpness, ⌊nγ⌋ = ${k}; need ⌊nγ⌋ ≥ 2 or gamma ≥ 0.99)`);
      }
      return [selectBySharpness(clean, perturbed, gamma), extra];
    };
  }
  return makeSharpnessAware<BS, EsamExtra>(base, variant, undefined, options);
}
