/**
 * Layers as pure functions, each consuming its arguments (jax-js ownership).
 *
 * Convolutions are built from the 9 shifted 4-D slices of the padded input, each multiplied
 * by the matching 3×3 tap and summed: `lax.conv` is 50-100× slower than matmul on
 * the wasm backend (DESIGN §5). (An im2col form — one [NHW, 9C]×[9C, K] matmul — measured 2×
 * slower here: 291 vs 141 ms per CNN SGD step at batch 128.)
 */
import "../engine/polyfills.js";
import { numpy as np, random } from "@jax-js/jax";

/**
 * He (Kaiming) normal initialization: samples of N(0, 2/fanIn), for ReLU layers. Consumes `key`.
 *
 * @example
 * ```ts
 * const w = heNormal(random.key(0), [784, 256], 784);
 * ```
 */
export function heNormal(key: np.Array, shape: number[], fanIn: number): np.Array {
  return random.normal(key, shape).mul(Math.sqrt(2 / fanIn));
}

/**
 * Glorot (Xavier) uniform initialization: samples of U(−l, l), l = √(6/(fanIn + fanOut)), for
 * the output layer. Consumes `key`.
 *
 * @example
 * ```ts
 * const w = glorotUniform(random.key(1), [256, 10], 256, 10);
 * ```
 */
export function glorotUniform(key: np.Array, shape: number[], fanIn: number, fanOut: number): np.Array {
  const lim = Math.sqrt(6 / (fanIn + fanOut));
  return random.uniform(key, shape).mul(2 * lim).sub(lim);
}

/**
 * A dense layer, `x W + b` (`x` [N, in], `w` [in, out], `b` [out]). Consumes all three.
 *
 * @example
 * ```ts
 * const h = dense(x, p.w.ref, p.b.ref); // keep the parameters with .ref
 * ```
 */
export function dense(x: np.Array, w: np.Array, b: np.Array): np.Array {
  return np.matmul(x, w).add(b);
}

/**
 * 3×3 'same' convolution, stride 1, NHWC. `x`: [N, H, W, C]; `w`: [3, 3, C, K]; `b`: [K].
 * Consumes all. y[n,i,j,:] = Σ_{dy,dx} x_pad[n, i+dy, j+dx, :] · w[dy, dx] + b (zero padding
 * of 1), built from 9 shifted matmuls (`lax.conv` is 50-100× slower on wasm).
 *
 * @example
 * ```ts
 * const y = conv3x3(x, w, b); // x [N, 28, 28, 1], w [3, 3, 1, 16], b [16] → y [N, 28, 28, 16]
 * ```
 */
export function conv3x3(x: np.Array, w: np.Array, b: np.Array): np.Array {
  const [n, h, wd, c] = x.shape;
  const k = w.shape[3];
  const xp = np.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  let acc: np.Array | null = null;
  for (let dy = 0; dy < 3; dy++) {
    for (let dx = 0; dx < 3; dx++) {
      // The tap stays a 4-D slice: reshaping it to [NHW, C] makes a view the engine cannot
      // stride, and a forward-only graph (evaluation) then reads it through per-element index
      // arithmetic — 2.4× slower (docs/performance.md); gradients are identical either way.
      const patch = xp.ref.slice([], [dy, dy + h], [dx, dx + wd], []);
      // One input channel: the tap is a broadcast product, and the nine fuse into one
      // elementwise kernel (a matmul with inner size 1 is nine kernels; same values).
      const y = c === 1 ? patch.mul(w.ref.slice(dy, dx).reshape([k])) : np.matmul(patch, w.ref.slice(dy, dx)); // [N, H, W, C] × [C, K]
      acc = acc === null ? y : acc.add(y);
    }
  }
  xp.dispose();
  w.dispose();
  return acc!.add(b);
}

/**
 * 2×2 max pooling, stride 2, NHWC (H and W even): [N, H, W, C] → [N, H/2, W/2, C]. Consumes `x`.
 *
 * @example
 * ```ts
 * const y = maxPool2(x); // [N, 28, 28, 16] → [N, 14, 14, 16]
 * ```
 */
export function maxPool2(x: np.Array): np.Array {
  const [n, h, w, c] = x.shape;
  return np.max(x.reshape([n, h / 2, 2, w / 2, 2, c]), [2, 4]);
}

/**
 * A BatchNorm layer's trained parameters, each [C]: y = scale · x̂ + offset.
 *
 * @inline
 */
export type BatchNormParams = {
  /** γ, initialized to 1. */
  scale: np.Array;
  /** β, initialized to 0. */
  offset: np.Array;
};
/**
 * A BatchNorm layer's running statistics, each [C] (model state, not trained by gradients).
 *
 * @inline
 */
export type BatchNormState = {
  /** Running mean, initialized to 0. */
  mean: np.Array;
  /** Running (unbiased) variance, initialized to 1. */
  var: np.Array;
};

/**
 * Batch normalization over every axis but the last (PyTorch defaults: eps 1e-5, momentum 0.1,
 * running variance unbiased). Training: normalize with batch statistics and return updated
 * running statistics; eval: normalize with the running ones. Consumes all arguments (in eval
 * mode `s` is returned as the new state).
 *
 *   y = scale · (x − μ)/√(σ² + eps) + offset
 *   train: μ, σ² the batch's (biased); mean ← (1 − m)·mean + m·μ, var ← (1 − m)·var + m·σ²·n/(n − 1)
 *   eval:  μ, σ² = the running mean and var
 *
 * @example
 * ```ts
 * const [y, s2] = batchNorm(h, p.norms[0], state.norms[0], true); // s2: the updated running statistics
 * ```
 */
export function batchNorm(x: np.Array, p: BatchNormParams, s: BatchNormState, train: boolean, momentum = 0.1, eps = 1e-5): [np.Array, BatchNormState] {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  if (!train) {
    const y = x.sub(s.mean.ref).div(np.sqrt(s.var.ref.add(eps))).mul(p.scale).add(p.offset);
    return [y, s];
  }
  const count = axes.reduce((a, i) => a * x.shape[i], 1);
  const mean = np.mean(x.ref, axes);
  const centered = x.sub(mean.ref);
  const varB = np.mean(np.square(centered.ref), axes);
  const y = centered.div(np.sqrt(varB.ref.add(eps))).mul(p.scale).add(p.offset);
  // Running statistics are not differentiated through (they are aux, not the loss).
  const newMean = s.mean.mul(1 - momentum).add(mean.mul(momentum));
  const newVar = s.var.mul(1 - momentum).add(varB.mul((momentum * count) / Math.max(count - 1, 1)));
  return [y, { mean: newMean, var: newVar }];
}
