import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fillSpec, runKey, specLabel } from "../../src/train/spec.js";
import { RESULT_FORMAT, type RunResult } from "../../src/train/result.js";
import { summarizeRuns, sweepVerdict, renderSweepHtml, writeSweepReport, type Summary } from "../../src/report/sweep-report.js";
import { validateResult, validateSummary } from "../../src/report/schema.js";
import { writeFailure, writeResult } from "../../src/sweep/store.js";

const close = (a: number | null | undefined, b: number, tol = 1e-9) => assert.ok(typeof a === "number" && Math.abs(a - b) <= tol, `${a} ≉ ${b}`);
const T2 = 4.302653; // t quantile, 2 degrees of freedom

/**
 * A fake 3-epoch run: test accuracy final − 0.1, final + bump, final (so best = final + bump at
 * epoch 2); 50% label noise unless the spec says otherwise.
 */
function fake(input: Record<string, unknown>, seed: number, final: number, bump: number, seconds = 9): RunResult {
  const spec = fillSpec({ data: { name: "fashion-mnist", trainSize: 1000, labelNoise: 0.5 }, model: { name: "mlp", hidden: 32 }, epochs: 3, batchSize: 100, ...input, seed });
  const noisy = spec.data.labelNoise > 0;
  const history = [final - 0.1, final + bump, final].map((testAccuracy, i) => ({
    epoch: i + 1,
    trainLoss: 2 - 0.5 * i + seed / 100,
    testLoss: 1.5 - 0.2 * i,
    testAccuracy,
    trainAccuracy: 0.5 + 0.1 * i,
    cleanTrainAccuracy: 0.6 + 0.1 * i,
    noisyTrainAccuracy: noisy ? 0.1 * (i + 1) + seed / 100 : null,
    skippedSteps: 0,
    seconds: ((i + 1) * seconds) / 3,
  }));
  return {
    format: RESULT_FORMAT,
    key: runKey(spec),
    optimizer: spec.optimizer.name,
    label: specLabel(spec),
    seed,
    spec,
    metrics: {
      testAccuracy: final,
      bestTestAccuracy: final + bump,
      bestEpoch: 2,
      testLoss: 1.1,
      trainLoss: 1 + seed / 100,
      trainAccuracy: 0.7,
      cleanTrainAccuracy: 0.8,
      noisyTrainAccuracy: noisy ? 0.3 + seed / 100 : null,
      skippedSteps: 0,
      epochs: 3,
    },
    history,
    stepsPerEpoch: 10,
    noisyCount: Math.round(spec.data.labelNoise * spec.data.trainSize),
    seconds,
    device: "test",
  };
}

const SGD = { optimizer: { name: "sgd", base: { name: "sgd", lr: 0.05 } } };
const sam = (rho: number, extra: Record<string, unknown> = {}) => ({ optimizer: { name: "sam", rho, ...extra, base: { name: "sgd", lr: 0.05 } } });

// Final test accuracy by seed 0, 1, 2; best = final + 0.01 (SGD) or + 0.03 (SAM).
//   SGD       0.70 0.72 0.74  mean 0.72, sd 0.02            → CI 4.302653·0.02/√3
//   SAM ρ=.05 0.69 0.73 0.74  mean 0.72, sd √0.0007         → CI 4.302653·√0.0007/√3
//   SAM ρ=.1  0.75 0.75 0.78  mean 0.76, sd √0.0003
// Paired vs SGD: ρ=.1 → +.05 +.03 +.04: mean .04, sd .01, 3 wins (best: +.06);
//                ρ=.05 → −.01 +.01 0: mean 0, sd .01, 1 win.
function rhoSweep(): RunResult[] {
  const finals: [Record<string, unknown>, number, number[]][] = [
    [SGD, 0.01, [0.7, 0.72, 0.74]],
    [sam(0.05), 0.03, [0.69, 0.73, 0.74]],
    [sam(0.1), 0.03, [0.75, 0.75, 0.78]],
  ];
  const out = finals.flatMap(([input, bump, accs]) => accs.map((a, seed) => fake(input, seed, a, bump)));
  // Seeds out of order: results come back by group, then seed.
  return [out[2], out[0], out[1], ...out.slice(3)];
}

test("groups: one per seedless spec, means and CIs over seeds, varying paths", () => {
  const s = summarizeRuns(rhoSweep(), []);
  assert.equal(s.format, "sharpness-aware-summary/1");
  assert.equal(s.groups.length, 3);
  assert.deepEqual(
    s.groups.map((g) => g.label),
    ["SGD", "SAM ρ=0.05", "SAM ρ=0.1"],
  );
  assert.deepEqual(s.groups[0].seeds, [0, 1, 2]);
  assert.equal(s.groups[0].n, 3);
  assert.match(s.groups[0].id, /^[0-9a-f]{12}$/);
  assert.ok(!("seed" in s.groups[0].spec));
  assert.deepEqual(
    s.results.map((r) => [r.optimizer, r.seed]),
    [["sgd", 0], ["sgd", 1], ["sgd", 2], ["sam", 0], ["sam", 1], ["sam", 2], ["sam", 0], ["sam", 1], ["sam", 2]],
  );
  const [sgd, s05, s1] = s.groups;
  close(sgd.metrics.testAccuracy.mean, 0.72);
  close(sgd.metrics.testAccuracy.ci95, (T2 * 0.02) / Math.sqrt(3));
  close(sgd.metrics.bestTestAccuracy.mean, 0.73);
  close(s05.metrics.testAccuracy.mean, 0.72);
  close(s05.metrics.testAccuracy.ci95, (T2 * Math.sqrt(0.0007)) / Math.sqrt(3));
  close(s1.metrics.testAccuracy.mean, 0.76);
  close(s1.metrics.testAccuracy.ci95, (T2 * Math.sqrt(0.0003)) / Math.sqrt(3));
  close(s1.metrics.noisyTrainAccuracy.mean, 0.31); // 0.30, 0.31, 0.32
  assert.deepEqual(s1.metrics.seconds.values, [9, 9, 9]);
  assert.deepEqual(s.varying, ["optimizer.name", "optimizer.rho"]);
});

test("paired comparisons against the SGD group, with verdict lines", () => {
  const s = summarizeRuns(rhoSweep(), []);
  assert.equal(s.comparisons.length, 2);
  const [c05, c1] = s.comparisons;
  assert.equal(c1.label, "SAM ρ=0.1");
  assert.equal(c1.baselineLabel, "SGD");
  assert.equal(c1.baseline, s.groups[0].id);
  assert.equal(c1.n, 3);
  assert.equal(c1.wins, 3);
  close(c1.meanDiff, 0.04);
  close(c1.ci, (T2 * 0.01) / Math.sqrt(3));
  close(c1.bestMeanDiff, 0.06);
  assert.equal(c1.verdict, "SAM ρ=0.1 vs SGD, final test accuracy: +4.00 points (95% CI ±2.48; higher in 3/3 seeds) — better (CI excludes 0)");
  assert.equal(c1.bestVerdict, "SAM ρ=0.1 vs SGD, best-epoch test accuracy (early stopping on the test set, optimistic): +6.00 points (95% CI ±2.48)");
  assert.equal(c05.wins, 1);
  close(c05.meanDiff, 0, 1e-12);
  assert.match(c05.verdict, /\(95% CI ±2\.48; higher in 1\/3 seeds\) — no significant difference$/);
  assert.equal(sweepVerdict(s), [c05.verdict, c1.verdict].join("\n"));
});

test("labels stay unique; each group meets the SGD run with its own base optimizer; one seed has no CI", () => {
  const lr = (name: string, lr: number) => ({ optimizer: { name, ...(name === "sam" ? { rho: 0.1 } : {}), base: { name: "sgd", lr } } });
  const s = summarizeRuns([fake(lr("sgd", 0.05), 0, 0.7, 0.01), fake(lr("sgd", 0.1), 0, 0.6, 0.01), fake(lr("sam", 0.05), 0, 0.75, 0.01), fake(lr("sam", 0.1), 0, 0.61, 0.01)], []);
  assert.deepEqual(
    s.groups.map((g) => g.label),
    ["SGD optimizer.base.lr=0.05", "SGD optimizer.base.lr=0.1", "SAM ρ=0.1 optimizer.base.lr=0.05", "SAM ρ=0.1 optimizer.base.lr=0.1"],
  );
  assert.deepEqual(s.varying, ["optimizer.name", "optimizer.base.lr"]);
  const [a, b] = s.comparisons;
  assert.equal(a.baselineLabel, "SGD optimizer.base.lr=0.05");
  close(a.meanDiff, 0.05);
  assert.equal(b.baselineLabel, "SGD optimizer.base.lr=0.1");
  close(b.meanDiff, 0.01);
  assert.equal(a.ci, null);
  assert.equal(s.groups[0].metrics.testAccuracy.ci95, null);
  assert.match(a.verdict, /\(one seed, no interval; higher in 1\/1 seeds\) — better \(one seed: suggestive only\)$/);
  const json = JSON.parse(JSON.stringify(s)) as Summary;
  assert.equal(json.groups[0].metrics.testAccuracy.ci95, null);
  assert.deepEqual(validateSummary(json), []);
});

/** The SVGs of a report, each with its title texts. */
const svgs = (html: string) => html.split("<svg").slice(1).map((s) => "<svg" + s.slice(0, s.indexOf("</svg>")));

test("report.html: CI bands for the curves, accuracy against ρ with error bars, tables", async () => {
  const s = summarizeRuns(rhoSweep(), [], { title: "ρ sweep <test>", claim: { id: "c1", text: "SAM beats SGD & co", source: "paper", setting: "tiny" }, extra: { totalSeconds: 81 } });
  assert.equal(s.totalSeconds, 81);
  const html = await renderSweepHtml(s);
  assert.ok(html.includes("<h1>ρ sweep &lt;test&gt;</h1>"));
  assert.ok(html.includes("SAM beats SGD &amp; co"));
  assert.ok(html.includes("9 results, 0 failed"));
  const plots = svgs(html);
  const band = plots.find((p) => p.includes("test accuracy (mean over seeds, 95% CI band)"));
  assert.ok(band, "learning-curve plot");
  assert.match(band!, /mark-area/, "CI band");
  assert.ok(plots.some((p) => p.includes("noisy labels fitted")));
  const vsRho = plots.find((p) => p.includes("final test accuracy vs optimizer.rho"));
  assert.ok(vsRho, "final accuracy against ρ");
  assert.match(vsRho!, /mark-rule/, "error bars / SGD reference line");
  assert.ok(plots.some((p) => p.includes("best-epoch test accuracy vs optimizer.rho")));
  assert.equal(plots.length, 5);
  assert.ok(html.includes("— better (CI excludes 0)"));
  assert.ok(html.includes("72.00% ± 4.97")); // SGD: 4.302653·0.02/√3 = 0.04969
  assert.ok(html.includes("<details>"));
  assert.ok(html.includes(`<code>${s.results[0].key}</code>`));
  assert.ok(!html.includes("Failed runs"));
});

test("no accuracy-against plot when no numeric field varies; no noisy plot without noise", async () => {
  const clean = { data: { name: "fashion-mnist", trainSize: 1000, labelNoise: 0 } };
  const rs = [0, 1].flatMap((seed) => [
    fake({ ...clean, ...SGD }, seed, 0.7, 0.01),
    fake({ ...clean, ...sam(0.1) }, seed, 0.72, 0.01),
    fake({ ...clean, ...sam(0.1, { ascentBatch: "previous" }) }, seed, 0.73, 0.01),
  ]);
  const s = summarizeRuns(rs, []);
  assert.deepEqual(s.varying, ["optimizer.name", "optimizer.ascentBatch"]);
  const html = await renderSweepHtml(s);
  assert.ok(!html.includes(" vs optimizer"));
  assert.ok(!html.includes("noisy labels fitted (train"));
  assert.equal(svgs(html).length, 2);
  assert.equal(s.groups[0].metrics.noisyTrainAccuracy.mean, null);
});

test("runs with telemetry: the report plots the surrogate gap, cos(g, g_s) and ‖g‖ per epoch; SGD has no gap line", async () => {
  const withTelemetry = (r: RunResult, sam: boolean): RunResult => ({
    ...r,
    history: r.history.map((e, i) => ({
      ...e,
      telemetry: { lossClean: e.trainLoss, lossPerturbed: sam ? e.trainLoss + 0.1 / (i + 1) : null, gap: sam ? 0.1 / (i + 1) : null, gradNorm: 2 - i * 0.5, epsNorm: sam ? 0.05 : null, cosine: sam ? 0.99 : null },
    })),
  });
  const rs = [0, 1].flatMap((seed) => [withTelemetry(fake(SGD, seed, 0.7, 0.01), false), withTelemetry(fake(sam(0.1), seed, 0.72, 0.01), true)]);
  const html = await renderSweepHtml(summarizeRuns(rs, []));
  const plots = svgs(html);
  const gap = plots.find((p) => p.includes("surrogate gap"));
  assert.ok(gap, "gap plot");
  assert.ok(plots.some((p) => p.includes("cos(g, g_s)")));
  assert.ok(plots.some((p) => p.includes("the clean gradient"))); // ‖g‖: SGD has it too
  // Without telemetry in the runs, none of these plots.
  const plain = await renderSweepHtml(summarizeRuns([0, 1].flatMap((seed) => [fake(SGD, seed, 0.7, 0.01), fake(sam(0.1), seed, 0.72, 0.01)]), []));
  assert.ok(!plain.includes("surrogate gap"));
});

test("writeSweepReport: partial sweep with a failure, then an empty directory", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sweep-report-"));
  try {
    const rs = rhoSweep().slice(0, 5);
    for (const r of rs) writeResult(dir, r);
    writeFailure(dir, { key: "00000000000000ff", error: "RangeError: <boom> & more", attempts: 3, at: "2025-01-01T00:00:00Z" });
    const { summary, verdict } = await writeSweepReport(dir, { extra: { sweep: "rho.json" } });
    assert.equal(summary.results.length, 5);
    assert.equal(summary.failed.length, 1);
    assert.match(verdict, /1 run failed \(see report\.html\)$/);
    const json = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8"));
    assert.equal(json.sweep, "rho.json");
    assert.deepEqual(validateSummary(json), []);
    const html = readFileSync(join(dir, "report.html"), "utf8");
    assert.ok(html.includes("5 results, 1 failed"));
    assert.ok(html.includes("Failed runs"));
    assert.ok(html.includes("RangeError: &lt;boom&gt; &amp; more"));
    assert.ok(html.includes("<td>3</td>"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const empty = mkdtempSync(join(tmpdir(), "sweep-report-"));
  try {
    const { summary, verdict } = await writeSweepReport(empty);
    assert.equal(summary.groups.length, 0);
    assert.deepEqual(summary.varying, []);
    assert.equal(verdict, "no results yet");
    assert.ok(existsSync(join(empty, "summary.json")));
    const html = readFileSync(join(empty, "report.html"), "utf8");
    assert.ok(html.includes("No results yet."));
    assert.ok(html.includes("0 results, 0 failed"));
    assert.deepEqual(validateSummary(JSON.parse(readFileSync(join(empty, "summary.json"), "utf8"))), []);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test("summarizeRuns: duplicate results count once, a failure with a result is dropped, extra cannot clobber", () => {
  const rs = rhoSweep();
  const s = summarizeRuns([...rs, rs[0]], [{ key: rs[0].key, error: "old", attempts: 1, at: "x" }]);
  assert.equal(s.results.length, 9);
  assert.equal(s.failed.length, 0);
  assert.throws(() => summarizeRuns(rs, [], { extra: { groups: 1 } }), /clashes with a summary field/);
});

test("schema: synthetic results are valid; broken ones name the field", () => {
  for (const r of rhoSweep()) assert.deepEqual(validateResult(JSON.parse(JSON.stringify(r))), []);
  const good = JSON.parse(JSON.stringify(fake(sam(0.1), 0, 0.7, 0.01))) as Record<string, any>;
  good.history[0].measures = { sharpness: 0.5, trace: null };
  good.metrics.trainLoss = null; // a NaN loss stored as JSON
  assert.deepEqual(validateResult(good), []);

  const { key: _key, ...noKey } = good;
  assert.deepEqual(validateResult(noKey), ["key: is required"]);
  assert.deepEqual(validateResult({ ...good, bogus: 1 }), ["bogus: is not a known field"]);
  assert.deepEqual(validateResult({ ...good, seed: "0" }), ["seed: must be integer"]);
  assert.deepEqual(validateResult({ ...good, key: "ABC" }), ['key: must match pattern "^[0-9a-f]{16}$"']);
  assert.deepEqual(validateResult({ ...good, format: "other/1" }), ['format: must be "sharpness-aware-result/1"']);
  assert.deepEqual(validateResult({ ...good, metrics: { ...good.metrics, extra: 1 } }), ["metrics.extra: is not a known field"]);
  const badEpoch = structuredClone(good);
  badEpoch.history[1].testAccuracy = "high";
  badEpoch.history[2].measures = { sharpness: "x" };
  assert.deepEqual(validateResult(badEpoch), ["history[1].testAccuracy: must be number", "history[2].measures.sharpness: must be number,null"]);
  const noBase = structuredClone(good);
  delete noBase.spec.optimizer.base;
  assert.deepEqual(validateResult(noBase), ["spec.optimizer.base: is required"]);
  const extraSpec = structuredClone(good);
  extraSpec.spec.lr = 0.1;
  assert.deepEqual(validateResult(extraSpec), ["spec.lr: is not a known field"]);
  assert.ok(validateResult(null).length > 0);
  assert.deepEqual(validateSummary({ format: "sharpness-aware-summary/1" }).slice(0, 2), ["title: is required", "groups: is required"]);
});

test("diverged runs (final test loss not finite, or marked): listed in summary.json, in the verdict and in the report; old results without the field too", async () => {
  const runs = rhoSweep();
  const marked = { ...runs[4], metrics: { ...runs[4].metrics, testLoss: null as unknown as number, diverged: true } };
  const old = { ...runs[7], metrics: { ...runs[7].metrics, testLoss: null as unknown as number } };
  const clean = { ...runs[0], metrics: { ...runs[0].metrics, diverged: false } };
  const s = summarizeRuns([clean, ...runs.slice(1, 4), marked, ...runs.slice(5, 7), old, runs[8]], []);
  assert.deepEqual(new Set(s.diverged), new Set([marked.key, old.key]));
  assert.equal(s.diverged.length, 2);
  assert.match(sweepVerdict(s), /2 runs diverged: final test loss not finite \(see report\.html\)$/);
  assert.deepEqual(validateSummary(JSON.parse(JSON.stringify(s))), []);
  for (const r of [marked, old, clean]) assert.deepEqual(validateResult(JSON.parse(JSON.stringify(r))), []);
  const html = await renderSweepHtml(s);
  assert.ok(html.includes("9 results, 0 failed, 2 diverged"));
  assert.match(html, /<b>2 runs diverged<\/b> \(final test loss not finite/);
  assert.equal((html.match(/<td><b>diverged<\/b><\/td>/g) ?? []).length, 2);
  assert.equal(summarizeRuns(runs, []).diverged.length, 0);
  assert.doesNotMatch(sweepVerdict(summarizeRuns(runs, [])), /diverged/);
});
