/**
 * Run kinds besides training: the small exact models of 002 §4 (the diagonal linear network and
 * the 1-D ReLU network) as run specs that go through the same sweep pool, result store, queue
 * and resume logic as training runs. A task spec is plain JSON with a `task` field:
 *
 *   { "task": "diag-net", "seed": 0, "data": { "n": 20, "nTest": 1000, "d": 30, "k": 3 },
 *     "alpha": 0.05, "lr": 0.5, "phases": [{ "method": "1-sam", "rho": 0.1, "steps": 10001 }],
 *     "curvePoints": 80 }
 *   { "task": "relu-1d", "seed": 0, "method": "sam", "rho": 0.3, "lr": 5e-5, "lrDecay": "linear",
 *     "maxSteps": 1000000, "lossTarget": 1e-5, "hidden": 100, "samplePoints": 241 }
 *
 * Each task declares its fields once (`Hyper` descriptors: type, default, range, doc); filling
 * checks them with the same one-line `SpecError`s as training specs, and the key is the hash of
 * the filled spec (`anyRunKey`), exactly as for training runs. A spec without `task` is a
 * training spec (train/spec.ts), so training keys are unchanged. Results are stored as
 * `TaskResult` (format "sharpness-aware-task-result/1"): `metrics` (flat numbers, for tables and
 * verdicts) and `output` (curves, sampled functions, for figures).
 *
 * Browser-safe: no `node:` imports; tasks run synchronously in plain float64 TypeScript.
 */
import type { Hyper } from "../optim/hyper.js";
import { checkField, fillSpec, isObject, runKey, specLabel, SpecError, canonicalJson, type JsonValue, type RunSpec } from "../train/spec.js";
import { sha256Hex } from "../train/sha256.js";
import { RESULT_FORMAT, type RunResult } from "../train/result.js";
import { sparseRegression } from "../data/sparse-regression.js";
import { DIAG_NET_METHODS, trainDiagNet, type DiagNetMethod } from "../models/diagonal-net.js";
import { BLANC_1D } from "../data/relu-1d.js";
import { effectiveKinks, pathNorms, sampleFunction, trainReluNet1d } from "../models/relu-net-1d.js";

/**
 * The `format` field of a stored task result ({@link TaskResult}); a training run's is {@link RESULT_FORMAT}.
 *
 * @example
 * ```ts
 * if (stored.format === TASK_RESULT_FORMAT) console.log(stored.metrics);
 * ```
 */
export const TASK_RESULT_FORMAT = "sharpness-aware-task-result/1";

/** A filled, validated task spec. */
export type TaskSpec = {
  /** The task kind, a key of {@link TASKS}. */
  task: string;
  /** The seed (data and initialization). */
  seed: number;
  /** The task's other fields, as its `params` declare them. */
  [k: string]: JsonValue;
};

/** A finished task run as stored in `runs/<key>/result.json`. */
export type TaskResult = {
  /** Always {@link TASK_RESULT_FORMAT}. */
  format: typeof TASK_RESULT_FORMAT;
  /** The run key ({@link anyRunKey} of `spec`). */
  key: string;
  /** The task's name (`diag-net`, `relu-1d`). */
  task: string;
  /** A short label ("1-SAM ρ=0.1"). */
  label: string;
  /** The spec's seed. */
  seed: number;
  /** The filled spec the run ran. */
  spec: TaskSpec;
  /** Final numbers (null: not defined, e.g. the loss of a diverged run). */
  metrics: Record<string, number | boolean | null>;
  /** Curves and samples for figures. */
  output: Record<string, JsonValue>;
  /** Wall time of the run in seconds. */
  seconds: number;
  /** Where it ran (`js-float64`: plain TypeScript). */
  device: string;
};

/** Whatever a run directory can hold. */
export type StoredResult = RunResult | TaskResult;
/** A filled run spec of either kind: a training run ({@link RunSpec}) or a task ({@link TaskSpec}, with `task`). */
export type AnySpec = RunSpec | TaskSpec;

/** A run kind besides training (see {@link TASKS}): its fields, and how to fill, label, describe and run a spec of it. */
export type Task = {
  /** The name a spec's `task` field gives (`diag-net`). */
  name: string;
  /** One line on what it runs. */
  doc: string;
  /** Top-level fields (besides `task`), declared once. */
  params: Record<string, Hyper>;
  /** Nested objects and lists, checked by `fill`. */
  fill(input: Record<string, unknown>): TaskSpec;
  /** A short label for a filled spec ("1-SAM ρ=0.1"). */
  label(spec: TaskSpec): string;
  /** One line for progress output. */
  describe(r: TaskResult): string;
  /** Run a filled spec synchronously (float64), reporting progress as (step, steps). */
  run(spec: TaskSpec, onProgress?: (step: number, steps: number) => void): { metrics: TaskResult["metrics"]; output: TaskResult["output"] };
};

const fmt = (x: number | boolean | null | undefined, digits = 4) => (typeof x === "number" ? Number(x.toPrecision(digits)).toString() : String(x));

function fillFields(path: string, params: Record<string, Hyper>, given: Record<string, unknown>, extra: string[] = []): Record<string, JsonValue> {
  for (const k of Object.keys(given)) {
    if (k in params || extra.includes(k)) continue;
    throw new SpecError(`${path}${k}: unknown field (fields: ${[...extra, ...Object.keys(params)].join(", ")})`, `${path}${k}`);
  }
  const out: Record<string, JsonValue> = {};
  for (const [k, h] of Object.entries(params)) out[k] = checkField(`${path}${k}`, h, given[k]);
  return out;
}

// ---------------------------------------------------------------- diagonal linear network

const DIAG_DATA: Record<string, Hyper> = {
  n: { type: "number", integer: true, min: 1, max: 10_000, default: 20, doc: "training examples" },
  nTest: { type: "number", integer: true, min: 1, max: 1_000_000, default: 1000, doc: "test examples" },
  d: { type: "number", integer: true, min: 1, max: 10_000, default: 30, doc: "dimension" },
  k: { type: "number", integer: true, min: 1, max: 10_000, default: 3, doc: "nonzeros of β*" },
};
const DIAG_PHASE: Record<string, Hyper> = {
  method: { type: "enum", values: DIAG_NET_METHODS, default: "erm", doc: "erm, n-sam or 1-sam" },
  rho: { type: "number", min: 0, default: 0, doc: "unnormalized ascent step ρ" },
  steps: { type: "number", integer: true, min: 0, max: 10_000_000, doc: "full-batch steps" },
};

const diagNetTask: Task = {
  name: "diag-net",
  doc: "diagonal linear network β = u ⊙ v on synthetic sparse regression (002 §4.2)",
  params: {
    seed: { type: "number", integer: true, min: 0, default: 0, doc: "problem instance (data seed)" },
    alpha: { type: "number", min: 0, minOpen: true, default: 0.05, doc: "initialization scale α (u₀ = 2α, v₀ = 0)" },
    lr: { type: "number", min: 0, minOpen: true, doc: "step size γ" },
    curvePoints: { type: "number", integer: true, min: 2, max: 10_000, default: 80, doc: "log-spaced points of the loss curves" },
  },
  fill(input) {
    const top = fillFields("", this.params, input, ["task", "data", "phases"]);
    if (input.data !== undefined && !isObject(input.data)) throw new SpecError(`data must be an object (got ${JSON.stringify(input.data)})`, "data");
    const data = fillFields("data.", DIAG_DATA, (input.data ?? {}) as Record<string, unknown>);
    if ((data.k as number) > (data.d as number)) throw new SpecError(`data.k must be ≤ data.d ${data.d} (got ${data.k})`, "data.k");
    const ph = input.phases;
    if (!Array.isArray(ph) || ph.length < 1 || ph.length > 8) throw new SpecError(`phases must be a list of 1 to 8 phases { method, rho, steps } (got ${JSON.stringify(ph)})`, "phases");
    const phases = ph.map((p, i) => {
      if (!isObject(p)) throw new SpecError(`phases[${i}] must be an object { method, rho, steps }`, `phases[${i}]`);
      return fillFields(`phases[${i}].`, DIAG_PHASE, p);
    });
    return { task: "diag-net", ...top, data, phases } as unknown as TaskSpec;
  },
  label(s) {
    const phases = s.phases as { method: string; rho: number; steps: number }[];
    return phases.map((p) => (p.method === "erm" ? "ERM" : `${p.method === "n-sam" ? "n-SAM" : "1-SAM"} ρ=${fmt(p.rho)}`)).join(" → ");
  },
  describe(r) {
    const m = r.metrics;
    return m.diverged ? `diverged at step ${m.steps}` : `train loss ${fmt(m.trainLoss, 3)}, test loss ${fmt(m.testLoss, 3)}, ‖β‖₁ ${fmt(m.l1Norm, 4)}`;
  },
  run(s, onProgress) {
    const d = s.data as { n: number; nTest: number; d: number; k: number };
    const p = sparseRegression({ ...d, seed: s.seed });
    const r = trainDiagNet(p, {
      alpha: s.alpha as number,
      lr: s.lr as number,
      phases: (s.phases as { method: DiagNetMethod; rho: number; steps: number }[]).map((x) => ({ ...x })),
      curvePoints: s.curvePoints as number,
      onProgress,
    });
    return {
      metrics: { trainLoss: r.trainLoss, testLoss: r.testLoss, l1Norm: r.l1Norm, recoveryError: r.recoveryError, diverged: r.diverged, steps: r.steps },
      output: { curve: r.curve, phaseEnds: r.phaseEnds, beta: r.beta },
    };
  },
};

// ---------------------------------------------------------------- 1-D ReLU network

const reluTask: Task = {
  name: "relu-1d",
  doc: "one-hidden-layer ReLU network on the 12-point 1-D regression of Blanc et al. (002 §4.3)",
  params: {
    seed: { type: "number", integer: true, min: 0, default: 0, doc: "initialization seed" },
    method: { type: "enum", values: ["erm", "sam"], default: "erm", doc: "erm or sam (normalized ascent)" },
    rho: { type: "number", min: 0, default: null, doc: "SAM radius ρ (default 0.3 for sam, 0 for erm)" },
    lr: { type: "number", min: 0, minOpen: true, default: 5e-5, doc: "step size" },
    lrDecay: { type: "enum", values: ["default", "linear", "none"], default: "default", doc: "learning-rate schedule (default: the authors' code — linear for sam, none for erm)" },
    maxSteps: { type: "number", integer: true, min: 1, max: 100_000_000, default: 1_000_000, doc: "step budget (the linear decay reaches 0 here)" },
    lossTarget: { type: "number", min: 0, default: 1e-5, doc: "stop once the loss is ≤ this" },
    hidden: { type: "number", integer: true, min: 1, max: 100_000, default: 100, doc: "hidden units" },
    samplePoints: { type: "number", integer: true, min: 2, max: 100_000, default: 241, doc: "points at which the learned function is stored" },
  },
  fill(input) {
    const s = fillFields("", this.params, input, ["task"]);
    if (s.method === "erm" && s.rho !== null && s.rho !== 0) throw new SpecError(`rho must be 0 (or absent) with method "erm" (got ${s.rho})`, "rho");
    s.rho = s.method === "erm" ? 0 : s.rho === null ? 0.3 : s.rho;
    if (s.lrDecay === "default") s.lrDecay = s.method === "sam" ? "linear" : "none";
    return { task: "relu-1d", ...s } as TaskSpec;
  },
  label(s) {
    return s.method === "erm" ? "ERM" : `SAM ρ=${fmt(s.rho as number)}`;
  },
  describe(r) {
    const m = r.metrics;
    return m.diverged ? `diverged at step ${m.steps}` : `loss ${fmt(m.finalLoss, 3)} after ${m.steps} steps, ${m.kinks} kinks, path norm ${fmt(m.pathNorm, 4)}`;
  },
  run(s, onProgress) {
    const r = trainReluNet1d(BLANC_1D, {
      method: s.method as "erm" | "sam",
      rho: s.rho as number,
      lr: s.lr as number,
      lrDecay: s.lrDecay as "linear" | "none",
      maxSteps: s.maxSteps as number,
      lossTarget: s.lossTarget as number,
      hidden: s.hidden as number,
      seed: s.seed,
      onProgress,
    });
    const lo = Math.min(...BLANC_1D.x);
    const hi = Math.max(...BLANC_1D.x);
    const k = effectiveKinks(r.net, lo, hi);
    const norms = pathNorms(r.net);
    const pad = 0.1 * (hi - lo);
    const f = sampleFunction(r.net, lo - pad, hi + pad, s.samplePoints as number);
    return {
      metrics: { finalLoss: r.finalLoss, steps: r.steps, reachedTarget: r.reachedTarget, diverged: r.diverged, kinks: k.count, pathNorm: norms.withBias, slopeVariation: norms.weightsOnly },
      output: { x: f.x, y: f.y, kinks: k.kinks, curve: r.curve },
    };
  },
};

/**
 * Every task kind, by the name in `spec.task`: `diag-net` (002's diagonal linear network on
 * sparse regression) and `relu-1d` (the one-hidden-layer ReLU network on Blanc et al.'s 12
 * points).
 *
 * @example
 * ```ts
 * for (const t of Object.values(TASKS)) console.log(t.name, t.doc, Object.keys(t.params));
 * ```
 */
export const TASKS: Record<string, Task> = { [diagNetTask.name]: diagNetTask, [reluTask.name]: reluTask };

/**
 * `spec` names a task (is an object with a `task` field) rather than a training run. Checks the
 * shape only, not the task's name.
 *
 * @example
 * ```ts
 * isTaskSpec({ task: "relu-1d", seed: 0 }); // true
 * isTaskSpec({ seed: 0 });                  // false: a training spec
 * ```
 */
export const isTaskSpec = (spec: unknown): spec is Record<string, unknown> & { task: unknown } => isObject(spec) && "task" in spec;

/**
 * Check and fill a run spec of any kind: a task spec (with `task`) or a training spec
 * ({@link fillSpec}). Returns a new object with every default filled; does not change `input`.
 * Throws {@link SpecError} naming the first bad field.
 *
 * @example
 * ```ts
 * const spec = fillAnySpec({ task: "relu-1d", seed: 1, method: "sam" }); // rho 0.3, lr 5e-5, … filled in
 * ```
 */
export function fillAnySpec(input: unknown): AnySpec {
  if (!isTaskSpec(input)) return fillSpec(input);
  const t = TASKS[input.task as string];
  if (typeof input.task !== "string" || !t) throw new SpecError(`task must be one of ${Object.keys(TASKS).join(", ")} (got ${JSON.stringify(input.task)})`, "task");
  return t.fill(input);
}

/**
 * The key of a run spec of any kind: 16 hex digits of SHA-256 of the filled spec's canonical
 * JSON (training specs: {@link runKey}), so equal specs share one run directory.
 *
 * @example
 * ```ts
 * anyRunKey({ task: "relu-1d", seed: 0, method: "sam" }) === anyRunKey(fillAnySpec({ task: "relu-1d", seed: 0, method: "sam" })); // true
 * ```
 */
export function anyRunKey(spec: unknown): string {
  return isTaskSpec(spec) ? sha256Hex(canonicalJson(fillAnySpec(spec))).slice(0, 16) : runKey(spec);
}

/**
 * A short label — "1-SAM ρ=0.1", "SAM ρ=0.1" … — for a filled spec of any kind.
 *
 * @example
 * ```ts
 * anyLabel(fillAnySpec({ optimizer: { name: "sam", rho: 0.1, base: { name: "sgd", lr: 0.05 } } })); // "SAM ρ=0.1"
 * ```
 */
export function anyLabel(spec: AnySpec): string {
  return "task" in spec ? TASKS[spec.task].label(spec) : specLabel(spec);
}

export const isTaskResult = (r: unknown): r is TaskResult => isObject(r) && r.format === TASK_RESULT_FORMAT;
export const isTrainResult = (r: unknown): r is RunResult => isObject(r) && r.format === RESULT_FORMAT;

/**
 * Run a task spec to its stored result (synchronous, exact float64; seconds measured here).
 * Fills `input` first (throws {@link SpecError} on a bad field or a training spec); `device` is
 * only recorded; `onProgress(step, steps)` is called as the task runs.
 *
 * @example
 * ```ts
 * runTask({ task: "diag-net", lr: 0.5, phases: [{ method: "1-sam", rho: 0.1, steps: 1000 }] }).metrics.testLoss
 * ```
 */
export function runTask(input: unknown, device = "js-float64", onProgress?: (step: number, steps: number) => void): TaskResult {
  const spec = fillAnySpec(input);
  if (!("task" in spec)) throw new SpecError("runTask takes a task spec (with a task field)", "task");
  const t = TASKS[spec.task];
  const t0 = performance.now();
  const { metrics, output } = t.run(spec, onProgress);
  return { format: TASK_RESULT_FORMAT, key: anyRunKey(spec), task: spec.task, label: t.label(spec), seed: spec.seed, spec, metrics, output, seconds: (performance.now() - t0) / 1000, device };
}

/** One line about a finished run of any kind (progress output). */
export function describeResult(r: StoredResult): string {
  if (isTaskResult(r)) return TASKS[r.task]?.describe(r) ?? "";
  const m = r.metrics;
  const pct = (x: number | null) => (x === null || Number.isNaN(x) ? "–" : `${(100 * x).toFixed(2)}%`);
  return `test ${pct(m.testAccuracy)} (best ${pct(m.bestTestAccuracy)} @${m.bestEpoch}), noisy-fit ${pct(m.noisyTrainAccuracy)}${m.skippedSteps ? `, ${m.skippedSteps} steps skipped (NaN/Inf)` : ""}`;
}
