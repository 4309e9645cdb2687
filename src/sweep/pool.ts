/**
 * A pool of run processes (child.ts), one per slot. `run(spec, dir)` waits for a free slot and
 * resolves with the run's outcome; a child that dies mid-run (crash, out of memory, SIGKILL)
 * resolves "crashed" and is replaced on the next request, so one bad run costs one run. Local
 * sweeps (local.ts) and queue workers (queue.ts) both run on it. Node-only.
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import type { StoredResult } from "../experiments/tasks.js";
import type { ChildMessage, ChildProgress, RunRequest } from "./child.js";

/**
 * How one run on the pool ended: "done" with its stored result (and its metrics.jsonl text),
 * "error" (it threw: retrying gives the same), "crashed" (its process died: worth retrying) or
 * "stopped" (on request, after writing a checkpoint).
 */
export type RunOutcome =
  /** Finished: the result as stored in result.json, and the run's metrics lines. */
  | { status: "done"; result: StoredResult; metrics: string }
  /** The run threw (bad input, non-finite error…): retrying gives the same. */
  | { status: "error"; message: string }
  /** The process died (signal, out of memory): worth retrying. */
  | { status: "crashed"; message: string }
  /** Stopped on request after writing a checkpoint. */
  | { status: "stopped" };

/**
 * A progress report of the run in a slot (epoch or step counts, throttled by the child process).
 *
 * @inline
 */
export type SlotProgress = Omit<ChildProgress, "type">;

type Slot = {
  index: number;
  child: ChildProcess | null;
  ready: Promise<void> | null;
  job: { key: string; resolve: (o: RunOutcome) => void } | null;
  stderr: string[];
};

const CHILD = join(dirname(fileURLToPath(import.meta.url)), "child.js");

/**
 * Options of {@link RunPool}.
 *
 * @inline
 */
export type PoolOptions = {
  /** Processes (default 1). */
  size?: number;
  /** Progress of the run in a slot (throttled by the child). */
  onProgress?: (slot: number, key: string, p: SlotProgress) => void;
  /** Extra environment for the children. */
  env?: Record<string, string>;
};

/**
 * A pool of `size` run processes: `run(spec, dir, key)` waits for a free slot and resolves with
 * the run's {@link RunOutcome}; a process that dies mid-run resolves "crashed" and is replaced on
 * the next request. `stop()` asks the runs in progress to checkpoint and exit; `close()` ends
 * the idle processes. Sweeps ({@link runLocal}) and queue workers ({@link runWorker}) run on it.
 *
 * @example
 * ```ts
 * const pool = new RunPool({ size: 2 });
 * const spec = fillAnySpec({ seed: 0, optimizer: { name: "sam", base: { name: "sgd", lr: 0.05 } } });
 * const outcome = await pool.run(spec, "runs/sweep", anyRunKey(spec)); // files in runs/sweep/runs/<key>/
 * await pool.close();
 * ```
 */
export class RunPool {
  /** The number of processes (slots), at least 1. */
  readonly size: number;
  private slots: Slot[];
  private waiting: (() => void)[] = [];
  private stopping = false;

  constructor(private opts: PoolOptions = {}) {
    this.size = Math.max(1, opts.size ?? 1);
    this.slots = Array.from({ length: this.size }, (_, index) => ({ index, child: null, ready: null, job: null, stderr: [] }));
  }

  /** Runs in progress. */
  get busy(): number {
    return this.slots.filter((s) => s.job).length;
  }

  /** pids of the live children (for tests). */
  get pids(): number[] {
    return this.slots.flatMap((s) => (s.child?.pid ? [s.child.pid] : []));
  }

  private start(slot: Slot): Promise<void> {
    const child = fork(CHILD, [], { stdio: ["ignore", "ignore", "pipe", "ipc"], env: { ...process.env, ...this.opts.env } });
    slot.child = child;
    slot.stderr = [];
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (t: string) => {
      slot.stderr.push(...t.split("\n").filter((l) => l.trim() !== ""));
      if (slot.stderr.length > 20) slot.stderr.splice(0, slot.stderr.length - 20);
    });
    slot.ready = new Promise<void>((resolve, reject) => {
      child.once("error", reject);
      child.on("message", (m: ChildMessage) => {
        if (m.type === "ready") return resolve();
        const job = slot.job;
        if (!job) return;
        if (m.type === "progress") this.opts.onProgress?.(slot.index, job.key, m);
        else if (m.type === "done") this.finish(slot, { status: "done", result: m.result, metrics: m.metrics });
        else if (m.type === "error") this.finish(slot, { status: "error", message: m.message });
        else if (m.type === "stopped") this.finish(slot, { status: "stopped" });
      });
      child.once("exit", (code, signal) => {
        slot.child = null;
        slot.ready = null;
        const why = signal ? `killed by ${signal}` : `exited with code ${code}`;
        reject(new Error(`run process ${why} before it was ready${slot.stderr.length ? `: ${slot.stderr.at(-1)}` : ""}`));
        if (slot.job) {
          const last = slot.stderr.filter((l) => !/^\s+at /.test(l)).at(-1);
          this.finish(slot, code === 130 && this.stopping ? { status: "stopped" } : { status: "crashed", message: `run process ${why}${last ? ` (${last.trim()})` : ""}` });
        }
      });
    });
    return slot.ready;
  }

  private finish(slot: Slot, o: RunOutcome): void {
    const job = slot.job;
    if (!job) return;
    slot.job = null;
    job.resolve(o);
    this.waiting.shift()?.();
  }

  /** Run one spec (filled, with its key `key`) with its files in `<dir>/runs/<key>/`; waits for a free slot. */
  async run(spec: unknown, dir: string, key: string): Promise<RunOutcome> {
    let slot = this.slots.find((s) => !s.job);
    while (!slot) {
      await new Promise<void>((r) => this.waiting.push(r));
      slot = this.slots.find((s) => !s.job);
    }
    if (this.stopping) return { status: "stopped" };
    const outcome = new Promise<RunOutcome>((resolve) => (slot!.job = { key, resolve }));
    try {
      if (!slot.child) await this.start(slot);
      else await slot.ready;
      const req: RunRequest = { type: "run", spec, dir };
      slot.child!.send(req);
    } catch (e) {
      this.finish(slot, { status: "crashed", message: (e as Error).message });
    }
    return outcome;
  }

  /**
   * Ask every child to finish its current step, write a checkpoint and exit; runs in progress
   * resolve "stopped". Children that do not exit within `graceMs` are killed.
   */
  async stop(graceMs = 30_000): Promise<void> {
    this.stopping = true;
    const live = this.slots.filter((s) => s.child);
    await Promise.all(
      live.map(
        (s) =>
          new Promise<void>((resolve) => {
            const c = s.child!;
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const timer = setTimeout(() => c.kill("SIGKILL"), graceMs);
            c.once("exit", () => {
              clearTimeout(timer);
              resolve();
            });
            if (c.connected) c.send({ type: "stop" });
            else c.kill("SIGTERM");
          }),
      ),
    );
    for (const w of this.waiting.splice(0)) w();
  }

  /** End idle children (runs in progress are stopped first). */
  async close(): Promise<void> {
    if (this.busy) return this.stop();
    for (const s of this.slots) {
      if (!s.child) continue;
      const c = s.child;
      await new Promise<void>((resolve) => {
        if (c.exitCode !== null || c.signalCode !== null) return resolve();
        c.once("exit", () => resolve());
        c.disconnect();
      });
    }
  }
}
