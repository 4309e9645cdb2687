import { test, before } from "node:test";
import assert from "node:assert/strict";
import { initEngine } from "../../src/index.js";
import { loadMnist } from "../../src/data/mnist.js";
import { train } from "../../src/train/trainer.js";
import { DEFAULTS, OPTIMIZERS, validateConfig } from "../../src/train/config.js";
import { parseOptimizerSpec, runConfig } from "../../src/train/compare.js";

before(() => initEngine("wasm"));

const small = { ...DEFAULTS, dataset: "mnist" as const, hidden: 64, trainSize: 1000, batchSize: 50, epochs: 3, lr: 0.1, labelNoise: 0.2 };

test("a short real run: loss goes down, accuracy beats chance, records complete", async () => {
  const ds = loadMnist();
  for (const optimizer of ["sgd", "fsam"] as const) {
    const r = await train({ ...small, optimizer, rho: 0.05 }, ds);
    assert.equal(r.history.length, 3);
    assert.equal(r.stepsPerEpoch, 20);
    assert.equal(r.noisyCount, 200);
    const [first, , last] = r.history;
    assert.ok(last.trainLoss < first.trainLoss, `${optimizer}: loss ${first.trainLoss} → ${last.trainLoss}`);
    assert.ok(last.testAccuracy > 0.6, `${optimizer}: test accuracy ${last.testAccuracy}`);
    assert.ok(last.noisyTrainAccuracy !== null && last.noisyTrainAccuracy >= 0 && last.noisyTrainAccuracy <= 1);
    assert.equal(r.skippedSteps, 0);
  }
});

test("deterministic for a given seed; another seed differs", async () => {
  const ds = loadMnist();
  const cfg = { ...small, epochs: 1, optimizer: "sam" as const };
  const a = await train(cfg, ds);
  const b = await train(cfg, ds);
  const c = await train({ ...cfg, seed: 1 }, ds);
  assert.equal(a.history[0].testAccuracy, b.history[0].testAccuracy);
  assert.equal(a.history[0].trainLoss, b.history[0].trainLoss);
  assert.notEqual(a.history[0].trainLoss, c.history[0].trainLoss);
});

test("NaN batches are skipped and counted per epoch; the error policy names the step", async () => {
  // 600 MNIST images, one of them poisoned with NaN: exactly the batch holding it is skipped.
  const ds = loadMnist();
  const n = 600;
  const trainX = ds.trainX.slice(0, n * 784);
  trainX.fill(NaN, 7 * 784, 8 * 784);
  const poisoned = { ...ds, trainX, trainY: ds.trainY.slice(0, n) };
  const r = await train({ ...small, trainSize: n, epochs: 2, labelNoise: 0, optimizer: "sam" }, poisoned);
  assert.equal(r.skippedSteps, 2);
  assert.deepEqual(r.history.map((e) => e.skippedSteps), [1, 1]);
  assert.ok(r.history.every((e) => Number.isFinite(e.trainLoss) && Number.isFinite(e.testLoss)), "parameters never poisoned");
  assert.ok(r.history[1].testAccuracy > 0.6);
  await assert.rejects(train({ ...small, trainSize: n, epochs: 1, labelNoise: 0, nonFinite: "error" }, poisoned), /^NonFiniteError: epoch 1, step \d+: the loss or a gradient is NaN\/Inf/);
});

test("config validation and per-optimizer overrides", () => {
  assert.throws(() => validateConfig({ ...small, m: 7 }), /--m must be a divisor of the batch size 50 \(got 7\)/);
  assert.throws(() => validateConfig({ ...small, optimizer: "fsam", m: 10 }), /--m must be used with --optimizer sam only/);
  assert.throws(() => validateConfig({ ...small, m: 10, batchNorm: true }), /--m cannot be combined with --batch-norm/);
  assert.throws(() => validateConfig({ ...small, batchSize: 5000 }), /--batch-size 5000 is larger than --train-size 1000/);
  const spec = parseOptimizerSpec("asam:rho=1:eta=0");
  const c = runConfig(small, spec, 3, false);
  assert.deepEqual([c.optimizer, c.rho, c.eta, c.seed], ["asam", 1, 0, 3]);
  assert.equal(runConfig(small, parseOptimizerSpec("asam"), 0, false).rho, 0.5);
  assert.equal(runConfig(small, parseOptimizerSpec("sgd"), 0, true).rho, 0);
  assert.throws(() => parseOptimizerSpec("sam:rh0=1"), /bad override "rh0=1"/);
  assert.throws(() => parseOptimizerSpec("sam:rho=x"), /rho must be a number \(got "x"/);
});

test("every optimizer of the family trains from a config (one short epoch, finite loss)", async () => {
  const ds = loadMnist();
  for (const optimizer of OPTIMIZERS) {
    const r = await train({ ...small, optimizer, epochs: 1, trainSize: 300, fullGradSize: 200, fullGradEvery: 3 }, ds);
    assert.equal(r.skippedSteps, 0, optimizer);
    assert.equal(r.history.length, 1, optimizer);
    assert.ok(Number.isFinite(r.history[0].trainLoss) && r.history[0].testAccuracy > 0.1, `${optimizer}: ${JSON.stringify(r.history[0])}`);
  }
});

test("n-SAM ascent batches and ρ schedules change the run; ERM→SAM at epoch 2 equals SGD for epoch 1", async () => {
  const ds = loadMnist();
  const cfg = { ...small, optimizer: "sam" as const, epochs: 2, labelNoise: 0 };
  const samRun = await train(cfg, ds);
  const random = await train({ ...cfg, ascentBatch: "random" }, ds);
  const previous = await train({ ...cfg, ascentBatch: "previous" }, ds);
  assert.notEqual(random.history[1].trainLoss, samRun.history[1].trainLoss);
  assert.notEqual(previous.history[1].trainLoss, samRun.history[1].trainLoss);
  const sgdRun = await train({ ...cfg, optimizer: "sgd", rho: 0 }, ds);
  const switched = await train({ ...cfg, rhoSchedule: "erm-to-sam", switchEpoch: 2 }, ds);
  assert.equal(switched.history[0].trainLoss, sgdRun.history[0].trainLoss, "epoch 1 is plain SGD");
  assert.notEqual(switched.history[1].trainLoss, sgdRun.history[1].trainLoss, "epoch 2 is SAM");
});

test("config validation of the family's options", () => {
  assert.throws(() => validateConfig({ ...small, p: 1 }), /--p must be a number > 1 or inf \(got 1\)/);
  assert.throws(() => validateConfig({ ...small, optimizer: "looksam", rhoSchedule: "inv-sqrt" }), /--rho-schedule must be constant for --optimizer looksam/);
  assert.throws(() => validateConfig({ ...small, k: 0 }), /--k must be an integer ≥ 1/);
  assert.throws(() => validateConfig({ ...small, optimizer: "gnr", gnrMethod: "finite-difference", penalty: 0.5, r: 0.1 }), /--penalty must be ≤ --r 0.1/);
  assert.throws(() => validateConfig({ ...small, m: 10, ascentBatch: "random" }), /--m must be used without --ascent-batch/);
  assert.throws(() => validateConfig({ ...small, ascentBatch: "next" as any }), /--ascent-batch must be one of same, previous, random/);
  assert.equal(runConfig(small, parseOptimizerSpec("sam:p=inf"), 0, false).p, Infinity);
  assert.equal(runConfig(small, parseOptimizerSpec("fasam"), 0, false).rho, 0.5);
});

test("measureEvery records instrument values in the epoch records", async () => {
  const { topEigenvalue } = await import("../../src/sharpness/index.js");
  const r = await train({ ...small, epochs: 2, trainSize: 300 }, loadMnist(), {
    measureEvery: 2,
    measure: async ({ params, loss, points }) => ({ lambdaMax: (await topEigenvalue(loss, params, points, { iterations: 5 })).lambdaMax, points: points.y.shape[0] }),
  });
  assert.equal(r.history[0].measures, undefined);
  assert.ok(r.history[1].measures!.lambdaMax > 0);
  assert.equal(r.history[1].measures!.points, 300);
});
