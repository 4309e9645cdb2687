/**
 * `sam-at-sgd-price` — what SAM users ask for (issue trackers of davda54/sam, optax,
 * pytorch_optimizer; 000's cost critique): SAM's gain without its 2× cost. At equal training
 * time on this machine, which of the cheap variants keeps SAM's gain over SGD?
 *
 * Equal time, not equal epochs: the budget is SAM's training time at the setting's epochs,
 * counted in SGD steps through the per-step costs the trainer measured for each arm on this
 * machine (`COST`, from bench/arm-costs.ts, part of `npm run bench`: seconds per training step
 * of `sharpness train`'s loop, batch assembly and host reads included, compilation excluded). Each arm runs the number of epochs whose cost is nearest the budget:
 * SGD the most, ESAM (which saves nothing on static shapes) fewer than SAM. Every run records
 * its measured training seconds, so the report checks the premise against the clock.
 *
 * Arms (SGD momentum 0.9, lr 0.05 underneath; ρ 0.1 = the default comparison's wherever ρ
 * means SAM's radius):
 *   SGD             the base optimizer alone, more epochs
 *   SAM             ρ 0.1, the setting's epochs (the budget)
 *   LookSAM         ρ 0.1, k 5, α 0.7 (its defaults): SAM every 5th step, the reused direction between
 *   SAM every 4th   ρ 0.1 on every 4th step, plain steps between (rho-schedule every-k)
 *   SAM last 25%    plain steps, SAM ρ 0.1 over the last quarter of the epochs (erm-to-sam; 002 §5.1)
 *   MSAM            ρ 0.3, its default (the official optimizer's): ε along the last update, one pass
 *   SAF             λ 0.16, τ 5, minusEpoch 3 (the code's defaults): KL to the logits of 3 epochs earlier
 *   MESA            λ 0.3, τ 5, EMA decay 0.998: KL to an EMA model. The code's 0.9998 averages
 *                   over 5,000 steps = 12.8 CIFAR-10 epochs at batch 128; here 39 steps make an
 *                   epoch, and 0.998 keeps the horizon in epochs (500 steps = 12.8 epochs)
 *   ESAM            ρ 0.1, β 0.5, γ 0.5 (run.sh's): SWP + SDS
 * SAF and MESA start their term at epoch 7 (the code's) at default and full scale, epoch 2 in
 * the quick smoke test (4-7 epochs).
 */
import { intervalChart, lineChart, num, table, type Row } from "./charts.js";
import { vegaLiteToSvg } from "../report/html.js";
import { meanCi, type Experiment, type Judgement, type Measured, type Results, type Scale, type SubVerdict, type Verdict } from "./experiment.js";
import { NOISY, armRuns, betterVerdict, describeScales, pairedDiff, pts, showPts, trainingReport, type TrainSetting } from "./training.js";
import type { RunSpec } from "../train/spec.js";

/** The label-noise setting; 5 seeds at default (3 leave every interval too wide to rank arms). */
export const SETTING: Record<Scale, TrainSetting> = { ...NOISY, default: { ...NOISY.default, seeds: [0, 1, 2, 3, 4] } };

const RHO = 0.1;
const START: Record<Scale, number> = { quick: 2, default: 7, full: 7 };

/**
 * Seconds per training step of each arm's steady state relative to SGD's, measured by
 * bench/arm-costs.ts with `sharpness train`'s loop (label-noise default setting: MLP 784-256-10,
 * batch 128, 5,000 images; epochs 2-6 of 6, medians of 3 interleaved rounds; SGD 7.14 ms per step)
 * on this machine, 2026-11-23 (earlier rounds that day swung SAM between 1.8 and 2.5× while the
 * machine was shared: the report compares the measured training seconds).
 * `safBefore` / `mesaBefore`: their steps before `startEpoch` (no KL term yet).
 */
export const COST = {
  sgd: 1,
  sam: 1.87,
  looksam: 1.24,
  every4: 1.24,
  msam: 1.1,
  saf: 0.99,
  safBefore: 1.01,
  mesa: 1.49,
  mesaBefore: 1.08,
  esam: 2.41,
} as const;
/** A measured per-step cost (a key of `COST`). */
export type CostKey = keyof typeof COST;

/** The optimizer whose steady state each cost is (bench/arm-costs.ts times exactly these). */
export const COST_PROBES: Record<CostKey, Record<string, unknown>> = {
  sgd: { name: "sgd" },
  sam: { name: "sam", rho: RHO },
  looksam: { name: "looksam", rho: RHO, k: 5 },
  every4: { name: "sam", rho: RHO, rhoSchedule: "every-k", everyK: 4 },
  msam: { name: "msam", rho: 0.3 },
  saf: { name: "saf", startEpoch: 1 },
  safBefore: { name: "saf", startEpoch: 1000 },
  mesa: { name: "mesa", startEpoch: 1, decay: 0.998 },
  mesaBefore: { name: "mesa", startEpoch: 1000, decay: 0.998 },
  esam: { name: "esam", rho: RHO },
};

/** An arm: its optimizer at E epochs, and the cost of E epochs in SGD epochs (cost per step × epochs, phase by phase). */
export type Arm = { id: string; label: string; optimizer(scale: Scale, epochs: number): Record<string, unknown>; cost(scale: Scale, epochs: number): number; costKeys: CostKey[] };

/** Epochs before the switch of "SAM last 25%" (the erm-to-sam switch is at this + 1). */
const plainEpochs = (epochs: number) => Math.round(0.75 * epochs);
/** E epochs at `main` per step, the first `before` of them at `pre`. */
const phased = (epochs: number, before: number, pre: number, main: number) => Math.min(epochs, before) * pre + Math.max(0, epochs - before) * main;

const steady = (id: string, label: string, key: CostKey, optimizer: Record<string, unknown>): Arm => ({ id, label, optimizer: () => optimizer, cost: (_s, e) => e * COST[key], costKeys: [key] });

/** The arms, SGD and SAM first; each one's optimizer and planned cost (`epochsOf` gives its epochs). */
export const ARMS: readonly Arm[] = [
  steady("sgd", "SGD", "sgd", { name: "sgd" }),
  steady("sam", `SAM ρ ${RHO}`, "sam", { name: "sam", rho: RHO }),
  steady("looksam", `LookSAM ρ ${RHO}, k 5`, "looksam", { name: "looksam", rho: RHO, k: 5 }),
  steady("every4", `SAM ρ ${RHO} every 4th step`, "every4", { name: "sam", rho: RHO, rhoSchedule: "every-k", everyK: 4 }),
  {
    id: "last25",
    label: `SAM ρ ${RHO} in the last 25% of epochs`,
    optimizer: (_s, e) => ({ name: "sam", rho: RHO, rhoSchedule: "erm-to-sam", switchEpoch: plainEpochs(e) + 1 }),
    cost: (_s, e) => phased(e, plainEpochs(e), COST.sgd, COST.sam),
    costKeys: ["sgd", "sam"],
  },
  steady("msam", "MSAM ρ 0.3", "msam", { name: "msam", rho: 0.3 }),
  {
    id: "saf",
    label: "SAF λ 0.16",
    optimizer: (s) => ({ name: "saf", startEpoch: START[s] }),
    cost: (s, e) => phased(e, START[s] - 1, COST.safBefore, COST.saf),
    costKeys: ["safBefore", "saf"],
  },
  {
    id: "mesa",
    label: "MESA λ 0.3, decay 0.998",
    optimizer: (s) => ({ name: "mesa", startEpoch: START[s], decay: 0.998 }),
    cost: (s, e) => phased(e, START[s] - 1, COST.mesaBefore, COST.mesa),
    costKeys: ["mesaBefore", "mesa"],
  },
  steady("esam", `ESAM ρ ${RHO}, β 0.5, γ 0.5`, "esam", { name: "esam", rho: RHO }),
];
const arm = (id: string) => ARMS.find((a) => a.id === id)!;

/** The budget in SGD epochs: SAM's cost at the setting's epochs. */
export const budget = (scale: Scale) => arm("sam").cost(scale, SETTING[scale].epochs);

/** The epochs of `a` whose cost is nearest the budget (ties: fewer). */
export function epochsOf(a: Arm, scale: Scale): number {
  const b = budget(scale);
  let best = 1;
  for (let e = 1; e <= 4 * Math.ceil(b); e++) if (Math.abs(a.cost(scale, e) - b) < Math.abs(a.cost(scale, best) - b)) best = e;
  return best;
}

/** The filled specs of arm `a` at equal time (its `epochsOf` epochs), one per seed of the setting, in seed order. */
export const runsOf = (a: Arm, scale: Scale): RunSpec[] => {
  const e = epochsOf(a, scale);
  return armRuns(SETTING[scale], a.optimizer(scale, e), { epochs: e });
};
/** SGD at the setting's epochs (the label-noise experiment's baseline): the reference for "more epochs". */
const sgdSameEpochs = (scale: Scale) => armRuns(SETTING[scale], { name: "sgd" });

/**
 * Supplementary, outside the verdict (added after the default run showed that the extra epochs
 * of equal time memorize label noise): the arms other than SGD and SAM at SAM's epochs, i.e. at
 * their own lower cost, against SGD and SAM at those epochs. Arms whose budget is SAM's epochs anyway are left out,
 * and so is the quick smoke test (its 14 runs would only lengthen `npm test`; the rule is tested on constructed results).
 */
export const sameEpochArms = (scale: Scale) => (scale === "quick" ? [] : ARMS.filter((a) => a.id !== "sgd" && a.id !== "sam" && epochsOf(a, scale) !== SETTING[scale].epochs));
/** The filled specs of arm `a` at SAM's epochs (the supplementary analysis), one per seed. */
export const runsAtSameEpochs = (a: Arm, scale: Scale): RunSpec[] => armRuns(SETTING[scale], a.optimizer(scale, SETTING[scale].epochs));

/** Cheaper per step than SAM: more epochs than SAM in the budget. */
const cheap = (a: Arm, scale: Scale) => a.id !== "sgd" && a.id !== "sam" && epochsOf(a, scale) > epochsOf(arm("sam"), scale);

type Standing = "keeps" | "loses" | "unclear";
/** The rule: keeps = beats equal-time SGD (CI above 0) and not clearly worse than SAM (CI of A − SAM reaches 0); loses = not ahead of equal-time SGD, or clearly worse than SAM. */
export function standing(vsSgd: Measured, vsSam: Measured): Standing {
  const v = vsSgd.value;
  if (v === null || !Number.isFinite(v) || v <= 0 || (vsSam.hi !== null && vsSam.hi !== undefined && vsSam.hi < 0)) return "loses";
  if (vsSgd.lo !== null && vsSgd.lo !== undefined && vsSgd.lo > 0 && vsSam.hi !== null && vsSam.hi !== undefined && vsSam.hi >= 0) return "keeps";
  return "unclear";
}
const VERDICT_OF: Record<Standing, Verdict> = { keeps: "reproduced", loses: "not reproduced", unclear: "inconclusive" };

const meanOf = (r: Results, specs: RunSpec[], f: (x: ReturnType<Results["train"]>) => number | undefined) => {
  const xs = specs.map((s) => f(r.train(s))).filter((x): x is number => typeof x === "number" && Number.isFinite(x));
  return xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : NaN;
};
/** Measured training seconds of the runs that recorded them (compilation included). */
const trainSecondsPerRun = (r: Results, specs: RunSpec[]) => specs.map((s) => r.train(s).trainSeconds).filter((x): x is number => typeof x === "number");
/** Their mean (NaN when none recorded it: results stored before the field existed). */
const trainSecondsOf = (r: Results, specs: RunSpec[]) => meanCi(trainSecondsPerRun(r, specs), "").value ?? NaN;

function armNumbers(r: Results, scale: Scale) {
  const sgd = runsOf(arm("sgd"), scale);
  const sam = runsOf(arm("sam"), scale);
  return ARMS.filter((a) => a.id !== "sgd").map((a) => {
    const mine = runsOf(a, scale);
    const vsSgd = pairedDiff(r, mine, sgd, `${a.label} − SGD at equal time (${epochsOf(arm("sgd"), scale)} epochs), final test accuracy paired by seed`);
    const vsSam = pairedDiff(r, mine, sam, `${a.label} − SAM, final test accuracy paired by seed`);
    return { a, epochs: epochsOf(a, scale), vsSgd, vsSam, standing: a.id === "sam" ? null : standing(vsSgd, vsSam) };
  });
}

/** The experiment: equal training time, SGD with more epochs, SAM and its cheap variants (see the file header). */
export const samAtSgdPrice: Experiment = {
  id: "sam-at-sgd-price",
  claim: "At equal training time, a variant that costs less per step than SAM (LookSAM, SAM every k-th step, SAM only late, MSAM, SAF, MESA) keeps SAM's gain over SGD.",
  source: "000 (SAM's 2× cost); the SAM libraries' issue trackers; 002 §5.1 (SAM late)",
  setting: `The label-noise setting (Fashion-MNIST, 60% label noise, MLP, SGD lr 0.05 momentum 0.9, batch 128). The budget is SAM's training time at the setting's epochs; each arm runs the epochs whose cost (per-step costs measured with the trainer on this machine) is nearest it. Arms: SGD, SAM ρ ${RHO}, LookSAM (ρ ${RHO}, k 5), SAM ρ ${RHO} every 4th step, SAM ρ ${RHO} in the last 25% of the epochs, MSAM ρ 0.3, SAF, MESA (EMA decay 0.998), ESAM (ρ ${RHO}; costlier than SAM on this engine, reported, not counted as cheap).`,
  rule: "Final test accuracy, paired by seed, 95% t intervals. Per arm A: Δ = A − SGD at equal time, R = A − SAM. A keeps SAM's gain when Δ's CI lies above 0 and R's CI reaches 0 (upper bound ≥ 0: not clearly worse than SAM); A loses it when mean Δ ≤ 0 or R's CI lies below 0; unclear otherwise. If SAM does not beat SGD at equal time (the paired rule), inconclusive: there is no gain to keep. Otherwise reproduced when at least one cheap arm (cheaper per step than SAM: more epochs than SAM in the budget) keeps the gain; not reproduced when every cheap arm loses it; inconclusive otherwise. Each arm's standing is a sub-verdict (keeps: reproduced, loses: not reproduced). Supplementary, outside the verdict (added after the default run): each arm at SAM's epochs (its own, lower cost), by the same standing against SGD and SAM at those epochs.",
  scales: describeScales((s) => `equal time = SAM's ${SETTING[s].epochs} epochs; epochs: ${ARMS.map((a) => `${a.id} ${epochsOf(a, s)}`).join(", ")}`, SETTING),
  differences: "CPU scale: an MLP on Fashion-MNIST with 60% label noise instead of ResNets on CIFAR/ImageNet, where more epochs of SGD also memorize more noise, so SGD's extra epochs can hurt it. The costs are this engine's (wasm, one thread per run): ESAM's data selection saves nothing with static shapes, and host reads make every step's fixed cost larger than on a GPU. One hyperparameter setting per arm (the papers' or the code's defaults, ρ of the default comparison), no tuning.",
  specs(scale) {
    return [...ARMS.flatMap((a) => runsOf(a, scale)), ...sgdSameEpochs(scale), ...sameEpochArms(scale).flatMap((a) => runsAtSameEpochs(a, scale))];
  },
  judge(r, scale): Judgement {
    const rows = armNumbers(r, scale);
    const sam = rows.find((x) => x.a.id === "sam")!;
    const numbers: Judgement["numbers"] = { budget: { value: budget(scale), what: "the budget in SGD epochs (SAM's cost at the setting's epochs)" } };
    for (const x of rows) {
      numbers[`${x.a.id}MinusSgd`] = x.vsSgd;
      if (x.a.id !== "sam") numbers[`${x.a.id}MinusSam`] = x.vsSam;
    }
    const sgdEq = runsOf(arm("sgd"), scale);
    numbers.moreEpochsSgd = pairedDiff(r, sgdEq, sgdSameEpochs(scale), `SGD at equal time (${epochsOf(arm("sgd"), scale)} epochs) − SGD at ${SETTING[scale].epochs} epochs`);
    numbers.samSameEpochs = pairedDiff(r, runsOf(arm("sam"), scale), sgdSameEpochs(scale), `SAM − SGD at the same ${SETTING[scale].epochs} epochs`);
    const samSeconds = trainSecondsOf(r, runsOf(arm("sam"), scale));
    for (const a of ARMS) numbers[`${a.id}TrainSeconds`] = meanCi(trainSecondsPerRun(r, runsOf(a, scale)), `${a.label}: measured training seconds per run (${epochsOf(a, scale)} epochs; runs stored before the field existed left out)`);
    const cheapRows = rows.filter((x) => cheap(x.a, scale));
    const keeps = cheapRows.filter((x) => x.standing === "keeps");
    const g = betterVerdict(sam.vsSgd, "SAM", "SGD at equal time");
    let v: { verdict: Verdict; reason: string };
    if (g.verdict !== "reproduced") v = { verdict: "inconclusive", reason: `SAM does not clearly beat SGD at equal time (${showPts(sam.vsSgd)}): there is no gain to keep.` };
    else if (keeps.length) v = { verdict: "reproduced", reason: `SAM beats SGD at equal time by ${showPts(sam.vsSgd)}; ${keeps.map((x) => `${x.a.label} keeps it (− SGD ${showPts(x.vsSgd)}, − SAM ${showPts(x.vsSam)})`).join("; ")}.` };
    else if (cheapRows.every((x) => x.standing === "loses")) v = { verdict: "not reproduced", reason: `SAM beats SGD at equal time by ${showPts(sam.vsSgd)}, but every cheap arm loses it: ${cheapRows.map((x) => `${x.a.id} − SGD ${pts(x.vsSgd.value)}, − SAM ${pts(x.vsSam.value)}`).join("; ")} (points).` };
    else v = { verdict: "inconclusive", reason: `SAM beats SGD at equal time by ${showPts(sam.vsSgd)}; no cheap arm clearly keeps it, and ${cheapRows.filter((x) => x.standing === "unclear").map((x) => x.a.label).join(", ")} ${cheapRows.filter((x) => x.standing === "unclear").length > 1 ? "are" : "is"} unclear.` };
    const also: SubVerdict[] = [
      { claim: "SAM beats SGD at equal time (SGD runs more epochs)", ...g },
      { claim: `SAM beats SGD at the same ${SETTING[scale].epochs} epochs`, ...betterVerdict(numbers.samSameEpochs, "SAM", "SGD") },
      ...rows
        .filter((x) => x.standing !== null)
        .map((x) => ({
          claim: `${x.a.label} (${x.epochs} epochs) keeps SAM's gain at equal time${cheap(x.a, scale) ? "" : " (not cheaper than SAM per step)"}`,
          verdict: VERDICT_OF[x.standing!],
          reason: `− SGD ${showPts(x.vsSgd)}; − SAM ${showPts(x.vsSam)}; measured training time ${num(trainSecondsOf(r, runsOf(x.a, scale)) / samSeconds, 3)}× SAM's.`,
        })),
    ];
    const E = SETTING[scale].epochs;
    for (const a of sameEpochArms(scale)) {
      const mine = runsAtSameEpochs(a, scale);
      const vsSgd = pairedDiff(r, mine, sgdSameEpochs(scale), `${a.label} − SGD, both at ${E} epochs (supplementary)`);
      const vsSam = pairedDiff(r, mine, runsOf(arm("sam"), scale), `${a.label} − SAM, both at ${E} epochs (supplementary)`);
      numbers[`${a.id}SameEpochsMinusSgd`] = vsSgd;
      numbers[`${a.id}SameEpochsMinusSam`] = vsSam;
      const cost = a.cost(scale, E) / budget(scale);
      also.push({
        claim: `Supplementary, outside the verdict: ${a.label} at SAM's ${E} epochs (${num(cost, 3)}× SAM's time) keeps SAM's gain over SGD at ${E} epochs`,
        verdict: VERDICT_OF[standing(vsSgd, vsSam)],
        reason: `− SGD ${showPts(vsSgd)}; − SAM ${showPts(vsSam)} (same rule: CI of − SGD above 0 and CI of − SAM reaching 0).`,
      });
    }
    const summary = `SAM − equal-time SGD ${showPts(sam.vsSgd)}; ${rows
      .filter((x) => x.a.id !== "sam")
      .map((x) => `${x.a.id} ${pts(x.vsSgd.value)} (${x.standing})`)
      .join(", ")}`;
    return { ...v, summary, numbers, also };
  },
  async report(r, scale) {
    const rows = armNumbers(r, scale);
    const samSeconds = trainSecondsOf(r, runsOf(arm("sam"), scale));
    const sgdRow = (() => {
      const specs = runsOf(arm("sgd"), scale);
      return ["SGD", epochsOf(arm("sgd"), scale), num(arm("sgd").cost(scale, epochsOf(arm("sgd"), scale)) / budget(scale), 3), num(trainSecondsOf(r, specs), 3), num(trainSecondsOf(r, specs) / samSeconds, 3), num(100 * meanOf(r, specs, (x) => x.metrics.testAccuracy), 4), "–", "–", "baseline"];
    })();
    const body = rows.map((x) => {
      const specs = runsOf(x.a, scale);
      const secs = trainSecondsOf(r, specs);
      return [x.a.label, x.epochs, num(x.a.cost(scale, x.epochs) / budget(scale), 3), num(secs, 3), num(secs / samSeconds, 3), num(100 * meanOf(r, specs, (y) => y.metrics.testAccuracy), 4), showPts(x.vsSgd), x.a.id === "sam" ? "–" : showPts(x.vsSam), x.standing ?? "the reference"];
    });
    const points: Row[] = rows.map((x) => ({ arm: x.a.label, value: 100 * (x.vsSgd.value ?? NaN), lo: 100 * (x.vsSgd.lo ?? NaN), hi: 100 * (x.vsSgd.hi ?? NaN) }));
    const chart = intervalChart({ title: `Arm − SGD at equal time: final test accuracy, 95% CI over ${SETTING[scale].seeds.length} seeds`, x: { field: "arm", title: "arm" }, y: { title: "points" }, rows: points });
    const perRun: Row[] = ARMS.flatMap((a) => runsOf(a, scale).map((s) => ({ arm: a.label, seconds: r.train(s).trainSeconds ?? NaN, accuracy: 100 * r.train(s).metrics.testAccuracy })));
    const scatter = lineChart({ title: "Each run: measured training seconds and final test accuracy", x: { field: "seconds", title: "training seconds (steps only)" }, y: { field: "accuracy", title: "final test accuracy (%)" }, color: { field: "arm", title: "arm" }, lines: [], points: perRun });
    return `<p>Budget: ${num(budget(scale), 4)} SGD epochs (SAM's ${SETTING[scale].epochs}). "Cost / budget" is the planned share of the budget from the measured per-step costs (COST: ${Object.entries(COST)
      .map(([k, c]) => `${k} ${c}`)
      .join(", ")}); "training s" is the mean measured time inside the training steps per run (compilation included, evaluation excluded; measured while the experiment's other runs shared the cores), and its ratio to SAM's checks the premise.</p>
${table(["arm", "epochs", "cost / budget", "training s", "× SAM's time", "test acc. (%)", "− SGD (equal time)", "− SAM", "SAM's gain"], [sgdRow, ...body])}
${await vegaLiteToSvg(chart)}
${await vegaLiteToSvg(scatter)}
<h3>Supplementary, outside the verdict: every arm at SAM's ${SETTING[scale].epochs} epochs (its own, lower cost)</h3>
${table(
  ["arm", "planned × SAM's time", "training s", "test acc. (%)", `− SGD (${SETTING[scale].epochs} epochs)`, "− SAM"],
  sameEpochArms(scale).map((a) => {
    const specs = runsAtSameEpochs(a, scale);
    return [a.label, num(a.cost(scale, SETTING[scale].epochs) / budget(scale), 3), num(trainSecondsOf(r, specs), 3), num(100 * meanOf(r, specs, (y) => y.metrics.testAccuracy), 4), showPts(pairedDiff(r, specs, sgdSameEpochs(scale), "")), showPts(pairedDiff(r, specs, runsOf(arm("sam"), scale), ""))];
  }),
)}
${await trainingReport(r, this.specs(scale))}`;
  },
};
