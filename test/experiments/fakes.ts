/**
 * Constructed results for the verdict-rule tests: every spec of an experiment answered by a
 * stored result made from its filled spec (no training).
 */
import { resultsFrom, type Experiment, type Results, type Scale } from "../../src/experiments/experiment.js";
import { anyRunKey, fillAnySpec, type StoredResult } from "../../src/experiments/tasks.js";
import { RESULT_FORMAT, type RunResult } from "../../src/train/result.js";
import type { RunSpec } from "../../src/train/spec.js";

/** `Results` for every spec of `e` at `scale`, made by `make` (task or training). */
export function fakeResults(e: Experiment, scale: Scale, make: (spec: any) => StoredResult): Results {
  const map = new Map<string, StoredResult>();
  for (const s of e.specs(scale)) {
    const spec = fillAnySpec(s);
    map.set(anyRunKey(spec), make(spec));
  }
  return resultsFrom(map);
}

/** A training result with final test accuracy `acc(spec)` (other metrics fixed, no history). */
export const trainFake =
  (acc: (spec: RunSpec) => number) =>
  (spec: RunSpec): RunResult => ({
    format: RESULT_FORMAT,
    key: anyRunKey(spec),
    optimizer: spec.optimizer.name,
    label: "",
    seed: spec.seed,
    spec,
    metrics: { testAccuracy: acc(spec), bestTestAccuracy: 0.8, bestEpoch: 3, testLoss: 1, trainLoss: 1, trainAccuracy: 0.5, cleanTrainAccuracy: 0.5, noisyTrainAccuracy: 0.2, skippedSteps: 0, epochs: spec.epochs },
    history: [],
    stepsPerEpoch: 1,
    noisyCount: 0,
    seconds: 1,
    trainSeconds: 1,
    device: "test",
  });
