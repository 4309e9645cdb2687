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
import { fillSpec, isObject, SpecError, setPath, type RunSpec } from "../train/spec.js";

export type RandomParam = { min: number; max: number; log?: boolean; integer?: boolean } | unknown[];
export type SweepFile = { base: unknown; grid?: Record<string, unknown[]>; random?: { n: number; seed?: number; params: Record<string, RandomParam> } };

/** One-line problem with a sweep file. */
export class SweepError extends Error {
  override name = "SweepError";
}

const depth = (p: string) => p.split(".").length;
const show = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));

function checkSweep(s: unknown): SweepFile {
  if (!isObject(s)) throw new SweepError(`a sweep must be a JSON object with "base" and "grid" (got ${JSON.stringify(s)})`);
  for (const k of Object.keys(s)) if (!["base", "grid", "random", "title"].includes(k)) throw new SweepError(`unknown field ${JSON.stringify(k)} (fields: base, grid, random, title)`);
  if (!isObject(s.base)) throw new SweepError(`"base" must be a run spec object`);
  if (s.grid !== undefined && !isObject(s.grid)) throw new SweepError(`"grid" must map dotted field paths to lists of values`);
  for (const [p, vs] of Object.entries(s.grid ?? {})) {
    if (!/^[A-Za-z]+(\.[A-Za-z]+)*$/.test(p)) throw new SweepError(`grid: ${JSON.stringify(p)} is not a dotted field path (e.g. "optimizer.rho")`);
    if (!Array.isArray(vs) || vs.length === 0) throw new SweepError(`grid.${p} must be a non-empty list of values (got ${JSON.stringify(vs)})`);
  }
  if (s.random !== undefined) {
    const r = s.random;
    if (!isObject(r) || !Number.isInteger(r.n) || r.n < 1) throw new SweepError(`random.n must be an integer ≥ 1 (got ${JSON.stringify(isObject(r) ? r.n : r)})`);
    if (r.seed !== undefined && !(Number.isInteger(r.seed) && r.seed >= 0)) throw new SweepError(`random.seed must be an integer ≥ 0 (got ${JSON.stringify(r.seed)})`);
    if (!isObject(r.params) || Object.keys(r.params).length === 0) throw new SweepError(`random.params must map field paths to ranges {min, max, log?} or lists of choices`);
    for (const [p, d] of Object.entries(r.params)) {
      if (Array.isArray(d)) {
        if (d.length === 0) throw new SweepError(`random.params.${p} must be a non-empty list of choices`);
        continue;
      }
      const ok = isObject(d) && typeof d.min === "number" && typeof d.max === "number" && Number.isFinite(d.min) && Number.isFinite(d.max) && d.min <= d.max && (!d.log || d.min > 0);
      if (!ok) throw new SweepError(`random.params.${p} must be {min, max} with min ≤ max (and min > 0 with log) (got ${JSON.stringify(d)})`);
    }
  }
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
 * @example expandSweep({ base, grid: { "optimizer.rho": [0.05, 0.1], seed: [0, 1, 2] } }) // 6 specs
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
