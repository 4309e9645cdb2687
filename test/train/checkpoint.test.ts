/** Checkpoints: exact resume, crash safety, SIGKILL / SIGINT, mismatches, long-run memory. */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { numpy as np, tree } from "@jax-js/jax";
import { initEngine } from "../../src/index.js";
import { loadMnist } from "../../src/data/mnist.js";
import { train, type EpochRecord } from "../../src/train/trainer.js";
import { mnistSpec } from "./specs.js";
import { epochWithoutTimes } from "../../src/train/result.js";
import { CheckpointError, findLatest, readCheckpointTrees, writeCheckpoint } from "../../src/train/checkpoint.js";
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from "../../src/engine/safetensors.js";
import { trackBuffers } from "../helpers.js";

before(() => initEngine("wasm"));

const small = (optimizer: Record<string, unknown> = { name: "sam" }, lr = 0.1) => mnistSpec({ optimizer, hidden: 32, trainSize: 600, lr });
const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));
const bytes = (ck: string, f: string) => readFileSync(join(ck, f));
const noTime = (h: EpochRecord[]) => h.map(epochWithoutTimes);

test("safetensors round trip (f32, f64, i32, u32, 0-d) and corruption detection", () => {
  const enc = encodeSafetensors({
    a: { dtype: "float32", shape: [2, 2], data: new Float32Array([1, 2, 3, 4.5]) },
    b: { dtype: "uint32", shape: [2], data: new Uint32Array([0, 4294967295]) },
    c: { dtype: "int32", shape: [], data: new Int32Array([7]) },
    d: { dtype: "float64", shape: [1], data: new Float64Array([Math.PI]) },
  }, { format: "x" });
  const n = Number(new DataView(enc.buffer).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0, "header padded to 8 bytes");
  const dec = decodeSafetensors(enc);
  assert.deepEqual(Array.from(dec.tensors.a.data as Float32Array), [1, 2, 3, 4.5]);
  assert.deepEqual(Array.from(dec.tensors.b.data as Uint32Array), [0, 4294967295]);
  assert.deepEqual([dec.tensors.c.shape, Array.from(dec.tensors.c.data as Int32Array)], [[], [7]]);
  assert.equal((dec.tensors.d.data as Float64Array)[0], Math.PI);
  assert.equal(dec.metadata.format, "x");
  assert.throws(() => decodeSafetensors(enc.subarray(0, enc.length - 3)), /safetensors: bad entry|has \d+ bytes/);
});

test("safetensors: a malformed header is a SafetensorsError, never a TypeError", () => {
  const withHeader = (header: string, data = 4) => {
    const h = new TextEncoder().encode(header);
    const out = new Uint8Array(8 + h.length + data);
    new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
    out.set(h, 8);
    return out;
  };
  const bad = [
    "5",
    "null",
    "[1]",
    '{"a": {"dtype": "F32", "shape": [1], "data_offsets": 4}}',
    '{"a": {"dtype": "constructor", "shape": [1], "data_offsets": [0, 4]}}',
    '{"a": {"dtype": "F32", "shape": [0.5], "data_offsets": [0, 4]}}',
    '{"a": {"dtype": "F32", "shape": "1", "data_offsets": [0, 4]}}',
    '{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, "4"]}}',
    '{"a": null}',
  ];
  for (const h of bad) assert.throws(() => decodeSafetensors(withHeader(h)), (e: Error) => e instanceof SafetensorsError, h);
  assert.deepEqual([...(decodeSafetensors(withHeader('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}')).tensors.a.data as Float32Array)], [0]);
});

for (const optimizer of ["sgd", "sam", "fsam", "random-perturbation"] as const) {
  test(`exact resume (${optimizer}): stopped mid-epoch and resumed = uninterrupted, bit for bit`, async () => {
    const ds = loadMnist();
    const cfg = small({ name: optimizer, ...(optimizer === "sgd" || optimizer === "random-perturbation" ? {} : { rho: 0.05 }) });
    const a = tmp("full-");
    const full = await train(cfg, ds, { checkpointDir: a });
    const b = tmp("part-");
    let steps = 0;
    const part = await train(cfg, ds, { checkpointDir: b, shouldStop: () => ++steps === 17 }); // epoch 2, step 5 of 12
    assert.equal(part.interrupted, true);
    const resumed = await train(cfg, ds, { checkpointDir: b, resumeFrom: findLatest(b)! });
    assert.equal(resumed.interrupted, false);
    assert.deepEqual(noTime(resumed.history), noTime(full.history));
    // The training time before the checkpoint (epoch 1 and 5 steps) carries over into epoch 2's record.
    assert.ok(resumed.history[1].trainSeconds! > part.history[0].trainSeconds!, `${resumed.history[1].trainSeconds} ≤ ${part.history[0].trainSeconds}`);
    for (const f of ["params.safetensors", "optimizer.safetensors"]) assert.ok(bytes(full.checkpoint!, f).equals(bytes(resumed.checkpoint!, f)), `${optimizer}: ${f} differs`);
  });
}

test("a resumed run refuses another spec; an old-format checkpoint is a one-line error", async () => {
  const ds = loadMnist();
  const dir = tmp("cfg-");
  let n = 0;
  await train(small(), ds, { checkpointDir: dir, shouldStop: () => ++n === 3 });
  await assert.rejects(train(small({ name: "sam" }, 0.2), ds, { resumeFrom: findLatest(dir)! }), /was written for another run \(key [0-9a-f]{16}, this run [0-9a-f]{16}\)/);
  // A checkpoint of version 0.1 held a flat "config" and format /1.
  const ck = findLatest(dir)!;
  const meta = JSON.parse(readFileSync(join(ck, "trainer.json"), "utf8"));
  writeFileSync(join(ck, "trainer.json"), JSON.stringify({ ...meta, format: "sharpness-aware-checkpoint/1", config: { optimizer: "sam" }, spec: undefined }));
  await assert.rejects(train(small(), ds, { resumeFrom: ck }), (e: Error) => e instanceof CheckpointError && /is in the old format sharpness-aware-checkpoint\/1 .*retrain the run$/.test(e.message) && !e.message.includes("\n"));
});

test("checkpoints that do not match the model or optimizer say what differs", async () => {
  const ds = loadMnist();
  const dir = tmp("mm-");
  let n = 0;
  await train(small({ name: "fsam" }), ds, { checkpointDir: dir, shouldStop: () => ++n === 2 });
  const ck = findLatest(dir)!;
  const template = (hidden: number, withMomentum: boolean) => ({
    params: { layers: [{ w: np.zeros([784, hidden]), b: np.zeros([hidden]) }, { w: np.zeros([hidden, 10]), b: np.zeros([10]) }], norms: [] },
    model_state: { norms: [] },
    optimizer: withMomentum ? { base: { count: np.zeros([], { dtype: np.int32 }) } } : undefined,
  });
  assert.throws(() => readCheckpointTrees(ck, template(64, true) as any), (e: Error) => e instanceof CheckpointError && /params\.layers\.0\.w has shape \[784,32\] in the checkpoint, \[784,64\] here/.test(e.message) && /optimizer\.base\.momentum/.test(e.message));
  writeFileSync(join(ck, "optimizer.safetensors"), "garbage");
  assert.throws(() => readCheckpointTrees(ck, template(32, false) as any), /optimizer\.safetensors is corrupted/);
});

test("a crash mid-write leaves the previous checkpoint loadable; the next write cleans up", async () => {
  const root = tmp("atomic-");
  const w = { params: { w: np.array([1, 2]) } };
  await writeCheckpoint(root, 5, { weights: w, state: {}, meta: { note: "good" } });
  // simulate a crash: a half-written temp directory, and a stale pointer to a missing dir
  mkdirSync(join(root, "step-00000009.tmp-4242"));
  writeFileSync(join(root, "step-00000009.tmp-4242", "params.safetensors"), "partial");
  assert.equal(findLatest(root), join(root, "step-00000005"));
  writeFileSync(join(root, "latest"), "step-00000009");
  assert.equal(findLatest(root), join(root, "step-00000005"), "falls back to the newest complete checkpoint");
  await writeCheckpoint(root, 10, { weights: w, state: {}, meta: {} });
  await writeCheckpoint(root, 15, { weights: w, state: {}, meta: {} });
  assert.equal(findLatest(root), join(root, "step-00000015"));
  assert.ok(!existsSync(join(root, "step-00000009.tmp-4242")), "leftover removed");
  assert.ok(!existsSync(join(root, "step-00000005")) && existsSync(join(root, "step-00000010")), "keeps the newest two");
  tree.dispose(w);
});

// ---- the CLI in a child process: SIGKILL and SIGINT ----

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");
const args = ["train", "--dataset", "mnist", "--optimizer", "fsam", "--hidden", "64", "--train-size", "3000", "--batch-size", "30", "--epochs", "8", "--label-noise", "0.2", "--checkpoint-every", "25"];
const runCli = (a: string[]) => spawnSync(process.execPath, [cli, ...a], { encoding: "utf8" });

async function waitForCheckpoint(root: string, minStep: number, child: ReturnType<typeof spawn>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const ck = findLatest(root);
    if (ck && Number(/step-(\d+)/.exec(ck)![1]) >= minStep) return;
    if (child.exitCode !== null) throw new Error("the child finished before it could be interrupted");
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("no checkpoint appeared");
}

test("SIGKILL between checkpoints loses only the work since the last one; resume = uninterrupted", async () => {
  const ref = tmp("ref-");
  assert.equal(runCli([...args, "--out", ref]).status, 0);
  const out = tmp("kill-");
  const child = spawn(process.execPath, [cli, ...args, "--out", out], { stdio: "ignore" });
  await waitForCheckpoint(join(out, "checkpoints"), 50, child);
  child.kill("SIGKILL");
  await new Promise((r) => child.once("exit", r));
  const killedAt = Number(/step-(\d+)/.exec(findLatest(join(out, "checkpoints"))!)![1]);
  assert.ok(killedAt < 800, `killed at ${killedAt} (the run has 800 steps)`);
  const r = runCli(["train", "--resume", out]);
  assert.equal(r.status, 0, r.stderr);
  const [a, b] = [findLatest(join(ref, "checkpoints"))!, findLatest(join(out, "checkpoints"))!];
  for (const f of ["params.safetensors", "optimizer.safetensors"]) assert.ok(bytes(a, f).equals(bytes(b, f)), `${f} differs after kill + resume`);
  const metrics = (d: string) => readFileSync(join(d, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => epochWithoutTimes(JSON.parse(l)));
  assert.deepEqual(metrics(out), metrics(ref));
});

test("SIGINT finishes the step, writes a checkpoint and exits 130; resume completes the run", async () => {
  const out = tmp("int-");
  const child = spawn(process.execPath, [cli, ...args, "--out", out], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  child.stdout!.on("data", (d) => (stdout += d));
  await waitForCheckpoint(join(out, "checkpoints"), 25, child);
  child.kill("SIGINT");
  const code = await new Promise((r) => child.once("exit", r));
  assert.equal(code, 130);
  assert.match(stdout, /interrupted; checkpoint .*step-\d+; continue with: sharpness train --resume/);
  const at = Number(/step-(\d+)/.exec(findLatest(join(out, "checkpoints"))!)![1]);
  assert.ok(at >= 25 && at < 800, `checkpoint at step ${at}`);
  const r = runCli(["train", "--resume", out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /final test accuracy/);
  assert.equal(readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").length, 8);
  const bad = runCli(["train", "--resume", out, "--lr", "0.5"]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--resume takes the run spec from the checkpoint; drop --lr/);
  rmSync(out, { recursive: true, force: true });
  assert.match(runCli(["train", "--resume", out]).stderr, /no checkpoint under/);
});

test("memory: 600 training steps do not grow the live engine buffers (npm run soak runs 20,000)", async () => {
  const live = await trackBuffers();
  const counts: number[] = [];
  const r = await train(mnistSpec({ optimizer: { name: "fsam" }, trainSize: 1000, batchSize: 10, epochs: 6, hidden: 16 }), loadMnist(), {
    onStep: (e) => {
      const t = (e.epoch - 1) * e.steps + e.step;
      // step 150: after the first epoch-end evaluation (step 100) has compiled (its constants
      // live until the end of the run), so what follows measures growth, not warm-up: 450 steps
      // and 5 evaluations (the soak runs 20,000 steps).
      if (t === 150 || t === 600) counts.push(live());
    },
  });
  assert.equal(r.stepsPerEpoch * 6, 600);
  assert.equal(counts.length, 2);
  assert.equal(counts[1], counts[0], `live buffers ${counts[0]} at step 150, ${counts[1]} at step 600`);
});
