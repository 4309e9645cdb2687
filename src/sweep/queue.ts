/**
 * Distributed sweeps over a BullMQ queue on Redis. `runQueued` (the `sharpness sweep --queue`
 * side) enqueues the runs without a result — job id = run key (`jobIdOf`), job data = the
 * spec — and collects what workers return into the sweep's directory; `runWorker`
 * (`sharpness worker`) takes jobs and runs each in a `RunPool` child, the same code as a
 * local sweep, so queued and local results are identical but for wall times.
 *
 * Semantics: at least once. A job whose worker died (SIGKILL, power loss, network split) loses
 * its lock and is moved back to the queue by another worker's stalled-job check (within
 * lockDuration + 2 × stalledInterval, about 20 s by default); a run process that died is retried
 * with exponential backoff (3 attempts); a run that throws (bad spec, non-finite loss with
 * nonFinite "error") fails at once — retrying gives the same. Result writes are idempotent
 * (atomic, per key), so a run executed twice is stored once. The same sweep submitted twice
 * runs each key once: a job that exists (queued, running or completed — completed jobs are
 * kept) is not added again, and its stored return value is collected.
 *
 * Every Redis connection reconnects forever (ioredis) with commands queued meanwhile, so a Redis
 * restart (with AOF, nothing is lost) only pauses the sweep. The collector polls job states
 * every second rather than relying on pub/sub events, so it sees every outcome after a restart.
 *
 * Tuning (environment, read when a worker or collector starts):
 *   SHARPNESS_QUEUE_LOCK_MS (10000)      a job's lock; renewed every half of it while running
 *   SHARPNESS_QUEUE_STALLED_MS (5000)    how often workers look for jobs whose lock expired
 *   SHARPNESS_QUEUE_MAX_STALLED (2)      stalls a job survives before it fails
 *   SHARPNESS_QUEUE_ATTEMPTS (3)         attempts of a job whose run process died (set on enqueue)
 *   SHARPNESS_QUEUE_BACKOFF_MS (5000)    first retry delay, doubled each retry (set on enqueue)
 *   SHARPNESS_QUEUE_POLL_MS (1000)       the collector's polling period
 *
 * Node-only.
 */
import { connect as netConnect, type Socket } from "node:net";
import { mkdirSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { Queue, Worker, UnrecoverableError, WaitingError, type Job, type RedisOptions } from "bullmq";
import { anyLabel, describeResult, fillAnySpec, type StoredResult } from "../experiments/tasks.js";
import type { PlannedRun, SweepEvent, SweepOutcome } from "./local.js";
import { RunPool, type SlotProgress } from "./pool.js";
import { isValidResult, runDir, triageRuns, writeFailure, writeResult, type FailureRecord } from "./store.js";

/**
 * A queue that cannot be used (bad URL, no server): a one-line message; the CLI exits 2.
 *
 * @example
 * ```ts
 * try { await checkRedis(url); } catch (e) { if (e instanceof QueueError) console.error(e.message); }
 * ```
 */
export class QueueError extends Error {
  /** Always "QueueError". */
  override name = "QueueError";
}

/** The BullMQ queue name runs go to unless `queueName` says otherwise. */
export const DEFAULT_QUEUE = "sharpness-runs";
const JOB_NAME = "run";

/**
 * A run's job id: its key, except that BullMQ refuses ids that read as integers, which a key
 * of 16 hex digits is about once in 2,000 (all decimal digits): those get a "run-" prefix.
 */
export const jobIdOf = (key: string) => (/^\d+$/.test(key) ? `run-${key}` : key);
const keyOfJob = (id: string) => (/^run-\d+$/.test(id) ? id.slice(4) : id);

function envInt(name: string, dflt: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return dflt;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw new QueueError(`${name} must be an integer ≥ ${min} (got ${JSON.stringify(raw)})`);
  return v;
}

/** Queue timings (see the module comment). */
export function queueSettings() {
  const lockMs = envInt("SHARPNESS_QUEUE_LOCK_MS", 10_000, 500);
  return {
    lockMs,
    stalledMs: envInt("SHARPNESS_QUEUE_STALLED_MS", 5_000, 100),
    maxStalled: envInt("SHARPNESS_QUEUE_MAX_STALLED", 2, 1),
    attempts: envInt("SHARPNESS_QUEUE_ATTEMPTS", 3, 1),
    backoffMs: envInt("SHARPNESS_QUEUE_BACKOFF_MS", 5_000, 0),
    pollMs: envInt("SHARPNESS_QUEUE_POLL_MS", 1_000, 10),
    // A failed Redis call (connection lost) is retried after this; it must stay well under the
    // lock's life or a finished job loses its lock before it is stored.
    retryMs: Math.max(100, Math.min(2_000, Math.floor(lockMs / 4))),
  };
}

type Target = { host: string; port: number; username?: string; password?: string; db: number; shown: string };

/** A redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] URL, checked. */
function parseRedisUrl(url: string): Target {
  const bad = () => new QueueError(`--queue must be a redis://HOST:PORT URL (got ${JSON.stringify(url)})`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad();
  }
  if (u.protocol !== "redis:" || !u.hostname || u.search || u.hash) throw bad();
  const port = u.port === "" ? 6379 : Number(u.port);
  if (!(Number.isInteger(port) && port > 0 && port < 65536)) throw bad();
  const path = u.pathname.replace(/^\//, "");
  if (path !== "" && !/^\d{1,2}$/.test(path)) throw bad();
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  const username = u.username ? decodeURIComponent(u.username) : undefined;
  return { host, port, username, password, db: path === "" ? 0 : Number(path), shown: `redis://${u.host}${path ? `/${path}` : ""}` };
}

function connection(t: Target): RedisOptions {
  return {
    host: t.host,
    port: t.port,
    username: t.username,
    password: t.password,
    db: t.db,
    // Commands wait through a reconnect instead of failing (BullMQ needs this on workers).
    maxRetriesPerRequest: null,
    // Reconnect forever, at most every 2 s.
    retryStrategy: (times: number) => Math.min(200 * times, 2_000),
  };
}

const resp = (args: string[]) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;

function socketError(e: NodeJS.ErrnoException, t: Target): string {
  switch (e.code) {
    case "ECONNREFUSED":
      return "connection refused";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `unknown host ${t.host}`;
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "host unreachable";
    case "ETIMEDOUT":
      return "connection timed out";
    case "ECONNRESET":
      return "connection reset (is it a Redis server?)";
    default:
      return (e.message || String(e)).split("\n")[0];
  }
}

/**
 * Parse and check a redis:// URL and that a server answers PING within ~3 s; throws a one-line
 * QueueError ("cannot reach Redis at redis://127.0.0.1:1: connection refused").
 *
 * @example
 * ```ts
 * await checkRedis("redis://127.0.0.1:6379"); // throws QueueError when nothing answers
 * ```
 */
export async function checkRedis(url: string, timeoutMs = 3_000): Promise<void> {
  const t = parseRedisUrl(url);
  const where = `Redis at ${t.shown}`;
  await new Promise<void>((resolve, reject) => {
    let sock: Socket | null = null;
    let settled = false;
    const finish = (err?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock?.destroy();
      if (err === undefined) resolve();
      else reject(new QueueError(err));
    };
    const timer = setTimeout(() => finish(`cannot reach ${where}: no answer within ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`} (is it a Redis server?)`), timeoutMs);
    let buf = "";
    let replies = 0;
    const expected = t.password ? 2 : 1;
    sock = netConnect({ host: t.host, port: t.port });
    sock.setEncoding("utf8");
    sock.on("connect", () => {
      if (t.password) sock!.write(resp(["AUTH", ...(t.username ? [t.username] : []), t.password]));
      sock!.write(resp(["PING"]));
    });
    sock.on("data", (d: string) => {
      buf += d;
      for (let nl = buf.indexOf("\r\n"); nl >= 0; nl = buf.indexOf("\r\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        replies++;
        if (line.startsWith("-")) {
          const msg = line.slice(1).trim();
          const hint = /^(NOAUTH|WRONGPASS)/.test(msg) ? " (give the password in the URL: redis://:PASSWORD@HOST:PORT)" : "";
          return finish(`${where} refused the connection: ${msg}${hint}`);
        }
        if (!line.startsWith("+")) return finish(`${t.shown} is not a Redis server (it answered ${JSON.stringify(line.slice(0, 60))})`);
        if (replies === expected) return finish(line === "+PONG" ? undefined : `${t.shown} is not a Redis server (it answered ${JSON.stringify(line.slice(0, 60))} to PING)`);
      }
      if (buf.length > 4096) finish(`${t.shown} is not a Redis server`);
    });
    sock.on("error", (e: NodeJS.ErrnoException) => finish(`cannot reach ${where}: ${socketError(e, t)}`));
    sock.on("close", () => finish(`cannot reach ${where}: the connection was closed`));
  });
}


/** Run slots of the workers connected now (a worker's name ends with ":jobs=N"). */
async function workerSlots(queue: Queue): Promise<number> {
  try {
    const ws = (await queue.getWorkers()) as { rawname?: string }[];
    return ws.reduce((a, w) => a + (Number(/:jobs=(\d+)$/.exec(w.rawname ?? "")?.[1]) || 1), 0);
  } catch {
    return 0;
  }
}

const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split("\n")[0];
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Close a BullMQ queue or worker, forcing the disconnect when Redis does not answer. */
async function closeWithin(c: { close: () => Promise<void>; disconnect: () => Promise<void> }, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([c.close().then(() => true, () => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
  clearTimeout(timer);
  if (!closed) await c.disconnect().catch(() => {});
}

/**
 * Warnings, each distinct message at most once a minute; `trouble` marks a connection problem,
 * and `ok()` after one reports that Redis answers again (and lets the next outage be reported).
 */
function warnings(report: (message: string) => void, shown: string) {
  const seen = new Map<string, number>();
  let troubled = false;
  const say = (m: string) => {
    const now = Date.now();
    if ((seen.get(m) ?? 0) > now - 60_000) return;
    seen.set(m, now);
    report(m);
  };
  return {
    say,
    trouble: (e: unknown) => {
      troubled = true;
      say(`Redis at ${shown}: ${firstLine(e)} (retrying)`);
    },
    ok: () => {
      if (!troubled) return;
      troubled = false;
      seen.clear();
      report(`Redis at ${shown} answers again`);
    },
  };
}

/**
 * Options of {@link runQueued}.
 *
 * @inline
 */
export type QueuedOptions = {
  /** redis://HOST:PORT */
  url: string;
  /** Retry jobs that failed for good (and runs recorded as failed in `dir`). */
  retryFailed?: boolean;
  /** Called on every {@link SweepEvent}, as with {@link runLocal}. */
  onEvent?: (e: SweepEvent) => void;
  /** Trouble that does not end the sweep (Redis unreachable, a job that vanished). */
  onWarning?: (message: string) => void;
  /** BullMQ queue name (default "sharpness-runs"). */
  queueName?: string;
};

type Tracked = {
  run: PlannedRun;
  slot: number | null;
  /** attemptsMade / stalled count last seen (-1: not yet seen). */
  attempts: number;
  stalls: number;
  started: number;
  progress: string;
  invalidSeen: number;
  invalidRetried: boolean;
};

/**
 * Enqueue the runs that have no valid result in `dir` and collect their results there as jobs
 * complete (`writeResult`); jobs that failed for good are recorded (`writeFailure`), or retried
 * with `retryFailed`. `done` resolves when every run has a result or a final failure; `stop()`
 * ends collecting (the jobs stay queued; the same call later collects them). Events as
 * `runLocal`'s: "start" (its `jobs` is the run slots of the workers connected at the start, 0
 * when none is yet), "run-start" and "progress" (slots number the runs seen running; a run that
 * starts and ends between two polls has only "run-end", with slot -1), "run-end", "run-failed"
 * (`retrying` for an attempt that failed or a lost worker's job put back). `executed` counts
 * the results collected from the queue (computed now or earlier).
 *
 * @example
 * ```ts
 * const { done } = runQueued(planRuns(specs), "runs/rho", { url: "redis://127.0.0.1:6379" });
 * const { executed, failed } = await done; // workers elsewhere run the jobs
 * ```
 */
export function runQueued(runs: PlannedRun[], dir: string, opts: QueuedOptions): { done: Promise<SweepOutcome>; stop: () => Promise<void> } {
  const target = parseRedisUrl(opts.url);
  const settings = queueSettings();
  let stopped = false;
  // Nothing is reported after stop() (a poll in flight may still finish).
  const emit = (e: SweepEvent) => {
    if (!stopped) opts.onEvent?.(e);
  };
  const warn = warnings((m) => !stopped && opts.onWarning?.(m), target.shown);
  const tracked = new Map<string, Tracked>();
  const { results, failed, pending, skipped, failedBefore } = triageRuns(dir, runs, opts.retryFailed);
  const retry: PlannedRun[] = opts.retryFailed ? pending : [];
  for (const r of pending) tracked.set(r.key, { run: r, slot: null, attempts: -1, stalls: -1, started: -1, progress: "", invalidSeen: 0, invalidRetried: false });

  const queue = new Queue(opts.queueName ?? DEFAULT_QUEUE, { connection: connection(target) });
  queue.on("error", (e) => warn.trouble(e));
  const jobOpts = {
    attempts: settings.attempts,
    backoff: { type: "exponential", delay: settings.backoffMs },
    removeOnComplete: false,
    removeOnFail: false,
  };
  const add = (rs: PlannedRun[]) => queue.addBulk(rs.map((r) => ({ name: JOB_NAME, data: r.spec, opts: { ...jobOpts, jobId: jobIdOf(r.key) } })));

  const freeSlots: number[] = [];
  let nextSlot = 0;
  const takeSlot = () => freeSlots.sort((a, b) => b - a).pop() ?? nextSlot++;
  const release = (t: Tracked) => {
    if (t.slot !== null) freeSlots.push(t.slot);
    t.slot = null;
  };

  let executed = 0;
  let wake: () => void = () => {};
  const stopSignal = new Promise<void>((r) => (wake = r));

  /** Look at one job; true when it reached its end (result or final failure). */
  async function poll(t: Tracked): Promise<boolean> {
    const key = t.run.key;
    // The state first, then the job: a job read before it completed has no return value yet.
    const state = await queue.getJobState(jobIdOf(key));
    const job = (await queue.getJob(jobIdOf(key))) as Job | undefined;
    if (!job || state === "unknown") {
      warn.say(`job ${key} is missing from the queue (was Redis flushed or restarted without AOF?); adding it again`);
      await add([t.run]);
      return false;
    }
    const slot = t.slot ?? -1;
    if (state === "completed") {
      const rv = job.returnvalue as { result?: unknown; metrics?: unknown } | null;
      if (!isValidResult(rv?.result, key)) {
        // Look twice before running it again.
        if (++t.invalidSeen < 2) return false;
        if (!t.invalidRetried) {
          t.invalidRetried = true;
          t.invalidSeen = 0;
          release(t);
          emit({ type: "run-failed", run: t.run, slot, error: "the job's stored return value is not a valid result; running it again", retrying: true });
          await job.retry("completed").catch(() => {});
          return false;
        }
        return fail(t, "the queue returned an invalid result twice", job.attemptsMade);
      }
      const result = rv!.result as StoredResult;
      store(() => writeResult(dir, result, typeof rv!.metrics === "string" ? rv!.metrics : undefined));
      results.push(result);
      executed++;
      release(t);
      emit({ type: "run-end", run: t.run, slot, result });
      return true;
    }
    if (state === "failed") return fail(t, job.failedReason || "failed", job.attemptsMade);
    // Retries in progress: an attempt failed (run process died) or the job's worker was lost.
    const attempts = job.attemptsMade ?? 0;
    const stalls = job.stalledCounter ?? 0;
    if (t.attempts >= 0 && attempts > t.attempts) {
      release(t);
      emit({ type: "run-failed", run: t.run, slot, error: job.failedReason || "attempt failed", retrying: true });
    } else if (t.stalls >= 0 && stalls > t.stalls) {
      release(t);
      emit({ type: "run-failed", run: t.run, slot, error: "its worker stopped answering (stalled job); back in the queue", retrying: true });
    }
    t.attempts = attempts;
    t.stalls = stalls;
    if (state === "active") {
      const started = job.attemptsStarted ?? 0;
      if (t.slot === null || started > t.started) {
        if (t.slot === null) t.slot = takeSlot();
        t.started = started;
        t.progress = "";
        emit({ type: "run-start", run: t.run, slot: t.slot, attempt: attempts + 1 });
      }
      const p = job.progress;
      if (p && typeof p === "object" && typeof (p as SlotProgress).epoch === "number") {
        const s = JSON.stringify(p);
        if (s !== t.progress) {
          t.progress = s;
          emit({ type: "progress", run: t.run, slot: t.slot, p: p as SlotProgress });
        }
      }
    } else release(t);
    return false;
  }

  function fail(t: Tracked, error: string, attempts: number): true {
    const rec: FailureRecord = { key: t.run.key, error, attempts, at: new Date().toISOString(), spec: t.run.spec };
    store(() => writeFailure(dir, rec));
    failed.push(rec);
    const slot = t.slot ?? -1;
    release(t);
    emit({ type: "run-failed", run: t.run, slot, error, retrying: false });
    return true;
  }

  /** A write into `dir`: failing there ends the sweep (Redis trouble only pauses it). */
  function store(write: () => void): void {
    try {
      write();
    } catch (e) {
      throw new QueueError(`cannot write the results into ${dir}: ${firstLine(e)}`);
    }
  }

  /** Wait for `p` unless stop() comes first. */
  const orStop = <T>(p: Promise<T>) => Promise.race([p, stopSignal.then(() => undefined)]);

  async function collect(): Promise<void> {
    const pending = [...tracked.values()];
    try {
      for (let i = 0; i < pending.length && !stopped; i += 500) await orStop(add(pending.slice(i, i + 500).map((t) => t.run)));
      if (opts.retryFailed) {
        for (const r of retry) {
          if (stopped) break;
          const job = (await orStop(queue.getJob(jobIdOf(r.key)))) as Job | undefined;
          if (job && (await orStop(job.getState())) === "failed") {
            // Another collector may retry it first: then it is no longer failed, which is fine.
            await orStop(job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true }).catch(() => {}));
          }
        }
      }
    } catch (e) {
      throw new QueueError(`cannot enqueue the runs on Redis at ${target.shown}: ${firstLine(e)}`);
    }
    emit({ type: "start", total: runs.length, skipped, failedBefore, pending: tracked.size, jobs: stopped ? 0 : ((await orStop(workerSlots(queue))) ?? 0) });
    while (!stopped && tracked.size > 0) {
      const t0 = Date.now();
      const list = [...tracked.values()];
      for (let i = 0; i < list.length && !stopped; i += 200) {
        const batch = list.slice(i, i + 200);
        await orStop(
          Promise.all(
            batch.map(async (t) => {
              try {
                if (await poll(t)) tracked.delete(t.run.key);
                warn.ok();
              } catch (e) {
                if (e instanceof QueueError) throw e;
                warn.trouble(e);
              }
            }),
          ),
        );
      }
      if (tracked.size > 0) await orStop(sleep(Math.max(0, settings.pollMs - (Date.now() - t0))));
    }
  }

  const done = (async (): Promise<SweepOutcome> => {
    try {
      await collect();
    } finally {
      await closeWithin(queue, 3_000);
    }
    const order = new Map(runs.map((r, i) => [r.key, i]));
    results.sort((a, b) => order.get(a.key)! - order.get(b.key)!);
    return { executed, skipped, failed, interrupted: stopped, results };
  })();
  return {
    done,
    stop: async () => {
      stopped = true;
      wake();
      await done.catch(() => {});
    },
  };
}

/**
 * What {@link runWorker} reports: `type` is "run-start", "run-end", "run-failed", "run-retry",
 * "run-stopped", "stalled" or "warning", with the run's key and a message where there is one.
 *
 * @inline
 */
export type WorkerEvent = {
  /** The event's kind (see above). */
  type: string;
  /** The run's key, for run events. */
  key?: string;
  /** A one-line message (the run's label, an error, a warning). */
  message?: string;
};

/**
 * A worker: takes jobs and runs each in a `RunPool` child (pool size = BullMQ concurrency =
 * `jobs`) under a scratch directory (os.tmpdir()/sharpness-worker-<pid>, removed on exit; a
 * job's checkpoints stay there while it runs, so a retry here resumes); a job's return value is
 * `{ result, metrics }`. A run process that died → the attempt fails (retried with backoff); a
 * run that threw → the job fails at once with its message. `stop()` (SIGINT/SIGTERM in the CLI)
 * checkpoints the runs in progress, puts their jobs back in the queue, closes the worker; `done`
 * resolves after it. Events: "run-start", "run-end", "run-failed", "run-retry", "run-stopped",
 * "stalled" (a lost worker's job put back), "warning" (Redis trouble; the worker keeps trying).
 *
 * @example
 * ```ts
 * const w = runWorker({ url: "redis://127.0.0.1:6379", jobs: 2, onEvent: (e) => console.log(e.type, e.key ?? "") });
 * process.once("SIGINT", () => void w.stop());
 * await w.done;
 * ```
 */
export function runWorker(opts: { url: string; jobs: number; onEvent?: (e: WorkerEvent) => void; queueName?: string }): { done: Promise<void>; stop: () => Promise<void> } {
  const target = parseRedisUrl(opts.url);
  const settings = queueSettings();
  const emit = opts.onEvent ?? (() => {});
  const warn = warnings((message) => emit({ type: "warning", message }), target.shown);
  const jobs = Math.max(1, Math.floor(opts.jobs));
  const scratch = join(tmpdir(), `sharpness-worker-${process.pid}`);
  mkdirSync(scratch, { recursive: true });
  const cleanup = () => rmSync(scratch, { recursive: true, force: true });
  process.once("exit", cleanup);

  const active = new Map<string, { job: Job; lastProgress: number }>();
  const pool = new RunPool({
    size: jobs,
    onProgress: (_slot, key, p) => {
      const a = active.get(key);
      const now = Date.now();
      if (!a || (now - a.lastProgress < 1_000 && p.step !== p.steps)) return;
      a.lastProgress = now;
      a.job.updateProgress(p).catch(() => {});
    },
  });
  let stopping = false;

  const worker = new Worker(
    opts.queueName ?? DEFAULT_QUEUE,
    async (job: Job, token?: string) => {
      const key = keyOfJob(job.id!);
      if (stopping) {
        await backToWait(job, token);
        throw new WaitingError();
      }
      const attempt = (job.attemptsMade ?? 0) + 1;
      const label = describe(job.data);
      emit({ type: "run-start", key, message: `${label}${attempt > 1 ? ` (attempt ${attempt})` : ""}` });
      active.set(key, { job, lastProgress: 0 });
      const t0 = Date.now();
      let o;
      try {
        o = await pool.run(job.data, scratch, key);
      } finally {
        active.delete(key);
      }
      switch (o.status) {
        case "done":
          rmSync(runDir(scratch, key), { recursive: true, force: true });
          emit({ type: "run-end", key, message: `${describeResult(o.result)}, ${((Date.now() - t0) / 1000).toFixed(1)} s` });
          return { result: o.result, metrics: o.metrics };
        case "error":
          rmSync(runDir(scratch, key), { recursive: true, force: true });
          emit({ type: "run-failed", key, message: o.message });
          throw new UnrecoverableError(o.message);
        case "crashed": {
          const more = attempt < (job.opts.attempts ?? 1);
          emit({ type: more ? "run-retry" : "run-failed", key, message: `${o.message}${more ? " (will be retried)" : ""}` });
          throw new Error(o.message);
        }
        case "stopped":
          emit({ type: "run-stopped", key, message: "checkpointed; back in the queue" });
          await backToWait(job, token);
          throw new WaitingError();
      }
    },
    {
      connection: connection(target),
      concurrency: jobs,
      name: `${hostname()}:${process.pid}:jobs=${jobs}`,
      lockDuration: settings.lockMs,
      stalledInterval: settings.stalledMs,
      maxStalledCount: settings.maxStalled,
      runRetryDelay: settings.retryMs,
      drainDelay: 5,
    },
  );
  worker.on("error", (e) => {
    const m = firstLine(e);
    // A job that finished after its lock was lost (another worker took it over): harmless.
    if (/missing lock/i.test(m)) warn.say(`${m} (its job was taken over by another worker)`);
    else warn.trouble(e);
  });
  // ioredis says "ready" after every (re)connection.
  void worker.client.then((c) => c.on("ready", () => warn.ok())).catch(() => {});
  worker.on("stalled", (jobId: string) => emit({ type: "stalled", key: keyOfJob(jobId), message: "its worker stopped answering; put back in the queue" }));

  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => (resolveDone = r));
  let stopping$: Promise<void> | null = null;
  const stop = () =>
    (stopping$ ??= (async () => {
      stopping = true;
      const closing = worker.close();
      await pool.stop();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closing.catch(() => {}), new Promise<void>((r) => (timer = setTimeout(r, 10_000)))]);
      clearTimeout(timer);
      await worker.disconnect().catch(() => {});
      await pool.close();
      cleanup();
      process.removeListener("exit", cleanup);
      resolveDone();
    })());
  return { done, stop };
}

/** Put an active job back in the queue; if that fails (lock lost, Redis gone), the stalled-job check will. */
async function backToWait(job: Job, token?: string): Promise<void> {
  await job.moveToWait(token).catch(() => {});
}

/** "SAM ρ=0.05 seed 0" from a job's spec, best effort. */
function describe(spec: unknown): string {
  try {
    const s = fillAnySpec(spec);
    return `${anyLabel(s)} seed ${s.seed}`;
  } catch {
    return "(invalid spec)";
  }
}
