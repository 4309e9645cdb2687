/**
 * A run's result as it is stored (`runs/<key>/result.json`), reported and sent over the queue.
 * Its JSON Schema is schema/result.schema.json (tests validate what the CLI writes against it).
 * Browser-safe.
 */
import type { EpochRecord, TrainResult } from "./trainer.js";
import { specLabel, type RunSpec } from "./spec.js";
import type { TaskResult } from "../experiments/tasks.js";

/**
 * The `format` field of a training run's result.json (schema/result.schema.json).
 *
 * @example
 * ```ts
 * const trainRuns = listRuns("runs/x").results.filter((r) => r.format === RESULT_FORMAT);
 * ```
 */
export const RESULT_FORMAT = "sharpness-aware-result/1";

/** The final numbers of a run (last epoch unless named "best"). */
export type RunMetrics = {
  /** Test accuracy after the last epoch. */
  testAccuracy: number;
  /** Best test accuracy over epochs (early stopping on the test set: optimistic). */
  bestTestAccuracy: number;
  /** The epoch of `bestTestAccuracy`. */
  bestEpoch: number;
  /** Test loss after the last epoch (null in JSON when not finite). */
  testLoss: number;
  /** The last epoch's mean training loss. */
  trainLoss: number;
  /** Training accuracy against the given labels. */
  trainAccuracy: number;
  /** Training accuracy on the examples whose labels are clean. */
  cleanTrainAccuracy: number;
  /** Fraction of the noisy labels fitted (null without label noise). */
  noisyTrainAccuracy: number | null;
  /** Steps skipped for NaN/Inf over the run. */
  skippedSteps: number;
  /** Epochs trained. */
  epochs: number;
  /** Runs with `data.validationSize`: the last epoch's validation accuracy (given labels). */
  validationAccuracy?: number;
  /** … the best over epochs, and the test accuracy of that epoch (early stopping on validation). */
  bestValidationAccuracy?: number;
  /** The test accuracy at the epoch of `bestValidationAccuracy`. */
  testAccuracyAtBestValidation?: number;
  /**
   * The final test loss is not finite (NaN or ±Infinity; stored as null): the run diverged and
   * its accuracies mean nothing. Written by every result since it was added (false or true);
   * absent in older results, where `isDiverged` reads it off the test loss.
   */
  diverged?: boolean;
};

/**
 * A finished training run as stored in `runs/<key>/result.json` (its JSON Schema:
 * schema/result.schema.json), reported and sent over the queue.
 *
 * @example
 * ```ts
 * const r = JSON.parse(readFileSync("runs/cmp/runs/0123456789abcdef/result.json", "utf8")) as RunResult;
 * console.log(r.label, r.metrics.testAccuracy);
 * ```
 */
export type RunResult = {
  /** Always {@link RESULT_FORMAT}. */
  format: typeof RESULT_FORMAT;
  /** The run's key ({@link runKey} of `spec`). */
  key: string;
  /** The algorithm's name ("sam"). */
  optimizer: string;
  /** Human label ("SAM ρ=0.1"). */
  label: string;
  /** The spec's seed. */
  seed: number;
  /** The filled run spec. */
  spec: RunSpec;
  /** The final numbers. */
  metrics: RunMetrics;
  /** One record per epoch. */
  history: EpochRecord[];
  /** Steps per epoch. */
  stepsPerEpoch: number;
  /** Training labels made wrong by the label noise. */
  noisyCount: number;
  /** Wall time of the run (the only field that differs between two runs of one spec). */
  seconds: number;
  /** Of `seconds`, the time inside the training steps (evaluation and checkpoints excluded); absent in results written before it was recorded. */
  trainSeconds?: number;
  /** Where it ran (not part of the spec). */
  device: string;
};

/**
 * The stored form of a finished {@link train} result: the final metrics (best epoch, noisy-label
 * fit, …) computed from the history, with `device` recorded. Does not change `r`.
 *
 * @example
 * ```ts
 * const result = toRunResult(await train(spec, ds), await initEngine());
 * writeResult("runs/x", result);
 * ```
 */
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
      diverged: !Number.isFinite(last.testLoss),
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

/** A run diverged: its final test loss is not finite (results of any age; JSON stores a non-finite loss as null). */
export function isDiverged(r: { metrics: { testLoss: number | null; diverged?: boolean } }): boolean {
  return r.metrics.diverged ?? !(typeof r.metrics.testLoss === "number" && Number.isFinite(r.metrics.testLoss));
}

/** An epoch record without its wall-clock fields (`seconds`, `trainSeconds`): what must be identical however a run ran. */
export function epochWithoutTimes<E extends { seconds: number; trainSeconds?: number }>({ seconds: _s, trainSeconds: _t, ...rest }: E): Omit<E, "seconds" | "trainSeconds"> {
  return rest;
}

/**
 * A result (training or task run) with its wall-clock fields zeroed: what must be identical
 * however a run ran. Returns a copy.
 *
 * @example
 * ```ts
 * assert.deepEqual(withoutTimes(resumed), withoutTimes(uninterrupted));
 * ```
 */
export function withoutTimes<R extends RunResult | TaskResult>(r: R): R {
  if (!("history" in r)) return { ...r, seconds: 0 };
  return { ...r, seconds: 0, ...("trainSeconds" in r ? { trainSeconds: 0 } : {}), history: r.history.map((e) => ({ ...e, seconds: 0, ...(e.trainSeconds === undefined ? {} : { trainSeconds: 0 }) })) };
}
