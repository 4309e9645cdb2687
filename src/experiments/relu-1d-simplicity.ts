/**
 * `relu-1d-simplicity` — 002 §4.3, Fig 7: a one-hidden-layer ReLU network (100 units) trained
 * with full-batch SAM on the 12-point 1-D regression of Blanc et al. (2020) learns simpler
 * interpolations than ERM — a sparser combination of ReLUs — and they vary less across random
 * initializations.
 *
 * Setting: the authors' notebook (one_layer_relu_nets/1d_nn.ipynb): loss ½Σ(f(xᵢ) − yᵢ)²,
 * lr 5e-5, up to 10⁶ steps, stop at loss ≤ 1e-5, SAM normalized with ρ 0.3, five
 * initializations. The notebook decays SAM's learning rate linearly to 0 over the budget and
 * keeps ERM's constant; we keep that asymmetry (it is how Fig 7 was made) and say so on the
 * page. "Simpler" is measured three ways: effective kinks of f inside the data range (merged
 * breakpoints with a non-negligible slope change, models/relu-net-1d.ts), the path norm
 * Σⱼ|aⱼ|‖(wⱼ, bⱼ)‖₂, and the total slope variation Σⱼ|aⱼ||wⱼ|; "more stable" as the spread
 * across inits, the mean over 200 points of the data range of the standard deviation of f(x)
 * over the initializations.
 */
import { num, table } from "./charts.js";
import { meanCi, median, showMeasured, type Experiment, type Judgement, type Results, type Scale } from "./experiment.js";
import { vegaLiteToSvg, esc } from "../report/html.js";
import { BLANC_1D } from "../data/relu-1d.js";
import { std } from "../report/stats.js";
import type { TaskResult } from "./tasks.js";

const RHO = 0.3;
/** Steps budget and initializations per scale (quick cuts the budget: see `scales`). */
const SCALE: Record<Scale, { maxSteps: number; inits: number }> = {
  quick: { maxSteps: 100_000, inits: 5 },
  default: { maxSteps: 1_000_000, inits: 5 },
  full: { maxSteps: 1_000_000, inits: 10 },
};
/** A run "fits" the 12 points when its final loss is at most this (residuals of ~0.04). */
const FIT = 1e-2;

type Method = "erm" | "sam";
const spec = (seed: number, method: Method, scale: Scale) => ({ task: "relu-1d", seed, method, ...(method === "sam" ? { rho: RHO } : {}), maxSteps: SCALE[scale].maxSteps });
const seeds = (scale: Scale) => Array.from({ length: SCALE[scale].inits }, (_, i) => i);
const LO = Math.min(...BLANC_1D.x);
const HI = Math.max(...BLANC_1D.x);

/** Mean over the data range of the std over inits of f(x) (stored samples restricted to [LO, HI]). */
function spread(rs: TaskResult[]): number {
  const xs = rs[0].output.x as number[];
  const ys = rs.map((r) => r.output.y as number[]);
  const sds: number[] = [];
  for (let i = 0; i < xs.length; i++) if (xs[i] >= LO && xs[i] <= HI) sds.push(std(ys.map((y) => y[i])));
  return sds.reduce((a, b) => a + b, 0) / sds.length;
}

function runs(r: Results, scale: Scale, m: Method): TaskResult[] {
  return seeds(scale).map((s) => r.task(spec(s, m, scale)));
}

export const relu1dSimplicity: Experiment = {
  id: "relu-1d-simplicity",
  claim: "A one-hidden-layer ReLU network trained with full-batch SAM on a 12-point 1-D regression learns simpler interpolations than ERM (a sparser combination of ReLUs), and they vary less across initializations.",
  source: "002 §4.3, Fig 7",
  setting: `1-D regression of Blanc et al. (2020), 12 points as in the authors' notebook; f(x) = Σⱼ aⱼ relu(wⱼx + bⱼ), 100 units, Blanc et al.'s initialization; loss ½Σ(f(xᵢ) − yᵢ)², float64, full-batch GD, lr 5e-5, stop at loss ≤ 1e-5; SAM normalized, ρ ${RHO}, lr decayed linearly over the budget (ERM constant, as the notebook).`,
  rule: `Every run must fit the data (final loss ≤ ${FIT}), else inconclusive. Reproduced when, paired by initialization, SAM has fewer effective kinks than ERM in ≥ 80% of the inits, a lower path norm Σ|aⱼ|‖(wⱼ,bⱼ)‖ in ≥ 80% of the inits, and a spread across inits at most 0.75 × ERM's. Not reproduced when SAM's mean kink count is ≥ ERM's or its spread is ≥ ERM's. Inconclusive otherwise.`,
  scales: {
    quick: `5 inits × {ERM, SAM}, budget 10⁵ steps (the notebook's lr; SAM's decay over 10⁵)`,
    default: `5 inits × {ERM, SAM}, budget 10⁶ steps (the paper's setting)`,
    full: `10 inits × {ERM, SAM}, budget 10⁶ steps`,
  },
  differences: "Initializations come from our generator, not torch's (same distributions), so the five functions are not the paper's five.",
  specs(scale) {
    return seeds(scale).flatMap((s) => [spec(s, "erm", scale), spec(s, "sam", scale)]);
  },
  judge(r, scale): Judgement {
    const erm = runs(r, scale, "erm");
    const sam = runs(r, scale, "sam");
    const n = erm.length;
    const m = (x: TaskResult, k: string) => x.metrics[k] as number;
    const fewerKinks = sam.filter((x, i) => m(x, "kinks") < m(erm[i], "kinks")).length;
    const lowerNorm = sam.filter((x, i) => m(x, "pathNorm") < m(erm[i], "pathNorm")).length;
    const kinkDiff = meanCi(sam.map((x, i) => m(x, "kinks") - m(erm[i], "kinks")), "SAM − ERM effective kinks, paired by init (mean, 95% CI)");
    const normRatio = meanCi(sam.map((x, i) => m(x, "pathNorm") / m(erm[i], "pathNorm")), "SAM / ERM path norm, paired by init (mean, 95% CI)");
    const slopeRatio = meanCi(sam.map((x, i) => m(x, "slopeVariation") / m(erm[i], "slopeVariation")), "SAM / ERM total slope variation Σ|aⱼ||wⱼ| (mean, 95% CI)");
    const spreadErm = spread(erm);
    const spreadSam = spread(sam);
    const unfit = [...erm, ...sam].filter((x) => x.metrics.diverged || !(m(x, "finalLoss") <= FIT));
    const numbers = {
      kinksErm: meanCi(erm.map((x) => m(x, "kinks")), "ERM effective kinks in the data range"),
      kinksSam: meanCi(sam.map((x) => m(x, "kinks")), "SAM effective kinks in the data range"),
      kinkDiff,
      fewerKinks: { value: fewerKinks, n, what: "inits where SAM has fewer effective kinks than ERM" },
      pathNormErm: meanCi(erm.map((x) => m(x, "pathNorm")), "ERM path norm Σ|aⱼ|‖(wⱼ,bⱼ)‖"),
      pathNormSam: meanCi(sam.map((x) => m(x, "pathNorm")), "SAM path norm"),
      pathNormRatio: normRatio,
      lowerPathNorm: { value: lowerNorm, n, what: "inits where SAM has the lower path norm" },
      slopeVariationRatio: slopeRatio,
      spreadErm: { value: spreadErm, n, what: "ERM spread across inits (mean over the data range of the std of f(x))" },
      spreadSam: { value: spreadSam, n, what: "SAM spread across inits" },
      spreadRatio: { value: spreadSam / spreadErm, n, what: "SAM spread / ERM spread" },
      maxFinalLossErm: { value: Math.max(...erm.map((x) => m(x, "finalLoss"))), n, what: "ERM largest final loss over inits" },
      maxFinalLossSam: { value: Math.max(...sam.map((x) => m(x, "finalLoss"))), n, what: "SAM largest final loss over inits" },
      medianStepsErm: { value: median(erm.map((x) => m(x, "steps"))), n, what: "ERM median steps taken (stops at loss ≤ 1e-5)" },
      medianStepsSam: { value: median(sam.map((x) => m(x, "steps"))), n, what: "SAM median steps taken" },
    };
    const summary = `kinks ERM ${showMeasured(numbers.kinksErm)} vs SAM ${showMeasured(numbers.kinksSam)} (SAM fewer in ${fewerKinks}/${n}); path norm SAM/ERM ${showMeasured(normRatio)} (lower in ${lowerNorm}/${n}); spread across inits SAM/ERM ${num(spreadSam / spreadErm, 3)} (${num(spreadSam, 3)} vs ${num(spreadErm, 3)})`;
    if (unfit.length) return { verdict: "inconclusive", reason: `${unfit.length} of ${2 * n} runs did not fit the 12 points (final loss > ${FIT}: ${unfit.map((x) => `${x.label} seed ${x.seed} ${num(x.metrics.finalLoss as number, 3)}`).join(", ")}), so simplicity is not compared between interpolating solutions.`, summary, numbers };
    if (fewerKinks >= 0.8 * n && lowerNorm >= 0.8 * n && spreadSam <= 0.75 * spreadErm)
      return { verdict: "reproduced", reason: `SAM has fewer kinks in ${fewerKinks}/${n} inits, a lower path norm in ${lowerNorm}/${n}, and ${num(spreadSam / spreadErm, 3)}× ERM's spread across inits.`, summary, numbers };
    const meanKinks = (xs: TaskResult[]) => xs.reduce((a, x) => a + m(x, "kinks"), 0) / xs.length;
    if (meanKinks(sam) >= meanKinks(erm) || spreadSam >= spreadErm)
      return { verdict: "not reproduced", reason: `SAM is not simpler or not more stable here: mean kinks ${num(meanKinks(sam), 3)} vs ERM ${num(meanKinks(erm), 3)}, spread ${num(spreadSam, 3)} vs ${num(spreadErm, 3)}.`, summary, numbers };
    return { verdict: "inconclusive", reason: `The direction agrees but the rule's thresholds are not all met: fewer kinks in ${fewerKinks}/${n}, lower path norm in ${lowerNorm}/${n} (need ≥ 80%), spread ratio ${num(spreadSam / spreadErm, 3)} (need ≤ 0.75).`, summary, numbers };
  },
  async report(r, scale) {
    const panels = await Promise.all(
      (["erm", "sam"] as Method[]).map((meth) => {
        const rs = runs(r, scale, meth);
        const lines = rs.flatMap((x) => (x.output.x as number[]).map((xv, i) => ({ x: xv, y: (x.output.y as number[])[i], init: `init ${x.seed}` })));
        const data = BLANC_1D.x.map((x, i) => ({ x, y: BLANC_1D.y[i] }));
        const kinks = rs.flatMap((x) => (x.output.kinks as { x: number }[]).map((k) => ({ x: k.x, init: `init ${x.seed}` })));
        return vegaLiteToSvg({
          $schema: "https://vega.github.io/schema/vega-lite/v6.json",
          title: `${meth === "erm" ? "ERM" : `SAM ρ=${RHO}`}: learned functions of ${rs.length} inits (ticks: effective kinks)`,
          width: 440,
          height: 280,
          layer: [
            { data: { values: lines }, mark: { type: "line", strokeWidth: 1.5, opacity: 0.8 }, encoding: { x: { field: "x", type: "quantitative", title: "x" }, y: { field: "y", type: "quantitative", title: "f(x)", scale: { domain: [-2.5, 3] , clamp: true } }, color: { field: "init", type: "nominal", title: "init" } } },
            { data: { values: data }, mark: { type: "point", filled: true, color: "#000", size: 40 }, encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } } },
            { data: { values: kinks }, mark: { type: "tick", orient: "vertical", thickness: 1.5 }, encoding: { x: { field: "x", type: "quantitative" }, y: { datum: -2.3 }, color: { field: "init", type: "nominal" } } },
          ],
        });
      }),
    );
    const erm = runs(r, scale, "erm");
    const sam = runs(r, scale, "sam");
    const rows = erm.map((e, i) => {
      const s = sam[i];
      return [e.seed, e.metrics.kinks as number, s.metrics.kinks as number, num(e.metrics.pathNorm as number), num(s.metrics.pathNorm as number), num(e.metrics.slopeVariation as number), num(s.metrics.slopeVariation as number), num(e.metrics.finalLoss as number, 3), num(s.metrics.finalLoss as number, 3), e.metrics.steps as number, s.metrics.steps as number];
    });
    return `<div class="plots">${panels.join("")}</div>
<h2>Per initialization</h2>
${table(["init (seed)", "ERM kinks", "SAM kinks", "ERM path norm", "SAM path norm", "ERM Σ|a||w|", "SAM Σ|a||w|", "ERM final loss", "SAM final loss", "ERM steps", "SAM steps"], rows)}
<p>${esc("SAM's learning rate decays linearly to 0 over the budget; ERM's is constant (the authors' notebook does this; the paper does not mention it). ERM stops once its loss is ≤ 1e-5.")}</p>`;
  },
};
