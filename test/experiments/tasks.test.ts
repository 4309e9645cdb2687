/** Task specs (the exact small models as runs): filling, keys, errors, running, storing. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { anyLabel, anyRunKey, fillAnySpec, runTask, isTaskResult, TASKS } from "../../src/experiments/tasks.js";
import { runKey, SpecError } from "../../src/train/spec.js";
import { sparseRegression } from "../../src/data/sparse-regression.js";
import { trainDiagNet } from "../../src/models/diagonal-net.js";
import { readValidResult, writeResult } from "../../src/sweep/store.js";
import { mnistSpec } from "../train/specs.js";

const diag = { task: "diag-net", seed: 3, lr: 0.5, phases: [{ method: "1-sam", rho: 0.1, steps: 300 }] };

test("a diag-net spec is filled with its declared defaults, and the key ignores key order and spelled-out defaults", () => {
  const s = fillAnySpec(diag) as Record<string, any>;
  assert.deepEqual(s, { task: "diag-net", seed: 3, alpha: 0.05, lr: 0.5, curvePoints: 80, data: { n: 20, nTest: 1000, d: 30, k: 3 }, phases: [{ method: "1-sam", rho: 0.1, steps: 300 }] });
  const spelled = { phases: [{ steps: 300, rho: 0.1, method: "1-sam" }], data: { k: 3, d: 30, nTest: 1000, n: 20 }, curvePoints: 80, alpha: 0.05, lr: 0.5, seed: 3, task: "diag-net" };
  assert.equal(anyRunKey(spelled), anyRunKey(diag));
  assert.notEqual(anyRunKey({ ...diag, seed: 4 }), anyRunKey(diag));
  assert.match(anyRunKey(diag), /^[0-9a-f]{16}$/);
  assert.equal(anyLabel(fillAnySpec(diag)), "1-SAM ρ=0.1");
  assert.equal(anyLabel(fillAnySpec({ ...diag, phases: [{ method: "erm", steps: 5 }, { method: "n-sam", rho: 2, steps: 5 }] })), "ERM → n-SAM ρ=2");
});

test("a training spec (no task field) keeps its key", () => {
  const s = mnistSpec({ optimizer: { name: "sam", rho: 0.05 } });
  assert.equal(anyRunKey(s), runKey(s));
});

test("relu-1d fills the authors' per-method defaults: SAM ρ 0.3 with linear decay, ERM ρ 0 without", () => {
  const sam = fillAnySpec({ task: "relu-1d", method: "sam" }) as Record<string, unknown>;
  assert.equal(sam.rho, 0.3);
  assert.equal(sam.lrDecay, "linear");
  const erm = fillAnySpec({ task: "relu-1d", method: "erm" }) as Record<string, unknown>;
  assert.equal(erm.rho, 0);
  assert.equal(erm.lrDecay, "none");
  assert.equal(anyRunKey({ task: "relu-1d", method: "sam" }), anyRunKey({ task: "relu-1d", method: "sam", rho: 0.3, lrDecay: "linear" }));
});

const bad: [unknown, RegExp][] = [
  [{ task: "mnist-net" }, /^task must be one of diag-net, relu-1d \(got "mnist-net"\)$/],
  [{ task: 7 }, /^task must be one of/],
  [{ task: "diag-net", lr: 0.5 }, /^phases must be a list of 1 to 8 phases/],
  [{ task: "diag-net", phases: [{ method: "erm", steps: 10 }] }, /^lr is required/],
  [{ ...diag, lr: -1 }, /^lr must be a finite number > 0 \(got -1\)$/],
  [{ ...diag, phases: [{ method: "2-sam", steps: 10 }] }, /^phases\[0\]\.method must be one of "erm", "n-sam", "1-sam" \(got "2-sam"\)$/],
  [{ ...diag, phases: [{ method: "erm", steps: 1.5 }] }, /^phases\[0\]\.steps must be an integer/],
  [{ ...diag, phases: ["erm"] }, /^phases\[0\] must be an object/],
  [{ ...diag, data: { d: 2, k: 3 } }, /^data\.k must be ≤ data\.d 2 \(got 3\)$/],
  [{ ...diag, data: { width: 3 } }, /^data\.width: unknown field \(fields: n, nTest, d, k\)$/],
  [{ ...diag, alpha: 0 }, /^alpha must be a finite number > 0/],
  [{ ...diag, color: "red" }, /^color: unknown field/],
  [{ task: "relu-1d", method: "erm", rho: 0.3 }, /^rho must be 0 \(or absent\) with method "erm" \(got 0\.3\)$/],
  [{ task: "relu-1d", hidden: 0 }, /^hidden must be an integer in \[1, 100000\] \(got 0\)$/],
];
for (const [spec, message] of bad) {
  test(`bad task spec ${JSON.stringify(spec).slice(0, 70)} → one-line SpecError`, () => {
    assert.throws(
      () => fillAnySpec(spec),
      (e: unknown) => e instanceof SpecError && message.test(e.message) && !e.message.includes("\n"),
    );
  });
}

test("runTask gives the model's own numbers, and the stored result round-trips through the store", () => {
  const r = runTask(diag);
  const direct = trainDiagNet(sparseRegression({ seed: 3 }), { alpha: 0.05, lr: 0.5, phases: [{ method: "1-sam", rho: 0.1, steps: 300 }], curvePoints: 80 });
  assert.equal(r.metrics.testLoss, direct.testLoss);
  assert.equal(r.metrics.l1Norm, direct.l1Norm);
  assert.deepEqual(r.output.curve, direct.curve);
  assert.ok(isTaskResult(r));
  assert.equal(r.key, anyRunKey(diag));
  const dir = mkdtempSync(join(tmpdir(), "task-store-"));
  writeResult(dir, r);
  assert.deepEqual(readValidResult(dir, r.key), r);
  // A result whose spec no longer hashes to its key is not valid (resume would rerun it).
  const file = join(dir, "runs", r.key, "result.json");
  const tampered = JSON.parse(readFileSync(file, "utf8"));
  tampered.spec.lr = 0.25;
  writeFileSync(file, JSON.stringify(tampered));
  assert.equal(readValidResult(dir, r.key), null);
});

test("every task declares a doc and documented params", () => {
  for (const t of Object.values(TASKS)) {
    assert.ok(t.doc.length > 10, t.name);
    for (const [k, h] of Object.entries(t.params)) assert.ok(h.doc.length > 3, `${t.name}.${k}`);
  }
});
