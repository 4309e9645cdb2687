/**
 * One benchmark process (run by bench.ts): for each model and optimizer, the median over blocks
 * of 5 consecutive jitted steps of the mean milliseconds per step (LookSAM's unit), warm-up
 * block excluded; prints one JSON line. SHARPNESS_THREADS=1 turns on
 * wasm worker threads, which must happen before jax-js is imported — hence the dynamic imports.
 * BENCH_FAMILY_ONLY=1 times only the family's per-step costs (the cost model of
 * experiments/sam-at-sgd-price.ts): `node build/bench/steps.js` with it set prints them in about a minute.
 */
import "../src/engine/polyfills.js";
import { installWasmThreads } from "../src/engine/node-threads.js";

const threads = process.env.SHARPNESS_THREADS === "1" && installWasmThreads();
const { blockUntilReady, jit, numpy: np, random, tree } = await import("@jax-js/jax");
const { initEngine, sgd, sam, fsam, plain, lookSam, msam, esam, saf, mesa, wsam, vasso, gsam, asam, lookbehindSam, rhoEvery } = await import("../src/index.js");
const { phasedStep } = await import("../src/sam/core.js");
const { mlp } = await import("../src/models/mlp.js");
const { cnn } = await import("../src/models/cnn.js");
const { classificationLoss, classificationLossPerExample, classificationLossWithLogits } = await import("../src/models/loss.js");
type Model = import("../src/models/types.js").Model<any, any>;
type SharpnessAwareOptimizer<S> = import("../src/sam/core.js").SharpnessAwareOptimizer<S>;

const BATCH = 128;
/** Steps per timed block: LookSAM (k = 5) takes one SAM step in five, so a block of five is its unit. */
const BLOCK = 5;

/** A phased, jitted step of `opt` on `model` with its own params/state; `block()` times BLOCK steps. */
function stepper(model: Model, opt: SharpnessAwareOptimizer<any>) {
  // Per-example losses (ESAM) and logits (SAF, MESA) as the trainer passes them.
  const step = phasedStep(opt, classificationLoss(model), { hasAux: true, perExampleLoss: classificationLossPerExample(model), lossWithLogits: classificationLossWithLogits(model) });
  let { params, state: ms } = model.init(0);
  let st = opt.init(tree.ref(params));
  const x = random.uniform(random.key(1), [BATCH, 784]);
  const y = np.array(Array.from({ length: BATCH }, (_, i) => i % 10), { dtype: np.int32 });
  let t = 0;
  return {
    async block(): Promise<number> {
      const t0 = performance.now();
      for (let i = 0; i < BLOCK; i++) {
        // SAF's teacher: the trainer's memory of past logits (zeros stand in for it here).
        const inputs = opt.logitsTerm?.needsTeacher(t) ? { teacher: np.zeros([BATCH, 10]) } : {};
        const out = step(params, st, { x: x.ref, y: y.ref, state: ms }, t++, inputs) as any;
        params = out.params;
        st = out.state;
        ms = out.aux;
        await blockUntilReady([params, st, ms]);
        await out.loss.data();
        out.finite.dispose();
        if (out.logits) await out.logits.data(); // the trainer reads SAF's logits back each step
      }
      return (performance.now() - t0) / BLOCK;
    },
    dispose() {
      tree.dispose([params, st, ms, x, y]);
      step.dispose();
    },
  };
}

/** Round-robin over the optimizers, one block each, so machine-load drift hits all alike. */
async function timeInterleaved(model: Model, opts: [string, SharpnessAwareOptimizer<any>][], warmup: number, reps: number): Promise<Record<string, number[]>> {
  const runs = opts.map(([label, opt]) => [label, stepper(model, opt)] as const);
  const times: Record<string, number[]> = Object.fromEntries(opts.map(([l]) => [l, []]));
  for (let i = 0; i < warmup + reps; i++) {
    for (const [label, r] of runs) {
      const t = await r.block();
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
const base = () => sgd({ learningRate: 0.05, momentum: 0.9 });
/** [name, model, timed blocks of 5 steps] */
const models: [string, Model, number][] = [
  ["mlp 784-256-10", mlp({ sizes: [784, 256, 10] }), 12],
  ["mlp 784-512-512-10", mlp({ sizes: [784, 512, 512, 10] }), 6],
  ["cnn 16-32", cnn(), 4],
];
const OPTIMIZERS = ["sgd", "sam", "fsam", "looksam", "msam"] as const;
const results: Record<string, unknown>[] = [];
for (const [name, model, reps] of process.env.BENCH_FAMILY_ONLY === "1" ? [] : models) {
  const times = await timeInterleaved(
    model,
    [
      ["sgd", plain(base())],
      ["sam", sam(base(), { rho: 0.05 })],
      ["fsam", fsam(base(), { rho: 0.05 })],
      ["looksam", lookSam(base(), { rho: 0.05, k: 5 })],
      ["msam", sam(base(), { rho: 0.05, m: 16 })],
    ],
    1,
    reps,
  );
  const ms = Object.fromEntries(OPTIMIZERS.map((k) => [k, median(times[k])]));
  results.push({ model: name, batch: BATCH, device, threads, ms, blocks: reps });
}
// The rest of the family on MLP 784-256-10, single-threaded: per-step cost (the cost model of
// equal-wall-time comparisons). Blocks of 5 steps, interleaved like the table above.
if (!threads) {
  const model = mlp({ sizes: [784, 256, 10] });
  const family: [string, SharpnessAwareOptimizer<any>][] = [
    ["sgd", plain(base())],
    ["sam", sam(base(), { rho: 0.05 })],
    ["sam every 4th step", sam(base(), { rho: rhoEvery(0.05, 4) })],
    ["looksam k5", lookSam(base(), { rho: 0.05, k: 5 })],
    ["asam", asam(base(), { rho: 0.5 })],
    ["gsam", gsam(base(), { rho: 0.05 })],
    ["wsam", wsam(base(), { rho: 0.05, learningRate: 0.05 })],
    ["vasso", vasso(base(), { rho: 0.05 })],
    ["msam", msam(base(), { rho: 0.3 })],
    ["esam", esam(base(), { rho: 0.05 })],
    ["saf", saf(base(), { startEpoch: 1 })],
    ["mesa", mesa(base(), { startEpoch: 1 })],
    ["lookbehind-sam k2", lookbehindSam(base(), { rho: 0.05, k: 2 })],
  ];
  const times = await timeInterleaved(model, family, 1, 10);
  results.push({ model: "mlp 784-256-10", kind: "family", batch: BATCH, device, threads, ms: Object.fromEntries(family.map(([k]) => [k, median(times[k])])), blocks: 10 });
}
process.stdout.write(JSON.stringify(results) + "\n", () => process.exit(0));
