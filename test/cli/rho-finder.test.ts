/** `sharpness rho-finder` (issue 13): the grid, the verdict rule, a small run end to end, bad input. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_RHOS, logGrid, rhoVerdict, type RhoFinderResult } from "../../src/cli/rho-finder.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const cli = join(root, "build", "src", "cli", "main.js");
const run = (args: string[]) => {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd: root, env: { ...process.env, SHARPNESS_DEBUG: "" } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

test("the default grid: 7 log-spaced values from 0.01 to 1", () => {
  assert.deepEqual(DEFAULT_RHOS, [0.01, 0.0215, 0.0464, 0.1, 0.215, 0.464, 1]);
  assert.deepEqual(logGrid(0.1, 10, 3), [0.1, 1, 10]);
});

test("the verdict rule: the test gain's 95% interval above 0, below 0, or neither; too few seeds is incomplete", () => {
  assert.equal(rhoVerdict({ n: 3, mean: 0.02, ci: 0.01 }), "worth it");
  assert.equal(rhoVerdict({ n: 3, mean: -0.02, ci: 0.01 }), "it hurts");
  assert.equal(rhoVerdict({ n: 3, mean: 0.02, ci: 0.03 }), "no clear gain");
  assert.equal(rhoVerdict({ n: 1, mean: 0.02, ci: NaN }), "incomplete");
  assert.equal(rhoVerdict(null), "incomplete");
});

test("rho-finder end to end: runs, picks ρ* on validation, reports the test gain and λ_max", () => {
  const out = mkdtempSync(join(tmpdir(), "rho-finder-"));
  const args = ["rho-finder", "--epochs", "1", "--train-size", "500", "--validation-size", "300", "--label-noise", "0", "--rhos", "0.02,0.2", "--seeds", "0,1", "--out", out, "--jobs", "2"];
  const r = run(args);
  assert.equal(r.code, 0, r.err);
  const res = JSON.parse(readFileSync(join(out, "rho-finder.json"), "utf8")) as RhoFinderResult;
  assert.deepEqual(res.rhos, [0.02, 0.2]);
  assert.equal(res.rows.length, 2);
  for (const row of res.rows) {
    assert.ok(row.validation > 0.3 && row.validation <= 1, `validation ${row.validation}`);
    assert.equal(row.testGain.n, 2);
  }
  // ρ* is the best mean validation accuracy, and the verdict follows the rule from its test gain.
  const best = res.rows.reduce((a, b) => (b.validation > a.validation ? b : a));
  assert.equal(res.best!.rho, best.rho);
  assert.equal(res.verdict, rhoVerdict(res.best!.testGain));
  assert.equal(res.sharpness!.base.length, 2);
  assert.ok(res.sharpness!.base.every((x) => Number.isFinite(x) && x > 0));
  assert.match(r.out, /ρ\* = 0\.(02|2): expected gain over sgd on test/);
  assert.match(r.out, /verdict: (worth it|it hurts|no clear gain)/);
  assert.match(readFileSync(join(out, "rho-finder.html"), "utf8"), /<svg/);
  // (A rerun resumes like any sweep: test/sweep covers it.)
});

for (const [args, re] of [
  [["--rhos", "0,0.1"], /--rhos must list numbers > 0 \(got "0"\)/],
  [["--rhos", "a"], /--rhos must list numbers > 0/],
  [["--seeds", "-1"], /--seeds must list integers ≥ 0/],
  [["--rho", "0.1"], /the grid is --rhos/],
  [["--optimizer", "sgd"], /rho-finder: optimizer sgd has no ρ/],
  [["--epochs", "0"], /--epochs must be an integer ≥ 1/],
] as [string[], RegExp][]) {
  test(`rho-finder ${args.join(" ")}: one line, exit 2`, () => {
    const r = run(["rho-finder", ...args, "--out", mkdtempSync(join(tmpdir(), "rf-bad-"))]);
    assert.equal(r.code, 2, r.out + r.err);
    assert.match(r.err, re);
    assert.equal(r.err.trim().split("\n").length, 1, r.err);
  });
}
