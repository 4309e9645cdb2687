/**
 * `sharpness train` and `sharpness compare`. Every bad input ends with one line on stderr and
 * exit code 2; no stack traces (set SHARPNESS_DEBUG=1 to see them). Training flags come from
 * the registry (spec-flags.ts) and build a run spec.
 */
import { mkdirSync, writeFileSync, appendFileSync, readFileSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { initEngine } from "../engine/device.js";
import { loadFashionMnist } from "../data/fashion-mnist.js";
import { loadMnist } from "../data/mnist.js";
import { DataError } from "../data/errors.js";
import type { ImageDataset } from "../data/types.js";
import { findLatest, readCheckpointMeta, CheckpointError } from "../train/checkpoint.js";
import { NonFiniteError } from "../sam/core.js";
import { train, type EpochRecord, type TrainHooks } from "../train/trainer.js";
import { fillSpec, SpecError, specLabel, type RunSpec } from "../train/spec.js";
import { toRunResult } from "../train/result.js";
import { optimizerFromToken } from "../train/compare.js";
import { DEFAULT_COMPARISON, CLAIM, TRAIN_PRESET } from "../train/default-comparison.js";
import { writeFileAtomic } from "../sweep/store.js";
import { UsageError, helpText, parseFlags, type FlagSpec } from "./args.js";
import { progressBar } from "./progress.js";
import { FLAG_INFO, applyFlags, flagMessage, specFlags, SPEC_FLAG_NAMES } from "./spec-flags.js";
import { runSweepCommand, reportCommand, sweepCommand, workerCommand, SWEEP_RUN_FLAGS } from "./sweep.js";

const SPEC_FLAGS = specFlags();
const COMMON: Record<string, FlagSpec> = {
  ...SPEC_FLAGS,
  out: { kind: "string", help: "output directory" },
  device: { kind: "string", choices: ["auto", "wasm", "webgpu", "cpu"], help: "jax-js device (default auto)" },
  threads: { kind: "bool", help: "wasm worker threads in Node (also SHARPNESS_THREADS=1; default: on for the CNN without --m on 2+ cores, where they pay; --threads=false to refuse)" },
  help: { kind: "bool", help: "show this help" },
};

const TRAIN_FLAGS: Record<string, FlagSpec> = {
  spec: { kind: "string", help: "a run spec (JSON file); flags override its fields" },
  ...COMMON,
  "checkpoint-every": { kind: "int", help: "write a checkpoint every N steps (one is always written at the end)" },
  resume: { kind: "string", help: "continue the run in DIR from its latest checkpoint (its own spec)" },
  "measure-every": { kind: "int", help: "record instruments every N epochs (on 512 fixed training points)" },
  measure: { kind: "list", help: "which: m-sharpness, adaptive, average, hessian (default m-sharpness,hessian)" },
};

const COMPARE_FLAGS: Record<string, FlagSpec> = {
  ...COMMON,
  optimizers: { kind: "list", help: "optimizers, with overrides as name:key=value (e.g. asam:rho=1:adaptiveLeaves=weights)" },
  seeds: { kind: "list", help: "seeds, e.g. 0,1,2" },
  ...SWEEP_RUN_FLAGS,
};

const TOP_HELP = `sharpness — Sharpness-Aware Minimization workbench (jax-js)

Usage:
  sharpness train [flags]     train one model (flags or --spec FILE), write result.json, metrics.jsonl
  sharpness compare [flags]   several optimizers/seeds on one setting, on every core → summary.json, report.html
  sharpness sweep --spec SWEEP.json --out DIR [--jobs N | --queue redis://HOST:PORT]
                              a grid/random sweep of run specs; resumable; report.html
  sharpness worker --queue redis://HOST:PORT [--jobs N]   run queued sweep jobs on this machine
  sharpness report DIR        (re)build summary.json and report.html from the results in DIR
  sharpness measure --checkpoint DIR   sharpness measures of a trained run (table + JSON)
  sharpness rho-finder [flags]   is SAM worth it here, with which ρ? a ρ grid on a validation split → CI, plot
  sharpness interpolate A B   loss and accuracy between two runs (JSON + SVG)
  sharpness reproduce [ID…] --out DIR [--scale quick|default|full]
                              the papers' claims as experiments with verdicts → DIR/index.html
  sharpness reproduce --list  the experiments: id, source, claim
  sharpness diag-net (--data FILE | --seed S) --method erm|n-sam|1-sam --out DIR
                              a diagonal linear network run (002 §4.2), exact float64
  sharpness <command> --help  flags of a command
`;

/** The named data set, announced on stderr (loading takes a moment). */
export function loadData(name: string): ImageDataset {
  process.stderr.write(`loading ${name}…\n`);
  return name === "mnist" ? loadMnist() : loadFashionMnist();
}

/** A JSON file, or a one-line UsageError naming it. */
export function readJsonFile(path: string, what: string): unknown {
  if (!existsSync(path)) throw new UsageError(`${what} ${path}: no such file`);
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UsageError(`${what} ${path}: not valid JSON (${(e as Error).message.split("\n")[0]})`);
  }
}

let threadsOn = false;
let threadsAuto = false;

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

/** "gap 0.0123 |g| 1.234 |eps| 0.05 cos 0.981" (the telemetry of an epoch; "-" where absent). */
const telemetryText = (t: Record<string, number | null>) =>
  (
    [
      ["gap", "gap"],
      ["|g|", "gradNorm"],
      ["|eps|", "epsNorm"],
      ["cos", "cosine"],
    ] as const
  )
    .map(([label, k]) => `${label} ${t[k] === null ? "-" : t[k]!.toPrecision(3)}`)
    .join(" ");

export const pct = (x: number | null) => (x === null ? "  -  " : (100 * x).toFixed(2).padStart(6) + "%");

/** The spec `train` runs: --spec FILE (or the train preset) with the flags applied. */
function trainSpec(f: Record<string, unknown>): RunSpec {
  let preset: Record<string, any> = TRAIN_PRESET;
  let where = "";
  if (f.spec !== undefined) {
    const file = resolve(String(f.spec));
    const raw = readJsonFile(file, "--spec");
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new UsageError(`--spec ${file}: a run spec must be a JSON object`);
    preset = raw as Record<string, any>;
    where = `--spec ${file}: `;
  }
  const s = applyFlags(preset, f);
  try {
    return fillSpec(s);
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    // A field the flags set is named by its flag, one from the file by its path.
    const byFlag = SPEC_FLAG_NAMES.some((n) => f[n] !== undefined && flagMessage(e).includes(`--${n}`));
    throw new UsageError(byFlag || !where ? flagMessage(e) : `${where}${e.message}`);
  }
}

async function trainCommand(argv: string[]): Promise<number> {
  const f = parseFlags(argv, TRAIN_FLAGS, "train");
  if (f.help) {
    process.stdout.write(helpText("Usage: sharpness train [--spec FILE] [flags]", "Train one run and print test accuracy per epoch. The flags build a run spec (see README \"Run specs\"),\nstarting from --spec FILE or from SAM ρ 0.05 on SGD (lr 0.05, momentum 0.9, weight decay 5e-4),\nFashion-MNIST (10,000 images), MLP 784-256-10, batch 128, 10 epochs.", TRAIN_FLAGS));
    return 0;
  }
  let spec: RunSpec;
  let out: string;
  let resumeFrom: string | undefined;
  let history: EpochRecord[] = [];
  if (f.resume !== undefined) {
    const extra = Object.keys(f).filter((k) => !["resume", "checkpoint-every", "device", "threads"].includes(k));
    if (extra.length) throw new UsageError(`--resume takes the run spec from the checkpoint; drop --${extra[0]}`);
    out = resolve(String(f.resume));
    const found = findLatest(join(out, "checkpoints"));
    if (!found) throw new UsageError(`--resume ${out}: no checkpoint under ${join(out, "checkpoints")}`);
    resumeFrom = found;
    const meta = readCheckpointMeta(found);
    spec = fillSpec(meta.spec);
    history = meta.history;
  } else {
    spec = trainSpec(f);
    out = resolve(String(f.out ?? "runs/train"));
  }
  const device = await initEngine((f.device as "auto") ?? "auto");
  const data = loadData(spec.data.name);
  mkdirSync(out, { recursive: true });
  writeFileAtomic(join(out, "spec.json"), JSON.stringify(spec, null, 2) + "\n");
  const metrics = join(out, "metrics.jsonl");
  const line = (e: EpochRecord) => JSON.stringify({ optimizer: spec.optimizer.name, seed: spec.seed, ...e }) + "\n";
  // On resume the metrics file is rewritten from the checkpoint, dropping lines of lost work.
  writeFileSync(metrics, history.map(line).join(""));
  let stopRequested = false;
  const onInterrupt = () => {
    stopRequested = true;
    process.stderr.write("\ninterrupt: finishing the current step and writing a checkpoint (interrupt again to abort)\n");
  };
  process.once("SIGINT", onInterrupt);
  const label = specLabel(spec);
  process.stdout.write(`${label} (base ${spec.optimizer.base.name}) on ${spec.data.name}, ${spec.model.name}, device ${device}${threadsOn ? (threadsAuto ? " (threads, chosen for this model)" : " (threads)") : ""}${resumeFrom ? `, resumed from ${resumeFrom}` : ""}\n`);
  process.stdout.write("epoch  train-loss  test-acc  test-loss  train-acc  noisy-fit   time\n");
  const printEpoch = (e: EpochRecord) =>
    process.stdout.write(`${String(e.epoch).padStart(5)}  ${e.trainLoss.toFixed(4).padStart(10)}  ${pct(e.testAccuracy)}  ${e.testLoss.toFixed(4).padStart(9)}  ${pct(e.trainAccuracy)}  ${pct(e.noisyTrainAccuracy)}  ${e.seconds.toFixed(1).padStart(5)}s${e.measures ? "  " + Object.entries(e.measures).map(([k, v]) => `${k} ${v.toPrecision(4)}`).join(" ") : ""}${e.telemetry ? "  " + telemetryText(e.telemetry) : ""}\n`);
  history.forEach(printEpoch);
  const bar = progressBar(`${spec.optimizer.name} s${spec.seed}`);
  const hooks: TrainHooks = {
    onStep: (e) => bar.update((e.epoch - 1 + e.step / e.steps) / e.epochs, `epoch ${e.epoch}/${e.epochs} loss ${e.loss.toFixed(3)}`),
    onEpoch: (e) => {
      bar.done();
      appendFileSync(metrics, line(e));
      printEpoch(e);
    },
  };
  const r = await train(spec, data, {
    ...hooks,
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
  if (r.history.length === 0) {
    process.stdout.write(`no epoch completed (${r.seconds.toFixed(1)} s); wrote ${out}\n`);
    return 0;
  }
  const result = toRunResult(r, device);
  writeFileAtomic(join(out, "result.json"), JSON.stringify(result, null, 1) + "\n");
  if (r.skippedSteps) process.stdout.write(`warning: ${r.skippedSteps} of ${r.stepsPerEpoch * spec.epochs} steps were skipped for NaN/Inf (parameters left unchanged on those steps)\n`);
  const m = result.metrics;
  process.stdout.write(`final test accuracy ${pct(m.testAccuracy)} (best ${pct(m.bestTestAccuracy)} at epoch ${m.bestEpoch}), ${r.seconds.toFixed(1)} s; key ${result.key}; wrote ${out}\n`);
  return 0;
}

/** The specs of a comparison: each optimizer token × each seed on the common setting. */
export function comparisonSpecs(f: Record<string, unknown>): { specs: Record<string, any>[]; isDefault: boolean } {
  const common = applyFlags(DEFAULT_COMPARISON.spec, { ...f, optimizer: undefined });
  const tokens = (f.optimizers as string[] | undefined) ?? DEFAULT_COMPARISON.optimizers;
  const seeds = ((f.seeds as string[] | undefined) ?? DEFAULT_COMPARISON.seeds.map(String)).map((s) => {
    const v = Number(s);
    if (!Number.isInteger(v) || v < 0) throw new UsageError(`--seeds must list integers ≥ 0 (got ${JSON.stringify(s)})`);
    return v;
  });
  // Algorithm flags (--rho …) go to every optimizer that takes them; tokens override them.
  const algoFlags = Object.entries(f).filter(([k, v]) => v !== undefined && FLAG_INFO[k]?.where === "optimizer");
  const specs: Record<string, any>[] = [];
  for (const seed of seeds) {
    for (const token of tokens) {
      let optimizer: Record<string, unknown>;
      try {
        optimizer = optimizerFromToken(token, common.optimizer.base);
      } catch (e) {
        if (e instanceof SpecError) throw new UsageError(e.message);
        throw e;
      }
      const name = optimizer.name as string;
      const fromFlags = Object.fromEntries(algoFlags.filter(([k]) => FLAG_INFO[k].owners.some((o) => o.name === name)).map(([k, v]) => [FLAG_INFO[k].field, v]));
      const tokenOnly = Object.fromEntries(Object.entries(optimizer).filter(([k]) => k !== "name" && k !== "base"));
      const spec = { ...common, seed, optimizer: { ...fromFlags, ...tokenOnly, name, base: optimizer.base } };
      try {
        specs.push(fillSpec(spec));
      } catch (e) {
        if (e instanceof SpecError) throw new UsageError(`${token} seed ${seed}: ${flagMessage(e)}`);
        throw e;
      }
    }
  }
  const isDefault = f.optimizers === undefined && f.seeds === undefined && !Object.keys(f).some((k) => SPEC_FLAG_NAMES.includes(k) && f[k] !== undefined);
  return { specs, isDefault };
}

async function compareCommand(argv: string[]): Promise<number> {
  const f = parseFlags(argv, COMPARE_FLAGS, "compare");
  if (f.help) {
    process.stdout.write(
      helpText(
        "Usage: sharpness compare [flags]",
        `Run several optimizers (and seeds) on one setting, one process per core; write runs/<key>/,\nsummary.json, report.html and metrics.jsonl into --out (default runs/compare). A rerun skips\nfinished runs. Without flags this is the default comparison:\n${CLAIM.setting}`,
        COMPARE_FLAGS,
      ),
    );
    return 0;
  }
  if (f.optimizer !== undefined) throw new UsageError("compare: use --optimizers a,b,… (not --optimizer)");
  const { specs, isDefault } = comparisonSpecs(f);
  const out = resolve(String(f.out ?? "runs/compare"));
  return runSweepCommand(specs, out, f, { title: "optimizer comparison", claim: isDefault ? CLAIM : undefined, definition: { compare: { optimizers: f.optimizers ?? DEFAULT_COMPARISON.optimizers, seeds: f.seeds ?? DEFAULT_COMPARISON.seeds } }, combinedMetrics: true });
}

export async function main(argv: string[], opts: { threads?: boolean; threadsAuto?: boolean } = {}): Promise<number> {
  threadsOn = !!opts.threads;
  threadsAuto = !!opts.threadsAuto;
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined || cmd === "--help" || cmd === "-h" || cmd === "help") {
      process.stdout.write(TOP_HELP);
      return cmd === undefined ? 2 : 0;
    }
    if (cmd === "train") return await trainCommand(rest);
    if (cmd === "compare") return await compareCommand(rest);
    if (cmd === "sweep") return await sweepCommand(rest);
    if (cmd === "worker") return await workerCommand(rest);
    if (cmd === "report") return await reportCommand(rest);
    if (cmd === "measure") return await (await import("./measure.js")).measureCommand(rest);
    if (cmd === "interpolate") return await (await import("./measure.js")).interpolateCommand(rest);
    if (cmd === "diag-net") return await (await import("./diag-net.js")).diagNetCommand(rest);
    if (cmd === "reproduce") return await (await import("./reproduce.js")).reproduceCommand(rest);
    if (cmd === "rho-finder") return await (await import("./rho-finder.js")).rhoFinderCommand(rest);
    throw new UsageError(`unknown command ${JSON.stringify(cmd)} (commands: train, compare, sweep, worker, report, measure, interpolate, diag-net, reproduce, rho-finder; see sharpness --help)`);
  } catch (e) {
    const err = e as Error;
    if (process.env.SHARPNESS_DEBUG) process.stderr.write(`${err.stack}\n`);
    if (err instanceof NonFiniteError) {
      process.stderr.write(`sharpness: ${err.message}\n`);
      return 1;
    }
    if (err instanceof UsageError || err instanceof SpecError || err instanceof DataError || err instanceof RangeError || err instanceof CheckpointError || err.name === "QueueError") {
      process.stderr.write(`sharpness: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`sharpness: internal error: ${err.message.split("\n")[0]} (run with SHARPNESS_DEBUG=1 for details)\n`);
    return 1;
  }
}
