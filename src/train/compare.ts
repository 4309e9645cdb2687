/**
 * Several optimizers (and seeds) on one setting. Optimizer specs are CLI tokens:
 * `sam`, or with overrides `asam:rho=1,eta=0.01` … written `asam:rho=1:eta=0.01`.
 */
import { ConfigError, OPTIMIZERS, validateConfig, type TrainConfig } from "./config.js";
import { train, type EpochRecord, type TrainHooks, type TrainResult } from "./trainer.js";
import type { ImageDataset } from "../data/types.js";

const OVERRIDABLE = ["rho", "eta", "sigma", "lambda", "m", "lr", "alpha", "k", "steps", "p", "penalty", "r", "noiseStd"] as const;
type Overridable = (typeof OVERRIDABLE)[number];

/** ρ used when neither `--rho` nor an override gives one (the papers' usual scales). */
export function defaultRho(optimizer: TrainConfig["optimizer"]): number {
  if (optimizer === "asam" || optimizer === "fasam") return 0.5;
  if (optimizer === "sgd" || optimizer === "random-perturbation" || optimizer === "gnr") return 0;
  return 0.05;
}

export type OptimizerSpec = { label: string; optimizer: TrainConfig["optimizer"]; overrides: Partial<Pick<TrainConfig, Overridable>> };

export function parseOptimizerSpec(token: string): OptimizerSpec {
  const [name, ...parts] = token.split(":");
  if (!OPTIMIZERS.includes(name as TrainConfig["optimizer"])) throw new ConfigError(`--optimizers: unknown optimizer ${JSON.stringify(name)} (known: ${OPTIMIZERS.join(", ")})`);
  const overrides: Record<string, number> = {};
  for (const p of parts) {
    const m = /^([a-zA-Z]+)=(.+)$/.exec(p);
    if (!m || !OVERRIDABLE.includes(m[1] as Overridable)) throw new ConfigError(`--optimizers: bad override ${JSON.stringify(p)} in ${JSON.stringify(token)} (use name:key=value with key one of ${OVERRIDABLE.join(", ")})`);
    const v = m[1] === "p" && /^inf(inity)?$/i.test(m[2]) ? Infinity : Number(m[2]);
    if (Number.isNaN(v) || v === -Infinity || (v === Infinity && m[1] !== "p")) throw new ConfigError(`--optimizers: ${m[1]} must be a number (got ${JSON.stringify(m[2])} in ${JSON.stringify(token)})`);
    overrides[m[1]] = v;
  }
  return { label: token, optimizer: name as TrainConfig["optimizer"], overrides };
}

/** The full config of one run: common settings, the optimizer's default ρ, then overrides. */
export function runConfig(common: TrainConfig, spec: OptimizerSpec, seed: number, rhoGiven: boolean): TrainConfig {
  const c: TrainConfig = { ...common, optimizer: spec.optimizer, seed };
  if (!rhoGiven) c.rho = defaultRho(spec.optimizer);
  if (spec.optimizer === "sgd") c.rho = 0;
  if (spec.optimizer !== "sam") c.m = 0;
  Object.assign(c, spec.overrides);
  return validateConfig(c);
}

export type RunSummary = {
  optimizer: string;
  seed: number;
  rho: number;
  testAccuracy: number;
  bestTestAccuracy: number;
  bestEpoch: number;
  testLoss: number;
  trainAccuracy: number;
  noisyTrainAccuracy: number | null;
  epochs: number;
  seconds: number;
  /** Steps skipped for NaN/Inf. */
  skippedSteps: number;
  history: EpochRecord[];
};

export function summarize(label: string, r: TrainResult): RunSummary {
  const h = r.history;
  const last = h[h.length - 1];
  const best = h.reduce((b, e) => (e.testAccuracy > b.testAccuracy ? e : b), h[0] ?? ({ testAccuracy: NaN, epoch: 0 } as EpochRecord));
  return {
    optimizer: label,
    seed: r.config.seed,
    rho: r.config.rho,
    testAccuracy: last?.testAccuracy ?? NaN,
    bestTestAccuracy: best.testAccuracy,
    bestEpoch: best.epoch,
    testLoss: last?.testLoss ?? NaN,
    trainAccuracy: last?.trainAccuracy ?? NaN,
    noisyTrainAccuracy: last?.noisyTrainAccuracy ?? null,
    epochs: h.length,
    seconds: r.seconds,
    skippedSteps: r.skippedSteps,
    history: h,
  };
}

export type CompareHooks = {
  onRunStart?: (label: string, seed: number, index: number, total: number, config: TrainConfig) => void;
  onRunEnd?: (s: RunSummary, r: TrainResult) => void;
  trainHooks?: (label: string, seed: number) => TrainHooks;
};

/** Run every (optimizer, seed) pair in order; seeds outer so partial results stay balanced. */
export async function compare(common: TrainConfig, specs: OptimizerSpec[], seeds: number[], rhoGiven: boolean, data: ImageDataset, hooks: CompareHooks = {}): Promise<RunSummary[]> {
  const configs = seeds.flatMap((seed) => specs.map((s) => [s, runConfig(common, s, seed, rhoGiven)] as const));
  const out: RunSummary[] = [];
  let i = 0;
  for (const [spec, cfg] of configs) {
    hooks.onRunStart?.(spec.label, cfg.seed, i++, configs.length, cfg);
    const r = await train(cfg, data, hooks.trainHooks?.(spec.label, cfg.seed));
    const s = summarize(spec.label, r);
    out.push(s);
    hooks.onRunEnd?.(s, r);
  }
  return out;
}
