/**
 * `sharpness sweep`, `sharpness worker` and `sharpness report`, and the run-on-the-pool step
 * `compare` shares with `sweep`. A sweep writes `DIR/sweep.json` (its definition and keys),
 * `DIR/runs/<key>/` per run, then `DIR/summary.json` and `DIR/report.html`. Interrupting it
 * (Ctrl-C) checkpoints the runs in progress; the same command resumes.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { planRuns, runLocal, defaultJobs, type PlannedRun, type SweepOutcome, type SweepEvent } from "../sweep/local.js";
import { expandSweep, SweepError } from "../sweep/grid.js";
import { runDir, triageRuns, writeFileAtomic } from "../sweep/store.js";
import { isDiverged } from "../train/result.js";
import type { StoredResult } from "../experiments/tasks.js";
/** BullMQ loads only when a queue is used. */
const queue = () => import("../sweep/queue.js");
import { writeSweepReport, type Claim } from "../report/sweep-report.js";
import { UsageError, helpText, parseArgs, parseFlags, type FlagSpec } from "./args.js";
import { sweepReporter } from "./sweep-progress.js";
import { oneLine, readJsonFile, startEngine } from "./run.js";
import { checkPathText, checkWritableDir, prepareOutDir, showPath } from "./out-dir.js";

/** `--dry-run`, on every command that runs something. */
export const DRY_RUN_FLAG: Record<string, FlagSpec> = {
  "dry-run": { kind: "bool", help: "check the flags, the spec(s) and the output directory (created if missing), say what would run, and stop: nothing is loaded, run or written" },
};

/** Flags of every command that runs a list of specs. */
export const SWEEP_RUN_FLAGS: Record<string, FlagSpec> = {
  jobs: { kind: "int", help: `processes at once (default: one per core, here ${defaultJobs()})` },
  retries: { kind: "int", help: "retries of a run whose process died (default 2)" },
  "retry-failed": { kind: "bool", help: "rerun runs recorded as failed" },
  queue: { kind: "string", help: "run on a BullMQ queue at redis://HOST:PORT (workers: sharpness worker)" },
};

export const SWEEP_FLAGS: Record<string, FlagSpec> = {
  spec: { kind: "string", help: "the sweep file: { base, grid, random? } (see README \"Sweeps\")" },
  out: { kind: "string", help: "output directory (runs/<key>/, summary.json, report.html)" },
  ...SWEEP_RUN_FLAGS,
  ...DRY_RUN_FLAG,
  device: { kind: "string", choices: ["auto", "wasm", "webgpu", "cpu"], help: "jax-js device of the runs (default auto)" },
  help: { kind: "bool", help: "show this help" },
};

export const WORKER_FLAGS: Record<string, FlagSpec> = {
  queue: { kind: "string", help: "the queue's Redis, redis://HOST:PORT" },
  jobs: { kind: "int", help: `runs at once (default: one per core, here ${defaultJobs()})` },
  device: { kind: "string", choices: ["auto", "wasm", "webgpu", "cpu"], help: "jax-js device of the runs (default auto)" },
  help: { kind: "bool", help: "show this help" },
};

export const REPORT_FLAGS: Record<string, FlagSpec> = {
  title: { kind: "string", help: "report title (default: the sweep's)" },
  help: { kind: "bool", help: "show this help" },
};

function positiveInt(f: Record<string, unknown>, name: string): number | undefined {
  const v = f[name];
  if (v === undefined) return undefined;
  if (!(Number.isInteger(v) && (v as number) >= (name === "retries" ? 0 : 1))) throw new UsageError(`--${name} must be an integer ≥ ${name === "retries" ? 0 : 1} (got ${v})`);
  return v as number;
}

/** The flags of SWEEP_RUN_FLAGS, checked (no I/O): --jobs, --retries, and --jobs with --queue. */
export function checkRunFlags(f: Record<string, unknown>): { jobs?: number; retries?: number } {
  const jobs = positiveInt(f, "jobs");
  const retries = positiveInt(f, "retries");
  if (f.queue !== undefined && jobs !== undefined) throw new UsageError("--jobs is for local runs; with --queue, start workers with sharpness worker --jobs N");
  return { jobs, retries };
}

/**
 * Everything a command that runs specs checks before it writes or enqueues anything: its run
 * flags, the queue's Redis (answers PING), and the output directory (prepareOutDir). Returns the
 * output directory's absolute path.
 */
export async function prepareRun(outGiven: string, f: Record<string, unknown>): Promise<string> {
  checkRunFlags(f);
  // Local runs on WebGPU: refuse here, once, rather than fail every run in its process.
  if (f.device === "webgpu" && f.queue === undefined && !f["dry-run"]) await startEngine("webgpu");
  if (f.queue !== undefined) {
    const { checkRedis } = await queue();
    await checkRedis(String(f.queue));
  }
  return prepareOutDir(outGiven, "--out");
}

type RunOpts = { title: string; claim?: Claim; definition: unknown; combinedMetrics?: boolean };

/** "2 diverged (final test loss not finite): KEY, KEY" for the results of `keys` that diverged, or "". */
export function divergedNote(results: StoredResult[], keys?: Set<string>): string {
  const d = results.filter((r) => (!keys || keys.has(r.key)) && r.metrics && typeof r.metrics === "object" && isDiverged(r as Parameters<typeof isDiverged>[0]));
  if (!d.length) return "";
  const shown = d.slice(0, 5).map((r) => r.key).join(", ");
  return `${d.length} diverged (final loss not finite; kept as results, marked "diverged": ${shown}${d.length > 5 ? ", …" : ""})`;
}

/**
 * Run planned runs into `out` (prepared by `prepareRun`) with the flags of SWEEP_RUN_FLAGS
 * (locally on `--jobs` processes, or through `--queue`), showing progress; Ctrl-C checkpoints
 * the runs in progress (a second one quits). Shared by sweep, compare and reproduce.
 */
export async function executeRuns(runs: PlannedRun[], out: string, f: Record<string, unknown>): Promise<{ outcome: SweepOutcome; totalSeconds: number; jobs: number | "queue" }> {
  const { jobs, retries } = checkRunFlags(f);
  const started = Date.now();
  const reporter = sweepReporter({ queued: f.queue !== undefined });
  const onEvent = (e: SweepEvent) => reporter.onEvent(e);
  let handle: { done: Promise<SweepOutcome>; stop: () => Promise<void> };
  if (f.queue !== undefined) {
    const { runQueued } = await queue();
    handle = runQueued(runs, out, { url: String(f.queue), retryFailed: !!f["retry-failed"], onEvent, onWarning: (m) => process.stderr.write(`warning: ${m}\n`) });
  } else {
    const env: Record<string, string> = {};
    if (f.device !== undefined) env.SHARPNESS_DEVICE = String(f.device);
    handle = runLocal(runs, out, { jobs, retries, retryFailed: !!f["retry-failed"], onEvent, env });
  }
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    reporter.close();
    process.stderr.write(`\ninterrupt: ${f.queue ? "leaving the queued jobs to the workers" : "checkpointing the runs in progress"}; run the same command again to continue (interrupt again to quit now)\n`);
    void handle.stop();
  };
  process.on("SIGINT", onInterrupt);
  process.on("SIGTERM", onInterrupt);
  let outcome: SweepOutcome;
  try {
    outcome = await handle.done;
  } finally {
    process.removeListener("SIGINT", onInterrupt);
    process.removeListener("SIGTERM", onInterrupt);
    reporter.close();
  }
  return { outcome, totalSeconds: (Date.now() - started) / 1000, jobs: f.queue ? "queue" : Math.min(jobs ?? defaultJobs(), Math.max(1, runs.length)) };
}

/** The dry run's report: how many runs, how many already done or failed, the first few labels. */
export function dryRunText(runs: PlannedRun[], out: string): string {
  const t = triageRuns(out, runs);
  const first = runs.slice(0, 3).map((r) => r.label).join("; ");
  return `dry run: ${runs.length} run${runs.length === 1 ? "" : "s"} into ${join(out, "runs")} (${t.skipped} already done, ${t.failedBefore} failed before, ${t.pending.length} to run)${first ? `: ${first}${runs.length > 3 ? "; …" : ""}` : ""}\n`;
}

/**
 * Run `specs` into `outGiven` (locally on `--jobs` processes, or through `--queue`), then write
 * the summary and report. Every spec is filled and checked, the flags, the queue and the output
 * directory too, before anything is written or enqueued. Exit code: 0 all done (diverged runs
 * included: they are results), 1 some failed, 130 interrupted.
 */
export async function runSweepCommand(specs: unknown[], outGiven: string, f: Record<string, unknown>, o: RunOpts): Promise<number> {
  const runs = planRuns(specs);
  const out = await prepareRun(outGiven, f);
  if (f["dry-run"]) {
    process.stdout.write(dryRunText(runs, out));
    return 0;
  }
  writeFileAtomic(join(out, "sweep.json"), JSON.stringify({ format: "sharpness-aware-sweep/1", title: o.title, claim: o.claim, definition: o.definition, keys: runs.map((r) => r.key) }, null, 2) + "\n");
  const { outcome, totalSeconds, jobs } = await executeRuns(runs, out, f);
  if (o.combinedMetrics) {
    const lines = runs.map((r) => join(runDir(out, r.key), "metrics.jsonl")).filter(existsSync).map((p) => readFileSync(p, "utf8")).join("");
    writeFileAtomic(join(out, "metrics.jsonl"), lines);
  }
  const { verdict } = await writeSweepReport(out, { title: o.title, claim: o.claim, extra: { totalSeconds, jobs } });
  const failed = outcome.failed.length;
  const diverged = divergedNote(outcome.results, new Set(runs.map((r) => r.key)));
  if (verdict) process.stdout.write(`\n${verdict}\n`);
  process.stdout.write(
    `${outcome.interrupted ? "interrupted: " : ""}${outcome.executed} runs executed, ${outcome.skipped} skipped (already done)${failed ? `, ${failed} failed (see report; --retry-failed reruns them)` : ""}${diverged ? `, ${diverged}` : ""}; wrote ${join(out, "summary.json")} and ${join(out, "report.html")} (${totalSeconds.toFixed(0)} s)\n`,
  );
  return outcome.interrupted ? 130 : failed ? 1 : 0;
}

export type SweepPlan = { kind: "help" } | { kind: "sweep"; specs: unknown[]; outGiven: string; out: string; title: string; definition: unknown; flags: Record<string, unknown> };

/**
 * Parse and check `sharpness sweep` arguments and the sweep file: every run of the grid is
 * filled and checked here (an error names the grid point and the field), so an invalid sweep
 * fails before anything is written, run or enqueued. Writes nothing.
 */
export function planSweep(argv: string[]): SweepPlan {
  const f = parseFlags(argv, SWEEP_FLAGS, "sweep");
  if (f.help) return { kind: "help" };
  if (f.spec === undefined) throw new UsageError("sweep: --spec SWEEP.json is required (see sharpness sweep --help)");
  if (f.out === undefined) throw new UsageError("sweep: --out DIR is required");
  checkRunFlags(f);
  const outGiven = String(f.out);
  const out = checkPathText(outGiven, "--out");
  const file = resolve(String(f.spec));
  const def = readJsonFile(file, "--spec");
  let specs: unknown[];
  try {
    specs = expandSweep(def);
  } catch (e) {
    if (e instanceof SweepError) throw new UsageError(`--spec ${showPath(file)}: ${oneLine(e.message)}`);
    throw e;
  }
  const title = typeof (def as { title?: unknown }).title === "string" ? oneLine((def as { title: string }).title, 200) : `sweep ${file.split("/").at(-1)}`;
  return { kind: "sweep", specs, outGiven, out, title, definition: def, flags: f };
}

export async function sweepCommand(argv: string[]): Promise<number> {
  const plan = planSweep(argv);
  if (plan.kind === "help") {
    process.stdout.write(
      helpText(
        "Usage: sharpness sweep --spec SWEEP.json --out DIR [--jobs N | --queue redis://HOST:PORT]",
        'Run every spec of a sweep file ({ "base": <run spec>, "grid": { "optimizer.rho": [0.05, 0.1], "seed": [0, 1, 2] } })\non every core (each run in its own process), skipping runs that already have a result in DIR.',
        SWEEP_FLAGS,
      ),
    );
    return 0;
  }
  return runSweepCommand(plan.specs, plan.outGiven, plan.flags, { title: plan.title, definition: plan.definition });
}

export async function workerCommand(argv: string[]): Promise<number> {
  const f = parseFlags(argv, WORKER_FLAGS, "worker");
  if (f.help) {
    process.stdout.write(helpText("Usage: sharpness worker --queue redis://HOST:PORT [--jobs N]", "Run queued sweep jobs on this machine, each in its own process, until interrupted.", WORKER_FLAGS));
    return 0;
  }
  if (f.queue === undefined) throw new UsageError("worker: --queue redis://HOST:PORT is required");
  const jobs = positiveInt(f, "jobs") ?? defaultJobs();
  const url = String(f.queue);
  const { checkRedis, runWorker } = await queue();
  await checkRedis(url);
  if (f.device !== undefined) process.env.SHARPNESS_DEVICE = String(f.device);
  const w = runWorker({
    url,
    jobs,
    onEvent: (e: { type: string; key?: string; message?: string }) => process.stdout.write(`${new Date().toISOString()} ${e.type}${e.key ? ` ${e.key}` : ""}${e.message ? `: ${e.message}` : ""}\n`),
  });
  process.stdout.write(`worker on ${url}, ${jobs} job${jobs === 1 ? "" : "s"} at once (Ctrl-C stops)\n`);
  const stop = () => {
    process.stderr.write("stopping: checkpointing runs in progress (their jobs go back to the queue)\n");
    void w.stop();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  await w.done;
  return 0;
}

export async function reportCommand(argv: string[]): Promise<number> {
  const { flags: f, positional } = parseArgs(argv, REPORT_FLAGS, "report");
  if (f.help) {
    process.stdout.write(helpText("Usage: sharpness report DIR", "(Re)build DIR/summary.json and DIR/report.html from the results in DIR/runs (partial sweeps included).", REPORT_FLAGS));
    return 0;
  }
  if (positional.length !== 1) throw new UsageError(`report: give one directory (got ${positional.length})`);
  if (!existsSync(join(checkPathText(positional[0], "report"), "runs"))) throw new UsageError(`report: ${showPath(resolve(positional[0]))} has no runs/ directory (is it a sweep's --out?)`);
  // The report is written into DIR: it must be a writable directory (one line, exit 2, otherwise).
  const dir = checkWritableDir(positional[0], "report");
  let title = f.title as string | undefined;
  let claim: Claim | undefined;
  const meta = join(dir, "sweep.json");
  if (existsSync(meta)) {
    try {
      const m = JSON.parse(readFileSync(meta, "utf8"));
      // A hand-edited or corrupted sweep.json only costs the title and the claim.
      if (typeof m?.title === "string") title ??= m.title;
      const c = m?.claim;
      if (c && typeof c === "object" && ["id", "text", "source", "setting"].every((k) => typeof c[k] === "string")) claim = c as Claim;
    } catch {
      // a corrupted sweep.json only costs the title
    }
  }
  const { summary, verdict } = await writeSweepReport(dir, { title: title ?? "sweep", claim });
  if (verdict) process.stdout.write(`${verdict}\n`);
  process.stdout.write(`${summary.results.length} results, ${summary.failed.length} failed, ${summary.groups.length} groups; wrote ${join(dir, "summary.json")} and ${join(dir, "report.html")}\n`);
  return 0;
}
