/**
 * `reparameterization` — the review's Q2 (000; Dinh et al. 2017): a ReLU network computes the
 * same function after scaling one layer by a and the next by 1/a, yet ℓ2 sharpness and λ_max
 * change by orders of magnitude, while adaptive sharpness (ASAM's, T = |w|, η 0) does not — so an
 * ordering of two models by plain sharpness says nothing until the parameterization is fixed.
 *
 * The trained SGD and SAM models of the label-noise setting (their final checkpoints) are
 * rescaled at the first layer by a ∈ {0.2, 5}; on 512 fixed training points (4 batches of 128;
 * `quick`: 128 points, 5 ascent steps) we measure the loss, the largest logit change (the function must not move: ≤ 1e-4), ℓ2
 * sharpness (ρ 0.05, 20 ascent steps), adaptive sharpness (ρ 0.5, η 0) and λ_max (50 power
 * iterations), via sharpness/reparam.ts. Node-side (checkpoints, jax-js in this process).
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import { initEngine } from "../engine/device.js";
import { loadRun, splitBatch, trainingPoints } from "../sharpness/from-checkpoint.js";
import { rescaleMlp, reparamMeasures } from "../sharpness/reparam.js";
import { loadFashionMnist } from "../data/fashion-mnist.js";
import type { ImageDataset } from "../data/types.js";
import type { MlpParams } from "../models/mlp.js";
import { num, table } from "./charts.js";
import type { Experiment, Judgement, Measurements, Scale, Verdict } from "./experiment.js";
import { NOISY, describeScales, armRuns, trainingReport } from "./training.js";
import { esc } from "../report/html.js";

const SCALES_A = [0.2, 5];
const MAX_OUTPUT_CHANGE = 1e-4;
type Arm = "sgd" | "sam";
const runs = (scale: Scale, arm: Arm) => armRuns(NOISY[scale], arm === "sgd" ? { name: "sgd" } : { name: "sam", rho: 0.1 });

/** One model's measures at a = 1 and each rescaling. */
type Row = { seed: number; arm: Arm; a: number; loss: number; outputChange: number; l2: number; adaptive: number; lambdaMax: number };

/** Measurement size per scale: training points (in batches of 128) and ascent steps (quick: a smoke test). */
const MEASURE: Record<Scale, { points: number; steps: number }> = { quick: { points: 128, steps: 5 }, default: { points: 512, steps: 20 }, full: { points: 512, steps: 20 } };

async function measureModel(dir: string, scale: Scale, full: ImageDataset): Promise<Omit<Row, "seed" | "arm">[]> {
  const run = loadRun(dir, full);
  const points = trainingPoints(run, MEASURE[scale].points);
  const batches = splitBatch(points, 128);
  const logits = async (p: MlpParams) => {
    const [z, s2] = run.model.apply(tree.ref(p), tree.ref(run.modelState), points.x.ref, false);
    tree.dispose(s2);
    return (await (z as np.Array).data()) as Float32Array;
  };
  const measure = reparamMeasures(run.loss, batches, { rho: 0.05, adaptiveRho: 0.5, steps: MEASURE[scale].steps });
  const row = (m: { measure: string; value: number }[]) => {
    const get = (prefix: string) => m.find((x) => x.measure.startsWith(prefix))!.value;
    return { loss: get("loss"), l2: get("ℓ2"), adaptive: get("adaptive"), lambdaMax: get("λ_max") };
  };
  try {
    const params = run.params as MlpParams;
    const base = await logits(params);
    const rows: Omit<Row, "seed" | "arm">[] = [{ a: 1, outputChange: 0, ...row(await measure(params)) }];
    for (const a of SCALES_A) {
      const scaled = rescaleMlp(params, 0, a);
      try {
        const out = await logits(scaled);
        let change = 0;
        for (let i = 0; i < out.length; i++) change = Math.max(change, Math.abs(out[i] - base[i]));
        rows.push({ a, outputChange: change, ...row(await measure(scaled)) });
      } finally {
        tree.dispose(scaled);
      }
    }
    return rows;
  } finally {
    tree.dispose([run.params, run.modelState, points, ...batches] as never);
  }
}

const rowsOf = (m: Measurements | undefined): Row[] => ((m?.rows ?? []) as unknown as Row[]);

export const reparameterization: Experiment = {
  id: "reparameterization",
  claim: "A function-preserving rescaling of a ReLU network moves ℓ2 sharpness and λ_max by an order of magnitude or more while adaptive sharpness stays put, so the SGD-vs-SAM ordering by ℓ2 sharpness can be reversed by reparameterizing one model.",
  source: "000 Q2 (Dinh et al. 2017)",
  setting: `The trained SGD and SAM (ρ 0.1) models of the label-noise setting, first layer × a and second × 1/a for a ∈ {${SCALES_A.join(", ")}}; on 512 fixed training points: output change, ℓ2 sharpness (ρ 0.05), adaptive sharpness (ρ 0.5, η 0), λ_max.`,
  rule: `Every rescaled model must compute the same function (largest logit change ≤ ${MAX_OUTPUT_CHANGE}), else inconclusive. Reproduced when, for every model, some a moves λ_max and ℓ2 sharpness by ≥ 10× (either way) while adaptive sharpness stays within [0.8, 1.25]× for every a, AND on every seed a rescaled SAM model's ℓ2 sharpness lies on the other side of the SGD model's than the unscaled SAM model's (the ordering reverses). Not reproduced when no model's λ_max moves by ≥ 10× or the ordering reverses on no seed. Inconclusive otherwise.`,
  scales: describeScales(() => "SGD and SAM, rescaled at a ∈ {0.2, 5}"),
  differences: "The review states the objection in general; we measure it on this project's MLPs (no BatchNorm, where the rescaling symmetry is exact).",
  specs(scale) {
    return [...runs(scale, "sgd"), ...runs(scale, "sam")];
  },
  async measure(ctx, scale) {
    await initEngine();
    const rows: Row[] = [];
    const full = loadFashionMnist(); // once: every run is a subset of it
    for (const arm of ["sgd", "sam"] as Arm[]) for (const spec of runs(scale, arm)) for (const r of await measureModel(ctx.runDir(spec), scale, full)) rows.push({ seed: spec.seed, arm, ...r });
    return { rows } as unknown as Measurements;
  },
  judge(_r, scale, measured): Judgement {
    const rows = rowsOf(measured);
    const seeds = NOISY[scale].seeds;
    const at = (seed: number, arm: Arm, a: number) => rows.find((x) => x.seed === seed && x.arm === arm && x.a === a);
    const maxChange = Math.max(...rows.map((x) => x.outputChange));
    const models = seeds.flatMap((s) => (["sgd", "sam"] as Arm[]).map((arm) => [s, arm] as const));
    const moves = (s: number, arm: Arm, k: "l2" | "lambdaMax") => Math.max(...SCALES_A.map((a) => Math.abs(Math.log10(at(s, arm, a)![k] / at(s, arm, 1)![k]))));
    const adaptiveRatios = models.flatMap(([s, arm]) => SCALES_A.map((a) => at(s, arm, a)!.adaptive / at(s, arm, 1)!.adaptive));
    const lambdaMoves = models.map(([s, arm]) => moves(s, arm, "lambdaMax"));
    const l2Moves = models.map(([s, arm]) => moves(s, arm, "l2"));
    const reversed = seeds.filter((s) => {
      const sgd = at(s, "sgd", 1)!.l2;
      const side = Math.sign(at(s, "sam", 1)!.l2 - sgd);
      return SCALES_A.some((a) => Math.sign(at(s, "sam", a)!.l2 - sgd) === -side);
    }).length;
    const adaptiveOrderKept = seeds.filter((s) => {
      const sgd = at(s, "sgd", 1)!.adaptive;
      const side = Math.sign(at(s, "sam", 1)!.adaptive - sgd);
      return SCALES_A.every((a) => Math.sign(at(s, "sam", a)!.adaptive - sgd) === side);
    }).length;
    const n = seeds.length;
    const numbers = {
      maxOutputChange: { value: maxChange, n: rows.length, what: "largest change of any logit under the rescalings (must be ≤ 1e-4)" },
      minLambdaMaxMove: { value: Math.min(...lambdaMoves), n: models.length, what: "smallest over models of the largest |log10| change of λ_max (1 = 10×)" },
      minL2Move: { value: Math.min(...l2Moves), n: models.length, what: "smallest over models of the largest |log10| change of ℓ2 sharpness" },
      adaptiveRatioMin: { value: Math.min(...adaptiveRatios), n: adaptiveRatios.length, what: "smallest rescaled/original adaptive sharpness" },
      adaptiveRatioMax: { value: Math.max(...adaptiveRatios), n: adaptiveRatios.length, what: "largest rescaled/original adaptive sharpness" },
      orderingReversed: { value: reversed, n, what: "seeds where a rescaled SAM model's ℓ2 sharpness is on the other side of SGD's" },
      adaptiveOrderingKept: { value: adaptiveOrderKept, n, what: "seeds where the SGD-vs-SAM ordering by adaptive sharpness survives every rescaling" },
      samSharperL2: { value: seeds.filter((s) => at(s, "sam", 1)!.l2 > at(s, "sgd", 1)!.l2).length, n, what: "seeds where the unscaled SAM model has the larger ℓ2 sharpness" },
    };
    const summary = `largest logit change ${num(maxChange, 2)}; λ_max moves ≥ 10^${num(numbers.minLambdaMaxMove.value, 3)} and ℓ2 sharpness ≥ 10^${num(numbers.minL2Move.value, 3)} for every model; adaptive sharpness ratio in [${num(numbers.adaptiveRatioMin.value, 3)}, ${num(numbers.adaptiveRatioMax.value, 3)}]; ℓ2 ordering reversed on ${reversed}/${n} seeds, adaptive ordering kept on ${adaptiveOrderKept}/${n}`;
    let verdict: Verdict;
    let reason: string;
    if (!(maxChange <= MAX_OUTPUT_CHANGE)) [verdict, reason] = ["inconclusive", `a rescaled model changed its outputs by ${num(maxChange, 3)} > ${MAX_OUTPUT_CHANGE}: not the same function.`];
    else if (Math.min(...lambdaMoves) >= 1 && Math.min(...l2Moves) >= 1 && numbers.adaptiveRatioMin.value >= 0.8 && numbers.adaptiveRatioMax.value <= 1.25 && reversed === n)
      [verdict, reason] = ["reproduced", `same functions (logits within ${num(maxChange, 2)}); λ_max and ℓ2 sharpness move ≥ 10× for every model while adaptive sharpness stays within [${num(numbers.adaptiveRatioMin.value, 3)}, ${num(numbers.adaptiveRatioMax.value, 3)}]×; the ℓ2 ordering reverses on ${reversed}/${n} seeds.`];
    else if (Math.max(...lambdaMoves) < 1 || reversed === 0) [verdict, reason] = ["not reproduced", `λ_max moved by at most 10^${num(Math.max(...lambdaMoves), 3)}, and the ℓ2 ordering reversed on ${reversed}/${n} seeds.`];
    else {
      const failing = [
        Math.min(...lambdaMoves) < 1 ? `λ_max moves only 10^${num(Math.min(...lambdaMoves), 3)}× on some model` : "",
        Math.min(...l2Moves) < 1 ? `ℓ2 sharpness moves only ${num(10 ** Math.min(...l2Moves), 3)}× on some model (the rule asks ≥ 10×)` : "",
        numbers.adaptiveRatioMin.value < 0.8 || numbers.adaptiveRatioMax.value > 1.25 ? "adaptive sharpness moved" : "",
        reversed < n ? `the ℓ2 ordering reversed on only ${reversed}/${n} seeds` : "",
      ].filter(Boolean);
      [verdict, reason] = ["inconclusive", `part of the rule fails: ${failing.join("; ")}.`];
    }
    return { verdict, reason, summary, numbers };
  },
  async report(r, scale, _j, measured) {
    const rows = rowsOf(measured);
    const t = table(
      ["seed", "model", "a", "loss", "largest logit change", "ℓ2 sharpness", "adaptive sharpness", "λ_max"],
      rows.map((x) => [x.seed, x.arm === "sgd" ? "SGD" : "SAM ρ 0.1", x.a, num(x.loss), num(x.outputChange, 2), num(x.l2), num(x.adaptive), num(x.lambdaMax)]),
    );
    return `<h2>Measures before (a = 1) and after the rescaling</h2>\n${t}\n<p>${esc("First layer (weights and bias) × a, second layer's weights × 1/a: the same ReLU network function.")}</p>\n${await trainingReport(r, this.specs(scale))}`;
  },
};
