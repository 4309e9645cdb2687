/**
 * `sharpness train` and `sharpness compare`. Every bad input ends with one line on stderr and
 * exit code 2; no stack traces (set SHARPNESS_DEBUG=1 to see them).
 */
import { mkdirSync, writeFileSync, appendFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { initEngine } from "../engine/device.js";
import { loadFashionMnist } from "../data/fashion-mnist.js";
import { loadMnist } from "../data/mnist.js";
import { DataError } from "../data/errors.js";
import type { ImageDataset } from "../data/types.js";
import { findLatest, readCheckpointMeta, CheckpointError } from "../train/checkpoint.js";
import { NonFiniteError } from "../sam/core.js";
import { ASCENT_BATCHES, NON_FINITE, BASES, ConfigError, configFromJson, DATASETS, DEFAULTS, GNR_METHODS, LR_SCHEDULES, MODELS, OPTIMIZERS, RHO_SCHEDULES, validateConfig, type TrainConfig } from "../train/config.js";
import { train, type EpochRecord, type TrainHooks } from "../train/trainer.js";
import { compare, defaultRho, parseOptimizerSpec, summarize, type RunSummary } from "../train/compare.js";
import { DEFAULT_COMPARISON, CLAIM } from "../train/default-comparison.js";
import { writeReport } from "../report/html.js";
import { UsageError, helpText, parseFlags, type FlagSpec } from "./args.js";
import { progressBar } from "./progress.js";

const COMMON: Record<string, FlagSpec> = {
  dataset: { kind: "string", choices: DATASETS, help: "data set" },
  model: { kind: "string", choices: MODELS, help: "model" },
  hidden: { kind: "int", help: "MLP hidden width" },
  "batch-norm": { kind: "bool", help: "BatchNorm after hidden/conv layers" },
  base: { kind: "string", choices: BASES, help: "base optimizer" },
  lr: { kind: "number", help: "learning rate" },
  momentum: { kind: "number", help: "SGD momentum" },
  "weight-decay": { kind: "number", help: "weight decay (L2 for sgd/adam, decoupled for adamw)" },
  "lr-schedule": { kind: "string", choices: LR_SCHEDULES, help: "learning-rate schedule (cosine: to 0 over the run)" },
  rho: { kind: "number", help: "perturbation radius ρ (default 0.05; asam/fasam 0.5)" },
  "rho-schedule": { kind: "string", choices: RHO_SCHEDULES, help: "ρ(t): constant, ρ/√(t+1), ∝ lr, or ERM↔SAM switch" },
  "switch-epoch": { kind: "int", help: "epoch where erm-to-sam / sam-to-erm switches" },
  eta: { kind: "number", help: "η of asam/fasam (0.01) and fisher-sam (1)" },
  sigma: { kind: "number", help: "F-SAM σ" },
  lambda: { kind: "number", help: "F-SAM λ" },
  m: { kind: "int", help: "m-sharpness sub-batch size (sam only; 0 = whole batch)" },
  p: { kind: "string", help: "ℓp ball of sam: 2, any p > 1, or inf" },
  alpha: { kind: "number", help: "α of gsam (0.4), looksam (0.7), multistep-sam (1/steps)" },
  k: { kind: "int", help: "looksam: full SAM step every k steps" },
  steps: { kind: "int", help: "multistep-sam: ascent steps" },
  "noise-std": { kind: "number", help: "random-perturbation: σ of ε ~ N(0, σ²)" },
  penalty: { kind: "number", help: "gnr: λ of the gradient-norm penalty" },
  "gnr-method": { kind: "string", choices: GNR_METHODS, help: "gnr: exact Hessian-vector product or finite difference" },
  r: { kind: "number", help: "gnr finite-difference radius" },
  "ascent-batch": { kind: "string", choices: ASCENT_BATCHES, help: "ascent gradient from this batch (SAM), the previous or a random one (n-SAM / SAM-db)" },
  "full-grad-every": { kind: "int", help: "sam-full/sam-noise: refresh the full gradient every N steps" },
  "full-grad-size": { kind: "int", help: "sam-full/sam-noise: examples in the full gradient" },
  "non-finite": { kind: "string", choices: NON_FINITE, help: "NaN/Inf steps: skip (default; counted) or error" },
  epochs: { kind: "int", help: "epochs" },
  "batch-size": { kind: "int", help: "batch size" },
  "label-noise": { kind: "number", help: "fraction of training labels made wrong, in [0, 1)" },
  "train-size": { kind: "int", help: "training examples (stratified subset)" },
  out: { kind: "string", help: "output directory" },
  device: { kind: "string", choices: ["auto", "wasm", "webgpu", "cpu"], help: "jax-js device (default auto)" },
  threads: { kind: "bool", help: "wasm worker threads in Node (also SHARPNESS_THREADS=1)" },
  help: { kind: "bool", help: "show this help" },
};

const TRAIN_FLAGS: Record<string, FlagSpec> = {
  ...COMMON,
  "checkpoint-every": { kind: "int", help: "write a checkpoint every N steps (one is always written at the end)" },
  resume: { kind: "string", help: "continue the run in DIR from its latest checkpoint (its own config)" },
  "measure-every": { kind: "int", help: "record instruments every N epochs (on 512 fixed training points)" },
  measure: { kind: "list", help: "which: m-sharpness, adaptive, average, hessian (default m-sharpness,hessian)" },
  optimizer: { kind: "string", choices: OPTIMIZERS, help: "optimizer (sgd = the base optimizer alone)" },
  seed: { kind: "int", help: "seed (data subset, noise, init, shuffling)" },
};

const COMPARE_FLAGS: Record<string, FlagSpec> = {
  ...COMMON,
  optimizers: { kind: "list", help: "optimizers, with overrides as name:key=value (e.g. asam:rho=1)" },
  seeds: { kind: "list", help: "seeds, e.g. 0,1,2" },
};

const TOP_HELP = `sharpness — Sharpness-Aware Minimization workbench (jax-js)

Usage:
  sharpness train [flags]     train one model, print per-epoch metrics, write metrics.jsonl
  sharpness compare [flags]   several optimizers/seeds on one setting → summary.json, report.html
  sharpness measure --checkpoint DIR   sharpness measures of a trained run (table + JSON)
  sharpness interpolate A B   loss and accuracy between two runs (JSON + SVG)
  sharpness <command> --help  flags of a command
`;

function parseP(raw: string): number {
  if (/^(inf|infinity)$/i.test(raw)) return Infinity;
  const v = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(v)) throw new UsageError(`--p must be a number > 1 or inf (got ${JSON.stringify(raw)})`);
  return v;
}

function toConfig(f: Record<string, unknown>, base: TrainConfig): { config: TrainConfig; rhoGiven: boolean } {
  const c: TrainConfig = { ...base };
  const map: [string, keyof TrainConfig][] = [
    ["dataset", "dataset"], ["model", "model"], ["hidden", "hidden"], ["batch-norm", "batchNorm"], ["optimizer", "optimizer"],
    ["base", "base"], ["lr", "lr"], ["momentum", "momentum"], ["weight-decay", "weightDecay"], ["rho", "rho"], ["eta", "eta"],
    ["sigma", "sigma"], ["lambda", "lambda"], ["m", "m"], ["epochs", "epochs"], ["batch-size", "batchSize"],
    ["label-noise", "labelNoise"], ["train-size", "trainSize"], ["seed", "seed"], ["lr-schedule", "lrSchedule"],
    ["rho-schedule", "rhoSchedule"], ["switch-epoch", "switchEpoch"], ["alpha", "alpha"], ["k", "k"], ["steps", "steps"],
    ["noise-std", "noiseStd"], ["penalty", "penalty"], ["gnr-method", "gnrMethod"], ["r", "r"], ["ascent-batch", "ascentBatch"],
    ["full-grad-every", "fullGradEvery"], ["full-grad-size", "fullGradSize"], ["non-finite", "nonFinite"],
  ];
  for (const [flag, key] of map) if (f[flag] !== undefined) (c as Record<string, unknown>)[key] = f[flag];
  if (f.p !== undefined) c.p = parseP(String(f.p));
  return { config: c, rhoGiven: f.rho !== undefined };
}

function loadData(name: TrainConfig["dataset"]): ImageDataset {
  process.stderr.write(`loading ${name}…\n`);
  return name === "mnist" ? loadMnist() : loadFashionMnist();
}

let threadsOn = false;

/** A progress bar on each step and a metrics line (plus `onEpoch`) after each epoch. */
function runHooks(label: string, seed: number, metrics: string, onEpoch?: (e: EpochRecord) => void): TrainHooks {
  const bar = progressBar(`${label} s${seed}`);
  return {
    onStep: (e) => bar.update((e.epoch - 1 + e.step / e.steps) / e.epochs, `epoch ${e.epoch}/${e.epochs} loss ${e.loss.toFixed(3)}`),
    onEpoch: (e) => {
      bar.done();
      appendFileSync(metrics, JSON.stringify({ optimizer: label, seed, ...e }) + "\n");
      onEpoch?.(e);
    },
  };
}

/** `--measure-every N --measure a,b`: light instrument settings (20 ascent steps, m 128). */
function measureHooks(f: Record<string, unknown>): Pick<TrainHooks, "measure" | "measureEvery"> {
  if (f["measure-every"] === undefined) {
    if (f.measure !== undefined) throw new UsageError("--measure needs --measure-every N");
    return {};
  }
  const every = f["measure-every"] as number;
  if (!(every >= 1)) throw new UsageError(`--measure-every must be an integer ≥ 1 (got ${every})`);
  const which = (f.measure as string[]) ?? ["m-sharpness", "hessian"];
  const known = ["m-sharpness", "adaptive", "average", "hessian"];
  for (const w of which) if (!known.includes(w)) throw new UsageError(`--measure: unknown measure ${JSON.stringify(w)} (known: ${known.join(", ")})`);
  return {
    measureEvery: every,
    measure: async ({ params, loss, points }) => {
      const s = await import("../sharpness/index.js");
      const batches = [0, 1, 2, 3].map((i) => ({ x: points.x.ref.slice([128 * i, 128 * (i + 1)]), y: points.y.ref.slice([128 * i, 128 * (i + 1)]) })).filter((b) => b.y.shape[0] === 128);
      const out: Record<string, number> = {};
      try {
        if (which.includes("m-sharpness")) out.mSharpness = (await s.mSharpness(loss, params, batches, { rho: 0.05, steps: 20 })).sharpness;
        if (which.includes("adaptive")) out.adaptiveSharpness = (await s.mSharpness(loss, params, batches, { rho: 0.5, steps: 20, ball: "adaptive" })).sharpness;
        if (which.includes("average")) out.averageSharpness = (await s.averageSharpness(loss, params, points, { sigma: 0.01, samples: 20 })).sharpness;
        if (which.includes("hessian")) out.lambdaMax = (await s.topEigenvalue(loss, params, points, { iterations: 20 })).lambdaMax;
      } finally {
        for (const b of batches) {
          b.x.dispose();
          b.y.dispose();
        }
      }
      return out;
    },
  };
}

const pct = (x: number | null) => (x === null ? "  -  " : (100 * x).toFixed(2).padStart(6) + "%");

async function trainCommand(argv: string[]): Promise<number> {
  const f = parseFlags(argv, TRAIN_FLAGS, "train");
  if (f.help) {
    process.stdout.write(helpText("Usage: sharpness train [flags]", "Train one model and print test accuracy per epoch.", TRAIN_FLAGS));
    return 0;
  }
  let config: TrainConfig;
  let out: string;
  let resumeFrom: string | undefined;
  let history: EpochRecord[] = [];
  if (f.resume !== undefined) {
    const extra = Object.keys(f).filter((k) => !["resume", "checkpoint-every", "device", "threads"].includes(k));
    if (extra.length) throw new UsageError(`--resume takes the configuration from the checkpoint; drop --${extra[0]}`);
    out = resolve(String(f.resume));
    const found = findLatest(join(out, "checkpoints"));
    if (!found) throw new UsageError(`--resume ${out}: no checkpoint under ${join(out, "checkpoints")}`);
    resumeFrom = found;
    const meta = readCheckpointMeta(found);
    config = validateConfig(configFromJson(meta.config));
    history = meta.history;
  } else {
    const parsed = toConfig(f, DEFAULTS);
    config = parsed.config;
    if (!parsed.rhoGiven) config.rho = defaultRho(config.optimizer);
    validateConfig(config);
    out = resolve(String(f.out ?? "runs/train"));
  }
  const device = await initEngine((f.device as "auto") ?? "auto");
  const data = loadData(config.dataset);
  mkdirSync(out, { recursive: true });
  const metrics = join(out, "metrics.jsonl");
  // On resume the metrics file is rewritten from the checkpoint, dropping lines of lost work.
  writeFileSync(metrics, history.map((e) => JSON.stringify({ optimizer: config.optimizer, seed: config.seed, ...e }) + "\n").join(""));
  let stopRequested = false;
  const onInterrupt = () => {
    stopRequested = true;
    process.stderr.write("\ninterrupt: finishing the current step and writing a checkpoint (interrupt again to abort)\n");
  };
  process.once("SIGINT", onInterrupt);
  process.stdout.write(`${config.optimizer} (base ${config.base}, ρ ${config.rho}) on ${config.dataset}, ${config.model}, device ${device}${threadsOn ? " (threads)" : ""}${resumeFrom ? `, resumed from ${resumeFrom}` : ""}\n`);
  process.stdout.write("epoch  train-loss  test-acc  test-loss  train-acc  noisy-fit   time\n");
  const printEpoch = (e: EpochRecord) =>
    process.stdout.write(`${String(e.epoch).padStart(5)}  ${e.trainLoss.toFixed(4).padStart(10)}  ${pct(e.testAccuracy)}  ${e.testLoss.toFixed(4).padStart(9)}  ${pct(e.trainAccuracy)}  ${pct(e.noisyTrainAccuracy)}  ${e.seconds.toFixed(1).padStart(5)}s${e.measures ? "  " + Object.entries(e.measures).map(([k, v]) => `${k} ${v.toPrecision(4)}`).join(" ") : ""}\n`);
  history.forEach(printEpoch);
  const r = await train(config, data, {
    ...runHooks(config.optimizer, config.seed, metrics, printEpoch),
    checkpointDir: join(out, "checkpoints"),
    checkpointEvery: f["checkpoint-every"] as number | undefined,
    resumeFrom,
    shouldStop: () => stopRequested,
    ...measureHooks(f),
  }).finally(() => process.removeListener("SIGINT", onInterrupt));
  if (r.interrupted) {
    process.stdout.write(`interrupted; checkpoint ${r.checkpoint}; continue with: sharpness train --resume ${out}\n`);
    return 130;
  }
  const s = summarize(config.optimizer, r);
  writeFileSync(join(out, "result.json"), JSON.stringify({ config, result: s }, null, 2));
  if (r.skippedSteps) process.stdout.write(`warning: ${r.skippedSteps} of ${r.stepsPerEpoch * config.epochs} steps were skipped for NaN/Inf (parameters left unchanged on those steps)\n`);
  if (s.epochs > 0) process.stdout.write(`final test accuracy ${pct(s.testAccuracy)} (best ${pct(s.bestTestAccuracy)} at epoch ${s.bestEpoch}), ${r.seconds.toFixed(1)} s; wrote ${out}\n`);
  else process.stdout.write(`no epoch completed (${r.seconds.toFixed(1)} s); wrote ${out}\n`);
  return 0;
}

async function compareCommand(argv: string[]): Promise<number> {
  const f = parseFlags(argv, COMPARE_FLAGS, "compare");
  if (f.help) {
    process.stdout.write(
      helpText(
        "Usage: sharpness compare [flags]",
        `Run several optimizers (and seeds) on one setting; write summary.json, report.html and\nmetrics.jsonl into --out (default runs/compare). Without flags this is the default comparison:\n${CLAIM.setting}`,
        COMPARE_FLAGS,
      ),
    );
    return 0;
  }
  const { config, rhoGiven } = toConfig(f, DEFAULT_COMPARISON.config);
  const specs = ((f.optimizers as string[]) ?? DEFAULT_COMPARISON.optimizers).map(parseOptimizerSpec);
  const seeds = ((f.seeds as string[]) ?? DEFAULT_COMPARISON.seeds.map(String)).map((s) => {
    const v = Number(s);
    if (!Number.isInteger(v) || v < 0) throw new UsageError(`--seeds must list integers ≥ 0 (got ${JSON.stringify(s)})`);
    return v;
  });
  validateConfig({ ...config, optimizer: "sgd", rho: 0, m: 0 });
  const out = resolve(String(f.out ?? "runs/compare"));
  const device = await initEngine((f.device as "auto") ?? "auto");
  const data = loadData(config.dataset);
  mkdirSync(out, { recursive: true });
  const metrics = join(out, "metrics.jsonl");
  writeFileSync(metrics, "");
  const started = Date.now();
  const results: RunSummary[] = await compare(config, specs, seeds, rhoGiven, data, {
    onRunStart: (label, seed, i, n, c) => process.stdout.write(`[${i + 1}/${n}] ${label} seed ${seed} (ρ ${c.rho})\n`),
    onRunEnd: (s) =>
      process.stdout.write(`      test ${pct(s.testAccuracy)} (best ${pct(s.bestTestAccuracy)} @${s.bestEpoch}), noisy-fit ${pct(s.noisyTrainAccuracy)}, ${s.seconds.toFixed(1)} s${s.skippedSteps ? `, ${s.skippedSteps} steps skipped (NaN/Inf)` : ""}\n`),
    trainHooks: (label, seed) => runHooks(label, seed, metrics),
  });
  const summary = {
    config: { ...config, optimizers: specs.map((s) => s.label), seeds, device, dataSplit: data.split },
    claim: CLAIM,
    results,
    totalSeconds: (Date.now() - started) / 1000,
  };
  writeFileSync(join(out, "summary.json"), JSON.stringify(summary, null, 2));
  const verdict = await writeReport(join(out, "report.html"), summary);
  process.stdout.write(`\n${verdict}\nwrote ${join(out, "summary.json")} and ${join(out, "report.html")} (${summary.totalSeconds.toFixed(0)} s)\n`);
  return 0;
}

export async function main(argv: string[], opts: { threads?: boolean } = {}): Promise<number> {
  threadsOn = !!opts.threads;
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined || cmd === "--help" || cmd === "-h" || cmd === "help") {
      process.stdout.write(TOP_HELP);
      return cmd === undefined ? 2 : 0;
    }
    if (cmd === "train") return await trainCommand(rest);
    if (cmd === "compare") return await compareCommand(rest);
    if (cmd === "measure") return await (await import("./measure.js")).measureCommand(rest);
    if (cmd === "interpolate") return await (await import("./measure.js")).interpolateCommand(rest);
    throw new UsageError(`unknown command ${JSON.stringify(cmd)} (commands: train, compare, measure, interpolate; see sharpness --help)`);
  } catch (e) {
    const err = e as Error;
    if (process.env.SHARPNESS_DEBUG) process.stderr.write(`${err.stack}\n`);
    if (err instanceof NonFiniteError) {
      process.stderr.write(`sharpness: ${err.message}\n`);
      return 1;
    }
    if (err instanceof UsageError || err instanceof ConfigError || err instanceof DataError || err instanceof RangeError || err instanceof CheckpointError) {
      process.stderr.write(`sharpness: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`sharpness: internal error: ${err.message.split("\n")[0]} (run with SHARPNESS_DEBUG=1 for details)\n`);
    return 1;
  }
}
