import { test, before } from "node:test";
import assert from "node:assert/strict";
import { numpy as np, random, tree } from "@jax-js/jax";
import { decompose, emaTracking, reparameterizationCheck, rescaleMlp } from "../../src/sharpness/index.js";
import { mlp } from "../../src/models/mlp.js";
import { crossEntropy } from "../../src/models/loss.js";
import { setup } from "../helpers.js";

before(setup);

test("reparameterization (Dinh et al.): same function; ℓ2 sharpness and λ_max move, adaptive sharpness does not", async () => {
  const model = mlp({ sizes: [20, 16, 3] });
  const { params, state } = model.init(1);
  const loss = (p: any, b: { x: np.Array; y: np.Array }) => crossEntropy(model.apply(p, tree.ref(state), b.x, true)[0], b.y);
  const batches = [0, 1].map((i) => ({ x: random.normal(random.key(10 + i), [16, 20]), y: np.array(Array.from({ length: 16 }, (_, k) => (k + i) % 3), { dtype: np.int32 }) }));
  const rows = await reparameterizationCheck(loss, params, batches, { layer: 0, a: 5, steps: 10 });
  const get = (prefix: string) => rows.find((r) => r.measure.startsWith(prefix))!;
  assert.ok(Math.abs(get("loss").ratio - 1) < 1e-5, `loss ${JSON.stringify(get("loss"))}`);
  assert.ok(Math.abs(get("adaptive").ratio - 1) < 1e-3, `adaptive ${JSON.stringify(get("adaptive"))}`);
  assert.ok(Math.abs(get("ℓ2").ratio - 1) > 0.2, `ℓ2 should move: ${JSON.stringify(get("ℓ2"))}`);
  assert.ok(Math.abs(get("λ_max").ratio - 1) > 0.2, `λ_max should move: ${JSON.stringify(get("λ_max"))}`);
  assert.throws(() => rescaleMlp(params, 1, 2), /rescaleMlp: layer must be in \[0, 0\] \(got 1\)/);
  tree.dispose([params, batches]);
});

test("gradient decomposition by hand: G = [1, 0], g = [2, 3] → cos 2/√13, components 2 and 3", async () => {
  const [d] = await decompose([np.array([2, 3])], np.array([1, 0]));
  assert.ok(Math.abs(d.cosine - 2 / Math.sqrt(13)) < 1e-6 && Math.abs(d.fullComponentNorm - 2) < 1e-6 && Math.abs(d.noiseComponentNorm - 3) < 1e-6, JSON.stringify(d));
});

test("EMA estimate of the full gradient: stationary squared error s²(1−λ)/(1+λ), shrinking with λ", async () => {
  // g_t = G + ξ_t, ξ_t ~ N(0, σ² I_d), d = 200, σ = 0.5: s² = σ² d = 50; ‖G‖² = 200
  const d = 200;
  const sigma = 0.5;
  const G = np.ones([d]);
  const stream = Array.from({ length: 400 }, (_, t) => G.ref.add(random.normal(random.key(100 + t), [d]).mul(sigma)));
  const lambdas = [0, 0.5, 0.9];
  const errs = await emaTracking(stream, G, lambdas);
  const s2 = sigma * sigma * d;
  const measured = lambdas.map((l) => {
    const tail = errs[String(l)].slice(100);
    return tail.reduce((a, e) => a + (e * Math.sqrt(200)) ** 2, 0) / tail.length;
  });
  lambdas.forEach((l, i) => {
    const predicted = (s2 * (1 - l)) / (1 + l);
    assert.ok(Math.abs(measured[i] / predicted - 1) < 0.15, `λ ${l}: measured ${measured[i]}, predicted ${predicted}`);
  });
  assert.ok(measured[0] > measured[1] && measured[1] > measured[2]);
  tree.dispose([G, stream]);
});
