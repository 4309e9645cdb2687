/**
 * Preparing a data set for an experiment: a stratified training subset and symmetric label
 * noise, both fixed by the seed. Host-side, no `node:` imports.
 */
import { permutation, randInt, rng } from "../engine/prng.js";
import type { ImageDataset, NoisyLabels } from "./types.js";
import { DataError } from "./errors.js";

/**
 * A stratified subset of `size` training examples: each class contributes ⌊size/K⌋ examples
 * (the first size mod K classes one more), drawn without replacement by the seed. The test
 * set is unchanged. `size` equal to the training set's returns it whole; a larger one is a
 * DataError (never clamped: the spec would then say one size and the run use another).
 *
 * @example
 * ```ts
 * const small = subsetTrain(loadFashionMnist(), 5000, 0); // 500 per class
 * ```
 */
export function subsetTrain(ds: ImageDataset, size: number, seed: number): ImageDataset {
  if (!Number.isInteger(size) || size < ds.numClasses) throw new DataError(`train size must be an integer ≥ ${ds.numClasses} (got ${size})`);
  if (size > ds.trainY.length) throw new DataError(`train size must be an integer in [${ds.numClasses}, ${ds.trainY.length}]: ${ds.name} has ${ds.trainY.length} training images (got ${size})`);
  if (size === ds.trainY.length) return ds;
  const { trainX, trainY } = gather(ds, subsetIndices(ds, size, seed));
  return { ...ds, trainX, trainY };
}

/**
 * A validation split of `size` examples carved from the training pool *outside* the training
 * subset of `subsetTrain(ds, trainSize, seed)` (so the training set is the same with or without
 * it, and the test set is never touched): stratified like the subset, drawn by the seed from
 * the examples left per class. Labels are the clean ones; `symmetricLabelNoise(…, stream 6)`
 * gives them the training set's noise.
 */
export function validationSplit(ds: ImageDataset, trainSize: number, size: number, seed: number): { x: Float32Array; y: Int32Array } {
  const n = ds.trainY.length;
  if (!Number.isInteger(size) || size < ds.numClasses) throw new DataError(`validation size must be an integer ≥ ${ds.numClasses} (got ${size})`);
  if (trainSize + size > n) throw new DataError(`train size ${trainSize} + validation size ${size} is more than the ${n} training examples`);
  const taken = new Uint8Array(n);
  for (const i of subsetIndices(ds, trainSize, seed)) taken[i] = 1;
  const left = { ...ds, trainY: ds.trainY.map((c, i) => (taken[i] ? -1 : c)) as Int32Array };
  const { trainX: x, trainY: y } = gather(ds, subsetIndices(left, size, seed, 5));
  return { x, y };
}

/** Indices (sorted) of a stratified draw of `size` examples; labels < 0 are not drawn. */
function subsetIndices(ds: ImageDataset, size: number, seed: number, stream = 1): number[] {
  const K = ds.numClasses;
  if (size >= ds.trainY.length) return Array.from(ds.trainY.keys());
  const byClass: number[][] = Array.from({ length: K }, () => []);
  ds.trainY.forEach((c, i) => c >= 0 && byClass[c].push(i));
  const r = rng(seed, stream);
  const chosen: number[] = [];
  byClass.forEach((idx, c) => {
    const want = Math.floor(size / K) + (c < size % K ? 1 : 0);
    if (want > idx.length) throw new DataError(`${stream === 1 ? "train" : "validation"} size ${size}: class ${c} has only ${idx.length} examples${stream === 1 ? "" : " left"}`);
    const p = permutation(r, idx.length);
    for (let k = 0; k < want; k++) chosen.push(idx[p[k]]);
  });
  return chosen.sort((a, b) => a - b);
}

function gather(ds: ImageDataset, idx: number[]): { trainX: Float32Array; trainY: Int32Array } {
  const d = ds.inputDim;
  const trainX = new Float32Array(idx.length * d);
  const trainY = new Int32Array(idx.length);
  idx.forEach((i, k) => {
    trainX.set(ds.trainX.subarray(i * d, (i + 1) * d), k * d);
    trainY[k] = ds.trainY[i];
  });
  return { trainX, trainY };
}

/**
 * Symmetric label noise: exactly round(rate·n) training examples, chosen by the seed, get a
 * label drawn uniformly from the *other* K − 1 classes (so every chosen label is wrong).
 * Test labels stay clean. Returns the given labels and the mask of noisy examples. `stream`
 * picks the seed's random stream (2: the training labels; 6: a validation split's).
 *
 * @example
 * ```ts
 * const { given, noisy, count } = symmetricLabelNoise(small.trainY, 0.6, 10, 0); // count = 3000
 * ```
 */
export function symmetricLabelNoise(labels: Int32Array, rate: number, numClasses: number, seed: number, stream = 2): NoisyLabels {
  if (!(rate >= 0 && rate < 1)) throw new DataError(`label noise must be in [0, 1) (got ${rate})`);
  const n = labels.length;
  const count = Math.round(rate * n);
  const r = rng(seed, stream);
  const order = permutation(r, n);
  const given = Int32Array.from(labels);
  const noisy = new Uint8Array(n);
  for (let k = 0; k < count; k++) {
    const i = order[k];
    given[i] = (labels[i] + 1 + randInt(r, numClasses - 1)) % numClasses;
    noisy[i] = 1;
  }
  return { given, noisy, count };
}
