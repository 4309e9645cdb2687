/**
 * `sharpness train` and `sharpness compare`. Every bad input ends with one line on stderr and
 * exit code 2; no stack traces (set SHARPNESS_DEBUG=1 to see them). Training flags come from
 * the registry (spec-flags.ts) and build a run spec.
 */
import { writeFileSync, appendFileSync, readFileSync, existsSync, statSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { initEngine } from "../engine/device.js";
import { loadFashionMnist } from "../data/fashion-mnist.js";
import { loadMnist } from "../data/mnist.js";
import { DataError } from "../data/errors.js";
import type { ImageDataset } from "../data/types.js";
import { findLatest, readCheckpointMeta, CheckpointError } from "../train/checkpoint.js";
import { NonFiniteError } from "../sam/core.js";
import { decodeSafetensors, SafetensorsError } from "../engine/safetensors.js";
import { train, type EpochRecord, type TrainHooks } from "../train/trainer.js";
import { fillSpec, MAX_NESTING, nestedDeeperThan, runKey, SpecError, specLabel, type RunSpec } from "../train/spec.js";
import { isDiverged, RESULT_FORMAT, toRunResult, type RunResult } from "../train/result.js";
import { optimizerFromToken } from "../train/compare.js";
import { ALGORITHMS } from "../train/registry.js";
import { DEFAULT_COMPARISON, CLAIM, TRAIN_PRESET } from "../train/default-comparison.js";
import { isValidResult, writeFileAtomic } from "../sweep/store.js";
import { MAX_SWEEP_RUNS } from "../sweep/grid.js";
import { UsageError, helpText, parseFlags, type FlagSpec } from "./args.js";
import { progressBar } from "./progress.js";
import { FLAG_INFO, applyFlags, flagMessage, specFlags, SPEC_FLAG_NAMES } from "./spec-flags.js";
import { checkPathText, checkWritableDir, prepareOutDir, showPath } from "./out-dir.js";
import { checkRunFlags, runSweepCommand, reportCommand, sweepCommand, workerCommand, SWEEP_RUN_FLAGS, DRY_RUN_FLAG } from "./sweep.js";

const SPEC_FLAGS = specFlags();
const COMMON: Record<string, FlagSpec> = {
  ...SPEC_FLAGS,
  out: { kind: "string", help: "output directory" },
  ...DRY_RUN_FLAG,
  device: { kind: "string", choices: ["auto", "wasm", "webgpu", "cpu"], help: "jax-js device (default auto)" },
  threads: { kind: "bool", help: "wasm worker threads in Node (also SHARPNESS_THREADS=1; default: on for the CNN without --m on 2+ cores, where they pay; --threads=false to refuse)" },
  help: { kind: "bool", help: "show this help" },
};

export const TRAIN_FLAGS: Record<string, FlagSpec> = {
  spec: { kind: "string", help: "a run spec (JSON file); flags override its fields" },
  ...COMMON,
  overwrite: { kind: "bool", help: "replace the run --out already holds (its result, metrics and checkpoints); without it such an --out is refused" },
  "checkpoint-every": { kind: "int", help: "write a checkpoint every N steps (one is always written at the end)" },
  resume: { kind: "string", help: "continue the run in DIR from its latest checkpoint (its own spec)" },
  "measure-every": { kind: "int", help: "record instruments every N epochs (on 512 fixed training points)" },
  measure: { kind: "list", help: "which: m-sharpness, adaptive, average, hessian (default m-sharpness,hessian)" },
};

export const COMPARE_FLAGS: Record<string, FlagSpec> = {
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

/** The largest JSON file a command reads (specs are a few hundred bytes; diag-net data files can be large). */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;

/**
 * A JSON file, or a one-line UsageError naming it: missing, a directory, unreadable, larger than
 * MAX_JSON_BYTES, not JSON, or nested more than MAX_NESTING levels deep.
 */
export function readJsonFile(path: string, what: string): unknown {
  const shown = `${what} ${showPath(path)}`;
  if (path.trim() === "") throw new UsageError(`${what} needs a file name (got "")`);
  if (path.includes("\0")) throw new UsageError(`${shown}: a path cannot contain a NUL character`);
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new UsageError(`${shown}: is a directory, not a JSON file`);
    size = st.size;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(code === "ENOENT" || code === "ENOTDIR" ? `${shown}: no such file` : `${shown}: cannot read it (${code ?? (e as Error).message})`);
  }
  if (size > MAX_JSON_BYTES) throw new UsageError(`${shown}: ${(size / 2 ** 20).toFixed(0)} MiB is more than the ${MAX_JSON_BYTES / 2 ** 20} MiB a JSON input may have`);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`${shown}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${shown}: not valid JSON (${oneLine((e as Error).message, 200)})`);
  }
  if (nestedDeeperThan(json)) throw new UsageError(`${shown}: nests lists or objects more than ${MAX_NESTING} levels deep`);
  return json;
}

/** A message made one terminal line: control characters (newlines included) escaped, cut to `max` characters. */
export function oneLine(text: string, max = 2000): string {
  const s = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => (c === "\n" ? "\\n" : c === "\t" ? " " : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`));
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** RangeErrors that are the engine's or V8's, not a message of ours about a value. */
const INTERNAL_RANGE = /Maximum call stack|Invalid (typed )?array length|Invalid string length|Array buffer allocation failed|out of memory|WebAssembly/i;

/**
 * How `main` reports an error: a bad input (exit 2), a run stopped by the non-finite policy
 * "error" (exit 1), or an internal error (exit 1) — one line for stderr each, no stack.
 */
export function errorReport(e: unknown): { code: 1 | 2; line: string; internal: boolean } {
  const err = (e instanceof Error ? e : new Error(String(e))) as Error;
  const msg = oneLine(err.message ?? "");
  if (err instanceof NonFiniteError) return { code: 1, line: `sharpness: ${msg}`, internal: false };
  // The engine's memory is a size the user chose (the model's width, the batch): say so, exit 2.
  if (/Allocation exceeds the \d+ GiB|Array buffer allocation failed|WebAssembly\.Memory/i.test(msg)) {
    return { code: 2, line: `sharpness: out of memory: the run does not fit in the engine's memory (${oneLine(msg, 120)}); use a smaller --hidden, --batch-size or data set`, internal: false };
  }
  const user = err instanceof UsageError || err instanceof SpecError || err instanceof DataError || err instanceof CheckpointError || err.name === "QueueError" || err.name === "SweepError" || (err instanceof RangeError && !INTERNAL_RANGE.test(msg));
  if (user) return { code: 2, line: `sharpness: ${msg}`, internal: false };
  return { code: 1, line: `sharpness: internal error: ${oneLine(msg.split("\\n")[0], 500)} (run with SHARPNESS_DEBUG=1 for details)`, internal: true };
}

/** The engine on `device`; a device this machine does not have is a one-line UsageError (exit 2). */
export async function startEngine(device: string): Promise<string> {
  try {
    return await initEngine(device as "auto");
  } catch (e) {
    const msg = (e as Error)?.message ?? String(e);
    if (/^device "/.test(msg)) throw new UsageError(`--device ${device}: ${oneLine(msg, 300)}`);
    throw e;
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
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new UsageError(`--spec ${showPath(file)}: a run spec must be a JSON object`);
    preset = raw as Record<string, any>;
    where = `--spec ${showPath(file)}: `;
  }
  try {
    return fillSpec(applyFlags(preset, f));
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    // A field the flags set is named by its flag, one from the file by its path.
    const byFlag = SPEC_FLAG_NAMES.some((n) => f[n] !== undefined && flagMessage(e).includes(`--${n}`));
    throw new UsageError(byFlag || !where ? flagMessage(e) : `${where}${e.message}`);
  }
}

const isInt = (v: unknown, min = 0): v is number => Number.isInteger(v) && (v as number) >= min;
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const LOSS_FIELDS = ["trainLoss", "testLoss", "validationLoss"] as const;
const FRACTION_FIELDS = ["testAccuracy", "trainAccuracy", "cleanTrainAccuracy", "validationAccuracy"] as const;

/**
 * A checkpoint's trainer.json checked before anything is loaded or written: its spec (filled, and
 * its key the one stored), its position consistent with the spec (epoch, step in the epoch, global
 * step, sums and counts), its history one well-formed record per finished epoch, its RNG state and
 * times. A CheckpointError (exit 2) names the first problem; a corrupted or hand-edited file is
 * refused instead of resuming a run from nonsense. (The tensors are checked when the trainer reads
 * them: names, shapes, dtypes, sizes.)
 */
export function checkResumeMeta(meta: Record<string, any>, dir: string): { spec: RunSpec; history: EpochRecord[] } {
  const sv = (v: unknown) => {
    let t: string;
    try {
      t = JSON.stringify(v) ?? String(v);
    } catch {
      t = String(v);
    }
    return oneLine(t, 40);
  };
  const bad = (what: string) => new CheckpointError(`checkpoint ${showPath(dir)}: trainer.json ${what}; it is corrupted (resume from an earlier checkpoint, or start the run again)`);
  let spec: RunSpec;
  try {
    spec = fillSpec(meta.spec);
  } catch (e) {
    if (e instanceof SpecError) throw bad(`has a spec that is not valid (${e.message})`);
    throw e;
  }
  if (meta.key !== runKey(spec)) throw bad(`names key ${sv(meta.key)}, but its spec hashes to ${runKey(spec)}`);
  const p = meta.position;
  if (p === null || typeof p !== "object") throw bad("has no position");
  const steps = Math.floor(spec.data.trainSize / spec.batchSize);
  if (!isInt(p.epoch, 1) || p.epoch > spec.epochs + 1) throw bad(`position.epoch must be an integer in [1, ${spec.epochs + 1}] (got ${sv(p.epoch)})`);
  if (!isInt(p.stepInEpoch) || p.stepInEpoch > steps || (p.epoch === spec.epochs + 1 && p.stepInEpoch !== 0)) throw bad(`position.stepInEpoch must be an integer in [0, ${steps}] (got ${sv(p.stepInEpoch)})`);
  if (p.t !== (p.epoch - 1) * steps + p.stepInEpoch) throw bad(`position.t ${sv(p.t)} does not match epoch ${p.epoch}, step ${p.stepInEpoch} (${steps} steps per epoch)`);
  if (!isNum(p.lossSum)) throw bad(`position.lossSum must be a finite number (got ${sv(p.lossSum)})`);
  // (The end-of-run checkpoint keeps the last epoch's count at step 0 of epoch epochs + 1.)
  if (!isInt(p.skippedInEpoch) || p.skippedInEpoch > steps) throw bad(`position.skippedInEpoch must be an integer in [0, ${steps}] (got ${sv(p.skippedInEpoch)})`);
  if (!isInt(p.skippedTotal) || p.skippedTotal > p.t || p.skippedTotal < p.skippedInEpoch) throw bad(`position.skippedTotal must be an integer in [${p.skippedInEpoch}, ${p.t}] (got ${sv(p.skippedTotal)})`);
  if (p.telemetry !== undefined) {
    const tel = p.telemetry;
    const six = (xs: unknown) => Array.isArray(xs) && xs.length === 6 && xs.every(isNum);
    if (tel === null || typeof tel !== "object" || !six(tel.sums) || !six(tel.counts) || !(tel.counts as number[]).every((c) => isInt(c))) throw bad("position.telemetry must hold sums and counts of the six telemetry quantities");
  }
  const h = meta.history;
  if (!Array.isArray(h) || h.length !== p.epoch - 1) throw bad(`history must list the ${p.epoch - 1} finished epochs (got ${Array.isArray(h) ? h.length : oneLine(typeof h, 20)})`);
  h.forEach((e: any, i: number) => {
    const where = `history[${i}]`;
    if (e === null || typeof e !== "object" || Array.isArray(e)) throw bad(`${where} is not an epoch record`);
    if (e.epoch !== i + 1) throw bad(`${where}.epoch must be ${i + 1} (got ${sv(e.epoch)})`);
    for (const k of LOSS_FIELDS) if (!(e[k] === null || isNum(e[k]) || (e[k] === undefined && k === "validationLoss"))) throw bad(`${where}.${k} must be a number or null (got ${sv(e[k])})`);
    for (const k of FRACTION_FIELDS) if (!((isNum(e[k]) && e[k] >= 0 && e[k] <= 1) || (e[k] === undefined && k === "validationAccuracy"))) throw bad(`${where}.${k} must be a fraction in [0, 1] (got ${sv(e[k])})`);
    if (!(e.noisyTrainAccuracy === null || (isNum(e.noisyTrainAccuracy) && e.noisyTrainAccuracy >= 0 && e.noisyTrainAccuracy <= 1))) throw bad(`${where}.noisyTrainAccuracy must be a fraction or null`);
    if (!isInt(e.skippedSteps) || e.skippedSteps > steps) throw bad(`${where}.skippedSteps must be an integer in [0, ${steps}]`);
    if (!(isNum(e.seconds) && e.seconds >= 0)) throw bad(`${where}.seconds must be a number ≥ 0`);
  });
  if (!isInt(meta.ascentRngState) || meta.ascentRngState > 0xffffffff) throw bad(`ascentRngState must be an integer in [0, 4294967295] (got ${sv(meta.ascentRngState)})`);
  if (!(isNum(meta.elapsedSeconds) && meta.elapsedSeconds >= 0)) throw bad("elapsedSeconds must be a number ≥ 0");
  if (meta.trainSeconds !== undefined && !(isNum(meta.trainSeconds) && meta.trainSeconds >= 0)) throw bad("trainSeconds must be a number ≥ 0");
  if (typeof meta.hasFullGrad !== "boolean") throw bad("hasFullGrad must be true or false");
  return { spec, history: h as EpochRecord[] };
}

/**
 * A checkpoint's tensor files decode (safetensors: header, entries, sizes) — checked before the
 * data is loaded; any problem, whatever the decoder throws, is a one-line CheckpointError. The
 * trainer then checks names, shapes and dtypes against the model and optimizer.
 */
export function checkCheckpointFiles(dir: string): void {
  for (const name of ["params.safetensors", "optimizer.safetensors"]) {
    const file = join(dir, name);
    if (!existsSync(file)) throw new CheckpointError(`checkpoint: missing file ${showPath(file)}`);
    try {
      decodeSafetensors(new Uint8Array(readFileSync(file)));
    } catch (e) {
      // The decoder's own errors name what is wrong; anything else it throws means a header it did not expect.
      const why = e instanceof SafetensorsError ? oneLine(e.message, 200) : "its header does not describe tensors";
      throw new CheckpointError(`checkpoint: ${showPath(file)} is corrupted (${why})`);
    }
  }
}

/** What `sharpness train` will do, from its arguments alone: every check that needs no engine, no data and no writes. */
export type TrainPlan =
  | { kind: "help" }
  | {
      kind: "train";
      spec: RunSpec;
      /** --out or --resume as given (checked by prepareOutDir / checkWritableDir when the command runs). */
      outGiven: string;
      out: string;
      resumeFrom?: string;
      history: EpochRecord[];
      checkpointEvery?: number;
      measure: Pick<TrainHooks, "measure" | "measureEvery">;
      device: string;
      dryRun: boolean;
      overwrite: boolean;
    };

/**
 * Parse and check `sharpness train` arguments (a UsageError/SpecError/CheckpointError on any
 * problem). Reads --spec and, with --resume, the checkpoint's trainer.json; writes nothing.
 */
export function planTrain(argv: string[]): TrainPlan {
  const f = parseFlags(argv, TRAIN_FLAGS, "train");
  if (f.help) return { kind: "help" };
  const every = f["checkpoint-every"] as number | undefined;
  if (every !== undefined && !(Number.isInteger(every) && every >= 1)) throw new UsageError(`--checkpoint-every must be an integer ≥ 1 (got ${every})`);
  const measure = measureHooks(f);
  const common = { checkpointEvery: every, measure, device: (f.device as string | undefined) ?? "auto", dryRun: !!f["dry-run"], overwrite: !!f.overwrite };
  if (f.resume !== undefined) {
    const extra = Object.keys(f).filter((k) => !["resume", "checkpoint-every", "device", "threads", "dry-run"].includes(k));
    if (extra.length) throw new UsageError(`--resume takes the run spec from the checkpoint; drop --${extra[0]}`);
    const outGiven = String(f.resume);
    const out = checkPathText(outGiven, "--resume");
    const found = findLatest(join(out, "checkpoints"));
    if (!found) throw new UsageError(`--resume ${showPath(out)}: no checkpoint under ${showPath(join(out, "checkpoints"))}`);
    const meta = readCheckpointMeta(found);
    const { spec, history } = checkResumeMeta(meta, found);
    checkCheckpointFiles(found);
    return { kind: "train", spec, outGiven, out, resumeFrom: found, history, ...common };
  }
  const spec = trainSpec(f);
  const outGiven = f.out === undefined ? "runs/train" : String(f.out);
  return { kind: "train", spec, outGiven, out: checkPathText(outGiven, "--out"), history: [], ...common };
}

/** A stored result.json of `dir`, parsed (null: none; "unreadable": there but not a result this version reads). */
function storedResult(dir: string): RunResult | "unreadable" | null {
  const file = join(dir, "result.json");
  if (!existsSync(file)) return null;
  try {
    const r = JSON.parse(readFileSync(file, "utf8"));
    return r?.format === RESULT_FORMAT && typeof r.key === "string" && isValidResult(r, r.key) ? (r as RunResult) : "unreadable";
  } catch {
    return "unreadable";
  }
}

const finalLine = (r: RunResult, seconds: number, out: string) => {
  const m = r.metrics;
  const diverged = isDiverged(r) ? " — DIVERGED: the final test loss is not finite, the accuracies mean nothing (lower --lr?)" : "";
  return `final test accuracy ${pct(m.testAccuracy)} (best ${pct(m.bestTestAccuracy)} at epoch ${m.bestEpoch})${diverged}, ${seconds.toFixed(1)} s; key ${r.key}; wrote ${out}\n`;
};

/**
 * A fresh `train --out DIR` where DIR already holds a run: the same spec finished is done (exit
 * 0, nothing rewritten); anything else is refused (exit 2) unless --overwrite, so that neither a
 * finished result nor an unfinished run's checkpoints are lost or mixed with another run's files.
 * With --overwrite the old run's files go first (a failed new run then leaves no stale result).
 */
function existingRun(out: string, spec: RunSpec, overwrite: boolean): "done" | null {
  const key = runKey(spec);
  const stored = storedResult(out);
  const latest = findLatest(join(out, "checkpoints"));
  if (overwrite) {
    if (stored || latest || existsSync(join(out, "checkpoints"))) {
      for (const f of ["result.json", "metrics.jsonl", "spec.json"]) rmSync(join(out, f), { force: true });
      rmSync(join(out, "checkpoints"), { recursive: true, force: true });
    }
    return null;
  }
  const hint = "choose another --out, or add --overwrite to replace it";
  if (stored === "unreadable") throw new UsageError(`--out ${showPath(out)} holds a result.json this version cannot read; ${hint}`);
  if (stored) {
    if (stored.key === key) {
      process.stdout.write(`already done: ${showPath(out)} holds this run's result (${stored.label}); --overwrite runs it again\n${finalLine(stored, stored.seconds, out)}`);
      return "done";
    }
    throw new UsageError(`--out ${showPath(out)} already holds a finished run of another spec (${oneLine(String(stored.label), 80)}, key ${stored.key}); ${hint}`);
  }
  if (latest) {
    let other = "";
    try {
      const meta = readCheckpointMeta(latest);
      if (meta.key !== key) other = ` of another spec (key ${oneLine(JSON.stringify(meta.key) ?? "none", 40)})`;
    } catch {
      other = " (its checkpoint is unreadable)";
    }
    if (!other) throw new UsageError(`--out ${showPath(out)} holds this run unfinished (${showPath(latest)}); continue it with sharpness train --resume ${showPath(out)}, or add --overwrite to start over`);
    throw new UsageError(`--out ${showPath(out)} holds an unfinished run${other}; ${hint}`);
  }
  return null;
}

async function trainCommand(argv: string[]): Promise<number> {
  const plan = planTrain(argv);
  if (plan.kind === "help") {
    process.stdout.write(helpText("Usage: sharpness train [--spec FILE] [flags]", "Train one run and print test accuracy per epoch. The flags build a run spec (see README \"Run specs\"),\nstarting from --spec FILE or from SAM ρ 0.05 on SGD (lr 0.05, momentum 0.9, weight decay 5e-4),\nFashion-MNIST (10,000 images), MLP 784-256-10, batch 128, 10 epochs.", TRAIN_FLAGS));
    return 0;
  }
  const { spec, resumeFrom } = plan;
  const history = plan.history;
  // The output directory before any data is loaded (one line, exit 2 when it cannot be used).
  const out = resumeFrom ? checkWritableDir(plan.outGiven, "--resume") : prepareOutDir(plan.outGiven, "--out");
  const key = runKey(spec);
  if (resumeFrom) {
    const stored = storedResult(out);
    if (stored && stored !== "unreadable" && stored.key === key && history.length === spec.epochs) {
      process.stdout.write(`already done: ${showPath(out)} holds this run's finished result; nothing to resume\n${finalLine(stored, stored.seconds, out)}`);
      return 0;
    }
  } else if (!(plan.dryRun && plan.overwrite) && existingRun(out, spec, plan.overwrite && !plan.dryRun) === "done") return 0;
  if (plan.dryRun) {
    const steps = Math.floor(spec.data.trainSize / spec.batchSize);
    process.stdout.write(`dry run: ${resumeFrom ? `would resume ${resumeFrom} at epoch ${history.length + 1}` : "would train"} ${specLabel(spec)} (base ${spec.optimizer.base.name}) on ${spec.data.name} (${spec.data.trainSize} images), ${spec.model.name}, ${spec.epochs} epochs of ${steps} steps; key ${key}; into ${out}\n`);
    return 0;
  }
  const device = await startEngine(plan.device);
  const data = loadData(spec.data.name);
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
  const num = (x: number, w: number) => (Number.isFinite(x) ? x.toFixed(4).padStart(w) : String(x).padStart(w));
  const printEpoch = (e: EpochRecord) =>
    process.stdout.write(`${String(e.epoch).padStart(5)}  ${num(e.trainLoss, 10)}  ${pct(e.testAccuracy)}  ${num(e.testLoss, 9)}  ${pct(e.trainAccuracy)}  ${pct(e.noisyTrainAccuracy)}  ${e.seconds.toFixed(1).padStart(5)}s${e.measures ? "  " + Object.entries(e.measures).map(([k, v]) => `${k} ${v.toPrecision(4)}`).join(" ") : ""}${e.telemetry ? "  " + telemetryText(e.telemetry) : ""}\n`);
  history.forEach(printEpoch);
  const bar = progressBar(`${spec.optimizer.name} s${spec.seed}`);
  const hooks: TrainHooks = {
    onStep: (e) => bar.update((e.epoch - 1 + e.step / e.steps) / e.epochs, `epoch ${e.epoch}/${e.epochs} loss ${Number.isFinite(e.loss) ? e.loss.toFixed(3) : e.loss}`),
    onEpoch: (e) => {
      bar.done();
      appendFileSync(metrics, line(e));
      printEpoch(e);
    },
  };
  const r = await train(spec, data, {
    ...hooks,
    checkpointDir: join(out, "checkpoints"),
    checkpointEvery: plan.checkpointEvery,
    resumeFrom,
    shouldStop: () => stopRequested,
    ...plan.measure,
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
  // A diverged run is a result (deterministic, stored, marked "diverged": true): exit 0, said loudly.
  if (isDiverged(result)) process.stderr.write(`warning: the run diverged (final test loss ${r.history[r.history.length - 1].testLoss}); result.json marks it "diverged": true\n`);
  process.stdout.write(finalLine(result, r.seconds, out));
  return 0;
}

/** The specs of a comparison: each optimizer token × each seed on the common setting. */
export function comparisonSpecs(f: Record<string, unknown>): { specs: Record<string, any>[]; isDefault: boolean } {
  const common = applyFlags(DEFAULT_COMPARISON.spec, { ...f, optimizer: undefined });
  const tokens = (f.optimizers as string[] | undefined) ?? DEFAULT_COMPARISON.optimizers;
  const seeds = ((f.seeds as string[] | undefined) ?? DEFAULT_COMPARISON.seeds.map(String)).map((s) => {
    const v = Number(s);
    if (!Number.isInteger(v) || v < 0) throw new UsageError(`--seeds must list integers ≥ 0 (got ${JSON.stringify(oneLine(s, 60))})`);
    return v;
  });
  if (tokens.length * seeds.length > MAX_SWEEP_RUNS) throw new UsageError(`compare: ${tokens.length} optimizers × ${seeds.length} seeds is ${tokens.length * seeds.length} runs; at most ${MAX_SWEEP_RUNS}`);
  // Algorithm flags (--rho …) go to every optimizer that takes them; tokens override them.
  const algoFlags = Object.entries(f).filter(([k, v]) => v !== undefined && FLAG_INFO[k]?.where === "optimizer");
  const specs: Record<string, any>[] = [];
  for (const seed of seeds) {
    for (const token of tokens) {
      let optimizer: Record<string, unknown>;
      // (optimizerFromToken looks names up with a plain index: "constructor" would find Object's.)
      const tokenName = token.split(":")[0];
      if (!Object.prototype.hasOwnProperty.call(ALGORITHMS, tokenName)) throw new UsageError(`--optimizers: unknown optimizer ${JSON.stringify(oneLine(tokenName, 60))} (known: ${Object.keys(ALGORITHMS).join(", ")})`);
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
        if (e instanceof SpecError) throw new UsageError(`${oneLine(token, 80)} seed ${seed}: ${flagMessage(e)}`);
        throw e;
      }
    }
  }
  const isDefault = f.optimizers === undefined && f.seeds === undefined && !Object.keys(f).some((k) => SPEC_FLAG_NAMES.includes(k) && f[k] !== undefined);
  return { specs, isDefault };
}

export type ComparePlan = { kind: "help" } | { kind: "compare"; specs: Record<string, any>[]; isDefault: boolean; outGiven: string; out: string; flags: Record<string, unknown> };

/** Parse and check `sharpness compare` arguments; writes nothing. */
export function planCompare(argv: string[]): ComparePlan {
  const f = parseFlags(argv, COMPARE_FLAGS, "compare");
  if (f.help) return { kind: "help" };
  if (f.optimizer !== undefined) throw new UsageError("compare: use --optimizers a,b,… (not --optimizer)");
  checkRunFlags(f);
  const { specs, isDefault } = comparisonSpecs(f);
  const outGiven = f.out === undefined ? "runs/compare" : String(f.out);
  return { kind: "compare", specs, isDefault, outGiven, out: checkPathText(outGiven, "--out"), flags: f };
}

async function compareCommand(argv: string[]): Promise<number> {
  const plan = planCompare(argv);
  if (plan.kind === "help") {
    process.stdout.write(
      helpText(
        "Usage: sharpness compare [flags]",
        `Run several optimizers (and seeds) on one setting, one process per core; write runs/<key>/,\nsummary.json, report.html and metrics.jsonl into --out (default runs/compare). A rerun skips\nfinished runs. Without flags this is the default comparison:\n${CLAIM.setting}`,
        COMPARE_FLAGS,
      ),
    );
    return 0;
  }
  const f = plan.flags;
  return runSweepCommand(plan.specs, plan.outGiven, f, { title: "optimizer comparison", claim: plan.isDefault ? CLAIM : undefined, definition: { compare: { optimizers: f.optimizers ?? DEFAULT_COMPARISON.optimizers, seeds: f.seeds ?? DEFAULT_COMPARISON.seeds } }, combinedMetrics: true });
}

export async function main(argv: string[], opts: { threads?: boolean; threadsAuto?: boolean } = {}): Promise<number> {
  threadsOn = !!opts.threads;
  threadsAuto = !!opts.threadsAuto;
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined || cmd === "--help" || cmd === "-h" || cmd === "help") {
      process.stdout.write(TOP_HELP);
      if (cmd !== undefined) return 0;
      process.stderr.write("sharpness: no command given (the commands are listed above)\n");
      return 2;
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
    throw new UsageError(`unknown command ${JSON.stringify(oneLine(cmd, 60))} (commands: train, compare, sweep, worker, report, measure, interpolate, diag-net, reproduce, rho-finder; see sharpness --help)`);
  } catch (e) {
    if (process.env.SHARPNESS_DEBUG) process.stderr.write(`${(e as Error)?.stack ?? e}\n`);
    const { code, line } = errorReport(e);
    process.stderr.write(`${line}\n`);
    return code;
  }
}
