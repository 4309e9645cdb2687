/**
 * Sweep files: `{ "base": <run spec>, "grid": { "<dotted path>": [values…] },
 * "random": { "n": 8, "seed": 0, "params": { "<path>": { "min": 1e-3, "max": 1, "log": true,
 * "integer": false } | [choices…] } } }`.
 *
 * The runs are the grid's product (paths setting whole objects, e.g. "optimizer", apply before
 * the fields inside them, e.g. "optimizer.rho"), crossed with the n random draws when `random`
 * is given (each draw samples every random param: uniform, or log-uniform with `log`, from a
 * seeded generator, so a sweep file always expands to the same runs). Every run is filled and
 * checked (spec.ts); an error names the run by its grid values. Browser-safe.
 */
import { rng } from "../engine/prng.js";
import { fillSpec, isObject, MAX_NESTING, nestedDeeperThan, SpecError, setPath, type RunSpec } from "../train/spec.js";

/**
 * How a random search draws one spec path: uniformly (log-uniformly with `log`; rounded with
 * `integer`) from [min, max], or uniformly among a list of choices.
 *
 * @inline
 */
export type RandomParam =
  | {
      /** Lower end of the range. */
      min: number;
      /** Upper end of the range. */
      max: number;
      /** Sample log-uniformly (min > 0). */
      log?: boolean;
      /** Round to an integer. */
      integer?: boolean;
    }
  | unknown[];
/**
 * A sweep file: a base run spec, a grid of values per dotted spec path (their product), and
 * optionally `random.n` seeded random draws of more paths crossed with the grid.
 *
 * @example
 * ```ts
 * const file: SweepFile = { base: { optimizer: { name: "sam", base: { name: "sgd", lr: 0.05 } } }, grid: { "optimizer.rho": [0.05, 0.1], seed: [0, 1, 2] } };
 * ```
 */
export type SweepFile = {
  /** The run spec every run starts from (filled with defaults). */
  base: unknown;
  /** Dotted spec path → the values to try; the runs are the product. */
  grid?: Record<string, unknown[]>;
  /** `n` random draws (from `seed`, default 0) of each path in `params`, crossed with the grid. */
  random?: { n: number; seed?: number; params: Record<string, RandomParam> };
};

/**
 * A one-line problem with a sweep file (naming the field or the run by its grid values).
 *
 * @example
 * ```ts
 * try { expandSweep(json); } catch (e) { if (e instanceof SweepError) console.error(e.message); }
 * ```
 */
export class SweepError extends Error {
  /** Always "SweepError". */
  override name = "SweepError";
}

const depth = (p: string) => p.split(".").length;
/** A value for a one-line message: strings bare when plain, else JSON; cut to 60 characters; never throws (deep nesting). */
function show(v: unknown): string {
  let s: string;
  try {
    s = typeof v === "string" && /^[\w .:/+-]*$/.test(v) ? v : (JSON.stringify(v) ?? String(v));
  } catch {
    s = "a value nested too deeply to show";
  }
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

/** A key or path quoted for a message, cut to 60 characters. */
const q = (k: string) => JSON.stringify(k.length > 60 ? `${k.slice(0, 57)}…` : k);

/** Most runs one sweep file may expand to (the grid's product times random.n), checked before expanding. */
export const MAX_SWEEP_RUNS = 10_000;

function checkSweep(s: unknown): SweepFile {
  if (!isObject(s)) throw new SweepError(`a sweep must be a JSON object with "base" and "grid" (got ${show(s)})`);
  if (nestedDeeperThan(s)) throw new SweepError(`a sweep file nests lists or objects more than ${MAX_NESTING} levels deep`);
  for (const k of Object.keys(s)) if (!["base", "grid", "random", "title"].includes(k)) throw new SweepError(`unknown field ${q(k)} (fields: base, grid, random, title)`);
  if (s.title !== undefined && typeof s.title !== "string") throw new SweepError(`"title" must be a string (got ${show(s.title)})`);
  if (!isObject(s.base)) throw new SweepError(`"base" must be a run spec object`);
  if (s.grid !== undefined && !isObject(s.grid)) throw new SweepError(`"grid" must map dotted field paths to lists of values`);
  for (const [p, vs] of Object.entries(s.grid ?? {})) {
    if (!/^[A-Za-z]+(\.[A-Za-z]+)*$/.test(p)) throw new SweepError(`grid: ${q(p)} is not a dotted field path (e.g. "optimizer.rho")`);
    if (!Array.isArray(vs) || vs.length === 0) throw new SweepError(`grid.${p} must be a non-empty list of values (got ${show(vs)})`);
  }
  if (s.random !== undefined) {
    const r = s.random;
    if (!isObject(r) || !Number.isInteger(r.n) || r.n < 1) throw new SweepError(`random.n must be an integer ≥ 1 (got ${show(isObject(r) ? r.n : r)})`);
    for (const k of Object.keys(r)) if (!["n", "seed", "params"].includes(k)) throw new SweepError(`random: unknown field ${q(k)} (fields: n, seed, params)`);
    if (r.seed !== undefined && !(Number.isInteger(r.seed) && r.seed >= 0 && r.seed <= 0xffffffff)) throw new SweepError(`random.seed must be an integer in [0, 4294967295] (got ${show(r.seed)})`);
    if (!isObject(r.params) || Object.keys(r.params).length === 0) throw new SweepError(`random.params must map field paths to ranges {min, max, log?} or lists of choices`);
    for (const [p, d] of Object.entries(r.params)) {
      if (!/^[A-Za-z]+(\.[A-Za-z]+)*$/.test(p)) throw new SweepError(`random.params: ${q(p)} is not a dotted field path (e.g. "optimizer.rho")`);
      if (Array.isArray(d)) {
        if (d.length === 0) throw new SweepError(`random.params.${p} must be a non-empty list of choices`);
        continue;
      }
      const ok = isObject(d) && typeof d.min === "number" && typeof d.max === "number" && Number.isFinite(d.min) && Number.isFinite(d.max) && d.min <= d.max && (!d.log || d.min > 0);
      if (!ok) throw new SweepError(`random.params.${p} must be {min, max} with min ≤ max (and min > 0 with log) (got ${show(d)})`);
      for (const k of Object.keys(d)) if (!["min", "max", "log", "integer"].includes(k)) throw new SweepError(`random.params.${p}: unknown field ${q(k)} (fields: min, max, log, integer)`);
      for (const k of ["log", "integer"] as const) if (d[k] !== undefined && typeof d[k] !== "boolean") throw new SweepError(`random.params.${p}.${k} must be true or false (got ${show(d[k])})`);
    }
  }
  // Count before expanding: a grid of 10 lists of 10 values is 10^10 runs.
  const sizes = [...Object.values(s.grid ?? {}).map((vs) => (vs as unknown[]).length), ...(s.random ? [s.random.n as number] : [])];
  const runs = sizes.reduce((a, b) => a * b, 1);
  if (runs > MAX_SWEEP_RUNS) throw new SweepError(`the sweep expands to ${runs > 1e15 ? runs.toExponential(2) : runs} runs (${sizes.join(" × ")}); at most ${MAX_SWEEP_RUNS} per sweep: split it into several sweeps`);
  return s as SweepFile;
}

/** The assignments (path → value) of every run, in order. */
function assignments(s: SweepFile): [string, unknown][][] {
  let points: [string, unknown][][] = [[]];
  const paths = Object.keys(s.grid ?? {}).sort((a, b) => depth(a) - depth(b));
  for (const p of paths) points = points.flatMap((pt) => s.grid![p].map((v) => [...pt, [p, v] as [string, unknown]]));
  if (!s.random) return points;
  const r = rng(s.random.seed ?? 0, 11);
  const draws: [string, unknown][][] = [];
  for (let i = 0; i < s.random.n; i++) {
    draws.push(
      Object.entries(s.random.params).map(([p, d]) => {
        if (Array.isArray(d)) return [p, d[Math.floor(r() * d.length)]];
        const u = r();
        let v = d.log ? Math.exp(Math.log(d.min) + u * (Math.log(d.max) - Math.log(d.min))) : d.min + u * (d.max - d.min);
        v = d.integer ? Math.round(v) : Number(v.toPrecision(6));
        return [p, v];
      }),
    );
  }
  return draws.flatMap((dr) => points.map((pt) => [...dr, ...pt].sort((a, b) => depth(a[0]) - depth(b[0]))));
}

/**
 * The filled specs of a sweep file, in grid order (duplicates kept; `planRuns` drops them).
 *
 * Throws {@link SweepError} on a malformed file or a run whose spec is invalid. Pure.
 *
 * @example
 * ```ts
 * expandSweep({ base, grid: { "optimizer.rho": [0.05, 0.1], seed: [0, 1, 2] } }) // 6 specs
 * ```
 */
export function expandSweep(input: unknown): RunSpec[] {
  const s = checkSweep(input);
  return assignments(s).map((pt) => {
    let spec: unknown = s.base;
    for (const [p, v] of pt) spec = setPath(spec, p, v);
    try {
      return fillSpec(spec);
    } catch (e) {
      if (e instanceof SpecError) throw new SweepError(`run ${pt.length ? pt.map(([p, v]) => `${p}=${show(v)}`).join(", ") : "(base)"}: ${e.message}`);
      throw e;
    }
  });
}
