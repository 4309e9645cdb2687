/**
 * The experiment framework: each claim of the seeds is an `Experiment` (one file per claim in
 * this directory) that declares its claim in one sentence, its source (seed + figure), the
 * setting, the runs at three scales, the verdict rule — in words (`rule`) and in code (`judge`),
 * both written before any run — and its report (figures from the same results).
 *
 * Scales: `quick` (≤ 1 min on 2 cores; the tests run it), `default` (≤ 10 min), `full` (the
 * paper's own scale where it fits on a CPU). Verdicts: "reproduced", "not reproduced",
 * "inconclusive" (with the reason), always with the numbers and their 95% CIs.
 *
 * Runs are plain specs (training or task specs, experiments/tasks.ts); `reproduce.ts` runs them
 * on the sweep pool into one result store, so runs shared by experiments run once and a rerun
 * only runs what is missing. Browser-safe: no `node:` imports.
 */
import type { RunResult } from "../train/result.js";
import type { JsonValue } from "../train/spec.js";
import { anyRunKey, isTaskResult, isTrainResult, type StoredResult, type TaskResult } from "./tasks.js";
import { ci95, mean } from "../report/stats.js";

/**
 * The three scales every experiment runs at: `quick` (≤ 1 min on 2 cores; the tests run it),
 * `default` (≤ 10 min), `full` (the paper's own scale where it fits on a CPU).
 *
 * @example
 * ```ts
 * for (const scale of SCALES) console.log(scale, experimentById("label-noise")?.scales[scale]);
 * ```
 */
export const SCALES = ["quick", "default", "full"] as const;
/** One of {@link SCALES}: `"quick"`, `"default"` or `"full"`. */
export type Scale = (typeof SCALES)[number];

/**
 * The possible verdicts of an experiment's rule: `reproduced`, `not reproduced` or
 * `inconclusive` (the reason says why), always given with the numbers and their 95% CIs.
 *
 * @example
 * ```ts
 * VERDICTS.includes(result.verdict); // true for every experiment result
 * ```
 */
export const VERDICTS = ["reproduced", "not reproduced", "inconclusive"] as const;
/** One of {@link VERDICTS}. */
export type Verdict = (typeof VERDICTS)[number];

/** A measured number: its value, the 95% CI [lo, hi] where there is one, n (runs or instances it rests on). */
export type Measured = {
  /** The number (null: not defined, e.g. no runs). */
  value: number | null;
  /** Lower end of the 95% CI (null or absent: none). */
  lo?: number | null;
  /** Upper end of the 95% CI. */
  hi?: number | null;
  /** Runs or instances it rests on. */
  n?: number;
  /** What it is, in words with its unit. */
  what: string;
};

/** What an experiment's `judge` returns: the verdict, why, and the numbers it rests on. */
export type Judgement = {
  /** The verdict of the main claim under the experiment's rule. */
  verdict: Verdict;
  /** Why, in one or two sentences with the deciding numbers. */
  reason: string;
  /** What came out, in one line with CIs (the index's "what came out"). */
  summary: string;
  /** Every number the verdict and the page quote, by name (each with its 95% CI where there is one). */
  numbers: Record<string, Measured>;
  /** Further claims of the same experiment, each with its own verdict (e.g. label-noise's "F-SAM ≥ SAM"). */
  also?: SubVerdict[];
};

/**
 * A further claim of the same experiment with its own verdict and reason (e.g. label-noise's "F-SAM ≥ SAM").
 *
 * @inline
 */
export type SubVerdict = {
  /** The claim, one sentence. */
  claim: string;
  /** Its verdict under the experiment's rule. */
  verdict: Verdict;
  /** Why, with the deciding numbers. */
  reason: string;
};

/** The results of an experiment's runs, looked up by spec. */
export type Results = {
  /** The result of a task run (a {@link TaskSpec}); throws when it is missing or a training run. */
  task(spec: unknown): TaskResult;
  /** The result of a training run (a {@link RunSpec}); throws when it is missing or a task run. */
  train(spec: unknown): RunResult;
};

/**
 * One claim of the seed papers as a runnable, seeded experiment: the claim, its source, the
 * setting, its runs at three {@link SCALES}, the verdict rule (in words and in code, written
 * before any run) and its report. The registered ones are `EXPERIMENTS` (in sharpness-aware/node);
 * `sharpness reproduce` runs them (`planExperiments` and `writeExperiment`, also there).
 *
 * @example
 * ```ts
 * const e = experimentById("label-noise")!;
 * const specs = e.specs("quick"); // run specs; run them, then:
 * const j = e.judge(resultsFrom(byKey), "quick");
 * console.log(j.verdict, j.summary);
 * ```
 */
export type Experiment = {
  /** The experiment's id, also its CLI name and output folder (`label-noise`). */
  id: string;
  /** The claim, one sentence. */
  claim: string;
  /** Seed file and figure/table ("002 Fig 6, Fig 14"). */
  source: string;
  /** What is run, common to all scales. */
  setting: string;
  /** The verdict rule in words; `judge` applies exactly this. */
  rule: string;
  /** What runs at each scale, one line each. */
  scales: Record<Scale, string>;
  /** Where our setting differs from the paper's (shown next to the verdict). */
  differences?: string;
  /** The run specs (training {@link RunSpec}s or {@link TaskSpec}s) at a scale. */
  specs(scale: Scale): unknown[];
  /**
   * Measurements of the trained runs (e.g. sharpness from their final checkpoints), taken after
   * the runs and before judging; plain JSON, cached in `DIR/<id>/measured-<scale>.json` while
   * the run keys stay the same. Node-side (it reads checkpoints).
   */
  measure?(ctx: MeasureContext, scale: Scale): Promise<Measurements>;
  /** Apply the rule to the runs' results (and the measurements, where the experiment takes them). */
  judge(r: Results, scale: Scale, measured?: Measurements): Judgement;
  /** The report's body (figures and tables, HTML) from the same results. */
  report(r: Results, scale: Scale, j: Judgement, measured?: Measurements): Promise<string>;
};

/**
 * An experiment's measurements of its trained runs: plain JSON by name, cached between reruns.
 *
 * @inline
 */
export type Measurements = { [k: string]: JsonValue };
/**
 * Where a run's files are (`DIR/runs/<key>/`, with its checkpoints).
 *
 * @inline
 */
export type MeasureContext = { runDir(spec: unknown): string };

/**
 * {@link Results} over a map of run key → stored result; the lookups throw naming the run when
 * one is missing or of the other kind. Keeps a reference to `byKey` (does not copy it).
 *
 * @example
 * ```ts
 * const byKey = new Map(stored.map((r) => [r.key, r]));
 * const j = experimentById("constant-rho")!.judge(resultsFrom(byKey), "default");
 * ```
 */
export function resultsFrom(byKey: ReadonlyMap<string, StoredResult>): Results {
  const get = (spec: unknown) => {
    const key = anyRunKey(spec);
    const r = byKey.get(key);
    if (!r) throw new Error(`no result for run ${key}`);
    return r;
  };
  return {
    task(spec) {
      const r = get(spec);
      if (!isTaskResult(r)) throw new Error(`run ${r.key} is not a task run`);
      return r;
    },
    train(spec) {
      const r = get(spec);
      if (!isTrainResult(r)) throw new Error(`run ${r.key} is not a training run`);
      return r;
    },
  };
}

/**
 * The mean of `xs` with its 95% Student-t interval, mean ± t₀.₉₇₅(n−1)·s/√n (s the sample
 * standard deviation). `value` is null for no numbers; `lo`/`hi` are null below two numbers.
 *
 * @example
 * ```ts
 * meanCi([1, 2, 3], "gain (points)"); // { value: 2, lo: -0.484…, hi: 4.484…, n: 3, what: "gain (points)" }
 * ```
 */
export function meanCi(xs: number[], what: string): Measured {
  const m = xs.length ? mean(xs) : null;
  const h = ci95(xs);
  return { value: m, lo: m !== null && Number.isFinite(h) ? m - h : null, hi: m !== null && Number.isFinite(h) ? m + h : null, n: xs.length, what };
}

/**
 * Geometric mean of positive ratios, exp(mean log rᵢ), with the 95% t interval of the mean
 * log ratio, exponentiated (so the interval is not symmetric around the value).
 *
 * @example
 * ```ts
 * geoMeanCi([2, 8], "test-loss ratio").value; // 4
 * ```
 */
export function geoMeanCi(ratios: number[], what: string): Measured {
  const logs = ratios.map(Math.log);
  const m = meanCi(logs, what);
  const ex = (x: number | null | undefined) => (x === null || x === undefined ? null : Math.exp(x));
  return { value: ex(m.value), lo: ex(m.lo), hi: ex(m.hi), n: ratios.length, what };
}

/**
 * The median of `xs` (the mean of the two middle values for an even count; NaN for none).
 * Does not change `xs`.
 *
 * @example
 * ```ts
 * median([3, 1, 4, 1]); // 2
 * ```
 */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/** "2.31 [1.80, 2.96]" (or just the value). */
export function showMeasured(m: Measured, digits = 3): string {
  const f = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : Number(x.toPrecision(digits)).toString());
  return m.lo !== undefined && m.lo !== null && m.hi !== undefined && m.hi !== null ? `${f(m.value)} [${f(m.lo)}, ${f(m.hi)}]` : f(m.value);
}

/** The median over runs of `field` at each step any run logged (finite values only; a diverged run's curve simply ends). */
export function medianByStep<T extends { step: number }>(curves: readonly (readonly T[])[], field: keyof T): { step: number; value: number }[] {
  const at = new Map<number, number[]>();
  for (const c of curves)
    for (const p of c) {
      const v = p[field] as unknown as number;
      if (!Number.isFinite(v)) continue;
      const xs = at.get(p.step) ?? [];
      xs.push(v);
      at.set(p.step, xs);
    }
  return [...at.entries()].sort((a, b) => a[0] - b[0]).map(([step, xs]) => ({ step, value: median(xs) }));
}
