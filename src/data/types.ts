/** An image-classification data set held on the host, pixels scaled to [0, 1]. */
export interface ImageDataset {
  /** The data set's name ("fashion-mnist"). */
  name: string;
  /** Pixels per image (784 for 28×28). */
  inputDim: number;
  /** Classes (10). */
  numClasses: number;
  /** Training images, [n · inputDim] row-major. */
  trainX: Float32Array;
  /** True training labels. */
  trainY: Int32Array;
  /** Test images, [nTest · inputDim] row-major. */
  testX: Float32Array;
  /** Test labels. */
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
