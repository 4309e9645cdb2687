/** The CLI as a user meets it: every bad input is one line on stderr and exit code 2. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync, writeFileSync, readdirSync } from "node:fs";
import { validateResult } from "../../src/report/schema.js";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const cli = join(root, "build", "src", "cli", "main.js");

function run(args: string[], timeout = 0) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd: root, timeout, env: { ...process.env, SHARPNESS_DEBUG: "" } });
  return { code: r.status, out: r.stdout, err: r.stderr, error: r.error };
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
  // Issue 15: sizes out of range are errors naming the allowed range (never clamped), before loading.
  [["train", "--train-size", "99999999"], /--train-size must be an integer in \[10, 60000\]: fashion-mnist has 60000 training images \(got 99999999\)/],
  [["train", "--dataset", "mnist", "--train-size", "59999"], /--train-size must be an integer in \[10, 54215\], or 60000 \(the whole training set\): a stratified subset of 59999 needs 6000 images of class 0, which has 5923/],
  [["train", "--train-size", "59000", "--validation-size", "5000"], /--validation-size must be 0 or an integer in \[10, 1000\] with --train-size 59000/],
  [["train", "--seed", "4294967296"], /--seed must be an integer in \[0, 4294967295\] \(got 4294967296\)/],
  [["train", "--checkpoint-every", "0"], /--checkpoint-every must be an integer ≥ 1 \(got 0\)/],
  [["train", "--out", ""], /--out needs a directory path \(got ""\)/],
  [["train", "--spec", "/"], /--spec \/: is a directory, not a JSON file/],
  [["train", "--constructor", "1"], /train: unknown flag --constructor/],
  [["compare", "--optimizers", "constructor:rho=1"], /--optimizers: unknown optimizer "constructor"/],
  [["compare", "--seeds", Array.from({ length: 5001 }, (_, i) => i).join(",")], /compare: 4 optimizers × 5001 seeds is 20004 runs; at most 10000/],
  [["train", "--unknown\nflag"], /^sharpness: train: unknown flag --unknown\\nflag/],
  [[], /no command given/],
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
  // --out is a directory, as in every command (created if missing).
  const measured = join(a, "measured");
  const m = run(["measure", "--checkpoint", a, "--points", "256", "--m", "64", "--steps", "5", "--samples", "4", "--iterations", "5", "--trace-samples", "3", "--measures", "m-sharpness,adaptive,average,hessian,anatomy,landscape", "--grid", "3", "--out", measured]);
  assert.equal(m.code, 0, m.err);
  assert.match(m.out, /64-sharpness \(l2, ρ 0.05, 5 steps\)\s+[\d.]+/);
  assert.match(m.out, /Hessian λ_max/);
  const json = JSON.parse(readFileSync(join(measured, "measures.json"), "utf8"));
  for (const k of ["m-sharpness", "adaptive", "average", "hessian", "anatomy", "landscape"]) assert.ok(k in json.results, k);
  assert.ok(existsSync(join(measured, "landscape.svg")));
  const i = run(["interpolate", a, b, "--alphas", "3", "--train-points", "128", "--out", join(a, "interp")]);
  assert.equal(i.code, 0, i.err);
  assert.equal(JSON.parse(readFileSync(join(a, "interp", "interpolation.json"), "utf8")).rows.length, 3);
  assert.match(readFileSync(join(a, "interp", "interpolation.svg"), "utf8"), /<svg/);
  // The old meanings of --out (a JSON file, a prefix) and an --out that is a file: one line, exit 2, before any loading.
  for (const [args, message] of [
    [["measure", "--checkpoint", a, "--out", join(a, "m.json")], /measure: --out takes a directory \(it gets measures\.json and landscape\.svg\), not a file name/],
    [["measure", "--checkpoint", a, "--out", join(a, "metrics.jsonl")], /--out .*metrics\.jsonl: exists and is a file, not a directory/],
    [["interpolate", a, b, "--out", join(a, "a-b.svg")], /interpolate: --out takes a directory/],
  ] as const) {
    const r = run([...args]);
    assert.equal(r.code, 2, r.err);
    assert.equal(r.err.trim().split("\n").length, 1, r.err);
    assert.match(r.err, message);
  }
  assert.ok(!existsSync(join(a, "m.json")) && !existsSync(join(a, "a-b.svg")));
  const bad = run(["measure", "--checkpoint", a, "--measures", "vibes"]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--measures: unknown measure "vibes"/);
  assert.match(run(["measure"]).err, /measure: --checkpoint DIR is required/);
  assert.match(run(["measure", "--checkpoint", "/nonexistent"]).err, /no checkpoint here or under/);
  assert.match(run(["interpolate", a]).err, /interpolate: needs two run directories A and B \(got 1\)/);
});

test("sharpness --version and -V print the package's version", () => {
  const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
  for (const flag of ["--version", "-V"]) {
    const r = run([flag]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `${version}\n`);
  }
});

test("one meaning per flag: the renamed flags of measure and interpolate say what they are now", () => {
  for (const [args, message] of [
    [["measure", "--checkpoint", "/nonexistent", "--sigma", "0.1"], /^sharpness: measure: --sigma is now --noise-std /],
    [["interpolate", "a", "b", "--points=3"], /^sharpness: interpolate: --points is now --alphas /],
    [["interpolate", "/nonexistent-a", "/nonexistent-b"], /no checkpoint here or under/],
  ] as const) {
    const r = run([...args]);
    assert.equal(r.code, 2, r.err);
    assert.equal(r.err.trim().split("\n").length, 1, r.err);
    assert.match(r.err, message);
  }
  assert.match(run(["measure", "--help"]).out, /--noise-std N +σ of average-case sharpness/);
  assert.match(run(["interpolate", "--help"]).out, /--alphas N +α values from 0 to 1/);
});

// ---- issue 15: the output directory is checked before any data is loaded; divergence is said

/** One stderr line, exit 2, and no data loaded (no "loading …" line). */
function refusedEarly(r: ReturnType<typeof run>, message: RegExp): void {
  assert.equal(r.error, undefined, `did not finish: ${r.error}`);
  assert.equal(r.code, 2, `exit ${r.code}; stderr: ${r.err}`);
  assert.deepEqual(r.err.trim().split("\n").length, 1, r.err);
  assert.doesNotMatch(r.err, /^loading /m, "refused before loading the data");
  assert.match(r.err, message);
}

test("--out under /proc (where Node's recursive mkdir spins) is refused at once, before loading", { skip: !existsSync("/proc/self") }, () => {
  const t0 = Date.now();
  refusedEarly(run(["train", "--out", "/proc/x", "--epochs", "1", "--train-size", "256"], 20_000), /^sharpness: --out \/proc\/x: cannot create the directory \/proc\/x \(/);
  assert.ok(Date.now() - t0 < 15_000);
  for (const cmd of [["sweep", "--spec", join(root, "package.json")], ["reproduce", "label-noise"], ["rho-finder"], ["compare"], ["diag-net", "--seed", "0", "--method", "erm"]]) {
    const r = run([...cmd, "--out", "/proc/x/y"], 20_000);
    if (cmd[0] === "sweep") assert.match(r.err, /a sweep must|unknown field/); // the sweep file is checked first
    else refusedEarly(r, /--out \/proc\/x\/y: cannot create the directory \/proc\/x/);
  }
});

test("--out naming an existing file is a one-line error (exit 2) before loading, in every command that writes one", () => {
  const dir = mkdtempSync(join(tmpdir(), "outfile-"));
  const file = join(dir, "f.txt");
  writeFileSync(file, "mine");
  for (const cmd of [["train"], ["compare"], ["rho-finder"], ["reproduce", "relu-1d-simplicity"], ["diag-net", "--seed", "0", "--method", "erm"]]) {
    refusedEarly(run([...cmd, "--out", file]), /--out \S+f\.txt: exists and is a file, not a directory/);
    refusedEarly(run([...cmd, "--out", join(file, "sub")]), /--out \S+f\.txt\/sub: \S+f\.txt is a file, not a directory/);
  }
  assert.equal(readFileSync(file, "utf8"), "mine");
  refusedEarly(run(["report", file]), /report \S+f\.txt|has no runs\//);
});

test("--lr 1e30 diverges: exit 0, DIVERGED in the final line, \"diverged\": true in result.json (schema-valid); a rerun is already done; another spec is refused unless --overwrite", () => {
  const out = mkdtempSync(join(tmpdir(), "div-"));
  const args = ["train", "--dataset", "mnist", "--train-size", "100", "--batch-size", "50", "--epochs", "1", "--hidden", "8", "--lr", "1e30", "--out", out];
  const r = run(args);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /final test accuracy\s+[\d.]+% .*— DIVERGED: the final test loss is not finite/);
  assert.match(r.err, /warning: the run diverged/);
  const result = JSON.parse(readFileSync(join(out, "result.json"), "utf8"));
  assert.equal(result.metrics.diverged, true);
  assert.equal(result.metrics.testLoss, null);
  assert.deepEqual(validateResult(result), []);
  const bytes = readFileSync(join(out, "result.json"), "utf8");
  const again = run(args);
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /already done: .* holds this run's result/);
  const other = run([...args.slice(0, -2), "--lr", "0.1", "--out", out]);
  refusedEarly(other, /--out \S+ already holds a finished run of another spec \(SAM ρ=0\.05, key [0-9a-f]{16}\); choose another --out, or add --overwrite to replace it/);
  assert.equal(readFileSync(join(out, "result.json"), "utf8"), bytes, "the finished result is untouched");
  const replaced = run([...args.slice(0, -2), "--lr", "0.1", "--overwrite", "--out", out]);
  assert.equal(replaced.code, 0, replaced.err);
  const fresh = JSON.parse(readFileSync(join(out, "result.json"), "utf8"));
  assert.equal(fresh.metrics.diverged, false);
  assert.notEqual(fresh.key, result.key);
});

test("--dry-run checks everything, creates the output directory, and loads, runs and writes nothing", () => {
  const out = join(mkdtempSync(join(tmpdir(), "dry-")), "a", "b");
  const r = run(["train", "--dry-run", "--epochs", "2", "--out", out]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^dry run: would train SAM ρ=0\.05 \(base sgd\) on fashion-mnist \(10000 images\), mlp, 2 epochs of 78 steps; key [0-9a-f]{16}; into /);
  assert.equal(r.err, "");
  assert.deepEqual(readdirSync(out), []);
  const c = run(["compare", "--dry-run", "--optimizers", "sgd,sam", "--seeds", "0,1", "--out", out]);
  assert.equal(c.code, 0, c.err);
  assert.match(c.out, /dry run: 4 runs into .* \(0 already done, 0 failed before, 4 to run\): SGD; SAM ρ=0\.05; SGD; …/);
  assert.deepEqual(readdirSync(out), []);
});

test("a sweep with an invalid grid point fails before anything is written (naming the point and the field)", () => {
  const dir = mkdtempSync(join(tmpdir(), "badsweep-"));
  const file = join(dir, "sweep.json");
  writeFileSync(file, JSON.stringify({ base: { data: { name: "mnist", trainSize: 100 }, optimizer: { name: "sam", base: { name: "sgd", lr: 0.1 } }, epochs: 1, batchSize: 50 }, grid: { "optimizer.rho": [0.1, -1], seed: [0, 1] } }));
  const out = join(dir, "out");
  for (const extra of [[], ["--queue", "redis://127.0.0.1:1"]]) {
    refusedEarly(run(["sweep", "--spec", file, "--out", out, ...extra]), /--spec \S+sweep\.json: run seed=0, optimizer\.rho=-1: optimizer\.rho must be a finite number ≥ 0 \(got -1\)\n$/);
    assert.equal(existsSync(out), false, "nothing written");
  }
  writeFileSync(file, JSON.stringify({ base: { data: { name: "mnist", trainSize: 100 }, epochs: 1, batchSize: 50 }, grid: Object.fromEntries(["seed", "epochs", "batchSize", "optimizer.rho", "model.hidden"].map((k) => [k, Array.from({ length: 10 }, (_, i) => i + 1)])) }));
  refusedEarly(run(["sweep", "--spec", file, "--out", out]), /the sweep expands to 100000 runs \(10 × 10 × 10 × 10 × 10\); at most 10000 per sweep/);
  refusedEarly(run(["sweep", "--spec", join(root, "package.json"), "--out", out, "--queue", "redis://127.0.0.1:1"]), /unknown field "name"/);
  assert.equal(existsSync(out), false);
});

test("a device this machine lacks and a model too wide for the engine's memory are one-line errors (exit 2), not internal errors", () => {
  const common = ["train", "--dataset", "mnist", "--train-size", "100", "--batch-size", "50", "--epochs", "1"];
  const gpu = run([...common, "--device", "webgpu", "--out", mkdtempSync(join(tmpdir(), "gpu-"))]);
  if (gpu.code !== 0) refusedEarly(gpu, /^sharpness: --device webgpu: device "webgpu": no WebGPU adapter here/);
  const wide = run([...common, "--device", "wasm", "--hidden", "100000", "--out", mkdtempSync(join(tmpdir(), "wide-"))]);
  assert.equal(wide.code, 2, wide.err);
  assert.deepEqual(wide.err.trim().split("\n").filter((l) => !l.startsWith("loading ")), ["sharpness: out of memory: the run does not fit in the engine's memory (Allocation exceeds the 4 GiB memory32 limit); use a smaller --hidden, --batch-size or data set"]);
});
