/**
 * One benchmark process (run by bench.ts): median milliseconds of a jitted training step for
 * each model and optimizer, warm-up excluded; prints one JSON line. SHARPNESS_THREADS=1 turns on
 * wasm worker threads, which must happen before jax-js is imported — hence the dynamic imports.
 */
import "../src/engine/polyfills.js";
import { installWasmThreads } from "../src/engine/node-threads.js";

const threads = process.env.SHARPNESS_THREADS === "1" && installWasmThreads();
const { blockUntilReady, jit, numpy: np, random, tree } = await import("@jax-js/jax");
const { initEngine, sgd, sam, fsam, plain } = await import("../src/index.js");
const { mlp } = await import("../src/models/mlp.js");
const { cnn } = await import("../src/models/cnn.js");
const { classificationLoss } = await import("../src/models/loss.js");
type Model = import("../src/models/types.js").Model<any, any>;
type SharpnessAwareOptimizer<S> = import("../src/sam/core.js").SharpnessAwareOptimizer<S>;

const BATCH = 128;

/** A jitted step of `opt` on `model` with its own params/state; `run()` times one step. */
function stepper(model: Model, opt: SharpnessAwareOptimizer<any>) {
  const loss = classificationLoss(model);
  const step = jit((p: any, s: any, b: any) => opt.step(loss, p, s, b, { hasAux: true }));
  let { params, state: ms } = model.init(0);
  let st = opt.init(tree.ref(params));
  const x = random.uniform(random.key(1), [BATCH, 784]);
  const y = np.array(Array.from({ length: BATCH }, (_, i) => i % 10), { dtype: np.int32 });
  return {
    async run(): Promise<number> {
      const t0 = performance.now();
      const out = step(params, st, { x: x.ref, y: y.ref, state: ms }) as any;
      params = out.params;
      st = out.state;
      ms = out.aux;
      await blockUntilReady([params, st, ms]);
      await out.loss.data();
      out.finite.dispose();
      return performance.now() - t0;
    },
    dispose() {
      tree.dispose([params, st, ms, x, y]);
      step.dispose();
    },
  };
}

/** Round-robin over the optimizers, one step each, so machine-load drift hits all alike. */
async function timeInterleaved(model: Model, opts: [string, SharpnessAwareOptimizer<any>][], warmup: number, reps: number): Promise<Record<string, number[]>> {
  const runs = opts.map(([label, opt]) => [label, stepper(model, opt)] as const);
  const times: Record<string, number[]> = Object.fromEntries(opts.map(([l]) => [l, []]));
  for (let i = 0; i < warmup + reps; i++) {
    for (const [label, r] of runs) {
      const t = await r.run();
      if (i >= warmup) times[label].push(t);
    }
  }
  runs.forEach(([, r]) => r.dispose());
  return times;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const device = await initEngine((process.env.SHARPNESS_DEVICE as "auto") ?? "auto");
const base = () => sgd({ learningRate: 0.05, momentum: 0.9, weightDecay: 5e-4 });
const models: [string, Model, number][] = [
  ["mlp 784-256-10", mlp({ sizes: [784, 256, 10] }), 80],
  ["cnn 16-32", cnn(), 20],
];
const results: Record<string, unknown>[] = [];
for (const [name, model, reps] of models) {
  const times = await timeInterleaved(model, [["sgd", plain(base())], ["sam", sam(base(), { rho: 0.05 })], ["fsam", fsam(base(), { rho: 0.05 })]], 10, reps);
  const ms = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  results.push({ model: name, batch: BATCH, device, threads, sgdMs: ms.sgd, samMs: ms.sam, fsamMs: ms.fsam, samOverSgd: ms.sam / ms.sgd, fsamOverSgd: ms.fsam / ms.sgd });
}
process.stdout.write(JSON.stringify(results) + "\n", () => process.exit(0));
