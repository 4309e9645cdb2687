/**
 * Reproducing claims into a directory: every chosen experiment's runs are planned together
 * (shared runs run once) into one result store `DIR/runs/<key>/` — the sweep store, so a rerun
 * runs only what is missing and an interrupted run resumes — then each experiment is judged and
 * written as `DIR/<id>/result.json` and `DIR/<id>/report.html`, and `DIR/index.html` lists every
 * experiment `DIR` holds a result of. Running the runs is the caller's (the CLI runs them on the
 * sweep pool or a queue); this module plans and writes. Node-only.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { planRuns, type PlannedRun } from "../sweep/local.js";
import { readFailure, readValidResult, runDir, writeFileAtomic } from "../sweep/store.js";
import { EXPERIMENT_RESULT_FORMAT, renderExperimentPage, renderIndex, type ExperimentResult } from "../report/experiment-report.js";
import { resultsFrom, type Experiment, type Judgement, type Measurements, type Scale } from "./experiment.js";
import { EXPERIMENTS } from "./index.js";
import { anyRunKey, type StoredResult } from "./tasks.js";

/**
 * What {@link planExperiments} returns: each experiment with the keys of its runs, and the runs
 * to execute, de-duplicated across experiments (a run two experiments share appears once).
 */
export type ReproducePlan = {
  /** Each chosen experiment with its runs' keys (in its specs' order). */
  experiments: { experiment: Experiment; keys: string[] }[];
  /** Every run to execute, once each. */
  runs: PlannedRun[];
};

/**
 * The runs of `experiments` at `scale`, de-duplicated across experiments by run key. Pure: runs
 * nothing.
 *
 * @example
 * ```ts
 * const plan = planExperiments([experimentById("label-noise")!], "quick");
 * await runLocal(plan.runs, "runs/quick", { jobs: 2 }).done;
 * for (const { experiment, keys } of plan.experiments) await writeExperiment("runs/quick", experiment, keys, "quick");
 * await writeIndex("runs/quick");
 * ```
 */
export function planExperiments(experiments: readonly Experiment[], scale: Scale): ReproducePlan {
  const per = experiments.map((experiment) => ({ experiment, runs: planRuns(experiment.specs(scale)) }));
  const seen = new Set<string>();
  const runs: PlannedRun[] = [];
  for (const p of per) for (const r of p.runs) if (!seen.has(r.key)) (seen.add(r.key), runs.push(r));
  return { experiments: per.map((p) => ({ experiment: p.experiment, keys: p.runs.map((r) => r.key) })), runs };
}

/**
 * Judge one experiment from the results under `dir` and write its result.json and report.html
 * (atomically). With runs missing (failed), the verdict is "inconclusive" and names them.
 * Experiments with a `measure` step measure their trained runs first, cached in
 * `DIR/<id>/measured-<scale>.json` while `keys` stay the same. Returns what result.json holds
 * (schema/result.schema.json describes the training runs' result.json; this is the experiment's).
 *
 * @example
 * ```ts
 * const r = await writeExperiment("runs/reproduce", experimentById("label-noise")!, keys, "default");
 * console.log(r.verdict, r.summary);
 * ```
 */
export async function writeExperiment(dir: string, experiment: Experiment, keys: string[], scale: Scale): Promise<ExperimentResult> {
  const byKey = new Map<string, StoredResult>();
  const failed: { key: string; error: string }[] = [];
  for (const k of keys) {
    const r = readValidResult(dir, k);
    if (r) byKey.set(k, r);
    else failed.push({ key: k, error: readFailure(dir, k)?.error ?? "no result" });
  }
  const results = resultsFrom(byKey);
  let j: Judgement;
  let body = "";
  if (failed.length) {
    j = { verdict: "inconclusive", reason: `${failed.length} of ${keys.length} runs have no result (first: ${failed[0].error}); rerun to retry them (--retry-failed for failed ones).`, summary: "incomplete", numbers: {} };
  } else {
    const measured = experiment.measure ? await measureCached(dir, experiment, keys, scale) : undefined;
    j = experiment.judge(results, scale, measured);
    body = await experiment.report(results, scale, j, measured);
  }
  const out: ExperimentResult = {
    format: EXPERIMENT_RESULT_FORMAT,
    id: experiment.id,
    claim: experiment.claim,
    source: experiment.source,
    scale,
    verdict: j.verdict,
    reason: j.reason,
    summary: j.summary,
    numbers: j.numbers,
    also: j.also ?? [],
    rule: experiment.rule,
    setting: experiment.setting,
    ran: experiment.scales[scale],
    differences: experiment.differences ?? null,
    keys,
    failed,
  };
  writeFileAtomic(join(dir, experiment.id, "result.json"), JSON.stringify(out, null, 1) + "\n");
  writeFileAtomic(join(dir, experiment.id, "report.html"), renderExperimentPage(out, body));
  return out;
}

/** The experiment's measurements, from `DIR/<id>/measured-<scale>.json` when it was taken from the same runs. */
async function measureCached(dir: string, experiment: Experiment, keys: string[], scale: Scale): Promise<Measurements> {
  const file = join(dir, experiment.id, `measured-${scale}.json`);
  try {
    const cached = JSON.parse(readFileSync(file, "utf8"));
    if (JSON.stringify(cached.keys) === JSON.stringify(keys)) return cached.measured;
  } catch {
    // missing or unreadable: measure
  }
  const measured = await experiment.measure!({ runDir: (spec) => runDir(dir, anyRunKey(spec)) }, scale);
  writeFileAtomic(file, JSON.stringify({ keys, measured }, null, 1) + "\n");
  return measured;
}

/**
 * Rebuild `DIR/index.html` from every `DIR/<id>/result.json` (in the order of
 * {@link EXPERIMENTS}, then others by id; an unreadable result only leaves its row out).
 * Returns the results it listed.
 *
 * @example
 * ```ts
 * const rows = writeIndex("runs/reproduce");
 * console.log(`${rows.length} experiments in runs/reproduce/index.html`);
 * ```
 */
export function writeIndex(dir: string): ExperimentResult[] {
  const found: ExperimentResult[] = [];
  for (const name of existsSync(dir) ? readdirSync(dir).sort() : []) {
    const file = join(dir, name, "result.json");
    if (!existsSync(file)) continue;
    try {
      const r = JSON.parse(readFileSync(file, "utf8"));
      if (r?.format === EXPERIMENT_RESULT_FORMAT && r.id === name) found.push(r);
    } catch {
      // an unreadable result only leaves its row out
    }
  }
  const rank = (id: string) => {
    const i = EXPERIMENTS.findIndex((e) => e.id === id);
    return i < 0 ? EXPERIMENTS.length : i;
  };
  found.sort((a, b) => rank(a.id) - rank(b.id) || a.id.localeCompare(b.id));
  writeFileAtomic(join(dir, "index.html"), renderIndex(found));
  return found;
}
