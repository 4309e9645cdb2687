/**
 * A sweep's directory: `DIR/runs/<key>/` holds `spec.json`, `result.json` (written atomically
 * once the run finished), `metrics.jsonl`, `checkpoints/` (the run resumes from them) and, for a
 * run that failed, `failed.json` ({ error, attempts, at }). A result is valid when it parses, has
 * the result format, its key is the directory's name and the hash of its spec, and it has every
 * epoch of the spec. Node-only.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { RESULT_FORMAT, type RunResult } from "../train/result.js";
import { runKey, SpecError } from "../train/spec.js";

/** Write `text` to `path` atomically: a temp file in the same directory, fsync, rename. */
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

/** `r` is a complete result of the run `key`: its format, its key (the hash of its spec), every epoch. */
export function isValidResult(r: unknown, key: string): r is RunResult {
  const x = r as RunResult | null;
  if (!x || typeof x !== "object" || x.format !== RESULT_FORMAT || x.key !== key) return false;
  try {
    if (runKey(x.spec) !== key) return false;
  } catch (e) {
    if (e instanceof SpecError) return false;
    throw e;
  }
  return Array.isArray(x.history) && x.history.length === x.spec.epochs;
}

/** The valid result of `key` under `dir`, or null (missing, partial, corrupted or stale). */
export function readValidResult(dir: string, key: string): RunResult | null {
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

/** Store a finished run's result (and its metrics lines) atomically; idempotent per key. */
export function writeResult(dir: string, r: RunResult, metricsJsonl?: string): void {
  const d = runDir(dir, r.key);
  writeFileAtomic(join(d, "spec.json"), JSON.stringify(r.spec, null, 2) + "\n");
  if (metricsJsonl !== undefined) writeFileAtomic(join(d, "metrics.jsonl"), metricsJsonl);
  writeFileAtomic(join(d, "result.json"), JSON.stringify(r, null, 1) + "\n");
  rmSync(join(d, "failed.json"), { force: true });
}

export type FailureRecord = { key: string; error: string; attempts: number; at: string; spec?: unknown };

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
export function triageRuns<R extends { key: string }>(dir: string, runs: R[], retryFailed = false): { results: RunResult[]; failed: FailureRecord[]; pending: R[]; skipped: number; failedBefore: number } {
  const results: RunResult[] = [];
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

/** Every valid result and every recorded failure under `dir` (keys sorted). */
export function listRuns(dir: string): { results: RunResult[]; failures: FailureRecord[] } {
  const root = join(dir, "runs");
  const results: RunResult[] = [];
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
