/**
 * One playground run: an MLP trained by an optimizer of the registry on a small data set, step
 * by step, with what the page shows — train/test loss and accuracy, the predicted probability
 * of class 1 on a grid (the decision boundary of the 2-D toys) and λ_max of the training loss's
 * Hessian (power iteration on a fixed batch). The page races two of these from the same seed:
 * the same initialization, the same batches, only the optimizer differs.
 *
 * Built from the library's own pieces (registry → `fillOptimizerSpec`/`buildFromOptimizerSpec`,
 * `mlp`, `classificationLoss`, `phasedStep`, `topEigenvalue`), so the page runs exactly the
 * library's update rules. Browser-safe; also runs in Node (the tests drive it there too).
 *
 * Ownership: a run owns its device arrays; `dispose()` frees them. Every method returns host
 * numbers.
 */
import "../src/engine/polyfills.js";
import { blockUntilReady, jit, nn, numpy as np, tree } from "@jax-js/jax";
import { mlp } from "../src/models/mlp.js";
import { classificationLoss, classificationLossPerExample, classificationLossWithLogits, crossEntropy } from "../src/models/loss.js";
import { phasedStep } from "../src/sam/core.js";
import { topEigenvalue } from "../src/sharpness/hessian.js";
import { buildFromOptimizerSpec, fillOptimizerSpec, type OptimizerSpec } from "../src/train/spec.js";
import { disposeDeviceSet, epochBatches, take, upload, type DeviceSet } from "../src/data/batches.js";
import { hostScalar, treeSelect } from "../src/engine/tree.js";
import type { Points } from "./problems.js";

export type RunConfig = {
  /** The optimizer section of a run spec (unfilled), e.g. `{ name: "sam", rho: 0.05, base: { name: "sgd", lr: 0.1 } }`. */
  optimizer: Record<string, unknown>;
  /** Hidden layer widths. */
  hidden: number[];
  batchSize: number;
  seed: number;
};

export type Snapshot = { step: number; trainLoss: number; testLoss: number; trainAccuracy: number; testAccuracy: number };

export type PlaygroundRun = {
  readonly optimizer: OptimizerSpec;
  readonly steps: number;
  /** Take `k` training steps. */
  train(k: number): Promise<void>;
  evaluate(): Promise<Snapshot>;
  /** P(class 1) at `res` × `res` points of [lo, hi]² (row-major, y from hi down to lo): the 2-D toys' heat map. */
  grid(res: number, lo?: number, hi?: number): Promise<Float32Array>;
  /** λ_max of the training loss at the current weights (power iteration, ≤ `iterations`). */
  sharpness(iterations?: number): Promise<number>;
  dispose(): void;
};

/**
 * A run of `config` on `train`/`test` (the toys' or the MNIST subset's points).
 *
 * @example
 * const run = createRun({ optimizer: { name: "sam", rho: 0.05, base: { name: "sgd", lr: 0.1 } }, hidden: [16, 16], batchSize: 32, seed: 0 }, train, test);
 * await run.train(50); const s = await run.evaluate(); run.dispose();
 */
export function createRun(config: RunConfig, trainPts: Points, testPts: Points): PlaygroundRun {
  const optimizer = fillOptimizerSpec(config.optimizer);
  if (!(Number.isInteger(config.batchSize) && config.batchSize >= 1 && config.batchSize <= trainPts.n)) throw new RangeError(`batch size must be an integer in [1, ${trainPts.n}] (got ${config.batchSize})`);
  const model = mlp({ sizes: [trainPts.dim, ...config.hidden, trainPts.classes] });
  const stepsPerEpoch = Math.floor(trainPts.n / config.batchSize);
  const opt = buildFromOptimizerSpec(optimizer, { stepsPerEpoch, totalSteps: 1e9, seed: config.seed });
  // Per-example losses (ESAM) and logits (MESA) from the same model, as the trainer passes them.
  const step = phasedStep(opt, classificationLoss(model), { hasAux: true, perExampleLoss: classificationLossPerExample(model), lossWithLogits: classificationLossWithLogits(model) });
  let { params, state } = model.init(config.seed);
  let optState = opt.init(tree.ref(params));
  const trainSet: DeviceSet = upload(trainPts.x, trainPts.y, trainPts.dim);
  const testSet: DeviceSet = upload(testPts.x, testPts.y, testPts.dim);
  // A fixed batch for λ_max (the first 256 training points).
  const probe = take(trainSet, Int32Array.from({ length: Math.min(256, trainPts.n) }, (_, i) => i));
  const evalLoss = (p: any, b: { x: np.Array; y: np.Array }) => {
    const [z, s2] = model.apply(p, tree.ref(state), b.x, false);
    tree.dispose(s2);
    return crossEntropy(z, b.y);
  };
  const metrics = jit((p: any, s: any, x: np.Array, y: np.Array) => {
    const [z, s2] = model.apply(p, s, x, false);
    tree.dispose(s2);
    const acc = np.mean(np.equal(np.argmax(z.ref, -1), y.ref).astype(np.float32));
    return [crossEntropy(z, y), acc];
  });
  const probs = jit((p: any, s: any, x: np.Array) => {
    const [z, s2] = model.apply(p, s, x, false);
    tree.dispose(s2);
    return nn.softmax(z, -1);
  });
  let t = 0;
  let epoch = 1;
  let batches = epochBatches(trainPts.n, config.batchSize, config.seed, epoch);
  let pos = 0;
  const value = hostScalar;
  const measure = async (set: DeviceSet) => {
    const [l, a] = metrics(tree.ref(params), tree.ref(state), set.x.ref, set.y.ref) as [np.Array, np.Array];
    return [await value(l), await value(a)];
  };

  return {
    optimizer,
    get steps() {
      return t;
    },
    async train(k) {
      for (let i = 0; i < k; i++) {
        if (pos === batches.length) {
          batches = epochBatches(trainPts.n, config.batchSize, config.seed, ++epoch);
          pos = 0;
        }
        const b = take(trainSet, batches[pos++]);
        const prevState = tree.ref(state);
        const out: any = step(params, optState, { x: b.x, y: b.y, state }, t);
        params = out.params;
        optState = out.state;
        state = treeSelect(out.finite, out.aux, prevState); // borrows finite
        tree.dispose([out.loss, out.finite]);
        await blockUntilReady([params, optState, state]);
        t++;
      }
    },
    async evaluate() {
      const [trainLoss, trainAccuracy] = await measure(trainSet);
      const [testLoss, testAccuracy] = await measure(testSet);
      return { step: t, trainLoss, testLoss, trainAccuracy, testAccuracy };
    },
    async grid(res, lo = -1.5, hi = 1.5) {
      if (trainPts.dim !== 2) throw new RangeError("grid: only for 2-D problems");
      const pts = new Float32Array(2 * res * res);
      for (let r = 0; r < res; r++)
        for (let c = 0; c < res; c++) {
          pts[2 * (r * res + c)] = lo + ((hi - lo) * (c + 0.5)) / res;
          pts[2 * (r * res + c) + 1] = hi - ((hi - lo) * (r + 0.5)) / res;
        }
      const p = probs(tree.ref(params), tree.ref(state), np.array(pts).reshape([res * res, 2])) as np.Array;
      const all = (await p.data()) as Float32Array;
      const out = new Float32Array(res * res);
      for (let i = 0; i < res * res; i++) out[i] = all[i * trainPts.classes + 1];
      return out;
    },
    async sharpness(iterations = 20) {
      const r = await topEigenvalue(evalLoss, params, { x: probe.x, y: probe.y }, { iterations, tol: 1e-3 });
      return r.lambdaMax;
    },
    dispose() {
      tree.dispose([params, optState, state, probe] as never);
      disposeDeviceSet(trainSet);
      disposeDeviceSet(testSet);
      step.dispose();
      metrics.dispose();
      probs.dispose();
    },
  };
}
