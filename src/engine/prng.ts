/**
 * Host-side seeded randomness for data work (splits, label noise, shuffling). On-device
 * randomness (initialization) uses jax-js's `random` keys instead.
 */

/** A host generator of floats in [0, 1) whose state can be saved and restored (checkpoints). */
export type Rng = (() => number) & { getState(): number; setState(state: number): void };

/** mulberry32: a small, fast 32-bit generator; returns floats in [0, 1). */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Object.assign(next, {
    getState: () => a,
    setState: (state: number) => {
      a = state >>> 0;
    },
  });
}

/** A generator for stream `stream` of seed `seed` (independent streams for one seed). */
export function rng(seed: number, stream: number): Rng {
  return mulberry32((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca77)) >>> 0);
}

/** Uniform integer in [0, n). */
export function randInt(r: () => number, n: number): number {
  return Math.floor(r() * n);
}

/** A seeded Fisher-Yates permutation of 0..n-1. */
export function permutation(r: () => number, n: number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = randInt(r, i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
