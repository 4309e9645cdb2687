/** Small MNIST run specs for tests (SGD lr 0.1, momentum 0.9, weight decay 5e-4 as the base). */
export type SmallOptions = {
  optimizer?: Record<string, unknown>;
  hidden?: number;
  trainSize?: number;
  batchSize?: number;
  epochs?: number;
  lr?: number;
  labelNoise?: number;
  seed?: number;
  batchNorm?: boolean;
  validationSize?: number;
};

export function mnistSpec(o: SmallOptions = {}): Record<string, any> {
  const { optimizer = { name: "sam" }, hidden = 64, trainSize = 1000, batchSize = 50, epochs = 3, lr = 0.1, labelNoise = 0.2, seed = 0, batchNorm = false, validationSize = 0 } = o;
  return {
    data: { name: "mnist", trainSize, labelNoise, ...(validationSize ? { validationSize } : {}) },
    model: { name: "mlp", hidden, batchNorm },
    optimizer: { ...optimizer, base: { name: "sgd", lr, momentum: 0.9, weightDecay: 5e-4, ...((optimizer.base as object) ?? {}) } },
    epochs,
    batchSize,
    seed,
  };
}
