/**
 * The process a run executes in (forked by the pool, pool.ts, for local sweeps and for queue
 * workers alike, so both give the same numbers). It receives run requests over IPC, one at a
 * time, and keeps loaded data sets between runs. A crash or an out-of-memory ends this process
 * and loses only the run in progress; wasm memory (which never shrinks) goes back to the OS
 * with it.
 *
 * A run checkpoints into `<runDir>/checkpoints` after every epoch and, when a checkpoint of the
 * same key is there, resumes from it (bit-identical to an uninterrupted run). `metrics.jsonl`
 * gets a line per epoch; `result.json` is written atomically at the end. Task specs (the exact
 * float64 models of experiments/tasks.ts) run in seconds, synchronously and without checkpoints:
 * an interrupted one reruns from the start.
 *
 * Messages in:  { type: "run", spec, dir } | { type: "stop" }   (files in <dir>/runs/<key>/)
 * Messages out: { type: "ready" } | { type: "progress", … } | { type: "done", result, metrics }
 *               | { type: "error", message } | { type: "stopped" }
 * "stop" (or SIGINT/SIGTERM) finishes the current step, writes a checkpoint and exits 130.
 */
import { existsSync, readFileSync, rmSync, writeFileSync, appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { initEngine } from "../engine/device.js";
import { loadFashionMnist } from "../data/fashion-mnist.js";
import { loadMnist } from "../data/mnist.js";
import type { ImageDataset } from "../data/types.js";
import { findLatest, readCheckpointMeta } from "../train/checkpoint.js";
import { train } from "../train/trainer.js";
import { fillSpec, runKey } from "../train/spec.js";
import { toRunResult } from "../train/result.js";
import { isTaskSpec, runTask, type TaskResult } from "../experiments/tasks.js";
import { runDir, writeResult } from "./store.js";

/** Run `spec` with its files under `<dir>/runs/<key>/`. */
export type RunRequest = { type: "run"; spec: unknown; dir: string };
/**
 * Progress of the run in a child process: epoch and step counts and a recent loss.
 *
 * @inline
 */
export type ChildProgress = { type: "progress"; epoch: number; epochs: number; step: number; steps: number; loss: number };
export type ChildMessage =
  | { type: "ready" }
  | ChildProgress
  | { type: "done"; result: ReturnType<typeof toRunResult> | TaskResult; metrics: string }
  | { type: "error"; message: string }
  | { type: "stopped" };

const send = (m: ChildMessage) => new Promise<void>((resolve) => (process.send ? process.send(m, undefined, undefined, () => resolve()) : resolve()));

const data = new Map<string, ImageDataset>();
function dataset(name: string): ImageDataset {
  let d = data.get(name);
  if (!d) {
    d = name === "mnist" ? loadMnist() : loadFashionMnist();
    data.set(name, d);
  }
  return d;
}

let stopRequested = false;
let busy = false;
const requestStop = () => {
  stopRequested = true;
  if (!busy) process.exit(130);
};

async function runTaskRequest(req: RunRequest): Promise<void> {
  let lastSent = 0;
  const result = runTask(req.spec, "js-float64", (step, steps) => {
    const now = Date.now();
    if (now - lastSent < 200) return;
    lastSent = now;
    process.send?.({ type: "progress", epoch: 1, epochs: 1, step, steps, loss: NaN } satisfies ChildMessage);
  });
  writeResult(req.dir, result);
  await send({ type: "done", result, metrics: "" });
}

async function runOne(req: RunRequest, device: string): Promise<void> {
  if (isTaskSpec(req.spec)) return runTaskRequest(req);
  const spec = fillSpec(req.spec);
  const key = runKey(spec);
  const dir = runDir(req.dir, key);
  const ckDir = join(dir, "checkpoints");
  let resumeFrom: string | undefined;
  let history: unknown[] = [];
  const found = findLatest(ckDir);
  if (found) {
    try {
      const meta = readCheckpointMeta(found);
      if (meta.key === key) [resumeFrom, history] = [found, meta.history];
    } catch {
      // an unreadable or old-format checkpoint: start over
    }
    if (!resumeFrom) rmSync(ckDir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "spec.json"), JSON.stringify(spec, null, 2) + "\n");
  const metricsFile = join(dir, "metrics.jsonl");
  const line = (e: unknown) => JSON.stringify({ key, optimizer: spec.optimizer.name, seed: spec.seed, ...(e as object) }) + "\n";
  writeFileSync(metricsFile, history.map(line).join(""));
  const stepsPerEpoch = Math.floor(spec.data.trainSize / spec.batchSize);
  let lastSent = 0;
  const r = await train(spec, dataset(spec.data.name), {
    checkpointDir: ckDir,
    checkpointEvery: Math.max(1, stepsPerEpoch),
    resumeFrom,
    shouldStop: () => stopRequested,
    onStep: (e) => {
      const now = Date.now();
      if (now - lastSent < 200 && e.step !== e.steps) return;
      lastSent = now;
      void send({ type: "progress", ...e });
    },
    onEpoch: (e) => appendFileSync(metricsFile, line(e)),
  });
  if (r.interrupted) {
    await send({ type: "stopped" });
    process.exit(130);
  }
  const result = toRunResult(r, device);
  const metrics = existsSync(metricsFile) ? readFileSync(metricsFile, "utf8") : "";
  writeResult(req.dir, result);
  await send({ type: "done", result, metrics });
}

async function main(): Promise<void> {
  if (!process.send) {
    process.stderr.write("sharpness: src/sweep/child is started by the run pool, not by hand\n");
    process.exit(2);
  }
  // The parent going away (even SIGKILLed) closes the channel: stop, keeping the last checkpoint.
  process.on("disconnect", () => process.exit(0));
  process.on("SIGINT", requestStop);
  process.on("SIGTERM", requestStop);
  const device = await initEngine((process.env.SHARPNESS_DEVICE as "auto") || "auto");
  let chain = Promise.resolve();
  process.on("message", (m: RunRequest | { type: "stop" }) => {
    if (m.type === "stop") return requestStop();
    chain = chain.then(async () => {
      busy = true;
      try {
        await runOne(m, device);
      } catch (e) {
        const err = e as Error;
        if (process.env.SHARPNESS_DEBUG) process.stderr.write(`${err.stack}\n`);
        await send({ type: "error", message: `${err.name === "Error" ? "" : err.name + ": "}${err.message.split("\n")[0]}` });
      } finally {
        busy = false;
        if (stopRequested) process.exit(130);
      }
    });
  });
  await send({ type: "ready" });
}

void main();
