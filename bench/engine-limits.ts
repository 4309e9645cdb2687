/**
 * `node build/bench/engine-limits.js`: minimal reproductions of the engine behaviours that
 * docs/performance.md works around, each against its workaround, on single-threaded wasm
 * (median ms of 15 jitted calls after 3 warm-ups):
 *
 * 1. vmap over sub-batches: the 8 sub-batch gradients of m-SAM (m = 16, batch 128, MLP
 *    784-256-10) by `vmap(grad)` with unbatched weights vs a loop of `grad` calls in one jit.
 * 2. A reshaped slice in a forward-only graph: one conv tap as `matmul(slice.reshape([NHW, C]), w)`
 *    vs `matmul(slice, w)` on the 4-D slice (batch 128, 14×14×16 → 32), inside an evaluation-like
 *    jit with no backward pass to materialize the slice.
 * 3. "All finite" over a 784×256 leaf: one reduction to a scalar vs over a leading axis of 16
 *    first.
 *
 * Each pair is checked for equal results before it is timed.
 */
import "../src/engine/polyfills.js";
import { blockUntilReady, grad, jit, numpy as np, random, tree, vmap } from "@jax-js/jax";
import { initEngine, mlp, crossEntropy } from "../src/index.js";

await initEngine("wasm");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
async function time(f: () => unknown): Promise<number> {
  const once = async () => {
    const out = f();
    await blockUntilReady(out as never);
    tree.dispose(out as never);
  };
  for (let i = 0; i < 3; i++) await once();
  const ts: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    await once();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}
/** Largest |a − b| over the leaves (as float32). Consumes both. */
async function maxAbsDiff(a: unknown, b: unknown): Promise<number> {
  const la = tree.leaves(a as never) as np.Array[];
  const lb = tree.leaves(b as never) as np.Array[];
  let d = 0;
  for (let i = 0; i < la.length; i++) d = Math.max(d, (await np.max(np.abs(la[i].astype(np.float32).sub(lb[i].astype(np.float32)))).data())[0]);
  return d;
}
const rows: { case: string; engine: number; workaround: number; maxDiff: number }[] = [];

{
  // 1. m-SAM's per-sub-batch gradients.
  const model = mlp({ sizes: [784, 256, 10] });
  const loss = (p: any, x: np.Array, y: np.Array) => {
    const [z, s] = model.apply(p, { norms: [] }, x, true);
    tree.dispose(s);
    return crossEntropy(z, y);
  };
  const { params } = model.init(0);
  const [B, m] = [128, 16];
  const k = B / m;
  const x = random.uniform(random.key(1), [B, 784]);
  const y = np.array(Array.from({ length: B }, (_, i) => i % 10), { dtype: np.int32 });
  const looped = jit((p: any, x: np.Array, y: np.Array) => {
    const gs = Array.from({ length: k }, (_, j) => grad(loss)(tree.ref(p), x.ref.slice([j * m, (j + 1) * m]), y.ref.slice([j * m, (j + 1) * m])));
    tree.dispose([p, x, y]);
    // Stacked like vmap's output, so the two compare leaf by leaf.
    return tree.map((...ls: np.Array[]) => np.stack(ls), ...(gs as [any, ...any[]]));
  });
  const mapped = jit((p: any, x: np.Array, y: np.Array) => vmap(grad(loss), [null, 0, 0])(p, x.reshape([k, m, 784]), y.reshape([k, m])));
  const run1 = () => looped(tree.ref(params), x.ref, y.ref);
  const run2 = () => mapped(tree.ref(params), x.ref, y.ref);
  const a = run1();
  const b = run2();
  const maxDiff = await maxAbsDiff(a, b);
  rows.push({ case: "m-SAM's 8 sub-batch gradients: vmap(grad) vs a loop of grad", engine: await time(run2), workaround: await time(run1), maxDiff });
  tree.dispose([params, x, y] as never);
  looped.dispose();
  mapped.dispose();
}
{
  // 2. A conv tap in a forward-only graph.
  const [n, h, c, kk] = [128, 14, 16, 32];
  const xp = random.uniform(random.key(1), [n, h + 2, h + 2, c]);
  const w = random.uniform(random.key(2), [c, kk]);
  const flat = jit((xp: np.Array, w: np.Array) => np.matmul(xp.slice([], [1, 1 + h], [1, 1 + h], []).reshape([n * h * h, c]), w).reshape([n, h, h, kk]));
  const fourD = jit((xp: np.Array, w: np.Array) => np.matmul(xp.slice([], [1, 1 + h], [1, 1 + h], []), w));
  const run1 = () => fourD(xp.ref, w.ref);
  const run2 = () => flat(xp.ref, w.ref);
  const a = run1();
  const b = run2();
  const maxDiff = await maxAbsDiff(a, b);
  rows.push({ case: "a 3×3 conv tap, forward only: reshaped slice vs 4-D slice", engine: await time(run2), workaround: await time(run1), maxDiff });
  tree.dispose([xp, w]);
  flat.dispose();
  fourD.dispose();
}
{
  // 3. All finite.
  const x = random.uniform(random.key(1), [784, 256]);
  const scalar = jit((x: np.Array) => np.all(np.isfinite(x)));
  const staged = jit((x: np.Array) => np.all(np.all(np.isfinite(x.reshape([16, x.size / 16])), 0)));
  const run1 = () => staged(x.ref);
  const run2 = () => scalar(x.ref);
  const a = run1();
  const b = run2();
  const maxDiff = await maxAbsDiff(a, b);
  rows.push({ case: "all(isfinite) over 784×256: to a scalar vs over an axis of 16 first", engine: await time(run2), workaround: await time(run1), maxDiff });
  x.dispose();
  scalar.dispose();
  staged.dispose();
}
console.log("case                                                                   engine ms  workaround ms  ratio  max |Δ|");
for (const r of rows) console.log(`${r.case.padEnd(70)} ${r.engine.toFixed(2).padStart(9)} ${r.workaround.toFixed(2).padStart(14)} ${(r.engine / r.workaround).toFixed(1).padStart(6)}  ${r.maxDiff}`);
console.log(JSON.stringify(rows));
