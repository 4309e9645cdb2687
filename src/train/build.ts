/** Building the model and optimizer a `TrainConfig` describes. */
import { adam } from "../optim/adam.js";
import { adamw } from "../optim/adamw.js";
import { sgd } from "../optim/sgd.js";
import type { GradientTransformation } from "../optim/types.js";
import { plain, type SharpnessAwareOptimizer } from "../sam/core.js";
import { sam } from "../sam/sam.js";
import { asam } from "../sam/asam.js";
import { fsam } from "../sam/fsam.js";
import { mlp } from "../models/mlp.js";
import { cnn } from "../models/cnn.js";
import type { Model } from "../models/types.js";
import type { TrainConfig } from "./config.js";

export function buildBase(c: TrainConfig): GradientTransformation<any> {
  switch (c.base) {
    case "sgd":
      return sgd({ learningRate: c.lr, momentum: c.momentum, weightDecay: c.weightDecay });
    case "adam":
      return adam({ learningRate: c.lr, weightDecay: c.weightDecay });
    case "adamw":
      return adamw({ learningRate: c.lr, weightDecay: c.weightDecay });
  }
}

export function buildOptimizer(c: TrainConfig): SharpnessAwareOptimizer<any> {
  const base = buildBase(c);
  switch (c.optimizer) {
    case "sgd":
      return plain(base);
    case "sam":
      return sam(base, { rho: c.rho, m: c.m > 0 ? c.m : undefined });
    case "asam":
      // Official ASAM scales weights only; our weight leaves are named "w".
      return asam(base, { rho: c.rho, eta: c.eta, adaptiveLeaves: (p) => p.endsWith(".w") });
    case "fsam":
      return fsam(base, { rho: c.rho, sigma: c.sigma, lambda: c.lambda });
  }
}

export function buildModel(c: TrainConfig, inputDim: number, classes: number): Model<any, any> {
  if (c.model === "mlp") return mlp({ sizes: [inputDim, c.hidden, classes], batchNorm: c.batchNorm });
  return cnn({ classes, batchNorm: c.batchNorm, side: Math.round(Math.sqrt(inputDim)) });
}
