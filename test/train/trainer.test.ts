import { test, before } from "node:test";
import assert from "node:assert/strict";
import { initEngine } from "../../src/index.js";
import { loadMnist } from "../../src/data/mnist.js";
import { train } from "../../src/train/trainer.js";
import { DEFAULTS, validateConfig } from "../../src/train/config.js";
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
    assert.equal(r.diverged, null);
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

test("a diverging run stops with a clear outcome instead of training on NaN", async () => {
  const r = await train({ ...small, epochs: 2, lr: 1e30, momentum: 0 }, loadMnist());
  assert.ok(r.diverged !== null, "expected divergence");
  assert.ok(r.history.length < 2);
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
