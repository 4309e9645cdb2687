/**
 * The playground's 2-D classification toys, generated in the page from a seed: spiral (two
 * interleaved arms), circles (a disc inside a ring), xor (four quadrants) and gaussians (two
 * blobs). `noise` jitters the points (in units of the problem's scale); `labelNoise` flips that
 * fraction of the training labels (the test labels stay clean). Points lie in about [-1, 1]².
 * Browser-safe, plain TypeScript.
 */
import { rng, type Rng } from "../src/engine/prng.js";

export const PROBLEMS = ["spiral", "circles", "xor", "gaussians"] as const;
export type Problem = (typeof PROBLEMS)[number];

/** A 2-D (or image) classification set: `x` is n × dim row-major, `y` the class of each row. */
export type Points = { x: Float32Array; y: Int32Array; n: number; dim: number; classes: number };
export type ToySet = { train: Points; test: Points; noisy: Uint8Array };

export type ToyOptions = { problem: Problem; n?: number; nTest?: number; noise?: number; labelNoise?: number; seed?: number };

const gauss = (r: Rng) => {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
};

function point(problem: Problem, r: Rng, noise: number): [number, number, number] {
  const c = r() < 0.5 ? 0 : 1;
  const j = () => noise * gauss(r);
  switch (problem) {
    case "spiral": {
      const t = 0.15 + 0.85 * r();
      const a = 3 * Math.PI * t + c * Math.PI;
      return [t * Math.cos(a) + 0.5 * j(), t * Math.sin(a) + 0.5 * j(), c];
    }
    case "circles": {
      const rad = c === 0 ? 0.45 * Math.sqrt(r()) : 0.65 + 0.3 * r();
      const a = 2 * Math.PI * r();
      return [rad * Math.cos(a) + 0.5 * j(), rad * Math.sin(a) + 0.5 * j(), c];
    }
    case "xor": {
      const x = 2 * r() - 1;
      const y = 2 * r() - 1;
      return [x + 0.5 * j(), y + 0.5 * j(), x * y > 0 ? 0 : 1];
    }
    case "gaussians": {
      const m = c === 0 ? -0.4 : 0.4;
      return [m + 0.25 * gauss(r) + j(), m + 0.25 * gauss(r) + j(), c];
    }
  }
}

function sample(problem: Problem, n: number, noise: number, r: Rng): Points {
  const x = new Float32Array(2 * n);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const [a, b, c] = point(problem, r, noise);
    x[2 * i] = a;
    x[2 * i + 1] = b;
    y[i] = c;
  }
  return { x, y, n, dim: 2, classes: 2 };
}

/**
 * A seeded toy problem. Defaults: 400 training and 1,000 test points, noise 0.1, no label noise.
 *
 * @example const { train, test } = toyProblem({ problem: "spiral", noise: 0.1, seed: 0 });
 */
export function toyProblem({ problem, n = 400, nTest = 1000, noise = 0.1, labelNoise = 0, seed = 0 }: ToyOptions): ToySet {
  if (!PROBLEMS.includes(problem)) throw new RangeError(`problem must be one of ${PROBLEMS.join(", ")} (got ${JSON.stringify(problem)})`);
  if (!(noise >= 0 && noise <= 1)) throw new RangeError(`noise must be in [0, 1] (got ${noise})`);
  if (!(labelNoise >= 0 && labelNoise < 0.5)) throw new RangeError(`labelNoise must be in [0, 0.5) (got ${labelNoise})`);
  const train = sample(problem, n, noise, rng(seed, 20));
  const test = sample(problem, nTest, noise, rng(seed, 21));
  const flip = rng(seed, 22);
  const noisy = new Uint8Array(n);
  for (let i = 0; i < n; i++)
    if (flip() < labelNoise) {
      train.y[i] = 1 - train.y[i];
      noisy[i] = 1;
    }
  return { train, test, noisy };
}
