/**
 * Polyfills that @jax-js/jax 0.1.25 needs on Node 20 (DESIGN §5).
 *
 * - `Float16Array` (Node ≥ 24 has it): jax-js tests `instanceof Float16Array` when an array is
 *   built from data, so without it even `np.array(float64Data)` throws.
 * - Iterator helpers (`iterator.map`, `.filter`, `.toArray`, …; Node ≥ 22): used by `einsum`.
 *
 * Browser-safe (no `node:` imports). Import this module before `@jax-js/jax` is used; importing
 * it twice is harmless.
 */
import { Float16Array as Float16ArrayPolyfill } from "@petamoriken/float16";

const g = globalThis as Record<string, unknown>;
if (typeof g.Float16Array === "undefined") g.Float16Array = Float16ArrayPolyfill;

type Iter = Iterator<unknown> & { [Symbol.iterator](): Iterator<unknown> };
const iteratorProto = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())) as Record<
  string,
  unknown
>;

function* mapGen(it: Iter, fn: (v: unknown, i: number) => unknown) {
  let i = 0;
  for (const v of { [Symbol.iterator]: () => it }) yield fn(v, i++);
}
function* filterGen(it: Iter, fn: (v: unknown, i: number) => unknown) {
  let i = 0;
  for (const v of { [Symbol.iterator]: () => it }) if (fn(v, i++)) yield v;
}
function* takeGen(it: Iter, n: number) {
  if (n <= 0) return;
  let i = 0;
  for (const v of { [Symbol.iterator]: () => it }) {
    yield v;
    if (++i >= n) return;
  }
}
function* dropGen(it: Iter, n: number) {
  let i = 0;
  for (const v of { [Symbol.iterator]: () => it }) if (i++ >= n) yield v;
}
function* flatMapGen(it: Iter, fn: (v: unknown, i: number) => Iterable<unknown>) {
  let i = 0;
  for (const v of { [Symbol.iterator]: () => it }) yield* fn(v, i++);
}

const helpers: Record<string, (this: Iter, ...args: any[]) => unknown> = {
  map(fn) {
    return mapGen(this, fn);
  },
  filter(fn) {
    return filterGen(this, fn);
  },
  take(n) {
    return takeGen(this, n);
  },
  drop(n) {
    return dropGen(this, n);
  },
  flatMap(fn) {
    return flatMapGen(this, fn);
  },
  toArray() {
    return Array.from({ [Symbol.iterator]: () => this });
  },
  forEach(fn) {
    let i = 0;
    for (const v of { [Symbol.iterator]: () => this }) fn(v, i++);
  },
  some(fn) {
    let i = 0;
    for (const v of { [Symbol.iterator]: () => this }) if (fn(v, i++)) return true;
    return false;
  },
  every(fn) {
    let i = 0;
    for (const v of { [Symbol.iterator]: () => this }) if (!fn(v, i++)) return false;
    return true;
  },
  find(fn) {
    let i = 0;
    for (const v of { [Symbol.iterator]: () => this }) if (fn(v, i++)) return v;
    return undefined;
  },
  reduce(fn, ...init) {
    let i = 0;
    let acc: unknown;
    let started = init.length > 0;
    if (started) acc = init[0];
    for (const v of { [Symbol.iterator]: () => this }) {
      if (!started) {
        acc = v;
        started = true;
      } else acc = fn(acc, v, i);
      i++;
    }
    if (!started) throw new TypeError("Reduce of empty iterator with no initial value");
    return acc;
  },
};

for (const [name, fn] of Object.entries(helpers)) {
  if (typeof iteratorProto[name] !== "function") {
    Object.defineProperty(iteratorProto, name, { value: fn, writable: true, configurable: true });
  }
}

export {};
