/**
 * The default comparison (`npm start`): SGD, SAM, ASAM and F-SAM on Fashion-MNIST with
 * symmetric label noise — the claim that SAM generalizes better than plain SGD when labels are
 * noisy (002 Fig 12, 003 Tab 6), at CPU scale. Sized to finish in a few minutes on a 2-core
 * machine; see README for how the setting was chosen and what came out.
 *
 * ASAM scales weight matrices only and F-SAM uses λ 0.6, as the comparison always has (the
 * library defaults are all leaves and λ 0.9).
 */
/**
 * The default comparison's setting (`npm start`, `sharpness compare` without flags): the base
 * run spec, the optimizer tokens compared (SGD, SAM ρ 0.1, ASAM ρ 1 on weights, F-SAM ρ 0.1 λ
 * 0.6) and the seeds 0-2.
 *
 * @example
 * ```ts
 * const specs = DEFAULT_COMPARISON.seeds.flatMap((seed) =>
 *   DEFAULT_COMPARISON.optimizers.map((t) => ({ ...DEFAULT_COMPARISON.spec, seed, optimizer: optimizerFromToken(t, DEFAULT_COMPARISON.spec.optimizer.base) })));
 * ```
 */
export const DEFAULT_COMPARISON = {
  spec: {
    data: { name: "fashion-mnist", trainSize: 5000, labelNoise: 0.6 },
    model: { name: "mlp", hidden: 256, batchNorm: false },
    optimizer: { name: "sgd", base: { name: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 0 } },
    epochs: 30,
    batchSize: 128,
    seed: 0,
  },
  optimizers: ["sgd", "sam:rho=0.1", "asam:rho=1:adaptiveLeaves=weights", "fsam:rho=0.1:lambda=0.6"],
  seeds: [0, 1, 2],
};

/**
 * The claim the default comparison tests (shown at the top of its report): SAM beats SGD under
 * label noise and fits the noisy labels later.
 *
 * @example
 * ```ts
 * await writeSweepReport("runs/compare", { claim: CLAIM });
 * ```
 */
export const CLAIM = {
  id: "label-noise",
  text: "SAM improves test accuracy over plain SGD when training labels are noisy, and fits the noisy labels later (002 §5.3 Fig 12; 003 §6.3.1 Tab 6).",
  source: "Andriushchenko & Flammarion 2022, Fig 12 (ResNet-18, CIFAR-10, 60% noise); Li et al. 2024, Tab 6",
  setting: "Fashion-MNIST, MLP 784-256-10, 5,000 training images with 60% symmetric label noise, SGD (lr 0.05, momentum 0.9, no weight decay), batch 128, 30 epochs, seeds 0-2; SAM ρ 0.1, ASAM ρ 1 (η 0.01, weights only), F-SAM ρ 0.1 (σ 1, λ 0.6).",
};

/**
 * What `sharpness train` starts from before its flags: SAM ρ 0.05 on SGD, Fashion-MNIST.
 *
 * @example
 * ```ts
 * const spec = fillSpec({ ...TRAIN_PRESET, epochs: 2 });
 * ```
 */
export const TRAIN_PRESET = {
  data: { name: "fashion-mnist", trainSize: 10000, labelNoise: 0 },
  model: { name: "mlp", hidden: 256 },
  optimizer: { name: "sam", rho: 0.05, base: { name: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 5e-4 } },
  epochs: 10,
  batchSize: 128,
  seed: 0,
};
