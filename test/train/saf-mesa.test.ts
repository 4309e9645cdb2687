/**
 * SAF and MESA through the trainer: SAF's host memory of past logits is used (λ > 0 equals λ = 0
 * before startEpoch and differs after; which epoch the teacher comes from matters), a skipped
 * step records nothing, and an interrupted-then-resumed run (SAF's memory in the checkpoint,
 * MESA's EMA in the optimizer state) equals an uninterrupted one bit for bit.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initEngine } from "../../src/index.js";
import { loadMnist } from "../../src/data/mnist.js";
import { train, type EpochRecord } from "../../src/train/trainer.js";
import { findLatest } from "../../src/train/checkpoint.js";
import { decodeSafetensors } from "../../src/engine/safetensors.js";
import { mnistSpec } from "./specs.js";
import { epochWithoutTimes } from "../../src/train/result.js";

before(() => initEngine("wasm"));

const noTime = (h: EpochRecord[]) => h.map(epochWithoutTimes);
// 600 examples, batches of 50: 12 steps per epoch, 3 epochs.
const spec = (optimizer: Record<string, unknown>) => mnistSpec({ optimizer, hidden: 32, trainSize: 600, labelNoise: 0 });

test("SAF trains from a spec and uses its memory: λ > 0 equals λ = 0 (= SGD) before startEpoch and differs after; the teacher's epoch matters", async () => {
  const ds = loadMnist();
  const on = await train(spec({ name: "saf", lambda: 0.5, startEpoch: 2, minusEpoch: 1 }), ds);
  const off = await train(spec({ name: "saf", lambda: 0, startEpoch: 2, minusEpoch: 1 }), ds);
  const sgdRun = await train(spec({ name: "sgd" }), ds);
  // minusEpoch 2: epoch 2 reads a slot nothing was written to (zeros: a uniform teacher, as the code's np.zeros).
  const older = await train(spec({ name: "saf", lambda: 0.5, startEpoch: 2, minusEpoch: 2 }), ds);
  assert.deepEqual(noTime(off.history), noTime(sgdRun.history), "λ = 0 is SGD");
  assert.deepEqual(noTime(on.history).slice(0, 1), noTime(off.history).slice(0, 1), "epoch 1 (before startEpoch) is SGD");
  assert.deepEqual(noTime(older.history).slice(0, 1), noTime(on.history).slice(0, 1));
  for (const e of [1, 2]) {
    assert.notEqual(on.history[e].trainLoss, off.history[e].trainLoss, `epoch ${e + 1}: the term acts`);
    assert.notEqual(older.history[e].trainLoss, on.history[e].trainLoss, `epoch ${e + 1}: the teacher comes from the memory's slot`);
  }
  for (const r of [on, older]) {
    assert.equal(r.skippedSteps, 0);
    assert.ok(r.history.every((h) => Number.isFinite(h.trainLoss)) && r.history[2].testAccuracy > 0.6, JSON.stringify(r.history.at(-1)));
  }
});

test("SAF: a NaN batch is skipped and its logits are not recorded (one skipped step per epoch, no NaN teacher later)", async () => {
  const ds = loadMnist();
  const n = 600;
  const trainX = ds.trainX.slice(0, n * 784);
  trainX.fill(NaN, 7 * 784, 8 * 784);
  const poisoned = { ...ds, trainX, trainY: ds.trainY.slice(0, n) };
  // With BatchNorm the NaN image makes its whole batch's logits NaN: recorded, they would be the
  // teachers of 50 examples in epoch 2 and poison the batches those land in.
  const r = await train(mnistSpec({ trainSize: n, epochs: 3, labelNoise: 0, hidden: 32, batchNorm: true, optimizer: { name: "saf", lambda: 0.5, startEpoch: 2, minusEpoch: 1 } }), poisoned);
  assert.deepEqual(r.history.map((e) => e.skippedSteps), [1, 1, 1]);
  assert.ok(r.history.every((e) => Number.isFinite(e.trainLoss) && Number.isFinite(e.testLoss)));
});

for (const optimizer of [
  { name: "saf", lambda: 0.5, startEpoch: 2, minusEpoch: 1 },
  { name: "mesa", lambda: 0.5, startEpoch: 2, decay: 0.9 },
]) {
  test(`exact resume (${optimizer.name}): stopped mid-epoch after the start and resumed = uninterrupted, bit for bit`, async () => {
    const ds = loadMnist();
    const cfg = spec(optimizer);
    const a = mkdtempSync(join(tmpdir(), "saf-a-"));
    const b = mkdtempSync(join(tmpdir(), "saf-b-"));
    const full = await train(cfg, ds, { checkpointDir: a });
    let steps = 0;
    const part = await train(cfg, ds, { checkpointDir: b, shouldStop: () => ++steps === 17 }); // epoch 2, step 5 of 12
    assert.equal(part.interrupted, true);
    const resumed = await train(cfg, ds, { checkpointDir: b, resumeFrom: findLatest(b)! });
    assert.deepEqual(noTime(resumed.history), noTime(full.history));
    const bytes = (ck: string, f: string) => readFileSync(join(ck, f));
    for (const f of ["params.safetensors", "optimizer.safetensors"]) assert.ok(bytes(full.checkpoint!, f).equals(bytes(resumed.checkpoint!, f)), `${optimizer.name}: ${f} differs`);
    const names = Object.keys(decodeSafetensors(new Uint8Array(bytes(full.checkpoint!, "optimizer.safetensors"))).tensors);
    if (optimizer.name === "saf") {
      const mem = decodeSafetensors(new Uint8Array(bytes(full.checkpoint!, "optimizer.safetensors"))).tensors.saf_memory;
      assert.deepEqual(mem.shape, [2, 600, 10], "SAF's memory: minusEpoch + 1 slots × examples × classes");
      assert.ok(Array.from(mem.data as Float32Array).some((v) => v !== 0));
    } else assert.ok(names.some((k) => k.startsWith("optimizer.extra.ema.")), `MESA's EMA in the optimizer state: ${names.join(", ")}`);
  });
}
