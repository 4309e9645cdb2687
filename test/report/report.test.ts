import { test } from "node:test";
import assert from "node:assert/strict";
import { ci95, mean, std, tQuantile975 } from "../../src/report/stats.js";
import { pairedDifferences } from "../../src/report/html.js";
import { assertClose } from "../helpers.js";

test("stats by hand: mean 2, sample std 1, 95% CI half-width t₂·1/√3 = 4.302653/1.732", () => {
  assertClose(mean([1, 2, 3]), 2);
  assertClose(std([1, 2, 3]), 1);
  assertClose(ci95([1, 2, 3]), 4.302653 / Math.sqrt(3), 1e-12);
  assert.ok(Number.isNaN(ci95([1])));
});

test("t quantiles: the table and the expansion beyond it against @stdlib/stats-base-dists-t-quantile 0.2.3", () => {
  // Exact t₀.₉₇₅(ν) from @stdlib (computed once; the library is not a dependency). Below ν = 31
  // the table is rounded to 6 decimals; above, the Cornish-Fisher expansion is within 3e-8.
  const exact: [number, number][] = [[1, 12.706204736174696], [2, 4.302652729749462], [4, 2.776445105197794], [30, 2.0422724563012378], [31, 2.0395134463964077], [40, 2.0210753903062733], [60, 2.00029782201426], [120, 1.9799304050824404], [1000, 1.9623390808264078]];
  for (const [df, t] of exact) assert.ok(Math.abs(tQuantile975(df) - t) < (df <= 30 ? 5e-7 : 3e-8), `ν ${df}: ${tQuantile975(df)} vs ${t}`);
  // Before: ν > 30 used 1.96 (t₃₁ is 2.0395: intervals 4% too narrow).
  assert.ok(tQuantile975(31) > 2.03);
  assert.ok(Number.isNaN(tQuantile975(0)) && Number.isNaN(tQuantile975(2.5)));
});

test("paired differences against sgd are matched by seed", () => {
  const r = (optimizer: string, seed: number, acc: number) => ({ optimizer, seed, testAccuracy: acc, bestTestAccuracy: acc + 0.1 }) as any;
  const [c] = pairedDifferences([r("sgd", 0, 0.5), r("sgd", 1, 0.7), r("sam", 1, 0.8), r("sam", 0, 0.4)]);
  // seed 0: 0.4 − 0.5 = −0.1; seed 1: 0.8 − 0.7 = +0.1 → mean 0, one win of two
  assert.equal(c.optimizer, "sam");
  assert.equal(c.n, 2);
  assert.equal(c.wins, 1);
  assertClose(c.meanDiff, 0, 1e-12);
});
