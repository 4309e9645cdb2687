/**
 * The training configuration shared by the trainer, the CLI and reports, with its defaults and
 * validation (one-line `ConfigError`s naming the flag and what is allowed).
 */
export const DATASETS = ["fashion-mnist", "mnist"] as const;
export const MODELS = ["mlp", "cnn"] as const;
export const OPTIMIZERS = ["sgd", "sam", "asam", "fsam"] as const;
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
  rho: number;
  eta: number;
  sigma: number;
  lambda: number;
  /** m-sharpness sub-batch size; 0 = the whole batch. */
  m: number;
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
  rho: 0.05,
  eta: 0.01,
  sigma: 1,
  lambda: 0.6,
  m: 0,
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
  need(Number.isFinite(c.eta) && c.eta >= 0, "eta", "a number ≥ 0", c.eta);
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
    need(c.batchSize % c.m === 0, "m", `a divisor of the batch size ${c.batchSize}`, c.m);
    // m-SAM splits every batch leaf, and the trainer carries BatchNorm statistics in the batch.
    if (c.batchNorm) throw new ConfigError("--m cannot be combined with --batch-norm (m-SAM splits every batch leaf, BatchNorm statistics included)");
  }
  if (c.batchSize > c.trainSize) throw new ConfigError(`--batch-size ${c.batchSize} is larger than --train-size ${c.trainSize}`);
  return c;
}
