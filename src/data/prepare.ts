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
 * set is unchanged. `size` ≥ the training set returns it whole.
 */
export function subsetTrain(ds: ImageDataset, size: number, seed: number): ImageDataset {
  const n = ds.trainY.length;
  if (!Number.isInteger(size) || size < ds.numClasses) throw new DataError(`train size must be an integer ≥ ${ds.numClasses} (got ${size})`);
  if (size >= n) return ds;
  const K = ds.numClasses;
  const byClass: number[][] = Array.from({ length: K }, () => []);
  ds.trainY.forEach((c, i) => byClass[c].push(i));
  const r = rng(seed, 1);
  const chosen: number[] = [];
  byClass.forEach((idx, c) => {
    const want = Math.floor(size / K) + (c < size % K ? 1 : 0);
    if (want > idx.length) throw new DataError(`train size ${size}: class ${c} has only ${idx.length} examples`);
    const p = permutation(r, idx.length);
    for (let k = 0; k < want; k++) chosen.push(idx[p[k]]);
  });
  chosen.sort((a, b) => a - b);
  const d = ds.inputDim;
  const trainX = new Float32Array(chosen.length * d);
  const trainY = new Int32Array(chosen.length);
  chosen.forEach((i, k) => {
    trainX.set(ds.trainX.subarray(i * d, (i + 1) * d), k * d);
    trainY[k] = ds.trainY[i];
  });
  return { ...ds, trainX, trainY };
}

/**
 * Symmetric label noise: exactly round(rate·n) training examples, chosen by the seed, get a
 * label drawn uniformly from the *other* K − 1 classes (so every chosen label is wrong).
 * Test labels stay clean. Returns the given labels and the mask of noisy examples.
 */
export function symmetricLabelNoise(labels: Int32Array, rate: number, numClasses: number, seed: number): NoisyLabels {
  if (!(rate >= 0 && rate < 1)) throw new DataError(`label noise must be in [0, 1) (got ${rate})`);
  const n = labels.length;
  const count = Math.round(rate * n);
  const r = rng(seed, 2);
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
