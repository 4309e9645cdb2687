/**
 * The training loop: seeded epochs of jitted sharpness-aware steps, evaluation after each
 * epoch, and a record per epoch. No `node:` imports; files and progress bars are the caller's
 * (see cli/). Deterministic for a given config and seed.
 *
 * Evaluation each epoch: test loss and accuracy; training accuracy against the labels training
 * sees (noisy ones included); on the noisy subset, accuracy against the *given* (wrong) labels,
 * i.e. how much of the noise the model has memorized (002 Fig 12).
 *
 * jax-js is lazy: params and state are realized after every step (`blockUntilReady`), or the
 * pending graph would keep every old buffer alive.
 *
 * Steps come from `phasedStep`: one jitted step per phase the optimizer names (LookSAM's
 * off-cycle steps, ρ(t) = 0 steps cost one pass). n-SAM / SAM-db (`ascentBatch`): "previous"
 * takes the ascent gradient on the previous step's batch (the first step uses its own), "random"
 * on an independent random batch of the same size. SAM-full / SAM-noise get the full gradient
 * over a fixed subset of `fullGradSize` training examples (the first ones of a seeded
 * permutation), recomputed every `fullGradEvery` steps at the current weights.
 * `ascentBatchSize` (003 Fig 2c) takes the ascent pass on the first examples of the batch when
 * smaller, or on the batch plus random other examples when larger (B ⊆ B'). `bnStats`
 * "perturbed" keeps the BatchNorm running statistics of the perturbed pass instead of the clean
 * one (the naive implementation the review asks about).
 *
 * Validation (`data.validationSize`): a split from the training pool outside the training
 * subset, labelled with the training set's noise rate (a user only has such labels), evaluated
 * after every epoch like the test set; the training set and its batches are the same as without it.
 *
 * Non-finite steps (policy "skip") leave parameters, optimizer state and model state unchanged
 * and are counted per epoch (`skippedSteps`); policy "error" throws `NonFiniteError` naming the
 * step (after writing a checkpoint of the unchanged state when checkpointing is on).
 *
 * SAF (sam/saf.ts) keeps a memory of past logits here, on the host: a `SafMemory` of
 * minusEpoch + 1 epoch slots indexed by the training example's index (`batches[s]`). Before a
 * step with the term the batch's teacher logits are gathered from it and passed as
 * `inputs.teacher`; after every finite step the logits the step returns are recorded (one
 * [batch, classes] read per step, only for SAF). MESA's EMA weights are in the optimizer state.
 *
 * Checkpoints (checkpoint.ts) hold the trees and the trainer's position; a run resumed from one
 * continues bit for bit: same batches (their order is a function of seed and epoch), same host
 * RNG state, same partial-epoch sums, same SAF memory ("saf_memory" in optimizer.safetensors).
 */
import "../engine/polyfills.js";
import { blockUntilReady, grad, jit, numpy as np, tree } from "@jax-js/jax";
import { classificationLoss, classificationLossPerExample, classificationLossWithLogits, crossEntropy } from "../models/loss.js";
import { disposeDeviceSet, epochBatches, evalBatches, meanOverRows, take, upload, type DeviceSet } from "../data/batches.js";
import { subsetTrain, symmetricLabelNoise, validationSplit } from "../data/prepare.js";
import type { ImageDataset } from "../data/types.js";
import { buildModel } from "./build.js";
import { NonFiniteError, phasedStep, TELEMETRY_KEYS, type TelemetryKey } from "../sam/core.js";
import { CheckpointError, readCheckpointMeta, readCheckpointTrees, writeCheckpoint } from "./checkpoint.js";
import { treeSelect, type Params } from "../engine/tree.js";
import { permutation, rng } from "../engine/prng.js";
import { buildOptimizer, fillSpec, runKey, type RunSpec } from "./spec.js";
import { SafMemory } from "../sam/saf.js";

/**
 * One epoch of a run's history: its losses and accuracies, skipped steps, measurements, telemetry and times.
 *
 * @example
 * ```ts
 * const r = await train(spec, ds, { onEpoch: (e: EpochRecord) => console.log(e.epoch, e.testAccuracy, e.noisyTrainAccuracy) });
 * ```
 */
export type EpochRecord = {
  /** The epoch, 1-based. */
  epoch: number;
  /** Mean training loss (clean pass, given labels) over the epoch's steps. */
  trainLoss: number;
  /** Mean cross-entropy on the test set (eval mode). */
  testLoss: number;
  /** Accuracy on the test set. */
  testAccuracy: number;
  /** Accuracy on the training set against the given labels. */
  trainAccuracy: number;
  /** Accuracy on the clean-label subset of the training set. */
  cleanTrainAccuracy: number;
  /** Accuracy on the noisy-label subset against the given (wrong) labels; null without noise. */
  noisyTrainAccuracy: number | null;
  /** With `data.validationSize`: loss and accuracy on the validation split (its given labels). */
  validationLoss?: number;
  /** With `data.validationSize`: accuracy on the validation split. */
  validationAccuracy?: number;
  /** Steps of this epoch skipped for NaN/Inf (policy "skip"). */
  skippedSteps: number;
  /** Instrument values of this epoch (`measureEvery`), if any. */
  measures?: Record<string, number>;
  /**
   * With `telemetry: true` in the spec: the epoch's means over its (finite) steps of the step
   * telemetry (sam/core.ts StepTelemetry); null where no step had the quantity (SGD's ε).
   */
  telemetry?: Record<TelemetryKey, number | null>;
  /** Seconds since training started (resumed runs include the time before the checkpoint). */
  seconds: number;
  /** Of which inside the training steps so far (batch assembly, the step, its reads; the first step compiles). Absent in results written before it was recorded. */
  trainSeconds?: number;
};

/** What {@link train} returns ({@link toRunResult} makes the stored result.json of it). */
export type TrainResult = {
  /** The filled run spec and its key. */
  spec: RunSpec;
  /** The run's key ({@link runKey}). */
  key: string;
  /** One record per completed epoch. */
  history: EpochRecord[];
  /** Steps per epoch (full batches). */
  stepsPerEpoch: number;
  /** Number of noisy training labels. */
  noisyCount: number;
  /** Steps skipped for NaN/Inf over the whole run. */
  skippedSteps: number;
  /** Stopped early by `shouldStop` (a checkpoint was written when checkpointing is on). */
  interrupted: boolean;
  /** The last completed epoch's test loss is not finite (NaN/Inf): the run diverged (result.ts `metrics.diverged`). */
  diverged: boolean;
  /** The last checkpoint written (or resumed from), if any. */
  checkpoint: string | null;
  /** Wall time of the run (resumed runs include the time before the checkpoint). */
  seconds: number;
  /** Of which inside the training steps (batch assembly, the step and its reads); evaluation and checkpoints excluded. */
  trainSeconds: number;
  /** The model's name ("mlp 784-256-10"). */
  model: string;
};

/**
 * What a measurement hook gets: borrowed trees, an eval-mode loss, fixed training points.
 *
 * @inline
 */
export type MeasureContext = {
  /** The model's parameters (borrowed: `tree.ref` what you pass on; the model state is inside `loss`). */
  params: Params;
  /** Mean cross-entropy in eval mode (BatchNorm on running statistics); consumes its arguments. */
  loss: (params: any, batch: { x: np.Array; y: np.Array }) => np.Array;
  /** 512 fixed training points (seeded), labels as trained on; borrowed. */
  points: { x: np.Array; y: np.Array };
  /** The epoch just completed. */
  epoch: number;
};

/** Where a run is, after a step ({@link TrainHooks.onStep}). */
export type ProgressEvent = {
  /** The current epoch, 1-based. */
  epoch: number;
  /** Epochs in the run. */
  epochs: number;
  /** The step within the epoch, 1-based. */
  step: number;
  /** Steps per epoch. */
  steps: number;
  /** This step's training loss (clean pass). */
  loss: number;
};

/**
 * Hooks and options of {@link train}: checkpointing and resuming, stopping, measurements every
 * few epochs, and progress callbacks. All optional.
 *
 * @example
 * ```ts
 * let stop = false;
 * process.once("SIGINT", () => (stop = true));
 * await train(spec, ds, { checkpointDir: "runs/x/checkpoints", checkpointEvery: 500, shouldStop: () => stop, onEpoch: (r) => console.log(r.epoch, r.testAccuracy) });
 * ```
 */
export interface TrainHooks {
  /** Write a checkpoint under this directory every `checkpointEvery` steps and at the end. */
  checkpointDir?: string;
  /** Steps between checkpoints (default: only at the end and on a stop). */
  checkpointEvery?: number;
  /** Continue from this checkpoint directory (its spec must be this run's: same key). */
  resumeFrom?: string;
  /** Polled after every step; true stops the run after writing a checkpoint. */
  shouldStop?: () => boolean;
  /** Every `measureEvery` epochs, `measure` gets the model (borrowed) and records numbers. */
  measureEvery?: number;
  /** The measurement: numbers by name, recorded in the epoch's `measures`. */
  measure?: (ctx: MeasureContext) => Promise<Record<string, number>>;
  /** After each step (at most every few ms is sensible for a bar). */
  onStep?: (e: ProgressEvent) => void;
  /** After each epoch's evaluation. */
  onEpoch?: (r: EpochRecord) => void;
}

const EVAL_BATCH = 1000;

/**
 * Give the event loop a turn. Without worker threads every await in the loop resolves as a
 * microtask, so signals (SIGINT), timers and progress output would wait for the run to end.
 */
const yieldToEventLoop: () => Promise<void> =
  typeof setImmediate === "function" ? () => new Promise((r) => setImmediate(r)) : () => new Promise((r) => setTimeout(r, 0));

/**
 * Train one run on a loaded data set. `spec` is a run spec (train/spec.ts); missing fields
 * take their defaults (throws `SpecError` on a bad one). Does not consume anything; returns the
 * history and the filled spec. Needs {@link initEngine} first.
 *
 * @example
 * ```ts
 * await initEngine();
 * const ds = loadMnist();
 * const result = await train({ data: { name: "mnist", trainSize: 1000 }, epochs: 3,
 *   optimizer: { name: "sam", rho: 0.05, base: { name: "sgd", lr: 0.1, momentum: 0.9 } } }, ds);
 * ```
 */
export async function train(spec: unknown, full: ImageDataset, hooks: TrainHooks = {}): Promise<TrainResult> {
  const c = fillSpec(spec);
  const key = runKey(c);
  const t0 = performance.now();
  const ds = subsetTrain(full, c.data.trainSize, c.seed);
  const noise = symmetricLabelNoise(ds.trainY, c.data.labelNoise, ds.numClasses, c.seed);
  const model = buildModel(c.model, ds.inputDim, ds.numClasses);
  const trainN = noise.given.length;
  const stepsPerEpoch = Math.floor(trainN / c.batchSize);
  const opt = buildOptimizer(c, { stepsPerEpoch, totalSteps: stepsPerEpoch * c.epochs, seed: c.seed });
  const ascentBatch = (c.optimizer.ascentBatch as string | undefined) ?? "same";
  const fullGradEvery = (c.optimizer.fullGradEvery as number | undefined) ?? 1;
  const fullGradSize = (c.optimizer.fullGradSize as number | undefined) ?? 0;
  const ascentBatchSize = (c.optimizer.ascentBatchSize as number | null | undefined) ?? null;
  const validationSize = c.data.validationSize ?? 0;
  const val = validationSize > 0 ? validationSplit(full, c.data.trainSize, validationSize, c.seed) : null;
  const valLabels = val ? symmetricLabelNoise(val.y, c.data.labelNoise, ds.numClasses, c.seed, 6).given : null;
  const loss = classificationLoss(model);

  // Position: the next step to take. Resuming replaces it and the trees.
  let epoch0 = 1;
  let step0 = 0;
  let t = 0;
  let lossSum = 0;
  let skippedInEpoch = 0;
  let skippedTotal = 0;
  // Telemetry sums and counts over the epoch's finite steps (host numbers: they go into checkpoints).
  const telemetryOn = c.telemetry === true;
  let telSum = TELEMETRY_KEYS.map(() => 0);
  let telCount = TELEMETRY_KEYS.map(() => 0);
  let elapsedBefore = 0;
  // Seconds inside the training steps (batches, the step, its reads): the cost that equal-time comparisons budget.
  let trainSeconds = 0;
  let history: EpochRecord[] = [];
  const ascentRng = rng(c.seed, 3);
  /** `batch` plus random other training examples (drawn by the ascent stream), `size` in all. */
  const widen = (batch: Int32Array, size: number): Int32Array => {
    const inBatch = new Set(batch);
    const out = new Int32Array(size);
    out.set(batch);
    let k = batch.length;
    for (const i of permutation(ascentRng, trainN)) {
      if (k === size) break;
      if (!inBatch.has(i)) out[k++] = i;
    }
    return out;
  };

  let { params, state: modelState } = model.init(c.seed);
  let optState = opt.init(tree.ref(params));
  let fullGrad: Params | null = null;
  let lastCheckpoint: string | null = null;
  // SAF's memory of past logits (an optimizer whose steps return logits for a teacher memory).
  const memory = opt.logitsTerm?.returnsLogits ? new SafMemory(trainN, ds.numClasses, (c.optimizer.minusEpoch as number | undefined) ?? 3) : null;
  if (hooks.resumeFrom) {
    const meta = readCheckpointMeta(hooks.resumeFrom);
    if (meta.key !== key) throw new CheckpointError(`checkpoint ${hooks.resumeFrom} was written for another run (key ${meta.key}, this run ${key}); resume with its own spec (trainer.json "spec")`);
    const templates: Record<string, Params | undefined> = { params, model_state: modelState, optimizer: optState };
    if (meta.hasFullGrad) templates.full_grad = params ? tree.map((x: np.Array) => np.zerosLike(x), tree.ref(params)) : undefined;
    if (memory) templates.saf_memory = np.zeros(memory.shape);
    const trees = readCheckpointTrees(hooks.resumeFrom, templates);
    params = trees.params;
    modelState = trees.model_state;
    optState = trees.optimizer;
    fullGrad = trees.full_grad ?? null;
    if (memory) memory.load((await (trees.saf_memory as np.Array).data()) as Float32Array);
    ({ epoch: epoch0, stepInEpoch: step0, t, lossSum, skippedInEpoch, skippedTotal } = meta.position);
    if (meta.position.telemetry) ({ sums: telSum, counts: telCount } = meta.position.telemetry);
    history = meta.history;
    elapsedBefore = meta.elapsedSeconds;
    trainSeconds = meta.trainSeconds ?? 0;
    ascentRng.setState(meta.ascentRngState);
    lastCheckpoint = hooks.resumeFrom;
  }

  const trainSet = upload(ds.trainX, noise.given, ds.inputDim);
  const testSet = upload(ds.testX, ds.testY, ds.inputDim);
  const valSet = val ? upload(val.x, valLabels!, ds.inputDim) : null;
  const step = phasedStep(opt, loss, { hasAux: true, auxFrom: c.optimizer.bnStats === "perturbed" ? "perturbed" : "clean", telemetry: telemetryOn, perExampleLoss: classificationLossPerExample(model), lossWithLogits: classificationLossWithLogits(model) });
  // Mean gradient over a chunk, weighted by its size, for the full-gradient oracle.
  const chunkGrad = jit((p: any, ms: any, x: np.Array, y: np.Array) => {
    const n = x.shape[0];
    const g = grad((q: any) => loss(q, { x: x.ref, y: y.ref, state: tree.ref(ms) })[0])(p);
    tree.dispose([ms, x, y]);
    return tree.map((v: np.Array) => v.mul(n), g);
  });
  const fullIdx = opt.needsFullGrad ? permutation(rng(c.seed, 4), trainN).slice(0, Math.min(fullGradSize, trainN)) : null;
  async function refreshFullGrad(): Promise<void> {
    if (fullGrad) tree.dispose(fullGrad);
    fullGrad = meanOverRows(trainSet, fullIdx!, (x, y) => chunkGrad(tree.ref(params), tree.ref(modelState), x, y) as Params, EVAL_BATCH);
    await blockUntilReady(fullGrad);
  }
  // Per-example [loss, correct] in eval mode (BatchNorm on running statistics).
  const evaluate = jit((p: any, ms: any, x: np.Array, y: np.Array) => {
    const [logits, ms2] = model.apply(p, ms, x, false);
    tree.dispose(ms2);
    const correct = np.equal(np.argmax(logits.ref, -1), y.ref).astype(np.float32);
    const l = crossEntropy(logits, y).mul(correct.shape[0]);
    return [l, correct];
  });

  async function measure(set: DeviceSet): Promise<{ loss: number; correct: Float32Array }> {
    let sum = 0;
    const correct = new Float32Array(set.n);
    for (const idx of evalBatches(set.n, EVAL_BATCH)) {
      const b = take(set, idx);
      const [l, cor] = evaluate(tree.ref(params), tree.ref(modelState), b.x, b.y) as [np.Array, np.Array];
      sum += (await l.data())[0];
      correct.set(await cor.data(), idx[0]);
    }
    return { loss: sum / set.n, correct };
  }

  const seconds = () => elapsedBefore + (performance.now() - t0) / 1000;
  async function checkpoint(epoch: number, stepInEpoch: number): Promise<void> {
    if (!hooks.checkpointDir) return;
    const memoryArray = memory ? np.array(memory.data).reshape(memory.shape) : undefined;
    try {
      lastCheckpoint = await writeCheckpoint(hooks.checkpointDir, t, {
        weights: { params, model_state: modelState },
        state: { optimizer: optState, full_grad: fullGrad ?? undefined, saf_memory: memoryArray },
        meta: {
          spec: c,
          key,
          position: { epoch, stepInEpoch, t, lossSum, skippedInEpoch, skippedTotal, ...(telemetryOn ? { telemetry: { sums: telSum, counts: telCount } } : {}) },
          history,
          ascentRngState: ascentRng.getState(),
          elapsedSeconds: seconds(),
          trainSeconds,
          hasFullGrad: fullGrad !== null,
        },
      });
    } finally {
      memoryArray?.dispose();
    }
  }

  let interrupted = false;
  try {
    for (let epoch = epoch0; epoch <= c.epochs && !interrupted; epoch++) {
      const batches = epochBatches(trainSet.n, c.batchSize, c.seed, epoch);
      const first = epoch === epoch0 ? step0 : 0;
      if (first === 0) {
        lossSum = 0;
        skippedInEpoch = 0;
        telSum = TELEMETRY_KEYS.map(() => 0);
        telCount = TELEMETRY_KEYS.map(() => 0);
      }
      for (let s = first; s < batches.length; s++) {
        const stepStart = performance.now();
        const b = take(trainSet, batches[s]);
        const inputs: { ascentBatch?: unknown; fullGrad?: Params; teacher?: np.Array } = {};
        // SAF: the batch's logits minusEpoch epochs earlier, on the steps with the term.
        if (memory && opt.logitsTerm!.needsTeacher(t)) inputs.teacher = np.array(memory.teacher(batches[s], epoch)).reshape([batches[s].length, memory.classes]);
        if (ascentBatchSize !== null) {
          // 003 Fig 2c: B ⊆ B' (larger: the batch plus random others) or B' ⊆ B (the first ones).
          const idx = ascentBatchSize <= batches[s].length ? batches[s].subarray(0, ascentBatchSize) : widen(batches[s], ascentBatchSize);
          const a = take(trainSet, idx);
          inputs.ascentBatch = { x: a.x, y: a.y, state: tree.ref(modelState) };
        } else if (ascentBatch !== "same") {
          const prevIdx = s > 0 ? batches[s - 1] : epoch > 1 ? epochBatches(trainSet.n, c.batchSize, c.seed, epoch - 1).at(-1)! : batches[s];
          const idx = ascentBatch === "previous" ? prevIdx : permutation(ascentRng, trainSet.n).subarray(0, c.batchSize);
          const a = take(trainSet, idx);
          inputs.ascentBatch = { x: a.x, y: a.y, state: tree.ref(modelState) };
        }
        if (fullIdx) {
          if (t % fullGradEvery === 0 || !fullGrad) await refreshFullGrad();
          inputs.fullGrad = tree.ref(fullGrad!);
        }
        const prevModelState = tree.ref(modelState);
        let out: any;
        try {
          out = step(params, optState, { x: b.x, y: b.y, state: modelState }, t, inputs);
        } catch (e) {
          if (e instanceof NonFiniteError && e.output) {
            // "error" policy: keep the unchanged state, checkpoint it, then report.
            const o = e.output;
            params = o.params;
            optState = o.state;
            tree.dispose([o.loss, o.finite, o.aux, o.telemetry, o.logits]);
            modelState = prevModelState;
            await checkpoint(epoch, s);
            e.message = `epoch ${epoch}, ${e.message}`;
          }
          throw e;
        }
        params = out.params;
        optState = out.state;
        modelState = treeSelect(out.finite, out.aux, prevModelState);
        await blockUntilReady([params, optState, modelState]);
        const ok = (await (out.finite as np.Array).data())[0];
        const l = (await (out.loss as np.Array).data())[0];
        if (out.logits) {
          // SAF: record this batch's logits at w (a skipped step records nothing).
          const z = (await (out.logits as np.Array).data()) as Float32Array;
          if (ok && memory) memory.record(batches[s], epoch, z);
        }
        if (out.telemetry) {
          // One read for the six scalars.
          const v = await np.stack(TELEMETRY_KEYS.map((k) => out.telemetry[k])).data();
          if (ok)
            TELEMETRY_KEYS.forEach((_, i) => {
              if (Number.isFinite(v[i])) {
                telSum[i] += v[i];
                telCount[i]++;
              }
            });
        }
        t++;
        trainSeconds += (performance.now() - stepStart) / 1000;
        if (ok) lossSum += l;
        else {
          skippedInEpoch++;
          skippedTotal++;
        }
        hooks.onStep?.({ epoch, epochs: c.epochs, step: s + 1, steps: batches.length, loss: l });
        await yieldToEventLoop();
        const stop = hooks.shouldStop?.() ?? false;
        if (stop || (hooks.checkpointEvery && t % hooks.checkpointEvery === 0)) await checkpoint(epoch, s + 1);
        if (stop) {
          interrupted = true;
          break;
        }
      }
      if (interrupted) break;
      const test = await measure(testSet);
      const tr = await measure(trainSet);
      const va = valSet ? await measure(valSet) : null;
      let acc = 0;
      let clean = 0;
      let noisyHit = 0;
      for (let i = 0; i < trainSet.n; i++) {
        acc += tr.correct[i];
        if (noise.noisy[i]) noisyHit += tr.correct[i];
        else clean += tr.correct[i];
      }
      const counted = batches.length - skippedInEpoch;
      const rec: EpochRecord = {
        epoch,
        trainLoss: counted > 0 ? lossSum / counted : NaN,
        testLoss: test.loss,
        testAccuracy: test.correct.reduce((a, v) => a + v, 0) / testSet.n,
        trainAccuracy: acc / trainSet.n,
        cleanTrainAccuracy: clean / Math.max(1, trainSet.n - noise.count),
        noisyTrainAccuracy: noise.count > 0 ? noisyHit / noise.count : null,
        ...(va ? { validationLoss: va.loss, validationAccuracy: va.correct.reduce((a, v) => a + v, 0) / valSet!.n } : {}),
        skippedSteps: skippedInEpoch,
        ...(telemetryOn ? { telemetry: Object.fromEntries(TELEMETRY_KEYS.map((k, i) => [k, telCount[i] > 0 ? telSum[i] / telCount[i] : null])) as Record<TelemetryKey, number | null> } : {}),
        seconds: seconds(),
        trainSeconds,
      };
      if (hooks.measure && hooks.measureEvery && epoch % hooks.measureEvery === 0) {
        const idx = permutation(rng(c.seed, 8), trainSet.n).subarray(0, Math.min(512, trainSet.n));
        const points = take(trainSet, idx);
        const evalLoss = (p: any, b: { x: np.Array; y: np.Array }) => {
          const [z, s2] = model.apply(p, tree.ref(modelState), b.x, false);
          tree.dispose(s2);
          return crossEntropy(z, b.y);
        };
        try {
          rec.measures = await hooks.measure({ params, loss: evalLoss, points, epoch });
        } finally {
          tree.dispose(points);
        }
      }
      history.push(rec);
      hooks.onEpoch?.(rec);
    }
    if (!interrupted) await checkpoint(c.epochs + 1, 0);
  } finally {
    tree.dispose([params, optState, modelState]);
    if (fullGrad) tree.dispose(fullGrad);
    disposeDeviceSet(trainSet);
    disposeDeviceSet(testSet);
    if (valSet) disposeDeviceSet(valSet);
    step.dispose();
    evaluate.dispose();
    chunkGrad.dispose();
  }
  return {
    spec: c,
    key,
    history,
    stepsPerEpoch,
    noisyCount: noise.count,
    skippedSteps: skippedTotal,
    interrupted,
    diverged: history.length > 0 && !Number.isFinite(history[history.length - 1].testLoss),
    checkpoint: lastCheckpoint,
    seconds: seconds(),
    trainSeconds,
    model: model.name,
  };
}
