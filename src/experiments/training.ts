/**
 * What the deep-learning experiments share: their settings per scale, specs from an optimizer
 * section, differences paired by seed with their 95% t interval, the paired verdict, and the
 * report body (the sweep report's curves and tables over the experiment's runs).
 *
 * Settings: `quick` is a smoke test (500 images, MLP 784-32-10, 4 epochs, 2 seeds: seconds);
 * `default` is the project's default comparison setting (Fashion-MNIST, 5,000 images, 60% label
 * noise, MLP 784-256-10, SGD lr 0.05 momentum 0.9, batch 128, 30 epochs, 3 seeds), where SAM's
 * effect is large enough to study at CPU scale; `full` doubles the data and uses 5 seeds.
 * Browser-safe except `trainingReport`'s import chain (sweep-report.ts is Node-side).
 */
import { fillSpec, type RunSpec } from "../train/spec.js";
import { renderSweepBody, summarizeRuns } from "../report/sweep-report.js";
import { meanCi, type Measured, type Results, type Scale, type Verdict } from "./experiment.js";
import type { RunResult } from "../train/result.js";

export type TrainSetting = { trainSize: number; labelNoise: number; hidden: number; epochs: number; batchSize: number; seeds: number[] };

export const NOISY: Record<Scale, TrainSetting> = {
  quick: { trainSize: 500, labelNoise: 0.4, hidden: 32, epochs: 4, batchSize: 50, seeds: [0, 1] },
  default: { trainSize: 5000, labelNoise: 0.6, hidden: 256, epochs: 30, batchSize: 128, seeds: [0, 1, 2] },
  full: { trainSize: 10_000, labelNoise: 0.6, hidden: 256, epochs: 30, batchSize: 128, seeds: [0, 1, 2, 3, 4] },
};

/** One line per scale for `Experiment.scales`, from the settings and the arms. */
export function describeSetting(s: TrainSetting, arms: string): string {
  return `Fashion-MNIST ${s.trainSize.toLocaleString("en")} images, ${Math.round(100 * s.labelNoise)}% label noise, MLP 784-${s.hidden}-10, batch ${s.batchSize}, ${s.epochs} epochs, seeds ${s.seeds[0]}-${s.seeds.at(-1)}; ${arms}`;
}

/** `Experiment.scales` from the settings: one `describeSetting` line per scale with that scale's arms. */
export function describeScales(arms: (scale: Scale) => string, settings: Record<Scale, TrainSetting> = NOISY): Record<Scale, string> {
  return { quick: describeSetting(settings.quick, arms("quick")), default: describeSetting(settings.default, arms("default")), full: describeSetting(settings.full, arms("full")) };
}

/** The first element of `grid` with the highest finite `score` (a tuner's choice; ties go to the earlier one). */
export function bestBy<T>(grid: readonly T[], score: (x: T) => number): T {
  let best = grid[0];
  let bestV = -Infinity;
  for (const x of grid) {
    const v = score(x);
    if (v > bestV) [best, bestV] = [x, v];
  }
  return best;
}

export const BASE_SGD = { name: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 0 };

/** Validation examples per scale for the experiments that tune (carved outside the training set; data.validationSize). */
export const VALIDATION: Record<Scale, number> = { quick: 200, default: 1000, full: 2000 };

/**
 * An arm: the filled specs of `optimizer` (its base defaults to BASE_SGD) in setting `s`, one per
 * seed of the setting, in seed order — the unit `pairedDiff` pairs. `validationSize` adds a
 * validation split (the training run itself is unchanged); `epochs` overrides the setting's;
 * `batchNorm` puts BatchNorm after the MLP's hidden layer.
 */
export function armRuns(s: TrainSetting, optimizer: Record<string, unknown>, { validationSize = 0, epochs = s.epochs, batchNorm = false } = {}): RunSpec[] {
  return s.seeds.map((seed) =>
    fillSpec({
      data: { name: "fashion-mnist", trainSize: s.trainSize, labelNoise: s.labelNoise, validationSize },
      model: { name: "mlp", hidden: s.hidden, batchNorm },
      optimizer: { base: BASE_SGD, ...optimizer },
      epochs,
      batchSize: s.batchSize,
      seed,
    }),
  );
}

type Metric = "testAccuracy" | "bestTestAccuracy" | "noisyTrainAccuracy";

/** `a − b` of a metric, paired by seed (the i-th spec of each list has the i-th seed), as fractions, with the 95% t interval. */
export function pairedDiff(r: Results, a: RunSpec[], b: RunSpec[], what: string, metric: Metric = "testAccuracy"): Measured {
  const d = a.map((s, i) => (r.train(s).metrics[metric] ?? NaN) - (r.train(b[i]).metrics[metric] ?? NaN));
  return meanCi(d, what);
}

/** "+9.48" points from a fraction. */
export const pts = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : `${x >= 0 ? "+" : ""}${(100 * x).toFixed(2)}`);

/** "+9.48 points [−2.72, +21.68] (n = 3)". */
export const showPts = (d: Measured) => `${pts(d.value)} points${d.lo !== null && d.lo !== undefined ? ` [${pts(d.lo)}, ${pts(d.hi)}]` : ""} (n = ${d.n})`;

/**
 * The one-sided paired rule "A beats B": reproduced when the mean difference is > 0 and its 95%
 * CI excludes 0; not reproduced when the mean is ≤ 0; inconclusive when the mean is > 0 but the
 * CI includes 0 (or there is one seed).
 */
export function betterVerdict(d: Measured, a: string, b: string): { verdict: Verdict; reason: string } {
  if (d.value === null || !Number.isFinite(d.value)) return { verdict: "inconclusive", reason: `no paired runs of ${a} and ${b}` };
  if (d.value <= 0) return { verdict: "not reproduced", reason: `${a} is not better than ${b}: ${showPts(d)}.` };
  if (d.lo !== null && d.lo !== undefined && d.lo > 0) return { verdict: "reproduced", reason: `${a} beats ${b} by ${showPts(d)}; the 95% CI excludes 0.` };
  return { verdict: "inconclusive", reason: `${a} is ahead of ${b} by ${showPts(d)}, but the 95% CI ${d.lo === null || d.lo === undefined ? "is undefined" : "includes 0"}.` };
}

/**
 * The two-sided equivalence rule "A ≈ B within ±margin": reproduced when the 95% CI of A − B
 * lies inside [−margin, +margin]; not reproduced when the CI excludes 0 and |mean| > margin;
 * inconclusive otherwise (too few seeds to tell).
 */
export function equivalentVerdict(d: Measured, a: string, b: string, margin: number): { verdict: Verdict; reason: string } {
  const lo = d.lo ?? null;
  const hi = d.hi ?? null;
  if (d.value === null || lo === null || hi === null) return { verdict: "inconclusive", reason: `no interval for ${a} − ${b} (${showPts(d)})` };
  if (lo >= -margin && hi <= margin) return { verdict: "reproduced", reason: `${a} − ${b} = ${showPts(d)}: the 95% CI lies within ±${pts(margin).slice(1)} points.` };
  if ((lo > 0 || hi < 0) && Math.abs(d.value) > margin) return { verdict: "not reproduced", reason: `${a} − ${b} = ${showPts(d)}: different by more than ${pts(margin).slice(1)} points, CI excluding 0.` };
  return { verdict: "inconclusive", reason: `${a} − ${b} = ${showPts(d)}: the 95% CI is not inside ±${pts(margin).slice(1)} points, nor a clear difference.` };
}

/** The sweep report's curves, aggregate and run tables over `specs`' runs. */
export async function trainingReport(r: Results, specs: readonly unknown[]): Promise<string> {
  const runs: RunResult[] = specs.map((s) => r.train(s));
  return renderSweepBody(summarizeRuns(runs, []));
}
