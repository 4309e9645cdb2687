/**
 * What the bundled data sets hold, known without loading them: the number of training images
 * per class (fashion-mnist: our split's 6,000 per class; mnist: the official training set's
 * counts), so that a run spec asking for more than a data set has is refused when it is checked
 * (spec.ts), before anything is loaded — never clamped. A clamped size would make the spec (and
 * its key) say one thing and the run do another. The loaders' own checks (prepare.ts) stay as
 * the backstop; a test compares these numbers with the loaded data.
 *
 * Browser-safe: no `node:` imports.
 */

export type DatasetSizes = { inputDim: number; numClasses: number; trainPerClass: readonly number[]; test: number };

export const DATASET_SIZES: Record<string, DatasetSizes> = Object.assign(Object.create(null) as Record<string, DatasetSizes>, {
  "fashion-mnist": { inputDim: 784, numClasses: 10, trainPerClass: Array.from({ length: 10 }, () => 6000), test: 10000 },
  mnist: { inputDim: 784, numClasses: 10, trainPerClass: [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949], test: 10000 },
});

const total = (s: DatasetSizes) => s.trainPerClass.reduce((a, b) => a + b, 0);

/** Examples of class c in a stratified draw of `size` over K classes (prepare.ts: the first size mod K classes get one more). */
export const perClass = (size: number, K: number, c: number) => Math.floor(size / K) + (c < size % K ? 1 : 0);

/** The first class a stratified draw of `size` from `available` (per class) runs out of, or -1. */
function shortClass(size: number, available: readonly number[]): number {
  return available.findIndex((n, c) => perClass(size, available.length, c) > n);
}

const largest = new Map<string, number>();
/** The largest stratified subset smaller than the whole training set. */
function largestStratified(name: string, s: DatasetSizes): number {
  let v = largest.get(name);
  if (v === undefined) {
    v = total(s) - 1;
    while (v > 0 && shortClass(v, s.trainPerClass) >= 0) v--;
    largest.set(name, v);
  }
  return v;
}

/** "an integer in [10, 60000]" or, where classes are unequal, "… [10, 54215], or 60000 (the whole training set)". */
export function trainSizeAllowed(name: string, min: number): string | null {
  const s = DATASET_SIZES[name];
  if (!s) return null;
  const n = total(s);
  const top = largestStratified(name, s);
  return top === n - 1 ? `an integer in [${min}, ${n}]` : `an integer in [${min}, ${top}], or ${n} (the whole training set)`;
}

/**
 * Why `trainSize` training examples cannot be drawn from data set `name`, or null when they
 * can (or the data set is not one of the bundled ones). `min` is the registry's minimum.
 */
export function trainSizeProblem(name: string, trainSize: number, min: number): string | null {
  const s = DATASET_SIZES[name];
  if (!s) return null;
  const n = total(s);
  if (trainSize === n) return null;
  const allowed = trainSizeAllowed(name, min)!;
  if (trainSize > n) return `data.trainSize must be ${allowed}: ${name} has ${n} training images (got ${trainSize})`;
  const c = shortClass(trainSize, s.trainPerClass);
  if (c >= 0) return `data.trainSize must be ${allowed}: a stratified subset of ${trainSize} needs ${perClass(trainSize, s.numClasses, c)} images of class ${c}, which has ${s.trainPerClass[c]} (got ${trainSize})`;
  return null;
}

/**
 * Why a validation split of `validationSize` cannot be carved from what the training subset of
 * `trainSize` leaves (prepare.ts validationSplit), or null. 0 means no split.
 */
export function validationSizeProblem(name: string, trainSize: number, validationSize: number): string | null {
  const s = DATASET_SIZES[name];
  if (!s || validationSize === 0) return null;
  const n = total(s);
  const K = s.numClasses;
  // A training size the data set cannot give is trainSizeProblem's to report.
  if (trainSize > n || (trainSize < n && shortClass(trainSize, s.trainPerClass) >= 0)) return null;
  const left = s.trainPerClass.map((count, c) => (trainSize >= n ? 0 : count - perClass(trainSize, K, c)));
  const room = left.reduce((a, b) => a + b, 0);
  if (validationSize >= K && validationSize <= room && shortClass(validationSize, left) < 0) return null;
  // The largest stratified draw from what is left (for the message).
  let top = room;
  while (top > 0 && shortClass(top, left) >= 0) top--;
  if (validationSize < K || validationSize > top) {
    const range = top >= K ? `an integer in [${K}, ${top}]` : "0 (no room)";
    return `data.validationSize must be 0 or ${range} with data.trainSize ${trainSize}: the split comes from the ${room} ${name} training images outside the training subset (got ${validationSize})`;
  }
  return null;
}
