import { test, before } from "node:test";
import assert from "node:assert/strict";
import { initEngine } from "../../src/index.js";
import { loadMnist } from "../../src/data/mnist.js";
import { train } from "../../src/train/trainer.js";
import { ALGORITHMS } from "../../src/train/registry.js";
import { mnistSpec } from "./specs.js";
import { epochWithoutTimes } from "../../src/train/result.js";

before(() => initEngine("wasm"));


test("a short real run: loss goes down, accuracy beats chance, records complete", async () => {
  const ds = loadMnist();
  for (const optimizer of ["sgd", "fsam"] as const) {
    const r = await train(mnistSpec({ optimizer: optimizer === "sgd" ? { name: "sgd" } : { name: optimizer, rho: 0.05 } }), ds);
    assert.equal(r.history.length, 3);
    assert.equal(r.stepsPerEpoch, 20);
    assert.equal(r.noisyCount, 200);
    const [first, , last] = r.history;
    assert.ok(last.trainLoss < first.trainLoss, `${optimizer}: loss ${first.trainLoss} → ${last.trainLoss}`);
    assert.ok(last.testAccuracy > 0.6, `${optimizer}: test accuracy ${last.testAccuracy}`);
    assert.ok(last.noisyTrainAccuracy !== null && last.noisyTrainAccuracy >= 0 && last.noisyTrainAccuracy <= 1);
    assert.equal(r.skippedSteps, 0);
    // Training time is part of the wall time, grows every epoch, and leaves out evaluation.
    const ts = r.history.map((e) => e.trainSeconds!);
    assert.ok(ts.every((x, i) => x > (i ? ts[i - 1] : 0) && x < r.history[i].seconds), JSON.stringify(r.history.map((e) => [e.trainSeconds, e.seconds])));
    assert.equal(r.trainSeconds, ts.at(-1));
  }
});

test("deterministic for a given seed; another seed differs", async () => {
  const ds = loadMnist();
  const cfg = mnistSpec({ epochs: 1 });
  const a = await train(cfg, ds);
  const b = await train(cfg, ds);
  const c = await train({ ...cfg, seed: 1 }, ds);
  assert.equal(a.key, b.key);
  assert.notEqual(a.key, c.key);
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
  const r = await train(mnistSpec({ trainSize: n, epochs: 2, labelNoise: 0 }), poisoned);
  assert.equal(r.skippedSteps, 2);
  assert.deepEqual(r.history.map((e) => e.skippedSteps), [1, 1]);
  assert.ok(r.history.every((e) => Number.isFinite(e.trainLoss) && Number.isFinite(e.testLoss)), "parameters never poisoned");
  assert.ok(r.history[1].testAccuracy > 0.6);
  await assert.rejects(train(mnistSpec({ trainSize: n, epochs: 1, labelNoise: 0, optimizer: { name: "sam", nonFinite: "error" } }), poisoned), /^NonFiniteError: epoch 1, step \d+: the loss or a gradient is NaN\/Inf/);
});

test("every optimizer of the registry trains from a spec (one short epoch, finite loss)", async () => {
  const ds = loadMnist();
  for (const [optimizer, entry] of Object.entries(ALGORITHMS)) {
    const extra = "fullGradSize" in entry.params ? { fullGradSize: 200, fullGradEvery: 3 } : {};
    // SAM-ON perturbs normalization layers: it needs a model with them.
    const r = await train(mnistSpec({ optimizer: { name: optimizer, ...extra }, epochs: 1, trainSize: 300, batchNorm: optimizer === "sam-on" }), ds);
    assert.equal(r.skippedSteps, 0, optimizer);
    assert.equal(r.history.length, 1, optimizer);
    assert.ok(Number.isFinite(r.history[0].trainLoss) && r.history[0].testAccuracy > 0.1, `${optimizer}: ${JSON.stringify(r.history[0])}`);
  }
});

test("n-SAM ascent batches and ρ schedules change the run; ERM→SAM at epoch 2 equals SGD for epoch 1", async () => {
  const ds = loadMnist();
  const cfg = (optimizer: Record<string, unknown>) => mnistSpec({ optimizer, epochs: 2, labelNoise: 0 });
  const samRun = await train(cfg({ name: "sam" }), ds);
  const random = await train(cfg({ name: "sam", ascentBatch: "random" }), ds);
  const previous = await train(cfg({ name: "sam", ascentBatch: "previous" }), ds);
  assert.notEqual(random.history[1].trainLoss, samRun.history[1].trainLoss);
  assert.notEqual(previous.history[1].trainLoss, samRun.history[1].trainLoss);
  const sgdRun = await train(cfg({ name: "sgd" }), ds);
  const switched = await train(cfg({ name: "sam", rhoSchedule: "erm-to-sam", switchEpoch: 2 }), ds);
  assert.equal(switched.history[0].trainLoss, sgdRun.history[0].trainLoss, "epoch 1 is plain SGD");
  assert.notEqual(switched.history[1].trainLoss, sgdRun.history[1].trainLoss, "epoch 2 is SAM");
});

test("measureEvery records instrument values in the epoch records", async () => {
  const { topEigenvalue } = await import("../../src/sharpness/index.js");
  const r = await train(mnistSpec({ epochs: 2, trainSize: 300 }), loadMnist(), {
    measureEvery: 2,
    measure: async ({ params, loss, points }) => ({ lambdaMax: (await topEigenvalue(loss, params, points, { iterations: 5 })).lambdaMax, points: points.y.shape[0] }),
  });
  assert.equal(r.history[0].measures, undefined);
  assert.ok(r.history[1].measures!.lambdaMax > 0);
  assert.equal(r.history[1].measures!.points, 300);
});

test("a validation split is evaluated every epoch and leaves the training run unchanged; early stopping on it is recorded", async () => {
  const { toRunResult } = await import("../../src/train/result.js");
  const ds = loadMnist();
  const plain = await train(mnistSpec({ epochs: 2 }), ds);
  const withVal = await train(mnistSpec({ epochs: 2, validationSize: 300 }), ds);
  assert.notEqual(withVal.key, plain.key);
  for (let e = 0; e < 2; e++) {
    assert.equal(withVal.history[e].trainLoss, plain.history[e].trainLoss, "same training set and batches");
    assert.equal(withVal.history[e].testAccuracy, plain.history[e].testAccuracy);
    const v = withVal.history[e].validationAccuracy!;
    assert.ok(v > 0.3 && v < 1, `validation accuracy ${v} (20% noisy labels)`);
    assert.equal(plain.history[e].validationAccuracy, undefined);
  }
  const m = toRunResult(withVal, "test").metrics;
  const best = withVal.history.reduce((b, e) => (e.validationAccuracy! > b.validationAccuracy! ? e : b));
  assert.equal(m.bestValidationAccuracy, best.validationAccuracy);
  assert.equal(m.testAccuracyAtBestValidation, best.testAccuracy);
  assert.equal(toRunResult(plain, "test").metrics.validationAccuracy, undefined);
});

test("ascentBatchSize: the whole batch is SAM; fewer or more examples change the run", async () => {
  const ds = loadMnist();
  const cfg = (o: Record<string, unknown>) => mnistSpec({ optimizer: { name: "sam", rho: 0.05, ...o }, epochs: 1, labelNoise: 0 });
  const samRun = await train(cfg({}), ds);
  const same = await train(cfg({ ascentBatchSize: 50 }), ds);
  assert.ok(Math.abs(same.history[0].trainLoss - samRun.history[0].trainLoss) < 1e-6, "B' = B is SAM");
  const smaller = await train(cfg({ ascentBatchSize: 10 }), ds);
  const larger = await train(cfg({ ascentBatchSize: 150 }), ds);
  for (const r of [smaller, larger]) {
    assert.ok(Number.isFinite(r.history[0].trainLoss));
    assert.notEqual(r.history[0].testAccuracy, samRun.history[0].testAccuracy);
  }
});

test("bnStats perturbed keeps the perturbed pass's running statistics (a different run); clean is SAM's", async () => {
  const ds = loadMnist();
  const cfg = (o: Record<string, unknown>) => mnistSpec({ optimizer: { name: "sam", rho: 0.5, ...o }, epochs: 1, batchNorm: true });
  const clean = await train(cfg({}), ds);
  const perturbed = await train(cfg({ bnStats: "perturbed" }), ds);
  assert.equal(clean.history[0].trainLoss, perturbed.history[0].trainLoss, "the training steps are the same");
  assert.notEqual(clean.history[0].testLoss, perturbed.history[0].testLoss, "evaluation uses other running statistics");
});

test("clipNorm clips the descent gradient: a tiny norm barely moves the model", async () => {
  const ds = loadMnist();
  const tiny = await train(mnistSpec({ optimizer: { name: "sgd", base: { name: "sgd", lr: 0.1, clipNorm: 1e-6 } }, epochs: 1 }), ds);
  const free = await train(mnistSpec({ optimizer: { name: "sgd", base: { name: "sgd", lr: 0.1 } }, epochs: 1 }), ds);
  assert.ok(tiny.history[0].testAccuracy < 0.3, `clipped to 1e-6: ${tiny.history[0].testAccuracy}`);
  assert.ok(free.history[0].testAccuracy > 0.6);
});

test("telemetry: per-epoch means in the history (ε norm ρ for SAM, null where SGD has none), and the run is the run without it", async () => {
  const ds = loadMnist();
  const spec = (name: string, telemetry: boolean) => ({ ...mnistSpec({ optimizer: { name, ...(name === "sam" ? { rho: 0.05 } : {}) }, epochs: 2, trainSize: 300 }), ...(telemetry ? { telemetry: true } : {}) });
  const withT = await train(spec("sam", true), ds);
  const without = await train(spec("sam", false), ds);
  for (const e of withT.history) {
    const t = e.telemetry!;
    assert.deepEqual(Object.keys(t), ["lossClean", "lossPerturbed", "gap", "gradNorm", "epsNorm", "cosine"]);
    assert.ok(Math.abs(t.epsNorm! - 0.05) < 1e-6, `‖ε‖ ${t.epsNorm}`);
    assert.ok(Math.abs(t.gap! - (t.lossPerturbed! - t.lossClean!)) < 1e-5 && t.gap! > 0, `gap ${t.gap}`);
    assert.ok(Math.abs(t.lossClean! - e.trainLoss) < 1e-6, "L(w) is the epoch's training loss");
    assert.ok(t.cosine! > 0 && t.cosine! <= 1 + 1e-6 && t.gradNorm! > 0);
  }
  assert.deepEqual(withT.history.map(({ telemetry: _t, ...r }) => epochWithoutTimes(r)), without.history.map(epochWithoutTimes));
  const sgd = await train(spec("sgd", true), ds);
  const t = sgd.history[1].telemetry!;
  assert.equal(t.lossPerturbed, null);
  assert.equal(t.epsNorm, null);
  assert.ok(t.gradNorm! > 0);
});
