/**
 * The fuzz targets of issue 15, shared by test/fuzz/*.test.ts (a seeded sample inside `npm test`)
 * and scripts/fuzz.ts (`npm run fuzz`, 10,000 cases). Each target is a fast-check property:
 *
 * - argv of every command, checked in-process on the CLI's own parse → validate functions
 *   (planTrain, planCompare, planSweep, planRhoFinder, planReproduce, planDiagNet): they return a
 *   plan or throw an error that `main` reports as one line with exit code 2;
 * - run-spec and sweep JSON (junk, missing fields, wrong types, unknown and inherited keys, huge
 *   grids, NaN/Infinity/negative values, deep nesting) through fillSpec, expandSweep and the
 *   commands' --spec files;
 * - diag-net data files (--data FILE);
 * - output directories (prepareOutDir on files, /proc, long names, broken links, …);
 * - checkpoints for `train --resume` (trainer.json mutations, truncated and bit-flipped files,
 *   wrong shapes), in-process on the checks that run before loading and, spawned, end to end;
 * - the real CLI, spawned on a smaller sample: exit 0, or exit 2 with exactly one line on stderr
 *   (the "loading …" progress line aside) and no stack trace, within a time limit; a valid
 *   result.json in --out is never changed by a failed command, and never left invalid.
 *
 * Valid inputs that would train are stopped after validation (--dry-run) or made tiny (MNIST,
 * 100 images, 1 epoch, small counts), so no case trains for long.
 */
import fc from "fast-check";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
// run.js before sweep.js (the two import each other; run.js must start first).
import { errorReport, planCompare, planTrain, checkResumeMeta, checkCheckpointFiles, TRAIN_FLAGS, COMPARE_FLAGS } from "../../src/cli/run.js";
import { planSweep, SWEEP_FLAGS, WORKER_FLAGS, REPORT_FLAGS } from "../../src/cli/sweep.js";
import { planReproduce, REPRODUCE_FLAGS } from "../../src/cli/reproduce.js";
import { planRhoFinder, RHO_FINDER_FLAGS } from "../../src/cli/rho-finder.js";
import { planDiagNet, DIAG_NET_FLAGS } from "../../src/cli/diag-net.js";
import { prepareOutDir } from "../../src/cli/out-dir.js";
import { MEASURE_FLAGS, INTERPOLATE_FLAGS } from "../../src/cli/measure.js";
import type { FlagSpec } from "../../src/cli/args.js";
import { FLAG_INFO } from "../../src/cli/spec-flags.js";
import { fillSpec, runKey, SpecError } from "../../src/train/spec.js";
import { expandSweep, MAX_SWEEP_RUNS, SweepError } from "../../src/sweep/grid.js";
import { isValidResult } from "../../src/sweep/store.js";
import { ALGORITHMS } from "../../src/train/registry.js";
import { parseRegressionData } from "../../src/data/sparse-regression.js";
import { DataError } from "../../src/data/errors.js";
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from "../../src/engine/safetensors.js";
import { readCheckpointMeta, CheckpointError } from "../../src/train/checkpoint.js";
import type { Hyper } from "../../src/optim/hyper.js";

/** The built CLI beside this built file (build/test/fuzz/ → build/src/cli/main.js), whatever the build directory. */
export const CLI = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");

// ------------------------------------------------------------------ the world: files the cases point at

export type World = {
  root: string;
  /** Valid and broken spec files, sweep files, data files, directories, missing paths. */
  specFiles: string[];
  sweepFiles: string[];
  dataFiles: string[];
  /** A finished tiny run (result.json, metrics, checkpoints) made by the CLI; copied, never changed. */
  baseRun: string | null;
  /** The same run, stopped after its first epoch (latest checkpoint mid-run, no result). */
  midRun: string | null;
  fresh(prefix?: string): string;
};

const TINY = { data: { name: "mnist", trainSize: 100, labelNoise: 0.1 }, model: { name: "mlp", hidden: 8 }, optimizer: { name: "sam", base: { name: "sgd", lr: 0.1, momentum: 0.9 } }, epochs: 1, batchSize: 50, seed: 0 };
/** The arguments of the base run (two epochs of 5 steps, a checkpoint every 3 steps). */
export const BASE_RUN_ARGS = ["train", "--dataset", "mnist", "--train-size", "100", "--batch-size", "20", "--epochs", "2", "--hidden", "8", "--checkpoint-every", "3", "--label-noise", "0.1"];

function write(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** Files and directories for the cases; with `withRuns`, a finished and an unfinished tiny run (one CLI run, ~3 s). */
export function makeWorld(withRuns: boolean): World {
  const root = mkdtempSync(join(tmpdir(), "sharpness-fuzz-"));
  const files = join(root, "files");
  mkdirSync(files);
  let n = 0;
  const fresh = (prefix = "d") => join(root, `${prefix}-${n++}-${Math.random().toString(36).slice(2, 6)}`);
  const specFiles = [
    write(files, "spec-tiny.json", JSON.stringify(TINY)),
    write(files, "spec-empty.json", "{}"),
    write(files, "spec-array.json", "[1, 2]"),
    write(files, "spec-bad.json", "{not json"),
    write(files, "spec-nan.json", '{"epochs": NaN}'),
    write(files, "spec-inf.json", '{"epochs": 1e999, "data": {"trainSize": -1e999}}'),
    write(files, "spec-deep.json", "[".repeat(5000) + "]".repeat(5000)),
    write(files, "spec-proto.json", '{"__proto__": {"epochs": 3}, "data": {"constructor": 1}}'),
    write(files, "spec-empty-file.json", ""),
    write(files, "spec-bom.json", "\ufeff{}"),
    files,
    join(files, "missing.json"),
  ];
  const sweepFiles = [
    write(files, "sweep-tiny.json", JSON.stringify({ title: "fuzz", base: TINY, grid: { seed: [0, 1] } })),
    write(files, "sweep-huge.json", JSON.stringify({ base: TINY, grid: Object.fromEntries(["seed", "epochs", "batchSize", "optimizer.rho", "data.labelNoise", "model.hidden"].map((k) => [k, Array.from({ length: 20 }, (_, i) => i + 1)])) })),
    write(files, "sweep-badpoint.json", JSON.stringify({ base: TINY, grid: { "optimizer.rho": [0.1, -1] } })),
    write(files, "sweep-random.json", JSON.stringify({ base: TINY, random: { n: 1e9, params: { "optimizer.rho": { min: 0, max: 1 } } } })),
    specFiles[3],
    join(files, "missing-sweep.json"),
  ];
  const good = { X: [[1, 0], [0, 1], [1, 1]], y: [1, 0, 1], Xtest: [[2, 1]], ytest: [2] };
  const dataFiles = [
    write(files, "data-good.json", JSON.stringify(good)),
    write(files, "data-star.json", JSON.stringify({ ...good, betaStar: [1, 0] })),
    write(files, "data-ragged.json", JSON.stringify({ ...good, Xtest: [[1, 2, 3]] })),
    write(files, "data-empty.json", JSON.stringify({ X: [], y: [], Xtest: [], ytest: [] })),
    write(files, "data-inf.json", '{"X": [[1e999]], "y": [1], "Xtest": [[1]], "ytest": [1]}'),
    specFiles[3],
    join(files, "missing-data.json"),
  ];
  let baseRun: string | null = null;
  let midRun: string | null = null;
  if (withRuns) {
    baseRun = join(root, "base-run");
    const r = spawnSync(process.execPath, [CLI, ...BASE_RUN_ARGS, "--out", baseRun], { encoding: "utf8", timeout: 120_000, env: { ...process.env, SHARPNESS_DEBUG: "" } });
    if (r.status !== 0) throw new Error(`the fuzz's base run failed (${r.status}): ${r.stderr}`);
    // The unfinished run: the checkpoint after step 9 (epoch 2, step 4 of 5), no result; resuming it takes one step.
    midRun = join(root, "mid-run");
    cpSync(baseRun, midRun, { recursive: true });
    rmSync(join(midRun, "result.json"));
    const ck = join(midRun, "checkpoints");
    if (!existsSync(join(ck, "step-00000009"))) throw new Error(`the fuzz's base run has no checkpoint at step 9: ${readdirSync(ck).join(", ")}`);
    rmSync(join(ck, "step-00000010"), { recursive: true, force: true });
    writeFileSync(join(ck, "latest"), "step-00000009");
  }
  return { root, specFiles, sweepFiles, dataFiles, baseRun, midRun, fresh };
}

// ------------------------------------------------------------------ generators

/** Text that breaks parsers: empty, signs, exponents, NaN/Infinity spelled out, inherited keys, unicode, control characters, very long. */
export const junkText = fc.oneof(
  fc.constantFrom("", " ", "-", "--", "=", "0", "-0", "1", "-1", "2.5", "1e3", "1e309", "-1e309", "1e-320", "NaN", "Infinity", "-Infinity", "inf", "0x10", "0b1", "1_000", "١٢", "9007199254740993", "4294967296", "true", "false", "null", "[]", "{}", "a,b", ",", ",,", "sam", "sgd", "mnist", "constructor", "__proto__", "toString", "hasOwnProperty", "ρ", "🙂", "é", "a\nb", "a\tb", "\u202e", "x".repeat(5000), "../..", "/", "."),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 8 }),
  fc.double().map(String),
  fc.integer().map(String),
);

/** A value a hyperparameter accepts, small (so a run that starts stays short). */
function smallValid(h: Hyper): fc.Arbitrary<string> {
  if (h.type === "boolean") return fc.constantFrom("true", "false");
  if (h.type === "enum") return fc.constantFrom(...h.values);
  const lo = h.min ?? 0;
  if (h.integer) return fc.integer({ min: Math.max(lo, 0) + (h.minOpen ? 1 : 0), max: Math.min(h.max ?? Infinity, Math.max(lo, 0) + 3) }).map(String);
  const hi = Math.min(h.max ?? lo + 1, lo + 1);
  return fc.double({ min: lo, max: hi, noNaN: true, noDefaultInfinity: true }).filter((v) => (!h.minOpen || v > lo) && (!h.maxOpen || v < hi) && (h.max === undefined || v <= h.max)).map((v) => String(Number(v.toPrecision(4))));
}

/** What a flag's value may be, by its kind and name. */
function flagValue(w: World, name: string, spec: FlagSpec, outs: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const valid = ((): fc.Arbitrary<string> => {
    if (spec.choices?.length) return fc.constantFrom(...spec.choices);
    if (name === "out") return outs;
    if (name === "spec") return fc.constantFrom(...w.specFiles, ...w.sweepFiles);
    if (name === "data") return fc.constantFrom(...w.dataFiles);
    if (name === "resume") return fc.constantFrom(...[w.baseRun, w.midRun, w.root, join(w.root, "nowhere")].filter((x): x is string => x !== null));
    if (name === "queue") return fc.constantFrom("redis://127.0.0.1:1", "redis://", "http://x", "redis://[::1", "redis://h:99999", "redis://a:1/99");
    if (name === "optimizers") return fc.array(fc.constantFrom("sgd", "sam", "asam:rho=1", "fsam:lambda=0.6", "sam:rho=x", "nope", "constructor", "constructor:rho=1", "sam:toString=1", "sam:lr=0.1", "sam:rh0=1", "toString"), { minLength: 1, maxLength: 3 }).map((xs) => xs.join(","));
    if (name === "seeds") return fc.array(fc.oneof(fc.integer({ min: 0, max: 3 }).map(String), junkText), { minLength: 1, maxLength: 3 }).map((xs) => xs.join(","));
    if (name === "rhos") return fc.array(fc.oneof(fc.constantFrom("0.01", "0.1", "1"), junkText), { minLength: 1, maxLength: 3 }).map((xs) => xs.join(","));
    if (name === "measure" || name === "measures") return fc.constantFrom("m-sharpness", "hessian", "m-sharpness,hessian", "vibes", "");
    const info = FLAG_INFO[name];
    if (info) {
      // A registry hyperparameter: small valid values of one of its owners, or its edges and beyond.
      const h = info.owners[0].h;
      const edges = h.type === "number" ? [h.min, h.max].filter((x): x is number => x !== undefined).flatMap((x) => [x, x - 1, x + 1, x - 1e-9, x + 1e-9]).map(String) : [];
      return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...info.owners).chain((o) => smallValid(o.h)) }, { weight: 1, arbitrary: fc.constantFrom("1e9", "1e308", "-1", "0", "inf", ...edges) });
    }
    if (spec.kind === "int") return fc.integer({ min: -2, max: 20 }).map(String);
    if (spec.kind === "number") return fc.constantFrom("0", "0.05", "0.1", "0.5", "1", "2", "1e9", "-1");
    if (spec.kind === "list") return fc.constantFrom("0,1", "a,b", "1");
    return junkText;
  })();
  return fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: junkText });
}

/** One argument group: `--flag value`, `--flag=value`, a bare switch, a dangling flag, a positional, an unknown flag. */
function argGroup(w: World, table: Record<string, FlagSpec>, outs: fc.Arbitrary<string>): fc.Arbitrary<string[]> {
  const names = Object.keys(table);
  const known = fc.constantFrom(...names).chain((name): fc.Arbitrary<string[]> => {
    const spec = table[name];
    if (spec.kind === "bool") return fc.oneof(fc.constant<string[]>([`--${name}`]), fc.constantFrom("true", "false", "yes", "").map((v): string[] => [`--${name}=${v}`]));
    return fc.oneof({ weight: 4, arbitrary: flagValue(w, name, spec, outs).map((v) => [`--${name}`, v]) }, { weight: 1, arbitrary: flagValue(w, name, spec, outs).map((v) => [`--${name}=${v}`]) }, { weight: 1, arbitrary: fc.constant<string[]>([`--${name}`]) });
  });
  const unknown = fc.oneof(fc.constantFrom("--constructor", "--__proto__", "--toString", "--rhо", "--", "-x", "--=1", "---rho"), junkText.map((s) => `--${s}`)).chain((f): fc.Arbitrary<string[]> => fc.oneof(fc.constant<string[]>([f]), junkText.map((v) => [f, v])));
  return fc.oneof({ weight: 12, arbitrary: known }, { weight: 1, arbitrary: unknown }, { weight: 1, arbitrary: junkText.map((s) => [s]) });
}

export type Command = "train" | "compare" | "sweep" | "worker" | "report" | "reproduce" | "rho-finder" | "diag-net" | "measure" | "interpolate";
export const COMMANDS: Command[] = ["train", "compare", "sweep", "worker", "report", "reproduce", "rho-finder", "diag-net", "measure", "interpolate"];

export const TABLES: Record<Command, Record<string, FlagSpec>> = {
  train: TRAIN_FLAGS,
  compare: COMPARE_FLAGS,
  sweep: SWEEP_FLAGS,
  worker: WORKER_FLAGS,
  report: REPORT_FLAGS,
  reproduce: REPRODUCE_FLAGS,
  "rho-finder": RHO_FINDER_FLAGS,
  "diag-net": DIAG_NET_FLAGS,
  measure: MEASURE_FLAGS,
  interpolate: INTERPOLATE_FLAGS,
};

/** --out values: fresh directories, a file, a path under a file, /proc (mkdir spins there in Node), /dev/null, empty, long, unicode. */
export function outPool(w: World): fc.Arbitrary<string> {
  const file = join(w.root, "files", "spec-tiny.json");
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(null).map(() => w.fresh("out")) },
    { weight: 3, arbitrary: fc.constantFrom(file, join(file, "sub"), "/proc/x", "/proc/self/x/y", "/dev/null", "", " ", join(w.root, "é ρ 🙂"), join(w.root, "x".repeat(300)), join(w.root, ...Array.from({ length: 40 }, () => "deep")), join(w.root, "a\nb")) },
  );
}

/** argv of `cmd` (without the command), wild: anything goes. */
export function wildArgv(w: World, cmd: Command, outs = outPool(w)): fc.Arbitrary<string[]> {
  const table = TABLES[cmd];
  const positional = cmd === "report" ? fc.constantFrom(w.root, w.baseRun ?? w.root, join(w.root, "files"), "/proc", "") : cmd === "reproduce" ? fc.constantFrom("label-noise", "relu-1d-simplicity", "nope", "") : cmd === "interpolate" ? fc.constantFrom(w.baseRun ?? w.root, w.midRun ?? w.root, "/nonexistent") : fc.constantFrom("extra");
  return fc
    .tuple(fc.array(argGroup(w, table, outs), { maxLength: 7 }), ["report", "interpolate", "reproduce"].includes(cmd) ? fc.array(positional, { maxLength: 2 }) : fc.oneof({ weight: 5, arbitrary: fc.constant<string[]>([]) }, { weight: 1, arbitrary: positional.map((p) => [p]) }), fc.boolean())
    .map(([groups, pos, first]) => (first ? [...pos, ...groups.flat()] : [...groups.flat(), ...pos]));
}

/** A `train` argv that validates and trains in about a second: an optimizer and some of its own hyperparameters at small values, MNIST, 100 images, 1 epoch. */
export function tinyTrainArgv(): fc.Arbitrary<string[]> {
  const names = Object.keys(ALGORITHMS).filter((n) => n !== "sam-on");
  return fc.constantFrom(...names).chain((name) => {
    const params = Object.entries(ALGORITHMS[name].params).filter(([k]) => !["fullGradEvery"].includes(k));
    const hyper = params.length ? fc.subarray(params, { maxLength: Math.min(3, params.length) }).chain((ps) => (ps.length ? fc.tuple(...ps.map(([k, h]) => smallValid(h).map((v) => [`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, v]))) : fc.constant([] as string[][]))) : fc.constant([] as string[][]);
    // Now and then a device this machine may lack, or a width whose first layer alone (784 × 2e6 floats, 6.3 GB) exceeds the
    // engine's 4 GiB, so it fails at initialization (100,000 fits, and a real run of it took minutes).
    const extra = fc.oneof({ weight: 10, arbitrary: fc.constant<string[]>([]) }, { weight: 1, arbitrary: fc.constant(["--device", "webgpu"]) }, { weight: 1, arbitrary: fc.constant(["--device", "wasm", "--hidden", "2000000"]) });
    return fc.tuple(hyper, fc.constantFrom("0.05", "0.1", "1e9", "1e30"), fc.boolean(), extra).map(([hs, lr, bn, more]) => ["--optimizer", name, ...hs.flat(), "--lr", lr, ...(bn ? ["--batch-norm"] : []), "--dataset", "mnist", "--train-size", "100", "--batch-size", "50", "--epochs", "1", "--hidden", "8", ...more]);
  });
}

// ------------------------------------------------------------------ in-process: the parse → validate layer

const PLANNERS: Partial<Record<Command, (argv: string[]) => unknown>> = {
  train: planTrain,
  compare: planCompare,
  sweep: planSweep,
  reproduce: planReproduce,
  "rho-finder": planRhoFinder,
  "diag-net": planDiagNet,
};
export const PLANNED = Object.keys(PLANNERS) as Command[];

/** Messages that are an engine's or Node's, not ours: a bug even when the exit code is 2. */
const NOT_OURS = /Maximum call stack|Invalid (typed )?array length|Invalid string length|allocation failed|Cannot read prop|Cannot use 'in'|is not a function|is not iterable|undefined is not|\bE[A-Z]{3,}\b:|\[object Object\]/;

/** How a thrown error must look: what main reports with exit 2, one line, our own words. Returns a problem or null. */
export function judgeError(e: unknown): string | null {
  const r = errorReport(e);
  if (r.internal) return `internal error: ${(e as Error)?.stack ?? e}`;
  if (r.code !== 2) return `exit code ${r.code}: ${r.line}`;
  if (/[\n\r]/.test(r.line)) return `more than one line: ${JSON.stringify(r.line)}`;
  if (r.line.length > 2100) return `a ${r.line.length}-character message`;
  if (NOT_OURS.test(r.line)) return `a message that is not ours: ${r.line}`;
  if (r.line.trim() === "sharpness:") return "an empty message";
  return null;
}

/** In-process: `planX(argv)` returns a plan or throws a clean error, within `ms`. Returns a problem or null. */
export function checkPlan(cmd: Command, argv: string[], ms = 3000): string | null {
  const plan = PLANNERS[cmd];
  if (!plan) return null;
  const t0 = performance.now();
  let problem: string | null = null;
  try {
    const p = plan(argv) as { kind: string; spec?: unknown; specs?: unknown[]; out?: string };
    if (p.kind !== "help" && p.kind !== "list") {
      if (p.out !== undefined && (typeof p.out !== "string" || !p.out.startsWith("/"))) problem = `the plan's out is not an absolute path: ${JSON.stringify(p.out)}`;
      // Plans hold filled, valid specs: filling again changes nothing.
      for (const s of p.kind === "train" ? [p.spec] : p.kind === "diag-net" ? [] : (p.specs ?? [])) {
        if (JSON.stringify(fillSpec(s)) !== JSON.stringify(s)) problem = "a plan's spec is not filled";
      }
      if ((p.specs?.length ?? 0) > MAX_SWEEP_RUNS) problem = `a plan of ${p.specs!.length} runs`;
    }
  } catch (e) {
    problem = judgeError(e);
  }
  const dt = performance.now() - t0;
  if (!problem && dt > ms) problem = `took ${dt.toFixed(0)} ms`;
  return problem;
}

// ------------------------------------------------------------------ JSON: run specs, sweeps, data files

/** A JSON-ish value, including what JSON files cannot hold but a library caller can pass (NaN, Infinity, -0). */
const jsonish: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, -0, -1, 0, 1e308, 2 ** 53, 0.5, "inf", "", "constructor", "__proto__", [], {}, null, true) },
);

/** Deeply nested lists/objects (up to 3,000 levels). */
const deep = fc.integer({ min: 10, max: 3000 }).chain((d) => fc.boolean().map((arr) => (arr ? JSON.parse("[".repeat(d) + "]".repeat(d)) : JSON.parse('{"a":'.repeat(d) + "1" + "}".repeat(d)))));

const SPEC_PATHS = ["data", "data.name", "data.trainSize", "data.labelNoise", "data.validationSize", "model", "model.name", "model.hidden", "model.batchNorm", "optimizer", "optimizer.name", "optimizer.rho", "optimizer.m", "optimizer.p", "optimizer.base", "optimizer.base.name", "optimizer.base.lr", "optimizer.base.momentum", "epochs", "batchSize", "seed", "telemetry", "extra", "data.constructor", "optimizer.toString", "__proto__", "optimizer.base.__proto__"];

function setIn(obj: Record<string, any>, path: string, value: unknown, remove: boolean): void {
  const keys = path.split(".");
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    if (cur[k] === null || typeof cur[k] !== "object" || Array.isArray(cur[k])) Object.defineProperty(cur, k, { value: {}, enumerable: true, writable: true, configurable: true });
    cur = cur[k];
  }
  const last = keys[keys.length - 1];
  if (remove) delete cur[last];
  else Object.defineProperty(cur, last, { value, enumerable: true, writable: true, configurable: true });
}

/** A run spec: a tiny valid one with some fields replaced, removed or added (inherited names included), or junk. */
export const runSpecArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.tuple(fc.constantFrom(...SPEC_PATHS), fc.oneof({ weight: 5, arbitrary: jsonish }, { weight: 1, arbitrary: deep }), fc.boolean()), { maxLength: 4 }).map((muts) => {
    const s = structuredClone(TINY) as Record<string, any>;
    for (const [p, v, rm] of muts) setIn(s, p, v, rm);
    return s;
  }) },
  { weight: 1, arbitrary: jsonish },
  { weight: 1, arbitrary: deep },
);

/** A sweep: base (a run spec as above), a grid of paths → lists (sometimes huge), random draws, unknown keys. */
export const sweepArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.record(
    {
      title: fc.oneof(fc.string(), jsonish),
      base: runSpecArb,
      grid: fc.oneof(fc.dictionary(fc.oneof(fc.constantFrom(...SPEC_PATHS), fc.string({ maxLength: 6 })), fc.oneof({ weight: 4, arbitrary: fc.array(jsonish, { maxLength: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 200_000 }).map((n) => Array.from({ length: Math.min(n, 200_000) }, (_, i) => i)) }, { weight: 1, arbitrary: jsonish }), { maxKeys: 4 }), jsonish),
      random: fc.oneof(fc.record({ n: fc.oneof(fc.integer({ min: -1, max: 5 }), fc.constantFrom(1e9, 2.5, NaN)), seed: jsonish, params: fc.dictionary(fc.constantFrom("optimizer.rho", "seed", "bad path", "optimizer.base.lr"), fc.oneof(fc.record({ min: fc.double(), max: fc.double(), log: jsonish, integer: jsonish }, { requiredKeys: ["min", "max"] }), fc.array(jsonish, { maxLength: 3 }), jsonish), { maxKeys: 2 }) }, { requiredKeys: [] }), jsonish),
      extra: jsonish,
    },
    { requiredKeys: ["base"] },
  ) },
  { weight: 1, arbitrary: jsonish },
  { weight: 1, arbitrary: deep },
);

/** fillSpec: a filled spec (and its key) or a SpecError with a one-line message. */
export function checkRunSpec(s: unknown): string | null {
  try {
    const f = fillSpec(s);
    runKey(f);
    if (JSON.stringify(fillSpec(f)) !== JSON.stringify(f)) return "filling twice changes the spec";
    return null;
  } catch (e) {
    if (!(e instanceof SpecError)) return `not a SpecError: ${(e as Error)?.stack ?? e}`;
    return judgeError(e);
  }
}

/** expandSweep: at most MAX_SWEEP_RUNS filled specs, or a SweepError naming the problem (a bad grid point names the point and the field). */
export function checkSweepDef(def: unknown, ms = 5000): string | null {
  const t0 = performance.now();
  try {
    const specs = expandSweep(def);
    if (specs.length > MAX_SWEEP_RUNS) return `${specs.length} runs`;
  } catch (e) {
    if (!(e instanceof SweepError)) return `not a SweepError: ${(e as Error)?.stack ?? e}`;
    const problem = judgeError(e);
    if (problem) return problem;
    if (/^run /.test(e.message) && !/^run (\(base\)|\S+=.*?): /.test(e.message)) return `a grid point's error that does not name the point: ${e.message}`;
  }
  const dt = performance.now() - t0;
  return dt > ms ? `took ${dt.toFixed(0)} ms` : null;
}

/** A data file for diag-net: a small valid problem with fields replaced, removed, added, resized; or junk. */
export const diagDataArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ n: fc.integer({ min: 1, max: 5 }), d: fc.integer({ min: 1, max: 4 }), t: fc.integer({ min: 1, max: 3 }) }).chain(({ n, d, t }) => {
    const row = (w: number) => fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: w, maxLength: w });
    const base = fc.record({ X: fc.array(row(d), { minLength: n, maxLength: n }), y: row(n), Xtest: fc.array(row(d), { minLength: t, maxLength: t }), ytest: row(t), betaStar: row(d) }, { requiredKeys: ["X", "y", "Xtest", "ytest"] });
    return fc.tuple(base, fc.array(fc.tuple(fc.constantFrom("X", "y", "Xtest", "ytest", "betaStar", "extra", "X.0", "X.0.0", "y.0", "Xtest.0", "constructor"), jsonish, fc.boolean()), { maxLength: 3 })).map(([b, muts]) => {
      const o = structuredClone(b) as Record<string, any>;
      for (const [p, v, rm] of muts) {
        const [k, i, j] = p.split(".");
        if (i === undefined) (rm ? delete o[k] : Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true }));
        else if (Array.isArray(o[k])) {
          if (j === undefined) o[k][Number(i)] = v;
          else if (Array.isArray(o[k][Number(i)])) o[k][Number(i)][Number(j)] = v;
        }
      }
      return o;
    });
  }) },
  { weight: 1, arbitrary: jsonish },
  { weight: 1, arbitrary: deep },
);

/** parseRegressionData: a problem or a one-line DataError. */
export function checkDiagData(json: unknown): string | null {
  try {
    const p = parseRegressionData(json);
    if (!(p.n >= 1 && p.d >= 1 && p.nTest >= 1 && p.X.length === p.n * p.d && p.Xtest.length === p.nTest * p.d)) return "an inconsistent problem";
    if (![...p.X, ...p.y, ...p.Xtest, ...p.ytest].every(Number.isFinite)) return "a non-finite number got through";
    return null;
  } catch (e) {
    if (!(e instanceof DataError)) return `not a DataError: ${(e as Error)?.stack ?? e}`;
    return judgeError(e);
  }
}

// ------------------------------------------------------------------ output directories

/** Paths for prepareOutDir, all under `w.root` but for /proc and /dev/null. */
export function outDirArb(w: World): fc.Arbitrary<{ path: string; setup: "none" | "file" | "link" | "dir" }> {
  const seg = fc.oneof(fc.constantFrom("a", "é", "🙂", " ", "..", ".", "x".repeat(256), "-rf", "\u202e", "a b", "~"), fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !s.includes("/") && !s.includes("\0")));
  const under = fc.tuple(fc.array(seg, { minLength: 1, maxLength: 6 }), fc.constantFrom("none", "file", "link", "dir") as fc.Arbitrary<"none" | "file" | "link" | "dir">, fc.integer({ min: 0, max: 5 })).map(([segs, setup, at]) => ({ path: join(w.fresh("od"), ...segs), setup, at }));
  return fc.oneof(
    { weight: 6, arbitrary: under.map(({ path, setup, at }) => {
      // Put a file, a dangling link or a directory at one component of the path.
      if (setup !== "none") {
        const parts = relative(w.root, path).split("/");
        const stop = join(w.root, ...parts.slice(0, Math.min(parts.length, at + 1)));
        if (stop.startsWith(w.root + "/")) {
          try {
            mkdirSync(dirname(stop), { recursive: true });
            if (setup === "file") writeFileSync(stop, "x");
            else if (setup === "link") symlinkSync(join(w.root, "nothing-here"), stop);
            else mkdirSync(stop, { recursive: true });
          } catch {
            // a name the file system refuses: the case goes on with what exists
          }
        }
      }
      return { path, setup };
    }) },
    { weight: 1, arbitrary: fc.constantFrom("/proc/x", "/proc/self/fd/x", "/dev/null", "/dev/null/x", "", " ", "\0x", join(w.root, "y".repeat(5000))).map((path) => ({ path, setup: "none" as const })) },
  );
}

/** prepareOutDir: a writable directory (it can hold a file) or a one-line UsageError, within `ms`. */
export function checkOutDir(path: string, ms = 2000): string | null {
  const t0 = performance.now();
  try {
    const dir = prepareOutDir(path);
    const probe = join(dir, `.fuzz-${process.pid}`);
    writeFileSync(probe, "x");
    rmSync(probe);
    if (!statSync(dir).isDirectory()) return `${dir} is not a directory`;
  } catch (e) {
    if ((e as Error)?.name !== "UsageError") return `not a UsageError: ${(e as Error)?.stack ?? e}`;
    const problem = judgeError(e);
    if (problem) return problem;
  }
  const dt = performance.now() - t0;
  return dt > ms ? `took ${dt.toFixed(0)} ms` : null;
}

// ------------------------------------------------------------------ checkpoints

export type CheckpointMutation =
  | { kind: "meta"; path: string; value: unknown; remove: boolean }
  | { kind: "truncate"; file: string; frac: number }
  | { kind: "flip"; file: string; positions: number[] }
  | { kind: "shape"; file: string; how: "transpose" | "grow" | "drop" | "extra" | "offsets" }
  | { kind: "delete"; file: string }
  | { kind: "latest"; text: string };

const CK_FILES = ["params.safetensors", "optimizer.safetensors", "trainer.json"];
const META_PATHS = ["format", "step", "key", "spec", "spec.epochs", "spec.data.trainSize", "spec.optimizer.name", "position", "position.epoch", "position.stepInEpoch", "position.t", "position.lossSum", "position.skippedInEpoch", "position.skippedTotal", "position.telemetry", "history", "history.0", "history.0.testLoss", "history.0.epoch", "ascentRngState", "elapsedSeconds", "trainSeconds", "hasFullGrad"];

export const checkpointMutationArb: fc.Arbitrary<CheckpointMutation[]> = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant("meta" as const), path: fc.constantFrom(...META_PATHS), value: jsonish, remove: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("truncate" as const), file: fc.constantFrom(...CK_FILES), frac: fc.integer({ min: 0, max: 999 }).map((k) => k / 1000) }) },
    // Positions spread evenly over the file (fc.double crowds near 0, the header's length field).
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("flip" as const), file: fc.constantFrom(...CK_FILES), positions: fc.array(fc.integer({ min: 0, max: 999_999 }).map((k) => k / 1_000_000), { minLength: 1, maxLength: 8 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("shape" as const), file: fc.constantFrom("params.safetensors", "optimizer.safetensors"), how: fc.constantFrom("transpose", "grow", "drop", "extra", "offsets") as fc.Arbitrary<"transpose" | "grow" | "drop" | "extra" | "offsets"> }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("delete" as const), file: fc.constantFrom(...CK_FILES) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("latest" as const), text: fc.oneof(fc.constantFrom("step-00000003", "step-99999999", "../x", ""), junkText) }) },
  ),
  { minLength: 1, maxLength: 3 },
);

/** Apply mutations to the latest checkpoint under `runDir` (a copy). */
export function mutateCheckpoint(runDir: string, muts: CheckpointMutation[]): void {
  const ck = join(runDir, "checkpoints");
  const latest = join(ck, readFileSync(join(ck, "latest"), "utf8").trim());
  for (const m of muts) {
    if (m.kind === "latest") {
      writeFileSync(join(ck, "latest"), m.text);
      continue;
    }
    const file = join(latest, m.kind === "meta" ? "trainer.json" : m.file);
    if (!existsSync(file)) continue;
    if (m.kind === "delete") rmSync(file);
    else if (m.kind === "truncate") truncateSync(file, Math.floor(statSync(file).size * m.frac));
    else if (m.kind === "flip") {
      const b = readFileSync(file);
      if (b.length) for (const p of m.positions) b[Math.floor(p * b.length)] ^= 1 << Math.floor(p * 8 * b.length) % 8;
      writeFileSync(file, b);
    } else if (m.kind === "meta") {
      let meta: Record<string, any>;
      try {
        meta = JSON.parse(readFileSync(file, "utf8"));
      } catch {
        continue;
      }
      const keys = m.path.split(".");
      let cur: any = meta;
      for (const k of keys.slice(0, -1)) cur = cur?.[k];
      if (cur !== null && typeof cur === "object") {
        if (m.remove) delete cur[keys[keys.length - 1]];
        else cur[keys[keys.length - 1]] = m.value;
      }
      writeFileSync(file, JSON.stringify(meta));
    } else if (m.kind === "shape") {
      try {
        reshape(file, m.how);
      } catch {
        // a file an earlier mutation already broke, or a dtype the re-encoding refuses: left as it is
      }
    }
  }
}

/** Rewrite one tensor of a safetensors file with a wrong shape, drop it, add one, or break an entry's offsets. */
function reshape(file: string, how: "transpose" | "grow" | "drop" | "extra" | "offsets"): void {
  {
    {
      const m = { how };
      const st = decodeSafetensors(new Uint8Array(readFileSync(file)));
      const names = Object.keys(st.tensors);
      if (!names.length) return;
      const name = names[Math.floor(names.length / 2)];
      const t = st.tensors[name];
      if (m.how === "transpose") t.shape = [...t.shape].reverse();
      else if (m.how === "grow") {
        const n = t.shape.reduce((a, b) => a * b, 1);
        t.shape = [n + 1];
        const data = new Float32Array(n + 1);
        data.set(t.data as Float32Array);
        t.data = data;
      } else if (m.how === "drop") delete st.tensors[name];
      else if (m.how === "extra") st.tensors[`${name}.extra`] = { dtype: "float32", shape: [2], data: new Float32Array(2) };
      if (m.how === "offsets") {
        // A header entry no writer makes: data_offsets a number (same header length, padded with spaces).
        const bytes = encodeSafetensors(st.tensors, st.metadata);
        const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
        const header = new TextDecoder().decode(bytes.subarray(8, 8 + n)).replace(/"data_offsets":\[(\d+),(\d+)\]/, (all, _a, b) => `"data_offsets":${b}`.padEnd(all.length, " "));
        const out = new Uint8Array(bytes);
        out.set(new TextEncoder().encode(header).subarray(0, n), 8);
        writeFileSync(file, out);
      } else writeFileSync(file, encodeSafetensors(st.tensors, st.metadata));
    }
  }
}

/**
 * In-process: what `train --resume` checks before loading anything — trainer.json (readCheckpointMeta +
 * checkResumeMeta) and the tensor files (checkCheckpointFiles) — passes or throws one clean line.
 */
export function checkResumeChecks(runDir: string): string | null {
  const ck = join(runDir, "checkpoints");
  let dir: string;
  try {
    dir = join(ck, readFileSync(join(ck, "latest"), "utf8").trim());
  } catch {
    return null;
  }
  try {
    const meta = readCheckpointMeta(dir);
    checkResumeMeta(meta, dir);
    checkCheckpointFiles(dir);
    return null;
  } catch (e) {
    if (!(e instanceof CheckpointError) && !(e instanceof SpecError) && !(e instanceof SafetensorsError)) return `not a CheckpointError: ${(e as Error)?.stack ?? e}`;
    return judgeError(e);
  }
}

// ------------------------------------------------------------------ spawned: the real CLI

const hashTree = (dir: string): Map<string, string> => {
  const out = new Map<string, string>();
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return out;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(relative(dir, p), createHash("sha1").update(readFileSync(p)).digest("hex"));
    }
  };
  walk(dir);
  return out;
};

export type SpawnOutcome = { problem: string | null; status: number | null; stderr: string; stdout: string; ms: number };

/**
 * Run the CLI with `args` (cwd: a scratch directory). The property: exit 0; or exit 2 with exactly
 * one stderr line (besides "loading …") starting "sharpness: ", no stack trace, no internal error;
 * or exit 1 only for runs stopped by the non-finite policy "error"; within `timeoutMs`. `watch`:
 * directories whose valid result.json must survive a failed command byte for byte, and be valid
 * after any command.
 */
export function spawnCase(w: World, args: string[], { timeoutMs = 20_000, watch = [] as string[] } = {}): SpawnOutcome {
  const before = watch.map((d) => hashTree(d));
  const cwd = w.fresh("cwd");
  mkdirSync(cwd);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [CLI, ...args.map((a) => a.replace(/\0/g, ""))], { encoding: "utf8", cwd, timeout: timeoutMs, env: { ...process.env, SHARPNESS_DEBUG: "", SHARPNESS_THREADS: "0", CI: "1" } });
  const ms = Date.now() - t0;
  const stderr = r.stderr ?? "";
  const stdout = r.stdout ?? "";
  let problem: string | null = null;
  const lines = stderr.split("\n").filter((l) => l !== "" && !/^loading (mnist|fashion-mnist)…$/.test(l) && !/^warning: /.test(l));
  if (r.error || r.signal) problem = `did not finish: ${r.error?.message ?? r.signal} after ${ms} ms`;
  else if (/\n\s+at .*:\d+:\d+/.test(stderr)) problem = "a stack trace on stderr";
  else if (/internal error/.test(stderr)) problem = `an internal error: ${lines.join(" | ")}`;
  else if (r.status === 2) {
    if (lines.length !== 1) problem = `exit 2 with ${lines.length} stderr lines: ${JSON.stringify(stderr.slice(0, 500))}`;
    else if (!lines[0].startsWith("sharpness: ")) problem = `stderr line without "sharpness: ": ${lines[0]}`;
    else if (NOT_OURS.test(lines[0])) problem = `a message that is not ours: ${lines[0]}`;
  } else if (r.status === 1) {
    const nonFinite = lines.length === 1 && /NaN\/Inf/.test(lines[0]);
    const failedRuns = /\d+ failed/.test(stdout);
    if (!nonFinite && !failedRuns) problem = `exit 1: ${lines.join(" | ") || stdout.slice(-300)}`;
  } else if (r.status !== 0) problem = `exit code ${r.status}: ${lines.join(" | ")}`;
  watch.forEach((d, i) => {
    if (problem) return;
    const after = hashTree(d);
    const hadResult = before[i].has("result.json");
    if (r.status !== 0 && hadResult && before[i].get("result.json") !== after.get("result.json")) problem = `a failed command (exit ${r.status}) changed ${d}/result.json`;
    if (r.status !== 0 && !/^loading /m.test(stderr)) {
      // Failed before loading anything: nothing in the directory may change.
      for (const [f, h] of before[i]) if (after.get(f) !== h) problem = `a command refused before loading (exit ${r.status}) changed ${f}`;
      for (const f of after.keys()) if (!before[i].has(f)) problem = `a command refused before loading (exit ${r.status}) wrote ${f}`;
    }
    if (after.has("result.json")) {
      try {
        const res = JSON.parse(readFileSync(join(d, "result.json"), "utf8"));
        if (!isValidResult(res, res.key)) problem = `${d}/result.json is not a valid result after exit ${r.status}`;
      } catch {
        problem = `${d}/result.json does not parse after exit ${r.status}`;
      }
    }
  });
  return { problem, status: r.status, stderr, stdout, ms };
}

/** A copy of a run directory to point a command at. */
export function copyRun(w: World, src: string): string {
  const d = w.fresh("run");
  cpSync(src, d, { recursive: true });
  return d;
}

/** True one time in four (a populated --out: a finished run that a real training would be refused on). */
const rarely = fc.integer({ min: 0, max: 3 }).map((k) => k === 0);

/** The commands with an output directory of their own (measure's and interpolate's are another module's). */
const TAKES_OUT: Command[] = ["train", "compare", "sweep", "reproduce", "rho-finder", "diag-net"];

/** A spawned case: a command and its argv; dry (stopped after validation) unless `real`. */
export type SpawnSpec = { cmd: Command; argv: string[]; real: boolean; populated: boolean };

/** Spawned cases: wild argv of any command (with --dry-run where the command would run), tiny real trainings, tiny diag-net runs. */
export function spawnArb(w: World, { real = true } = {}): fc.Arbitrary<SpawnSpec> {
  const outs = outPool(w);
  // Commands that would run get --dry-run (stopped after every check); a worker gets a Redis that refuses.
  const tail = (cmd: Command) => (TAKES_OUT.includes(cmd) ? ["--dry-run"] : cmd === "worker" ? ["--queue", "redis://127.0.0.1:1"] : []);
  const wild = fc.tuple(fc.constantFrom(...COMMANDS), fc.boolean()).chain(([cmd, populated]) => wildArgv(w, cmd, outs).map((argv) => ({ cmd, argv: [...argv, ...tail(cmd)], real: false, populated })));
  if (!real) return wild;
  const tinyTrain = fc.tuple(tinyTrainArgv(), rarely).map(([argv, populated]) => ({ cmd: "train" as Command, argv, real: true, populated }));
  const tinyDiag = fc.tuple(fc.constantFrom("erm", "n-sam", "1-sam"), fc.constantFrom("0", "0.05", "0.5", "1e6"), fc.integer({ min: 0, max: 2000 }), fc.constantFrom<string[]>(["--seed", "1", "--n-test", "50"], ["--data", w.dataFiles[0]], ["--data", w.dataFiles[1]])).map(([m, rho, steps, src]) => ({ cmd: "diag-net" as Command, argv: [...src, "--method", m, ...(m === "erm" ? [] : ["--rho", rho]), "--steps", String(steps)], real: true, populated: false }));
  return fc.oneof({ weight: 6, arbitrary: wild }, { weight: 2, arbitrary: tinyTrain }, { weight: 1, arbitrary: tinyDiag });
}

/**
 * Run one spawned case. Commands that take --out get one (a fresh directory, or — `populated` —
 * a copy of the finished base run, watched) unless the argv already has one; `train` cases never
 * drop --dry-run unless real.
 */
export function runSpawnSpec(w: World, s: SpawnSpec): SpawnOutcome {
  const args = [...s.argv];
  const watch: string[] = [];
  const takesOut = TAKES_OUT.includes(s.cmd);
  if (takesOut && !args.some((a) => a === "--out" || a.startsWith("--out="))) {
    const out = s.populated && w.baseRun ? copyRun(w, w.baseRun) : w.fresh("out");
    if (s.populated) watch.push(out);
    args.push("--out", out);
  } else if (takesOut && s.populated && w.baseRun) {
    const out = copyRun(w, w.baseRun);
    watch.push(out);
    args.push("--out", out);
  }
  return spawnCase(w, [s.cmd, ...args], { timeoutMs: s.real ? 90_000 : 30_000, watch });
}

/** A spawned `train --resume` of a mutated copy of the unfinished run (or the finished one). */
export function runResumeCase(w: World, muts: CheckpointMutation[], finished: boolean): SpawnOutcome {
  const src = finished ? w.baseRun : w.midRun;
  if (!src) throw new Error("the world has no runs");
  const d = copyRun(w, src);
  mutateCheckpoint(d, muts);
  return spawnCase(w, ["train", "--resume", d], { timeoutMs: 90_000, watch: [d] });
}

/** Remove the world's files. */
export function cleanWorld(w: World): void {
  rmSync(w.root, { recursive: true, force: true });
}

// ------------------------------------------------------------------ running a target

export type TargetReport = { name: string; ok: boolean; ran: number; seed: number; ms: number; path?: string; counterexample?: string; problem?: string };

/**
 * Check `judge` (a problem, or null) on `numRuns` values of `arb` from `seed` (or replay one
 * failure with `path`). `shrink`: look for a smaller failing value (in-process targets only; a
 * spawned case costs half a second).
 */
export function runTarget<T>(name: string, arb: fc.Arbitrary<T>, judge: (v: T) => string | null, { seed, numRuns, path, shrink = true }: { seed: number; numRuns: number; path?: string; shrink?: boolean }): TargetReport {
  const t0 = Date.now();
  let ran = 0;
  let lastProblem = "";
  const details = fc.check(
    fc.property(arb, (v) => {
      ran++;
      const p = judge(v);
      if (p) {
        lastProblem = p;
        throw new Error(p);
      }
    }),
    { seed, numRuns, path, endOnFailure: !shrink },
  );
  const ms = Date.now() - t0;
  if (!details.failed) return { name, ok: true, ran, seed, ms };
  const show = (v: unknown) => {
    try {
      const s = JSON.stringify(v, (_k, x) => (typeof x === "number" && !Number.isFinite(x) ? String(x) : x));
      return s.length > 2000 ? `${s.slice(0, 2000)}…` : s;
    } catch {
      return String(v);
    }
  };
  const err = details.errorInstance as Error | undefined;
  return { name, ok: false, ran, seed, ms, path: details.counterexamplePath ?? undefined, counterexample: show(details.counterexample), problem: err?.message ?? lastProblem };
}

export type Target = { name: string; arb: fc.Arbitrary<any>; judge: (v: any) => string | null; spawned: boolean };

const toFile = (w: World, v: unknown): string => {
  const f = `${w.fresh("json")}.json`;
  let text: string;
  try {
    text = JSON.stringify(v) ?? "null";
  } catch {
    text = "[".repeat(100) + "]".repeat(100);
  }
  writeFileSync(f, text);
  return f;
};

const both = (...ps: (string | null)[]) => ps.find((p) => p !== null) ?? null;

/** Every target; spawned ones need a world made with runs. */
export function targets(w: World): Target[] {
  const argvTargets: Target[] = PLANNED.map((cmd) => ({ name: `argv:${cmd}`, arb: wildArgv(w, cmd), judge: (argv: string[]) => checkPlan(cmd, argv), spawned: false }));
  return [
    ...argvTargets,
    { name: "run-spec", arb: runSpecArb, judge: checkRunSpec, spawned: false },
    { name: "run-spec-file", arb: runSpecArb, judge: (s) => { const f = toFile(w, s); return both(checkPlan("train", ["--spec", f, "--dry-run"]), checkPlan("rho-finder", ["--spec", f, "--rhos", "0.1", "--seeds", "0"])); }, spawned: false },
    { name: "sweep", arb: sweepArb, judge: checkSweepDef, spawned: false },
    { name: "sweep-file", arb: sweepArb, judge: (s) => checkPlan("sweep", ["--spec", toFile(w, s), "--out", w.fresh("sw")], 10_000), spawned: false },
    { name: "diag-data", arb: diagDataArb, judge: (d) => both(checkDiagData(d), checkPlan("diag-net", ["--data", toFile(w, d), "--method", "1-sam", "--rho", "0.1", "--out", w.fresh("dn")])), spawned: false },
    { name: "out-dir", arb: outDirArb(w), judge: (o: { path: string }) => checkOutDir(o.path), spawned: false },
    {
      name: "checkpoint",
      arb: fc.tuple(checkpointMutationArb, fc.boolean()),
      judge: ([muts, finished]: [CheckpointMutation[], boolean]) => {
        const src = finished ? w.baseRun : w.midRun;
        if (!src) return null;
        const d = copyRun(w, src);
        mutateCheckpoint(d, muts);
        return both(checkResumeChecks(d), checkPlan("train", ["--resume", d]));
      },
      spawned: false,
    },
    { name: "cli", arb: spawnArb(w, { real: false }), judge: (s: SpawnSpec) => runSpawnSpec(w, s).problem, spawned: true },
    { name: "cli-train", arb: fc.tuple(tinyTrainArgv(), rarely).map(([argv, populated]) => ({ cmd: "train" as Command, argv, real: true, populated })), judge: (s: SpawnSpec) => runSpawnSpec(w, s).problem, spawned: true },
    { name: "cli-diag-net", arb: spawnArb(w).filter((s) => s.real && s.cmd === "diag-net"), judge: (s: SpawnSpec) => runSpawnSpec(w, s).problem, spawned: true },
    { name: "cli-resume", arb: fc.tuple(checkpointMutationArb, fc.boolean()), judge: ([muts, finished]: [CheckpointMutation[], boolean]) => runResumeCase(w, muts, finished).problem, spawned: true },
  ];
}
