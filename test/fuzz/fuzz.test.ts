/**
 * Issue 15's property-based fuzz, a fixed seeded sample (its share of `npm test` stays under
 * 30 s): every target of cases.ts — argv of every command on the CLI's parse → validate layer,
 * run specs, sweeps, diag-net data files, output directories and checkpoints in-process, then the
 * real CLI spawned on a few wild argv, a tiny training, a tiny diag-net run and two resumes of a
 * mutated checkpoint. `npm run fuzz` runs 10,000 cases with a fresh seed (scripts/fuzz.ts); a
 * failure here prints the seed and path to replay it there.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { cleanWorld, makeWorld, runTarget, targets, type World } from "./cases.js";

const SEED = 15;
/** Cases per target (in-process: about a millisecond each; spawned: half a second to three seconds). */
const RUNS: Record<string, number> = {
  "argv:train": 60,
  "argv:compare": 40,
  "argv:sweep": 40,
  "argv:reproduce": 40,
  "argv:rho-finder": 30,
  "argv:diag-net": 60,
  "run-spec": 300,
  "run-spec-file": 60,
  sweep: 150,
  "sweep-file": 40,
  "diag-data": 200,
  "out-dir": 80,
  checkpoint: 60,
  cli: 8,
  "cli-train": 1,
  "cli-diag-net": 1,
  "cli-resume": 2,
};

let world: World;
before(() => {
  world = makeWorld(true);
});
after(() => cleanWorld(world));

for (const [name, numRuns] of Object.entries(RUNS)) {
  test(`fuzz ${name}: ${numRuns} seeded cases exit 0 or one clean line (exit 2)`, { timeout: 120_000 }, () => {
    const t = targets(world).find((x) => x.name === name);
    assert.ok(t, `no target ${name}`);
    const r = runTarget(name, t.arb, t.judge, { seed: SEED, numRuns, shrink: !t.spawned });
    assert.equal(r.ran >= 1, true);
    assert.ok(r.ok, `${name}: ${r.problem}\n  counterexample: ${r.counterexample}\n  replay: npm run fuzz -- --target ${name} --seed ${r.seed} --path ${r.path}`);
  });
}
