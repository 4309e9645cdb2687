/** Run specs, keys, labels, sweeps and the registry ↔ library ↔ CLI ↔ README consistency. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sha256Hex } from "../../src/train/sha256.js";
import { canonicalJson, fillSpec, getPath, runKey, setPath, specLabel, SpecError } from "../../src/train/spec.js";
import { ALGORITHMS, BASES } from "../../src/train/registry.js";
import { expandSweep } from "../../src/sweep/grid.js";
import { specFlags } from "../../src/cli/spec-flags.js";
import { kebab } from "../../src/cli/spec-flags.js";
import { registryTable } from "../../src/train/docs.js";
import { sgd } from "../../src/optim/sgd.js";
import { allowedText } from "../../src/optim/hyper.js";
import { mnistSpec } from "./specs.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

test("sha256 matches node:crypto (padding boundaries, UTF-8)", () => {
  for (const s of ["", "abc", "a".repeat(55), "a".repeat(56), "a".repeat(64), "a".repeat(119), "ρ=0.1 λ ✓", JSON.stringify(mnistSpec())]) {
    assert.equal(sha256Hex(s), createHash("sha256").update(s, "utf8").digest("hex"), `length ${s.length}`);
  }
});

test("the key is stable under key order and spelled-out defaults, and changes with what matters", () => {
  const a = mnistSpec({ optimizer: { name: "sam", rho: 0.1 } });
  const filled = fillSpec(a);
  const shuffled = { seed: a.seed, optimizer: { base: a.optimizer.base, rho: 0.1, name: "sam" }, batchSize: a.batchSize, epochs: a.epochs, model: a.model, data: a.data };
  assert.equal(runKey(a), runKey(filled));
  assert.equal(runKey(a), runKey(shuffled));
  assert.equal(runKey(a), runKey({ ...a, optimizer: { ...a.optimizer, normalize: true, p: 2, m: null, nonFinite: "skip" } }), "defaults written out");
  assert.match(runKey(a), /^[0-9a-f]{16}$/);
  assert.equal(runKey(a), sha256Hex(canonicalJson(filled)).slice(0, 16));
  assert.notEqual(runKey(a), runKey(mnistSpec({ optimizer: { name: "sam", rho: 0.05 } })));
  assert.notEqual(runKey(a), runKey({ ...a, seed: 1 }));
  assert.notEqual(runKey(a), runKey(mnistSpec({ optimizer: { name: "sam", rho: 0.1 }, lr: 0.2 })));
  // sam's p = ∞ is stored as "inf" (JSON has no Infinity); every spelling hashes alike.
  const inf = (p: unknown) => fillSpec(mnistSpec({ optimizer: { name: "sam", p } })).optimizer.p;
  assert.deepEqual([inf(Infinity), inf("inf"), inf("Infinity")], ["inf", "inf", "inf"]);
});

test("fillSpec: one-line errors naming the field and what is allowed", () => {
  const bad: [unknown, RegExp][] = [
    [{ ...mnistSpec(), extra: 1 }, /^extra: unknown field of a run spec \(fields: data, model, optimizer, epochs, batchSize, seed, telemetry\)$/],
    [mnistSpec({ optimizer: { name: "sam", sigma: 1 } }), /^optimizer\.sigma: "sigma" is not a hyperparameter of optimizer sam \(it takes rho, normalize, p, m, rhoSchedule, switchEpoch, everyK, ascentBatch, ascentBatchSize, bnStats, accumulate, accumulateMode, perturbLeaves, nonFinite\)$/],
    [mnistSpec({ optimizer: { name: "sam", rho: -1 } }), /^optimizer\.rho must be a finite number ≥ 0 \(got -1\)$/],
    [mnistSpec({ optimizer: { name: "fsam", lambda: 1 } }), /^optimizer\.lambda must be a finite number in \[0, 1\) \(got 1\)$/],
    [mnistSpec({ optimizer: { name: "nope" } }), /^optimizer\.name must be one of sgd, sam, asam/],
    [{ ...mnistSpec(), optimizer: { name: "sam", base: { name: "adam" } } }, /^optimizer\.base\.lr is required/],
    [{ ...mnistSpec(), epochs: 1.5 }, /^epochs must be an integer ≥ 1 \(got 1\.5\)$/],
    [{ ...mnistSpec(), epochs: "3" }, /^epochs must be an integer ≥ 1 \(got "3"\)$/],
    [mnistSpec({ optimizer: { name: "sam", m: 7 } }), /^optimizer\.m must divide batchSize 50 \(got 7\)$/],
    [mnistSpec({ optimizer: { name: "sam", m: 10 }, batchNorm: true }), /cannot be combined with model\.batchNorm/],
    [mnistSpec({ optimizer: { name: "gnr", method: "finite-difference", lambda: 0.5 } }), /^gradNormPenalty: lambda must be ≤ r/],
    [mnistSpec({ optimizer: { name: "sam", base: { nesterov: true, momentum: 0 } } }), /^sgd: nesterov needs momentum > 0/],
    [{ ...mnistSpec(), batchSize: 5000 }, /^batchSize 5000 is larger than data\.trainSize 1000$/],
    [[1, 2], /^a run spec must be a JSON object/],
  ];
  for (const [spec, re] of bad) {
    assert.throws(() => fillSpec(spec), (e: Error) => e instanceof SpecError && re.test(e.message) && !e.message.includes("\n"), `${JSON.stringify(spec).slice(0, 80)} → ${re}`);
  }
});

test("labels: the algorithm, ρ, and whatever differs from its defaults", () => {
  const label = (optimizer: Record<string, unknown>, base?: Record<string, unknown>) => specLabel(fillSpec({ ...mnistSpec({ optimizer }), ...(base ? { optimizer: { ...optimizer, base } } : {}) }));
  assert.equal(label({ name: "sam", rho: 0.1 }), "SAM ρ=0.1");
  assert.equal(label({ name: "sam" }), "SAM ρ=0.05");
  assert.equal(label({ name: "fsam", rho: 0.1, lambda: 0.6 }), "F-SAM ρ=0.1 λ=0.6");
  assert.equal(label({ name: "asam", rho: 1, adaptiveLeaves: "weights" }), "ASAM ρ=1 adaptiveLeaves=weights");
  assert.equal(label({ name: "sgd" }), "SGD");
  assert.equal(label({ name: "sgd" }, { name: "adam", lr: 1e-3 }), "Adam");
  assert.equal(label({ name: "random-perturbation", sigma: 0.02 }), "random perturbation σ=0.02");
});

test("setPath / getPath; replacing the optimizer keeps the base", () => {
  const s = mnistSpec();
  assert.equal(getPath(setPath(s, "optimizer.rho", 0.2), "optimizer.rho"), 0.2);
  assert.equal(s.optimizer.rho, undefined, "setPath copies");
  const t = setPath(s, "optimizer", { name: "asam", rho: 1 });
  assert.deepEqual(t.optimizer.base, s.optimizer.base);
  assert.equal(getPath(s, "nope.deeper"), undefined);
});

test("sweeps: grid product in order, whole objects before their fields, seeded random draws", () => {
  const base = mnistSpec();
  const specs = expandSweep({ base, grid: { "optimizer.rho": [0.05, 0.1, 0.2], optimizer: [{ name: "sam" }, { name: "asam" }], seed: [0, 1, 2] } });
  assert.equal(specs.length, 18);
  assert.equal(new Set(specs.map(runKey)).size, 18);
  assert.deepEqual(specs.slice(0, 3).map((s) => [s.optimizer.name, s.seed, s.optimizer.rho]), [["sam", 0, 0.05], ["sam", 0, 0.1], ["sam", 0, 0.2]]);
  assert.ok(specs.every((s) => s.optimizer.base.lr === 0.1), "the base optimizer is kept");
  const rnd = { base, random: { n: 20, seed: 3, params: { "optimizer.rho": { min: 0.001, max: 1, log: true }, "optimizer.name": ["sam", "fsam"] } }, grid: { seed: [0, 1] } };
  const a = expandSweep(rnd);
  assert.equal(a.length, 40);
  assert.deepEqual(a.map(runKey), expandSweep(rnd).map(runKey), "same file, same runs");
  const rhos = a.map((s) => s.optimizer.rho as number);
  assert.ok(rhos.every((r) => r >= 0.001 && r <= 1));
  assert.ok(rhos.filter((r) => r < 0.0316).length >= 8, `log-uniform: about half below √(0.001·1) (${rhos.filter((r) => r < 0.0316).length}/40)`);
  assert.deepEqual(new Set(a.map((s) => s.optimizer.name)), new Set(["sam", "fsam"]));
  assert.throws(() => expandSweep({ base, grid: { "optimizer.rho": 0.1 } }), /grid\.optimizer\.rho must be a non-empty list of values \(got 0\.1\)/);
  assert.throws(() => expandSweep({ base, grid: { "optimizer.rho": [0.1, -1] } }), /^SweepError: run optimizer\.rho=-1: optimizer\.rho must be a finite number ≥ 0 \(got -1\)$/);
  assert.throws(() => expandSweep({ base, grids: {} }), /unknown field "grids"/);
  assert.throws(() => expandSweep({ base, random: { n: 2, params: { "optimizer.rho": { min: 0, max: 1, log: true } } } }), /min > 0 with log/);
});

// Declared once: the library's validation, the CLI flags and the README all follow the descriptors.
for (const e of Object.values(ALGORITHMS).filter((x) => x.name !== "sgd")) {
  test(`registry ↔ library: ${e.name}'s factory and its specs reject the same values in the same words`, () => {
    const ctx = { stepsPerEpoch: 1, totalSteps: 1, seed: 0, lr: 0.1, lr0: 0.1 };
    // SAM-ON perturbs normalization layers: its specs need a model with them.
    const bn = { batchNorm: e.name === "sam-on" };
    const defaults = fillSpec(mnistSpec({ optimizer: { name: e.name }, ...bn })).optimizer;
    assert.doesNotThrow(() => e.create(defaults, sgd({ learningRate: 0.1 }), ctx));
    let checked = 0;
    for (const [name, h] of Object.entries(e.descriptor.params)) {
      if (h.type !== "number" || h.min === undefined || h.fromRun) continue;
      const bad = h.min - 1;
      const allowed = allowedText(h).replace(/[()[\]]/g, "\\$&");
      assert.throws(() => e.create({ ...defaults, [name]: bad }, sgd({ learningRate: 0.1 }), ctx), new RegExp(`^RangeError: ${e.descriptor.fn}: ${name} must be ${allowed} \\(got ${bad}\\)$`));
      assert.throws(() => fillSpec(mnistSpec({ optimizer: { name: e.name, [name]: bad }, ...bn })), new RegExp(`^SpecError: optimizer\\.${name} must be ${allowed} \\(got ${bad}\\)$`));
      checked++;
    }
    assert.ok(checked > 0 || e.name === "random-perturbation" || e.name === "gnr" || Object.keys(e.descriptor.params).length === 0, `${e.name}: nothing checked`);
  });
}

test("registry ↔ CLI: every hyperparameter of every entry is a flag in --help", () => {
  const flags = specFlags();
  for (const e of [...Object.values(ALGORITHMS), ...Object.values(BASES)]) {
    for (const k of Object.keys(e.params)) assert.ok(kebab(k) in flags, `--${kebab(k)} (${e.name}.${k}) missing`);
  }
  for (const f of ["dataset", "model", "optimizer", "base", "epochs", "batch-size", "seed", "train-size", "label-noise", "hidden", "lr", "rho", "lambda"]) assert.ok(f in flags, f);
  assert.match(flags.sigma.help, /fsam 1, fasam 1, random-perturbation 0\.01/, "per-algorithm defaults in the help");
  assert.deepEqual(flags.optimizer.choices, Object.keys(ALGORITHMS));
});

test("registry ↔ README: the hyperparameter table is the registry's", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const m = /<!-- registry:start -->\n([\s\S]*?)\n<!-- registry:end -->/.exec(readme);
  assert.ok(m, "README has the registry table markers");
  assert.equal(m[1], registryTable(), "README's table is stale: run npm run docs");
  for (const name of Object.keys(ALGORITHMS)) assert.ok(m[1].includes(`| \`${name}\` |`), name);
});

test("fields added later (omitDefault) stay out of a filled spec at their default, so old keys hold", () => {
  const base = mnistSpec({ optimizer: { name: "sam", rho: 0.1 } });
  const filled = fillSpec(base);
  for (const k of ["ascentBatchSize", "bnStats", "accumulate", "accumulateMode", "perturbLeaves"]) assert.ok(!(k in filled.optimizer), k);
  assert.ok(!("telemetry" in filled));
  assert.ok(!("clipNorm" in filled.optimizer.base));
  assert.ok(!("validationSize" in filled.data));
  let spelled = setPath(setPath(setPath(base, "optimizer.bnStats", "clean"), "optimizer.base.clipNorm", null), "data.validationSize", 0);
  for (const [k, v] of [["optimizer.accumulate", 1], ["optimizer.accumulateMode", "global"], ["optimizer.perturbLeaves", "all"], ["telemetry", false]] as const) spelled = setPath(spelled, k, v);
  assert.equal(runKey(spelled), runKey(base), "spelling the defaults out keeps the key");
  assert.notEqual(runKey(setPath(base, "data.validationSize", 100)), runKey(base));
  assert.equal(fillSpec(setPath(base, "optimizer.base.clipNorm", 1)).optimizer.base.clipNorm, 1);
  assert.throws(() => fillSpec(setPath(base, "optimizer.bnStats", "perturbed")), /^SpecError: optimizer\.bnStats "perturbed" needs model\.batchNorm true/);
  assert.throws(() => fillSpec(setPath(setPath(base, "optimizer.ascentBatchSize", 64), "optimizer.ascentBatch", "random")), /^SpecError: optimizer\.ascentBatchSize cannot be combined with optimizer\.ascentBatch "random"$/);
  assert.throws(() => fillSpec(setPath(base, "optimizer.base.clipNorm", 0)), /^SpecError: optimizer\.base\.clipNorm must be a finite number > 0 \(got 0\)$/);
});

test("clipNorm chains clip-by-global-norm before the base: g = [3, 4] (‖g‖ 5) clipped to 0.5 is [0.3, 0.4]", async () => {
  const { numpy: np, tree } = await import("@jax-js/jax");
  const opt = BASES.sgd.create({ lr: 1, momentum: 0, nesterov: false, weightDecay: 0, lrSchedule: "constant", clipNorm: 0.5 }, { stepsPerEpoch: 1, totalSteps: 1, seed: 0 });
  const s = opt.init(np.array([0, 0]));
  const [u, s2] = opt.update(np.array([3, 4]), s, np.array([0, 0]));
  // updates = −lr · g · 0.5/5 = [−0.3, −0.4]
  const got = Array.from(await (u as any).data() as Float32Array);
  assert.ok(Math.abs(got[0] + 0.3) < 1e-6 && Math.abs(got[1] + 0.4) < 1e-6, String(got));
  tree.dispose(s2 as any);
});
