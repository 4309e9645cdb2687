/**
 * Distributed sweeps over BullMQ with real processes: a redis-server (AOF on) started for this
 * file, workers started as `sharpness worker` processes, collectors (`runQueued`) in this process.
 * A SIGKILLed worker's job is finished by another worker; Redis SIGKILLed and restarted mid-sweep
 * loses no run; the same sweep submitted twice at once runs each key once; a run that throws
 * fails at once, one whose process keeps dying fails after 3 attempts, both recorded; bad URLs
 * and absent servers are one-line errors. Queued results equal local ones but for wall times.
 * Each test uses its own Redis database, so their queues do not meet.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { planRuns, runLocal, type PlannedRun, type SweepEvent, type SweepOutcome } from "../../src/sweep/local.js";
import { checkRedis, jobIdOf, runQueued, QueueError } from "../../src/sweep/queue.js";
import { withoutTimes, type RunResult } from "../../src/train/result.js";
import type { StoredResult } from "../../src/experiments/tasks.js";
import { runKey } from "../../src/train/spec.js";
import { requireBinary } from "../system-deps.js";

const redisBin = requireBinary("redis-server", "redis-server");
const skip = redisBin.skip;

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");
const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Fast queue timings for tests: a lost worker's job is back within ~5 s. */
const FAST = { SHARPNESS_QUEUE_LOCK_MS: "3000", SHARPNESS_QUEUE_STALLED_MS: "1000", SHARPNESS_QUEUE_POLL_MS: "250" };
process.env.SHARPNESS_QUEUE_POLL_MS = "250";
process.env.SHARPNESS_QUEUE_BACKOFF_MS = "300";

const spec = (o: { trainSize?: number; epochs?: number; seed?: number; rho?: number; lr?: number; nonFinite?: string } = {}) => ({
  data: { name: "mnist", trainSize: o.trainSize ?? 200 },
  model: { name: "mlp", hidden: 16 },
  optimizer: { name: "sam", rho: o.rho ?? 0.05, ...(o.nonFinite ? { nonFinite: o.nonFinite } : {}), base: { name: "sgd", lr: o.lr ?? 0.1, momentum: 0.9 } },
  epochs: o.epochs ?? 3,
  batchSize: 50,
  seed: o.seed ?? 0,
});
/** ~2-3 s on this machine (mostly the per-epoch evaluation): long enough to be killed mid-run. */
const long = (seed: number, rho = 0.05) => spec({ trainSize: 2000, epochs: 20, seed, rho });

const SPECS = {
  kill: [long(0), spec({ seed: 1 }), spec({ seed: 2 })],
  restart: [spec({ seed: 3, trainSize: 1000, epochs: 6 }), long(4, 0.1), spec({ seed: 5, trainSize: 1000, epochs: 6 }), spec({ seed: 6, trainSize: 1000, epochs: 6 })],
  // Two task runs (experiments/tasks.ts) ride along: they go through the same queue and pool.
  twice: [spec({ seed: 7 }), spec({ seed: 8 }), spec({ seed: 9 }), spec({ seed: integerKeySeed() }), { task: "diag-net", seed: 1, lr: 0.5, phases: [{ method: "1-sam", rho: 0.1, steps: 2000 }] }, { task: "relu-1d", seed: 2, method: "sam", maxSteps: 20000 }],
};

/** A seed whose run key is all decimal digits (BullMQ refuses such job ids; jobIdOf maps them). */
function integerKeySeed(): number {
  for (let seed = 100; ; seed++) if (/^[1-9]\d+$/.test(runKey(spec({ seed })))) return seed;
}

// ---------------------------------------------------------------- processes

const spawned: ChildProcess[] = [];
const scratchDirs: string[] = [];

// The whole file is bounded: whatever hangs, the processes it started go.
const watchdog = setTimeout(() => {
  for (const c of spawned) c.kill("SIGKILL");
  process.stderr.write("queue.test: file-level timeout (150 s)\n");
  process.exit(1);
}, 150_000);
watchdog.unref();

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const exited = (c: ChildProcess) => new Promise<number | null>((r) => (c.exitCode !== null || c.signalCode !== null ? r(c.exitCode) : c.once("exit", (code) => r(code))));

async function until(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for: ${what}`);
    await sleep(50);
  }
}

class Redis {
  proc: ChildProcess | null = null;
  log = "";
  constructor(
    readonly port: number,
    readonly dir: string,
  ) {}
  url(db: number): string {
    return `redis://127.0.0.1:${this.port}/${db}`;
  }
  async start(): Promise<void> {
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no"];
    this.log = "";
    const p = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
    spawned.push(p);
    this.proc = p;
    p.stdout!.on("data", (d) => (this.log += d));
    p.stderr!.on("data", (d) => (this.log += d));
    const t0 = Date.now();
    for (;;) {
      if (p.exitCode !== null) throw new Error(`redis-server exited: ${this.log.slice(-500)}`);
      try {
        // After the AOF is loaded.
        if (!/Ready to accept connections/.test(this.log)) throw new Error("loading");
        await checkRedis(this.url(0), 500);
        return;
      } catch {
        if (Date.now() - t0 > 10_000) throw new Error(`redis-server did not start: ${this.log.slice(-500)}`);
        await sleep(50);
      }
    }
  }
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const p = this.proc;
    if (!p) return;
    p.kill(signal);
    await exited(p);
    this.proc = null;
  }
}

type WorkerProc = { proc: ChildProcess; out: () => string; lines: () => string[]; starts: (key?: string) => number; scratch: string };

function startWorker(url: string, env: Record<string, string> = {}, jobs = 1): WorkerProc {
  const proc = spawn(process.execPath, [cli, "worker", "--queue", url, "--jobs", String(jobs)], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, SHARPNESS_DEBUG: "", ...env } });
  spawned.push(proc);
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const scratch = join(tmpdir(), `sharpness-worker-${proc.pid}`);
  scratchDirs.push(scratch);
  const lines = () => out.split("\n").filter((l) => l.trim());
  return {
    proc,
    out: () => out,
    lines,
    scratch,
    starts: (key?: string) => lines().filter((l) => / run-start ([0-9a-f]+)/.test(l) && (!key || l.includes(` run-start ${key}`))).length,
  };
}

async function stopWorker(w: WorkerProc): Promise<{ code: number | null; ms: number }> {
  const t0 = Date.now();
  w.proc.kill("SIGTERM");
  const code = await exited(w.proc);
  return { code, ms: Date.now() - t0 };
}

/** Children of `pid` (the pool's run processes of a worker). */
const children = (pid: number): number[] =>
  spawnSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" })
    .stdout.split("\n")
    .map((s) => Number(s.trim()))
    .filter((n) => n > 0);

const collectors: { stop: () => Promise<void> }[] = [];

function collect(runs: PlannedRun[], dir: string, url: string, o: { retryFailed?: boolean } = {}) {
  const events: SweepEvent[] = [];
  const warnings: string[] = [];
  const h = runQueued(runs, dir, { url, retryFailed: o.retryFailed, onEvent: (e) => events.push(e), onWarning: (m) => warnings.push(m) });
  collectors.push(h);
  return { ...h, events, warnings };
}

const stored = (dir: string): Map<string, RunResult> =>
  new Map(
    !existsSync(join(dir, "runs")) ? [] :
    readdirSync(join(dir, "runs"))
      .filter((k) => existsSync(join(dir, "runs", k, "result.json")))
      .map((k) => [k, JSON.parse(readFileSync(join(dir, "runs", k, "result.json"), "utf8")) as RunResult]),
  );

function assertLikeLocal(o: SweepOutcome, dir: string, runs: PlannedRun[]): void {
  assert.equal(o.failed.length, 0, JSON.stringify(o.failed));
  assert.deepEqual(
    o.results.map((r) => r.key),
    runs.map((r) => r.key),
  );
  const files = stored(dir);
  assert.equal(files.size, runs.length, "one result per key");
  for (const r of runs) {
    const want = withoutTimes(local.get(r.key)!);
    assert.deepEqual(withoutTimes(files.get(r.key)!), want, `stored result of ${r.key} ≠ local`);
    assert.deepEqual(withoutTimes(o.results.find((x) => x.key === r.key)!), want);
    if (!("task" in r.spec)) assert.ok(readFileSync(join(dir, "runs", r.key, "metrics.jsonl"), "utf8").split("\n").filter(Boolean).length === r.spec.epochs, "metrics.jsonl has a line per epoch");
  }
}

// ---------------------------------------------------------------- setup

let redis: Redis;
const local = new Map<string, StoredResult>();
const timings: Record<string, number> = {};

before(async () => {
  if (skip) return;
  redis = new Redis(await freePort(), tmp("redis-"));
  const t0 = Date.now();
  const [, out] = await Promise.all([
    redis.start(),
    runLocal(planRuns([...SPECS.kill, ...SPECS.restart, ...SPECS.twice]), tmp("local-"), { jobs: 2 }).done,
  ]);
  assert.equal(out.failed.length, 0);
  for (const r of out.results) local.set(r.key, r);
  timings.setup = Date.now() - t0;
});

after(async () => {
  await Promise.all(collectors.map((c) => c.stop()));
  for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const d of scratchDirs) rmSync(d, { recursive: true, force: true });
  if (Object.keys(timings).length) process.stdout.write(`# queue.test timings (ms): ${JSON.stringify(timings)}\n`);
});

// ---------------------------------------------------------------- cases

test("a SIGKILLed worker's job is finished by a second worker; one result per key, equal to a local run", { skip, timeout: 60_000 }, async () => {
  const t0 = Date.now();
  const url = redis.url(1);
  const runs = planRuns(SPECS.kill);
  const longKey = runs[0].key;
  const out = tmp("q-kill-");
  const c = collect(runs, out, url);
  await until("the sweep is enqueued", () => c.events.some((e) => e.type === "start"));
  const a = startWorker(url, FAST);
  // The long run is the first queued: worker A takes it. Kill A once it has checkpointed an epoch.
  await until("worker A trains the long run", () => existsSync(join(a.scratch, "runs", longKey, "checkpoints")) && readdirSync(join(a.scratch, "runs", longKey, "checkpoints")).length > 0);
  const runProcs = children(a.proc.pid!);
  a.proc.kill("SIGKILL");
  await exited(a.proc);
  const killedAt = Date.now();
  assert.ok(!stored(out).has(longKey));
  const b = startWorker(url, FAST);
  const o = await c.done;
  const recovered = Date.now() - killedAt;
  assertLikeLocal(o, out, runs);
  assert.equal(o.executed, 3);
  assert.equal(b.starts(longKey), 1, b.out());
  assert.match(b.out(), new RegExp(`stalled ${longKey}`), "B's stalled check put A's job back");
  assert.ok(c.events.some((e) => e.type === "run-failed" && e.run.key === longKey && e.retrying && /stalled/.test(e.error)), "the collector saw the stall");
  // A's run process went with A (the IPC channel closed).
  await until("A's run process exits", () => runProcs.every((p) => spawnSync("kill", ["-0", String(p)]).status !== 0), 5_000);
  const stop = await stopWorker(b);
  assert.equal(stop.code, 0, b.out());
  assert.ok(!existsSync(b.scratch), "the worker's scratch directory is removed on exit");
  timings.killWorker = Date.now() - t0;
  timings.killWorkerRecovery = recovered;
  timings.workerStop = stop.ms;
});

test("SIGTERM of a worker mid-job: it checkpoints, puts the job back and exits 0; another worker finishes it", { skip, timeout: 60_000 }, async () => {
  const t0 = Date.now();
  const url = redis.url(5);
  const runs = planRuns([SPECS.kill[0]]);
  const key = runs[0].key;
  const out = tmp("q-term-");
  const a = startWorker(url, FAST);
  const c = collect(runs, out, url);
  await until("worker A trains the run", () => existsSync(join(a.scratch, "runs", key, "checkpoints")) && readdirSync(join(a.scratch, "runs", key, "checkpoints")).length > 0);
  const stop = await stopWorker(a);
  assert.equal(stop.code, 0, a.out());
  assert.match(a.out(), new RegExp(`run-stopped ${key}: checkpointed; back in the queue`));
  assert.ok(!existsSync(a.scratch), "the worker's scratch directory is removed on exit");
  const b = startWorker(url, FAST);
  const o = await c.done;
  assertLikeLocal(o, out, runs);
  // Back in the queue without using an attempt, and not counted as a stall.
  assert.match(b.out(), new RegExp(`run-start ${key}: SAM ρ=0\\.05 seed 0\n`));
  assert.ok(!c.events.some((e) => e.type === "run-failed"), JSON.stringify(c.events.filter((e) => e.type === "run-failed")));
  await stopWorker(b);
  timings.sigtermWorker = Date.now() - t0;
  timings.sigtermStop = stop.ms;
});

test("redis-server SIGKILLed and restarted on the same dir mid-sweep: the sweep completes, no run lost", { skip, timeout: 60_000 }, async () => {
  const t0 = Date.now();
  const url = redis.url(2);
  const runs = planRuns(SPECS.restart);
  const out = tmp("q-restart-");
  const w = startWorker(url);
  const c = collect(runs, out, url);
  // Kill Redis while the long run (second) is running, after the first result is in.
  await until("the long run is running", () => c.events.some((e) => e.type === "run-start" && e.run.key === runs[1].key) || w.starts(runs[1].key) > 0);
  await redis.kill("SIGKILL");
  await sleep(1_500);
  await redis.start();
  const o = await c.done;
  assertLikeLocal(o, out, runs);
  assert.match(c.warnings.join("\n"), /ECONNREFUSED|closed/, "the collector noticed Redis was gone");
  assert.match(c.warnings.at(-1) ?? "", /answers again$/);
  assert.match(w.out(), /warning: Redis at .* answers again/);
  assert.equal((await stopWorker(w)).code, 0, w.out());
  if (process.env.QUEUE_TEST_DEBUG) process.stdout.write(`${w.out()}\n${c.warnings.join("\n")}\n${c.events.map((e) => `${e.type} ${"run" in e ? e.run.key : ""} ${"slot" in e ? e.slot : ""} ${"error" in e ? e.error : ""}`).join("\n")}\n`);
  timings.restartRedis = Date.now() - t0;
});

test("the same sweep submitted twice at once runs each key once; both collectors end with every result", { skip, timeout: 60_000 }, async () => {
  const t0 = Date.now();
  const url = redis.url(3);
  const runs = planRuns(SPECS.twice);
  assert.match(runs[3].key, /^\d+$/);
  assert.equal(jobIdOf(runs[3].key), `run-${runs[3].key}`);
  const w1 = startWorker(url);
  const w2 = startWorker(url);
  const d1 = tmp("q-twice-a-");
  const d2 = tmp("q-twice-b-");
  const c1 = collect(runs, d1, url);
  const c2 = collect(runs, d2, url);
  const [o1, o2] = await Promise.all([c1.done, c2.done]);
  assertLikeLocal(o1, d1, runs);
  assertLikeLocal(o2, d2, runs);
  for (const r of runs) assert.equal(w1.starts(r.key) + w2.starts(r.key), 1, `${r.key} executed once\n${w1.out()}\n${w2.out()}`);
  // A later submission collects the completed jobs' stored return values without running them.
  const d3 = tmp("q-twice-c-");
  const o3 = await collect(runs, d3, url).done;
  assertLikeLocal(o3, d3, runs);
  assert.equal(w1.starts() + w2.starts(), runs.length);
  await Promise.all([stopWorker(w1), stopWorker(w2)]);
  timings.submittedTwice = Date.now() - t0;
});

test("a run that throws fails at once; one whose process keeps dying fails after 3 attempts with backoff; both recorded; --retry-failed reruns", { skip, timeout: 60_000 }, async () => {
  const t0 = Date.now();
  const url = redis.url(4);
  // lr 1e20 overflows at the first step; with nonFinite "error" the run throws (deterministic).
  const bad = spec({ lr: 1e20, nonFinite: "error", seed: 11 });
  const dying = long(12);
  const runs = planRuns([bad, dying]);
  const [badKey, dyingKey] = runs.map((r) => r.key);
  const out = tmp("q-fail-");
  const w = startWorker(url);
  const c = collect(runs, out, url);
  // Kill the run process of every attempt of `dying`.
  const killed: number[] = [];
  const attemptAt: number[] = [];
  let killing = true;
  const killer = (async () => {
    while (killing) {
      const n = w.starts(dyingKey);
      if (n > attemptAt.length) attemptAt.push(Date.now());
      if (n > killed.length) {
        const kids = children(w.proc.pid!);
        if (kids.length) {
          await sleep(200);
          for (const k of children(w.proc.pid!)) process.kill(k, "SIGKILL");
          killed.push(n);
        }
      }
      await sleep(50);
    }
  })();
  const o = await c.done;
  killing = false;
  await killer;
  assert.equal(o.results.length, 0);
  assert.equal(o.failed.length, 2);
  const fBad = JSON.parse(readFileSync(join(out, "runs", badKey, "failed.json"), "utf8"));
  assert.match(fBad.error, /^NonFiniteError: epoch 1, step 1: the loss or a gradient is NaN\/Inf/);
  assert.equal(fBad.attempts, 1, "a run that throws is not retried");
  const fDying = JSON.parse(readFileSync(join(out, "runs", dyingKey, "failed.json"), "utf8"));
  assert.match(fDying.error, /run process killed by SIGKILL/);
  assert.equal(fDying.attempts, 3);
  assert.equal(w.starts(dyingKey), 3);
  assert.equal(w.starts(badKey), 1);
  // Exponential backoff (300 ms, then 600 ms) between attempts.
  assert.ok(attemptAt[2] - attemptAt[1] >= 550, `backoff ${attemptAt[2] - attemptAt[1]} ms`);
  assert.ok(c.events.some((e) => e.type === "run-failed" && e.run.key === dyingKey && e.retrying));
  assert.ok(c.events.some((e) => e.type === "run-failed" && e.run.key === badKey && !e.retrying && /NonFiniteError/.test(e.error)));
  assert.ok(!existsSync(join(out, "runs", badKey, "result.json")));

  // Again: recorded failures are listed, not rerun.
  const again = collect(runs, out, url);
  const o2 = await again.done;
  assert.equal(o2.failed.length, 2);
  assert.deepEqual({ ...again.events.find((e) => e.type === "start"), jobs: 0 }, { type: "start", total: 2, skipped: 0, failedBefore: 2, pending: 0, jobs: 0 });
  // --retry-failed: the failed job is retried (and fails again, at once).
  const retried = collect([runs[0]], out, url, { retryFailed: true });
  const o3 = await retried.done;
  assert.equal(o3.failed.length, 1);
  assert.equal(w.starts(badKey), 2);
  assert.equal(JSON.parse(readFileSync(join(out, "runs", badKey, "failed.json"), "utf8")).attempts, 1);
  await stopWorker(w);
  timings.failures = Date.now() - t0;
});

test("bad URLs and absent servers are one-line QueueErrors; the CLI exits 2 with one line", { timeout: 30_000 }, async () => {
  const t0 = Date.now();
  const rejects = async (url: string, re: RegExp, ms?: number) => {
    await assert.rejects(checkRedis(url, ms), (e: Error) => {
      assert.ok(e instanceof QueueError, `${e}`);
      assert.equal(e.name, "QueueError");
      assert.doesNotMatch(e.message, /\n/);
      assert.match(e.message, re);
      return true;
    });
  };
  for (const u of ["http://127.0.0.1:6379", "127.0.0.1:6379", "redis://", "redis://host:99999", "redis://host:6379/x", ""]) await rejects(u, /^--queue must be a redis:\/\/HOST:PORT URL \(got ".*"\)$/);
  const closed = await freePort();
  await rejects(`redis://127.0.0.1:${closed}`, new RegExp(`^cannot reach Redis at redis://127\\.0\\.0\\.1:${closed}: connection refused$`));
  await rejects("redis://no-such-host.invalid:6379", /^cannot reach Redis at redis:\/\/no-such-host\.invalid:6379: (unknown host no-such-host\.invalid|no answer within 3 s .*)$/);
  // Something else on the port: an HTTP-ish server, then one that never answers.
  const servers: Server[] = [];
  const serve = async (onConn: (s: import("node:net").Socket) => void) => {
    const s = createServer(onConn);
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    return (s.address() as { port: number }).port;
  };
  const http = await serve((sock) => sock.end("HTTP/1.1 400 Bad Request\r\n\r\n"));
  await rejects(`redis://127.0.0.1:${http}`, /is not a Redis server \(it answered "HTTP\/1\.1 400 Bad Request"\)/);
  const silent = await serve(() => {});
  await rejects(`redis://127.0.0.1:${silent}`, /: no answer within 300 ms \(is it a Redis server\?\)$/, 300);
  for (const s of servers) s.close();
  // A live server passes.
  if (!skip) await checkRedis(redis.url(0));
  assert.throws(() => runQueued([], tmp("q-"), { url: "ftp://x" }), QueueError);

  const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...process.env, SHARPNESS_DEBUG: "" }, timeout: 20_000 });
  const r1 = run(["worker", "--queue", "redis://127.0.0.1:1"]);
  assert.equal(r1.status, 2, r1.stderr + r1.stdout);
  assert.equal(r1.stderr, "sharpness: cannot reach Redis at redis://127.0.0.1:1: connection refused\n");
  const r2 = run(["worker", "--queue", "localhost:6379"]);
  assert.equal(r2.status, 2);
  assert.equal(r2.stderr, 'sharpness: --queue must be a redis://HOST:PORT URL (got "localhost:6379")\n');
  timings.badUrls = Date.now() - t0;
});
