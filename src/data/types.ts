/** An image-classification data set held on the host, pixels scaled to [0, 1]. */
export interface ImageDataset {
  name: string;
  /** Pixels per image (784 for 28×28). */
  inputDim: number;
  numClasses: number;
  trainX: Float32Array;
  /** True training labels. */
  trainY: Int32Array;
  testX: Float32Array;
  testY: Int32Array;
  /** How the split was made, for reports. */
  split: string;
}

/** A training set whose labels may be noisy. */
export interface NoisyLabels {
  /** The labels training sees (noisy where `noisy[i]` is 1). */
  given: Int32Array;
  /** 1 where the given label was replaced, else 0. */
  noisy: Uint8Array;
  /** Number of replaced labels. */
  count: number;
}
