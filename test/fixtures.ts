/**
 * A tiny MLP problem shared by the table-driven tests: 4 → 5 (tanh) → 3 softmax cross-entropy,
 * batch of 8, from a seeded JS PRNG so the float64 reference (reference/torchlike.ts) can use
 * exactly the same numbers.
 */
import { blockUntilReady, nn, numpy as np, tree } from "@jax-js/jax";
import { phasedStep, type LossFn, type SharpnessAwareOptimizer, type StepInputs } from "../src/sam/core.js";
import assert from "node:assert/strict";
import { trackBuffers } from "./helpers.js";
import { mulberry32 } from "../src/engine/prng.js";


export const DIMS = { in: 4, hidden: 5, out: 3, batch: 8 };

export type TinyData = {
  w1: number[][];
  b1: number[];
  w2: number[][];
  b2: number[];
  x: number[][];
  y: number[];
};

/** Host copies of the initial parameters and one batch per step. */
export function tinyProblem(seed = 1, steps = 6): { init: TinyData; batches: { x: number[][]; y: number[] }[] } {
  const r = mulberry32(seed);
  const u = (s: number) => (r() * 2 - 1) * s;
  const mat = (a: number, b: number, s: number) => Array.from({ length: a }, () => Array.from({ length: b }, () => u(s)));
  const init = {
    w1: mat(DIMS.in, DIMS.hidden, 0.8),
    b1: Array.from({ length: DIMS.hidden }, () => u(0.2)),
    w2: mat(DIMS.hidden, DIMS.out, 0.8),
    b2: Array.from({ length: DIMS.out }, () => u(0.2)),
    x: [],
    y: [],
  } as TinyData;
  const batches = Array.from({ length: steps }, () => ({
    x: mat(DIMS.batch, DIMS.in, 1.5),
    y: Array.from({ length: DIMS.batch }, () => Math.floor(r() * DIMS.out)),
  }));
  return { init, batches };
}

export type TinyParams = { w1: np.Array; b1: np.Array; w2: np.Array; b2: np.Array };
export type TinyBatch = { x: np.Array; y: np.Array };

export function toParams(d: TinyData, dtype = np.float32): TinyParams {
  return {
    w1: np.array(d.w1, { dtype }),
    b1: np.array(d.b1, { dtype }),
    w2: np.array(d.w2, { dtype }),
    b2: np.array(d.b2, { dtype }),
  };
}

export function toBatch(b: { x: number[][]; y: number[] }, dtype = np.float32): TinyBatch {
  return { x: np.array(b.x, { dtype }), y: np.array(b.y, { dtype: np.int32 }) };
}

/** Mean softmax cross-entropy of the tiny MLP. Consumes params and batch. */
export function tinyLoss(p: TinyParams, b: TinyBatch): np.Array {
  const h = np.tanh(np.matmul(b.x, p.w1).add(p.b1));
  const logits = np.matmul(h, p.w2).add(p.b2);
  const lp = nn.logSoftmax(logits, -1);
  const oh = nn.oneHot(b.y, DIMS.out).astype(lp.dtype);
  return np.sum(lp.mul(oh)).mul(-1 / b.y.shape[0]);
}

/** The tiny MLP's loss (the same expression as `tinyLoss`) and its logits (SAF, MESA). Consumes both. */
export function tinyWithLogits(p: TinyParams, b: TinyBatch): [np.Array, np.Array] {
  const h = np.tanh(np.matmul(b.x, p.w1).add(p.b1));
  const logits = np.matmul(h, p.w2).add(p.b2);
  const lp = nn.logSoftmax(logits.ref, -1);
  const oh = nn.oneHot(b.y, DIMS.out).astype(lp.dtype);
  return [np.sum(lp.mul(oh)).mul(-1 / b.y.shape[0]), logits];
}

/**
 * Steps of `opt` on the tiny MLP from `init`, one per batch (phases from the host step, as the
 * trainer does); returns the final parameters (the state is disposed). `perExampleLoss`: for the
 * variants that select examples (ESAM).
 */
export function runTiny(
  opt: SharpnessAwareOptimizer<any>,
  init: TinyData,
  batches: { x: number[][]; y: number[] }[],
  {
    jitted = false,
    perExampleLoss,
    inputs,
    onStep,
  }: {
    jitted?: boolean;
    perExampleLoss?: LossFn;
    /** Step inputs for batch b (e.g. SAM-full's full gradient). */
    inputs?: (b: { x: number[][]; y: number[] }) => StepInputs;
    /** Called after step t with the new params (borrowed: take `.ref` to keep them). */
    onStep?: (p: TinyParams, t: number) => void;
  } = {},
): TinyParams {
  const step = phasedStep(opt, tinyLoss, { jitted, ...(perExampleLoss ? { perExampleLoss } : {}) });
  let p = toParams(init);
  let s = opt.init(tree.ref(p));
  batches.forEach((b, t) => {
    const out = step(p, s, toBatch(b), t, inputs ? inputs(b) : {});
    out.loss.dispose();
    out.finite.dispose();
    p = out.params;
    s = out.state;
    onStep?.(p, t);
  });
  tree.dispose(s);
  step.dispose();
  return p;
}

/**
 * Live engine buffers over `steps` jitted, phased steps of `opt` on the tiny MLP (batches in
 * turn, `inputs(t)` as step inputs): the count after step 10 (`early`) and after the last
 * (`late`), and what is left over the count before the run once everything is disposed (`left`).
 * A training loop realizes params and state each step (blockUntilReady), as src/train does.
 */
export async function liveBuffersOver(
  opt: SharpnessAwareOptimizer<any>,
  init: TinyData,
  batches: { x: number[][]; y: number[] }[],
  { steps = 30, stepOptions = {}, inputs }: { steps?: number; stepOptions?: Parameters<typeof phasedStep>[2]; inputs?: (t: number) => StepInputs } = {},
): Promise<{ early: number; late: number; left: number }> {
  const live = await trackBuffers();
  const baseline = live();
  const step = phasedStep(opt, tinyLoss, stepOptions);
  let p = toParams(init);
  let s = opt.init(tree.ref(p));
  const counts: number[] = [];
  for (let t = 0; t < steps; t++) {
    const out = step(p, s, toBatch(batches[t % batches.length]), t, inputs ? inputs(t) : {});
    if (out.logits) await out.logits.data(); // read (and consumed) as the trainer reads SAF's logits
    tree.dispose([out.loss, out.finite]);
    p = out.params;
    s = out.state;
    await blockUntilReady([p, s]);
    if (t === 9 || t === steps - 1) counts.push(live());
  }
  tree.dispose([p, s]);
  step.dispose();
  return { early: counts[0], late: counts[1], left: live() - baseline };
}

/**
 * The ownership contract of `opt.step` (README "Ownership"): it consumes params, state, batch
 * and the array step inputs, each exactly once. Before the step one `.ref` is taken of the first
 * leaf of each; after it those have refCount 1 (consumed once, the `.ref` survives) and every
 * other leaf has refCount 0. Disposes everything it was given and the step's outputs.
 */
export function assertStepOwnership(opt: SharpnessAwareOptimizer<any>, p: TinyParams, s: unknown, b: TinyBatch, stepOptions: Record<string, unknown> = {}): void {
  const arrays = Object.entries(stepOptions).filter(([, v]) => v instanceof np.Array) as [string, np.Array][];
  const groups: [string, np.Array[]][] = [["params", tree.leaves(p) as np.Array[]], ["state", tree.leaves(s) as np.Array[]], ["batch", tree.leaves(b) as np.Array[]], ...arrays.map(([k, v]) => [k, [v]] as [string, np.Array[]])];
  const kept = groups.map(([, leaves]) => leaves[0].ref);
  const out = opt.step(tinyLoss as LossFn, p, s, b, stepOptions as never);
  groups.forEach(([what, leaves], i) => {
    assert.equal(kept[i].refCount, 1, `${what}: consumed once, the .ref survives`);
    leaves.slice(1).forEach((x, j) => assert.equal(x.refCount, 0, `${what}: leaf ${j + 1} consumed`));
  });
  tree.dispose([kept, out.params, out.state, out.loss, out.finite, ...[out.aux, out.logits, out.telemetry].filter((x) => x !== undefined)]);
}
