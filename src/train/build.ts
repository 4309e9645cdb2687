/** Building the model, learning-rate schedule and optimizer a `TrainConfig` describes. */
import { adam } from "../optim/adam.js";
import { adamw } from "../optim/adamw.js";
import { sgd } from "../optim/sgd.js";
import { cosineDecaySchedule } from "../optim/schedules.js";
import type { GradientTransformation, ScalarOrSchedule } from "../optim/types.js";
import { plain, type SharpnessAwareOptimizer } from "../sam/core.js";
import { sam } from "../sam/sam.js";
import { asam } from "../sam/asam.js";
import { fsam } from "../sam/fsam.js";
import { fasam } from "../sam/fasam.js";
import { gsam } from "../sam/gsam.js";
import { lookSam } from "../sam/looksam.js";
import { fisherSam } from "../sam/fisher-sam.js";
import { multiStepSam } from "../sam/multistep-sam.js";
import { randomPerturbation } from "../sam/random-perturbation.js";
import { gradNormPenalty } from "../sam/grad-norm-penalty.js";
import { samFull } from "../sam/sam-full.js";
import { samNoise } from "../sam/sam-noise.js";
import { rhoFollowLr, rhoInvSqrt, rhoSwitch, type Rho } from "../sam/rho.js";
import { mlp } from "../models/mlp.js";
import { cnn } from "../models/cnn.js";
import type { Model } from "../models/types.js";
import { ConfigError, type TrainConfig } from "./config.js";

/** Steps of the run, for schedules. */
export type RunLength = { stepsPerEpoch: number; totalSteps: number };

export function buildLearningRate(c: TrainConfig, len: RunLength): ScalarOrSchedule {
  return c.lrSchedule === "cosine" ? cosineDecaySchedule({ initValue: c.lr, decaySteps: Math.max(1, len.totalSteps) }) : c.lr;
}

export function buildBase(c: TrainConfig, len: RunLength): GradientTransformation<any> {
  const learningRate = buildLearningRate(c, len);
  switch (c.base) {
    case "sgd":
      return sgd({ learningRate, momentum: c.momentum, weightDecay: c.weightDecay });
    case "adam":
      return adam({ learningRate, weightDecay: c.weightDecay });
    case "adamw":
      return adamw({ learningRate, weightDecay: c.weightDecay });
  }
}

export function buildRho(c: TrainConfig, len: RunLength): Rho {
  const at = (c.switchEpoch - 1) * len.stepsPerEpoch;
  switch (c.rhoSchedule) {
    case "constant":
      return c.rho;
    case "inv-sqrt":
      return rhoInvSqrt(c.rho);
    case "follow-lr": {
      const lr = buildLearningRate(c, len);
      return typeof lr === "number" ? c.rho : rhoFollowLr(c.rho, lr, c.lr);
    }
    case "erm-to-sam":
      return rhoSwitch(c.rho, at, "erm-to-sam");
    case "sam-to-erm":
      return rhoSwitch(c.rho, at, "sam-to-erm");
  }
}

const asamLeaves = (p: string) => p.endsWith(".w"); // official ASAM scales weights only

export function buildOptimizer(c: TrainConfig, len: RunLength = { stepsPerEpoch: 1, totalSteps: 1 }): SharpnessAwareOptimizer<any> {
  const base = buildBase(c, len);
  const rho = buildRho(c, len);
  const nonFinite = c.nonFinite;
  const fixedRho = () => {
    if (typeof rho !== "number") throw new ConfigError(`--rho-schedule ${c.rhoSchedule} is not available for --optimizer ${c.optimizer} (use constant)`);
    return rho;
  };
  switch (c.optimizer) {
    case "sgd":
      return plain(base, { nonFinite });
    case "sam":
      return sam(base, { nonFinite, rho, m: c.m > 0 ? c.m : undefined, p: c.p });
    case "asam":
      return asam(base, { nonFinite, rho, eta: c.eta ?? 0.01, adaptiveLeaves: asamLeaves });
    case "fsam":
      return fsam(base, { nonFinite, rho, sigma: c.sigma, lambda: c.lambda });
    case "fasam":
      return fasam(base, { nonFinite, rho, sigma: c.sigma, lambda: c.lambda, eta: c.eta ?? 0.01, adaptiveLeaves: asamLeaves });
    case "gsam":
      return gsam(base, { nonFinite, rho, alpha: c.alpha ?? 0.4 });
    case "looksam":
      return lookSam(base, { nonFinite, rho: fixedRho(), k: c.k, alpha: c.alpha ?? 0.7 });
    case "fisher-sam":
      return fisherSam(base, { nonFinite, rho, eta: c.eta ?? 1 });
    case "multistep-sam":
      return multiStepSam(base, { nonFinite, rho: fixedRho(), steps: c.steps, alpha: c.alpha });
    case "random-perturbation":
      return randomPerturbation(base, { nonFinite, sigma: c.noiseStd, seed: c.seed });
    case "gnr":
      return gradNormPenalty(base, { nonFinite, lambda: c.penalty, method: c.gnrMethod, r: c.r });
    case "sam-full":
      return samFull(base, { nonFinite, rho });
    case "sam-noise":
      return samNoise(base, { nonFinite, rho });
  }
}

export function buildModel(c: TrainConfig, inputDim: number, classes: number): Model<any, any> {
  if (c.model === "mlp") return mlp({ sizes: [inputDim, c.hidden, classes], batchNorm: c.batchNorm });
  return cnn({ classes, batchNorm: c.batchNorm, side: Math.round(Math.sqrt(inputDim)) });
}
