/**
 * SAM-ON (issue 13): SAM whose ε touches only the normalization layers — exactly `sam` with
 * `perturbLeaves: "norm"`, a hand-computed step, and the error on a model without them.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { numpy as np, tree } from "@jax-js/jax";
import { mlp, classificationLoss, sam, samOn, sgd } from "../../src/index.js";
import { assertClose, flat, maxTreeDiff, setup } from "../helpers.js";

before(setup);

test("SAM-ON, by hand: ε = ρ g_N/‖g_N‖ on the norm parameters only; every leaf descends", () => {
  // L = Σ squares of w = [1, 2] (layers.0.w) and scale = [0.5, 1] (norms.0.scale): g_N = [1, 2], ‖g_N‖ = √5
  // ε_N = 0.5·[1, 2]/√5 = [0.223607, 0.447214]; g_s,N = 2(scale + ε_N) = [1.447214, 2.894427]
  // SGD lr 0.1: scale' = [0.355279, 0.710557]; w' = w − 0.1·2w = [0.8, 1.6] (no ε there)
  const loss = (p: any) => np.sum(np.square(p.layers[0].w)).add(np.sum(np.square(p.norms[0].scale)));
  const opt = samOn(sgd({ learningRate: 0.1 }), { rho: 0.5 });
  const p = { layers: [{ w: np.array([1, 2]) }], norms: [{ scale: np.array([0.5, 1]) }] };
  const out = opt.step(loss as any, p, opt.init(tree.ref(p)), { z: np.zeros([1]) });
  assertClose(flat(out.params.norms[0].scale.ref), [0.3552786, 0.7105573], 1e-6);
  assertClose(flat(out.params.layers[0].w.ref), [0.8, 1.6], 1e-6);
  tree.dispose([out.params, out.state, out.loss, out.finite]);
});

test("SAM-ON is sam with perturbLeaves \"norm\", exactly, on an MLP with BatchNorm; and differs from SAM", () => {
  const model = mlp({ sizes: [6, 5, 3], batchNorm: true });
  const loss = classificationLoss(model);
  const x = np.array(Array.from({ length: 8 }, (_, i) => Array.from({ length: 6 }, (_, j) => Math.sin(i * 6 + j))));
  const y = np.array([0, 1, 2, 0, 1, 2, 0, 1], { dtype: np.int32 });
  const run = (opt: any) => {
    let { params, state: ms } = model.init(0);
    let s = opt.init(tree.ref(params));
    for (let t = 0; t < 3; t++) {
      const out = opt.step(loss as any, params, s, { x: x.ref, y: y.ref, state: ms }, { hasAux: true });
      params = out.params;
      s = out.state;
      ms = out.aux;
      tree.dispose([out.loss, out.finite]);
    }
    tree.dispose([s, ms]);
    return params;
  };
  const base = () => sgd({ learningRate: 0.1, momentum: 0.9 });
  assert.equal(maxTreeDiff(run(samOn(base(), { rho: 0.5 })), run(sam(base(), { rho: 0.5, perturbLeaves: "norm" }))), 0);
  assert.ok(maxTreeDiff(run(samOn(base(), { rho: 0.5 })), run(sam(base(), { rho: 0.5 }))) > 1e-5);
  tree.dispose([x, y]);
});

test("SAM-ON: a model without normalization layers and a perturbLeaves option are one-line errors", () => {
  const model = mlp({ sizes: [6, 5, 3] });
  const { params, state } = model.init(0);
  const opt = samOn(sgd({ learningRate: 0.1 }));
  const s = opt.init(tree.ref(params));
  const batch = { x: np.zeros([4, 6]), y: np.zeros([4], { dtype: np.int32 }), state };
  assert.throws(() => opt.step(classificationLoss(model) as any, params, s, batch, { hasAux: true }), /sam: perturbLeaves selects none of the parameters/);
  assert.throws(() => samOn(sgd({ learningRate: 0.1 }), { perturbLeaves: "all" } as never), /samOn: unknown option/);
});
