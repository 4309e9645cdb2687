import { test, before } from "node:test";
import assert from "node:assert/strict";
import { numpy as np, random, tree } from "@jax-js/jax";
import { filterNormalizedDirection, interpolate, landscape2d } from "../../src/sharpness/index.js";
import { flat, setup } from "../helpers.js";

before(setup);

const half = async (p: any) => ({ loss: 0.5 * flat(np.sum(np.square(p.w.ref)))[0] });

test("interpolation on ½‖w‖²: ½‖(1−α)A + αB‖² at each α", async () => {
  const A = { w: np.array([1, 0]) };
  const B = { w: np.array([0, 2]) };
  const rows = await interpolate(half, A, B, { points: 5 });
  rows.forEach((r) => assert.ok(Math.abs(r.loss - 0.5 * ((1 - r.alpha) ** 2 + 4 * r.alpha ** 2)) < 1e-6, JSON.stringify(r)));
  assert.deepEqual(rows.map((r) => r.alpha), [0, 0.25, 0.5, 0.75, 1]);
  tree.dispose([A, B]);
});

test("filter normalization: each column of the direction has its weight column's norm; biases zeroed", () => {
  const p = { w: random.normal(random.key(1), [6, 3]).mul(2), b: np.ones([3]) };
  const d = filterNormalizedDirection(p, random.key(2)) as any;
  const colNorms = (x: np.Array) => flat(np.sqrt(np.sum(np.square(x), 0)));
  const [a, b] = [colNorms(d.w.ref), colNorms(p.w.ref)];
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-4, `${v} vs ${b[i]}`));
  assert.deepEqual(flat(d.b), [0, 0, 0]);
  tree.dispose([p, d.w]);
});

test("2-D landscape: the centre is L(w); the grid has the requested size", async () => {
  const p = { w: np.array([[1, 2], [3, 4]]) };
  const l = await landscape2d(half, p, { size: 5, span: 1 });
  assert.equal(l.values.loss.length, 5);
  assert.ok(Math.abs(l.values.loss[2][2] - 15) < 1e-5, `${l.values.loss[2][2]}`);
  assert.ok(l.values.loss.flat().every(Number.isFinite));
  tree.dispose(p);
});
