/** `sharpness diag-net` as a user meets it: result.json, one summary line, one-line errors. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { sparseRegression } from "../../src/data/sparse-regression.js";
import { trainDiagNet } from "../../src/models/diagonal-net.js";

// The built CLI beside this built test file, whatever the build directory.
const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");

function run(args: string[]) {
  const r = spawnSync(process.execPath, [cli, "diag-net", ...args], { encoding: "utf8", env: { ...process.env, SHARPNESS_DEBUG: "" } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const tmp = () => mkdtempSync(join(tmpdir(), "diag-net-"));
const read = (dir: string) => JSON.parse(readFileSync(join(dir, "result.json"), "utf8"));

test("--seed run writes result.json with every field and prints one summary line", () => {
  const out = tmp();
  const r = run(["--seed", "1", "--method", "1-sam", "--rho", "0.1", "--steps", "3000", "--out", out]);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split("\n");
  assert.equal(lines.length, 1, r.out);
  assert.match(lines[0], /^diag-net 1-sam ρ 0\.1 ×3000 \(γ 0\.5000, α 0\.05, n 20, d 30\): train loss \S+, test loss \S+, ‖β‖₁ \S+, ‖β − β\*‖ \S+, not diverged → .*result\.json$/);
  const j = read(out);
  assert.equal(j.format, "sharpness-aware-diag-net/1");
  assert.deepEqual(j.spec, { model: "diagonal-linear-net", alpha: 0.05, lr: 0.5, phases: [{ method: "1-sam", rho: 0.1, steps: 3000 }], curvePoints: 80, data: { kind: "synthetic", n: 20, nTest: 1000, d: 30, k: 3, seed: 1 } });
  for (const k of ["trainLoss", "testLoss", "l1Norm", "recoveryError", "diverged", "steps", "curve", "beta", "seconds", "phaseEnds"]) assert.ok(k in j, `result.json lacks ${k}`);
  // the same numbers as the library
  const lib = trainDiagNet(sparseRegression({ seed: 1 }), { alpha: 0.05, lr: 0.5, phases: [{ method: "1-sam", rho: 0.1, steps: 3000 }] });
  assert.deepEqual([j.trainLoss, j.testLoss, j.l1Norm, j.recoveryError, j.diverged, j.steps, j.beta, j.curve], [lib.trainLoss, lib.testLoss, lib.l1Norm, lib.recoveryError, false, 3000, lib.beta, lib.curve]);
  assert.equal(j.curve[0].step, 0);
  assert.ok(j.seconds >= 0 && j.seconds < 10);
  assert.equal(existsSync(join(out, "result.json.tmp")), false);
});

test("--seed with --n/--d/--k/--n-test and an explicit --lr and --alpha", () => {
  const out = tmp();
  const r = run(["--seed", "0", "--n", "10", "--n-test", "50", "--d", "12", "--k", "2", "--method", "erm", "--lr", "0.7", "--alpha", "0.1", "--steps", "200", "--curve-points", "10", "--out", out]);
  assert.equal(r.code, 0, r.err);
  const j = read(out);
  assert.deepEqual(j.spec.data, { kind: "synthetic", n: 10, nTest: 50, d: 12, k: 2, seed: 0 });
  assert.equal(j.spec.lr, 0.7);
  assert.equal(j.spec.alpha, 0.1);
  assert.equal(j.beta.length, 12);
  assert.ok(j.curve.length >= 10 && j.curve.length <= 11);
});

test("--data FILE: trains on the file's problem and records its sha256; default γ = 15/d", () => {
  const dir = tmp();
  const p = sparseRegression({ seed: 3, n: 8, d: 10, nTest: 20 });
  const rows = (a: Float64Array, n: number) => Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * p.d, (i + 1) * p.d)));
  const file = join(dir, "data.json");
  writeFileSync(file, JSON.stringify({ X: rows(p.X, p.n), y: Array.from(p.y), Xtest: rows(p.Xtest, p.nTest), ytest: Array.from(p.ytest) }));
  const out = join(dir, "out");
  const r = run(["--data", file, "--method", "n-sam", "--rho", "0.05", "--steps", "500", "--out", out]);
  assert.equal(r.code, 0, r.err);
  const j = read(out);
  assert.deepEqual(j.spec.data, { kind: "file", file, sha256: createHash("sha256").update(readFileSync(file)).digest("hex"), n: 8, nTest: 20, d: 10 });
  assert.equal(j.spec.lr, 1.5);
  assert.equal(j.recoveryError, null, "no betaStar in the file");
  assert.doesNotMatch(r.out, /β\*/);
  const lib = trainDiagNet({ ...p, betaStar: null }, { alpha: 0.05, lr: 1.5, phases: [{ method: "n-sam", rho: 0.05, steps: 500 }] });
  assert.deepEqual(j.beta, lib.beta);
});

test("--then switches method after --steps, from the reached state", () => {
  const out = tmp();
  const r = run(["--seed", "0", "--method", "erm", "--steps", "400", "--then", "1-sam", "--then-rho", "0.5", "--then-steps", "300", "--out", out]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^diag-net erm ×400 → 1-sam ρ 0.5 ×300 /);
  const j = read(out);
  assert.deepEqual(j.spec.phases, [{ method: "erm", rho: 0, steps: 400 }, { method: "1-sam", rho: 0.5, steps: 300 }]);
  assert.deepEqual(j.phaseEnds, [400, 700]);
  assert.equal(j.diverged, false);
  assert.equal(j.steps, 700);
  assert.ok(j.curve.some((c: { step: number }) => c.step === 400));
  const lib = trainDiagNet(sparseRegression({ seed: 0 }), { alpha: 0.05, lr: 0.5, phases: [{ method: "erm", rho: 0, steps: 400 }, { method: "1-sam", rho: 0.5, steps: 300 }] });
  assert.deepEqual(j.beta, lib.beta);
  // --then-steps defaults to --steps
  const out2 = tmp();
  assert.equal(run(["--seed", "0", "--method", "1-sam", "--rho", "0.1", "--steps", "50", "--then", "erm", "--out", out2]).code, 0);
  assert.deepEqual(read(out2).phaseEnds, [50, 100]);
});

test("a diverged run exits 0, says where, and writes null losses", () => {
  const out = tmp();
  const r = run(["--seed", "0", "--method", "erm", "--lr", "100", "--out", out]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out.trim(), /: diverged at step \d+ → /);
  const j = read(out);
  assert.equal(j.diverged, true);
  assert.ok(j.steps > 0 && j.steps < 10000);
  for (const k of ["trainLoss", "testLoss", "l1Norm", "recoveryError", "beta"]) assert.equal(j[k], null, k);
});

test("--help lists the flags and the defaults", () => {
  const r = run(["--help"]);
  assert.equal(r.code, 0);
  for (const s of ["--data", "--seed", "--method", "--rho", "--lr", "15/d", "--steps", "--alpha", "--then", "--then-rho", "--then-steps", "--curve-points", "--out", "diverged at step N"]) assert.ok(r.out.includes(s), `--help lacks ${s}`);
});

const dir = tmp();
const badFile = join(dir, "bad.json");
writeFileSync(badFile, JSON.stringify({ X: [[1, 2], [3, 4]], y: [1, 2], Xtest: [[1, 2, 3]], ytest: [1] }));
const notJson = join(dir, "not.json");
writeFileSync(notJson, "{ X: ");
const out = join(dir, "out");

const bad: [string[], RegExp][] = [
  [["--seed", "0", "--method", "erm"], /diag-net: --out DIR is required/],
  [["--seed", "0", "--out", out], /diag-net: --method erm\|n-sam\|1-sam is required/],
  [["--method", "erm", "--out", out], /diag-net: give --seed S \(the paper's synthetic problem\) or --data FILE/],
  [["--seed", "0", "--data", badFile, "--method", "erm", "--out", out], /diag-net: give either --data FILE or --seed S, not both/],
  [["--seed", "0", "--method", "sgd", "--out", out], /--method must be one of erm, n-sam, 1-sam \(got "sgd"\)/],
  [["--seed", "0", "--method", "erm", "--then-rho", "1", "--out", out], /diag-net: --then-rho needs --then erm\|n-sam\|1-sam/],
  [["--seed", "0", "--method", "erm", "--then-steps", "10", "--out", out], /diag-net: --then-steps needs --then/],
  [["--seed", "0", "--method", "erm", "--then", "2-sam", "--out", out], /--then must be one of erm, n-sam, 1-sam/],
  [["--data", badFile, "--method", "erm", "--out", out], /--data .*bad\.json: Xtest\[0\] has 3 numbers, expected 2 \(the width of X\)/],
  [["--data", notJson, "--method", "erm", "--out", out], /--data .*not\.json: not valid JSON/],
  [["--data", join(dir, "missing.json"), "--method", "erm", "--out", out], /--data .*missing\.json: no such file/],
  [["--data", badFile, "--d", "5", "--method", "erm", "--out", out], /--d only applies to the synthetic problem \(--seed\)/],
  [["--seed", "0", "--method", "n-sam", "--rho", "-1", "--out", out], /--rho must be a finite number ≥ 0 \(got -1\)/],
  [["--seed", "0", "--method", "erm", "--rho", "0.1", "--out", out], /--rho has no effect with --method erm/],
  [["--seed", "0", "--method", "erm", "--lr", "0", "--out", out], /--lr must be a finite number > 0 \(got 0\)/],
  [["--seed", "0", "--method", "erm", "--alpha", "-0.05", "--out", out], /--alpha must be a finite number > 0/],
  [["--seed", "0", "--method", "erm", "--steps", "-1", "--out", out], /--steps must be an integer in \[0, 10000000\] \(got -1\)/],
  [["--seed", "0", "--method", "erm", "--steps", "1.5", "--out", out], /--steps must be an integer \(got "1\.5"\)/],
  [["--seed", "-2", "--method", "erm", "--out", out], /--seed must be an integer in \[0, 4294967295\] \(got -2\)/],
  // Sizes whose arrays would not fit (issue 15: --n-test 1e9 was a RangeError from a typed array).
  [["--seed", "0", "--method", "erm", "--n-test", "1000000000", "--out", out], /--n-test must be an integer in \[1, 1000000\] \(got 1000000000\)/],
  [["--seed", "0", "--method", "erm", "--n-test", "1000000", "--d", "1000", "--out", out], /--n-test × --d must be at most 10000000 numbers \(got 1000000 × 1000\)/],
  [["--seed", "4294967296", "--method", "erm", "--out", out], /--seed must be an integer in \[0, 4294967295\]/],
  [["--seed", "0", "--method", "erm", "--out", ""], /--out needs a directory path/],
  [["--seed", "0", "--k", "40", "--method", "erm", "--out", out], /--k must be an integer in \[1, --d = 30\] \(got 40\)/],
  [["--seed", "0", "--method", "erm", "--curve-points", "1", "--out", out], /--curve-points must be an integer in \[2, 10000\] \(got 1\)/],
  [["--seed", "0", "--method", "erm", "--frob", "--out", out], /diag-net: unknown flag --frob/],
];

for (const [args, message] of bad) {
  test(`bad input exits 2 with one line: sharpness diag-net ${args.map((a) => a.replace(dir, "…")).join(" ")}`, () => {
    const r = run(args);
    assert.equal(r.code, 2, `exit code ${r.code}; stderr: ${r.err}`);
    const lines = r.err.trim().split("\n");
    assert.equal(lines.length, 1, `stderr should be one line: ${r.err}`);
    assert.match(lines[0], /^sharpness: /);
    assert.match(lines[0], message);
    assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace");
    assert.equal(existsSync(join(out, "result.json")), false, "nothing written");
  });
}
