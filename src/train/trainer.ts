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
 */
import "../engine/polyfills.js";
import { blockUntilReady, grad, jit, numpy as np, tree } from "@jax-js/jax";
import { classificationLoss, crossEntropy } from "../models/loss.js";
import { disposeDeviceSet, epochBatches, evalBatches, take, upload, type DeviceSet } from "../data/batches.js";
import { subsetTrain, symmetricLabelNoise } from "../data/prepare.js";
import type { ImageDataset } from "../data/types.js";
import { buildModel, buildOptimizer } from "./build.js";
import { phasedStep } from "../sam/core.js";
import { permutation, rng } from "../engine/prng.js";
import type { Params } from "../engine/tree.js";
import { validateConfig, type TrainConfig } from "./config.js";

export type EpochRecord = {
  epoch: number;
  /** Mean training loss (clean pass, given labels) over the epoch's steps. */
  trainLoss: number;
  testLoss: number;
  testAccuracy: number;
  /** Accuracy on the training set against the given labels. */
  trainAccuracy: number;
  /** Accuracy on the clean-label subset of the training set. */
  cleanTrainAccuracy: number;
  /** Accuracy on the noisy-label subset against the given (wrong) labels; null without noise. */
  noisyTrainAccuracy: number | null;
  /** Seconds since training started. */
  seconds: number;
};

export type TrainResult = {
  config: TrainConfig;
  history: EpochRecord[];
  /** Steps per epoch (full batches). */
  stepsPerEpoch: number;
  /** Number of noisy training labels. */
  noisyCount: number;
  /** Training stopped on a non-finite loss (then the parameters were discarded). */
  diverged: { epoch: number; step: number } | null;
  seconds: number;
  model: string;
};

export type ProgressEvent = { epoch: number; epochs: number; step: number; steps: number; loss: number };

export interface TrainHooks {
  /** After each step (at most every few ms is sensible for a bar). */
  onStep?: (e: ProgressEvent) => void;
  /** After each epoch's evaluation. */
  onEpoch?: (r: EpochRecord) => void;
}

const EVAL_BATCH = 1000;

/**
 * Train one configuration on a loaded data set.
 *
 * @example
 * const ds = loadFashionMnist();
 * const result = await train({ ...DEFAULTS, optimizer: "sam", epochs: 3 }, ds);
 */
export async function train(config: TrainConfig, full: ImageDataset, hooks: TrainHooks = {}): Promise<TrainResult> {
  validateConfig(config);
  const t0 = performance.now();
  const c = config;
  const ds = subsetTrain(full, c.trainSize, c.seed);
  const noise = symmetricLabelNoise(ds.trainY, c.labelNoise, ds.numClasses, c.seed);
  const model = buildModel(c, ds.inputDim, ds.numClasses);
  const trainN = noise.given.length;
  const stepsPerEpoch = Math.floor(trainN / c.batchSize);
  const opt = buildOptimizer(c, { stepsPerEpoch, totalSteps: stepsPerEpoch * c.epochs });
  const loss = classificationLoss(model);

  const trainSet = upload(ds.trainX, noise.given, ds.inputDim);
  const testSet = upload(ds.testX, ds.testY, ds.inputDim);
  let { params, state: modelState } = model.init(c.seed);
  let optState = opt.init(tree.ref(params));

  const step = phasedStep(opt, loss, { hasAux: true });
  // Mean gradient over a chunk, weighted by its size, for the full-gradient oracle.
  const chunkGrad = jit((p: any, ms: any, x: np.Array, y: np.Array) => {
    const n = x.shape[0];
    const g = grad((q: any) => loss(q, { x: x.ref, y: y.ref, state: tree.ref(ms) })[0])(p);
    tree.dispose([ms, x, y]);
    return tree.map((v: np.Array) => v.mul(n), g);
  });
  const fullIdx = opt.needsFullGrad ? permutation(rng(c.seed, 4), trainN).slice(0, Math.min(c.fullGradSize, trainN)) : null;
  let fullGrad: Params | null = null;
  async function refreshFullGrad(): Promise<void> {
    if (fullGrad) tree.dispose(fullGrad);
    let acc: Params | null = null;
    for (let i = 0; i < fullIdx!.length; i += EVAL_BATCH) {
      const b = take(trainSet, fullIdx!.subarray(i, i + EVAL_BATCH));
      const g = chunkGrad(tree.ref(params), tree.ref(modelState), b.x, b.y) as Params;
      acc = acc === null ? g : (tree.map((u: np.Array, v: np.Array) => u.add(v), acc, g) as Params);
    }
    fullGrad = tree.map((v: np.Array) => v.mul(1 / fullIdx!.length), acc!) as Params;
    await blockUntilReady(fullGrad);
  }
  const ascentRng = rng(c.seed, 3);
  let previous: Int32Array | null = null;
  // Per-example [loss, correct] in eval mode (BatchNorm on running statistics).
  const evaluate = jit((p: any, ms: any, x: np.Array, y: np.Array) => {
    const [logits, ms2] = model.apply(p, ms, x, false);
    tree.dispose(ms2);
    const correct = np.equal(np.argmax(logits.ref, -1), y.ref).astype(np.float32);
    const l = crossEntropy(logits, y).mul(correct.shape[0]);
    return [l, correct];
  });

  async function measure(set: DeviceSet): Promise<{ loss: number; correct: Float32Array }> {
    let lossSum = 0;
    const correct = new Float32Array(set.n);
    for (const idx of evalBatches(set.n, EVAL_BATCH)) {
      const b = take(set, idx);
      const [l, cor] = evaluate(tree.ref(params), tree.ref(modelState), b.x, b.y) as [np.Array, np.Array];
      lossSum += (await l.data())[0];
      correct.set(await cor.data(), idx[0]);
    }
    return { loss: lossSum / set.n, correct };
  }

  const history: EpochRecord[] = [];
  let diverged: TrainResult["diverged"] = null;
  let t = 0;
  try {
    for (let epoch = 1; epoch <= c.epochs && !diverged; epoch++) {
      let lossSum = 0;
      const batches = epochBatches(trainSet.n, c.batchSize, c.seed, epoch);
      for (let s = 0; s < batches.length; s++, t++) {
        const b = take(trainSet, batches[s]);
        const inputs: { ascentBatch?: unknown; fullGrad?: Params } = {};
        if (c.ascentBatch !== "same") {
          const idx = c.ascentBatch === "previous" ? (previous ?? batches[s]) : permutation(ascentRng, trainSet.n).subarray(0, c.batchSize);
          const a = take(trainSet, idx);
          inputs.ascentBatch = { x: a.x, y: a.y, state: tree.ref(modelState) };
          previous = batches[s];
        }
        if (fullIdx) {
          if (t % c.fullGradEvery === 0) await refreshFullGrad();
          inputs.fullGrad = tree.ref(fullGrad!);
        }
        const out = step(params, optState, { x: b.x, y: b.y, state: modelState }, t, inputs) as any;
        params = out.params;
        optState = out.state;
        modelState = out.aux;
        await blockUntilReady([params, optState, modelState]);
        const l = (await (out.loss as np.Array).data())[0];
        if (!Number.isFinite(l)) {
          diverged = { epoch, step: s + 1 };
          break;
        }
        lossSum += l;
        hooks.onStep?.({ epoch, epochs: c.epochs, step: s + 1, steps: batches.length, loss: l });
      }
      if (diverged) break;
      const test = await measure(testSet);
      const tr = await measure(trainSet);
      let acc = 0;
      let clean = 0;
      let noisyHit = 0;
      for (let i = 0; i < trainSet.n; i++) {
        acc += tr.correct[i];
        if (noise.noisy[i]) noisyHit += tr.correct[i];
        else clean += tr.correct[i];
      }
      const testAcc = test.correct.reduce((s, v) => s + v, 0) / testSet.n;
      const rec: EpochRecord = {
        epoch,
        trainLoss: lossSum / batches.length,
        testLoss: test.loss,
        testAccuracy: testAcc,
        trainAccuracy: acc / trainSet.n,
        cleanTrainAccuracy: clean / Math.max(1, trainSet.n - noise.count),
        noisyTrainAccuracy: noise.count > 0 ? noisyHit / noise.count : null,
        seconds: (performance.now() - t0) / 1000,
      };
      history.push(rec);
      hooks.onEpoch?.(rec);
    }
  } finally {
    tree.dispose([params, optState, modelState]);
    if (fullGrad) tree.dispose(fullGrad);
    disposeDeviceSet(trainSet);
    disposeDeviceSet(testSet);
    step.dispose();
    evaluate.dispose();
    chunkGrad.dispose();
  }
  return {
    config: c,
    history,
    stepsPerEpoch,
    noisyCount: noise.count,
    diverged,
    seconds: (performance.now() - t0) / 1000,
    model: model.name,
  };
}
