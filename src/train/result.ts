/**
 * A run's result as it is stored (`runs/<key>/result.json`), reported and sent over the queue.
 * Its JSON Schema is schema/result.schema.json (tests validate what the CLI writes against it).
 * Browser-safe.
 */
import type { EpochRecord, TrainResult } from "./trainer.js";
import { specLabel, type RunSpec } from "./spec.js";
import type { TaskResult } from "../experiments/tasks.js";

export const RESULT_FORMAT = "sharpness-aware-result/1";

/** The final numbers of a run (last epoch unless named "best"). */
export type RunMetrics = {
  testAccuracy: number;
  /** Best test accuracy over epochs (early stopping on the test set: optimistic). */
  bestTestAccuracy: number;
  bestEpoch: number;
  testLoss: number;
  trainLoss: number;
  trainAccuracy: number;
  cleanTrainAccuracy: number;
  noisyTrainAccuracy: number | null;
  /** Steps skipped for NaN/Inf over the run. */
  skippedSteps: number;
  epochs: number;
  /** Runs with `data.validationSize`: the last epoch's validation accuracy (given labels). */
  validationAccuracy?: number;
  /** … the best over epochs, and the test accuracy of that epoch (early stopping on validation). */
  bestValidationAccuracy?: number;
  testAccuracyAtBestValidation?: number;
};

export type RunResult = {
  format: typeof RESULT_FORMAT;
  key: string;
  /** The algorithm's name ("sam"). */
  optimizer: string;
  /** Human label ("SAM ρ=0.1"). */
  label: string;
  seed: number;
  spec: RunSpec;
  metrics: RunMetrics;
  history: EpochRecord[];
  stepsPerEpoch: number;
  noisyCount: number;
  /** Wall time of the run (the only field that differs between two runs of one spec). */
  seconds: number;
  /** Of `seconds`, the time inside the training steps (evaluation and checkpoints excluded); absent in results written before it was recorded. */
  trainSeconds?: number;
  /** Where it ran (not part of the spec). */
  device: string;
};

/** The stored form of a finished `train` result. */
export function toRunResult(r: TrainResult, device: string): RunResult {
  const h = r.history;
  const last = h[h.length - 1];
  const best = h.reduce((b, e) => (e.testAccuracy > b.testAccuracy ? e : b), h[0]);
  const bestVal = last.validationAccuracy === undefined ? null : h.reduce((b, e) => ((e.validationAccuracy ?? -1) > (b.validationAccuracy ?? -1) ? e : b), h[0]);
  return {
    format: RESULT_FORMAT,
    key: r.key,
    optimizer: r.spec.optimizer.name,
    label: specLabel(r.spec),
    seed: r.spec.seed,
    spec: r.spec,
    metrics: {
      testAccuracy: last.testAccuracy,
      bestTestAccuracy: best.testAccuracy,
      bestEpoch: best.epoch,
      testLoss: last.testLoss,
      trainLoss: last.trainLoss,
      trainAccuracy: last.trainAccuracy,
      cleanTrainAccuracy: last.cleanTrainAccuracy,
      noisyTrainAccuracy: last.noisyTrainAccuracy,
      skippedSteps: r.skippedSteps,
      epochs: h.length,
      ...(bestVal ? { validationAccuracy: last.validationAccuracy, bestValidationAccuracy: bestVal.validationAccuracy, testAccuracyAtBestValidation: bestVal.testAccuracy } : {}),
    },
    history: h,
    stepsPerEpoch: r.stepsPerEpoch,
    noisyCount: r.noisyCount,
    seconds: r.seconds,
    trainSeconds: r.trainSeconds,
    device,
  };
}

/** An epoch record without its wall-clock fields (`seconds`, `trainSeconds`): what must be identical however a run ran. */
export function epochWithoutTimes<E extends { seconds: number; trainSeconds?: number }>({ seconds: _s, trainSeconds: _t, ...rest }: E): Omit<E, "seconds" | "trainSeconds"> {
  return rest;
}

/** A result (training or task run) with its wall-clock fields zeroed: what must be identical however a run ran. */
export function withoutTimes<R extends RunResult | TaskResult>(r: R): R {
  if (!("history" in r)) return { ...r, seconds: 0 };
  return { ...r, seconds: 0, ...("trainSeconds" in r ? { trainSeconds: 0 } : {}), history: r.history.map((e) => ({ ...e, seconds: 0, ...(e.trainSeconds === undefined ? {} : { trainSeconds: 0 }) })) };
}
