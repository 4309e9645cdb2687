/**
 * sharpness-aware/node — the Node-only parts: data sets from npm packages, the trainer,
 * comparisons and HTML reports. Re-exports the browser-safe API too.
 *
 * @module sharpness-aware/node
 */
/// <reference path="../types/engine-globals.d.ts" preserve="true" />
export * from "./index.js";
export { loadFashionMnist } from "./data/fashion-mnist.js";
export { loadMnist } from "./data/mnist.js";
export { DataError } from "./data/errors.js";
export { subsetTrain, symmetricLabelNoise } from "./data/prepare.js";
export { upload, take, epochBatches, evalBatches, disposeDeviceSet, type DeviceSet } from "./data/batches.js";
export type { ImageDataset, NoisyLabels } from "./data/types.js";
export { train, type TrainResult, type EpochRecord, type TrainHooks, type ProgressEvent } from "./train/trainer.js";
export { DEFAULT_COMPARISON, CLAIM, TRAIN_PRESET } from "./train/default-comparison.js";
export { toRunResult, withoutTimes, RESULT_FORMAT, type RunResult, type RunMetrics } from "./train/result.js";
export { vegaLiteToSvg } from "./report/html.js";
export { writeSweepReport, summarizeRuns, type Summary, type ReportOptions, type Claim } from "./report/sweep-report.js";
export { expandSweep, SweepError, type SweepFile } from "./sweep/grid.js";
export { planRuns, runLocal, defaultJobs, type PlannedRun, type SweepEvent, type SweepOptions, type SweepOutcome } from "./sweep/local.js";
export { RunPool, type RunOutcome } from "./sweep/pool.js";
export { readValidResult, writeResult, listRuns, writeFileAtomic, type FailureRecord } from "./sweep/store.js";
export { checkRedis, runQueued, runWorker, QueueError } from "./sweep/queue.js";
export { writeCheckpoint, readCheckpointTrees, readCheckpointMeta, findLatest, CheckpointError, CHECKPOINT_FORMAT, type CheckpointContent } from "./train/checkpoint.js";
export { encodeSafetensors, decodeSafetensors, SafetensorsError, type TensorData } from "./engine/safetensors.js";
export { EXPERIMENTS, experimentById } from "./experiments/index.js";
export { planExperiments, writeExperiment, writeIndex, type ReproducePlan } from "./experiments/reproduce.js";
