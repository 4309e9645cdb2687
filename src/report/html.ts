/**
 * Shared pieces of the HTML reports: escaping and number formats, the stylesheet, Vega-Lite
 * compiled and rendered to SVG (no browser needed), and the paired-by-seed comparison with its
 * verdict wording. The sweep report itself is sweep-report.ts. No `node:` imports.
 */
import * as vega from "vega";
import * as vl from "vega-lite";
import { ci95, mean } from "./stats.js";

/** Escape text for HTML element content and double-quoted attributes. */
export const esc = (s: unknown): string => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/** A fraction as a percentage with two decimals; "–" for missing or NaN. */
export const pct = (x: number | null | undefined): string => (x === null || x === undefined || Number.isNaN(x) ? "–" : `${(100 * x).toFixed(2)}%`);

/** The reports' stylesheet (inlined so a report is one self-contained file). */
export const REPORT_CSS = `body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.8em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}.plots{display:flex;flex-wrap:wrap;gap:1em}
.verdict{background:#f6f8fa;border-left:4px solid #888;padding:.6em 1em}pre{background:#f6f8fa;padding:1em;overflow:auto;font-size:12px}
td.text{text-align:left;max-width:40em;overflow-wrap:anywhere}`;

/**
 * Render a Vega-Lite spec to an SVG string (vega-lite compiles it, vega renders it headless; no
 * browser needed).
 *
 * @example
 * ```ts
 * const svg = await vegaLiteToSvg({ mark: "line", data: { values: [{ x: 0, y: 1 }, { x: 1, y: 0.5 }] }, encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } } });
 * ```
 */
export async function vegaLiteToSvg(spec: Record<string, unknown>): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec as never).spec), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** Paired (same seed) differences of final and best-epoch test accuracy; CIs are NaN below 2 pairs. */
export type PairedStats = { n: number; wins: number; meanDiff: number; ci: number; bestMeanDiff: number; bestCi: number };

/** Statistics of paired runs: `[subject, baseline]` per seed. */
export function pairedStats(pairs: ReadonlyArray<readonly [{ testAccuracy: number; bestTestAccuracy: number }, { testAccuracy: number; bestTestAccuracy: number }]>): PairedStats {
  const d = pairs.map(([r, b]) => r.testAccuracy - b.testAccuracy);
  const db = pairs.map(([r, b]) => r.bestTestAccuracy - b.bestTestAccuracy);
  return { n: pairs.length, wins: d.filter((x) => x > 0).length, meanDiff: mean(d), ci: ci95(d), bestMeanDiff: mean(db), bestCi: ci95(db) };
}

const points = (x: number) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(2)} points`;

/** "SAM ρ=0.1 vs SGD, final test accuracy: +9.48 points (95% CI ±12.21; higher in 3/3 seeds) — better (CI excludes 0)". */
export function verdictLine(subject: string, baseline: string, c: PairedStats): string {
  const ci = Number.isNaN(c.ci) ? "one seed, no interval" : `95% CI ±${(100 * c.ci).toFixed(2)}`;
  let word: string;
  if (Number.isNaN(c.ci)) word = c.meanDiff > 0 ? "better (one seed: suggestive only)" : "not better";
  else word = c.meanDiff - c.ci > 0 ? "better (CI excludes 0)" : c.meanDiff + c.ci < 0 ? "worse (CI excludes 0)" : "no significant difference";
  return `${subject} vs ${baseline}, final test accuracy: ${points(c.meanDiff)} (${ci}; higher in ${c.wins}/${c.n} seeds) — ${word}`;
}

/** The best-epoch companion of `verdictLine` (early stopping on the test set is optimistic, hence no verdict word). */
export function bestEpochLine(subject: string, baseline: string, c: PairedStats): string {
  return `${subject} vs ${baseline}, best-epoch test accuracy (early stopping on the test set, optimistic): ${points(c.bestMeanDiff)}${Number.isNaN(c.bestCi) ? "" : ` (95% CI ±${(100 * c.bestCi).toFixed(2)})`}`;
}

/** The least a run needs for `pairedDifferences`. */
export type PairedRun = { optimizer: string; seed: number; testAccuracy: number; bestTestAccuracy: number };

export type OptimizerComparison = PairedStats & { optimizer: string };

/** Paired (same seed) differences of each optimizer's final and best test accuracy against `baseline`. */
export function pairedDifferences(results: PairedRun[], baseline = "sgd"): OptimizerComparison[] {
  const base = new Map(results.filter((r) => r.optimizer === baseline).map((r) => [r.seed, r]));
  const names = [...new Set(results.map((r) => r.optimizer))].filter((l) => l !== baseline);
  return names.flatMap((name) => {
    const pairs = results.filter((r) => r.optimizer === name && base.has(r.seed)).map((r) => [r, base.get(r.seed)!] as const);
    return pairs.length === 0 ? [] : [{ optimizer: name, ...pairedStats(pairs) }];
  });
}
