/**
 * SAF — Sharpness-Aware Training for Free (Du, Zhou, Feng, Tan & Zhou, NeurIPS 2022), following
 * the official code: AngusDujw/SAF, SAF_train.py (`train_one_epoch`, the argparse block "SAF:
 * parameters for SAF") on timm.
 *
 * No perturbation and no second pass: the base optimizer's step on the loss plus a "trajectory
 * loss", a distillation term toward the same examples' outputs some epochs earlier:
 *
 *   z = f(w; x_B) the logits of this step's clean pass,  t = the logits of the same examples
 *   recorded `minusEpoch` epochs earlier (constants)
 *   R(z, t) = λ τ² · (1/|B|) Σᵢ KL(softmax(tᵢ/τ) ‖ softmax(zᵢ/τ))
 *   w ← base step with ∇_w [L_B(w) + R(z(w), t)]      from epoch `startEpoch` on; before, ∇L_B
 *
 * and every step records z (at w, before the update) for its examples. ∇_z R = λ τ (q − p)/|B|
 * with q = softmax(z/τ), p = softmax(t/τ). One forward and one backward pass per step; the memory
 * is (minusEpoch + 1) × examples × classes floats on the host.
 *
 * Where things live: the optimizer adds the term (its phase says whether a step has it) and returns
 * the batch's logits (`StepOutput.logits`); the memory is the caller's — `SafMemory` below, kept by
 * the trainer (train/trainer.ts), which gathers t for the batch's example indices, passes it as
 * `step(…, { teacher })` and records the returned logits after the step (one [batch, classes]
 * read per step), and writes it into checkpoints so that a resumed run is exact.
 *
 * Code choices (SAF_train.py at AngusDujw/SAF 6e85600, line numbers there), followed where the
 * paper's description differs or is silent:
 * - The term is on while `kl_start_epoch < epoch < kl_end_epoch` with timm's 0-based epochs
 *   (l. 734; the epoch loop l. 638 starts at 0): the default kl_start_epoch 5 first adds it in
 *   the 7th epoch. Here `startEpoch` is the first epoch (1-based, as the trainer counts) with
 *   the term: the code's kl_start_epoch k is startEpoch k + 2; default 7. kl_end_epoch (default
 *   300, l. 310) is past the end of every run in run.sh (90 epochs) and is not offered: the term
 *   stays on to the end.
 * - The memory is a ring of minus_epoch + 1 epoch slots indexed by the example's index in the
 *   training set (l. 336 allocates np.zeros((15000000, 4, 1000)): 4 slots, so minus_epoch ≤ 3
 *   there; here minusEpoch + 1 slots of the run's examples × classes), written at slot epoch
 *   mod (minus_epoch + 1) every step of every epoch, before the loss (l. 726), read at slot
 *   (epoch − minus_epoch) mod (minus_epoch + 1) (l. 735). An example not visited in epoch e − minus_epoch (the loader
 *   drops the last partial batch) reads what its slot holds from earlier, or zeros (a uniform
 *   teacher) if never written — and so do all examples while epoch − minusEpoch < 1, which the
 *   defaults (7 − 3 = 4) avoid. `SafMemory` keeps the same slots, zeros included.
 * - KL as `F.kl_div(log softmax(z/τ), softmax(t/τ), reduction="none").sum(-1).mean() · τ²`
 *   (l. 736): summed over classes, averaged over the batch, times τ², then times λ ("reinforce",
 *   l. 737). The code takes the log of a softmax; this library uses logSoftmax (equal up to
 *   rounding, finite where the softmax underflows), with p·log p = 0 where p underflows.
 * - The recorded logits are the training forward pass's own (`output.detach()`, l. 726): with
 *   BatchNorm, the batch-statistics outputs. The CE part is the loss the model trains with
 *   (`rein_CrossEntropyLoss` with its defaults is the mean cross-entropy; the script's default
 *   label smoothing 0.1 is a loss choice outside the rule, not applied here).
 * - The reported step loss is L_B(w) without the term (the code logs the sum).
 * - The paper's own statement of the schedule and defaults was not checked against its full text
 *   here; the code's form is the only one offered.
 *
 * Library choices: a skipped (non-finite) step records nothing, so the memory never holds NaN.
 * λ = 0 is exactly the base optimizer (no term, no logits returned, no memory).
 *
 * Defaults: lambda 0.16 (SAF_train.py's `--reinforce` default, l. 306; the README suggests 0.3
 * or 0.8 and run.sh's commented SAF line uses 0.3 on ImageNet), temperature 5 (l. 307),
 * startEpoch 7 (kl_start_epoch 5, l. 308), minusEpoch 3 (l. 309; run.sh and the README use 2 on
 * ImageNet).
 */
import "../engine/polyfills.js";
import { nn, numpy as np, tree } from "@jax-js/jax";
import type { GradientTransformation } from "../optim/types.js";
import { resolveOptions, type Descriptor } from "../optim/hyper.js";
import { checkNumber } from "../optim/validate.js";
import { makeSharpnessAware, noExtraState, type SharpnessAwareOptimizer, type SharpnessState, CORE_OPTIONS, type CoreOptions } from "./core.js";

/**
 * Options of `saf`, all optional but `stepsPerEpoch` (needed when startEpoch > 1); of the shared
 * `CoreOptions`, `nonFinite` and `accumulate` matter (there is no ε for the others to act on).
 *
 * @example const options: SafOptions = { lambda: 0.3, temperature: 5, startEpoch: 7, minusEpoch: 2, stepsPerEpoch: 390 };
 */
export interface SafOptions extends CoreOptions {
  /** λ ≥ 0, the weight of the trajectory loss. Default 0.16. 0: the base optimizer exactly. */
  lambda?: number;
  /** τ > 0, the softmax temperature of both sides of the KL (the term is scaled by τ²). Default 5. */
  temperature?: number;
  /** The first epoch (1-based) with the term; the code's kl_start_epoch k is k + 2. Default 7. */
  startEpoch?: number;
  /** The teacher is the logits recorded this many epochs earlier (≥ 1). Default 3. Read by `SafMemory`'s user. */
  minusEpoch?: number;
  /** Steps per epoch (integer ≥ 1): epoch of host step t = ⌊t / stepsPerEpoch⌋ + 1. Required when startEpoch > 1. */
  stepsPerEpoch?: number;
}

/**
 * SAF's hyperparameters, declared once (the registry's `saf` entry derives its spec fields and
 * CLI flags from it).
 *
 * @example safDescriptor.params.lambda.default; // 0.16
 */
export const safDescriptor = {
  name: "saf",
  fn: "saf",
  label: "SAF",
  paper: "Du et al., NeurIPS 2022 (AngusDujw/SAF)",
  params: {
    lambda: { type: "number", default: 0.16, min: 0, symbol: "λ", doc: "λ, the weight of the trajectory loss λτ²·KL(softmax(t/τ) ‖ softmax(z/τ)) (the code's --reinforce; 0: the base optimizer)" },
    temperature: { type: "number", default: 5, min: 0, minOpen: true, symbol: "τ", doc: "τ, the softmax temperature of the trajectory loss" },
    startEpoch: { type: "number", default: 7, min: 1, integer: true, doc: "first epoch (1-based) with the trajectory loss (the code's --kl_start_epoch k is k + 2)" },
    minusEpoch: { type: "number", default: 3, min: 1, integer: true, doc: "the teacher: the same examples' logits this many epochs earlier (a host memory of minusEpoch + 1 epochs)" },
  },
} as const satisfies Descriptor;

/**
 * SAF's state: the base's, the step count and the skipped-step count (no state of its own: the
 * memory is the caller's).
 *
 * @example let state: SafState = opt.init(tree.ref(params));
 */
export type SafState<BS = unknown> = SharpnessState<BS, Record<string, never>>;

/**
 * The distillation term τ² · mean over rows of KL(softmax(t/τ) ‖ softmax(z/τ)), i.e.
 * τ²/n Σᵢ Σ_k pᵢₖ (log pᵢₖ − log qᵢₖ) with p = softmax(t/τ), q = softmax(z/τ), for logits z and
 * teacher logits t of shape [n, K]; a 0-d array (its gradient in z is τ (q − p)/n). Consumes both.
 *
 * @example
 * const r = trajectoryKl(logits, teacherLogits, 5).mul(lambda);
 */
export function trajectoryKl(logits: np.Array, teacher: np.Array, temperature: number): np.Array {
  const logQ = nn.logSoftmax(logits.div(temperature), -1);
  const logP = nn.logSoftmax(teacher.div(temperature), -1);
  const p = np.exp(logP.ref);
  const kl = np.sum(p.mul(logP.sub(logQ)), -1);
  return np.mean(kl).mul(temperature * temperature);
}

/**
 * The phase of a step before `startEpoch` (no term).
 *
 * @example opt.phase(0) === BEFORE_START; // with startEpoch > 1
 */
export const BEFORE_START = "before-start";

/**
 * The phase function of SAF and MESA: host step t is in epoch ⌊t/stepsPerEpoch⌋ + 1; "step"
 * (with the term) from `startEpoch` on, `BEFORE_START` before. Validates `stepsPerEpoch`
 * (a one-line RangeError naming it).
 *
 * @example startPhase("saf", 3, 10)(19); // "before-start" (epoch 2); (20) → "step"
 */
export function startPhase(owner: string, startEpoch: number, stepsPerEpoch: number | undefined): (t: number) => string {
  if (startEpoch === 1) return () => "step";
  checkNumber(owner, "stepsPerEpoch", stepsPerEpoch, { lo: 1, integer: true });
  const first = (startEpoch - 1) * stepsPerEpoch!;
  return (t) => (t >= first ? "step" : BEFORE_START);
}

/**
 * Wrap `base` with SAF. The returned optimizer's `step` consumes `params`, `state` and `batch`
 * (keep them with `tree.ref`), needs `{ lossWithLogits }` (the loss with the logits of the same
 * forward pass) and, on the steps where `opt.logitsTerm.needsTeacher(t)`, `{ teacher }` (the
 * batch's logits `minusEpoch` epochs earlier, from a `SafMemory`); it returns the batch's
 * `logits` for that memory:
 *
 *   from epoch startEpoch on: w ← base step with ∇[L_B(w) + λτ²·mean KL(softmax(t/τ) ‖ softmax(z(w)/τ))]
 *   before: the base step with ∇L_B(w)
 *
 * Defaults: lambda 0.16, temperature 5, startEpoch 7, minusEpoch 3. Bad options are one-line
 * RangeErrors naming the option (λ ≥ 0, τ > 0, startEpoch and minusEpoch integers ≥ 1,
 * stepsPerEpoch an integer ≥ 1 when startEpoch > 1). The trainer does all of this from a run
 * spec (`optimizer: { name: "saf", … }`).
 *
 * @example
 * const opt = saf(sgd({ learningRate: 0.1, momentum: 0.9 }), { lambda: 0.3, startEpoch: 2, minusEpoch: 1, stepsPerEpoch });
 * const memory = new SafMemory(trainSize, classes, 1);
 * const step = phasedStep(opt, classificationLoss(model), { hasAux: true, lossWithLogits: classificationLossWithLogits(model) });
 * const inputs = opt.logitsTerm!.needsTeacher(t) ? { teacher: np.array(memory.teacher(idx, epoch)).reshape([idx.length, classes]) } : {};
 * const out = step(params, state, batch, t, inputs);
 * memory.record(idx, epoch, await out.logits!.data());
 */
export function saf<BS>(base: GradientTransformation<BS>, options: SafOptions = {}): SharpnessAwareOptimizer<SafState<BS>> {
  const { lambda, temperature, startEpoch, stepsPerEpoch } = resolveOptions(safDescriptor, options, [...CORE_OPTIONS, "stepsPerEpoch"]) as Required<SafOptions>;
  const phase = lambda === 0 ? () => "step" : startPhase("saf", startEpoch, stepsPerEpoch);
  return makeSharpnessAware<BS, Record<string, never>>(
    base,
    {
      name: "saf",
      // No perturbation: the clean pass's gradient (of L + R on a phase with the term) is the direction.
      trivial: true,
      initExtra: noExtraState,
      perturb() {
        throw new Error("saf: no perturbation");
      },
      phase,
      ...(lambda === 0
        ? {}
        : {
            logitsTerm: {
              active: (ph: string) => ph !== BEFORE_START,
              teacher: "input" as const,
              penalty: (z: np.Array, t: np.Array) => trajectoryKl(z, t, temperature).mul(lambda),
              returnLogits: true,
            },
          }),
    },
    undefined,
    options,
  );
}

/**
 * SAF's memory of past logits on the host: `minusEpoch + 1` epoch slots of [examples, classes]
 * float32, zeros at first (as the code's np.zeros buffer). Epochs are 1-based: epoch e records
 * into slot (e − 1) mod (minusEpoch + 1) and its teacher is slot (e − 1 − minusEpoch) mod
 * (minusEpoch + 1), the logits recorded minusEpoch epochs earlier (or earlier still for an example
 * not visited then; zeros if never). Browser-safe plain JS; `data` is the whole buffer
 * ([slots, examples, classes], row-major) for checkpoints.
 *
 * @example
 * const memory = new SafMemory(10000, 10, 3);
 * const t = memory.teacher(batchIndices, epoch);     // Float32Array [batch × classes]
 * memory.record(batchIndices, epoch, logits);        // after the step
 */
export class SafMemory {
  /** The whole buffer, [slots, examples, classes] row-major. */
  readonly data: Float32Array;
  /** Epoch slots: minusEpoch + 1. */
  readonly slots: number;

  /**
   * A zeroed memory (validated: integers ≥ 1).
   *
   * @param examples Training examples (rows per slot).
   * @param classes Logits per example.
   * @param minusEpoch How many epochs back the teacher is (SAF's `minusEpoch`).
   *
   * @example const memory = new SafMemory(trainSize, numClasses, 3);
   */
  constructor(readonly examples: number, readonly classes: number, readonly minusEpoch: number) {
    checkNumber("SafMemory", "examples", examples, { lo: 1, integer: true });
    checkNumber("SafMemory", "classes", classes, { lo: 1, integer: true });
    checkNumber("SafMemory", "minusEpoch", minusEpoch, { lo: 1, integer: true });
    this.slots = minusEpoch + 1;
    this.data = new Float32Array(this.slots * examples * classes);
  }

  /** [slots, examples, classes]. @example np.array(memory.data).reshape(memory.shape) */
  get shape(): [number, number, number] {
    return [this.slots, this.examples, this.classes];
  }

  private slot(epoch: number): number {
    return (((epoch - 1) % this.slots) + this.slots) % this.slots;
  }

  /**
   * The teacher logits of the examples `indices` in epoch `epoch` (1-based): a fresh
   * Float32Array [indices.length × classes].
   *
   * @example const t = np.array(memory.teacher(idx, epoch)).reshape([idx.length, memory.classes]);
   */
  teacher(indices: ArrayLike<number>, epoch: number): Float32Array {
    const k = this.classes;
    const base = this.slot(epoch - this.minusEpoch) * this.examples * k;
    const out = new Float32Array(indices.length * k);
    for (let r = 0; r < indices.length; r++) out.set(this.data.subarray(base + indices[r] * k, base + (indices[r] + 1) * k), r * k);
    return out;
  }

  /**
   * Record the logits ([indices.length × classes], row-major) of the examples `indices` seen in
   * epoch `epoch` (1-based).
   *
   * @example memory.record(idx, epoch, await out.logits!.data());
   */
  record(indices: ArrayLike<number>, epoch: number, logits: ArrayLike<number>): void {
    const k = this.classes;
    if (logits.length !== indices.length * k) throw new RangeError(`SafMemory: ${indices.length} examples need ${indices.length * k} logits (got ${logits.length})`);
    const base = this.slot(epoch) * this.examples * k;
    for (let r = 0; r < indices.length; r++) {
      const at = base + indices[r] * k;
      for (let c = 0; c < k; c++) this.data[at + c] = logits[r * k + c];
    }
  }

  /**
   * Replace the whole buffer (from a checkpoint).
   *
   * @example memory.load(await restored.data());
   */
  load(data: ArrayLike<number>): void {
    if (data.length !== this.data.length) throw new RangeError(`SafMemory: the buffer holds ${this.data.length} floats (got ${data.length})`);
    this.data.set(data);
  }
}
