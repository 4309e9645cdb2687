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

export type MlpParams = { layers: { w: np.Array; b: np.Array }[]; norms: BatchNormParams[] };
export type MlpState = { norms: BatchNormState[] };

export interface MlpOptions {
  /** Layer widths including input and output, e.g. [784, 256, 10]. */
  sizes: number[];
  /** BatchNorm after each hidden dense layer. Default false. */
  batchNorm?: boolean;
}

/** @example const model = mlp({ sizes: [784, 256, 10] }); const { params, state } = model.init(0); */
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
