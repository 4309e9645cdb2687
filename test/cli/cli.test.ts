/** The CLI as a user meets it: every bad input is one line on stderr and exit code 2. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const cli = join(root, "build", "src", "cli", "main.js");

function run(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd: root, env: { ...process.env, SHARPNESS_DEBUG: "" } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const bad: [string[], RegExp][] = [
  [["train", "--rho", "-0.1"], /--rho must be a finite number ≥ 0 \(got -0\.1\)/],
  [["train", "--optimizer", "fsam", "--lambda", "1"], /--lambda must be a finite number in \[0, 1\) \(got 1\)/],
  [["train", "--optimizer", "fsam", "--lambda", "-0.5"], /--lambda must be a finite number in \[0, 1\)/],
  [["train", "--lambda", "0.5"], /--lambda is not a hyperparameter of optimizer sam \(it is of fsam, fasam, gnr, saf, mesa\)/],
  [["train", "--optimizer", "adagrad"], /--optimizer must be one of sgd, sam, asam, fsam, fasam, .* \(got "adagrad"\)/],
  [["train", "--dataset", "cifar10"], /--dataset must be one of fashion-mnist, mnist \(got "cifar10"\)/],
  [["train", "--epochs", "0"], /--epochs must be an integer ≥ 1 \(got 0\)/],
  [["train", "--batch-size", "0"], /--batch-size must be an integer ≥ 1 \(got 0\)/],
  [["train", "--label-noise", "1"], /--label-noise must be a finite number in \[0, 1\) \(got 1\)/],
  [["train", "--label-noise", "-0.2"], /--label-noise must be a finite number in \[0, 1\)/],
  [["train", "--lr", "fast"], /--lr must be a number \(got "fast"\)/],
  [["train", "--epochs", "2.5"], /--epochs must be an integer \(got "2\.5"\)/],
  [["train", "--epochs"], /--epochs needs a value/],
  [["train", "--frobnicate", "3"], /train: unknown flag --frobnicate/],
  [["train", "extra"], /unexpected argument "extra"/],
  [["train", "--base", "adam"], /--lr is required/],
  [["train", "--train-size", "100", "--batch-size", "200"], /--batch-size 200 is larger than --train-size 100/],
  [["train", "--m", "7"], /--m must divide --batch-size 128 \(got 7\)/],
  [["train", "--m", "16", "--batch-norm"], /--m cannot be combined with --batch-norm/],
  [["train", "--optimizer", "gnr", "--method", "finite-difference", "--lambda", "0.5"], /gradNormPenalty: lambda must be ≤ r for the finite-difference form/],
  [["train", "--optimizer", "looksam", "--rho-schedule", "inv-sqrt"], /--rho-schedule is not a hyperparameter of optimizer looksam/],
  [["train", "--spec", "/nonexistent.json"], /--spec \/nonexistent\.json: no such file/],
  [["compare", "--optimizers", "sgd,nope"], /unknown optimizer "nope"/],
  [["compare", "--optimizers", "sam:rh0=1"], /bad override "rh0=1"/],
  [["compare", "--optimizers", "sam:rho=x"], /rho in "sam:rho=x" must be a number \(got "x"\)/],
  [["compare", "--seeds", "0,x"], /--seeds must list integers ≥ 0 \(got "x"\)/],
  [["compare", "--train-size", "5"], /--train-size must be an integer ≥ 10 \(got 5\)/],
  [["compare", "--jobs", "0"], /--jobs must be an integer ≥ 1 \(got 0\)/],
  [["fly"], /unknown command "fly"/],
  [["train", "--optimizer", "looksam", "--k", "0"], /--k must be an integer ≥ 1 \(got 0\)/],
  [["train", "--p", "abc"], /--p must be a finite number > 1 \(or Infinity\) \(got "abc"\)/],
  [["train", "--p", "1"], /--p must be a finite number > 1 \(or Infinity\) \(got 1\)/],
  [["train", "--rho-schedule", "cosine"], /--rho-schedule must be one of constant, inv-sqrt, follow-lr, erm-to-sam, sam-to-erm, every-k \(got "cosine"\)/],
  [["train", "--optimizer", "multistep-sam", "--alpha", "2"], /--alpha must be a finite number in \(0, 1\] \(got 2\)/],
  [["train", "--ascent-batch", "other"], /--ascent-batch must be one of same, previous, random/],
  [["sweep"], /sweep: --spec SWEEP\.json is required/],
  [["report"], /report: give one directory \(got 0\)/],
  [["worker"], /worker: --queue redis:\/\/HOST:PORT is required/],
];

for (const [args, message] of bad) {
  test(`bad input exits 2 with one line: sharpness ${args.join(" ")}`, () => {
    const r = run(args);
    assert.equal(r.code, 2, `exit code ${r.code}; stderr: ${r.err}`);
    const lines = r.err.trim().split("\n").filter((l) => !l.startsWith("loading "));
    assert.equal(lines.length, 1, `stderr should be one line: ${r.err}`);
    assert.match(lines[0], message);
    assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace");
  });
}

test("--help on each command lists the flags", () => {
  for (const cmd of ["train", "compare"]) {
    assert.equal(run([cmd, "--help"]).code, 0);
    const r = run([cmd, "--help"]);
    assert.equal(r.code, 0);
    for (const flag of ["--rho", "--label-noise", "--batch-size", "--out"]) assert.ok(r.out.includes(flag), `${cmd} --help lacks ${flag}`);
    // Each flag's column ends before its help starts (a long choice list once ran into it:
    // "…|sam-noiseoptimizer").
    for (const line of r.out.split("\n").filter((l) => l.startsWith("  --"))) {
      assert.ok(line.length <= 34 || /^ {2}--\S+( \S+)? {2,}\S/.test(line) || !line.slice(2).includes(" ") || /^ {2}--\S+ \S+$/.test(line), `${cmd} --help: flag runs into its help: ${line}`);
    }
  }
  assert.ok(run(["compare", "--help"]).out.includes("--optimizers"));
});

test("compare runs on the pool and writes runs/<key>/, summary.json (optimizer names) and report.html", () => {
  const out = mkdtempSync(join(tmpdir(), "cmp-"));
  const r = run(["compare", "--dataset", "mnist", "--optimizers", "sgd,sam:rho=0.1", "--seeds", "0", "--epochs", "1", "--train-size", "500", "--hidden", "32", "--jobs", "2", "--out", out]);
  assert.equal(r.code, 0, r.err);
  const s = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
  assert.deepEqual(s.results.map((x: any) => x.optimizer), ["sgd", "sam"]);
  assert.deepEqual(s.results.map((x: any) => x.label), ["SGD", "SAM ρ=0.1"]);
  for (const x of s.results) {
    assert.match(x.key, /^[0-9a-f]{16}$/);
    assert.ok(existsSync(join(out, "runs", x.key, "result.json")));
    for (const k of ["testAccuracy", "bestTestAccuracy", "testLoss", "trainAccuracy", "noisyTrainAccuracy", "epochs"]) assert.ok(k in x.metrics, `missing ${k}`);
    assert.equal(x.spec.data.name, "mnist");
  }
  const html = readFileSync(join(out, "report.html"), "utf8");
  assert.ok((html.match(/<svg/g) ?? []).length >= 2, "report has SVG plots");
  assert.ok(existsSync(join(out, "metrics.jsonl")));
  const again = run(["compare", "--dataset", "mnist", "--optimizers", "sgd,sam:rho=0.1", "--seeds", "0", "--epochs", "1", "--train-size", "500", "--hidden", "32", "--out", out]);
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /0 runs executed, 2 skipped \(already done\)/);
});

test("--threads: wasm worker threads give the same run and the process exits", () => {
  const args = ["train", "--dataset", "mnist", "--epochs", "1", "--train-size", "500", "--hidden", "32", "--optimizer", "sam"];
  const one = run([...args, "--out", mkdtempSync(join(tmpdir(), "t1-"))]);
  const many = run([...args, "--threads", "--out", mkdtempSync(join(tmpdir(), "t2-"))]);
  assert.equal(one.code, 0, one.err);
  assert.equal(many.code, 0, many.err);
  assert.match(many.out, /device wasm \(threads\)/);
  const acc = (s: string) => /final test accuracy\s+([\d.]+)%/.exec(s)?.[1];
  assert.ok(acc(one.out) !== undefined);
  assert.equal(acc(many.out), acc(one.out));
});

test("measure and interpolate run on checkpoints of `sharpness train`", () => {
  const a = mkdtempSync(join(tmpdir(), "ma-"));
  const b = mkdtempSync(join(tmpdir(), "mb-"));
  const common = ["--dataset", "mnist", "--epochs", "1", "--train-size", "500", "--hidden", "16"];
  assert.equal(run(["train", ...common, "--optimizer", "sgd", "--out", a]).code, 0);
  assert.equal(run(["train", ...common, "--optimizer", "sam", "--out", b]).code, 0);
  const m = run(["measure", "--checkpoint", a, "--points", "256", "--m", "64", "--steps", "5", "--samples", "4", "--iterations", "5", "--trace-samples", "3", "--measures", "m-sharpness,adaptive,average,hessian,anatomy,landscape", "--grid", "3"]);
  assert.equal(m.code, 0, m.err);
  assert.match(m.out, /64-sharpness \(l2, ρ 0.05, 5 steps\)\s+[\d.]+/);
  assert.match(m.out, /Hessian λ_max/);
  const json = JSON.parse(readFileSync(join(a, "measures.json"), "utf8"));
  for (const k of ["m-sharpness", "adaptive", "average", "hessian", "anatomy", "landscape"]) assert.ok(k in json.results, k);
  assert.ok(existsSync(join(a, "landscape.svg")));
  const i = run(["interpolate", a, b, "--points", "3", "--train-points", "128", "--out", join(a, "interp")]);
  assert.equal(i.code, 0, i.err);
  assert.equal(JSON.parse(readFileSync(join(a, "interp.json"), "utf8")).rows.length, 3);
  assert.match(readFileSync(join(a, "interp.svg"), "utf8"), /<svg/);
  const bad = run(["measure", "--checkpoint", a, "--measures", "vibes"]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--measures: unknown measure "vibes"/);
  assert.match(run(["measure"]).err, /measure: --checkpoint DIR is required/);
  assert.match(run(["measure", "--checkpoint", "/nonexistent"]).err, /no checkpoint here or under/);
  assert.match(run(["interpolate", a]).err, /interpolate: needs two run directories A and B \(got 1\)/);
});
