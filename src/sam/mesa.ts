/**
 * MESA — Memory-Efficient Sharpness-Aware training (Du, Zhou, Feng, Tan & Zhou, NeurIPS 2022,
 * "Sharpness-Aware Training for Free", the variant of SAF without its memory of past logits),
 * following the official code: AngusDujw/SAF, MESA_train.py (`train_one_epoch`, the argparse
 * block "MESA: parameters for MESA") with timm's `ModelEmaV2` (timm/utils/model_ema.py).
 *
 * SAF's trajectory loss with the teacher taken from an exponential moving average of the weights
 * instead of a memory of past epochs:
 *
 *   t = f(w̄; x_B)  the logits of the EMA weights w̄ on the batch (a forward pass; constants)
 *   R(z, t) = λ τ² · (1/|B|) Σᵢ KL(softmax(tᵢ/τ) ‖ softmax(zᵢ/τ)),  z = f(w; x_B)
 *   w ← base step with ∇_w [L_B(w) + R(z(w), t)]      from epoch `startEpoch` on; before, ∇L_B
 *   w̄ ← δ w̄ + (1 − δ) w      after every step (w̄₀ = w₀)
 *
 * One forward and one backward pass of the model per step plus one forward of the EMA weights
 * (none before startEpoch); the EMA weights are a copy of the parameters in the optimizer's state
 * (`state.extra.ema`), so checkpoints carry them.
 *
 * Code choices (MESA_train.py and timm/utils/model_ema.py at AngusDujw/SAF 6e85600, line numbers
 * there), followed where the paper's description differs or is silent:
 * - The EMA starts as a copy of the model when training starts (`ModelEmaV2.__init__`
 *   deepcopies it and puts it in eval mode, model_ema.py l. 108-109; MESA_train.py l. 471) and
 *   is updated after every optimizer step, the epochs before the term included (l. 751-752), as
 *   `decay·ema + (1 − decay)·w` (model_ema.py l. 123), with no warm-up of the decay. Here: after
 *   the base step, inside the step (`afterUpdate`); a skipped (non-finite) step leaves it
 *   unchanged with the rest of the state.
 * - The term is on while `kl_start_epoch < epoch < kl_end_epoch` with timm's 0-based epochs
 *   (l. 728): the default kl_start_epoch 5 first adds it in the 7th epoch. `startEpoch` is the
 *   first epoch (1-based) with the term: kl_start_epoch k is startEpoch k + 2; default 7.
 *   kl_end_epoch (default 360, l. 309) is past every run in run.sh (90 epochs): not offered.
 *   The code runs the EMA forward on every step (l. 716-720) but uses it only with the term;
 *   here it runs only on steps with the term.
 * - KL as in SAF (l. 730-731): `kl_div(log softmax(z/τ), softmax(t/τ))` summed over classes,
 *   averaged over the batch, times τ² and λ ("reinforce"). logSoftmax here (see saf.ts).
 * - timm's EMA covers the whole state_dict, BatchNorm running statistics included, and its
 *   module is in eval mode, so the code's teacher uses the EMA'd running statistics. This
 *   library's model state (running statistics) is the trainer's, outside the optimizer: the EMA
 *   covers the parameters (BatchNorm's scale and shift included), and the teacher's forward is
 *   the training-mode forward of `lossWithLogits` at w̄ (batch statistics). Identical for models
 *   without BatchNorm (and there is no dropout in this library's models).
 * - The code needs `--model-ema` for MESA (without it the term reads an undefined teacher).
 * - The reported step loss is L_B(w) without the term (the code logs the sum).
 * - The paper's own statement was not checked against its full text here; the code's form is
 *   the only one offered.
 *
 * Reductions: λ = 0 is the base optimizer (the EMA is still kept); decay 0 makes w̄ the current
 * weights, so t = z and the term's gradient vanishes (the base step, up to rounding).
 *
 * Defaults: lambda 0.3 (MESA_train.py's `--reinforce` default, l. 306; run.sh's ImageNet line
 * uses 0.8), temperature 5 (l. 307), startEpoch 7 (kl_start_epoch 5, l. 308), decay 0.9998
 * (`--model-ema-decay`, l. 258).
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import type { GradientTransformation, Params } from "../optim/types.js";
import { resolveOptions, type Descriptor } from "../optim/hyper.js";
import { makeSharpnessAware, type SharpnessAwareOptimizer, type SharpnessState, CORE_OPTIONS, type CoreOptions } from "./core.js";
import { BEFORE_START, startPhase, trajectoryKl } from "./saf.js";

/**
 * Options of `mesa`, all optional but `stepsPerEpoch` (needed when startEpoch > 1); of the shared
 * `CoreOptions`, `nonFinite` and `accumulate` matter (there is no ε for the others to act on).
 *
 * @example const options: MesaOptions = { lambda: 0.8, decay: 0.9998, startEpoch: 7, stepsPerEpoch: 390 };
 */
export interface MesaOptions extends CoreOptions {
  /** λ ≥ 0, the weight of the trajectory loss. Default 0.3. 0: the base optimizer (the EMA is still kept). */
  lambda?: number;
  /** τ > 0, the softmax temperature of both sides of the KL (the term is scaled by τ²). Default 5. */
  temperature?: number;
  /** The first epoch (1-based) with the term; the code's kl_start_epoch k is k + 2. Default 7. */
  startEpoch?: number;
  /** δ ∈ [0, 1], the EMA decay: w̄ ← δ w̄ + (1 − δ) w after every step. Default 0.9998. */
  decay?: number;
  /** Steps per epoch (integer ≥ 1): epoch of host step t = ⌊t / stepsPerEpoch⌋ + 1. Required when startEpoch > 1. */
  stepsPerEpoch?: number;
}

/**
 * MESA's hyperparameters, declared once (the registry's `mesa` entry derives its spec fields and
 * CLI flags from it).
 *
 * @example mesaDescriptor.params.decay.default; // 0.9998
 */
export const mesaDescriptor = {
  name: "mesa",
  fn: "mesa",
  label: "MESA",
  paper: "Du et al., NeurIPS 2022 (AngusDujw/SAF, MESA_train.py)",
  params: {
    lambda: { type: "number", default: 0.3, min: 0, symbol: "λ", doc: "λ, the weight of the trajectory loss λτ²·KL(softmax(t/τ) ‖ softmax(z/τ)) toward the EMA weights' logits t (0: the base optimizer)" },
    temperature: { type: "number", default: 5, min: 0, minOpen: true, symbol: "τ", doc: "τ, the softmax temperature of the trajectory loss" },
    startEpoch: { type: "number", default: 7, min: 1, integer: true, doc: "first epoch (1-based) with the trajectory loss (the code's --kl_start_epoch k is k + 2)" },
    decay: { type: "number", default: 0.9998, min: 0, max: 1, symbol: "δ", doc: "δ, the decay of the EMA of the weights that gives the teacher (w̄ ← δ w̄ + (1−δ) w every step)" },
  },
} as const satisfies Descriptor;

/**
 * MESA's extra state: the EMA of the weights w̄, shaped like the parameters (owned by the state).
 *
 * @example const emaWeights = tree.ref(state.extra.ema); // e.g. to evaluate the EMA model
 */
export type MesaExtra = {
  /** The EMA weights w̄ (w̄₀ = w₀), with the parameters' tree structure. */
  ema: Params;
};

/**
 * MESA's state: the base's, the step count, the skipped-step count, and the EMA weights (`extra.ema`).
 *
 * @example let state: MesaState = opt.init(tree.ref(params));
 */
export type MesaState<BS = unknown> = SharpnessState<BS, MesaExtra>;

/**
 * Wrap `base` with MESA. The returned optimizer's `step` consumes `params`, `state` and `batch`
 * (keep them with `tree.ref`) and needs `{ lossWithLogits }` (the loss with the logits of the
 * same forward pass) on the steps with the term:
 *
 *   from epoch startEpoch on: w ← base step with ∇[L_B(w) + λτ²·mean KL(softmax(f(w̄)/τ) ‖ softmax(f(w)/τ))]
 *   before: the base step with ∇L_B(w);  always after: w̄ ← δ w̄ + (1 − δ) w
 *
 * Defaults: lambda 0.3, temperature 5, startEpoch 7, decay 0.9998. Bad options are one-line
 * RangeErrors naming the option (λ ≥ 0, τ > 0, δ ∈ [0, 1], startEpoch an integer ≥ 1,
 * stepsPerEpoch an integer ≥ 1 when startEpoch > 1).
 *
 * @example
 * const opt = mesa(sgd({ learningRate: 0.1, momentum: 0.9 }), { lambda: 0.8, startEpoch: 7, stepsPerEpoch });
 * let state = opt.init(tree.ref(params));
 * const step = phasedStep(opt, classificationLoss(model), { hasAux: true, lossWithLogits: classificationLossWithLogits(model) });
 * const out = step(params, state, batch, t);
 */
export function mesa<BS>(base: GradientTransformation<BS>, options: MesaOptions = {}): SharpnessAwareOptimizer<MesaState<BS>> {
  const { lambda, temperature, startEpoch, decay, stepsPerEpoch } = resolveOptions(mesaDescriptor, options, [...CORE_OPTIONS, "stepsPerEpoch"]) as Required<MesaOptions>;
  const phase = lambda === 0 ? () => "step" : startPhase("mesa", startEpoch, stepsPerEpoch);
  return makeSharpnessAware<BS, MesaExtra>(
    base,
    {
      name: "mesa",
      // No perturbation: the clean pass's gradient (of L + R on a phase with the term) is the direction.
      trivial: true,
      initExtra(params) {
        // A copy of the initial weights (ModelEmaV2 deepcopies the model).
        return { ema: tree.map((w: np.Array) => w.mul(1), params) as Params };
      },
      perturb() {
        throw new Error("mesa: no perturbation");
      },
      phase,
      ...(lambda === 0
        ? {}
        : {
            logitsTerm: {
              active: (ph: string) => ph !== BEFORE_START,
              // The EMA weights' logits on this (micro-)batch: one forward pass, no gradient.
              teacher: (extra: MesaExtra, forward: (p: Params) => np.Array) => forward(tree.ref(extra.ema)),
              penalty: (z: np.Array, t: np.Array) => trajectoryKl(z, t, temperature).mul(lambda),
            },
          }),
      afterUpdate(params, updates, extra, count) {
        tree.dispose([updates, count]);
        const ema = tree.map((e: np.Array, w: np.Array) => e.mul(decay).add(w.ref.mul(1 - decay)), extra.ema, params) as Params;
        return [params, { ema }];
      },
    },
    undefined,
    options,
  );
}
