import { test } from "node:test";
import assert from "node:assert/strict";
import { ci95, mean, std } from "../../src/report/stats.js";
import { pairedDifferences } from "../../src/report/html.js";
import { assertClose } from "../helpers.js";

test("stats by hand: mean 2, sample std 1, 95% CI half-width t₂·1/√3 = 4.303/1.732", () => {
  assertClose(mean([1, 2, 3]), 2);
  assertClose(std([1, 2, 3]), 1);
  assertClose(ci95([1, 2, 3]), 4.303 / Math.sqrt(3), 1e-9);
  assert.ok(Number.isNaN(ci95([1])));
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
