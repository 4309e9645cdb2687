/**
 * Seeded shuffling and batching on the device: the data set is uploaded once and each batch
 * is gathered with `np.take` on an int32 index (< 0.5 ms, DESIGN §5).
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import { permutation, rng } from "../engine/prng.js";

/** Arrays resident on the device. Dispose with `disposeDeviceSet`. */
export type DeviceSet = {
  /** Inputs, [n, inputDim] float32. */
  x: np.Array;
  /** int32 labels, [n]. */
  y: np.Array;
  /** Examples. */
  n: number;
};

/**
 * Upload inputs [n·d] and int32 labels [n] once.
 *
 * @example
 * ```ts
 * const train = upload(ds.trainX, ds.trainY, ds.inputDim);
 * ```
 */
export function upload(x: Float32Array, y: Int32Array, inputDim: number): DeviceSet {
  const n = y.length;
  return { x: np.array(x).reshape([n, inputDim]), y: np.array(y, { dtype: np.int32 }), n };
}

/**
 * Free the device arrays of a {@link DeviceSet} (`s.x` and `s.y`); `s` must not be used after.
 *
 * @example
 * ```ts
 * const train = upload(ds.trainX, ds.trainY, ds.inputDim);
 * try { … } finally { disposeDeviceSet(train); }
 * ```
 */
export function disposeDeviceSet(s: DeviceSet): void {
  s.x.dispose();
  s.y.dispose();
}

/**
 * The batches of one epoch: a permutation fixed by (seed, epoch), cut into full batches of
 * `batchSize` (the last partial batch is dropped so every step has one shape under jit).
 *
 * @example
 * ```ts
 * for (const idx of epochBatches(train.n, 128, seed, epoch)) { const b = take(train, idx); … }
 * ```
 */
export function epochBatches(n: number, batchSize: number, seed: number, epoch: number): Int32Array[] {
  const p = permutation(rng(seed, 1000 + epoch), n);
  const out: Int32Array[] = [];
  for (let i = 0; i + batchSize <= n; i += batchSize) out.push(p.subarray(i, i + batchSize));
  return out;
}

/**
 * Contiguous batches covering all n examples in order (for evaluation); the last may be short.
 *
 * @example
 * ```ts
 * for (const idx of evalBatches(test.n, 1000)) { const { x, y } = take(test, idx); … }
 * ```
 */
export function evalBatches(n: number, batchSize: number): Int32Array[] {
  const out: Int32Array[] = [];
  for (let i = 0; i < n; i += batchSize) out.push(Int32Array.from({ length: Math.min(batchSize, n - i) }, (_, k) => i + k));
  return out;
}

/**
 * Gather rows `idx` of a device set. Does not consume `set`; returns owned arrays.
 *
 * @example
 * ```ts
 * const { x, y } = take(train, idx); // a batch; train stays usable
 * ```
 */
export function take(set: DeviceSet, idx: Int32Array): { x: np.Array; y: np.Array } {
  const i = np.array(idx, { dtype: np.int32 });
  return { x: np.take(set.x.ref, i.ref, 0), y: np.take(set.y.ref, i, 0) };
}

/**
 * The mean of a per-example quantity over rows `idx` of a set, in chunks of ≤ `chunk` rows (the
 * full-gradient oracle, a full-batch loss): `sumOf(x, y)` returns the chunk's *sum* (e.g.
 * n·mean gradient) as a tree; the chunks are added in order and divided by |idx|. Borrows `set`;
 * returns an owned tree.
 */
export function meanOverRows<T>(set: DeviceSet, idx: Int32Array, sumOf: (x: np.Array, y: np.Array) => T, chunk = 1000): T {
  let acc: T | null = null;
  for (let i = 0; i < idx.length; i += chunk) {
    const b = take(set, idx.subarray(i, i + chunk));
    const part = sumOf(b.x, b.y);
    acc = acc === null ? part : (tree.map((u: np.Array, v: np.Array) => u.add(v), acc as never, part as never) as T);
  }
  return tree.map((v: np.Array) => v.mul(1 / idx.length), acc as never) as T;
}
