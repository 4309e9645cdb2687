/**
 * TensorFlow.js peer of `npm run bench` (its wasm backend, the npm dev dependencies
 * @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm): the same models, batch 128 of random
 * inputs, SGD lr 0.05 momentum 0.9 (`tf.train.momentum`), and SAM ρ 0.05 the way a TF.js user
 * writes it — `tf.variableGrads`, ε = ρ g/(‖g‖ + 1e-12) assigned onto the variables, the second
 * gradient, ε taken off, `applyGradients`. Same timing protocol as steps.ts (median over blocks of
 * 5 steps, one warm-up block, interleaved). Prints one JSON line. A model whose kernels the wasm
 * backend lacks is reported with its error instead of a time.
 */
import { createRequire } from "node:module";
import type * as TF from "@tensorflow/tfjs-core";

// TF.js's ESM builds import extensionless paths, which Node's ESM loader refuses: load its
// CommonJS builds (the union package registers every gradient; tfjs-core alone registers none).
const require = createRequire(import.meta.url);
const tf = require("@tensorflow/tfjs") as typeof TF;
require("@tensorflow/tfjs-backend-wasm");
declare namespace tf {
  type Tensor = TF.Tensor;
  type Tensor2D = TF.Tensor2D;
  type Tensor4D = TF.Tensor4D;
  type Variable = TF.Variable;
  type Scalar = TF.Scalar;
  type NamedTensorMap = TF.NamedTensorMap;
}

const BATCH = 128;
const BLOCK = 5;

type Net = { vars: tf.Variable[]; logits(x: tf.Tensor2D): tf.Tensor2D };

function dense(vars: tf.Variable[], i: number, o: number): [tf.Variable, tf.Variable] {
  const w = tf.variable(tf.randomNormal([i, o], 0, Math.sqrt(2 / i)));
  const b = tf.variable(tf.zeros([o]));
  vars.push(w, b);
  return [w, b];
}

function mlp(sizes: number[]): Net {
  const vars: tf.Variable[] = [];
  const layers = sizes.slice(1).map((o, i) => dense(vars, sizes[i], o));
  return {
    vars,
    logits: (x) => layers.reduce((h, [w, b], i) => (i < layers.length - 1 ? tf.relu(tf.add(tf.matMul(h, w), b)) : tf.add(tf.matMul(h, w), b)), x) as tf.Tensor2D,
  };
}

function cnn(): Net {
  const vars: tf.Variable[] = [];
  const conv = (ci: number, co: number) => {
    const w = tf.variable(tf.randomNormal([3, 3, ci, co], 0, Math.sqrt(2 / (9 * ci))));
    const b = tf.variable(tf.zeros([co]));
    vars.push(w, b);
    return (h: tf.Tensor4D) => tf.maxPool(tf.relu(tf.add(tf.conv2d(h, w as tf.Tensor4D, 1, "same"), b)), 2, 2, "valid") as tf.Tensor4D;
  };
  const c1 = conv(1, 16);
  const c2 = conv(16, 32);
  const [w, b] = dense(vars, 7 * 7 * 32, 10);
  return { vars, logits: (x) => tf.add(tf.matMul(tf.reshape(c2(c1(tf.reshape(x, [BATCH, 28, 28, 1]))), [BATCH, 7 * 7 * 32]), w), b) as tf.Tensor2D };
}

function stepper(net: Net, kind: "sgd" | "sam", x: tf.Tensor2D, y: tf.Tensor2D) {
  const opt = tf.train.momentum(0.05, 0.9);
  const loss = () => tf.losses.softmaxCrossEntropy(y, net.logits(x)) as tf.Scalar;
  const step = async () => {
    const { value, grads } = tf.variableGrads(loss, net.vars);
    if (kind === "sam") {
      const eps = tf.tidy(() => {
        const norm = tf.sqrt(tf.addN(net.vars.map((v) => tf.sum(tf.square(grads[v.name])))));
        const scale = tf.div(0.05, tf.add(norm, 1e-12));
        return net.vars.map((v) => tf.mul(grads[v.name], scale));
      });
      net.vars.forEach((v, i) => v.assign(tf.add(v, eps[i])));
      tf.dispose(grads);
      const second = tf.variableGrads(loss, net.vars);
      net.vars.forEach((v, i) => v.assign(tf.sub(v, eps[i])));
      tf.dispose([second.value, ...eps]);
      opt.applyGradients(second.grads as tf.NamedTensorMap as never);
      tf.dispose(second.grads);
    } else {
      opt.applyGradients(grads as never);
      tf.dispose(grads);
    }
    await value.data();
    value.dispose();
  };
  return async () => {
    const t0 = performance.now();
    for (let i = 0; i < BLOCK; i++) await step();
    return (performance.now() - t0) / BLOCK;
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

await tf.setBackend("wasm");
await tf.ready();
const x = tf.randomUniform([BATCH, 784]) as tf.Tensor2D;
const y = tf.cast(tf.oneHot(tf.tensor1d(Array.from({ length: BATCH }, (_, i) => i % 10), "int32"), 10), "float32") as tf.Tensor2D;
const models: [string, () => Net, number][] = [
  ["mlp 784-256-10", () => mlp([784, 256, 10]), 12],
  ["mlp 784-512-512-10", () => mlp([784, 512, 512, 10]), 6],
  ["cnn 16-32", cnn, 4],
];
const results: Record<string, unknown>[] = [];
for (const [name, make, reps] of models) {
  try {
    const blocks = { sgd: stepper(make(), "sgd", x, y), sam: stepper(make(), "sam", x, y) };
    const times: Record<string, number[]> = { sgd: [], sam: [] };
    for (let i = 0; i < 1 + reps; i++)
      for (const [k, b] of Object.entries(blocks)) {
        const t = await b();
        if (i >= 1) times[k].push(t);
      }
    results.push({ model: name, ms: { sgd: median(times.sgd), sam: median(times.sam) } });
  } catch (e) {
    results.push({ model: name, error: (e as Error).message.split("\n")[0] });
  }
}
process.stdout.write(JSON.stringify({ tfjs: tf.version_core, backend: tf.getBackend(), results }) + "\n", () => process.exit(0));
