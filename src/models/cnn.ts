/**
 * A small CNN for 28×28×1 images: [conv3×3 → (BatchNorm) → ReLU → maxpool2] × 2 → dense
 * logits. Default widths 16 and 32. Convolutions are shifted matmuls (layers.ts).
 * He-normal conv weights, Glorot-uniform output layer, zero biases; seeded.
 */
import "../engine/polyfills.js";
import { nn, numpy as np, random } from "@jax-js/jax";
import type { Model } from "./types.js";
import { batchNorm, conv3x3, dense, glorotUniform, heNormal, maxPool2, type BatchNormParams, type BatchNormState } from "./layers.js";
import { checkBoolean, checkKeys, checkNumber } from "../optim/validate.js";

/** The CNN's parameters: two 3×3 convolutions (`w` [3, 3, C, K], `b` [K]), their BatchNorms when `batchNorm`, and the dense output layer. */
export type CnnParams = {
  /** The two convolutions. */
  convs: { w: np.Array; b: np.Array }[];
  /** One BatchNorm per convolution, `{ scale, offset }` each [channels] (empty without `batchNorm`). */
  norms: BatchNormParams[];
  /** The dense output layer, [flattened features, classes]. */
  out: { w: np.Array; b: np.Array };
};
/** The CNN's model state: each BatchNorm's running statistics (empty without `batchNorm`). */
export type CnnState = {
  /** Running statistics `{ mean, var }`, one per convolution's BatchNorm. */
  norms: BatchNormState[];
};

/**
 * Options of {@link cnn}.
 *
 * @example
 * ```ts
 * const model = cnn({ channels: [32, 64], batchNorm: true });
 * ```
 */
export interface CnnOptions {
  /** Channels of the two conv layers. Default [16, 32]. */
  channels?: [number, number];
  /** Classes. Default 10. */
  classes?: number;
  /** BatchNorm after each conv. Default false. */
  batchNorm?: boolean;
  /** Input side (square, divisible by 4). Default 28. */
  side?: number;
}

/**
 * A small CNN for square single-channel images (28×28 by default; inputs [N, side²]):
 * [conv3×3 → (BatchNorm) → ReLU → maxpool 2×2] × 2 → dense logits. Defaults: channels
 * [16, 32], 10 classes, no BatchNorm, side 28. Convolutions are shifted matmuls
 * ({@link conv3x3}). He-normal conv weights, Glorot-uniform output layer, zero biases. Options
 * are validated (a `RangeError` names the bad one). `apply` consumes its arguments.
 *
 * @example
 * ```ts
 * const model = cnn({ batchNorm: true });
 * const { params, state } = model.init(0);
 * ```
 */
export function cnn(options: CnnOptions = {}): Model<CnnParams, CnnState> {
  checkKeys("cnn", options, ["channels", "classes", "batchNorm", "side"]);
  const { channels = [16, 32], classes = 10, batchNorm: bn = false, side = 28 } = options;
  channels.forEach((c, i) => checkNumber("cnn", `channels[${i}]`, c, { lo: 1, integer: true }));
  checkNumber("cnn", "classes", classes, { lo: 2, integer: true });
  checkNumber("cnn", "side", side, { lo: 4, integer: true });
  if (side % 4 !== 0) throw new RangeError(`cnn: side must be divisible by 4 (got ${side})`);
  checkBoolean("cnn", "batchNorm", bn);
  const [c1, c2] = channels;
  const flatDim = (side / 4) * (side / 4) * c2;
  return {
    name: `cnn ${c1}-${c2}${bn ? " +bn" : ""}`,
    init(seed) {
      const keys = random.split(random.key(seed), 3);
      const convs = [
        { w: heNormal(keys.ref.slice(0), [3, 3, 1, c1], 9), b: np.zeros([c1]) },
        { w: heNormal(keys.ref.slice(1), [3, 3, c1, c2], 9 * c1), b: np.zeros([c2]) },
      ];
      const out = { w: glorotUniform(keys.slice(2), [flatDim, classes], flatDim, classes), b: np.zeros([classes]) };
      const norms = bn ? [c1, c2].map((c) => ({ scale: np.ones([c]), offset: np.zeros([c]) })) : [];
      const state = { norms: bn ? [c1, c2].map((c) => ({ mean: np.zeros([c]), var: np.ones([c]) })) : [] };
      return { params: { convs, norms, out }, state };
    },
    apply(params, state, x, train) {
      const n = x.shape[0];
      let h = x.reshape([n, side, side, 1]);
      const newNorms: BatchNormState[] = [];
      params.convs.forEach((c, i) => {
        h = conv3x3(h, c.w, c.b);
        if (bn) {
          const [y, s] = batchNorm(h, params.norms[i], state.norms[i], train);
          h = y;
          newNorms.push(s);
        }
        h = maxPool2(nn.relu(h));
      });
      const logits = dense(h.reshape([n, flatDim]), params.out.w, params.out.b);
      return [logits, { norms: newNorms }];
    },
  };
}
