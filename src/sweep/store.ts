/**
 * A sweep's directory: `DIR/runs/<key>/` holds `spec.json`, `result.json` (written atomically
 * once the run finished), `metrics.jsonl`, `checkpoints/` (the run resumes from them) and, for a
 * run that failed, `failed.json` ({ error, attempts, at }). A result is valid when it parses, has
 * a result format (a training run's or a task's, experiments/tasks.ts), its key is the
 * directory's name and the hash of its spec, and a training run has every epoch of its spec.
 * Node-only.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { RESULT_FORMAT } from "../train/result.js";
import { SpecError } from "../train/spec.js";
import { anyRunKey, isTaskResult, TASK_RESULT_FORMAT, type StoredResult } from "../experiments/tasks.js";

/**
 * Write `text` to `path` atomically: a temp file in the same directory, fsync, rename.
 *
 * @example
 * ```ts
 * writeFileAtomic("runs/x/summary.json", JSON.stringify(summary) + "\n");
 * ```
 */
export function writeFileAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const fd = openSync(tmp, "w");
  try {
    const bytes = Buffer.from(text);
    let off = 0;
    while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export const runDir = (dir: string, key: string) => join(dir, "runs", key);

/** `r` is a complete result of the run `key`: its format, its key (the hash of its spec), every epoch of a training run. */
export function isValidResult(r: unknown, key: string): r is StoredResult {
  const x = r as StoredResult | null;
  if (!x || typeof x !== "object" || (x.format !== RESULT_FORMAT && x.format !== TASK_RESULT_FORMAT) || x.key !== key) return false;
  try {
    if (anyRunKey(x.spec) !== key) return false;
  } catch (e) {
    if (e instanceof SpecError) return false;
    throw e;
  }
  if (isTaskResult(x)) return x.metrics !== null && typeof x.metrics === "object" && x.output !== null && typeof x.output === "object";
  return Array.isArray(x.history) && x.history.length === x.spec.epochs;
}

/**
 * The valid result of `key` under `dir`, or null (missing, partial, corrupted or stale).
 *
 * @example
 * ```ts
 * const r = readValidResult("runs/cmp", key);
 * if (r === null) console.log("to run:", key);
 * ```
 */
export function readValidResult(dir: string, key: string): StoredResult | null {
  const file = join(runDir(dir, key), "result.json");
  if (!existsSync(file)) return null;
  let r: unknown;
  try {
    r = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return null;
  }
  return isValidResult(r, key) ? r : null;
}

/**
 * Store a finished run's result (and its metrics lines) atomically; idempotent per key.
 *
 * @example
 * ```ts
 * writeResult("runs/cmp", result, metricsLines); // runs/cmp/runs/<key>/{spec,result}.json, metrics.jsonl
 * ```
 */
export function writeResult(dir: string, r: StoredResult, metricsJsonl?: string): void {
  const d = runDir(dir, r.key);
  writeFileAtomic(join(d, "spec.json"), JSON.stringify(r.spec, null, 2) + "\n");
  if (metricsJsonl !== undefined) writeFileAtomic(join(d, "metrics.jsonl"), metricsJsonl);
  writeFileAtomic(join(d, "result.json"), JSON.stringify(r, null, 1) + "\n");
  rmSync(join(d, "failed.json"), { force: true });
}

/**
 * What `failed.json` holds for a run that failed for good.
 *
 * @example
 * ```ts
 * for (const f of listRuns("runs/x").failures) console.log(f.key, f.attempts, f.error);
 * ```
 */
export type FailureRecord = {
  /** The run's key. */
  key: string;
  /** The error, one line. */
  error: string;
  /** Attempts made. */
  attempts: number;
  /** When it failed for good (ISO 8601). */
  at: string;
  /** The run's spec, when known. */
  spec?: unknown;
};

export function writeFailure(dir: string, f: FailureRecord): void {
  writeFileAtomic(join(runDir(dir, f.key), "failed.json"), JSON.stringify(f, null, 1) + "\n");
}

export function readFailure(dir: string, key: string): FailureRecord | null {
  const file = join(runDir(dir, key), "failed.json");
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as FailureRecord;
  } catch {
    return null;
  }
}

/**
 * Sort `runs` by what `dir` already holds: a valid result (skipped, its result returned), a
 * recorded failure (skipped unless `retryFailed`), or nothing yet (to run). Shared by local and
 * queued sweeps.
 */
export function triageRuns<R extends { key: string }>(dir: string, runs: R[], retryFailed = false): { results: StoredResult[]; failed: FailureRecord[]; pending: R[]; skipped: number; failedBefore: number } {
  const results: StoredResult[] = [];
  const failed: FailureRecord[] = [];
  const pending: R[] = [];
  for (const r of runs) {
    const done = readValidResult(dir, r.key);
    const f = done ? null : readFailure(dir, r.key);
    if (done) results.push(done);
    else if (f && !retryFailed) failed.push(f);
    else pending.push(r);
  }
  return { results, failed, pending, skipped: results.length, failedBefore: failed.length };
}

/**
 * Every valid result and every recorded failure under `dir` (keys sorted).
 *
 * @example
 * ```ts
 * const { results, failures } = listRuns("runs/cmp");
 * ```
 */
export function listRuns(dir: string): { results: StoredResult[]; failures: FailureRecord[] } {
  const root = join(dir, "runs");
  const results: StoredResult[] = [];
  const failures: FailureRecord[] = [];
  if (!existsSync(root)) return { results, failures };
  for (const key of readdirSync(root).sort()) {
    const r = readValidResult(dir, key);
    if (r) results.push(r);
    else {
      const f = readFailure(dir, key);
      if (f) failures.push(f);
    }
  }
  return { results, failures };
}
