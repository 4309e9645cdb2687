import { test, before } from "node:test";
import assert from "node:assert/strict";
import { numpy as np } from "@jax-js/jax";
import { leafPaths, stagedSum, treeAxpy, treeDot, treeNorm, treeScale, treeSquaredNorm } from "../../src/index.js";
import { assertClose, flat, setup } from "../helpers.js";

before(setup);

test("tree math by hand, and every argument consumed", () => {
  const a = { u: np.array([1, 2]), v: [np.array([[2]])] };
  const b = { u: np.array([3, -1]), v: [np.array([[0.5]])] };
  assertClose(flat(treeDot({ u: a.u.ref, v: [a.v[0].ref] }, { u: b.u.ref, v: [b.v[0].ref] })), 1 * 3 - 2 + 1);
  assertClose(flat(treeSquaredNorm({ u: a.u.ref, v: [a.v[0].ref] })), 9);
  assertClose(flat(treeNorm({ u: a.u.ref, v: [a.v[0].ref] })), 3);
  const ax = treeAxpy(2, { u: a.u.ref, v: [a.v[0].ref] }, { u: b.u.ref, v: [b.v[0].ref] }) as any;
  assertClose(flat(ax.u), [5, 3]);
  assertClose(flat(ax.v[0]), [4.5]);
  const sc = treeScale(a, np.array(0.5)) as any;
  assertClose(flat(sc.u), [0.5, 1]);
  assert.equal(a.u.refCount, 0, "treeScale consumed its tree");
  flat(sc.v[0]);
  b.u.dispose();
  b.v[0].dispose();
});

test("leafPaths follow jax-js flatten order", () => {
  assert.deepEqual(leafPaths({ layers: [{ w: 1, b: 2 }], out: { w: 3 } }), ["layers.0.w", "layers.0.b", "out.w"]);
});

test("stagedSum keeps float32 sums of many terms accurate (a naive sum is ~1% off)", () => {
  // 2^20 copies of float32(0.1) = 0.100000001490116: exact sum 104857.6015625.
  const exact = 0.10000000149011612 * 2 ** 20;
  const staged = flat(stagedSum(np.full([1024, 1024], 0.1)))[0];
  const naive = flat(np.sum(np.full([1024, 1024], 0.1)))[0];
  assert.ok(Math.abs(staged - exact) / exact < 1e-4, `staged ${staged}`);
  assert.ok(Math.abs(naive - exact) > 10 * Math.abs(staged - exact), `naive ${naive} vs staged ${staged}`);
});

test("polyfills: float64 arrays and einsum work on Node 20", () => {
  assert.deepEqual(flat(np.array([1, 2], { dtype: np.float64 })), [1, 2]);
  assert.deepEqual(flat(np.einsum("ij,jk->ik", np.ones([2, 3]), np.ones([3, 2]))), [3, 3, 3, 3]);
});
