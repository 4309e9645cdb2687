/**
 * Running a list of run specs on this machine: keys with a valid result are skipped, the rest
 * run on a `RunPool` of `jobs` processes. A crashed run (its process died) is retried up to
 * `retries` times; a run that throws is recorded as failed (`failed.json`) and skipped by later
 * sweeps unless `retryFailed`. `stop()` (SIGINT in the CLI) checkpoints the runs in progress;
 * the next sweep over the same directory resumes them. Node-only.
 */
import { availableParallelism } from "node:os";
import { anyLabel, anyRunKey, fillAnySpec, type AnySpec, type StoredResult } from "../experiments/tasks.js";
import { RunPool, type SlotProgress } from "./pool.js";
import { triageRuns, writeFailure, type FailureRecord } from "./store.js";

/** A run ready to execute: its key (the store's folder name), its filled spec and a short label. */
export type PlannedRun = {
  /** {@link anyRunKey} of the spec: `DIR/runs/<key>/`. */
  key: string;
  /** The spec with every default filled ({@link fillAnySpec}). */
  spec: AnySpec;
  /** A human-readable label ({@link anyLabel}). */
  label: string;
};

/**
 * Fill, key and de-duplicate specs of any kind (training or task specs; first occurrence kept,
 * order preserved). Throws `SpecError` on an invalid spec. Pure: runs nothing.
 *
 * @example
 * ```ts
 * const runs = planRuns([0, 1, 2].map((seed) => ({ seed, optimizer: { name: "sam", rho: 0.1, base: { name: "sgd", lr: 0.05 } } })));
 * const { done } = runLocal(runs, "runs/sam", { jobs: 2 });
 * ```
 */
export function planRuns(specs: unknown[]): PlannedRun[] {
  const seen = new Set<string>();
  const out: PlannedRun[] = [];
  for (const s of specs) {
    const spec = fillAnySpec(s);
    const key = anyRunKey(spec);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ key, spec, label: anyLabel(spec) });
  }
  return out;
}

/**
 * What {@link runLocal} reports through `onEvent`: the plan at the start, each run's start,
 * progress (epochs/steps from its process), end with its result, or failure (and whether it
 * will be retried). `slot` is the pool process (0 … jobs − 1), for one progress line per worker.
 *
 * @example
 * ```ts
 * runLocal(runs, "runs/x", { onEvent: (e: SweepEvent) => { if (e.type === "run-failed") console.error(e.run.label, e.error); } });
 * ```
 */
export type SweepEvent =
  | { type: "start"; total: number; skipped: number; failedBefore: number; pending: number; jobs: number }
  | { type: "run-start"; run: PlannedRun; slot: number; attempt: number }
  | { type: "progress"; run: PlannedRun; slot: number; p: SlotProgress }
  | { type: "run-end"; run: PlannedRun; slot: number; result: StoredResult }
  | { type: "run-failed"; run: PlannedRun; slot: number; error: string; retrying: boolean };

/**
 * Options of {@link runLocal}.
 *
 * @example
 * ```ts
 * runLocal(runs, "runs/x", { jobs: 2, retries: 1, retryFailed: true } satisfies SweepOptions);
 * ```
 */
export type SweepOptions = {
  /** Processes at once (default: one per core). */
  jobs?: number;
  /** Retries of a run whose process died (default 2). */
  retries?: number;
  /** Rerun runs recorded as failed. */
  retryFailed?: boolean;
  /** Called on every {@link SweepEvent} (the CLI draws its progress lines from them). */
  onEvent?: (e: SweepEvent) => void;
  /** Environment for the run processes. */
  env?: Record<string, string>;
};

/** How a sweep ended: what ran, what was skipped or failed, and every result the directory now holds for the planned runs. */
export type SweepOutcome = {
  /** Runs executed by this sweep. */
  executed: number;
  /** Runs skipped because the store already had their valid result. */
  skipped: number;
  /** Runs that failed (this time, or before and not retried), with their errors. */
  failed: FailureRecord[];
  /** True when `stop()` ended the sweep early (the runs in progress were checkpointed). */
  interrupted: boolean;
  /** The results of the planned runs, old and new, in the order of the plan. */
  results: StoredResult[];
};

/**
 * A running sweep (from {@link runLocal}).
 *
 * @inline
 */
export type SweepHandle = {
  /** Resolves when every run finished, failed or was stopped. */
  done: Promise<SweepOutcome>;
  /** Stop: no new runs start; the runs in progress checkpoint and exit (the next sweep resumes them). */
  stop: () => Promise<void>;
  /** The process pool the runs go through. */
  pool: RunPool;
};

/**
 * The default number of run processes: one per core (`os.availableParallelism()`, at least 1).
 *
 * @example
 * ```ts
 * runLocal(runs, "runs/x", { jobs: defaultJobs() });
 * ```
 */
export const defaultJobs = () => Math.max(1, availableParallelism());

/**
 * Start running `runs` into `dir` (the store `dir/runs/<key>/`) on a pool of `jobs` processes.
 * Returns at once; `done` resolves when every run finished, failed or was stopped. Runs with a
 * valid result are skipped; runs recorded as failed are skipped unless `retryFailed`; a run
 * whose process died is retried up to `retries` times (default 2).
 *
 * @example
 * ```ts
 * const sweep = runLocal(planRuns(specs), "runs/rho", { jobs: 2, onEvent: (e) => e.type === "run-end" && console.log(e.run.label) });
 * process.once("SIGINT", () => void sweep.stop());
 * const { executed, failed, interrupted } = await sweep.done;
 * ```
 */
export function runLocal(runs: PlannedRun[], dir: string, opts: SweepOptions = {}): SweepHandle {
  const jobs = Math.max(1, Math.min(opts.jobs ?? defaultJobs(), Math.max(1, runs.length)));
  const retries = opts.retries ?? 2;
  const emit = opts.onEvent ?? (() => {});
  const byKey = new Map(runs.map((r) => [r.key, r]));
  const pool = new RunPool({ size: jobs, env: opts.env, onProgress: (slot, key, p) => emit({ type: "progress", run: byKey.get(key)!, slot, p }) });
  const { results, failed, pending, skipped, failedBefore } = triageRuns(dir, runs, opts.retryFailed);
  let stopped = false;
  let executed = 0;
  const freeSlots = Array.from({ length: jobs }, (_, i) => jobs - 1 - i);

  async function worker(): Promise<void> {
    for (;;) {
      const r = pending.shift();
      if (!r || stopped) return;
      let attempt = 0;
      for (;;) {
        attempt++;
        const slot = freeSlots.pop() ?? 0;
        emit({ type: "run-start", run: r, slot, attempt });
        const o = await pool.run(r.spec, dir, r.key);
        freeSlots.push(slot);
        if (o.status === "done") {
          executed++;
          results.push(o.result);
          emit({ type: "run-end", run: r, slot, result: o.result });
          break;
        }
        if (o.status === "stopped") return;
        const retry = o.status === "crashed" && attempt <= retries && !stopped;
        emit({ type: "run-failed", run: r, slot, error: o.message, retrying: retry });
        if (retry) continue;
        const rec: FailureRecord = { key: r.key, error: o.message, attempts: attempt, at: new Date().toISOString(), spec: r.spec };
        writeFailure(dir, rec);
        failed.push(rec);
        break;
      }
    }
  }

  emit({ type: "start", total: runs.length, skipped, failedBefore, pending: pending.length, jobs });
  const done = (async (): Promise<SweepOutcome> => {
    try {
      await Promise.all(Array.from({ length: jobs }, worker));
    } finally {
      await pool.close();
    }
    // Results in the order of `runs`, however they completed.
    const order = new Map(runs.map((r, i) => [r.key, i]));
    results.sort((a, b) => order.get(a.key)! - order.get(b.key)!);
    return { executed, skipped, failed, interrupted: stopped, results };
  })();
  return {
    done,
    pool,
    stop: async () => {
      stopped = true;
      pending.length = 0;
      await pool.stop();
    },
  };
}
