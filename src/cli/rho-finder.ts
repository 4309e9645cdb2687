/**
 * `sharpness rho-finder`: is SAM worth it here, and with which ρ? Short runs over a log-spaced ρ
 * grid and of the base optimizer alone, seed-paired, on a validation split carved from the
 * training pool (`data.validationSize`, outside the training subset, same label noise), run on
 * the sweep pool (`--jobs`, `--queue`; resumable like any sweep). Then:
 *
 * - ρ* = the grid value with the best mean final validation accuracy (selection on validation
 *   only — the test set plays no part in it);
 * - the expected gain over the base optimizer at ρ*: the paired (by seed) difference in final
 *   TEST accuracy with a 95% t interval — unbiased by the selection, unlike the validation gain
 *   at ρ*, which is printed too and labelled as optimistic;
 * - the verdict, a rule fixed before any run: "worth it" when that test interval lies above 0,
 *   "it hurts" when below, otherwise "no clear gain";
 * - the sharpness of the base solution and of SAM's at ρ*: Hessian λ_max by power iteration on
 *   512 training points (sharpness/hessian.ts), per seed, from the runs' final checkpoints;
 * - rho-finder.json and rho-finder.html (accuracy against ρ, log scale, with the base optimizer's
 *   level), next to the sweep's own summary.json and report.html.
 *
 * Default setting: the default comparison's (README), SAM on its SGD, 1,000 validation images,
 * ρ ∈ 0.01 … 1 (7 points), seeds 0, 1, 2. Every train flag (or --spec FILE) changes the setting.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { tree } from "@jax-js/jax";
import { fillSpec, runKey, SpecError, type RunSpec } from "../train/spec.js";
import { ALGORITHMS } from "../train/registry.js";
import { DEFAULT_COMPARISON } from "../train/default-comparison.js";
import { readValidResult, runDir, writeFileAtomic } from "../sweep/store.js";
import type { RunMetrics } from "../train/result.js";
import { loadRun, trainingPoints } from "../sharpness/from-checkpoint.js";
import { topEigenvalue } from "../sharpness/hessian.js";
import { ci95, mean } from "../report/stats.js";
import { REPORT_CSS, esc, pct, vegaLiteToSvg } from "../report/html.js";
import { pts } from "../experiments/training.js";
import { lineChart, table, type Row } from "../experiments/charts.js";
// run.js before sweep.js: sweep.js and run.js import each other, and run.js must start first.
import { loadData, oneLine, readJsonFile, startEngine } from "./run.js";
import { UsageError, helpText, parseFlags, type FlagSpec } from "./args.js";
import { applyFlags, flagMessage, specFlags } from "./spec-flags.js";
import { checkRunFlags, runSweepCommand, DRY_RUN_FLAG, SWEEP_RUN_FLAGS } from "./sweep.js";
import { checkPathText, showPath } from "./out-dir.js";
import { MAX_SWEEP_RUNS } from "../sweep/grid.js";

export const FLAGS: Record<string, FlagSpec> = {
  spec: { kind: "string", help: "a run spec (JSON file) as the setting; flags override its fields (default: the default comparison's setting with SAM)" },
  ...specFlags(),
  rhos: { kind: "list", help: "the ρ grid (default 7 log-spaced values 0.01 … 1)" },
  seeds: { kind: "list", help: "seeds, paired between SAM and the base optimizer (default 0,1,2)" },
  out: { kind: "string", help: "output directory (default runs/rho-finder)" },
  ...SWEEP_RUN_FLAGS,
  ...DRY_RUN_FLAG,
  device: { kind: "string", choices: ["auto", "wasm", "webgpu", "cpu"], help: "jax-js device of the runs (default auto)" },
  help: { kind: "bool", help: "show this help" },
};

/** `points` values from lo to hi, evenly spaced in log, rounded to 3 significant digits. */
export function logGrid(lo: number, hi: number, points: number): number[] {
  return Array.from({ length: points }, (_, i) => Number((lo * (hi / lo) ** (i / Math.max(1, points - 1))).toPrecision(3)));
}

export const DEFAULT_RHOS = logGrid(0.01, 1, 7);

type Paired = { n: number; mean: number; ci: number };
export type RhoRow = { rho: number; validation: number; test: number; validationGain: Paired; testGain: Paired };
export type RhoFinderResult = {
  format: "sharpness-aware-rho-finder/1";
  setting: RunSpec;
  optimizer: string;
  baseOptimizer: string;
  seeds: number[];
  rhos: number[];
  base: { validation: number; test: number };
  rows: RhoRow[];
  best: RhoRow | null;
  verdict: "worth it" | "it hurts" | "no clear gain" | "incomplete";
  sharpness: { base: number[]; best: number[] } | null;
  seconds: number;
};

/** Paired differences a − b over the seeds both have. */
function paired(a: Map<number, number>, b: Map<number, number>): Paired {
  const d = [...a].filter(([s]) => b.has(s)).map(([s, v]) => v - b.get(s)!);
  return { n: d.length, mean: d.length ? mean(d) : NaN, ci: ci95(d) };
}

/** "+11.02 [+0.21, +21.83]" (points; one seed: no interval). */
const interval = (p: Paired) => (p.n > 1 ? `${pts(p.mean)} [${pts(p.mean - p.ci)}, ${pts(p.mean + p.ci)}]` : p.n === 1 ? pts(p.mean) : "–");

/** The verdict rule (fixed before any run): the test gain's 95% interval above 0, below 0, or neither. */
export function rhoVerdict(gain: Paired | null): RhoFinderResult["verdict"] {
  if (!gain || gain.n < 2 || !Number.isFinite(gain.ci)) return "incomplete";
  if (gain.mean - gain.ci > 0) return "worth it";
  if (gain.mean + gain.ci < 0) return "it hurts";
  return "no clear gain";
}

function parseNumbers(what: string, xs: string[] | undefined, check: (v: number) => boolean, allowed: string): number[] | undefined {
  if (xs === undefined) return undefined;
  const out = xs.map((s) => {
    const v = Number(s);
    if (s.trim() === "" || !check(v)) throw new UsageError(`--${what} must list ${allowed} (got ${JSON.stringify(oneLine(s, 60))})`);
    return v;
  });
  if (out.length === 0) throw new UsageError(`--${what} must list at least one value`);
  return [...new Set(out)].sort((a, b) => a - b);
}

export type RhoFinderPlan =
  | { kind: "help" }
  | { kind: "rho-finder"; setting: RunSpec; rhos: number[]; seeds: number[]; specs: RunSpec[]; baseSpec: (seed: number) => RunSpec; samSpec: (seed: number, rho: number) => RunSpec; outGiven: string; out: string; flags: Record<string, unknown> };

/** Parse and check `sharpness rho-finder` arguments and build every run's spec; writes nothing. */
export function planRhoFinder(argv: string[]): RhoFinderPlan {
  const f = parseFlags(argv, FLAGS, "rho-finder");
  if (f.help) return { kind: "help" };
  const rhos = parseNumbers("rhos", f.rhos as string[] | undefined, (v) => Number.isFinite(v) && v > 0, "numbers > 0") ?? DEFAULT_RHOS;
  const seeds = parseNumbers("seeds", f.seeds as string[] | undefined, (v) => Number.isInteger(v) && v >= 0, "integers ≥ 0") ?? [0, 1, 2];
  if (f.rho !== undefined) throw new UsageError("rho-finder: the grid is --rhos a,b,… (not --rho)");
  if (seeds.length * (rhos.length + 1) > MAX_SWEEP_RUNS) throw new UsageError(`rho-finder: ${seeds.length} seeds × (${rhos.length} values of ρ + the base optimizer) is ${seeds.length * (rhos.length + 1)} runs; at most ${MAX_SWEEP_RUNS}`);
  checkRunFlags(f);

  // The setting: --spec FILE or the default comparison's with SAM; validation 1,000 unless given.
  let preset: Record<string, any>;
  if (f.spec !== undefined) {
    const raw = readJsonFile(resolve(String(f.spec)), "--spec");
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new UsageError(`--spec ${showPath(String(f.spec))}: a run spec must be a JSON object`);
    preset = raw as Record<string, any>;
  } else preset = { ...DEFAULT_COMPARISON.spec, optimizer: { name: "sam", base: DEFAULT_COMPARISON.spec.optimizer.base } };
  let setting: RunSpec;
  try {
    const s = applyFlags(preset, f);
    if (!s.data?.validationSize) s.data = { ...s.data, validationSize: 1000 };
    setting = fillSpec(s);
  } catch (e) {
    if (e instanceof SpecError) throw new UsageError(flagMessage(e));
    throw e;
  }
  const name = setting.optimizer.name;
  if (!("rho" in ALGORITHMS[name].params)) throw new UsageError(`rho-finder: optimizer ${name} has no ρ (use one of ${Object.values(ALGORITHMS).filter((e) => "rho" in e.params).map((e) => e.name).join(", ")})`);
  const baseOpt = { name: "sgd", base: setting.optimizer.base };
  const baseSpec = (seed: number) => fillSpec({ ...setting, seed, optimizer: baseOpt });
  const samSpec = (seed: number, rho: number) => {
    try {
      return fillSpec({ ...setting, seed, optimizer: { ...setting.optimizer, rho } });
    } catch (e) {
      if (e instanceof SpecError) throw new UsageError(`rho-finder: ρ ${rho}: ${flagMessage(e)}`);
      throw e;
    }
  };
  const specs: RunSpec[] = [];
  for (const seed of seeds) {
    try {
      specs.push(baseSpec(seed));
    } catch (e) {
      if (e instanceof SpecError) throw new UsageError(`rho-finder: seed ${seed}: ${flagMessage(e)}`);
      throw e;
    }
    for (const rho of rhos) specs.push(samSpec(seed, rho));
  }
  const outGiven = f.out === undefined ? "runs/rho-finder" : String(f.out);
  return { kind: "rho-finder", setting, rhos, seeds, specs, baseSpec, samSpec, outGiven, out: checkPathText(outGiven, "--out"), flags: f };
}

export async function rhoFinderCommand(argv: string[]): Promise<number> {
  const plan = planRhoFinder(argv);
  if (plan.kind === "help") {
    process.stdout.write(
      helpText(
        "Usage: sharpness rho-finder [--spec FILE] [flags] [--rhos a,b,…] [--seeds 0,1,2] [--out DIR] [--jobs N]",
        "Is SAM worth it here, and with which ρ? Runs the base optimizer and SAM (or --optimizer) over a\nlog-spaced ρ grid, seed-paired, picks ρ on a validation split carved from the training pool\n(--validation-size, default 1000), and reports the test-accuracy gain at that ρ with a 95% CI, the\nHessian λ_max of the base and SAM solutions, and a plot (rho-finder.html). Resumable.",
        FLAGS,
      ),
    );
    return 0;
  }
  const { setting, rhos, seeds, specs, baseSpec, samSpec, out, flags: f } = plan;
  const name = setting.optimizer.name;
  const label = ALGORITHMS[name].label;
  process.stdout.write(`rho-finder: ${label} at ρ ∈ {${rhos.join(", ")}} and the base optimizer alone, seeds ${seeds.join(", ")}: ${specs.length} runs into ${out}\n`);
  const t0 = Date.now();
  const code = await runSweepCommand(specs, plan.outGiven, f, { title: `rho-finder: ${label} over ρ`, definition: { rhoFinder: { setting, rhos, seeds } } });
  if (code === 130 || f["dry-run"]) return code;

  // Collect what finished.
  const metric = (s: RunSpec) => readValidResult(out, runKey(s))?.metrics as RunMetrics | undefined;
  const baseVal = new Map<number, number>();
  const baseTest = new Map<number, number>();
  for (const seed of seeds) {
    const m = metric(baseSpec(seed));
    if (m?.validationAccuracy !== undefined) {
      baseVal.set(seed, m.validationAccuracy);
      baseTest.set(seed, m.testAccuracy);
    }
  }
  const rows: RhoRow[] = rhos.map((rho) => {
    const val = new Map<number, number>();
    const test = new Map<number, number>();
    for (const seed of seeds) {
      const m = metric(samSpec(seed, rho));
      if (m?.validationAccuracy !== undefined) {
        val.set(seed, m.validationAccuracy);
        test.set(seed, m.testAccuracy);
      }
    }
    return { rho, validation: val.size ? mean([...val.values()]) : NaN, test: test.size ? mean([...test.values()]) : NaN, validationGain: paired(val, baseVal), testGain: paired(test, baseTest) };
  });
  const complete = rows.filter((r) => Number.isFinite(r.validation));
  const best = complete.length ? complete.reduce((a, b) => (b.validation > a.validation ? b : a)) : null;
  const verdict = rhoVerdict(best?.testGain ?? null);

  // Sharpness of the base and SAM(ρ*) solutions: λ_max on 512 training points, per seed.
  let sharpness: RhoFinderResult["sharpness"] = null;
  if (best) {
    await startEngine((f.device as string | undefined) ?? "auto");
    const data = loadData(setting.data.name);
    const lambda = async (s: RunSpec): Promise<number | null> => {
      const dir = runDir(out, runKey(s));
      if (!existsSync(join(dir, "checkpoints"))) return null;
      const run = loadRun(dir, data);
      const pts = trainingPoints(run, 512, 0);
      try {
        return (await topEigenvalue(run.loss, run.params, pts, { iterations: 30, seed: 0 })).lambdaMax;
      } finally {
        tree.dispose([run.params, run.modelState, pts] as never);
      }
    };
    const baseL: number[] = [];
    const bestL: number[] = [];
    for (const seed of seeds) {
      const a = await lambda(baseSpec(seed));
      const b = await lambda(samSpec(seed, best.rho));
      if (a !== null) baseL.push(a);
      if (b !== null) bestL.push(b);
    }
    sharpness = { base: baseL, best: bestL };
  }
  const result: RhoFinderResult = {
    format: "sharpness-aware-rho-finder/1",
    setting,
    optimizer: name,
    baseOptimizer: setting.optimizer.base.name,
    seeds,
    rhos,
    base: { validation: baseVal.size ? mean([...baseVal.values()]) : NaN, test: baseTest.size ? mean([...baseTest.values()]) : NaN },
    rows,
    best,
    verdict,
    sharpness,
    seconds: (Date.now() - t0) / 1000,
  };
  writeFileAtomic(join(out, "rho-finder.json"), JSON.stringify(result, null, 1) + "\n");
  writeFileAtomic(join(out, "rho-finder.html"), await page(result, label));

  // The terminal summary.
  const p = pct;
  const lines = [
    "",
    `${"ρ".padStart(7)}  ${"validation".padStart(10)}  ${"Δ validation vs base (points)".padEnd(30)}  ${"test".padStart(7)}  Δ test vs base (points)`,
    `${"base".padStart(7)}  ${p(result.base.validation).padStart(10)}  ${"".padEnd(30)}  ${p(result.base.test).padStart(7)}`,
    ...rows.map((r) => `${String(r.rho).padStart(7)}  ${p(r.validation).padStart(10)}  ${interval(r.validationGain).padEnd(30)}  ${p(r.test).padStart(7)}  ${interval(r.testGain)}${r === best ? "   ← ρ* (best validation)" : ""}`),
    "",
  ];
  if (best) {
    lines.push(`ρ* = ${best.rho}: expected gain over ${result.baseOptimizer} on test ${interval(best.testGain)} points (95% CI, ${best.testGain.n} paired seeds; selection used validation only). On validation ${interval(best.validationGain)} (optimistic: ρ* was chosen there).`);
    lines.push(`verdict: ${verdict}${verdict === "worth it" ? ` — use ${label} with ρ ${best.rho}` : verdict === "it hurts" ? ` — even the best ρ loses to ${result.baseOptimizer}` : verdict === "no clear gain" ? " — the interval contains 0" : ""}`);
  } else lines.push("no ρ finished (see the sweep report)");
  if (sharpness && sharpness.base.length) {
    const fmt = (xs: number[]) => (xs.length ? `${mean(xs).toPrecision(3)}${xs.length > 1 ? ` ± ${ci95(xs).toPrecision(2)}` : ""}` : "–");
    lines.push(`Hessian λ_max (512 training points): base solution ${fmt(sharpness.base)}; ${label} ρ* ${fmt(sharpness.best)}`);
  }
  lines.push(`wrote ${join(out, "rho-finder.json")} and ${join(out, "rho-finder.html")} (${result.seconds.toFixed(0)} s)`);
  process.stdout.write(lines.join("\n") + "\n");
  return code;
}

async function page(r: RhoFinderResult, label: string): Promise<string> {
  const lines: Row[] = [];
  for (const row of r.rows) {
    if (Number.isFinite(row.validation)) lines.push({ rho: row.rho, accuracy: row.validation, series: `${label} (validation)` });
    if (Number.isFinite(row.test)) lines.push({ rho: row.rho, accuracy: row.test, series: `${label} (test)` });
  }
  const [lo, hi] = [Math.min(...r.rhos), Math.max(...r.rhos)];
  for (const [what, v] of [["validation", r.base.validation], ["test", r.base.test]] as const) {
    if (Number.isFinite(v)) for (const rho of [lo, hi]) lines.push({ rho, accuracy: v, series: `${r.baseOptimizer} alone (${what})` });
  }
  const chart = await vegaLiteToSvg(
    lineChart({
      title: `Final accuracy against ρ (mean of ${r.seeds.length} seeds)`,
      x: { field: "rho", title: "ρ", log: true },
      y: { field: "accuracy", title: "accuracy" },
      color: { field: "series", title: "" },
      lines,
      vrules: r.best ? [r.best.rho] : [],
    }),
  );
  const pc = pct;
  const rows = r.rows.map((x) => [x.rho, pc(x.validation), interval(x.validationGain), pc(x.test), interval(x.testGain)]);
  return `<!doctype html><meta charset="utf-8"><title>rho-finder</title><style>${REPORT_CSS}</style>
<h1>rho-finder: ${esc(label)} over ρ</h1>
<p><b>Verdict: ${esc(r.verdict)}.</b> ${r.best ? `ρ* = ${r.best.rho} (best mean validation accuracy); expected gain over ${esc(r.baseOptimizer)} on test ${esc(interval(r.best.testGain))} points (95% CI over ${r.best.testGain.n} paired seeds; the test set played no part in choosing ρ*). The rule, fixed before the runs: worth it when that interval lies above 0, it hurts when below, otherwise no clear gain.` : "No ρ finished."}</p>
${chart}
${table(["ρ", "validation", "Δ validation (points, 95% CI)", "test", "Δ test (points, 95% CI)"], [["base", pc(r.base.validation), "", pc(r.base.test), ""], ...rows])}
${r.sharpness ? `<p>Hessian λ_max on 512 training points, per seed: base ${esc(r.sharpness.base.map((x) => x.toPrecision(3)).join(", ") || "–")}; ${esc(label)} at ρ* ${esc(r.sharpness.best.map((x) => x.toPrecision(3)).join(", ") || "–")}.</p>` : ""}
<p>Setting: <code>${esc(JSON.stringify(r.setting))}</code> with seeds ${r.seeds.join(", ")}; ${r.seconds.toFixed(0)} s. Runs and the sweep report are in this directory (report.html).</p>
`;
}

export { FLAGS as RHO_FINDER_FLAGS };
