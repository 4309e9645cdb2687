/**
 * `one-step-suboptimality` — 002 §4.1, Fig 3 (Hypothesis 1): SAM's one ascent step is a poor
 * maximizer of the m-sharpness objective, and the more so the larger m. The suboptimality factor
 * = m-sharpness found by k steps of projected gradient ascent (ℓ2 ball, ρ 0.1, step 0.1ρ,
 * normalized; k = 100 as in 002 App. D) / m-sharpness of the one-step (SAM) perturbation.
 * The paper finds it > 1 and tending to increase with m (up to 10× for ERM at m = 1024 on
 * CIFAR-10).
 *
 * Models: the ERM (SGD) and SAM (ρ 0.1) runs of the label-noise setting, shared with
 * `label-noise` (the pool finds them done). "During training" needs the weights at earlier
 * epochs, but the run store keeps only the last checkpoints, so `measure` retrains each run in
 * this process (`train` is deterministic for a spec) with a hook that measures at a few epochs,
 * and records the retrained final test accuracy: `judge` compares it with the stored run's (a
 * determinism check shown on the page, not part of the verdict).
 *
 * Measured on the trainer's 512 fixed training points (labels as trained on): for each m, a
 * fixed number of consecutive batches of m points (fewer where 512/m is smaller), `mSharpness`
 * (sharpness/m-sharpness.ts) giving mean one-step and multi-step sharpness over those batches
 * and their ratio. The batch count is small (the paper averages over 1024/m batches) because
 * each batch costs ~k fixed-overhead dispatches whatever m is (~1 s per batch of m ≤ 64, ~2 s at
 * m 256, 100 steps, 2 idle cores): at `default` one model-epoch takes ~10 s, the whole `measure`
 * (6 retrainings of 20-26 s and 18 model-epochs) ~5.5 min. `quick` is a smoke test (10 steps,
 * 2 batches, a few seconds).
 */
import "../engine/polyfills.js";
import { tree } from "@jax-js/jax";
import { initEngine } from "../engine/device.js";
import { loadFashionMnist } from "../data/fashion-mnist.js";
import { train, type MeasureContext as TrainMeasureContext } from "../train/trainer.js";
import { mSharpness } from "../sharpness/m-sharpness.js";
import { anyRunKey } from "./tasks.js";
import { lineChart, num, table, type Row as ChartRow } from "./charts.js";
import { geoMeanCi, meanCi, showMeasured, type Experiment, type Judgement, type Measured, type Measurements, type Results, type Scale, type Verdict } from "./experiment.js";
import { NOISY, describeSetting, armRuns, trainingReport } from "./training.js";
import { esc, vegaLiteToSvg } from "../report/html.js";
import type { RunSpec } from "../train/spec.js";
import type { ImageDataset } from "../data/types.js";

const RHO = 0.1;
type Arm = "sgd" | "sam";
const ARMS: Arm[] = ["sgd", "sam"];
const ARM_LABEL: Record<Arm, string> = { sgd: "ERM (SGD)", sam: `SAM ρ ${RHO}` };
const runs = (scale: Scale, arm: Arm): RunSpec[] => armRuns(NOISY[scale], arm === "sgd" ? { name: "sgd" } : { name: "sam", rho: RHO });

/** What is measured at each scale: sub-batch sizes, batches per m (capped by 512/m), ascent steps, epochs. */
type Setup = { ms: number[]; batches: number; steps: number; epochs: number[] };
const SETUP: Record<Scale, Setup> = {
  quick: { ms: [4, 32], batches: 2, steps: 10, epochs: [2, 4] },
  default: { ms: [4, 32, 256], batches: 3, steps: 100, epochs: [1, 10, 30] },
  full: { ms: [4, 16, 64, 256], batches: 8, steps: 100, epochs: [1, 10, 30] },
};
const POINTS = 512; // the trainer's fixed measurement points

/** One model at one epoch and one m. */
type Row = { arm: Arm; seed: number; epoch: number; m: number; batches: number; oneStep: number; multiStep: number; factor: number };
/** One retrained run: its final test accuracy (for the determinism check) and the time it took. */
type Retrained = { arm: Arm; seed: number; key: string; testAccuracy: number; seconds: number };
type Taken = { setup: Setup; rows: Row[]; retrained: Retrained[] };

const measuredOf = (m: Measurements | undefined, scale: Scale): Taken => {
  const x = (m ?? {}) as unknown as Partial<Taken>;
  return { setup: x.setup ?? SETUP[scale], rows: x.rows ?? [], retrained: x.retrained ?? [] };
};

/** "> 1 with its 95% CI excluding 1" for a geometric mean of ratios, in the rule's three outcomes. */
function aboveOne(g: Measured, what: string): { verdict: Verdict; reason: string } {
  const s = `${showMeasured(g)} (n = ${g.n})`;
  if (g.value === null || !Number.isFinite(g.value) || (g.n ?? 0) < 2) return { verdict: "inconclusive", reason: `${what}: fewer than 2 defined values (${s}).` };
  if (g.value <= 1) return { verdict: "not reproduced", reason: `${what} is ${s}: not above 1.` };
  if (g.lo !== null && g.lo !== undefined && g.lo > 1) return { verdict: "reproduced", reason: `${what} is ${s}; the 95% CI excludes 1.` };
  return { verdict: "inconclusive", reason: `${what} is ${s}, above 1 but the 95% CI includes 1.` };
}

/** The factor of (arm, seed, epoch, m), or NaN when not measured or undefined (one-step sharpness ≤ 0). */
function factorAt(rows: Row[], arm: Arm, seed: number, epoch: number, m: number): number {
  const x = rows.find((r) => r.arm === arm && r.seed === seed && r.epoch === epoch && r.m === m);
  return x && x.oneStep > 0 && Number.isFinite(x.factor) && x.factor > 0 ? x.factor : NaN;
}

const lastEpoch = (rows: Row[], arm: Arm, seed: number) => Math.max(...rows.filter((r) => r.arm === arm && r.seed === seed).map((r) => r.epoch));

async function retrain(spec: RunSpec, arm: Arm, full: ImageDataset, setup: Setup): Promise<{ rows: Row[]; retrained: Retrained }> {
  const rows: Row[] = [];
  const t0 = performance.now();
  const measure = async ({ params, loss, points, epoch }: TrainMeasureContext): Promise<Record<string, number>> => {
    if (!setup.epochs.includes(epoch)) return {};
    const n = points.x.shape[0];
    const out: Record<string, number> = {};
    for (const m of setup.ms) {
      const k = Math.min(setup.batches, Math.floor(n / m));
      const batches = Array.from({ length: k }, (_, i) => ({ x: points.x.ref.slice([i * m, (i + 1) * m]), y: points.y.ref.slice([i * m, (i + 1) * m]) }));
      try {
        const s = await mSharpness(loss, params, batches, { rho: RHO, steps: setup.steps });
        rows.push({ arm, seed: spec.seed, epoch, m, batches: k, oneStep: s.oneStep, multiStep: s.sharpness, factor: s.suboptimality });
        out[`suboptimality_m${m}`] = s.suboptimality;
      } finally {
        tree.dispose(batches);
      }
    }
    return out;
  };
  const res = await train(spec, full, { measureEvery: 1, measure });
  const last = res.history.at(-1);
  return { rows, retrained: { arm, seed: spec.seed, key: res.key, testAccuracy: last ? last.testAccuracy : NaN, seconds: (performance.now() - t0) / 1000 } };
}

/** Per run: stored and retrained final test accuracy, and whether they are identical. */
function determinism(r: Results, scale: Scale, retrained: Retrained[]) {
  return ARMS.flatMap((arm) =>
    runs(scale, arm).map((spec) => {
      const key = anyRunKey(spec);
      const stored = r.train(spec).metrics.testAccuracy;
      const again = retrained.find((x) => x.key === key);
      const retrainedAcc = again ? again.testAccuracy : NaN;
      return { arm, seed: spec.seed, key, stored, retrained: retrainedAcc, same: stored === retrainedAcc, seconds: again?.seconds ?? NaN };
    }),
  );
}

export const oneStepSuboptimality: Experiment = {
  id: "one-step-suboptimality",
  claim: "SAM's one-step ascent underestimates m-sharpness: 100 steps of projected gradient ascent find more (suboptimality factor > 1), and the factor tends to grow with m.",
  source: "002 §4.1, Fig 3",
  setting: `The ERM (SGD) and SAM (ρ ${RHO}) runs of the label-noise setting (Fashion-MNIST, MLP, SGD lr 0.05 momentum 0.9), retrained in-process and measured at a few epochs on the trainer's 512 fixed training points: ℓ2 m-sharpness (ρ ${RHO}) by one step (SAM's perturbation) and by k steps of normalized projected ascent (step 0.1ρ), for several m; factor = multi-step / one-step.`,
  rule:
    "factor = multi-step m-sharpness / one-step m-sharpness (≥ 1 by construction when the one-step sharpness is > 0: the multi-step value is the largest loss met along the ascent, the one-step one included; undefined otherwise). " +
    "Per model (arm × seed) at its last measured epoch, r = log(factor at the largest m) − log(factor at the smallest m). " +
    "Reproduced when the mean of r over all models (ERM and SAM, every seed) is > 0 with its 95% t CI excluding 0 AND the geometric-mean factor at the largest m over the same models is > 1 with its 95% CI excluding 1; " +
    "not reproduced when the mean of r is ≤ 0; inconclusive otherwise (also when fewer than 2 models have a defined r). " +
    "Further verdicts, same style: the factor at the largest m is larger for ERM than for SAM (log ratio ERM/SAM paired by seed, mean > 0 with CI excluding 0); the factor rises with m at every measured epoch (mean r > 0 with CI excluding 0 at each epoch: reproduced; mean r ≤ 0 at some epoch: not reproduced). " +
    "The retrained runs' final test accuracy is compared with the stored runs' (a determinism check, not part of the verdict).",
  scales: {
    quick: describeSetting(NOISY.quick, `ERM and SAM; m ∈ {${SETUP.quick.ms.join(", ")}}, ${SETUP.quick.batches} batches per m, ${SETUP.quick.steps} ascent steps, at epochs ${SETUP.quick.epochs.join(", ")}`),
    default: describeSetting(NOISY.default, `ERM and SAM; m ∈ {${SETUP.default.ms.join(", ")}}, ≤ ${SETUP.default.batches} batches per m, ${SETUP.default.steps} ascent steps, at epochs ${SETUP.default.epochs.join(", ")}`),
    full: describeSetting(NOISY.full, `ERM and SAM; m ∈ {${SETUP.full.ms.join(", ")}}, ≤ ${SETUP.full.batches} batches per m, ${SETUP.full.steps} ascent steps, at epochs ${SETUP.full.epochs.join(", ")}`),
  },
  differences:
    "The paper measures ResNets with GroupNorm on CIFAR-10/100 (m up to 1024, on 1024 points = 1024/m batches per m); we measure an MLP without normalization on Fashion-MNIST with 60% label noise, m up to 256 on at most 512 points and only a few batches per m (CPU budget). A nearly linear small MLP may leave the one-step maximizer much closer to optimal than a deep ResNet does.",
  specs(scale) {
    return [...runs(scale, "sgd"), ...runs(scale, "sam")];
  },
  async measure(_ctx, scale) {
    await initEngine();
    const setup = SETUP[scale];
    const full = loadFashionMnist(); // once: every run is a subset of it
    const rows: Row[] = [];
    const retrained: Retrained[] = [];
    for (const arm of ARMS)
      for (const spec of runs(scale, arm)) {
        const x = await retrain(spec, arm, full, setup);
        rows.push(...x.rows);
        retrained.push(x.retrained);
      }
    return { setup, rows, retrained } as unknown as Measurements;
  },
  judge(r, scale, measured): Judgement {
    const { setup, rows, retrained } = measuredOf(measured, scale);
    const seeds = NOISY[scale].seeds;
    const small = Math.min(...setup.ms);
    const large = Math.max(...setup.ms);
    const models = ARMS.flatMap((arm) => seeds.map((seed) => [arm, seed] as const));
    const rise = (epochOf: (arm: Arm, seed: number) => number) => models.map(([arm, seed]) => Math.log(factorAt(rows, arm, seed, epochOf(arm, seed), large)) - Math.log(factorAt(rows, arm, seed, epochOf(arm, seed), small))).filter(Number.isFinite);
    const last = (arm: Arm, seed: number) => lastEpoch(rows, arm, seed);
    const r0 = rise(last);
    const logRise = meanCi(r0, `mean over models of r = log(factor at m ${large}) − log(factor at m ${small}), last measured epoch`);
    const riseRatio = geoMeanCi(r0.map(Math.exp), `geometric mean of factor(m ${large}) / factor(m ${small}) = exp(mean r)`);
    const atLarge = models.map(([arm, seed]) => factorAt(rows, arm, seed, last(arm, seed), large)).filter(Number.isFinite);
    const atSmall = models.map(([arm, seed]) => factorAt(rows, arm, seed, last(arm, seed), small)).filter(Number.isFinite);
    const factorLarge = geoMeanCi(atLarge, `geometric-mean factor at m ${large}, last measured epoch, over models`);
    const factorSmall = geoMeanCi(atSmall, `geometric-mean factor at m ${small}, last measured epoch, over models`);
    const ermOverSamRatios = seeds.map((s) => factorAt(rows, "sgd", s, last("sgd", s), large) / factorAt(rows, "sam", s, last("sam", s), large)).filter((x) => Number.isFinite(x) && x > 0);
    const ermOverSam = geoMeanCi(ermOverSamRatios, `factor ERM / factor SAM at m ${large}, last epoch, paired by seed (geometric mean)`);
    const epochs = [...new Set(rows.map((x) => x.epoch))].sort((a, b) => a - b);
    const perEpoch = epochs.map((e) => ({ epoch: e, m: meanCi(rise(() => e), `mean r at epoch ${e}`) }));
    const checks = determinism(r, scale, retrained);
    const mismatched = checks.filter((c) => !c.same);

    const numbers: Judgement["numbers"] = {
      logRise,
      riseRatio,
      factorAtLargestM: factorLarge,
      factorAtSmallestM: factorSmall,
      ermOverSamAtLargestM: ermOverSam,
      retrainMismatches: { value: mismatched.length, n: checks.length, what: "retrained runs whose final test accuracy differs from the stored run's (determinism check, not part of the verdict)" },
    };
    for (const p of perEpoch) numbers[`logRiseEpoch${p.epoch}`] = p.m;
    const show = (m: Measured) => `${showMeasured(m)} (n = ${m.n})`;

    let verdict: Verdict;
    let reason: string;
    if (logRise.value === null || (logRise.n ?? 0) < 2) [verdict, reason] = ["inconclusive", `only ${logRise.n} model(s) with a defined factor at m ${small} and m ${large}.`];
    else if (logRise.value <= 0) [verdict, reason] = ["not reproduced", `the factor does not grow from m ${small} to m ${large}: mean r ${show(logRise)} (ratio ${showMeasured(riseRatio)}); factor at m ${large} ${show(factorLarge)}.`];
    else if (logRise.lo !== null && logRise.lo !== undefined && logRise.lo > 0 && factorLarge.lo !== null && factorLarge.lo !== undefined && factorLarge.lo > 1)
      [verdict, reason] = ["reproduced", `the factor grows from m ${small} to m ${large}: mean r ${show(logRise)} (ratio ${showMeasured(riseRatio)}), CI excluding 0; factor at m ${large} ${show(factorLarge)}, CI excluding 1.`];
    else [verdict, reason] = ["inconclusive", `mean r ${show(logRise)} is > 0, and the factor at m ${large} is ${show(factorLarge)}, but ${!(logRise.lo !== null && logRise.lo !== undefined && logRise.lo > 0) ? "the CI of r includes 0" : "the CI of the factor includes 1"}.`];

    let throughout: { verdict: Verdict; reason: string };
    if (!perEpoch.length || perEpoch.some((p) => p.m.value === null || (p.m.n ?? 0) < 2)) throughout = { verdict: "inconclusive", reason: "too few models with a defined factor at some epoch." };
    else if (perEpoch.some((p) => p.m.value! <= 0)) throughout = { verdict: "not reproduced", reason: `mean r ≤ 0 at epoch ${perEpoch.filter((p) => p.m.value! <= 0).map((p) => `${p.epoch} (${show(p.m)})`).join(", ")}.` };
    else if (perEpoch.every((p) => p.m.lo !== null && p.m.lo !== undefined && p.m.lo > 0)) throughout = { verdict: "reproduced", reason: `mean r > 0 with CI excluding 0 at every epoch: ${perEpoch.map((p) => `${p.epoch}: ${show(p.m)}`).join("; ")}.` };
    else throughout = { verdict: "inconclusive", reason: `mean r > 0 at every epoch but its CI includes 0 at some: ${perEpoch.map((p) => `${p.epoch}: ${show(p.m)}`).join("; ")}.` };

    const mismatchText = mismatched.length ? `; retrained ≠ stored test accuracy on ${mismatched.length}/${checks.length} runs` : `; retraining reproduced all ${checks.length} stored runs' test accuracy exactly`;
    const summary = `factor at m ${small} ${show(factorSmall)}, at m ${large} ${show(factorLarge)} (last epoch); rise ×${showMeasured(riseRatio)}; ERM/SAM at m ${large} ${show(ermOverSam)}${mismatchText}`;
    return {
      verdict,
      reason,
      summary,
      numbers,
      also: [
        { claim: `the factor at m ${large} is larger for ERM than for SAM`, ...aboveOne(ermOverSam, `ERM/SAM factor ratio at m ${large}, paired by seed`) },
        { claim: "the factor rises with m at every measured epoch", ...throughout },
      ],
    };
  },
  async report(r, scale, _j, measured) {
    const { setup, rows, retrained } = measuredOf(measured, scale);
    const seeds = NOISY[scale].seeds;
    const geo = (xs: number[]) => geoMeanCi(xs.filter((x) => Number.isFinite(x) && x > 0), "");
    const epochs = [...new Set(rows.map((x) => x.epoch))].sort((a, b) => a - b);
    const lastE = epochs.at(-1) ?? 0;

    const byM: ChartRow[] = [];
    const byMPoints: ChartRow[] = [];
    for (const arm of ARMS)
      for (const m of setup.ms) {
        const fs = seeds.map((s) => factorAt(rows, arm, s, lastEpoch(rows, arm, s), m));
        byM.push({ m, arm: ARM_LABEL[arm], factor: geo(fs).value });
        for (const f of fs) if (Number.isFinite(f)) byMPoints.push({ m, arm: ARM_LABEL[arm], factor: f });
      }
    const byEpoch: ChartRow[] = [];
    for (const arm of ARMS) for (const m of setup.ms) for (const e of epochs) byEpoch.push({ epoch: e, m: `m ${m}`, arm: ARM_LABEL[arm], factor: geo(seeds.map((s) => factorAt(rows, arm, s, e, m))).value });
    const fig1 = await vegaLiteToSvg(lineChart({ title: `Suboptimality factor against m at epoch ${lastE} (geometric mean over seeds; dots: seeds)`, x: { field: "m", title: "m (examples per ascent)", log: true }, y: { field: "factor", title: `factor (${setup.steps}-step / 1-step sharpness)` }, color: { field: "arm", title: "model" }, lines: byM, points: byMPoints }));
    const fig2 = await vegaLiteToSvg(lineChart({ title: "Suboptimality factor during training (geometric mean over seeds)", x: { field: "epoch", title: "epoch" }, y: { field: "factor", title: "factor" }, color: { field: "m", title: "m", sort: setup.ms.map((m) => `m ${m}`) }, dash: { field: "arm", title: "model" }, lines: byEpoch }));

    const tRows: (string | number)[][] = [];
    for (const arm of ARMS)
      for (const e of epochs)
        for (const m of setup.ms) {
          const xs = rows.filter((x) => x.arm === arm && x.epoch === e && x.m === m);
          const g = geo(xs.map((x) => factorAt(rows, arm, x.seed, e, m)));
          tRows.push([ARM_LABEL[arm], e, m, xs[0]?.batches ?? "–", num(meanCi(xs.map((x) => x.oneStep), "").value), num(meanCi(xs.map((x) => x.multiStep), "").value), `${showMeasured(g)} (n = ${g.n})`]);
        }
    const t = table(["model", "epoch", "m", "batches", "1-step sharpness (mean)", `${setup.steps}-step sharpness (mean)`, "factor, geometric mean [95% CI]"], tRows);

    const checks = determinism(r, scale, retrained);
    const bad = checks.filter((c) => !c.same);
    const det = table(
      ["model", "seed", "stored test accuracy", "retrained test accuracy", "identical", "retrain + measure (s)"],
      checks.map((c) => [ARM_LABEL[c.arm], c.seed, num(c.stored, 6), num(c.retrained, 6), c.same ? "yes" : "NO", num(c.seconds, 3)]),
    );
    const detNote = bad.length
      ? `Retraining did NOT reproduce ${bad.length} of ${checks.length} stored runs exactly (the stored runs may have run on another device or thread count); the measured models are the retrained ones.`
      : `Retraining reproduced every stored run's final test accuracy exactly (${checks.length} runs): the measured models are the runs of the other experiments.`;
    const how = `Each run is retrained in this process and measured at epochs ${setup.epochs.join(", ")} on the trainer's ${POINTS} fixed training points: for each m, up to ${setup.batches} consecutive batches of m points (fewer where ${POINTS}/m is smaller), ρ ${RHO}, ${setup.steps} normalized projected ascent steps of 0.1ρ from a small random start; the factor is mean multi-step sharpness / mean one-step sharpness over the batches.`;
    return `<div class="plots">${fig1}${fig2}</div>\n<p>${esc(how)}</p>\n<h2>Sharpness and factor by model, epoch and m</h2>\n${t}\n<h2>Determinism check (not part of the verdict)</h2>\n<p>${esc(detNote)}</p>\n${det}\n${await trainingReport(r, this.specs(scale))}`;
  },
};
