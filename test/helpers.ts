/**
 * Test helpers: engine start, a live-buffer counter, and closeness checks.
 *
 * jax-js has no public live-buffer counter (DESIGN §5), so `trackBuffers()` wraps the wasm
 * backend's malloc/incRef/decRef (reached through the pinned version's internal module) and
 * keeps its own reference counts. Buffers allocated before tracking starts are not counted.
 */
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import assert from "node:assert/strict";
import { numpy as np, tree } from "@jax-js/jax";
import { applyUpdates, initEngine, type GradientTransformation, type SharpnessAwareOptimizer } from "../src/index.js";

export async function setup(): Promise<void> {
  await initEngine("wasm");
}

type Backend = { malloc: (...a: any[]) => number; incRef: (s: number) => void; decRef: (s: number) => void };
let counts: Map<number, number> | null = null;

async function wasmBackend(): Promise<Backend> {
  const require = createRequire(import.meta.url);
  const dist = dirname(require.resolve("@jax-js/jax"));
  const file = readdirSync(dist).find((f) => /^backend-.*\.js$/.test(f));
  if (!file) throw new Error("jax-js internal backend module not found");
  const mod = (await import(pathToFileURL(join(dist, file)).href)) as Record<string, unknown>;
  const getBackend = Object.values(mod).find((v) => typeof v === "function" && (v as Function).name === "getBackend") as ((d: string) => Backend) | undefined;
  if (!getBackend) throw new Error("jax-js getBackend not found");
  return getBackend("wasm");
}

/** Start counting live wasm buffers; returns a function that reads the current count. */
export async function trackBuffers(): Promise<() => number> {
  if (!counts) {
    counts = new Map();
    const b = await wasmBackend();
    const { malloc, incRef, decRef } = b;
    b.malloc = function (this: Backend, ...a: any[]) {
      const s = malloc.apply(this, a);
      counts!.set(s, 1);
      return s;
    };
    b.incRef = function (this: Backend, s: number) {
      incRef.call(this, s);
      if (counts!.has(s)) counts!.set(s, counts!.get(s)! + 1);
    };
    b.decRef = function (this: Backend, s: number) {
      decRef.call(this, s);
      const c = counts!.get(s);
      if (c !== undefined) {
        if (c <= 1) counts!.delete(s);
        else counts!.set(s, c - 1);
      }
    };
  }
  return () => counts!.size;
}

/** Flatten an array (consumed) to a JS number list. */
export function flat(x: np.Array): number[] {
  return Array.from(x.dataSync() as ArrayLike<number>);
}

/** Assert every element of `actual` is within `tol` of `expected` (absolute). */
export function assertClose(actual: number[] | number, expected: number[] | number, tol = 1e-5, what = "value"): void {
  const a = Array.isArray(actual) ? actual : [actual];
  const e = Array.isArray(expected) ? expected : [expected];
  assert.equal(a.length, e.length, `${what}: length ${a.length} vs ${e.length}`);
  for (let i = 0; i < a.length; i++) {
    const ok = Math.abs(a[i] - e[i]) <= tol;
    assert.ok(ok, `${what}[${i}]: got ${a[i]}, expected ${e[i]} (tol ${tol})`);
  }
}

/** Max absolute difference between two parameter trees (both consumed). */
export function maxTreeDiff(a: any, b: any): number {
  const la = tree.leaves(a) as np.Array[];
  const lb = tree.leaves(b) as np.Array[];
  assert.equal(la.length, lb.length);
  let m = 0;
  for (let i = 0; i < la.length; i++) {
    const x = flat(la[i]);
    const y = flat(lb[i]);
    for (let j = 0; j < x.length; j++) m = Math.max(m, Math.abs(x[j] - y[j]));
  }
  return m;
}

/** Apply `opt` to w0 with the given gradients; returns w after each step (all disposed). */
export function runTransformation(opt: GradientTransformation<any>, w0: number[], grads: number[][]): number[][] {
  let w = np.array(w0);
  let s = opt.init(w.ref);
  const out: number[][] = [];
  for (const g of grads) {
    const [u, s2] = opt.update(np.array(g), s, w.ref);
    w = applyUpdates(w, u);
    s = s2;
    out.push(flat(w.ref));
  }
  w.dispose();
  tree.dispose(s);
  return out;
}

/**
 * n eager steps of a sharpness-aware optimizer from w0 (phases from `opt.phase(t)`), with a
 * batch and extra step inputs made fresh for each step; returns w after each step.
 */
export function runSteps(opt: SharpnessAwareOptimizer<any>, loss: any, w0: number[], n: number, { batch = () => ({ z: np.zeros([1]) }), inputs = () => ({}) }: { batch?: () => any; inputs?: () => any } = {}): number[][] {
  let w = np.array(w0);
  let s = opt.init(w.ref);
  const out: number[][] = [];
  for (let t = 0; t < n; t++) {
    const r = opt.step(loss, w, s, batch(), { phase: opt.phase(t), ...inputs() });
    w = r.params;
    s = r.state;
    r.loss.dispose();
    r.finite.dispose();
    out.push(flat(w.ref));
  }
  w.dispose();
  tree.dispose(s);
  return out;
}

/** L(w) = Σ a_i w_i² (the batch is ignored); `calls` counts its evaluations (one per gradient pass). */
export function quad(a: number[]) {
  const f = (w: np.Array, _b: unknown) => {
    f.calls++;
    return np.sum(np.square(w).mul(np.array(a)));
  };
  f.calls = 0;
  return f;
}
