/**
 * Sparse regression problems for the diagonal linear network (src/models/diagonal-net.ts):
 * the synthetic problem of Andriushchenko & Flammarion 2022 ("Towards Understanding SAM",
 * §4.2, App. B; authors' notebook diagonal_linear_nets/diag_nets_sam.ipynb) and a parser for
 * bring-your-own data in JSON.
 *
 * Synthetic problem (paper's App. B): x_i ~ N(0, I_d) for n training and nTest test rows,
 * β* = |N(0, 1)| on the first k coordinates and 0 elsewhere, normalized to ‖β*‖₂ = 1, labels
 * y = ⟨x, β*⟩ without noise. Defaults are the paper's: n 20, nTest 1000, d 30, k 3.
 *
 * Randomness: the project's seeded generator (`rng(seed, stream)`, src/engine/prng.ts) with
 * Box–Muller normals, one independent stream each for X (stream 0), X_test (stream 1) and
 * β* (stream 2). The numbers therefore differ from numpy's `np.random.seed(0)` draws in the
 * authors' notebook (a different generator), but the distribution is the paper's.
 *
 * Browser-safe: no Node imports.
 */
import { rng } from "../engine/prng.js";
import { DataError } from "./errors.js";

/** Row-major design matrices; betaStar null when unknown. */
export type RegressionProblem = {
  /** Training rows. */
  n: number;
  /** Features. */
  d: number;
  /** Test rows. */
  nTest: number;
  /** n × d, row-major */
  X: Float64Array;
  /** n training targets */
  y: Float64Array;
  /** nTest × d, row-major */
  Xtest: Float64Array;
  /** nTest test targets */
  ytest: Float64Array;
  /** The true β* (d numbers), or null when unknown */
  betaStar: Float64Array | null;
};

/** Standard normals by Box–Muller from a [0, 1) generator (both values of each pair used). */
function normals(next: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const z = spare;
      spare = null;
      return z;
    }
    const u1 = 1 - next(); // (0, 1]: log is finite
    const u2 = next();
    const radius = Math.sqrt(-2 * Math.log(u1));
    spare = radius * Math.sin(2 * Math.PI * u2);
    return radius * Math.cos(2 * Math.PI * u2);
  };
}

function positiveInt(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`sparseRegression: ${name} must be an integer ≥ ${min} (got ${v})`);
  return v;
}

/**
 * The synthetic sparse regression problem of 002 App. B: x ~ N(0, I_d), β* = |N(0,1)| on the
 * first k coordinates normalized to ‖β*‖₂ = 1, y = ⟨x, β*⟩ (no noise); the test set is drawn
 * the same way. Seeded: the same options give the same arrays.
 *
 * Defaults: n 20, nTest 1000, d 30, k 3, seed 0. Throws a one-line RangeError for options out
 * of range (integers n, nTest, d ≥ 1, k in [1, d], seed ≥ 0).
 *
 * @example
 * ```ts
 * const p = sparseRegression({ n: 20, d: 30, k: 3, seed: 1 });
 * p.X.length; // 600
 * ```
 */
export function sparseRegression(opts: { n?: number; nTest?: number; d?: number; k?: number; seed?: number } = {}): RegressionProblem {
  const n = positiveInt("n", opts.n ?? 20, 1);
  const nTest = positiveInt("nTest", opts.nTest ?? 1000, 1);
  const d = positiveInt("d", opts.d ?? 30, 1);
  const k = positiveInt("k", opts.k ?? 3, 1);
  const seed = positiveInt("seed", opts.seed ?? 0, 0);
  if (k > d) throw new RangeError(`sparseRegression: k must be an integer in [1, d = ${d}] (got ${k})`);
  if (seed > 0xffffffff) throw new RangeError(`sparseRegression: seed must be an integer in [0, 2^32) (got ${seed})`);

  const gx = normals(rng(seed, 0));
  const X = new Float64Array(n * d);
  for (let i = 0; i < X.length; i++) X[i] = gx();
  const gt = normals(rng(seed, 1));
  const Xtest = new Float64Array(nTest * d);
  for (let i = 0; i < Xtest.length; i++) Xtest[i] = gt();

  const gb = normals(rng(seed, 2));
  const betaStar = new Float64Array(d);
  let sq = 0;
  for (let j = 0; j < k; j++) {
    let z = 0;
    while (z === 0) z = Math.abs(gb()); // exactly k nonzeros (a zero draw has probability ~2⁻³²)
    betaStar[j] = z;
    sq += z * z;
  }
  const norm = Math.sqrt(sq);
  for (let j = 0; j < k; j++) betaStar[j] /= norm;

  return { n, d, nTest, X, y: matVec(X, betaStar, n, d), Xtest, ytest: matVec(Xtest, betaStar, nTest, d), betaStar };
}

function matVec(A: Float64Array, b: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const o = r * cols;
    for (let c = 0; c < cols; c++) s += A[o + c] * b[c];
    out[r] = s;
  }
  return out;
}

const FIELDS = ["X", "y", "Xtest", "ytest", "betaStar"] as const;

/** A short rendering of a bad value for a message. */
function show(v: unknown): string {
  if (v === undefined) return "nothing";
  if (typeof v === "number") return String(v); // Infinity (from 1e999), not JSON's null
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 40 ? s.slice(0, 37) + "…" : s;
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

/** A vector field: a list of `len` finite numbers. */
function vector(json: Record<string, unknown>, name: string, len: number, why: string): Float64Array {
  const v = json[name];
  if (!Array.isArray(v) || v.length !== len) {
    const got = Array.isArray(v) ? `a list of ${v.length}` : show(v);
    throw new DataError(`${name} must be a list of ${len} finite numbers (${why}; got ${got})`);
  }
  const out = new Float64Array(len);
  for (let i = 0; i < len; i++) {
    if (!isFiniteNumber(v[i])) throw new DataError(`${name}[${i}] must be a finite number (got ${show(v[i])})`);
    out[i] = v[i];
  }
  return out;
}

/** A matrix field: a non-empty list of rows of `width` finite numbers (width null: X's own). */
function matrix(json: Record<string, unknown>, name: string, width: number | null): { data: Float64Array; rows: number; width: number } {
  const m = json[name];
  if (m === undefined) throw new DataError(`${name} is required: a non-empty list of rows, each a list of finite numbers`);
  if (!Array.isArray(m) || m.length === 0) throw new DataError(`${name} must be a non-empty list of rows, each a list of finite numbers (got ${show(m)})`);
  const first = m[0];
  if (!Array.isArray(first) || first.length === 0) throw new DataError(`${name}[0] must be a non-empty list of finite numbers (got ${show(first)})`);
  const w = width ?? first.length;
  const data = new Float64Array(m.length * w);
  for (let r = 0; r < m.length; r++) {
    const row = m[r];
    if (!Array.isArray(row)) throw new DataError(`${name}[${r}] must be a list of ${w} finite numbers (got ${show(row)})`);
    if (row.length !== w) throw new DataError(`${name}[${r}] has ${row.length} numbers, expected ${w} (the width of ${width === null ? "X[0]" : "X"})`);
    for (let c = 0; c < w; c++) {
      if (!isFiniteNumber(row[c])) throw new DataError(`${name}[${r}][${c}] must be a finite number (got ${show(row[c])})`);
      data[r * w + c] = row[c];
    }
  }
  return { data, rows: m.length, width: w };
}

/**
 * Bring-your-own data: `{ "X": [[…]], "y": […], "Xtest": [[…]], "ytest": […], "betaStar"?: […] }`
 * (rows of X are examples) → a RegressionProblem.
 *
 * Checks, each failure a DataError with one line naming the field and what is allowed: a JSON
 * object with no other fields; X a non-empty list of equal-length non-empty lists of finite
 * numbers (n rows of width d); y n finite numbers; Xtest (required, non-empty) rows of width
 * d; ytest one finite number per row of Xtest; betaStar optional, d finite numbers.
 *
 * @example
 * ```ts
 * const problem = parseRegressionData(JSON.parse(readFileSync("mine.json", "utf8")));
 * ```
 */
export function parseRegressionData(json: unknown): RegressionProblem {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new DataError(`the data must be a JSON object with fields X, y, Xtest, ytest and optionally betaStar (got ${Array.isArray(json) ? "a list" : show(json)})`);
  }
  const o = json as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(FIELDS as readonly string[]).includes(key)) throw new DataError(`unknown field ${JSON.stringify(key)} (fields: ${FIELDS.join(", ")})`);
  }
  const X = matrix(o, "X", null);
  const n = X.rows;
  const d = X.width;
  if (o.y === undefined) throw new DataError(`y is required: a list of ${n} finite numbers (one per row of X)`);
  const y = vector(o, "y", n, "one per row of X");
  const Xtest = matrix(o, "Xtest", d);
  const nTest = Xtest.rows;
  if (o.ytest === undefined) throw new DataError(`ytest is required: a list of ${nTest} finite numbers (one per row of Xtest)`);
  const ytest = vector(o, "ytest", nTest, "one per row of Xtest");
  const betaStar = o.betaStar === undefined || o.betaStar === null ? null : vector(o, "betaStar", d, "one per column of X");
  return { n, d, nTest, X: X.data, y, Xtest: Xtest.data, ytest, betaStar };
}
