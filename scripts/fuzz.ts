/**
 * `npm run fuzz`: issue 15's property-based fuzz at full size — 10,000 cases (`--cases N`) over
 * every target of test/fuzz/cases.ts, most in-process on the CLI's parse → validate layer, the
 * rest spawning the real CLI (wild argv with --dry-run, tiny trainings, tiny diag-net runs,
 * resumes of mutated checkpoints). Prints its seed first; on a failure, the target, the seed, the
 * path and the command that replays exactly that case:
 *
 *   npm run fuzz -- --target argv:train --seed 123 --path 45:2:0
 *
 * Flags: --seed N (default: from the clock), --cases N (default 10000), --target NAME (only
 * that one), --path P (replay with --seed and --target), --keep (keep the scratch directory).
 */
import { cleanWorld, makeWorld, runTarget, targets } from "../test/fuzz/cases.js";

/** Share of the cases per target (spawned targets are few: ~0.5-3 s each). */
const SHARES: Record<string, number> = {
  "argv:train": 0.08,
  "argv:compare": 0.07,
  "argv:sweep": 0.06,
  "argv:reproduce": 0.05,
  "argv:rho-finder": 0.06,
  "argv:diag-net": 0.08,
  "run-spec": 0.15,
  "run-spec-file": 0.05,
  sweep: 0.08,
  "sweep-file": 0.03,
  "diag-data": 0.08,
  "out-dir": 0.05,
  checkpoint: 0.0375,
  cli: 0.035,
  "cli-train": 0.0025,
  "cli-diag-net": 0.0025,
  "cli-resume": 0.0025,
};

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const seed = flag("seed") !== undefined ? Number(flag("seed")) : Date.now() % 2 ** 31;
const total = Number(flag("cases") ?? 10_000);
const only = flag("target");
const path = flag("path");
if (!Number.isInteger(seed) || !Number.isInteger(total) || total < 1) {
  process.stderr.write("fuzz: --seed and --cases take integers\n");
  process.exit(2);
}
if (path !== undefined && only === undefined) {
  process.stderr.write("fuzz: --path replays one failure: give --target and --seed too\n");
  process.exit(2);
}

const t0 = Date.now();
process.stdout.write(`fuzz: seed ${seed}, ${only ? `target ${only}` : `${total} cases`}${path ? `, path ${path}` : ""}\n`);
const world = makeWorld(true);
process.stdout.write(`fuzz: scratch ${world.root} (base run ready in ${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
let failed = 0;
let ran = 0;
try {
  const all = targets(world).filter((t) => !only || t.name === only);
  if (!all.length) throw new Error(`no target ${only} (targets: ${targets(world).map((t) => t.name).join(", ")})`);
  const sum = all.reduce((a, t) => a + (SHARES[t.name] ?? 0), 0);
  let left = total;
  all.forEach((t, i) => {
    const numRuns = only ? total : i === all.length - 1 ? Math.max(1, left) : Math.max(1, Math.round((total * (SHARES[t.name] ?? 0)) / sum));
    left -= numRuns;
    const r = runTarget(t.name, t.arb, t.judge, { seed, numRuns, path, shrink: !t.spawned });
    ran += r.ran;
    process.stdout.write(`${r.ok ? "ok  " : "FAIL"} ${t.name.padEnd(16)} ${String(r.ran).padStart(5)} cases ${(r.ms / 1000).toFixed(1).padStart(6)} s\n`);
    if (!r.ok) {
      failed++;
      process.stdout.write(`     problem: ${r.problem}\n     counterexample: ${r.counterexample}\n     replay: npm run fuzz -- --target ${t.name} --seed ${seed} --path ${r.path}\n`);
    }
  });
} finally {
  if (!process.argv.includes("--keep")) cleanWorld(world);
}
process.stdout.write(`fuzz: ${ran} cases, ${failed} target${failed === 1 ? "" : "s"} failed, ${((Date.now() - t0) / 1000).toFixed(0)} s (seed ${seed})\n`);
process.exit(failed ? 1 : 0);
