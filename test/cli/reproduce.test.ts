/**
 * `sharpness reproduce` as a user runs it: every experiment at `quick` scale from real runs on
 * the pool, the files it promises, and resuming (a rerun runs only what is missing).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { EXPERIMENTS } from "../../src/experiments/index.js";
import { VERDICTS } from "../../src/experiments/experiment.js";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");
const run = (args: string[]) => {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...process.env, SHARPNESS_DEBUG: "", CI: "1" } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

test("reproduce --list prints every experiment with its source and claim", () => {
  const r = run(["reproduce", "--list"]);
  assert.equal(r.code, 0, r.err);
  for (const e of EXPERIMENTS) {
    assert.ok(r.out.includes(`${e.id}  (${e.source})`), e.id);
    assert.ok(r.out.includes(e.claim), e.id);
  }
});

for (const [args, message] of [
  [["reproduce", "no-such-claim", "--out", "x"], /^sharpness: reproduce: unknown experiment "no-such-claim" \(experiments: label-noise, /],
  [["reproduce", "label-noise"], /^sharpness: reproduce: --out DIR is required/],
  [["reproduce", "--scale", "huge", "--out", "x"], /^sharpness: --scale must be one of quick, default, full \(got "huge"\)$/],
  [["reproduce", "--jobs", "0", "--out", join(tmpdir(), "never-used")], /^sharpness: --jobs must be an integer ≥ 1 \(got 0\)$/],
] as [string[], RegExp][]) {
  test(`reproduce ${args.slice(1).join(" ")} → exit 2, one line`, () => {
    const r = run(args);
    assert.equal(r.code, 2);
    const lines = r.err.trim().split("\n");
    assert.equal(lines.length, 1, r.err);
    assert.match(lines[0], message);
  });
}

test("every experiment at quick scale: verdicts from real runs, reports with figures, an index; a rerun resumes", () => {
  const out = mkdtempSync(join(tmpdir(), "reproduce-"));
  const ids = EXPERIMENTS.map((e) => e.id);
  const first = run(["reproduce", ...ids, "--scale", "quick", "--out", out, "--jobs", "2"]);
  assert.equal(first.code, 0, first.err + first.out);
  const total = Number(/reproducing .* at scale quick: (\d+) runs/.exec(first.out)?.[1]);
  assert.ok(total > 0);
  assert.match(first.out, new RegExp(`${total} runs executed, 0 skipped`));
  const results = new Map<string, string>();
  for (const e of EXPERIMENTS) {
    const file = join(out, e.id, "result.json");
    const text = readFileSync(file, "utf8");
    results.set(e.id, text);
    const r = JSON.parse(text);
    assert.equal(r.id, e.id);
    assert.equal(r.claim, e.claim);
    assert.equal(r.source, e.source);
    assert.equal(r.scale, "quick");
    assert.ok((VERDICTS as readonly string[]).includes(r.verdict), `${e.id}: ${r.verdict}`);
    assert.ok(r.reason.length > 10);
    assert.ok(Object.keys(r.numbers).length >= 3, `${e.id} has numbers`);
    assert.deepEqual(r.failed, []);
    assert.ok(r.keys.every((k: string) => existsSync(join(out, "runs", k, "result.json"))), `${e.id}: every run stored`);
    const html = readFileSync(join(out, e.id, "report.html"), "utf8");
    assert.ok(html.includes("<svg"), `${e.id} report has figures`);
    assert.ok(html.includes(r.verdict), `${e.id} report states the verdict`);
    assert.ok(first.out.includes(`${e.id}: ${r.verdict.toUpperCase()}`));
  }
  const index = readFileSync(join(out, "index.html"), "utf8");
  for (const e of EXPERIMENTS) assert.ok(index.includes(`href="${e.id}/report.html"`), `index links ${e.id}`);

  // A rerun runs nothing and gives the same verdicts and numbers (two experiments, one of each kind, to keep the suite short).
  const some = ["label-noise", "implicit-bias-diagonal"];
  const again = run(["reproduce", ...some, "--scale", "quick", "--out", out]);
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /\n0 runs executed, \d+ skipped/);
  for (const id of some) assert.equal(readFileSync(join(out, id, "result.json"), "utf8"), results.get(id), `${id} unchanged`);

  // Losing one run's result: only that run runs again.
  const key = JSON.parse(results.get("implicit-bias-diagonal")!).keys[4];
  rmSync(join(out, "runs", key, "result.json"));
  const third = run(["reproduce", "implicit-bias-diagonal", "--scale", "quick", "--out", out]);
  assert.equal(third.code, 0, third.err);
  assert.match(third.out, /1 runs executed, \d+ skipped/);
  assert.equal(readFileSync(join(out, "implicit-bias-diagonal", "result.json"), "utf8"), results.get("implicit-bias-diagonal"));
  // The index keeps the experiments that were not rerun.
  const index2 = readFileSync(join(out, "index.html"), "utf8");
  for (const e of EXPERIMENTS) assert.ok(index2.includes(`href="${e.id}/report.html"`));
});
