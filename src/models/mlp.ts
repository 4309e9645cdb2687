/**
 * Multi-layer perceptron: dense → ReLU (→ BatchNorm) … → dense logits.
 * He-normal weights on hidden layers, Glorot-uniform on the output layer, zero biases
 * (PyTorch/Keras conventions), seeded through jax-js's PRNG.
 */
import "../engine/polyfills.js";
import { nn, numpy as np, random } from "@jax-js/jax";
import type { Model } from "./types.js";
import { batchNorm, dense, glorotUniform, heNormal, type BatchNormParams, type BatchNormState } from "./layers.js";
import { checkBoolean, checkKeys, checkNumber } from "../optim/validate.js";

/** The MLP's parameters: per dense layer `w` [in, out] and `b` [out]; per hidden layer a BatchNorm's `scale`/`offset` when `batchNorm` (else `norms` is empty). */
export type MlpParams = {
  /** The dense layers, input to output. */
  layers: { w: np.Array; b: np.Array }[];
  /** One BatchNorm per hidden layer, `{ scale, offset }` each [width] (empty without `batchNorm`). */
  norms: BatchNormParams[];
};
/** The MLP's model state: each BatchNorm's running mean and variance (empty without `batchNorm`). */
export type MlpState = {
  /** Running statistics `{ mean, var }`, one per hidden layer's BatchNorm. */
  norms: BatchNormState[];
};

/**
 * Options of {@link mlp}.
 *
 * @example
 * ```ts
 * const model = mlp({ sizes: [784, 512, 512, 10], batchNorm: true } satisfies MlpOptions);
 * ```
 */
export interface MlpOptions {
  /** Layer widths including input and output, e.g. [784, 256, 10]. */
  sizes: number[];
  /** BatchNorm after each hidden dense layer. Default false. */
  batchNorm?: boolean;
}

/**
 * A multi-layer perceptron: dense → ReLU (→ BatchNorm) … → dense logits, h_{i+1} = ReLU(h_i W_i
 * + b_i) with the last layer linear. He-normal hidden weights (N(0, 2/fan_in)), Glorot-uniform
 * output weights, zero biases; BatchNorm (when `batchNorm`) after each hidden dense layer,
 * before the ReLU. Options are validated (a `RangeError` names the bad one). `apply` consumes
 * its arguments.
 *
 * @example
 * ```ts
 * const model = mlp({ sizes: [784, 256, 10] });
 * const { params, state } = model.init(0);
 * const loss = classificationLoss(model); // for opt.step(loss, …, { hasAux: true })
 * ```
 */
export function mlp(options: MlpOptions): Model<MlpParams, MlpState> {
  checkKeys("mlp", options, ["sizes", "batchNorm"]);
  const { sizes, batchNorm: bn = false } = options;
  if (!Array.isArray(sizes) || sizes.length < 2) throw new RangeError(`mlp: sizes must list at least 2 widths (got ${JSON.stringify(sizes)})`);
  sizes.forEach((s, i) => checkNumber("mlp", `sizes[${i}]`, s, { lo: 1, integer: true }));
  checkBoolean("mlp", "batchNorm", bn);
  const L = sizes.length - 1;
  return {
    name: `mlp ${sizes.join("-")}${bn ? " +bn" : ""}`,
    init(seed) {
      const keys = random.split(random.key(seed), L);
      const layers = Array.from({ length: L }, (_, i) => {
        const key = keys.ref.slice(i);
        const shape = [sizes[i], sizes[i + 1]];
        const w = i < L - 1 ? heNormal(key, shape, sizes[i]) : glorotUniform(key, shape, sizes[i], sizes[i + 1]);
        return { w, b: np.zeros([sizes[i + 1]]) };
      });
      keys.dispose();
      const hidden = sizes.slice(1, -1);
      const norms = bn ? hidden.map((h) => ({ scale: np.ones([h]), offset: np.zeros([h]) })) : [];
      const state = { norms: bn ? hidden.map((h) => ({ mean: np.zeros([h]), var: np.ones([h]) })) : [] };
      return { params: { layers, norms }, state };
    },
    apply(params, state, x, train) {
      let h = x;
      const newNorms: BatchNormState[] = [];
      params.layers.forEach((layer, i) => {
        h = dense(h, layer.w, layer.b);
        if (i < L - 1) {
          if (bn) {
            const [y, s] = batchNorm(h, params.norms[i], state.norms[i], train);
            h = y;
            newNorms.push(s);
          }
          h = nn.relu(h);
        }
      });
      return [h, { norms: newNorms }];
    },
  };
}
