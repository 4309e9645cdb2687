/**
 * sharpness-aware/node — the Node-only parts: data sets from npm packages, the trainer,
 * comparisons and HTML reports. Re-exports the browser-safe API too.
 */
export * from "./index.js";
export { loadFashionMnist } from "./data/fashion-mnist.js";
export { loadMnist } from "./data/mnist.js";
export { DataError } from "./data/errors.js";
export { subsetTrain, symmetricLabelNoise } from "./data/prepare.js";
export { upload, take, epochBatches, evalBatches, disposeDeviceSet, type DeviceSet } from "./data/batches.js";
export type { ImageDataset, NoisyLabels } from "./data/types.js";
export { train, type TrainResult, type EpochRecord, type TrainHooks, type ProgressEvent } from "./train/trainer.js";
export { DEFAULTS, ConfigError, validateConfig, type TrainConfig } from "./train/config.js";
export { compare, parseOptimizerSpec, runConfig, defaultRho, summarize, type RunSummary, type OptimizerSpec } from "./train/compare.js";
export { DEFAULT_COMPARISON, CLAIM } from "./train/default-comparison.js";
export { writeReport, vegaLiteToSvg, pairedDifferences, type ComparisonSummary } from "./report/html.js";
export { writeCheckpoint, readCheckpointTrees, readCheckpointMeta, findLatest, CheckpointError, CHECKPOINT_FORMAT, type CheckpointContent } from "./train/checkpoint.js";
export { encodeSafetensors, decodeSafetensors, SafetensorsError, type TensorData } from "./engine/safetensors.js";
export { configFromJson } from "./train/config.js";
