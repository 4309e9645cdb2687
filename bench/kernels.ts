/**
 * `node build/bench/kernels.js`: kernels per step and where a step's time goes, from jax-js's own
 * kernel trace (`profiler.startTrace()` emits one `performance.measure` per dispatched kernel or
 * routine on the wasm backend). For each model × optimizer, over 10 traced jitted steps at batch
 * 128 on single-threaded wasm: kernels per step, ms per step inside kernels, ms per step outside
 * them (dispatch, JS, allocation — the wall time minus the kernel time), and the kernels that take
 * most of the time, grouped by label (routine name or Kernel[size] + reduction). The evidence
 * behind docs/performance.md. ONLY=cnn (a model-name prefix) traces one model; TOP=n lists n
 * kernel groups per row (default 6).
 */
import "../src/engine/polyfills.js";
import { blockUntilReady, numpy as np, profiler, random, tree } from "@jax-js/jax";
import { initEngine, sgd, sam, plain, lookSam, mlp, cnn, classificationLoss } from "../src/index.js";
import { phasedStep, type SharpnessAwareOptimizer } from "../src/sam/core.js";
import type { Model } from "../src/models/types.js";

type Entry = { name: string; duration: number; detail: any };

await initEngine("wasm");
const BATCH = 128;
const STEPS = 10;
const base = () => sgd({ learningRate: 0.05, momentum: 0.9 });

/** Label for grouping: routine name, or a kernel's size and reduction (if any). */
function label(e: Entry): string {
  const props: [string, string][] = e.detail?.devtools?.properties ?? [];
  const get = (k: string) => props.find(([n]) => n === k)?.[1];
  if (!e.name.startsWith("Kernel")) return `${e.name} ${get("inputShapes") ?? ""}`;
  const red = get("reduction");
  return `${e.name}${red ? ` reduce ${red}` : " elementwise"}`;
}

async function traced(model: Model<any, any>, opt: SharpnessAwareOptimizer<any>) {
  const step = phasedStep(opt, classificationLoss(model), { hasAux: true });
  let { params, state: ms } = model.init(0);
  let st = opt.init(tree.ref(params));
  const x = random.uniform(random.key(1), [BATCH, 784]);
  const y = np.array(Array.from({ length: BATCH }, (_, i) => i % 10), { dtype: np.int32 });
  let t = 0;
  const one = async () => {
    const out = step(params, st, { x: x.ref, y: y.ref, state: ms }, t++) as any;
    params = out.params;
    st = out.state;
    ms = out.aux;
    await blockUntilReady([params, st, ms]);
    await out.loss.data();
    out.finite.dispose();
  };
  for (let i = 0; i < 5; i++) await one(); // compile every phase (LookSAM has two)
  performance.clearMeasures();
  profiler.startTrace();
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) await one();
  const wall = performance.now() - t0;
  profiler.stopTrace();
  const got = performance.getEntriesByType("measure") as unknown as Entry[];
  performance.clearMeasures();
  tree.dispose([params, st, ms, x, y]);
  step.dispose();
  const inKernels = got.reduce((s, e) => s + e.duration, 0);
  const groups = new Map<string, { n: number; ms: number }>();
  for (const e of got) {
    const g = groups.get(label(e)) ?? { n: 0, ms: 0 };
    g.n++;
    g.ms += e.duration;
    groups.set(label(e), g);
  }
  const top = [...groups.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(process.env.TOP ?? 6)).map(([k, v]) => ({ kernel: k, perStep: v.n / STEPS, msPerStep: v.ms / STEPS }));
  return { kernelsPerStep: got.length / STEPS, msPerStep: wall / STEPS, inKernels: inKernels / STEPS, outside: (wall - inKernels) / STEPS, top };
}

const ONLY = process.env.ONLY;
const models: [string, Model<any, any>][] = ([
  ["mlp 784-256-10", mlp({ sizes: [784, 256, 10] })],
  ["mlp 784-512-512-10", mlp({ sizes: [784, 512, 512, 10] })],
  ["cnn 16-32", cnn()],
] as [string, Model<any, any>][]).filter(([name]) => !ONLY || name.startsWith(ONLY));
const opts: [string, () => SharpnessAwareOptimizer<any>][] = [
  ["sgd", () => plain(base())],
  ["sam", () => sam(base(), { rho: 0.05 })],
  ["looksam k5", () => lookSam(base(), { rho: 0.05, k: 5 })],
  ["msam m16", () => sam(base(), { rho: 0.05, m: 16 })],
];
if (process.env.REUSE) opts.splice(0, opts.length, ["sgd", () => plain(base())], ["looksam k1000", () => lookSam(base(), { rho: 0.05, k: 1000 })], ["looksam k5", () => lookSam(base(), { rho: 0.05, k: 5 })]);
const results: any[] = [];
console.log("model               optimizer   kernels/step  ms/step  in kernels  outside");
for (const [mname, model] of models) {
  for (const [oname, make] of opts) {
    const r = await traced(model, make());
    results.push({ model: mname, optimizer: oname, ...r });
    console.log(`${mname.padEnd(19)} ${oname.padEnd(11)} ${r.kernelsPerStep.toFixed(1).padStart(12)} ${r.msPerStep.toFixed(2).padStart(8)} ${r.inKernels.toFixed(2).padStart(11)} ${r.outside.toFixed(2).padStart(8)}`);
    for (const k of r.top) console.log(`      ${k.msPerStep.toFixed(2).padStart(7)} ms  ×${k.perStep.toFixed(1).padStart(5)}  ${k.kernel}`);
  }
}
console.log(JSON.stringify(results));
