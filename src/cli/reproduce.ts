/**
 * `sharpness reproduce [ID…] [--scale quick|default|full] --out DIR [--jobs N | --queue URL]`:
 * run the claims of the seeds as experiments (src/experiments/) on the sweep pool and write
 * DIR/<id>/result.json, DIR/<id>/report.html and DIR/index.html. `--list` prints the claims.
 * A rerun only runs what is missing. Exit code: 0 done, 1 some runs failed, 130 interrupted.
 */
import { join } from "node:path";
import { EXPERIMENTS, experimentById } from "../experiments/index.js";
import { SCALES, type Scale } from "../experiments/experiment.js";
import { planExperiments, writeExperiment, writeIndex } from "../experiments/reproduce.js";
// run.js before sweep.js: the two import each other, and run.js must start first.
import { oneLine } from "./run.js";
import { UsageError, helpText, parseArgs, type FlagSpec } from "./args.js";
import { checkRunFlags, divergedNote, dryRunText, executeRuns, prepareRun, DRY_RUN_FLAG, SWEEP_RUN_FLAGS } from "./sweep.js";
import { checkPathText } from "./out-dir.js";

export const FLAGS: Record<string, FlagSpec> = {
  list: { kind: "bool", help: "print every experiment's id, source and claim" },
  scale: { kind: "string", choices: SCALES, help: "quick (≤ 1 min, for tests), default (≤ 10 min) or full (the paper's scale where it fits); default: default" },
  out: { kind: "string", help: "output directory: runs/<key>/, <id>/result.json, <id>/report.html, index.html" },
  ...SWEEP_RUN_FLAGS,
  ...DRY_RUN_FLAG,
  device: { kind: "string", choices: ["auto", "wasm", "webgpu", "cpu"], help: "jax-js device of training runs (default auto)" },
  help: { kind: "bool", help: "show this help" },
};

export type ReproducePlan = { kind: "help" } | { kind: "list" } | { kind: "reproduce"; ids: string[]; scale: Scale; outGiven: string; out: string; flags: Record<string, unknown> };

/** Parse and check `sharpness reproduce` arguments; writes nothing. */
export function planReproduce(argv: string[]): ReproducePlan {
  const { flags: f, positional: ids } = parseArgs(argv, FLAGS, "reproduce");
  if (f.help) return { kind: "help" };
  if (f.list) return { kind: "list" };
  const unknown = ids.filter((id) => !experimentById(id));
  if (unknown.length) throw new UsageError(`reproduce: unknown experiment ${JSON.stringify(oneLine(unknown[0], 60))} (experiments: ${EXPERIMENTS.map((e) => e.id).join(", ")})`);
  if (f.out === undefined) throw new UsageError("reproduce: --out DIR is required (see sharpness reproduce --help)");
  checkRunFlags(f);
  const outGiven = String(f.out);
  return { kind: "reproduce", ids, scale: (f.scale ?? "default") as Scale, outGiven, out: checkPathText(outGiven, "--out"), flags: f };
}

export async function reproduceCommand(argv: string[]): Promise<number> {
  const plan = planReproduce(argv);
  if (plan.kind === "help") {
    process.stdout.write(
      helpText(
        "Usage: sharpness reproduce [ID…] [--scale quick|default|full] --out DIR [--jobs N | --queue redis://HOST:PORT]\n       sharpness reproduce --list",
        "Run claims of the papers as experiments with verdicts (reproduced / not reproduced / inconclusive, rule fixed in\ncode before the runs). Without IDs: every experiment. Runs go through the sweep pool into DIR/runs (a rerun only runs\nwhat is missing); then DIR/<id>/result.json, DIR/<id>/report.html and DIR/index.html.",
        FLAGS,
      ),
    );
    return 0;
  }
  if (plan.kind === "list") {
    for (const e of EXPERIMENTS) process.stdout.write(`${e.id}  (${e.source})\n    ${e.claim}\n`);
    return 0;
  }
  const { ids, scale, flags: f } = plan;
  const chosen = ids.length ? [...new Set(ids)].map((id) => experimentById(id)!) : [...EXPERIMENTS];
  const planned = planExperiments(chosen, scale);
  // Flags, queue and output directory before anything is written or run.
  const out = await prepareRun(plan.outGiven, f);
  if (f["dry-run"]) {
    process.stdout.write(`reproducing ${chosen.map((e) => e.id).join(", ")} at scale ${scale}\n${dryRunText(planned.runs, out)}`);
    return 0;
  }
  process.stdout.write(`reproducing ${chosen.map((e) => e.id).join(", ")} at scale ${scale}: ${planned.runs.length} runs into ${join(out, "runs")}\n`);
  const { outcome, totalSeconds } = await executeRuns(planned.runs, out, f);
  if (outcome.interrupted) {
    process.stdout.write(`interrupted: ${outcome.executed} runs executed; run the same command again to continue\n`);
    return 130;
  }
  for (const { experiment, keys } of planned.experiments) {
    const r = await writeExperiment(out, experiment, keys, scale);
    process.stdout.write(`\n${r.id}: ${r.verdict.toUpperCase()} — ${r.reason}\n  ${r.summary}\n  ${join(out, r.id, "report.html")}\n`);
  }
  writeIndex(out);
  const failed = outcome.failed.length;
  const diverged = divergedNote(outcome.results);
  process.stdout.write(`\n${outcome.executed} runs executed, ${outcome.skipped} skipped (already done)${failed ? `, ${failed} failed` : ""}${diverged ? `, ${diverged}` : ""}; wrote ${join(out, "index.html")} (${totalSeconds.toFixed(0)} s)\n`);
  return failed ? 1 : 0;
}

export { FLAGS as REPRODUCE_FLAGS };
