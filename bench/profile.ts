/**
 * `node build/bench/profile.js`: where a step's time goes, by parts and by batch size (the
 * evidence in docs/performance.md). For MLP 784-256-10 on single-threaded wasm, at batch sizes
 * 1…1024, the median ms of: a jitted forward loss, a jitted value-and-grad, a jitted SGD step
 * (momentum 0.9, with the non-finite guard) and a jitted SAM step; and one elementwise kernel
 * over all parameters (a tree-wide axpy) as the floor of "a kernel". Prints a table and JSON.
 */
import "../src/engine/polyfills.js";
import { blockUntilReady, jit, numpy as np, random, tree, valueAndGrad } from "@jax-js/jax";
import { initEngine, mlp, classificationLoss, crossEntropy, sgd, sam, plain, applyUpdates } from "../src/index.js";
import { phasedStep, type SharpnessAwareOptimizer } from "../src/sam/core.js";

await initEngine("wasm");
const model = mlp({ sizes: [784, 256, 10] });
const lossAux = classificationLoss(model);
const loss = (p: any, b: { x: np.Array; y: np.Array }) => {
  const [z, s] = model.apply(p, { norms: [] }, b.x, true);
  tree.dispose(s);
  return crossEntropy(z, b.y);
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function time(reps: number, f: () => Promise<void>): Promise<number> {
  for (let i = 0; i < 3; i++) await f();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

const rows: Record<string, number>[] = [];
for (const batch of [1, 16, 128, 512, 1024]) {
  const x = random.uniform(random.key(1), [batch, 784]);
  const y = np.array(Array.from({ length: batch }, (_, i) => i % 10), { dtype: np.int32 });
  const { params } = model.init(0);
  const fwd = jit((p: any, b: any) => loss(p, b));
  const vg = jit((p: any, b: any) => valueAndGrad(loss)(p, b));
  const axpy = jit((p: any, q: any) => tree.map((a: np.Array, c: np.Array) => a.add(c.mul(0.5)), p, q));
  const row: Record<string, number> = { batch };
  row.forward = await time(30, async () => {
    await (fwd(tree.ref(params), { x: x.ref, y: y.ref }) as np.Array).data();
  });
  row.valueAndGrad = await time(30, async () => {
    const [l, g] = vg(tree.ref(params), { x: x.ref, y: y.ref }) as [np.Array, any];
    await blockUntilReady(g);
    tree.dispose(g);
    await l.data();
  });
  row.axpy = await time(30, async () => {
    const out = axpy(tree.ref(params), tree.ref(params));
    await blockUntilReady(out);
    tree.dispose(out);
  });
  {
    // The bare optax-style step: value-and-grad, SGD momentum, apply — no non-finite guard,
    // no selects, no step count (what the library's step adds on top).
    const base = sgd({ learningRate: 0.05, momentum: 0.9 });
    const bare = jit((p: any, st: any, b: any) => {
      const [l, g] = valueAndGrad(loss)(tree.ref(p), b) as [np.Array, any];
      const [u, st2] = base.update(g, st, tree.ref(p));
      return [applyUpdates(p, u), st2, l];
    });
    let p = tree.ref(params);
    let st = base.init(tree.ref(p));
    row.bareSgd = await time(30, async () => {
      const [p2, st2, l] = bare(p, st, { x: x.ref, y: y.ref }) as [any, any, np.Array];
      p = p2;
      st = st2;
      await blockUntilReady([p, st]);
      await l.data();
    });
    tree.dispose([p, st]);
    bare.dispose();
  }
  for (const [name, opt] of [["sgd", plain(sgd({ learningRate: 0.05, momentum: 0.9 }))], ["sam", sam(sgd({ learningRate: 0.05, momentum: 0.9 }), { rho: 0.05 })]] as [string, SharpnessAwareOptimizer<any>][]) {
    const step = phasedStep(opt, lossAux, { hasAux: true });
    let p = tree.ref(params);
    let s = opt.init(tree.ref(p));
    let ms: any = { norms: [] };
    let t = 0;
    row[name] = await time(30, async () => {
      const out: any = step(p, s, { x: x.ref, y: y.ref, state: ms }, t++);
      p = out.params;
      s = out.state;
      ms = out.aux;
      await blockUntilReady([p, s]);
      out.finite.dispose();
      await out.loss.data();
    });
    tree.dispose([p, s]);
    step.dispose();
  }
  tree.dispose([params, x, y] as never);
  fwd.dispose();
  vg.dispose();
  axpy.dispose();
  rows.push(row);
}
console.log("MLP 784-256-10, wasm, 1 thread: median ms");
console.log("batch  forward  value+grad  axpy(all params)  bare SGD  SGD step  SAM step  SAM−SGD");
for (const r of rows) console.log([r.batch, r.forward, r.valueAndGrad, r.axpy, r.bareSgd, r.sgd, r.sam, r.sam - r.sgd].map((v, i) => (i ? v.toFixed(2) : String(v))).map((s, i) => s.padStart([5, 8, 11, 17, 9, 9, 9, 8][i])).join(" "));
console.log(JSON.stringify(rows));
