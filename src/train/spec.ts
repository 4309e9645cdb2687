/**
 * Run specs: a run is a plain JSON document holding only what affects it —
 *
 *   { "data": { "name": "fashion-mnist", "trainSize": 5000, "labelNoise": 0.6 },
 *     "model": { "name": "mlp", "hidden": 256, "batchNorm": false },
 *     "optimizer": { "name": "sam", "rho": 0.1, …,
 *                    "base": { "name": "sgd", "lr": 0.05, "momentum": 0.9, "weightDecay": 0, … } },
 *     "epochs": 30, "batchSize": 128, "seed": 0 }
 *
 * `fillSpec` checks every field against the registry (one-line `SpecError` naming the field's
 * path and what is allowed) and fills the defaults; the run's key is the SHA-256 of the filled
 * spec's canonical JSON (sorted keys), so key order and spelled-out defaults do not change it.
 * No paths, times or devices are part of a spec. Infinity (sam's p) is written "inf".
 *
 * Browser-safe (no `node:` imports).
 */
import { allowedText, fitsHyper, type Hyper } from "../optim/hyper.js";
import { ALGORITHMS, BASES, DATASETS, MODELS, RUN_PARAMS, baseLearningRate, type BuildContext, type Params } from "./registry.js";
import { sha256Hex } from "./sha256.js";
import type { GradientTransformation } from "../optim/types.js";
import type { SharpnessAwareOptimizer } from "../sam/core.js";
import { trainSizeProblem, validationSizeProblem } from "../data/sizes.js";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

/** A run spec's base optimizer: its registry name ({@link BASES}), learning rate and other hyperparameters. */
export type BaseSpec = {
  /** "sgd", "adam" or "adamw". */
  name: string;
  /** The learning rate. */
  lr: number;
  /** The base's other hyperparameters (momentum, weightDecay, …), by spec name. */
  [k: string]: JsonValue;
};
/** A run spec's optimizer: its registry name ({@link ALGORITHMS}), its base and its hyperparameters. */
export type OptimizerSpec = {
  /** "sam", "asam", … ("sgd": the base alone). */
  name: string;
  /** The wrapped base optimizer. */
  base: BaseSpec;
  /** The algorithm's hyperparameters (rho, …), by spec name. */
  [k: string]: JsonValue;
};
/** A run spec's data set ({@link DATASETS}). */
export type DataSpec = {
  /** "fashion-mnist" or "mnist". */
  name: string;
  /** Training examples (a stratified subset). */
  trainSize: number;
  /** Fraction of training labels made wrong, in [0, 1). */
  labelNoise: number;
  /** Examples held out for validation (absent: 0). */
  validationSize?: number;
};
/** A run spec's model ({@link MODELS}). */
export type ModelSpec = {
  /** "mlp" or "cnn". */
  name: string;
  /** BatchNorm after hidden / conv layers. */
  batchNorm: boolean;
  /** The model's other fields (hidden, …). */
  [k: string]: JsonValue;
};

/**
 * A filled, validated run spec.
 *
 * @example
 * ```ts
 * const spec: RunSpec = fillSpec({ optimizer: { name: "sam", rho: 0.1, base: { name: "sgd", lr: 0.05 } }, epochs: 5 });
 * ```
 */
export type RunSpec = {
  /** The data set. */
  data: DataSpec;
  /** The model. */
  model: ModelSpec;
  /** The optimizer and its base. */
  optimizer: OptimizerSpec;
  /** Epochs to train. */
  epochs: number;
  /** Batch size. */
  batchSize: number;
  /** Seed of the data subset, label noise, initialization and shuffling. */
  seed: number;
  /** Per-epoch telemetry in the history (absent: off). */
  telemetry?: boolean;
};

/**
 * A spec field that is missing, unknown or out of range; `path` is the dotted field. The message
 * is one line ("optimizer.rho must be a finite number ≥ 0 (got -1)").
 *
 * @example
 * ```ts
 * try { fillSpec(json); } catch (e) { if (e instanceof SpecError) console.error(e.path, e.message); }
 * ```
 */
export class SpecError extends Error {
  /** Always "SpecError". */
  override name = "SpecError";
  /**
   * @param message The one-line message.
   * @param path The dotted path of the bad field ("optimizer.rho"); "" when it is the whole spec.
   */
  constructor(
    message: string,
    readonly path: string = "",
  ) {
    super(message);
  }
}

/** A value for a one-line message: JSON for strings and objects, cut to 60 characters (a deeply nested value never overflows the stack here). */
function show(v: unknown): string {
  let s: string;
  try {
    s = typeof v === "string" || (v !== null && typeof v === "object") ? (JSON.stringify(v) ?? String(v)) : String(v);
  } catch {
    s = Array.isArray(v) ? "a list nested too deeply to show" : "an object nested too deeply to show";
  }
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}
/** `k` is an own key of `o` (never one inherited from Object.prototype, such as "constructor"). */
const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
/** A field name as messages show it: bare when it looks like one, else quoted and cut. */
const field = (k: string) => (/^[A-Za-z_$][\w$]{0,39}$/.test(k) ? k : show(k));
/** The most levels of nested lists and objects a spec or sweep file may have (a real one has 4). */
export const MAX_NESTING = 64;

/** `v` nests lists/objects deeper than `max` levels (checked without recursion, so any depth is safe). */
export function nestedDeeperThan(v: unknown, max = MAX_NESTING): boolean {
  const stack: [unknown, number][] = [[v, 0]];
  let seen = 0;
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== "object") continue;
    if (d >= max) return true;
    // Bounded work: a wide but shallow value is fine, it is looked at once.
    if (++seen > 1_000_000) return false;
    for (const y of Array.isArray(x) ? x : Object.values(x)) if (y !== null && typeof y === "object") stack.push([y, d + 1]);
  }
  return false;
}

/** A plain JSON object (not null, not an array). */
export const isObject = (v: unknown): v is Record<string, any> => v !== null && typeof v === "object" && !Array.isArray(v);
const join = (path: string, k: string) => (path ? `${path}.${k}` : k);

/** "inf"/"infinity"/Infinity → "inf" where a hyperparameter allows it; anything else as given. */
function normalizeInfinity(h: Hyper, v: unknown): unknown {
  if (h.type !== "number" || !h.allowInfinity) return v;
  if (v === Infinity || (typeof v === "string" && /^inf(inity)?$/i.test(v))) return "inf";
  return v;
}

/** One field's value checked against its hyperparameter; returns the value to store. */
export function checkField(path: string, h: Hyper, given: unknown): JsonValue {
  const v = normalizeInfinity(h, given === undefined ? h.default : given);
  if (v === undefined) throw new SpecError(`${path} is required (${h.doc}: ${allowedText(h)})`, path);
  if (v === null && h.type === "number" && h.default === null) return null;
  if (v === "inf" && h.type === "number" && h.allowInfinity) return "inf";
  // Infinity itself never reaches here ("inf" above): a spec is JSON.
  if (v === Infinity || !fitsHyper(h, v)) throw new SpecError(`${path} must be ${allowedText(h)} (got ${show(v)})`, path);
  return v as JsonValue;
}

/** A component object: `name` from `entries`, each param checked and filled, unknown keys refused. */
function fillComponent(path: string, kind: string, entries: Record<string, { params: Params }>, given: unknown, fallback: string, nested: string[] = []): Record<string, JsonValue> {
  if (given === undefined) given = {};
  if (!isObject(given)) throw new SpecError(`${path} must be an object (got ${show(given)})`, path);
  const name = given.name ?? fallback;
  if (typeof name !== "string" || !has(entries, name)) throw new SpecError(`${join(path, "name")} must be one of ${Object.keys(entries).join(", ")} (got ${show(name)})`, join(path, "name"));
  const params = entries[name].params;
  for (const k of Object.keys(given)) {
    if (k === "name" || nested.includes(k) || has(params, k)) continue;
    const known = Object.keys(params);
    throw new SpecError(`${join(path, field(k))}: ${show(k)} is not a hyperparameter of ${kind} ${name} (${known.length ? `it takes ${known.join(", ")}` : "it takes none"})`, join(path, k));
  }
  const out: Record<string, JsonValue> = { name };
  for (const [k, h] of Object.entries(params)) setFilled(out, k, h, checkField(join(path, k), h, given[k]));
  return out;
}

/** Store a checked value, leaving out an `omitDefault` field at its default (see Hyper). */
function setFilled(out: Record<string, unknown>, k: string, h: Hyper, v: JsonValue): void {
  if (h.omitDefault && v === h.default) delete out[k];
  else out[k] = v;
}

const TOP = ["data", "model", "optimizer", "epochs", "batchSize", "seed", "telemetry"];

/** Entries by spec section, for code that walks a spec generically (flags, docs). */
export const SECTIONS = { data: DATASETS, model: MODELS, optimizer: ALGORITHMS, base: BASES } as const;

/**
 * Check `input` and fill every default. Throws `SpecError` naming the first bad field.
 *
 * Returns a new object; does not change `input`.
 *
 * @example
 * ```ts
 * fillSpec({ optimizer: { name: "sam", rho: 0.1, base: { name: "sgd", lr: 0.05 } } })
 * ```
 */
export function fillSpec(input: unknown): RunSpec {
  if (!isObject(input)) throw new SpecError(`a run spec must be a JSON object (got ${show(input)})`);
  if (nestedDeeperThan(input)) throw new SpecError(`a run spec nests lists or objects more than ${MAX_NESTING} levels deep`);
  for (const k of Object.keys(input)) if (!TOP.includes(k)) throw new SpecError(`${field(k)}: unknown field of a run spec (fields: ${TOP.join(", ")})`, k);
  const data = fillComponent("data", "data set", DATASETS, input.data, "fashion-mnist") as DataSpec;
  const model = fillComponent("model", "model", MODELS, input.model, "mlp") as ModelSpec;
  const spec: RunSpec = { data, model, optimizer: fillOptimizerSpec(input.optimizer), epochs: 0, batchSize: 0, seed: 0 };
  for (const [k, h] of Object.entries(RUN_PARAMS)) setFilled(spec as Record<string, unknown>, k, h, checkField(k, h, input[k]));
  crossChecks(spec);
  return spec;
}

/**
 * The `optimizer` section of a run spec alone, checked and filled (the playground builds
 * optimizers without a data set). Throws `SpecError` naming the field.
 *
 * @example fillOptimizerSpec({ name: "sam", rho: 0.1, base: { name: "sgd", lr: 0.1 } })
 */
export function fillOptimizerSpec(input: unknown): OptimizerSpec {
  const opt = fillComponent("optimizer", "optimizer", ALGORITHMS, input, "sam", ["base"]);
  opt.base = fillComponent("optimizer.base", "base optimizer", BASES, (input as Record<string, unknown> | undefined)?.base, "sgd");
  return opt as OptimizerSpec;
}

/** Seeds feed 32-bit generators (engine/prng.ts): a larger one would silently repeat a smaller one's run under another key. */
export const MAX_SEED = 0xffffffff;

function crossChecks(s: RunSpec): void {
  const o = s.optimizer;
  if (s.seed > MAX_SEED) throw new SpecError(`seed must be an integer in [0, ${MAX_SEED}] (got ${s.seed})`, "seed");
  // Sizes the data set cannot give are errors, never clamped (data/sizes.ts).
  const sizeMin = (DATASETS[s.data.name].params.trainSize as { min?: number }).min ?? 1;
  const trainProblem = trainSizeProblem(s.data.name, s.data.trainSize, sizeMin);
  if (trainProblem) throw new SpecError(trainProblem, "data.trainSize");
  const validationProblem = validationSizeProblem(s.data.name, s.data.trainSize, s.data.validationSize ?? 0);
  if (validationProblem) throw new SpecError(validationProblem, "data.validationSize");
  if (s.batchSize > s.data.trainSize) throw new SpecError(`batchSize ${s.batchSize} is larger than data.trainSize ${s.data.trainSize}`, "batchSize");
  if (typeof o.m === "number") {
    if (s.batchSize % o.m !== 0) throw new SpecError(`optimizer.m must divide batchSize ${s.batchSize} (got ${o.m})`, "optimizer.m");
    if (o.ascentBatch !== "same") throw new SpecError(`optimizer.m cannot be combined with optimizer.ascentBatch ${JSON.stringify(o.ascentBatch)}`, "optimizer.m");
    // m-SAM splits every batch leaf, and the trainer carries BatchNorm statistics in the batch.
    if (s.model.batchNorm) throw new SpecError("optimizer.m cannot be combined with model.batchNorm (m-SAM splits every batch leaf, BatchNorm statistics included)", "optimizer.m");
  }
  if (typeof o.ascentBatchSize === "number") {
    if (o.ascentBatch !== "same") throw new SpecError(`optimizer.ascentBatchSize cannot be combined with optimizer.ascentBatch ${JSON.stringify(o.ascentBatch)}`, "optimizer.ascentBatchSize");
    if (typeof o.m === "number") throw new SpecError("optimizer.ascentBatchSize cannot be combined with optimizer.m", "optimizer.ascentBatchSize");
    if (o.ascentBatchSize > s.data.trainSize) throw new SpecError(`optimizer.ascentBatchSize ${o.ascentBatchSize} is larger than data.trainSize ${s.data.trainSize}`, "optimizer.ascentBatchSize");
  }
  if (typeof o.accumulate === "number") {
    if (s.batchSize % o.accumulate !== 0) throw new SpecError(`optimizer.accumulate must divide batchSize ${s.batchSize} (got ${o.accumulate})`, "optimizer.accumulate");
    // Like m-SAM: splitting the batch would split the BatchNorm statistics the trainer carries in it.
    if (s.model.batchNorm) throw new SpecError("optimizer.accumulate cannot be combined with model.batchNorm (micro-batches would split the BatchNorm statistics)", "optimizer.accumulate");
    if (typeof o.m === "number") throw new SpecError("optimizer.accumulate cannot be combined with optimizer.m (accumulateMode per-micro-batch is m-SAM)", "optimizer.accumulate");
  }
  if ((o.perturbLeaves === "norm" || o.name === "sam-on") && !s.model.batchNorm) {
    const what = o.name === "sam-on" ? "optimizer.name sam-on" : 'optimizer.perturbLeaves "norm"';
    throw new SpecError(`${what} perturbs normalization layers only and needs model.batchNorm true (this model has none)`, o.name === "sam-on" ? "optimizer.name" : "optimizer.perturbLeaves");
  }
  if (o.bnStats === "perturbed" && !s.model.batchNorm) throw new SpecError('optimizer.bnStats "perturbed" needs model.batchNorm true (without BatchNorm there are no running statistics)', "optimizer.bnStats");
  // What only the library knows (nesterov without momentum, λ ≤ r, …): build it and report.
  try {
    buildOptimizer(s, { stepsPerEpoch: 1, totalSteps: 1, seed: s.seed });
  } catch (e) {
    if (e instanceof RangeError) throw new SpecError(e.message, "optimizer");
    throw e;
  }
}

/**
 * The base optimizer a (filled) spec describes.
 *
 * @example
 * ```ts
 * const base = buildBase(fillSpec({ optimizer: { name: "sgd", base: { name: "sgd", lr: 0.05 } } }), { stepsPerEpoch: 78, totalSteps: 780, seed: 0 });
 * ```
 */
export function buildBase(s: RunSpec, ctx: BuildContext): GradientTransformation<any> {
  return BASES[s.optimizer.base.name].create(s.optimizer.base, ctx);
}

/**
 * The optimizer a (filled) spec describes, for a run of `ctx.totalSteps` steps.
 *
 * @example
 * ```ts
 * const spec = fillSpec({ optimizer: { name: "fsam", base: { name: "sgd", lr: 0.05 } } });
 * const opt = buildOptimizer(spec, { stepsPerEpoch: 78, totalSteps: 780, seed: spec.seed });
 * ```
 */
export function buildOptimizer(s: RunSpec, ctx: BuildContext): SharpnessAwareOptimizer<any> {
  return buildFromOptimizerSpec(s.optimizer, ctx);
}

/** The optimizer a filled `optimizer` section (fillOptimizerSpec) describes. */
export function buildFromOptimizerSpec(spec: OptimizerSpec, context: BuildContext): SharpnessAwareOptimizer<any> {
  const o: Record<string, unknown> = { ...spec };
  if (o.p === "inf") o.p = Infinity;
  const b = spec.base;
  const entry = ALGORITHMS[spec.name];
  // Schedules count base-optimizer steps: k per training step for Lookbehind.
  const per = entry.baseStepsPerStep?.(o) ?? 1;
  const ctx = per === 1 ? context : { ...context, stepsPerEpoch: context.stepsPerEpoch * per, totalSteps: context.totalSteps * per };
  return entry.create(o, BASES[b.name].create(b, ctx), { ...ctx, lr: baseLearningRate(b, ctx), lr0: b.lr });
}

/**
 * JSON with object keys sorted at every level: the form that is hashed.
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }); // '{"a":[2,{"c":4,"d":3}],"b":1}'
 * ```
 */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (isObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(",")}}`;
  if (typeof v === "number" && !Number.isFinite(v)) throw new SpecError(`cannot hash the non-finite number ${v}`);
  return JSON.stringify(v);
}

/**
 * The run's key: the first 16 hex digits of SHA-256 of the filled spec's canonical JSON.
 *
 * @example
 * ```ts
 * const s = { seed: 1, optimizer: { name: "sam", base: { name: "sgd", lr: 0.05 } } };
 * runKey(s) === runKey(fillSpec(s)); // true: filled before hashing
 * ```
 */
export function runKey(spec: unknown): string {
  return sha256Hex(canonicalJson(fillSpec(spec))).slice(0, 16);
}

const num = (v: JsonValue) => (typeof v === "number" ? String(Number(v.toPrecision(6))) : String(v));

/**
 * A human label for the optimizer of a run: its name, ρ, and every other hyperparameter that
 * differs from its default ("SAM ρ=0.1", "F-SAM ρ=0.1 λ=0.6"). The plain optimizer is named
 * after its base ("SGD", "Adam").
 *
 * @example
 * ```ts
 * specLabel(fillSpec({ optimizer: { name: "fsam", rho: 0.1, lambda: 0.6, base: { name: "sgd", lr: 0.05 } } })); // "F-SAM ρ=0.1 λ=0.6"
 * ```
 */
export function specLabel(s: RunSpec): string {
  const entry = ALGORITHMS[s.optimizer.name];
  const head = s.optimizer.name === "sgd" ? BASES[s.optimizer.base.name].label : entry.label;
  const parts: string[] = [];
  for (const [k, h] of Object.entries(entry.params)) {
    const v = s.optimizer[k] ?? h.default ?? null;
    if (k !== "rho" && v === (h.default ?? null)) continue;
    parts.push(`${h.symbol ?? k}=${num(v)}`);
  }
  return [head, ...parts].join(" ");
}

/**
 * The value at a dotted path ("optimizer.rho"), or undefined.
 *
 * @example
 * ```ts
 * getPath(fillSpec({ optimizer: { name: "sam", base: { name: "sgd", lr: 0.05 } } }), "optimizer.rho"); // 0.05
 * ```
 */
export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const k of path.split(".")) {
    if (!isObject(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

/**
 * A copy of `obj` with `value` at the dotted `path` (objects on the way are created). Replacing
 * the whole `optimizer` with an object that has no `base` keeps the current base.
 *
 * @example
 * ```ts
 * const s2 = setPath(spec, "optimizer.rho", 0.1); // spec unchanged
 * ```
 */
export function setPath<T>(obj: T, path: string, value: unknown): T {
  const out = structuredClone(obj) as Record<string, unknown>;
  const keys = path.split(".");
  let cur = out;
  for (const k of keys.slice(0, -1)) {
    if (!isObject(cur[k])) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  const last = keys[keys.length - 1];
  let v = structuredClone(value);
  if (path === "optimizer" && isObject(v) && v.base === undefined && isObject(cur.optimizer)) v = { ...v, base: (cur.optimizer as Record<string, unknown>).base };
  cur[last] = v;
  return out as T;
}
