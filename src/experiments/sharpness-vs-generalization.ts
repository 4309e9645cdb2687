/**
 * `sharpness-vs-generalization` — 002 §3, Fig 2 and Fig 19: across the models trained with ERM,
 * a random perturbation, n-SAM and m-SAM (the runs of `m-sharpness`, shared), m-sharpness with a
 * small m ranks the models by test error (sharper → worse: a positive rank correlation), and it
 * does so better than sharpness measured on large batches.
 *
 * Measured on each model's final checkpoint (Node-side, `measure`): ℓ2 m-sharpness (ρ 0.1, the
 * training radius; `steps` normalized ascent steps per sub-batch; `mSharpness` in
 * sharpness/m-sharpness.ts) on fixed training points with the labels the run trained on, for a
 * small m and for m = 128. Kendall's τ-b against the final test error, with a 95% percentile
 * bootstrap interval over models (2,000 resamples, seeded).
 */
import "../engine/polyfills.js";
import { tree } from "@jax-js/jax";
import { initEngine } from "../engine/device.js";
import { loadRun, splitBatch, trainingPoints } from "../sharpness/from-checkpoint.js";
import { mSharpness } from "../sharpness/m-sharpness.js";
import { loadFashionMnist } from "../data/fashion-mnist.js";
import { mulberry32 } from "../engine/prng.js";
import { num, table, type Row } from "./charts.js";
import type { Experiment, Judgement, Measured, Measurements, Scale } from "./experiment.js";
import { mSharpness as mSharpnessExperiment } from "./m-sharpness.js";
import { trainingReport } from "./training.js";
import { vegaLiteToSvg } from "../report/html.js";
import { anyLabel } from "./tasks.js";
import type { RunSpec } from "../train/spec.js";

/** Sub-batch sizes of the measure (small, large) and the measurement's size per scale. */
const MS: Record<Scale, [number, number]> = { quick: [8, 32], default: [8, 128], full: [8, 128] };
const SIZE: Record<Scale, { points: number; steps: number }> = { quick: { points: 64, steps: 2 }, default: { points: 512, steps: 10 }, full: { points: 1024, steps: 20 } };
const RHO = 0.1;

/** Kendall's τ-b of two equally long lists. */
export function kendallTau(x: number[], y: number[]): number {
  let c = 0;
  let d = 0;
  let tx = 0;
  let ty = 0;
  for (let i = 0; i < x.length; i++)
    for (let j = i + 1; j < x.length; j++) {
      const a = Math.sign(x[i] - x[j]);
      const b = Math.sign(y[i] - y[j]);
      if (a === 0 && b === 0) continue;
      if (a === 0) tx++;
      else if (b === 0) ty++;
      else if (a === b) c++;
      else d++;
    }
  const denom = Math.sqrt((c + d + tx) * (c + d + ty));
  return denom > 0 ? (c - d) / denom : NaN;
}

/** τ with a 95% percentile bootstrap interval over pairs (resampled with replacement, seeded). */
export function kendallCi(x: number[], y: number[], what: string, resamples = 2000, seed = 0): Measured {
  const r = mulberry32(seed);
  const taus: number[] = [];
  for (let k = 0; k < resamples; k++) {
    const idx = x.map(() => Math.floor(r() * x.length));
    const t = kendallTau(idx.map((i) => x[i]), idx.map((i) => y[i]));
    if (Number.isFinite(t)) taus.push(t);
  }
  taus.sort((a, b) => a - b);
  const q = (p: number) => (taus.length ? taus[Math.min(taus.length - 1, Math.floor(p * taus.length))] : null);
  return { value: kendallTau(x, y), lo: q(0.025), hi: q(0.975), n: x.length, what };
}

type ModelRow = { key: string; label: string; seed: number; small: number; large: number };
const rowsOf = (m: Measurements | undefined) => (m?.models ?? []) as unknown as ModelRow[];
const specsOf = (scale: Scale) => mSharpnessExperiment.specs(scale) as RunSpec[];

export const sharpnessVsGeneralization: Experiment = {
  id: "sharpness-vs-generalization",
  claim: "Across models trained with ERM, random perturbation, n-SAM and m-SAM, m-sharpness with a small m is positively rank-correlated with test error, more so than sharpness measured on large batches.",
  source: "002 §3, Fig 2, Fig 19",
  setting: `The trained models of \`m-sharpness\` (label-noise setting; shared runs); ℓ2 m-sharpness (ρ ${RHO}) on fixed training points for a small m and a large m; Kendall's τ-b against final test error with a bootstrap 95% CI over models.`,
  rule: "Reproduced when τ(small m) > 0 with its 95% bootstrap CI excluding 0 and τ(small m) > τ(large m); not reproduced when τ(small m) ≤ 0; inconclusive otherwise.",
  scales: {
    quick: `the quick m-sharpness models; m ∈ {${MS.quick.join(", ")}}, ${SIZE.quick.points} points, ${SIZE.quick.steps} ascent steps`,
    default: `the default m-sharpness models (6 arms × 3 seeds); m ∈ {${MS.default.join(", ")}}, ${SIZE.default.points} points, ${SIZE.default.steps} ascent steps`,
    full: `the full m-sharpness models (6 arms × 5 seeds); m ∈ {${MS.full.join(", ")}}, ${SIZE.full.points} points, ${SIZE.full.steps} ascent steps`,
  },
  differences: "CPU scale: 18 MLPs on Fashion-MNIST with 60% label noise instead of ResNets on CIFAR; the measure uses a few ascent steps on a fixed subset of training points.",
  specs: specsOf,
  async measure(ctx, scale) {
    await initEngine();
    const [small, large] = MS[scale];
    const models: ModelRow[] = [];
    const full = loadFashionMnist(); // once: every run is a subset of it
    for (const spec of specsOf(scale)) {
      const run = loadRun(ctx.runDir(spec), full);
      const points = trainingPoints(run, SIZE[scale].points);
      const at = async (m: number) => {
        const batches = splitBatch(points, m);
        try {
          return (await mSharpness(run.loss, run.params, batches, { rho: RHO, steps: SIZE[scale].steps })).sharpness;
        } finally {
          tree.dispose(batches as never);
        }
      };
      try {
        models.push({ key: ctx.runDir(spec).split("/").at(-1)!, label: anyLabel(spec), seed: spec.seed, small: await at(small), large: await at(large) });
      } finally {
        tree.dispose([run.params, run.modelState, points] as never);
      }
    }
    return { models } as unknown as Measurements;
  },
  judge(r, scale, measured): Judgement {
    const models = rowsOf(measured);
    const err = specsOf(scale).map((s) => 1 - r.train(s).metrics.testAccuracy);
    const [small, large] = MS[scale];
    const tSmall = kendallCi(models.map((m) => m.small), err, `Kendall τ of m-sharpness (m ${small}) and test error, 95% bootstrap CI over models`);
    const tLarge = kendallCi(models.map((m) => m.large), err, `Kendall τ of m-sharpness (m ${large}) and test error`);
    const numbers = {
      tauSmallM: tSmall,
      tauLargeM: tLarge,
      tauSmallMinusLarge: { value: (tSmall.value ?? NaN) - (tLarge.value ?? NaN), n: models.length, what: `τ(m ${small}) − τ(m ${large}) (the claim: > 0)` },
      models: { value: models.length, what: "trained models measured" },
    };
    const show = (m: Measured) => `${num(m.value, 3)} [${num(m.lo, 3)}, ${num(m.hi, 3)}]`;
    const summary = `τ(m ${small}) ${show(tSmall)}; τ(m ${large}) ${show(tLarge)}; n = ${models.length} models`;
    const v = tSmall.value ?? NaN;
    if (!(v > 0)) return { verdict: "not reproduced", reason: `small-m sharpness is not positively rank-correlated with test error: τ ${show(tSmall)}.`, summary, numbers };
    if ((tSmall.lo ?? 0) > 0 && v > (tLarge.value ?? -Infinity)) return { verdict: "reproduced", reason: `τ(m ${small}) ${show(tSmall)} > 0 and above τ(m ${large}) ${show(tLarge)}.`, summary, numbers };
    return { verdict: "inconclusive", reason: `τ(m ${small}) ${show(tSmall)} is positive but ${(tSmall.lo ?? 0) > 0 ? `not above τ(m ${large}) ${show(tLarge)}` : "its CI includes 0"}.`, summary, numbers };
  },
  async report(r, scale, _j, measured) {
    const models = rowsOf(measured);
    const err = specsOf(scale).map((s) => 1 - r.train(s).metrics.testAccuracy);
    const [small, large] = MS[scale];
    const points: Row[] = models.flatMap((m, i) => [
      { sharpness: m.small, error: err[i], measure: `m ${small}`, model: m.label },
      { sharpness: m.large, error: err[i], measure: `m ${large}`, model: m.label },
    ]);
    const fig = await vegaLiteToSvg({
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: "Test error against m-sharpness of each trained model",
      width: 460,
      height: 280,
      data: { values: points },
      mark: { type: "point", filled: true, size: 50 },
      encoding: { x: { field: "sharpness", type: "quantitative", title: "ℓ2 m-sharpness", scale: { type: "log" } }, y: { field: "error", type: "quantitative", title: "final test error", scale: { zero: false } }, color: { field: "model", type: "nominal", title: "method", legend: { labelLimit: 300 } }, shape: { field: "measure", type: "nominal", title: "measure" } },
    } as Record<string, unknown>);
    const t = table(["model", "seed", `m-sharpness (m ${small})`, `m-sharpness (m ${large})`, "test error"], models.map((m, i) => [m.label, m.seed, num(m.small), num(m.large), num(err[i], 4)]));
    return `<div class="plots">${fig}</div>\n${t}\n${await trainingReport(r, specsOf(scale))}`;
  },
};
