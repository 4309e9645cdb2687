/** The model a run spec's `model` section describes. */
import { mlp } from "../models/mlp.js";
import { cnn } from "../models/cnn.js";
import type { Model } from "../models/types.js";
import type { ModelSpec } from "./spec.js";

export function buildModel(m: ModelSpec, inputDim: number, classes: number): Model<any, any> {
  if (m.name === "mlp") return mlp({ sizes: [inputDim, m.hidden as number, classes], batchNorm: m.batchNorm });
  return cnn({ classes, batchNorm: m.batchNorm, side: Math.round(Math.sqrt(inputDim)) });
}
