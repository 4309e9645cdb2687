/**
 * A trained model back from a `sharpness train` checkpoint, with the losses the instruments
 * need: the model in evaluation mode (BatchNorm on running statistics), cross-entropy on the
 * labels the run trained on, and a fixed, seeded set of training points. Node-only.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import type { Params } from "../engine/tree.js";
import { CheckpointError, findLatest, readCheckpointMeta, readCheckpointTrees } from "../train/checkpoint.js";
import { fillSpec, type RunSpec } from "../train/spec.js";
import { buildModel } from "../train/build.js";
import { loadFashionMnist } from "../data/fashion-mnist.js";
import { loadMnist } from "../data/mnist.js";
import { subsetTrain, symmetricLabelNoise } from "../data/prepare.js";
import { permutation, rng } from "../engine/prng.js";
import { crossEntropy } from "../models/loss.js";
import type { Model } from "../models/types.js";
import type { ImageDataset } from "../data/types.js";

export type Batch = { x: np.Array; y: np.Array };

export type LoadedRun = {
  dir: string;
  spec: RunSpec;
  model: Model<any, any>;
  params: Params;
  modelState: Params;
  data: ImageDataset;
  /** Labels the run trained on (noisy where it had label noise). */
  givenLabels: Int32Array;
  /** Mean cross-entropy in eval mode; consumes params and batch. */
  loss: (params: any, batch: Batch) => np.Array;
  /** Correct predictions (count) in eval mode; consumes params and batch. */
  correct: (params: any, batch: Batch) => np.Array;
};

/** `dir` may be a run's output directory (its latest checkpoint is used) or a checkpoint. */
export function resolveCheckpoint(dir: string): string {
  if (existsSync(join(dir, "trainer.json"))) return dir;
  const found = findLatest(join(dir, "checkpoints"));
  if (!found) throw new CheckpointError(`${dir}: no checkpoint here or under ${join(dir, "checkpoints")}`);
  return found;
}

/** Load model, weights and data of a run; `data` may be passed to avoid reloading. */
export function loadRun(dir: string, data?: ImageDataset): LoadedRun {
  const ck = resolveCheckpoint(dir);
  const spec = fillSpec(readCheckpointMeta(ck).spec);
  const full = data ?? (spec.data.name === "mnist" ? loadMnist() : loadFashionMnist());
  const ds = subsetTrain(full, spec.data.trainSize, spec.seed);
  const noise = symmetricLabelNoise(ds.trainY, spec.data.labelNoise, ds.numClasses, spec.seed);
  const model = buildModel(spec.model, ds.inputDim, ds.numClasses);
  const fresh = model.init(spec.seed);
  const trees = readCheckpointTrees(ck, { params: fresh.params, model_state: fresh.state }, { weightsOnly: true });
  const modelState = trees.model_state;
  const logits = (p: any, x: np.Array) => {
    const [z, s2] = model.apply(p, tree.ref(modelState), x, false);
    tree.dispose(s2);
    return z;
  };
  return {
    dir: ck,
    spec,
    model,
    params: trees.params,
    modelState,
    data: ds,
    givenLabels: noise.given,
    loss: (p, b) => crossEntropy(logits(p, b.x), b.y),
    correct: (p, b) => np.sum(np.equal(np.argmax(logits(p, b.x), -1), b.y).astype(np.float32)),
  };
}

/** A fixed, seeded set of `n` training points of the run as device arrays (given labels). */
export function trainingPoints(run: LoadedRun, n: number, seed = 0): Batch {
  const N = run.givenLabels.length;
  const idx = permutation(rng(seed, 7), N).slice(0, Math.min(n, N));
  const d = run.data.inputDim;
  const x = new Float32Array(idx.length * d);
  const y = new Int32Array(idx.length);
  idx.forEach((i, k) => {
    x.set(run.data.trainX.subarray(i * d, (i + 1) * d), k * d);
    y[k] = run.givenLabels[i];
  });
  return { x: np.array(x).reshape([idx.length, d]), y: np.array(y, { dtype: np.int32 }) };
}

/** The test set as device arrays. */
export function testSet(run: LoadedRun): Batch {
  const n = run.data.testY.length;
  return { x: np.array(run.data.testX).reshape([n, run.data.inputDim]), y: np.array(run.data.testY, { dtype: np.int32 }) };
}

/** Split a batch (borrowed) into consecutive batches of m (the last partial one dropped). */
export function splitBatch(b: Batch, m: number): Batch[] {
  const n = b.x.shape[0];
  const out: Batch[] = [];
  for (let i = 0; i + m <= n; i += m) out.push({ x: b.x.ref.slice([i, i + m]), y: b.y.ref.slice([i, i + m]) });
  return out;
}
