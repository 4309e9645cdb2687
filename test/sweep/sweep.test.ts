/**
 * Local sweeps as a user meets them, with real processes: --jobs 1 ≡ --jobs 2 ≡ a run alone
 * (bit for bit but the wall time), SIGINT then rerun (only unfinished runs execute), SIGKILL of a
 * run's process (retried, one result), SIGKILL of the sweep itself (its children stop; the rerun
 * resumes), a run that always fails (recorded, skipped, --retry-failed), results valid against
 * the JSON Schema, the report's metric-vs-ρ plot.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { initEngine } from "../../src/index.js";
import { loadMnist } from "../../src/data/mnist.js";
import { train } from "../../src/train/trainer.js";
import { toRunResult, withoutTimes, type RunResult } from "../../src/train/result.js";
import { expandSweep } from "../../src/sweep/grid.js";
import { runKey } from "../../src/train/spec.js";
import { validateResult, validateSummary } from "../../src/report/schema.js";
import { mnistSpec } from "../train/specs.js";

before(() => initEngine("wasm"));

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");
const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));
const runCli = (a: string[]) => spawnSync(process.execPath, [cli, ...a], { encoding: "utf8", env: { ...process.env, SHARPNESS_DEBUG: "" } });

function sweepFile(dir: string, base: Record<string, unknown>, grid: Record<string, unknown[]>): string {
  const file = join(dir, "sweep.json");
  writeFileSync(file, JSON.stringify({ title: "test sweep", base, grid }));
  return file;
}

const results = (out: string): Map<string, RunResult> =>
  new Map(readdirSync(join(out, "runs")).filter((k) => existsSync(join(out, "runs", k, "result.json"))).map((k) => [k, JSON.parse(readFileSync(join(out, "runs", k, "result.json"), "utf8")) as RunResult]));

const children = (pid: number): number[] => {
  const r = spawnSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" });
  return r.stdout.split("\n").map((s) => Number(s.trim())).filter((n) => n > 0);
};
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(what: string, ok: () => boolean, child?: ChildProcess, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (child && child.exitCode !== null) throw new Error(`the sweep ended before: ${what}`);
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const exited = (c: ChildProcess) => new Promise<number | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.once("exit", (code) => r(code))));

const small = (o: Parameters<typeof mnistSpec>[0] = {}) => mnistSpec({ hidden: 16, trainSize: 300, epochs: 4, labelNoise: 0.2, ...o });

test("--jobs 2 ≡ --jobs 1 ≡ a run alone; SIGINT then rerun executes only unfinished runs; the rerun after that executes nothing", async () => {
  const dir = tmp("sw-");
  const file = sweepFile(dir, small({ epochs: 8 }), { "optimizer.name": ["sam", "asam"], "optimizer.rho": [0.05, 0.1], seed: [0, 1] });
  const keys = expandSweep(JSON.parse(readFileSync(file, "utf8"))).map(runKey);
  assert.equal(keys.length, 8);
  const a = join(dir, "a");
  const child = spawn(process.execPath, [cli, "sweep", "--spec", file, "--out", a, "--jobs", "2"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  await until("two results", () => existsSync(join(a, "runs")) && results(a).size >= 2, child);
  child.kill("SIGINT");
  assert.equal(await exited(child), 130, out);
  assert.match(out, /interrupted: \d+ runs executed/);
  const first = results(a).size;
  assert.ok(first >= 2 && first < 8, `${first} results after SIGINT`);
  const rerun = runCli(["sweep", "--spec", file, "--out", a, "--jobs", "2"]);
  assert.equal(rerun.status, 0, rerun.stderr);
  assert.match(rerun.stdout, new RegExp(`${8 - first} runs executed, ${first} skipped \\(already done\\)`));
  const again = runCli(["sweep", "--spec", file, "--out", a]);
  assert.match(again.stdout, /0 runs executed, 8 skipped \(already done\)/);

  const b = join(dir, "b");
  assert.equal(runCli(["sweep", "--spec", file, "--out", b, "--jobs", "1"]).status, 0);
  const ra = results(a);
  const rb = results(b);
  assert.deepEqual([...ra.keys()].sort(), [...keys].sort());
  for (const k of keys) assert.deepEqual(withoutTimes(ra.get(k)!), withoutTimes(rb.get(k)!), `run ${k}: --jobs 2 (interrupted, resumed) ≠ --jobs 1`);
  // …and equal to the same spec trained alone, in this process.
  const spec = expandSweep(JSON.parse(readFileSync(file, "utf8")))[3];
  const alone = toRunResult(await train(spec, loadMnist()), "wasm");
  assert.deepEqual(withoutTimes(alone), withoutTimes(ra.get(runKey(spec))!));

  for (const r of ra.values()) assert.deepEqual(validateResult(r), [], `result ${r.key} fits schema/result.schema.json`);
  const summary = JSON.parse(readFileSync(join(a, "summary.json"), "utf8"));
  assert.deepEqual(validateSummary(summary), []);
  assert.equal(summary.results.length, 8);
  assert.deepEqual(summary.results.map((r: RunResult) => r.optimizer).slice(0, 2), ["sam", "sam"]);
  assert.ok(summary.varying.includes("optimizer.rho"));
  const html = readFileSync(join(a, "report.html"), "utf8");
  assert.match(html, /against optimizer\.rho|vs\.? optimizer\.rho|optimizer\.rho/);
  assert.ok((html.match(/<svg/g) ?? []).length >= 3, "curves + metric-vs-ρ plots");
});

test("SIGKILL of a run's process: the run is retried and ends with one result, equal to an uninterrupted run", async () => {
  const dir = tmp("kill-");
  const spec = small({ epochs: 12, trainSize: 1000 });
  const file = sweepFile(dir, spec, { seed: [0] });
  const key = runKey(spec);
  const out = join(dir, "out");
  const child = spawn(process.execPath, [cli, "sweep", "--spec", file, "--out", out, "--jobs", "1"], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout!.on("data", (d) => (log += d));
  await until("a checkpoint of the run", () => existsSync(join(out, "runs", key, "checkpoints", "latest")), child);
  const [runProc] = children(child.pid!);
  assert.ok(runProc, "the run's process");
  process.kill(runProc, "SIGKILL");
  assert.equal(await exited(child), 0, log);
  assert.match(log, /retrying SAM ρ=0\.05 seed 0 \[[0-9a-f]{16}\]: run process killed by SIGKILL/);
  assert.match(log, /1 runs executed, 0 skipped/);
  const r = results(out);
  assert.equal(r.size, 1);
  const alone = toRunResult(await train(spec, loadMnist()), "wasm");
  assert.deepEqual(withoutTimes(r.get(key)!), withoutTimes(alone));
});

test("SIGKILL of the sweep: its run processes stop; the rerun resumes them and the results are exact", async () => {
  const dir = tmp("kill9-");
  const base = small({ epochs: 12, trainSize: 1000 });
  const file = sweepFile(dir, base, { seed: [0, 1] });
  const out = join(dir, "out");
  const child = spawn(process.execPath, [cli, "sweep", "--spec", file, "--out", out, "--jobs", "2"], { stdio: "ignore" });
  const keys = [0, 1].map((seed) => runKey({ ...base, seed }));
  await until("checkpoints of both runs", () => keys.every((k) => existsSync(join(out, "runs", k, "checkpoints", "latest"))), child);
  const procs = children(child.pid!);
  assert.equal(procs.length, 2);
  child.kill("SIGKILL");
  await exited(child);
  await until("the orphaned run processes to exit", () => procs.every((p) => !alive(p)), undefined, 10_000);
  assert.equal(results(out).size, 0);
  const rerun = runCli(["sweep", "--spec", file, "--out", out, "--jobs", "2"]);
  assert.equal(rerun.status, 0, rerun.stderr);
  const ref = join(dir, "ref");
  assert.equal(runCli(["sweep", "--spec", file, "--out", ref, "--jobs", "2"]).status, 0);
  for (const k of keys) assert.deepEqual(withoutTimes(results(out).get(k)!), withoutTimes(results(ref).get(k)!));
});

test("a run that always fails is recorded with its error, skipped by reruns, and rerun with --retry-failed", () => {
  const dir = tmp("fail-");
  // lr 1e20 overflows the parameters at the first step; with nonFinite "error" the run throws.
  const file = sweepFile(dir, small({ epochs: 1, lr: 1e20, optimizer: { name: "sam", nonFinite: "error" } }), { seed: [0], "optimizer.name": ["sam"] });
  const good = sweepFile(tmp("ok-"), small({ epochs: 1 }), { seed: [0] });
  const out = join(dir, "out");
  const r = runCli(["sweep", "--spec", file, "--out", out, "--jobs", "1"]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /FAILED SAM ρ=0\.05 nonFinite=error seed 0 \[[0-9a-f]{16}\]: NonFiniteError: epoch 1, step 1: the loss or a gradient is NaN\/Inf/);
  const [key] = readdirSync(join(out, "runs"));
  const f = JSON.parse(readFileSync(join(out, "runs", key, "failed.json"), "utf8"));
  assert.equal(f.attempts, 1, "a run that throws is not retried blindly");
  const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
  assert.equal(summary.failed.length, 1);
  assert.match(readFileSync(join(out, "report.html"), "utf8"), /NonFiniteError/);
  const again = runCli(["sweep", "--spec", file, "--out", out]);
  assert.match(again.stdout, /1 failed before \(--retry-failed reruns them\)/);
  assert.match(again.stdout, /0 runs executed/);
  const retried = runCli(["sweep", "--spec", file, "--out", out, "--retry-failed"]);
  assert.match(retried.stdout, /FAILED/);
  assert.equal(JSON.parse(readFileSync(join(out, "runs", key, "failed.json"), "utf8")).attempts, 1);
  assert.equal(runCli(["sweep", "--spec", good, "--out", join(dir, "ok")]).status, 0);
});

test("bad sweep files are one-line errors with exit code 2", () => {
  const dir = tmp("bad-");
  const cases: [unknown, RegExp][] = [
    [{ base: small(), grid: { "optimizer.rho": [0.1, -2] } }, /run optimizer\.rho=-2: optimizer\.rho must be a finite number ≥ 0 \(got -2\)/],
    [{ base: small(), grid: { seed: [] } }, /grid\.seed must be a non-empty list/],
    [{ grid: {} }, /"base" must be a run spec object/],
  ];
  for (const [content, re] of cases) {
    const file = join(dir, "s.json");
    writeFileSync(file, JSON.stringify(content));
    const r = runCli(["sweep", "--spec", file, "--out", join(dir, "o")]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, re);
  }
  writeFileSync(join(dir, "broken.json"), "{ nope");
  assert.match(runCli(["sweep", "--spec", join(dir, "broken.json"), "--out", dir]).stderr, /not valid JSON/);
  assert.match(runCli(["report", join(dir, "nothing-here")]).stderr, /has no runs\/ directory/);
});
