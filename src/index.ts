/**
 * sharpness-aware — Sharpness-Aware Minimization and its family for jax-js.
 *
 * This entry point is browser-safe (no `node:` imports). Data loading, the trainer, reports
 * and the CLI live behind `sharpness-aware/node`.
 *
 * @module sharpness-aware
 */
/// <reference path="../types/engine-globals.d.ts" preserve="true" />
import "./engine/polyfills.js";

export { initEngine, type EngineDevice } from "./engine/device.js";
export {
  EPS,
  leafPaths,
  stagedSum,
  treeAdd,
  treeAxpy,
  treeDot,
  treeMul,
  treeNorm,
  treeScale,
  treeSquaredNorm,
  treeSub,
  treeZerosLike,
  treeSelect,
  treeAllFinite,
  assertSameTree,
  type Params,
  type Scalar,
} from "./engine/tree.js";

export type { GradientTransformation, Schedule, ScalarOrSchedule } from "./optim/types.js";
export { sgd, type SgdOptions, type SgdState } from "./optim/sgd.js";
export { adam, type AdamOptions, type AdamState } from "./optim/adam.js";
export { adamw, type AdamwState } from "./optim/adamw.js";
export { applyUpdates } from "./optim/apply.js";
export { chain } from "./optim/chain.js";
export { clipByGlobalNorm, type ClipState } from "./optim/clip.js";
export { constantSchedule, cosineDecaySchedule, linearWarmup, stepSchedule } from "./optim/schedules.js";

export {
  makeSharpnessAware,
  NonFiniteError,
  throwIfNonFinite,
  type NonFinitePolicy,
  noExtraState,
  phasedStep,
  hvpAt,
  plain,
  type PerturbContext,
  type StepInputs,
  type LossFn,
  type LogitsLossFn,
  type LogitsTerm,
  type Perturbation,
  type SharpnessAwareOptimizer,
  type SharpnessState,
  type StepOptions,
  type StepOutput,
  type StepTelemetry,
  type CoreOptions,
  CORE_OPTIONS,
} from "./sam/core.js";
export { LEAF_PRESETS, isNormLeaf, isWeightLeaf, leafPredicate, type LeafSelector } from "./sam/leaves.js";
export { sam, normalizedPerturbation, type SamOptions, type SamState } from "./sam/sam.js";
export { asam, adaptivePerturbation, type AsamOptions, type AsamState } from "./sam/asam.js";
export { fsam, type FsamOptions, type FsamState } from "./sam/fsam.js";

export { mlp, type MlpOptions, type MlpParams, type MlpState } from "./models/mlp.js";
export { cnn, type CnnOptions, type CnnParams, type CnnState } from "./models/cnn.js";
export { classificationLoss, classificationLossPerExample, classificationLossWithLogits, crossEntropy, crossEntropyPerExample, type ClassBatch } from "./models/loss.js";
export { batchNorm, conv3x3, dense, maxPool2, heNormal, glorotUniform } from "./models/layers.js";
export type { Model, ModelState } from "./models/types.js";

export { lpPerturbation } from "./sam/lp-ball.js";
export { rhoInvSqrt, rhoFollowLr, rhoSwitch, rhoEvery, type Rho, type RhoSchedule } from "./sam/rho.js";
export { fisherSam, type FisherSamOptions, type FisherSamState } from "./sam/fisher-sam.js";
export { gsam, type GsamOptions, type GsamState } from "./sam/gsam.js";
export { lookSam, type LookSamOptions, type LookSamState } from "./sam/looksam.js";
export { multiStepSam, projectToBall, type MultiStepSamOptions, type MultiStepSamState } from "./sam/multistep-sam.js";
export { randomPerturbation, type RandomPerturbationOptions, type RandomPerturbationState } from "./sam/random-perturbation.js";
export { gradNormPenalty, type GradNormPenaltyOptions, type GradNormPenaltyState } from "./sam/grad-norm-penalty.js";
export { samFull, splitOnFull, type SamFullOptions, type SamFullState } from "./sam/sam-full.js";
export { samNoise, type SamNoiseOptions, type SamNoiseState } from "./sam/sam-noise.js";
export { fasam, type FasamOptions } from "./sam/fasam.js";
export { wsam, wsamDescriptor, type WsamOptions, type WsamState } from "./sam/wsam.js";
export { vasso, vassoDescriptor, type VassoOptions, type VassoState } from "./sam/vasso.js";
export { samOn, samOnDescriptor, type SamOnOptions } from "./sam/sam-on.js";
export { msam, msamDescriptor, type MsamOptions, type MsamState } from "./sam/msam.js";
export { esam, esamDescriptor, type EsamOptions, type EsamState } from "./sam/esam.js";
export { saf, safDescriptor, SafMemory, trajectoryKl, type SafOptions, type SafState } from "./sam/saf.js";
export { mesa, mesaDescriptor, type MesaOptions, type MesaState, type MesaExtra } from "./sam/mesa.js";
export {
  lookbehind,
  lookbehindSam,
  lookbehindDescriptor,
  lookbehindSamDescriptor,
  type LookbehindOptions,
  type LookbehindSamOptions,
  type LookbehindState,
} from "./sam/lookbehind-sam.js";

export { resolveOptions, checkHyper, allowedText, type Descriptor, type Hyper, type NumberHyper, type BooleanHyper, type EnumHyper } from "./optim/hyper.js";
export { sgdDescriptor } from "./optim/sgd.js";
export { adamDescriptor, adamwDescriptor } from "./optim/adam.js";
export { samDescriptor } from "./sam/sam.js";
export { asamDescriptor } from "./sam/asam.js";
export { fsamDescriptor } from "./sam/fsam.js";
export { fasamDescriptor } from "./sam/fasam.js";
export { gsamDescriptor } from "./sam/gsam.js";
export { lookSamDescriptor } from "./sam/looksam.js";
export { fisherSamDescriptor } from "./sam/fisher-sam.js";
export { multiStepSamDescriptor } from "./sam/multistep-sam.js";
export { randomPerturbationDescriptor } from "./sam/random-perturbation.js";
export { gradNormPenaltyDescriptor } from "./sam/grad-norm-penalty.js";
export { samFullDescriptor, samNoiseDescriptor } from "./sam/sam-full.js";

// Runs as data (browser-safe): the registry, run specs and their keys.
export { ALGORITHMS, BASES, DATASETS, MODELS, RUN_PARAMS, type AlgorithmEntry, type BaseEntry, type ComponentEntry, type BuildContext } from "./train/registry.js";
export { fillSpec, runKey, canonicalJson, specLabel, getPath, setPath, buildOptimizer, buildBase, SpecError, type RunSpec, type OptimizerSpec, type BaseSpec, type DataSpec, type ModelSpec } from "./train/spec.js";
export { optimizerFromToken } from "./train/compare.js";
export { sha256Hex } from "./train/sha256.js";

// The small exact models of 002 §4 and the experiment framework (browser-safe).
export { sparseRegression, parseRegressionData, type RegressionProblem } from "./data/sparse-regression.js";
export { initDiagNet, diagNetBeta, diagNetGrad, diagNetStep, regressionLoss, trainDiagNet, logSteps, DIAG_NET_METHODS, type DiagNetMethod, type DiagNetState, type DiagNetPhase, type DiagNetRun, type CurvePoint } from "./models/diagonal-net.js";
export { BLANC_1D } from "./data/relu-1d.js";
export { initReluNet1d, reluNetPredict, reluNetLoss, reluNetGrad, trainReluNet1d, effectiveKinks, pathNorms, sampleFunction, type ReluNet1d, type ReluTrainOptions, type ReluTrainResult } from "./models/relu-net-1d.js";
export { TASKS, runTask, fillAnySpec, anyRunKey, anyLabel, isTaskSpec, TASK_RESULT_FORMAT, type Task, type TaskSpec, type TaskResult, type StoredResult, type AnySpec } from "./experiments/tasks.js";
export { SCALES, VERDICTS, resultsFrom, meanCi, geoMeanCi, median, type Experiment, type Scale, type Verdict, type Judgement, type Measured, type Results } from "./experiments/experiment.js";
