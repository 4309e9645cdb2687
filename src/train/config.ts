/**
 * The training configuration shared by the trainer, the CLI and reports, with its defaults and
 * validation (one-line `ConfigError`s naming the flag and what is allowed).
 */
export const DATASETS = ["fashion-mnist", "mnist"] as const;
export const MODELS = ["mlp", "cnn"] as const;
export const OPTIMIZERS = [
  "sgd", "sam", "asam", "fsam", "fasam", "gsam", "looksam", "fisher-sam", "multistep-sam",
  "random-perturbation", "gnr", "sam-full", "sam-noise",
] as const;
export const RHO_SCHEDULES = ["constant", "inv-sqrt", "follow-lr", "erm-to-sam", "sam-to-erm"] as const;
export const LR_SCHEDULES = ["constant", "cosine"] as const;
export const ASCENT_BATCHES = ["same", "previous", "random"] as const;
export const GNR_METHODS = ["hvp", "finite-difference"] as const;
export const NON_FINITE = ["skip", "error"] as const;
export const BASES = ["sgd", "adam", "adamw"] as const;

export type TrainConfig = {
  dataset: (typeof DATASETS)[number];
  model: (typeof MODELS)[number];
  /** Hidden width of the MLP. */
  hidden: number;
  batchNorm: boolean;
  optimizer: (typeof OPTIMIZERS)[number];
  base: (typeof BASES)[number];
  lr: number;
  momentum: number;
  weightDecay: number;
  lrSchedule: (typeof LR_SCHEDULES)[number];
  rho: number;
  rhoSchedule: (typeof RHO_SCHEDULES)[number];
  /** Epoch (1-based) at which ERM→SAM / SAM→ERM switches. */
  switchEpoch: number;
  /** ASAM / F-ASAM / Fisher-SAM η; undefined = the optimizer's default (0.01, 0.01, 1). */
  eta?: number;
  sigma: number;
  lambda: number;
  /** m-sharpness sub-batch size; 0 = the whole batch. */
  m: number;
  /** ℓp ball of sam (2, any p > 1, or Infinity). */
  p: number;
  /** GSAM α (0.4), LookSAM α (0.7), multi-step α (1/steps); undefined = the optimizer's default. */
  alpha?: number;
  /** LookSAM period. */
  k: number;
  /** Multi-step ascent steps. */
  steps: number;
  /** Random-perturbation σ. */
  noiseStd: number;
  /** Gradient-norm penalty λ, method and finite-difference radius. */
  penalty: number;
  gnrMethod: (typeof GNR_METHODS)[number];
  r: number;
  /** Where the ascent gradient comes from: this batch (SAM), the previous one, a random one (n-SAM / SAM-db). */
  ascentBatch: (typeof ASCENT_BATCHES)[number];
  /** SAM-full / SAM-noise: recompute the full gradient every N steps, over this many examples. */
  fullGradEvery: number;
  fullGradSize: number;
  /** NaN/Inf steps: "skip" (counted, state unchanged) or "error". */
  nonFinite: (typeof NON_FINITE)[number];
  epochs: number;
  batchSize: number;
  labelNoise: number;
  trainSize: number;
  seed: number;
};

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Defaults of `sharpness train`; ρ and η depend on the optimizer (see `defaultRho`). */
export const DEFAULTS: TrainConfig = {
  dataset: "fashion-mnist",
  model: "mlp",
  hidden: 256,
  batchNorm: false,
  optimizer: "sam",
  base: "sgd",
  lr: 0.05,
  momentum: 0.9,
  weightDecay: 5e-4,
  lrSchedule: "constant",
  rho: 0.05,
  rhoSchedule: "constant",
  switchEpoch: 1,
  sigma: 1,
  lambda: 0.6,
  m: 0,
  p: 2,
  k: 5,
  steps: 2,
  noiseStd: 0.01,
  penalty: 0.05,
  gnrMethod: "hvp",
  r: 0.1,
  ascentBatch: "same",
  fullGradEvery: 10,
  fullGradSize: 2048,
  nonFinite: "skip",
  epochs: 10,
  batchSize: 128,
  labelNoise: 0,
  trainSize: 10000,
  seed: 0,
};

function need(ok: boolean, flag: string, allowed: string, v: unknown): void {
  if (!ok) throw new ConfigError(`--${flag} must be ${allowed} (got ${typeof v === "string" ? JSON.stringify(v) : String(v)})`);
}
const isInt = (v: number) => Number.isInteger(v);

/** Throws a `ConfigError` for the first invalid field. */
export function validateConfig(c: TrainConfig): TrainConfig {
  need(DATASETS.includes(c.dataset), "dataset", `one of ${DATASETS.join(", ")}`, c.dataset);
  need(MODELS.includes(c.model), "model", `one of ${MODELS.join(", ")}`, c.model);
  need(OPTIMIZERS.includes(c.optimizer), "optimizer", `one of ${OPTIMIZERS.join(", ")}`, c.optimizer);
  need(BASES.includes(c.base), "base", `one of ${BASES.join(", ")}`, c.base);
  need(isInt(c.hidden) && c.hidden >= 1, "hidden", "an integer ≥ 1", c.hidden);
  need(Number.isFinite(c.lr) && c.lr > 0, "lr", "a number > 0", c.lr);
  need(Number.isFinite(c.momentum) && c.momentum >= 0 && c.momentum < 1, "momentum", "a number in [0, 1)", c.momentum);
  need(Number.isFinite(c.weightDecay) && c.weightDecay >= 0, "weight-decay", "a number ≥ 0", c.weightDecay);
  need(Number.isFinite(c.rho) && c.rho >= 0, "rho", "a number ≥ 0", c.rho);
  if (c.eta !== undefined) need(Number.isFinite(c.eta) && c.eta >= 0, "eta", "a number ≥ 0", c.eta);
  need(LR_SCHEDULES.includes(c.lrSchedule), "lr-schedule", `one of ${LR_SCHEDULES.join(", ")}`, c.lrSchedule);
  need(RHO_SCHEDULES.includes(c.rhoSchedule), "rho-schedule", `one of ${RHO_SCHEDULES.join(", ")}`, c.rhoSchedule);
  need(isInt(c.switchEpoch) && c.switchEpoch >= 1, "switch-epoch", "an integer ≥ 1", c.switchEpoch);
  need(c.p === Infinity || (Number.isFinite(c.p) && c.p > 1), "p", "a number > 1 or inf", c.p);
  if (c.alpha !== undefined) need(Number.isFinite(c.alpha) && c.alpha >= 0, "alpha", "a number ≥ 0", c.alpha);
  need(isInt(c.k) && c.k >= 1, "k", "an integer ≥ 1", c.k);
  need(isInt(c.steps) && c.steps >= 1, "steps", "an integer ≥ 1", c.steps);
  need(Number.isFinite(c.noiseStd) && c.noiseStd >= 0, "noise-std", "a number ≥ 0", c.noiseStd);
  need(Number.isFinite(c.penalty) && c.penalty >= 0, "penalty", "a number ≥ 0", c.penalty);
  need(GNR_METHODS.includes(c.gnrMethod), "gnr-method", `one of ${GNR_METHODS.join(", ")}`, c.gnrMethod);
  need(Number.isFinite(c.r) && c.r > 0, "r", "a number > 0", c.r);
  if (c.optimizer === "gnr" && c.gnrMethod === "finite-difference") need(c.penalty <= c.r, "penalty", `≤ --r ${c.r} for the finite-difference form`, c.penalty);
  if (c.optimizer === "looksam" || c.optimizer === "multistep-sam") need(c.rhoSchedule === "constant", "rho-schedule", `constant for --optimizer ${c.optimizer}`, c.rhoSchedule);
  need(NON_FINITE.includes(c.nonFinite), "non-finite", `one of ${NON_FINITE.join(", ")}`, c.nonFinite);
  need(ASCENT_BATCHES.includes(c.ascentBatch), "ascent-batch", `one of ${ASCENT_BATCHES.join(", ")}`, c.ascentBatch);
  need(isInt(c.fullGradEvery) && c.fullGradEvery >= 1, "full-grad-every", "an integer ≥ 1", c.fullGradEvery);
  need(isInt(c.fullGradSize) && c.fullGradSize >= 1, "full-grad-size", "an integer ≥ 1", c.fullGradSize);
  need(Number.isFinite(c.sigma) && c.sigma >= 0, "sigma", "a number ≥ 0", c.sigma);
  need(Number.isFinite(c.lambda) && c.lambda >= 0 && c.lambda < 1, "lambda", "a number in [0, 1)", c.lambda);
  need(isInt(c.m) && c.m >= 0, "m", "an integer ≥ 1 (or 0 for the whole batch)", c.m);
  need(isInt(c.epochs) && c.epochs >= 1, "epochs", "an integer ≥ 1", c.epochs);
  need(isInt(c.batchSize) && c.batchSize >= 1, "batch-size", "an integer ≥ 1", c.batchSize);
  need(Number.isFinite(c.labelNoise) && c.labelNoise >= 0 && c.labelNoise < 1, "label-noise", "a number in [0, 1)", c.labelNoise);
  need(isInt(c.trainSize) && c.trainSize >= 10, "train-size", "an integer ≥ 10", c.trainSize);
  need(isInt(c.seed) && c.seed >= 0, "seed", "an integer ≥ 0", c.seed);
  if (c.m > 0) {
    need(c.optimizer === "sam", "m", "used with --optimizer sam only", c.m);
    need(c.ascentBatch === "same", "m", "used without --ascent-batch", c.m);
    need(c.batchSize % c.m === 0, "m", `a divisor of the batch size ${c.batchSize}`, c.m);
    // m-SAM splits every batch leaf, and the trainer carries BatchNorm statistics in the batch.
    if (c.batchNorm) throw new ConfigError("--m cannot be combined with --batch-norm (m-SAM splits every batch leaf, BatchNorm statistics included)");
  }
  if (c.batchSize > c.trainSize) throw new ConfigError(`--batch-size ${c.batchSize} is larger than --train-size ${c.trainSize}`);
  return c;
}

/** A config read back from JSON (Infinity was written as null). */
export function configFromJson(obj: Record<string, unknown>): TrainConfig {
  const c = { ...DEFAULTS, ...obj } as TrainConfig;
  if (obj.p === null) c.p = Infinity;
  return c;
}
