/**
 * The comparison report: one self-contained HTML file with learning curves as inline SVG
 * (Vega-Lite compiled and rendered to SVG in Node), a results table, the aggregate per
 * optimizer with 95% confidence intervals over seeds, the verdict on the claim tested, and the
 * exact configuration.
 */
import { writeFileSync } from "node:fs";
import * as vega from "vega";
import * as vl from "vega-lite";
import type { RunSummary } from "../train/compare.js";
import { ci95, mean } from "./stats.js";

export type ComparisonSummary = {
  config: Record<string, unknown>;
  claim: { id: string; text: string; source: string; setting: string };
  results: RunSummary[];
  totalSeconds: number;
};

const esc = (s: unknown) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
const pct = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? "–" : `${(100 * x).toFixed(2)}%`);

/** Render a Vega-Lite spec to an SVG string. */
export async function vegaLiteToSvg(spec: Record<string, unknown>): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec as never).spec), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

function curveSpec(rows: Record<string, unknown>[], field: string, title: string, axis: string, percent: boolean): Record<string, unknown> {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: 420,
    height: 240,
    data: { values: rows },
    mark: { type: "line", point: rows.length < 200 },
    encoding: {
      x: { field: "epoch", type: "quantitative", title: "epoch" },
      y: { field, type: "quantitative", title: axis, axis: percent ? { format: ".0%" } : {}, scale: { zero: false } },
      color: { field: "optimizer", type: "nominal", title: "optimizer" },
      detail: { field: "seed", type: "nominal" },
    },
  };
}

export type Comparison = { optimizer: string; n: number; wins: number; meanDiff: number; ci: number; bestMeanDiff: number; bestCi: number };

/** Paired (same seed) differences of each optimizer's final and best test accuracy against `baseline`. */
export function pairedDifferences(results: RunSummary[], baseline = "sgd"): Comparison[] {
  const base = new Map(results.filter((r) => r.optimizer === baseline).map((r) => [r.seed, r]));
  const labels = [...new Set(results.map((r) => r.optimizer))].filter((l) => l !== baseline);
  return labels.flatMap((label) => {
    const pairs = results.filter((r) => r.optimizer === label && base.has(r.seed)).map((r) => [r, base.get(r.seed)!] as const);
    if (pairs.length === 0) return [];
    const d = pairs.map(([r, b]) => r.testAccuracy - b.testAccuracy);
    const db = pairs.map(([r, b]) => r.bestTestAccuracy - b.bestTestAccuracy);
    return [{ optimizer: label, n: pairs.length, wins: d.filter((x) => x > 0).length, meanDiff: mean(d), ci: ci95(d), bestMeanDiff: mean(db), bestCi: ci95(db) }];
  });
}

function verdictLine(c: Comparison): string {
  const diff = `${(100 * c.meanDiff).toFixed(2)} points`;
  const ci = Number.isNaN(c.ci) ? "one seed, no interval" : `95% CI ±${(100 * c.ci).toFixed(2)}`;
  let word: string;
  if (Number.isNaN(c.ci)) word = c.meanDiff > 0 ? "better (one seed: suggestive only)" : "not better";
  else word = c.meanDiff - c.ci > 0 ? "better (CI excludes 0)" : c.meanDiff + c.ci < 0 ? "worse (CI excludes 0)" : "no significant difference";
  return `${c.optimizer} vs sgd, final test accuracy: ${c.meanDiff >= 0 ? "+" : ""}${diff} (${ci}; higher in ${c.wins}/${c.n} seeds) — ${word}`;
}

/** Write the report; returns a short plain-text verdict for the terminal. */
export async function writeReport(path: string, s: ComparisonSummary): Promise<string> {
  const rows = s.results.flatMap((r) =>
    r.history.map((h) => ({ optimizer: r.optimizer, seed: r.seed, epoch: h.epoch, testAccuracy: h.testAccuracy, trainLoss: h.trainLoss, noisyTrainAccuracy: h.noisyTrainAccuracy })),
  );
  const plots = [
    await vegaLiteToSvg(curveSpec(rows, "testAccuracy", "test accuracy", "accuracy", true)),
    await vegaLiteToSvg(curveSpec(rows, "trainLoss", "training loss (clean pass, given labels)", "loss", false)),
  ];
  if (rows.some((r) => r.noisyTrainAccuracy !== null)) plots.push(await vegaLiteToSvg(curveSpec(rows, "noisyTrainAccuracy", "noisy labels fitted (train acc. on the noisy subset)", "fitted", true)));

  const comparisons = pairedDifferences(s.results);
  const verdicts = comparisons.map(verdictLine);
  const labels = [...new Set(s.results.map((r) => r.optimizer))];
  const agg = labels.map((l) => {
    const rs = s.results.filter((r) => r.optimizer === l);
    const f = (g: (r: RunSummary) => number) => rs.map(g);
    return { l, n: rs.length, final: f((r) => r.testAccuracy), best: f((r) => r.bestTestAccuracy), noisy: f((r) => r.noisyTrainAccuracy ?? NaN), secs: f((r) => r.seconds) };
  });
  const pm = (xs: number[]) => (xs.length > 1 ? `${pct(mean(xs))} ± ${(100 * ci95(xs)).toFixed(2)}` : pct(xs[0]));

  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sharpness-aware: ${esc(s.claim.id)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.8em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}.plots{display:flex;flex-wrap:wrap;gap:1em}
.verdict{background:#f6f8fa;border-left:4px solid #888;padding:.6em 1em}pre{background:#f6f8fa;padding:1em;overflow:auto;font-size:12px}
</style></head><body>
<h1>sharpness-aware — optimizer comparison</h1>
<p><b>Claim tested.</b> ${esc(s.claim.text)}<br><small>Source: ${esc(s.claim.source)}</small></p>
<p><b>Setting.</b> ${esc(s.claim.setting)}</p>
<div class="verdict"><b>What came out</b> (paired by seed; final = last epoch, no early stopping):<ul>
${verdicts.map((v) => `<li>${esc(v)}</li>`).join("\n")}
${comparisons.map((c) => `<li>${esc(c.optimizer)} vs sgd, best-epoch test accuracy (early stopping on the test set, optimistic): ${c.bestMeanDiff >= 0 ? "+" : ""}${(100 * c.bestMeanDiff).toFixed(2)} points${Number.isNaN(c.bestCi) ? "" : ` (95% CI ±${(100 * c.bestCi).toFixed(2)})`}</li>`).join("\n")}
</ul></div>
<h2>Learning curves</h2>
<div class="plots">${plots.join("\n")}</div>
<h2>Aggregate over seeds (mean ± 95% CI)</h2>
<table><tr><th>optimizer</th><th>seeds</th><th>final test acc.</th><th>best test acc.</th><th>noisy labels fitted</th><th>seconds / run</th></tr>
${agg.map((a) => `<tr><td>${esc(a.l)}</td><td>${a.n}</td><td>${pm(a.final)}</td><td>${pm(a.best)}</td><td>${pm(a.noisy)}</td><td>${mean(a.secs).toFixed(1)}</td></tr>`).join("\n")}
</table>
<h2>Runs</h2>
<table><tr><th>optimizer</th><th>seed</th><th>ρ</th><th>final test acc.</th><th>best (epoch)</th><th>test loss</th><th>train acc. (given labels)</th><th>noisy fitted</th><th>epochs</th><th>seconds</th></tr>
${s.results.map((r) => `<tr><td>${esc(r.optimizer)}</td><td>${r.seed}</td><td>${r.rho}</td><td>${pct(r.testAccuracy)}</td><td>${pct(r.bestTestAccuracy)} (${r.bestEpoch})</td><td>${r.testLoss.toFixed(4)}</td><td>${pct(r.trainAccuracy)}</td><td>${pct(r.noisyTrainAccuracy)}</td><td>${r.epochs}${r.skippedSteps ? ` (${r.skippedSteps} steps skipped: NaN/Inf)` : ""}</td><td>${r.seconds.toFixed(1)}</td></tr>`).join("\n")}
</table>
<h2>Configuration</h2>
<pre>${esc(JSON.stringify(s.config, null, 2))}</pre>
<p><small>Total wall time ${s.totalSeconds.toFixed(0)} s. Generated by sharpness-aware.</small></p>
</body></html>
`;
  writeFileSync(path, html);
  return verdicts.join("\n");
}
