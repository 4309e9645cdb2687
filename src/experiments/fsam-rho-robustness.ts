/**
 * `fsam-rho-robustness` — 003 §6.4, Fig 3 and Fig 4: F-SAM is more robust than SAM to the choice
 * of ρ (its accuracy holds up better as ρ grows) and to the batch size.
 *
 * F-SAM with σ 1, λ 0.6 as in this project's label-noise comparison. The ρ grid runs at batch
 * 128; the batch sizes {64, 256} (and 128 from the grid) at ρ 0.1, the learning rate unchanged.
 */
import { lineChart, type Row } from "./charts.js";
import { meanCi, type Experiment, type Judgement, type Scale } from "./experiment.js";
import { NOISY, describeSetting, betterVerdict, pairedDiff, showPts, armRuns, trainingReport } from "./training.js";
import { vegaLiteToSvg } from "../report/html.js";
import type { RunSpec } from "../train/spec.js";

/** The ρ grid (quick: its ends only) and the extra batch sizes (quick: none), to keep `quick` a smoke test. */
const RHOS_AT: Record<Scale, number[]> = { quick: [0.1, 0.5], default: [0.05, 0.1, 0.2, 0.5], full: [0.05, 0.1, 0.2, 0.5] };
const BATCHES_AT: Record<Scale, number[]> = { quick: [], default: [64, 256], full: [64, 256] };
const RHOS = RHOS_AT.default;
const BATCHES = BATCHES_AT.default;
const RHO_FOR_BATCHES = 0.1;
const FSAM = { sigma: 1, lambda: 0.6 };
type Method = "sam" | "fsam";
const opt = (m: Method, rho: number) => (m === "sam" ? { name: "sam", rho } : { name: "fsam", rho, ...FSAM });
/** Runs at ρ (batch from the setting) or at batch size b (ρ 0.1). */
const atRho = (scale: Scale, m: Method, rho: number) => armRuns(NOISY[scale], opt(m, rho));
const atBatch = (scale: Scale, m: Method, b: number) => armRuns({ ...NOISY[scale], batchSize: b }, opt(m, RHO_FOR_BATCHES));
const batchesOf = (scale: Scale) => [...BATCHES_AT[scale].filter((b) => b <= NOISY[scale].trainSize), NOISY[scale].batchSize].sort((a, b) => a - b);

/** Per seed, the mean over `groups` of F-SAM − SAM; then mean and CI over seeds. */
function meanAdvantage(r: Parameters<Experiment["judge"]>[0], groups: [RunSpec[], RunSpec[]][], what: string) {
  const per = groups[0][0].map((_, i) => groups.reduce((a, [f, s]) => a + r.train(f[i]).metrics.testAccuracy - r.train(s[i]).metrics.testAccuracy, 0) / groups.length);
  return meanCi(per, what);
}

export const fsamRhoRobustness: Experiment = {
  id: "fsam-rho-robustness",
  claim: "F-SAM is more robust than SAM to the perturbation radius ρ and to the batch size: averaged over a ρ grid (and over batch sizes) it reaches a higher test accuracy.",
  source: "003 §6.4, Fig 3, Fig 4",
  setting: `The label-noise setting (Fashion-MNIST, MLP, SGD lr 0.05 momentum 0.9); SAM and F-SAM (σ 1, λ 0.6) at ρ ∈ {${RHOS.join(", ")}} (batch from the setting), and at batch sizes {${BATCHES.join(", ")}} with ρ ${RHO_FOR_BATCHES}.`,
  rule: "Per seed, F-SAM − SAM final test accuracy averaged over the ρ grid; reproduced when its mean over seeds is > 0 with the 95% CI excluding 0; not reproduced when ≤ 0; inconclusive otherwise. The same rule over the batch sizes is a second verdict.",
  scales: {
    quick: describeSetting(NOISY.quick, `2 methods × ρ ∈ {${RHOS_AT.quick.join(", ")}}`),
    default: describeSetting(NOISY.default, `2 methods × (${RHOS.length} ρ + 2 batch sizes)`),
    full: describeSetting(NOISY.full, `2 methods × (${RHOS.length} ρ + 2 batch sizes)`),
  },
  differences: "CPU scale: an MLP on Fashion-MNIST with 60% label noise instead of ResNet-18/WRN on CIFAR; 4 values of ρ and 3 batch sizes.",
  specs(scale) {
    const ms: Method[] = ["sam", "fsam"];
    return [...ms.flatMap((m) => RHOS_AT[scale].flatMap((rho) => atRho(scale, m, rho))), ...ms.flatMap((m) => batchesOf(scale).filter((b) => b !== NOISY[scale].batchSize).flatMap((b) => atBatch(scale, m, b)))];
  },
  judge(r, scale): Judgement {
    const overRho = meanAdvantage(r, RHOS_AT[scale].map((rho) => [atRho(scale, "fsam", rho), atRho(scale, "sam", rho)]), "F-SAM − SAM averaged over the ρ grid, per seed (mean, 95% CI)");
    const overBatch = meanAdvantage(r, batchesOf(scale).map((b) => [atBatch(scale, "fsam", b), atBatch(scale, "sam", b)]), "F-SAM − SAM averaged over the batch sizes, per seed");
    const numbers: Judgement["numbers"] = { overRho, overBatch };
    for (const rho of RHOS_AT[scale]) numbers[`rho${rho}`] = pairedDiff(r, atRho(scale, "fsam", rho), atRho(scale, "sam", rho), `F-SAM − SAM at ρ ${rho}`);
    for (const b of batchesOf(scale)) numbers[`batch${b}`] = pairedDiff(r, atBatch(scale, "fsam", b), atBatch(scale, "sam", b), `F-SAM − SAM at batch ${b} (ρ ${RHO_FOR_BATCHES})`);
    const summary = `F-SAM − SAM over ρ ${showPts(overRho)}; per ρ ${RHOS_AT[scale].map((rho) => `${rho}: ${showPts(numbers[`rho${rho}`])}`).join(", ")}; over batch sizes ${showPts(overBatch)}`;
    return { ...betterVerdict(overRho, "F-SAM", "SAM (averaged over ρ)"), summary, numbers, also: [{ claim: "F-SAM beats SAM averaged over batch sizes (003 Fig 4)", ...betterVerdict(overBatch, "F-SAM", "SAM (averaged over batch sizes)") }] };
  },
  async report(r, scale) {
    const lines: Row[] = [];
    const bl: Row[] = [];
    for (const m of ["sam", "fsam"] as Method[]) {
      const name = m === "sam" ? "SAM" : "F-SAM";
      for (const rho of RHOS_AT[scale]) lines.push({ rho, method: name, accuracy: meanCi(atRho(scale, m, rho).map((s) => r.train(s).metrics.testAccuracy), "").value });
      for (const b of batchesOf(scale)) bl.push({ batch: b, method: name, accuracy: meanCi(atBatch(scale, m, b).map((s) => r.train(s).metrics.testAccuracy), "").value });
    }
    const figs = await Promise.all([
      vegaLiteToSvg(lineChart({ title: "Final test accuracy against ρ (mean over seeds)", x: { field: "rho", title: "ρ", log: true }, y: { field: "accuracy", title: "final test accuracy" }, color: { field: "method", title: "method" }, lines })),
      vegaLiteToSvg(lineChart({ title: `Final test accuracy against batch size (ρ ${RHO_FOR_BATCHES})`, x: { field: "batch", title: "batch size", log: true }, y: { field: "accuracy", title: "final test accuracy" }, color: { field: "method", title: "method" }, lines: bl })),
    ]);
    return `<div class="plots">${figs.join("")}</div>\n${await trainingReport(r, this.specs(scale))}`;
  },
};
