/**
 * `node build/bench/matmul.js`: the engine's matmul ceiling, the minimal reproduction of
 * docs/performance.md's "compute ceiling" — a jitted float32 matmul of the MLP's first layer
 * ([B, 784] · [784, 256]) on single-threaded wasm, median ms and GFLOP/s (2·B·784·256 flops),
 * with and without the transposed operand that the backward pass needs (xᵀ · dY).
 */
import "../src/engine/polyfills.js";
import { jit, numpy as np, random } from "@jax-js/jax";
import { initEngine } from "../src/index.js";

await initEngine("wasm");
const jitMm = jit((a: np.Array, b: np.Array) => np.matmul(a, b));
const jitMmT = jit((a: np.Array, b: np.Array) => np.matmul(a.transpose(), b));
const mm = (a: np.Array, b: np.Array) => jitMm(a, b) as np.Array;
const mmT = (a: np.Array, b: np.Array) => jitMmT(a, b) as np.Array;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const rows: { what: string; ms: number; gflops: number }[] = [];
for (const batch of [128, 1024]) {
  const x = random.uniform(random.key(1), [batch, 784]);
  const w = random.uniform(random.key(2), [784, 256]);
  const dy = random.uniform(random.key(3), [batch, 256]);
  const cases: [string, () => np.Array, number][] = [
    [`x·W  [${batch}×784]·[784×256]`, () => mm(x.ref, w.ref), 2 * batch * 784 * 256],
    [`xᵀ·dY [784×${batch}]·[${batch}×256]`, () => mmT(x.ref, dy.ref), 2 * batch * 784 * 256],
  ];
  for (const [what, f, flops] of cases) {
    for (let i = 0; i < 5; i++) await f().data();
    const ts: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now();
      await f().data();
      ts.push(performance.now() - t0);
    }
    const ms = median(ts);
    rows.push({ what, ms, gflops: flops / (ms * 1e6) });
  }
  x.dispose();
  w.dispose();
  dy.dispose();
}
for (const r of rows) console.log(`${r.what.padEnd(30)} ${r.ms.toFixed(2).padStart(7)} ms  ${r.gflops.toFixed(1).padStart(6)} GFLOP/s`);
