/** The playground's toys and its runs, driven in Node (the page runs the same code in a browser). */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { PROBLEMS, toyProblem } from "../../playground/problems.js";
import { createRun } from "../../playground/race.js";
import { setup, trackBuffers } from "../helpers.js";

before(setup);

test("toy problems: seeded, balanced-ish, in [-1.5, 1.5]², label noise flips exactly the marked training labels", () => {
  for (const problem of PROBLEMS) {
    const a = toyProblem({ problem, seed: 3 });
    assert.deepEqual(toyProblem({ problem, seed: 3 }).train.x, a.train.x, `${problem}: seeded`);
    assert.notDeepEqual(toyProblem({ problem, seed: 4 }).train.x, a.train.x);
    const ones = a.train.y.reduce((s, v) => s + v, 0);
    assert.ok(ones > 120 && ones < 280, `${problem}: ${ones} of 400 in class 1`);
    assert.ok(a.train.x.every((v) => Math.abs(v) < 1.5), `${problem}: range`);
  }
  const clean = toyProblem({ problem: "spiral", seed: 1 });
  const noisy = toyProblem({ problem: "spiral", seed: 1, labelNoise: 0.2 });
  let flipped = 0;
  for (let i = 0; i < 400; i++) {
    assert.equal(noisy.train.y[i] !== clean.train.y[i], noisy.noisy[i] === 1);
    flipped += noisy.noisy[i];
  }
  assert.ok(flipped > 50 && flipped < 110, `flipped ${flipped} of 400 at rate 0.2`);
  assert.deepEqual(noisy.test.y, clean.test.y, "test labels stay clean");
  assert.throws(() => toyProblem({ problem: "moons" as never }), /^RangeError: problem must be one of spiral, circles, xor, gaussians \(got "moons"\)$/);
});

test("SGD and SAM race from the same initialization on the spiral: losses fall, λ_max and the heat map are finite, nothing leaks", async () => {
  const live = await trackBuffers();
  const before = live();
  const { train, test: testPts } = toyProblem({ problem: "spiral", seed: 0 });
  const base = { name: "sgd", lr: 0.1, momentum: 0.9 };
  const runs = [
    createRun({ optimizer: { name: "sgd", base }, hidden: [16, 16], batchSize: 32, seed: 0 }, train, testPts),
    createRun({ optimizer: { name: "sam", rho: 0.05, base }, hidden: [16, 16], batchSize: 32, seed: 0 }, train, testPts),
  ];
  const start = await Promise.all(runs.map((r) => r.evaluate()));
  assert.equal(start[0].trainLoss, start[1].trainLoss, "same initialization");
  for (const r of runs) await r.train(150);
  for (const [i, r] of runs.entries()) {
    const s = await r.evaluate();
    assert.equal(s.step, 150);
    assert.ok(s.trainLoss < 0.9 * start[i].trainLoss, `${r.optimizer.name}: ${start[i].trainLoss} → ${s.trainLoss}`);
    const lambda = await r.sharpness(10);
    assert.ok(Number.isFinite(lambda) && lambda > 0, `λ_max ${lambda}`);
    const g = await r.grid(8);
    assert.equal(g.length, 64);
    assert.ok(g.every((p) => p >= 0 && p <= 1));
  }
  assert.notEqual((await runs[0].evaluate()).trainLoss, (await runs[1].evaluate()).trainLoss, "the optimizers differ");
  for (const r of runs) r.dispose();
  // Training, evaluation and the heat map free everything; each λ_max call leaves 6 tiny engine
  // buffers behind (jax-js's linearize of the MLP loss; measured, constant per call).
  assert.ok(live() - before <= 2 * 6, `${live() - before} buffers left after disposal`);
  assert.throws(() => createRun({ optimizer: { name: "sam", rho: -1 }, hidden: [4], batchSize: 8, seed: 0 }, train, testPts), /^SpecError: optimizer\.rho must be a finite number ≥ 0 \(got -1\)$/);
});
