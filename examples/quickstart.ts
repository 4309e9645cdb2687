/**
 * The README's library quick start, runnable: SAM wrapping SGD on a tiny regression with a
 * hand-written jax-js model. `npm test` runs it (test/examples.test.ts).
 */
import { blockUntilReady, jit, numpy as np, random, tree } from "@jax-js/jax";
import { applyUpdates, initEngine, sam, sgd } from "sharpness-aware";

export async function quickstart(steps = 50): Promise<number[]> {
  await initEngine(); // WebGPU where available, else wasm

  // A model is just a params tree and a loss (mean over the batch) of (params, batch).
  type Params = { w: np.Array; b: np.Array };
  type Batch = { x: np.Array; y: np.Array };
  const loss = (p: Params, batch: Batch) => np.mean(np.square(np.matmul(batch.x, p.w).add(p.b).sub(batch.y)));

  let params: Params = { w: random.normal(random.key(0), [3, 1]), b: np.zeros([1]) };
  const x = random.normal(random.key(1), [64, 3]);
  const batch = (): Batch => ({ x: x.ref, y: np.matmul(x.ref, np.array([[1], [-2], [0.5]])) });

  // Base optimizers are optax-style transformations (arguments are consumed; .ref keeps one).
  const base = sgd({ learningRate: 0.1, momentum: 0.9, nesterov: false, weightDecay: 5e-4 });
  let s = base.init(tree.ref(params));
  const { x: bx, y: by } = batch();
  const grads = { w: np.zeros([3, 1]), b: np.zeros([1]) }; // (any gradient tree)
  const [updates, s2] = base.update(grads, s, tree.ref(params)); // updates are deltas to ADD
  params = applyUpdates(params, updates);
  tree.dispose([s2, bx, by]);

  // Sharpness-aware optimizers wrap a base optimizer and own the two-pass step.
  const opt = sam(base, { rho: 0.05 }); // also: { normalize: false }, { m: 32 }
  let state = opt.init(tree.ref(params));
  const step = jit((p: Params, st: any, b: Batch) => opt.step(loss, p, st, b)); // eager or jit
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const out = step(params, state, batch()); // consumes params, state, batch
    params = out.params;
    state = out.state;
    await blockUntilReady([params, state]); // jax-js is lazy: realize each step
    losses.push((await out.loss.data())[0]); // loss at the unperturbed w
    out.finite.dispose(); // false if the step was skipped for NaN/Inf
  }
  tree.dispose([params, state, x]);
  step.dispose();
  return losses;
}
