/**
 * `sharpness sweep`, `sharpness worker` and `sharpness report`, and the run-on-the-pool step
 * `compare` shares with `sweep`. A sweep writes `DIR/sweep.json` (its definition and keys),
 * `DIR/runs/<key>/` per run, then `DIR/summary.json` and `DIR/report.html`. Interrupting it
 * (Ctrl-C) checkpoints the runs in progress; the same command resumes.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { planRuns, runLocal, defaultJobs, type PlannedRun, type SweepOutcome, type SweepEvent } from "../sweep/local.js";
import { expandSweep, SweepError } from "../sweep/grid.js";
import { runDir, writeFileAtomic } from "../sweep/store.js";
/** BullMQ loads only when a queue is used. */
const queue = () => import("../sweep/queue.js");
import { writeSweepReport, type Claim } from "../report/sweep-report.js";
import { UsageError, helpText, parseArgs, parseFlags, type FlagSpec } from "./args.js";
import { sweepReporter } from "./sweep-progress.js";
import { readJsonFile } from "./run.js";

/** Flags of every command that runs a list of specs. */
export const SWEEP_RUN_FLAGS: Record<string, FlagSpec> = {
  jobs: { kind: "int", help: `processes at once (default: one per core, here ${defaultJobs()})` },
  retries: { kind: "int", help: "retries of a run whose process died (default 2)" },
  "retry-failed": { kind: "bool", help: "rerun runs recorded as failed" },
  queue: { kind: "string", help: "run on a BullMQ queue at redis://HOST:PORT (workers: sharpness worker)" },
};

const SWEEP_FLAGS: Record<string, FlagSpec> = {
  spec: { kind: "string", help: "the sweep file: { base, grid, random? } (see README \"Sweeps\")" },
  out: { kind: "string", help: "output directory (runs/<key>/, summary.json, report.html)" },
  ...SWEEP_RUN_FLAGS,
  device: { kind: "string", choices: ["auto", "wasm", "webgpu", "cpu"], help: "jax-js device of the runs (default auto)" },
  help: { kind: "bool", help: "show this help" },
};

const WORKER_FLAGS: Record<string, FlagSpec> = {
  queue: { kind: "string", help: "the queue's Redis, redis://HOST:PORT" },
  jobs: { kind: "int", help: `runs at once (default: one per core, here ${defaultJobs()})` },
  device: { kind: "string", choices: ["auto", "wasm", "webgpu", "cpu"], help: "jax-js device of the runs (default auto)" },
  help: { kind: "bool", help: "show this help" },
};

const REPORT_FLAGS: Record<string, FlagSpec> = {
  title: { kind: "string", help: "report title (default: the sweep's)" },
  help: { kind: "bool", help: "show this help" },
};

function positiveInt(f: Record<string, unknown>, name: string): number | undefined {
  const v = f[name];
  if (v === undefined) return undefined;
  if (!(Number.isInteger(v) && (v as number) >= (name === "retries" ? 0 : 1))) throw new UsageError(`--${name} must be an integer ≥ ${name === "retries" ? 0 : 1} (got ${v})`);
  return v as number;
}

type RunOpts = { title: string; claim?: Claim; definition: unknown; combinedMetrics?: boolean };

/**
 * Run planned runs into `out` with the flags of SWEEP_RUN_FLAGS (locally on `--jobs` processes,
 * or through `--queue`), showing progress; Ctrl-C checkpoints the runs in progress (a second
 * one quits). Shared by sweep, compare and reproduce.
 */
export async function executeRuns(runs: PlannedRun[], out: string, f: Record<string, unknown>): Promise<{ outcome: SweepOutcome; totalSeconds: number; jobs: number | "queue" }> {
  const jobs = positiveInt(f, "jobs");
  const retries = positiveInt(f, "retries");
  mkdirSync(out, { recursive: true });
  const started = Date.now();
  const reporter = sweepReporter({ queued: f.queue !== undefined });
  const onEvent = (e: SweepEvent) => reporter.onEvent(e);
  let handle: { done: Promise<SweepOutcome>; stop: () => Promise<void> };
  if (f.queue !== undefined) {
    if (jobs !== undefined) throw new UsageError("--jobs is for local runs; with --queue, start workers with sharpness worker --jobs N");
    const { checkRedis, runQueued } = await queue();
    await checkRedis(String(f.queue));
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

/**
 * Run `specs` into `out` (locally on `--jobs` processes, or through `--queue`), then write the
 * summary and report. Exit code: 0 all done, 1 some failed, 130 interrupted.
 */
export async function runSweepCommand(specs: unknown[], out: string, f: Record<string, unknown>, o: RunOpts): Promise<number> {
  const runs = planRuns(specs);
  mkdirSync(out, { recursive: true });
  writeFileAtomic(join(out, "sweep.json"), JSON.stringify({ format: "sharpness-aware-sweep/1", title: o.title, claim: o.claim, definition: o.definition, keys: runs.map((r) => r.key) }, null, 2) + "\n");
  const { outcome, totalSeconds, jobs } = await executeRuns(runs, out, f);
  if (o.combinedMetrics) {
    const lines = runs.map((r) => join(runDir(out, r.key), "metrics.jsonl")).filter(existsSync).map((p) => readFileSync(p, "utf8")).join("");
    writeFileAtomic(join(out, "metrics.jsonl"), lines);
  }
  const { verdict } = await writeSweepReport(out, { title: o.title, claim: o.claim, extra: { totalSeconds, jobs } });
  const failed = outcome.failed.length;
  if (verdict) process.stdout.write(`\n${verdict}\n`);
  process.stdout.write(
    `${outcome.interrupted ? "interrupted: " : ""}${outcome.executed} runs executed, ${outcome.skipped} skipped (already done)${failed ? `, ${failed} failed (see report; --retry-failed reruns them)` : ""}; wrote ${join(out, "summary.json")} and ${join(out, "report.html")} (${totalSeconds.toFixed(0)} s)\n`,
  );
  return outcome.interrupted ? 130 : failed ? 1 : 0;
}

export async function sweepCommand(argv: string[]): Promise<number> {
  const f = parseFlags(argv, SWEEP_FLAGS, "sweep");
  if (f.help) {
    process.stdout.write(
      helpText(
        "Usage: sharpness sweep --spec SWEEP.json --out DIR [--jobs N | --queue redis://HOST:PORT]",
        'Run every spec of a sweep file ({ "base": <run spec>, "grid": { "optimizer.rho": [0.05, 0.1], "seed": [0, 1, 2] } })\non every core (each run in its own process), skipping runs that already have a result in DIR.',
        SWEEP_FLAGS,
      ),
    );
    return 0;
  }
  if (f.spec === undefined) throw new UsageError("sweep: --spec SWEEP.json is required (see sharpness sweep --help)");
  if (f.out === undefined) throw new UsageError("sweep: --out DIR is required");
  const file = resolve(String(f.spec));
  const def = readJsonFile(file, "--spec");
  let specs: unknown[];
  try {
    specs = expandSweep(def);
  } catch (e) {
    if (e instanceof SweepError) throw new UsageError(`--spec ${file}: ${e.message}`);
    throw e;
  }
  const title = typeof (def as { title?: unknown }).title === "string" ? (def as { title: string }).title : `sweep ${file.split("/").at(-1)}`;
  return runSweepCommand(specs, resolve(String(f.out)), f, { title, definition: def });
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
  const dir = resolve(positional[0]);
  if (!existsSync(join(dir, "runs"))) throw new UsageError(`report: ${dir} has no runs/ directory (is it a sweep's --out?)`);
  let title = f.title as string | undefined;
  let claim: Claim | undefined;
  const meta = join(dir, "sweep.json");
  if (existsSync(meta)) {
    try {
      const m = JSON.parse(readFileSync(meta, "utf8"));
      title ??= m.title;
      claim = m.claim;
    } catch {
      // a corrupted sweep.json only costs the title
    }
  }
  const { summary, verdict } = await writeSweepReport(dir, { title: title ?? "sweep", claim });
  if (verdict) process.stdout.write(`${verdict}\n`);
  process.stdout.write(`${summary.results.length} results, ${summary.failed.length} failed, ${summary.groups.length} groups; wrote ${join(dir, "summary.json")} and ${join(dir, "report.html")}\n`);
  return 0;
}
