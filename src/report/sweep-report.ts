/**
 * The sweep report: whatever results a sweep directory holds (a partial sweep included) grouped
 * into runs that differ only in their seed, each group's mean and 95% CI over seeds, paired
 * (same seed) comparisons against the matching SGD group, and one self-contained HTML file —
 * learning curves as the mean over seeds with a 95% CI band, test accuracy against every numeric
 * field the sweep varies, tables of groups, runs and failures, and the specs.
 *
 * `summarizeRuns` and `renderSweepHtml` are pure; `writeSweepReport` reads and writes a sweep
 * directory and is Node-only (through sweep/store.ts).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isDiverged, type RunResult } from "../train/result.js";
import { canonicalJson, getPath, isObject, type RunSpec } from "../train/spec.js";
import { sha256Hex } from "../train/sha256.js";
import { listRuns, writeFileAtomic, type FailureRecord } from "../sweep/store.js";
import { isTaskSpec, isTrainResult } from "../experiments/tasks.js";
import { REPORT_CSS, bestEpochLine, esc, pairedStats, pct, vegaLiteToSvg, verdictLine } from "./html.js";
import { ci95, mean } from "./stats.js";

export const SUMMARY_FORMAT = "sharpness-aware-summary/1";

/** The claim a sweep tests, shown at the top of the report. */
export type Claim = {
  /** A short id ("label-noise"). */
  id: string;
  /** The claim, one sentence. */
  text: string;
  /** Where it comes from (paper, figure). */
  source: string;
  /** The setting it is tested in, one line. */
  setting: string;
};

/**
 * Options of {@link writeSweepReport} and {@link summarizeRuns}.
 *
 * @example
 * ```ts
 * await writeSweepReport("runs/rho", { title: "ρ sweep", claim: CLAIM, extra: { totalSeconds: 620 } } satisfies ReportOptions);
 * ```
 */
export type ReportOptions = {
  /** The report's heading (default "sharpness-aware — sweep report"). */
  title?: string;
  /** The claim the sweep tests, shown at the top (and kept in summary.json). */
  claim?: Claim;
  /** Copied into summary.json as-is (e.g. totalSeconds, the sweep file); must not reuse a summary field's name. */
  extra?: Record<string, unknown>;
};

/** The per-group statistics, in this order in tables and summary.json. */
export const GROUP_METRICS = ["testAccuracy", "bestTestAccuracy", "testLoss", "trainLoss", "trainAccuracy", "noisyTrainAccuracy", "skippedSteps", "seconds"] as const;
/**
 * One of the per-group metrics of GROUP_METRICS ("testAccuracy", …).
 *
 * @inline
 */
export type GroupMetric = (typeof GROUP_METRICS)[number];

/**
 * Mean and 95% CI half-width over a group's seeds (null: no value / fewer than 2 values); `values` in seed order, null and non-finite ones left out.
 *
 * @inline
 */
export type MetricStats = { mean: number | null; ci95: number | null; values: number[] };

/**
 * A run spec without its seed: what the runs of a group share.
 *
 * @inline
 */
export type SeedlessSpec = Omit<RunSpec, "seed">;

/**
 * Runs whose specs are equal except for the seed.
 *
 * @inline
 */
export type GroupSummary = {
  /** First 12 hex digits of SHA-256 of the seedless spec's canonical JSON. */
  id: string;
  /** The runs' label, made unique among the groups by appending `path=value` of the fields that tell them apart. */
  label: string;
  /** The algorithm's name ("sam"). */
  optimizer: string;
  /** The spec the runs share (without the seed). */
  spec: SeedlessSpec;
  /** The seeds, in order. */
  seeds: number[];
  /** Run keys, in seed order. */
  keys: string[];
  /** Runs in the group. */
  n: number;
  /** Mean and 95% CI over the seeds, per metric. */
  metrics: Record<GroupMetric, MetricStats>;
};

/**
 * A group against its SGD baseline, paired by seed (accuracy differences as fractions).
 *
 * @inline
 */
export type Comparison = {
  /** The group's id. */
  group: string;
  /** The group's label. */
  label: string;
  /** The SGD baseline group's id. */
  baseline: string;
  /** The baseline's label. */
  baselineLabel: string;
  /** The seeds both groups have. */
  seeds: number[];
  /** Pairs (seeds both groups have). */
  n: number;
  /** Seeds where the group's final test accuracy is higher. */
  wins: number;
  /** Mean paired difference of final test accuracy (fraction). */
  meanDiff: number;
  /** Its 95% t half-width (null below 2 pairs). */
  ci: number | null;
  /** Mean paired difference of best-epoch test accuracy. */
  bestMeanDiff: number;
  /** Its 95% t half-width (null below 2 pairs). */
  bestCi: number | null;
  /** The verdict line on final test accuracy, and its best-epoch companion. */
  verdict: string;
  /** The verdict line on best-epoch test accuracy. */
  bestVerdict: string;
};

/**
 * What summary.json holds (schema/summary.schema.json): the groups of runs that differ only in
 * the seed with their statistics, the paired comparisons against SGD, every result, the failed
 * runs, and what varies between groups; plus `ReportOptions.extra`'s fields.
 *
 * @example
 * ```ts
 * const { summary } = await writeSweepReport("runs/cmp");
 * for (const g of summary.groups) console.log(g.label, g.metrics.testAccuracy.mean, g.metrics.testAccuracy.ci95);
 * ```
 */
export type Summary = {
  /** Always "sharpness-aware-summary/1". */
  format: typeof SUMMARY_FORMAT;
  /** The report's heading. */
  title: string;
  /** The claim tested, when given. */
  claim?: Claim;
  /** The groups (runs equal but for the seed), each with mean ± 95% CI per metric. */
  groups: GroupSummary[];
  /** Each group against its SGD baseline, paired by seed (where there is an SGD group). */
  comparisons: Comparison[];
  /** Ordered by group, then seed. */
  results: RunResult[];
  /** The runs that failed, with their errors. */
  failed: FailureRecord[];
  /** Dotted spec paths (leaves, seed excluded) whose values differ between groups that have them. */
  varying: string[];
  /** Keys of the results whose final test loss is not finite (result.ts isDiverged), in result order. */
  diverged: string[];
} & { [extra: string]: unknown };

const DEFAULT_TITLE = "sharpness-aware — sweep report";
const RESERVED = new Set(["format", "title", "claim", "groups", "comparisons", "results", "failed", "varying", "diverged"]);

const finite = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const orNull = (x: number): number | null => (Number.isFinite(x) ? x : null);
/** A value for labels and legends: numbers to 6 significant digits, strings bare. */
const show = (v: unknown): string => (v === undefined ? "none" : typeof v === "number" ? String(Number(v.toPrecision(6))) : typeof v === "string" ? v : JSON.stringify(v));
/** Canonical JSON that also takes `undefined` (a field a spec lacks). */
const key = (v: unknown): string => (v === undefined ? "undefined" : canonicalJson(v));

function seedless(spec: RunSpec): SeedlessSpec {
  const { seed: _seed, ...rest } = spec;
  return rest;
}

/** A group's id: what every run of the group shares, hashed. */
export function groupId(spec: RunSpec | SeedlessSpec): string {
  const s: Record<string, unknown> = { ...spec };
  delete s.seed;
  return sha256Hex(canonicalJson(s)).slice(0, 12);
}

function leafPaths(v: unknown, prefix: string, out: string[]): void {
  if (isObject(v)) for (const k of Object.keys(v)) leafPaths(v[k], prefix ? `${prefix}.${k}` : k, out);
  else if (prefix) out.push(prefix);
}

/** Leaf paths (in order of first appearance) whose values differ among the specs that have them. */
export function varyingPaths(specs: readonly unknown[]): string[] {
  const paths: string[] = [];
  for (const s of specs) leafPaths(s, "", paths);
  return [...new Set(paths)].filter((p) => p !== "seed" && new Set(specs.map((s) => getPath(s, p)).filter((v) => v !== undefined).map(key)).size > 1);
}

function stats(values: unknown[]): MetricStats {
  const xs = values.filter(finite);
  return { mean: xs.length ? mean(xs) : null, ci95: xs.length > 1 ? ci95(xs) : null, values: xs };
}

const metricOf = (r: RunResult, m: GroupMetric): unknown => (m === "seconds" ? r.seconds : r.metrics[m]);

/** Labels unique among the groups: a shared label gets `path=value` of the fields that vary within the groups sharing it. */
function uniqueLabels(groups: { id: string; label: string; spec: SeedlessSpec }[]): string[] {
  const byLabel = new Map<string, number[]>();
  groups.forEach((g, i) => byLabel.set(g.label, [...(byLabel.get(g.label) ?? []), i]));
  const out = groups.map((g) => g.label);
  for (const idx of byLabel.values()) {
    if (idx.length < 2) continue;
    const paths = varyingPaths(idx.map((i) => groups[i].spec));
    for (const i of idx) out[i] = [groups[i].label, ...paths.map((p) => `${p}=${show(getPath(groups[i].spec, p))}`)].join(" ");
  }
  // Only specs that differ in no leaf (impossible for distinct ids, but cheap to guard) fall through.
  const seen = new Map<string, number>();
  for (const l of out) seen.set(l, (seen.get(l) ?? 0) + 1);
  return out.map((l, i) => (seen.get(l)! > 1 ? `${l} #${groups[i].id.slice(0, 6)}` : l));
}

/** The SGD group each group is compared with: same data, model, epochs, batch size and base optimizer; else the only SGD group. */
function baselineOf(g: GroupSummary, sgd: GroupSummary[]): GroupSummary | undefined {
  const k = (s: SeedlessSpec) => canonicalJson({ ...s, optimizer: { base: s.optimizer.base } });
  return sgd.find((b) => k(b.spec) === k(g.spec)) ?? (sgd.length === 1 ? sgd[0] : undefined);
}

/**
 * The summary of a set of runs (pure): groups of runs that differ only in their seed, what
 * varies between groups, and each non-SGD group's paired comparison with its SGD baseline.
 * A result given twice (same key) counts once; a failure whose key has a result is left out.
 *
 * Does not change its arguments (sorts copies).
 *
 * @throws Error when `opts.extra` names a field of the summary.
 *
 * @example
 * ```ts
 * const { results, failures } = listRuns("runs/cmp");
 * const summary = summarizeRuns(results.filter((r) => r.format === RESULT_FORMAT) as RunResult[], failures);
 * ```
 */
export function summarizeRuns(results: RunResult[], failed: FailureRecord[], opts: ReportOptions = {}): Summary {
  for (const k of Object.keys(opts.extra ?? {})) if (RESERVED.has(k)) throw new Error(`report extra field ${JSON.stringify(k)} clashes with a summary field`);
  const unique = [...new Map(results.map((r) => [r.key, r] as const)).values()];
  const members = new Map<string, RunResult[]>();
  for (const r of unique) {
    const id = groupId(r.spec);
    members.set(id, [...(members.get(id) ?? []), r]);
  }
  const raw = [...members].map(([id, rs]) => {
    rs.sort((a, b) => a.seed - b.seed);
    return { id, rs, label: rs[0].label, spec: seedless(rs[0].spec) };
  });
  const labels = uniqueLabels(raw);
  const groups: GroupSummary[] = raw.map(({ id, rs, spec }, i) => ({
    id,
    label: labels[i],
    optimizer: spec.optimizer.name,
    spec,
    seeds: rs.map((r) => r.seed),
    keys: rs.map((r) => r.key),
    n: rs.length,
    metrics: Object.fromEntries(GROUP_METRICS.map((m) => [m, stats(rs.map((r) => metricOf(r, m)))])) as Record<GroupMetric, MetricStats>,
  }));

  const sgd = groups.filter((g) => g.optimizer === "sgd");
  const comparisons: Comparison[] = [];
  for (const [i, g] of groups.entries()) {
    if (g.optimizer === "sgd") continue;
    const b = baselineOf(g, sgd);
    if (!b) continue;
    const base = new Map(raw[groups.indexOf(b)].rs.map((r) => [r.seed, r.metrics] as const));
    const pairs = raw[i].rs.filter((r) => base.has(r.seed)).map((r) => [r.metrics, base.get(r.seed)!] as const);
    if (pairs.length === 0) continue;
    const s = pairedStats(pairs);
    comparisons.push({
      group: g.id,
      label: g.label,
      baseline: b.id,
      baselineLabel: b.label,
      seeds: raw[i].rs.filter((r) => base.has(r.seed)).map((r) => r.seed),
      n: s.n,
      wins: s.wins,
      meanDiff: s.meanDiff,
      ci: orNull(s.ci),
      bestMeanDiff: s.bestMeanDiff,
      bestCi: orNull(s.bestCi),
      verdict: verdictLine(g.label, b.label, s),
      bestVerdict: bestEpochLine(g.label, b.label, s),
    });
  }

  const keys = new Set(unique.map((r) => r.key));
  const summary: Summary = {
    format: SUMMARY_FORMAT,
    title: opts.title ?? DEFAULT_TITLE,
    ...(opts.claim ? { claim: opts.claim } : {}),
    groups,
    comparisons,
    results: raw.flatMap((g) => g.rs),
    failed: failed.filter((f) => !keys.has(f.key)),
    varying: varyingPaths(groups.map((g) => g.spec)),
    diverged: raw.flatMap((g) => g.rs).filter(isDiverged).map((r) => r.key),
  };
  return Object.assign(summary, opts.extra ?? {});
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** The short plain-text verdict for the terminal: one line per comparison, and the counts when there is none. */
export function sweepVerdict(s: Summary): string {
  const lines = s.comparisons.map((c) => c.verdict);
  if (s.results.length === 0) lines.push("no results yet");
  else if (lines.length === 0) lines.push(`${plural(s.results.length, "result")} in ${plural(s.groups.length, "group")}; no SGD baseline to compare with`);
  if (s.failed.length) lines.push(`${plural(s.failed.length, "run")} failed (see report.html)`);
  if (s.diverged?.length) lines.push(`${plural(s.diverged.length, "run")} diverged: final test loss not finite (see report.html)`);
  return lines.join("\n");
}

type Band = { group: string; epoch: number; n: number; mean: number; lo: number | null; hi: number | null };

/** Mean and 95% CI band over a group's seeds, epoch by epoch. */
type BandField = "testAccuracy" | "trainLoss" | "noisyTrainAccuracy" | `telemetry.${"gap" | "epsNorm" | "cosine" | "gradNorm"}`;

function bands(s: Summary, field: BandField): Band[] {
  const byKey = new Map(s.results.map((r) => [r.key, r]));
  return s.groups.flatMap((g) => {
    const values = new Map<number, number[]>();
    for (const k of g.keys)
      for (const e of byKey.get(k)?.history ?? []) {
        const v = field.startsWith("telemetry.") ? (e.telemetry?.[field.slice(10) as "gap"] ?? null) : e[field as "testAccuracy"];
        if (finite(v)) values.set(e.epoch, [...(values.get(e.epoch) ?? []), v]);
      }
    return [...values].sort(([a], [b]) => a - b).map(([epoch, xs]) => {
      const m = mean(xs);
      const c = xs.length > 1 ? ci95(xs) : null;
      return { group: g.label, epoch, n: xs.length, mean: m, lo: c === null ? null : m - c, hi: c === null ? null : m + c };
    });
  });
}

const colorBy = (field: string, title: string, domain: string[]) => ({ field, type: "nominal", title, scale: { domain }, legend: { labelLimit: 400 } });

function bandSpec(rows: Band[], domain: string[], title: string, axis: string, percent: boolean): Record<string, unknown> {
  const y = { type: "quantitative", title: axis, axis: percent ? { format: ".0%" } : {}, scale: { zero: false } };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: 420,
    height: 240,
    data: { values: rows },
    encoding: { x: { field: "epoch", type: "quantitative", title: "epoch" }, color: colorBy("group", "group", domain) },
    // The line layer first, so the legend shows line symbols rather than pale band swatches.
    layer: [
      { mark: { type: "line", point: rows.length < 200 }, encoding: { y: { ...y, field: "mean" } } },
      { transform: [{ filter: "isValid(datum.lo)" }], mark: { type: "area", opacity: 0.18 }, encoding: { y: { ...y, field: "lo" }, y2: { field: "hi" } } },
    ],
  };
}

type VersusPoint = { series: string; x: number; mean: number; lo: number | null; hi: number | null };

function versusSpec(points: VersusPoint[], refs: { series: string; mean: number }[], path: string, title: string, axis: string, logX: boolean): Record<string, unknown> {
  const domain = [...new Set([...points.map((p) => p.series), ...refs.map((r) => r.series)])];
  const x = { field: "x", type: "quantitative", title: path, scale: logX ? { type: "log" } : { zero: false } };
  const y = { type: "quantitative", title: axis, axis: { format: ".0%" }, scale: { zero: false } };
  const color = colorBy("series", "", domain);
  const ranged = points.filter((p) => p.lo !== null);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: 420,
    height: 240,
    layer: [
      { data: { values: points }, mark: { type: "line", point: true }, encoding: { x, y: { ...y, field: "mean" }, color } },
      ...(ranged.length ? [{ data: { values: ranged }, mark: { type: "errorbar", ticks: true }, encoding: { x, y: { ...y, field: "lo" }, y2: { field: "hi" }, color } }] : []),
      // Groups without the field (SGD has no ρ) as horizontal reference lines at their mean.
      ...(refs.length ? [{ data: { values: refs }, mark: { type: "rule", strokeDash: [4, 3] }, encoding: { y: { ...y, field: "mean" }, color } }] : []),
    ],
  };
}

/** Varying paths whose values (where present) are all numbers. */
function numericVarying(s: Summary): string[] {
  return s.varying.filter((p) => s.groups.every((g) => ["number", "undefined"].includes(typeof getPath(g.spec, p))));
}

/** Final and best-epoch test accuracy against the numeric field `path`, one line per combination of the other varying fields. */
async function versusPlots(s: Summary, path: string): Promise<string[]> {
  const others = s.varying.filter((q) => q !== path);
  const series = (g: GroupSummary) => {
    const parts = others.flatMap((q) => {
      const v = getPath(g.spec, q);
      return v === undefined ? [] : [q === "optimizer.name" ? show(v) : `${q}=${show(v)}`];
    });
    return parts.length ? parts.join(", ") : g.optimizer;
  };
  const xs = s.groups.map((g) => getPath(g.spec, path)).filter(finite);
  const logX = xs.every((v) => v > 0) && Math.max(...xs) / Math.min(...xs) >= 20;
  const plots: string[] = [];
  for (const [metric, name] of [
    ["testAccuracy", "final test accuracy"],
    ["bestTestAccuracy", "best-epoch test accuracy"],
  ] as const) {
    const points: VersusPoint[] = [];
    const refs: { series: string; mean: number }[] = [];
    for (const g of s.groups) {
      const m = g.metrics[metric];
      if (m.mean === null) continue;
      const x = getPath(g.spec, path);
      if (finite(x)) points.push({ series: series(g), x, mean: m.mean, lo: m.ci95 === null ? null : m.mean - m.ci95, hi: m.ci95 === null ? null : m.mean + m.ci95 });
      else refs.push({ series: g.label, mean: m.mean });
    }
    plots.push(await vegaLiteToSvg(versusSpec(points, refs, path, `${name} vs ${path} (mean, 95% CI)`, name, logX)));
  }
  return plots;
}

const num = (x: unknown, digits: number) => (finite(x) ? x.toFixed(digits) : "–");
const pm = (m: MetricStats) => (m.mean === null ? "–" : m.ci95 === null ? `${pct(m.mean)} (one seed)` : `${pct(m.mean)} ± ${(100 * m.ci95).toFixed(2)}`);

/** The report's content below its heading and claim: verdicts, curves, tables, specs (HTML fragment). */
export async function renderSweepBody(s: Summary): Promise<string> {
  const labels = s.groups.map((g) => g.label);
  const groupOf = new Map(s.groups.flatMap((g) => g.keys.map((k) => [k, g] as const)));
  const curves: string[] = [];
  const versus: { path: string; plots: string[] }[] = [];
  if (s.results.length) {
    curves.push(await vegaLiteToSvg(bandSpec(bands(s, "testAccuracy"), labels, "test accuracy (mean over seeds, 95% CI band)", "accuracy", true)));
    curves.push(await vegaLiteToSvg(bandSpec(bands(s, "trainLoss"), labels, "training loss (clean pass, given labels)", "loss", false)));
    const noisy = bands(s, "noisyTrainAccuracy");
    if (noisy.length) curves.push(await vegaLiteToSvg(bandSpec(noisy, labels, "noisy labels fitted (train acc. on the noisy subset)", "fitted", true)));
    // Runs with telemetry (spec "telemetry": true): what SAM does, epoch by epoch.
    for (const [field, title, axis] of [
      ["telemetry.gap", "surrogate gap L(w + ε) − L(w) (epoch mean)", "gap"],
      ["telemetry.cosine", "cos(g, g_s) between the clean and perturbed-point gradients (epoch mean)", "cosine"],
      ["telemetry.gradNorm", "‖g‖, the clean gradient's norm (epoch mean)", "‖g‖"],
    ] as const) {
      const rows = bands(s, field);
      if (rows.length) curves.push(await vegaLiteToSvg(bandSpec(rows, labels, title, axis, false)));
    }
    for (const path of numericVarying(s)) versus.push({ path, plots: await versusPlots(s, path) });
  }
  const extra = Object.fromEntries(Object.entries(s).filter(([k]) => !RESERVED.has(k)));

  const verdictItems = s.results.length === 0 ? ["<li>No results yet.</li>"] : s.comparisons.length === 0 ? ["<li>No SGD group to compare with (paired comparisons need an optimizer “sgd” group).</li>"] : s.comparisons.flatMap((c) => [`<li>${esc(c.verdict)}</li>`, `<li>${esc(c.bestVerdict)}</li>`]);
  const diverged = new Set(s.diverged ?? []);
  if (diverged.size) {
    const which = s.results.filter((r) => diverged.has(r.key)).map((r) => `${groupOf.get(r.key)?.label ?? r.label} seed ${r.seed}`);
    verdictItems.push(`<li class="diverged"><b>${esc(plural(diverged.size, "run"))} diverged</b> (final test loss not finite: the accuracies of ${diverged.size === 1 ? "that run" : "those runs"} mean nothing, and ${diverged.size === 1 ? "it counts" : "they count"} in the means above as they are): ${esc(which.join("; "))}.</li>`);
  }

  return `<p class="counts">${esc(`${plural(s.results.length, "result")}, ${s.failed.length} failed${diverged.size ? `, ${diverged.size} diverged` : ""}`)}${s.groups.length ? esc(` — ${plural(s.groups.length, "group")}`) : ""}${s.varying.length ? `; varying: ${s.varying.map((p) => `<code>${esc(p)}</code>`).join(", ")}` : ""}</p>
<div class="verdict"><b>What came out</b> (paired by seed; final = last epoch, no early stopping):<ul>
${verdictItems.join("\n")}
</ul></div>
${
  s.results.length
    ? `<h2>Learning curves (mean over seeds, 95% CI band)</h2>
<div class="plots">${curves.join("\n")}</div>
${versus.map((v) => `<h2>Test accuracy against ${esc(v.path)}</h2>\n<div class="plots">${v.plots.join("\n")}</div>`).join("\n")}
<h2>Aggregate over seeds (mean ± 95% CI)</h2>
<table><tr><th>group</th><th>seeds</th><th>final test acc.</th><th>best test acc.</th><th>noisy labels fitted</th><th>seconds / run</th></tr>
${s.groups.map((g) => `<tr><td>${esc(g.label)}</td><td>${g.n}</td><td>${pm(g.metrics.testAccuracy)}</td><td>${pm(g.metrics.bestTestAccuracy)}</td><td>${pm(g.metrics.noisyTrainAccuracy)}</td><td>${num(g.metrics.seconds.mean, 1)}</td></tr>`).join("\n")}
</table>
<h2>Runs</h2>
<table><tr><th>group</th><th>seed</th><th>key</th><th>final test acc.</th><th>best (epoch)</th><th>test loss</th><th>train acc. (given labels)</th><th>noisy fitted</th><th>epochs</th><th>seconds</th></tr>
${s.results
  .map((r) => {
    const m = r.metrics;
    const skipped = m.skippedSteps ? ` (${m.skippedSteps} steps skipped: NaN/Inf)` : "";
    return `<tr><td>${esc(groupOf.get(r.key)?.label ?? r.label)}</td><td>${esc(r.seed)}</td><td><code>${esc(r.key)}</code></td><td>${pct(m.testAccuracy)}</td><td>${pct(m.bestTestAccuracy)} (${esc(m.bestEpoch)})</td><td>${diverged.has(r.key) ? "<b>diverged</b>" : num(m.testLoss, 4)}</td><td>${pct(m.trainAccuracy)}</td><td>${pct(m.noisyTrainAccuracy)}</td><td>${esc(m.epochs)}${skipped}</td><td>${num(r.seconds, 1)}</td></tr>`;
  })
  .join("\n")}
</table>`
    : ""
}
${
  s.failed.length
    ? `<h2>Failed runs</h2>
<table><tr><th>key</th><th>error</th><th>attempts</th><th>at</th></tr>
${s.failed.map((f) => `<tr><td><code>${esc(f.key)}</code></td><td class="text">${esc(f.error)}</td><td>${esc(f.attempts)}</td><td>${esc(f.at)}</td></tr>`).join("\n")}
</table>`
    : ""
}
${
  s.groups.length
    ? `<h2>Specs</h2>
<details><summary>The ${plural(s.groups.length, "distinct spec")} (seed left out)</summary>
${s.groups.map((g) => `<h3>${esc(g.label)} <small><code>${esc(g.id)}</code>, seeds ${esc(g.seeds.join(", "))}</small></h3>\n<pre>${esc(JSON.stringify(g.spec, null, 2))}</pre>`).join("\n")}
</details>`
    : ""
}
${Object.keys(extra).length ? `<h2>Sweep</h2>\n<pre>${esc(JSON.stringify(extra, null, 2))}</pre>` : ""}`;
}

/** The report's HTML (pure but for rendering the plots): one self-contained file. */
export async function renderSweepHtml(s: Summary): Promise<string> {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(s.claim ? `sharpness-aware: ${s.claim.id}` : s.title)}</title>
<style>
${REPORT_CSS}
</style></head><body>
<h1>${esc(s.title)}</h1>
${s.claim ? `<p><b>Claim tested.</b> ${esc(s.claim.text)}<br><small>Source: ${esc(s.claim.source)}</small></p>\n<p><b>Setting.</b> ${esc(s.claim.setting)}</p>` : ""}
${await renderSweepBody(s)}
<p><small>Generated by sharpness-aware.</small></p>
</body></html>
`;
}

/** The order of the runs in DIR/sweep.json (key → index), or empty when there is none. */
function sweepOrder(dir: string): Map<string, number> {
  try {
    const keys = JSON.parse(readFileSync(join(dir, "sweep.json"), "utf8")).keys;
    return new Map(Array.isArray(keys) ? keys.map((k: string, i: number) => [k, i]) : []);
  } catch {
    return new Map();
  }
}

/**
 * (Re)build DIR/summary.json and DIR/report.html from whatever results exist under DIR (partial
 * sweeps included), each written atomically. Returns the summary and a short plain-text verdict
 * for the terminal. Training runs only (task runs are reported by their experiments); runs in
 * the order of DIR/sweep.json where there is one. summary.json follows
 * schema/summary.schema.json.
 *
 * @example
 * ```ts
 * const { summary, verdict } = await writeSweepReport("runs/rho", { title: "ρ sweep" });
 * console.log(verdict, summary.groups.length);
 * ```
 */
export async function writeSweepReport(dir: string, opts: ReportOptions = {}): Promise<{ summary: Summary; verdict: string }> {
  const listed = listRuns(dir);
  // Training runs only: task runs (experiments/tasks.ts) have their experiments' reports.
  const results = listed.results.filter(isTrainResult);
  const failures = listed.failures.filter((f) => !isTaskSpec(f.spec));
  // Keys are hashes: order by the sweep's own order (DIR/sweep.json) where there is one.
  const order = sweepOrder(dir);
  const rank = (k: string) => order.get(k) ?? Number.MAX_SAFE_INTEGER;
  results.sort((x, y) => rank(x.key) - rank(y.key));
  failures.sort((x, y) => rank(x.key) - rank(y.key));
  const summary = summarizeRuns(results, failures, opts);
  const html = await renderSweepHtml(summary);
  writeFileAtomic(join(dir, "summary.json"), JSON.stringify(summary, null, 1) + "\n");
  writeFileAtomic(join(dir, "report.html"), html);
  return { summary, verdict: sweepVerdict(summary) };
}
