/**
 * Tree math over parameter pytrees (nested objects / arrays of `np.Array`).
 *
 * Ownership follows jax-js: **every function consumes the trees and arrays it is given** and
 * returns freshly owned results. Pass `tree.ref(t)` (or `x.ref`) to keep using an argument.
 * Scalars given as JS numbers are weakly typed, so they keep the trees' dtype (float32 or
 * float64).
 *
 * Norms and dot products reduce in two stages (last axis, then the rest) because jax-js sums
 * float32 naively (DESIGN §5: 2^20 terms ≈ 1% off).
 */
import "./polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";

/**
 * A parameter tree: nested plain objects and arrays whose leaves are `np.Array`.
 *
 * @example
 * ```ts
 * const params: Params = { layers: [{ w: np.zeros([784, 10]), b: np.zeros([10]) }] };
 * ```
 */
export type Params = np.Array | Params[] | { [key: string]: Params };

/**
 * A scalar that is either a JS number (weakly typed) or a 0-d array.
 *
 * @example
 * ```ts
 * treeScale(g, 0.5);                 // a number
 * treeScale(g, np.array(0.5));       // a 0-d array (consumed)
 * ```
 */
export type Scalar = number | np.Array;

/**
 * Machine epsilon added to every norm we divide by (DESIGN §4).
 *
 * @example
 * ```ts
 * const eps = treeScale(g, np.divide(rho, treeNorm(tree.ref(g)).add(EPS))); // ρ g/(‖g‖ + 1e-12)
 * ```
 */
export const EPS = 1e-12;

function refScalar(s: Scalar): Scalar {
  return typeof s === "number" ? s : s.ref;
}

function disposeScalar(s: Scalar): void {
  if (typeof s !== "number") s.dispose();
}

/**
 * Sum of all elements in two stages (last axis first). Consumes `x`; returns a 0-d array.
 *
 * @example
 * ```ts
 * const s = stagedSum(np.ones([1024, 1024])); // 1048576, summed by rows first
 * ```
 */
export function stagedSum(x: np.Array): np.Array {
  if (x.ndim > 1) return np.sum(np.sum(x, -1));
  return np.sum(x);
}

/**
 * `a + b` leaf-wise. Consumes `a` and `b`.
 *
 * @example
 * ```ts
 * const sum = treeAdd(tree.ref(a), b); // keeps a, consumes b
 * ```
 */
export function treeAdd<T extends Params>(a: T, b: T): T {
  return tree.map((x: np.Array, y: np.Array) => x.add(y), a, b) as T;
}

/**
 * `a − b` leaf-wise. Consumes `a` and `b`.
 *
 * @example
 * ```ts
 * const delta = treeSub(newParams, tree.ref(oldParams));
 * ```
 */
export function treeSub<T extends Params>(a: T, b: T): T {
  return tree.map((x: np.Array, y: np.Array) => x.sub(y), a, b) as T;
}

/**
 * `s · a` leaf-wise. Consumes `a` and `s` (when `s` is an array).
 *
 * @example
 * ```ts
 * const half = treeScale(g, 0.5);
 * ```
 */
export function treeScale<T extends Params>(a: T, s: Scalar): T {
  const out = tree.map((x: np.Array) => x.mul(refScalar(s)), a) as T;
  disposeScalar(s);
  return out;
}

/**
 * `α·x + y` leaf-wise. Consumes `x`, `y` and `α` (when an array).
 *
 * @example
 * ```ts
 * const wPlusEps = treeAxpy(0.05, eps, tree.ref(params)); // w + 0.05·ε
 * ```
 */
export function treeAxpy<T extends Params>(alpha: Scalar, x: T, y: T): T {
  const out = tree.map((u: np.Array, v: np.Array) => u.mul(refScalar(alpha)).add(v), x, y) as T;
  disposeScalar(alpha);
  return out;
}

/**
 * `a ⊙ b` (element-wise product) leaf-wise. Consumes `a` and `b`.
 *
 * @example
 * ```ts
 * const tg = treeMul(treeAbs, g); // T ⊙ g, as in ASAM
 * ```
 */
export function treeMul<T extends Params>(a: T, b: T): T {
  return tree.map((x: np.Array, y: np.Array) => x.mul(y), a, b) as T;
}

/**
 * Zeros with the shapes and dtypes of `a`. Consumes `a`.
 *
 * @example
 * ```ts
 * const zeros = treeZerosLike(tree.ref(params));
 * ```
 */
export function treeZerosLike<T extends Params>(a: T): T {
  return tree.map((x: np.Array) => np.zerosLike(x), a) as T;
}

/**
 * `⟨a, b⟩ = Σ a·b` over all leaves, a 0-d array. Consumes `a` and `b`.
 *
 * @example
 * ```ts
 * const cos = treeDot(tree.ref(g), tree.ref(gs)).div(treeNorm(g).mul(treeNorm(gs)));
 * ```
 */
export function treeDot(a: Params, b: Params): np.Array {
  const la = tree.leaves(a) as np.Array[];
  const lb = tree.leaves(b) as np.Array[];
  if (la.length !== lb.length) throw new Error(`treeDot: trees have ${la.length} and ${lb.length} leaves`);
  let acc: np.Array | null = null;
  for (let i = 0; i < la.length; i++) {
    const s = stagedSum(la[i].mul(lb[i]));
    acc = acc === null ? s : acc.add(s);
  }
  return acc ?? np.array(0);
}

/**
 * `‖a‖₂² = Σ a²` over all leaves, a 0-d array. Consumes `a`.
 *
 * @example
 * ```ts
 * const n2 = treeSquaredNorm(tree.ref(g)); // Σ g²
 * ```
 */
export function treeSquaredNorm(a: Params): np.Array {
  let acc: np.Array | null = null;
  for (const x of tree.leaves(a) as np.Array[]) {
    const s = stagedSum(np.square(x));
    acc = acc === null ? s : acc.add(s);
  }
  return acc ?? np.array(0);
}

/**
 * Global L2 norm `‖a‖₂` over all leaves, a 0-d array. Consumes `a`.
 *
 * @example
 * ```ts
 * const n = (await treeNorm(tree.ref(grads)).data())[0];
 * ```
 */
export function treeNorm(a: Params): np.Array {
  return np.sqrt(treeSquaredNorm(a));
}

/** Number of leaves. Does not consume. */
export function treeSize(a: Params): number {
  return (tree.leaves(a) as np.Array[]).length;
}

/** Read every leaf to host memory as nested JS numbers. Consumes `a`. Not for use in a step. */
export function treeToJs(a: Params): unknown {
  return tree.map((x: np.Array) => x.js(), a);
}

/**
 * Dotted key paths of the leaves, in jax-js's flatten order (object insertion order, array
 * index), e.g. `["layers.0.w", "layers.0.b"]`. Does not consume.
 *
 * @example
 * ```ts
 * leafPaths({ layers: [{ w: w0, b: b0 }], norms: [] }); // ["layers.0.w", "layers.0.b"]
 * ```
 */
export function leafPaths(t: unknown, prefix = ""): string[] {
  if (Array.isArray(t)) return t.flatMap((c, i) => leafPaths(c, prefix ? `${prefix}.${i}` : String(i)));
  if (t !== null && typeof t === "object" && (t as object).constructor === Object) {
    return Object.entries(t as object).flatMap(([k, c]) => leafPaths(c, prefix ? `${prefix}.${k}` : k));
  }
  return [prefix];
}

/**
 * Throw a one-line `Error` when two trees differ in structure or leaf shapes, naming the first
 * difference by leaf path, e.g. `sgd: gradients do not match the optimizer state: at
 * "layers.0.w" shape [784, 128] vs [784, 256]`. Does not consume. Shapes are static, so this
 * runs at trace time under jit.
 *
 * @example
 * ```ts
 * assertSameTree("myOpt", "gradients do not match the parameters", grads, params);
 * ```
 */
export function assertSameTree(owner: string, what: string, a: unknown, b: unknown): void {
  const pa = leafPaths(a);
  const pb = leafPaths(b);
  const la = tree.leaves(a as Params) as np.Array[];
  const lb = tree.leaves(b as Params) as np.Array[];
  if (pa.length !== pb.length || pa.some((p, i) => p !== pb[i])) {
    const i = pa.findIndex((p, k) => p !== pb[k]);
    const at = i < 0 ? Math.min(pa.length, pb.length) : i;
    throw new Error(`${owner}: ${what}: ${pa.length} vs ${pb.length} leaves; first difference at position ${at} (${JSON.stringify(pa[at] ?? "none")} vs ${JSON.stringify(pb[at] ?? "none")})`);
  }
  for (let i = 0; i < la.length; i++) {
    const sa = la[i]?.shape;
    const sb = lb[i]?.shape;
    if (!sa || !sb || sa.length !== sb.length || sa.some((d, k) => d !== sb[k])) {
      throw new Error(`${owner}: ${what}: at ${JSON.stringify(pa[i])} shape [${sa?.join(", ")}] vs [${sb?.join(", ")}]`);
    }
  }
}

/**
 * A 0-d bool array: every element of every leaf is finite. Consumes `a`.
 *
 * @example
 * ```ts
 * const ok = treeAllFinite(tree.ref(grads)); // 0-d bool, in the graph
 * ```
 */
export function treeAllFinite(a: Params): np.Array {
  let acc: np.Array | null = null;
  for (const x of tree.leaves(a) as np.Array[]) {
    // Reducing over a leading axis of 16 first (outputs contiguous) and then the rest is
    // 3.7× faster on wasm than one reduction to a scalar: 0.16 vs 0.59 ms over the MLP's
    // 200,704-weight layer (docs/performance.md). Same boolean either way.
    const n = x.size;
    const f = n >= 256 && n % 16 === 0 ? np.all(np.all(np.isfinite(x.reshape([16, n / 16])), 0)) : np.all(np.isfinite(x));
    acc = acc === null ? f : np.logicalAnd(acc, f);
  }
  return acc ?? np.array(true);
}

/**
 * `cond ? a : b` leaf-wise by `np.where` (never arithmetic blending, which leaks NaN from the
 * unselected side). Consumes `a` and `b`; `cond` (0-d bool) is borrowed.
 *
 * @example
 * ```ts
 * const next = treeSelect(ok, newParams, oldParams); // ok borrowed: ok.dispose() later
 * ```
 */
export function treeSelect<T extends Params>(cond: np.Array, a: T, b: T): T {
  return tree.map((x: np.Array, y: np.Array) => {
    const dt = x.dtype;
    const out = np.where(cond.ref, x, y);
    return out.dtype === dt ? out : out.astype(dt);
  }, a, b) as T;
}

/** The first element of `x` on the host (a 0-d loss, a dot product). Consumes `x`. */
export async function hostScalar(x: np.Array): Promise<number> {
  return (await x.data())[0];
}
