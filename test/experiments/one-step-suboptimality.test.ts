/**
 * `one-step-suboptimality`'s verdict rule on constructed measurements (no training): factors
 * rising with m → reproduced, falling → not reproduced, rising on average but not on every
 * model → inconclusive; the numbers carry n; the retrain determinism check compares with the
 * stored runs' accuracy.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fakeResults, trainFake } from "./fakes.js";
import { experimentById } from "../../src/experiments/index.js";
import { type Experiment, type Scale } from "../../src/experiments/experiment.js";
import { anyRunKey } from "../../src/experiments/tasks.js";
import type { RunSpec } from "../../src/train/spec.js";

const e = experimentById("one-step-suboptimality")!;
const SCALE: Scale = "default";
const SEEDS = [0, 1, 2];
const MS = [4, 16, 64, 256];
const EPOCHS = [1, 10, 30];
const ACC = (spec: RunSpec) => 0.6 + spec.seed / 100 + (spec.optimizer.name === "sam" ? 0.1 : 0);

/** Stored results for every spec of `e` (final test accuracy `ACC`). */
const fake = (ex: Experiment, scale: Scale) => fakeResults(ex, scale, trainFake(ACC));

/** Measurements with factor(arm, seed, epoch, m) given; one-step sharpness 0.1. */
function measured(factor: (arm: string, seed: number, epoch: number, m: number) => number, accuracyShift = 0) {
  const rows = ["sgd", "sam"].flatMap((arm) => SEEDS.flatMap((seed) => EPOCHS.flatMap((epoch) => MS.map((m) => ({ arm, seed, epoch, m, batches: 3, oneStep: 0.1, multiStep: 0.1 * factor(arm, seed, epoch, m), factor: factor(arm, seed, epoch, m) })))));
  const retrained = ["sgd", "sam"].flatMap((arm) =>
    (e.specs(SCALE) as RunSpec[]).filter((s) => s.optimizer.name === arm).map((s) => ({ arm, seed: s.seed, key: anyRunKey(s), testAccuracy: ACC(s) + (s.seed === 1 ? accuracyShift : 0), seconds: 1 })),
  );
  return { setup: { ms: MS, batches: 3, steps: 100, epochs: EPOCHS }, rows, retrained } as any;
}

const r = fake(e, SCALE);
// log-factor rising with log m; ERM a bit above SAM; a small seed-dependent wobble
const rising = (arm: string, seed: number, _epoch: number, m: number) => Math.exp(0.05 * Math.log2(m) * (arm === "sgd" ? 1.5 : 1) + 0.002 * seed);
const falling = (arm: string, seed: number, epoch: number, m: number) => 2 / rising(arm, seed, epoch, m);

test("one-step-suboptimality: a factor rising with m on every model → reproduced, with n on the numbers", () => {
  const j = e.judge(r, SCALE, measured(rising));
  assert.equal(j.verdict, "reproduced", j.reason);
  assert.equal(j.numbers.logRise.n, 6);
  assert.ok(j.numbers.logRise.value! > 0 && j.numbers.logRise.lo! > 0);
  // r = 0.05·(log2 256 − log2 4)·(1.5 or 1) = 0.45 or 0.3 → mean 0.375
  assert.ok(Math.abs(j.numbers.logRise.value! - 0.375) < 1e-9);
  assert.equal(j.numbers.factorAtLargestM.n, 6);
  assert.ok(j.numbers.factorAtLargestM.lo! > 1);
  assert.equal(j.numbers.ermOverSamAtLargestM.n, 3);
  for (const k of Object.keys(j.numbers)) assert.equal(typeof j.numbers[k].n, "number", `${k} carries n`);
  assert.match(j.reason, /n = 6/);
  assert.equal(j.also!.find((a) => /ERM than for SAM/.test(a.claim))!.verdict, "reproduced");
  assert.equal(j.also!.find((a) => /every measured epoch/.test(a.claim))!.verdict, "reproduced");
  assert.equal(j.numbers.retrainMismatches.value, 0);
  assert.match(j.summary, /exactly/);
});

test("one-step-suboptimality: a factor falling with m → not reproduced", () => {
  const j = e.judge(r, SCALE, measured(falling));
  assert.equal(j.verdict, "not reproduced", j.reason);
  assert.ok(j.numbers.logRise.value! < 0);
  assert.equal(j.also!.find((a) => /every measured epoch/.test(a.claim))!.verdict, "not reproduced");
});

test("one-step-suboptimality: rising on average but falling on some models → inconclusive", () => {
  // r = +0.4 on four models, −0.2 on two: mean 0.2 > 0, CI includes 0
  const straddle = (_arm: string, seed: number, _epoch: number, m: number) => (m === 256 ? Math.exp(seed === 2 ? -0.2 : 0.4) * 1.2 : 1.2);
  const j = e.judge(r, SCALE, measured(straddle));
  assert.equal(j.verdict, "inconclusive", j.reason);
  assert.ok(j.numbers.logRise.value! > 0 && j.numbers.logRise.lo! < 0);
  assert.match(j.reason, /includes 0/);
});

test("one-step-suboptimality: a clear rise but a factor not clearly above 1 → inconclusive", () => {
  // factor exactly 1 at m 4 and barely above at m 256 for half the models: r > 0 on all, but the factor at m 256 straddles 1
  const near = (_arm: string, seed: number, _epoch: number, m: number) => (m === 256 ? [1.001, 1.5, 1.0005][seed] : m === 4 ? [0.9, 1, 0.95][seed] : 1);
  const j = e.judge(r, SCALE, measured(near));
  assert.ok(j.numbers.logRise.lo! > 0, JSON.stringify(j.numbers.logRise));
  assert.equal(j.verdict, "inconclusive", j.reason);
  assert.match(j.reason, /includes 1/);
});

test("one-step-suboptimality: undefined factors (one-step sharpness ≤ 0) are left out; the determinism check finds a changed run", () => {
  const m = measured(rising, 0.01);
  for (const row of m.rows) if (row.arm === "sam") row.oneStep = 0;
  const j = e.judge(r, SCALE, m);
  assert.equal(j.numbers.logRise.n, 3);
  assert.equal(j.numbers.retrainMismatches.value, 2); // seed 1 of each arm
  assert.equal(j.numbers.retrainMismatches.n, 6);
  assert.match(j.summary, /retrained ≠ stored test accuracy on 2\/6 runs/);
  // no models at all → inconclusive
  assert.equal(e.judge(r, SCALE, { rows: [], retrained: [] } as any).verdict, "inconclusive");
});

test("one-step-suboptimality: the report renders from constructed measurements", async () => {
  const html = await e.report(r, SCALE, e.judge(r, SCALE, measured(rising)), measured(rising));
  assert.match(html, /<svg/);
  assert.match(html, /Determinism check/);
  assert.match(html, /factor, geometric mean/);
});
