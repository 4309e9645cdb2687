/**
 * The experiment framework and each experiment's verdict rule. The rules are exercised on
 * constructed results (each verdict must be reachable, and the boundaries are where the rule
 * text says); real runs at `quick` scale go through the CLI in test/cli/reproduce.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EXPERIMENTS, experimentById } from "../../src/experiments/index.js";
import { SCALES, VERDICTS, geoMeanCi, meanCi, median, medianByStep, resultsFrom, type Scale } from "../../src/experiments/experiment.js";
import { anyRunKey, fillAnySpec, TASK_RESULT_FORMAT, type TaskResult } from "../../src/experiments/tasks.js";
import { planExperiments } from "../../src/experiments/reproduce.js";
import { kendallCi, kendallTau } from "../../src/experiments/sharpness-vs-generalization.js";
import type { RunSpec } from "../../src/train/spec.js";
import { comparisonSpecs } from "../../src/cli/run.js";
import { fakeResults, trainFake } from "./fakes.js";

test("every experiment declares id, claim, source, setting, rule and its three scales, and its specs are valid and distinct", () => {
  const ids = EXPERIMENTS.map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ["label-noise", "implicit-bias-diagonal", "switch-diagonal", "relu-1d-simplicity"]) assert.ok(experimentById(id), id);
  for (const e of EXPERIMENTS) {
    assert.match(e.id, /^[a-z0-9-]+$/);
    for (const k of ["claim", "setting", "rule"] as const) assert.ok(e[k].length > 15, `${e.id}.${k}`);
    assert.match(e.source, /^00[0-3] /, `${e.id}: source names the seed`);
    assert.match(e.rule, /[Rr]eproduced when/, `${e.id}: the rule says when it is reproduced`);
    for (const s of SCALES) {
      assert.ok(e.scales[s].length > 5, `${e.id}.scales.${s}`);
      const specs = e.specs(s);
      const keys = specs.map((x) => anyRunKey(fillAnySpec(x)));
      assert.equal(new Set(keys).size, keys.length, `${e.id} at ${s}: every run is distinct`);
    }
    assert.ok(e.specs("quick").length <= e.specs("default").length && e.specs("default").length <= e.specs("full").length, `${e.id}: scales grow`);
  }
});

test("label-noise at default scale is the default comparison: the same run keys as `sharpness compare`", () => {
  const fromCompare = comparisonSpecs({}).specs.map((s) => anyRunKey(s));
  const fromExperiment = experimentById("label-noise")!.specs("default").map((s) => anyRunKey(s));
  assert.equal(fromExperiment.length, 12);
  assert.deepEqual(new Set(fromExperiment), new Set(fromCompare));
});

test("planning several experiments runs shared runs once", () => {
  const one = planExperiments([experimentById("implicit-bias-diagonal")!], "quick");
  const twice = planExperiments([experimentById("implicit-bias-diagonal")!, experimentById("implicit-bias-diagonal")!], "quick");
  assert.equal(twice.runs.length, one.runs.length);
  assert.deepEqual(twice.experiments[1].keys, one.experiments[0].keys);
});

test("statistics: median, t interval, geometric mean of ratios, median curve", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  const m = meanCi([1, 2, 3], "x");
  // mean 2, sd 1, t(2) 4.302653: half-width 4.302653/√3 = 2.48414
  assert.equal(m.value, 2);
  assert.ok(Math.abs(m.hi! - 2 - 2.48414) < 1e-5);
  const g = geoMeanCi([2, 8], "r");
  assert.ok(Math.abs(g.value! - 4) < 1e-12); // √(2·8)
  assert.ok(g.lo! < 4 && g.hi! > 4);
  const c = medianByStep(
    [
      [{ step: 0, v: 1 }, { step: 10, v: 3 }],
      [{ step: 0, v: 5 }, { step: 10, v: Infinity }],
      [{ step: 0, v: 2 }],
    ],
    "v",
  );
  assert.deepEqual(c, [{ step: 0, value: 2 }, { step: 10, value: 3 }]);
});

// ---------------------------------------------------------------- rules on constructed results

const fake = fakeResults;

const task = (spec: any, metrics: TaskResult["metrics"], output: TaskResult["output"] = {}): TaskResult => ({ format: TASK_RESULT_FORMAT, key: anyRunKey(spec), task: spec.task, label: "", seed: spec.seed, spec, metrics, output, seconds: 0, device: "test" });

test("implicit-bias-diagonal: each verdict is reachable where the rule says", () => {
  const e = experimentById("implicit-bias-diagonal")!;
  const diagResult = (testLoss: (method: string, rho: number, seed: number) => number) => (spec: any) => {
    const p = spec.phases[0];
    return task(spec, { trainLoss: 1e-9, testLoss: testLoss(p.method, p.rho, spec.seed), l1Norm: 1.5, recoveryError: 0.1, diverged: false, steps: p.steps }, { curve: [] });
  };
  // 1-SAM 5× better than ERM and 4× better than n-SAM everywhere at ρ 0.1, worse elsewhere.
  let r = fake(e, "quick", diagResult((m, rho, s) => (m === "erm" ? 0.01 : m === "n-sam" ? 0.008 : rho === 0.1 ? 0.002 * (1 + s / 10) : 0.02)));
  let j = e.judge(r, "quick");
  assert.equal(j.verdict, "reproduced", j.reason);
  assert.equal(j.numbers.rhoOneSam.value, 0.1);
  // 1-SAM barely better (ratio 1.05): not reproduced.
  r = fake(e, "quick", diagResult((m, _rho, s) => (m === "erm" ? 0.01 : m === "n-sam" ? 0.01 : 0.01 / (1.05 + s / 1000))));
  j = e.judge(r, "quick");
  assert.equal(j.verdict, "not reproduced", j.reason);
  // Much better on 3 of 5 instances only: inconclusive.
  r = fake(e, "quick", diagResult((m, _rho, s) => (m === "1-sam" ? (s < 3 ? 0.001 : 0.011) : 0.01)));
  j = e.judge(r, "quick");
  assert.equal(j.verdict, "inconclusive", j.reason);
  assert.equal(j.numbers.winsOverErm.value, 3);
  // Diverged 1-SAM everywhere: counted as losses → not reproduced.
  r = fake(e, "quick", (spec: any) => (spec.phases[0].method === "1-sam" ? task(spec, { trainLoss: null, testLoss: null, l1Norm: null, recoveryError: null, diverged: true, steps: 3 }, { curve: [] }) : diagResult(() => 0.01)(spec)));
  assert.equal(e.judge(r, "quick").verdict, "not reproduced");
});

test("switch-diagonal: both switched runs must beat ERM for 2T", () => {
  const e = experimentById("switch-diagonal")!;
  const arm = (spec: any) => spec.phases.map((p: any) => `${p.method}:${p.rho}`).join(">");
  const make = (loss: (a: string, seed: number) => number) => (spec: any) => task(spec, { trainLoss: 1e-8, testLoss: loss(arm(spec), spec.seed), l1Norm: 1.5, recoveryError: 0.1, diverged: false, steps: 20000 }, { curve: [] });
  const good = (a: string, s: number) => (a === "erm:0" ? 0.01 : a.startsWith("erm:0>1-sam") ? 0.002 + s / 1e4 : 0.003 + s / 1e4);
  assert.equal(e.judge(fake(e, "quick", make(good)), "quick").verdict, "reproduced");
  const noEscape = (a: string, s: number) => (a.startsWith("erm:0>1-sam") ? 0.012 : good(a, s));
  const j = e.judge(fake(e, "quick", make(noEscape)), "quick");
  assert.equal(j.verdict, "not reproduced", j.reason);
  assert.equal(j.numbers.winsErmToSam.value, 0);
  const weak = (a: string, s: number) => (a === "erm:0>1-sam:10" ? 0.0095 - s / 1e5 : good(a, s));
  assert.equal(e.judge(fake(e, "quick", make(weak)), "quick").verdict, "inconclusive");
});

test("relu-1d-simplicity: unfit runs make it inconclusive; fewer kinks, lower norm and less spread reproduce it", () => {
  const e = experimentById("relu-1d-simplicity")!;
  const xs = Array.from({ length: 41 }, (_, i) => -1.5 + (3 * i) / 40);
  const make = (o: { samKinks: number; samLoss: number; samSpread: number }) => (spec: any) => {
    const sam = spec.method === "sam";
    const y = xs.map((x) => Math.sin(3 * x) + (sam ? o.samSpread : 1) * 0.1 * spec.seed);
    return task(spec, { finalLoss: sam ? o.samLoss : 1e-5, steps: 1000, reachedTarget: !sam, diverged: false, kinks: sam ? o.samKinks : 40, pathNorm: sam ? 300 + spec.seed : 1000, slopeVariation: sam ? 200 : 700 }, { x: xs, y, kinks: [], curve: [] });
  };
  assert.equal(e.judge(fake(e, "quick", make({ samKinks: 20, samLoss: 1e-3, samSpread: 0.2 })), "quick").verdict, "reproduced");
  const unfit = e.judge(fake(e, "quick", make({ samKinks: 20, samLoss: 0.05, samSpread: 0.2 })), "quick");
  assert.equal(unfit.verdict, "inconclusive");
  assert.match(unfit.reason, /did not fit/);
  assert.equal(e.judge(fake(e, "quick", make({ samKinks: 45, samLoss: 1e-3, samSpread: 0.2 })), "quick").verdict, "not reproduced");
  assert.equal(e.judge(fake(e, "quick", make({ samKinks: 20, samLoss: 1e-3, samSpread: 0.9 })), "quick").verdict, "inconclusive");
});

test("label-noise: the paired difference and its CI decide", () => {
  const e = experimentById("label-noise")!;
  const make = (acc: (name: string, seed: number) => number) => trainFake((spec) => acc(spec.optimizer.name, spec.seed));
  assert.equal(e.judge(fake(e, "default", make((n, s) => (n === "sgd" ? 0.6 : 0.7 + s / 100))), "default").verdict, "reproduced");
  assert.equal(e.judge(fake(e, "default", make((n, s) => (n === "sgd" ? 0.6 : 0.58 + s / 100))), "default").verdict, "not reproduced");
  const j = e.judge(fake(e, "default", make((n, s) => (n === "sgd" ? 0.6 : [0.75, 0.55, 0.62][s]))), "default");
  assert.equal(j.verdict, "inconclusive", j.reason);
  assert.equal(j.numbers.samWins.value, 2);
});

test("label-noise's second verdict: F-SAM against SAM", () => {
  const e = experimentById("label-noise")!;
  const j = e.judge(fake(e, "default", trainFake((s) => ({ sgd: 0.6, sam: 0.7, asam: 0.7, fsam: 0.72 })[s.optimizer.name]! + s.seed / 1000)), "default");
  assert.equal(j.verdict, "reproduced");
  assert.equal(j.also?.[0].verdict, "reproduced");
  const k = e.judge(fake(e, "default", trainFake((s) => ({ sgd: 0.6, sam: 0.7, asam: 0.7, fsam: 0.69 })[s.optimizer.name]! + s.seed / 1000)), "default");
  assert.equal(k.also?.[0].verdict, "not reproduced");
});

/** Final accuracy per seed for a clear win, a clear loss and a difference whose CI straddles 0 (seed 0, 1, 2 at default). */
const WIN = [0.05, 0.06, 0.055];
const LOSS = [-0.05, -0.06, -0.055];
const STRADDLE = [0.08, -0.02, 0.01];

test("constant-rho: equivalence within ±2 points, a clear difference, or too wide", () => {
  const e = experimentById("constant-rho")!;
  // Normalized best at ρ 0.1 (0.70), unnormalized best at ρ 0.3 (0.70 + diff[seed]); other ρ lower.
  const make = (diff: number[]) => trainFake((s) => (s.optimizer.name === "sgd" ? 0.6 : s.optimizer.normalize ? (s.optimizer.rho === 0.1 ? 0.7 : 0.65) : s.optimizer.rho === 0.3 ? 0.7 + diff[s.seed] : 0.6));
  assert.equal(e.judge(fake(e, "default", make([0.001, -0.001, 0.0005])), "default").verdict, "reproduced");
  const loss = e.judge(fake(e, "default", make(LOSS)), "default");
  assert.equal(loss.verdict, "not reproduced", loss.reason);
  assert.equal(loss.numbers.rhoUnnormalized.value, 0.3);
  assert.equal(e.judge(fake(e, "default", make(STRADDLE)), "default").verdict, "inconclusive");
});

test("gradient-norm-ablation: SAM ≈ the exact penalty, or not", () => {
  const e = experimentById("gradient-norm-ablation")!;
  const make = (diff: number[]) => trainFake((s) => (s.optimizer.name === "sgd" ? 0.6 : s.optimizer.name === "sam" ? 0.7 + diff[s.seed] : 0.7));
  assert.equal(e.judge(fake(e, "default", make([0.002, 0.001, 0.0015])), "default").verdict, "reproduced");
  assert.equal(e.judge(fake(e, "default", make(WIN)), "default").verdict, "not reproduced");
  assert.equal(e.judge(fake(e, "default", make(STRADDLE)), "default").verdict, "inconclusive");
});

test("erm-sam-switch: the run ending with SAM against the run ending with ERM", () => {
  const e = experimentById("erm-sam-switch")!;
  const make = (diff: number[]) =>
    trainFake((s) => {
      const o = s.optimizer;
      if (o.name === "sgd") return 0.6;
      if (o.rhoSchedule === "erm-to-sam") return 0.65 + (o.switchEpoch === 24 ? diff[s.seed] : 0);
      return o.rhoSchedule === "sam-to-erm" ? 0.65 : 0.7;
    });
  assert.equal(e.judge(fake(e, "default", make(WIN)), "default").verdict, "reproduced");
  assert.equal(e.judge(fake(e, "default", make(LOSS)), "default").verdict, "not reproduced");
  const j = e.judge(fake(e, "default", make(STRADDLE)), "default");
  assert.equal(j.verdict, "inconclusive");
  assert.equal(j.also?.[0].verdict, "reproduced", "SAM 0.70 vs ERM 0.60 throughout");
});

test("perturbation-direction: SAM-noise against SAM-full, and the three further verdicts", () => {
  const e = experimentById("perturbation-direction")!;
  const acc = (full: number[]) => (s: RunSpec) => {
    const o = s.optimizer;
    if (o.name === "sgd") return 0.6;
    if (o.name === "sam-full") return 0.65 - full[s.seed];
    if (o.name === "sam-noise") return 0.72;
    return o.ascentBatch === "random" ? 0.6 + 0.001 * s.seed : 0.7;
  };
  const j = e.judge(fake(e, "default", trainFake(acc(WIN))), "default");
  assert.equal(j.verdict, "reproduced", j.reason);
  assert.deepEqual(j.also?.map((a) => a.verdict), ["reproduced", "reproduced", "reproduced"]);
  // SAM-full at 0.72 + 0.05: better than SAM-noise.
  assert.equal(e.judge(fake(e, "default", trainFake(acc(LOSS.map((x) => x - 0.07)))), "default").verdict, "not reproduced");
  assert.equal(e.judge(fake(e, "default", trainFake(acc(STRADDLE.map((x) => x - 0.07)))), "default").verdict, "inconclusive");
  // The oracle is stated per scale: the subset oracle at default, the exact gradient every step at full.
  assert.match(e.scales.default, /2048-image subset every 10 steps/);
  assert.match(e.scales.full, /exact full gradient every step/);
  const full = e.specs("full").find((x: any) => x.optimizer.name === "sam-full") as any;
  assert.equal(full.optimizer.fullGradSize, full.data.trainSize);
  assert.equal(full.optimizer.fullGradEvery, 1);
});

test("fsam-rho-robustness: F-SAM − SAM averaged over the ρ grid and over batch sizes", () => {
  const e = experimentById("fsam-rho-robustness")!;
  const make = (diff: number[]) => trainFake((s) => (s.optimizer.name === "fsam" ? 0.7 + diff[s.seed] : 0.7 - (s.optimizer.rho as number) / 10));
  // SAM degrades with ρ (0.7 − ρ/10); F-SAM does not: averaged over the grid, F-SAM is ahead by mean(ρ)/10 + diff.
  const j = e.judge(fake(e, "default", make([0, 0, 0.001])), "default");
  assert.equal(j.verdict, "reproduced", j.reason);
  assert.equal(e.judge(fake(e, "default", make(LOSS.map((x) => x - 0.03))), "default").verdict, "not reproduced");
  assert.equal(e.judge(fake(e, "default", make(STRADDLE.map((x) => x - 0.02))), "default").verdict, "inconclusive");
  assert.deepEqual(e.specs("default").map((x: any) => x.batchSize).filter((b: number, i: number, a: number[]) => a.indexOf(b) === i).sort((a: number, b: number) => a - b), [64, 128, 256]);
});

test("m-sharpness: the smallest m against n-SAM, and the further verdicts", () => {
  const e = experimentById("m-sharpness")!;
  const acc = (diff: number[]) => (s: RunSpec) => {
    const o = s.optimizer;
    if (o.name === "sgd" || o.name === "random-perturbation") return 0.6 + 0.001 * s.seed;
    if (o.ascentBatch === "previous") return 0.6 + 0.0005 * s.seed;
    return o.m === 8 ? 0.7 + diff[s.seed] : 0.66;
  };
  const j = e.judge(fake(e, "default", trainFake(acc(WIN))), "default");
  assert.equal(j.verdict, "reproduced", j.reason);
  assert.deepEqual(j.also?.map((a) => a.verdict), ["reproduced", "reproduced", "reproduced"]);
  assert.equal(e.judge(fake(e, "default", trainFake(acc(LOSS.map((x) => x - 0.1)))), "default").verdict, "not reproduced");
  assert.equal(e.judge(fake(e, "default", trainFake(acc(STRADDLE.map((x) => x - 0.1)))), "default").verdict, "inconclusive");
  // The random perturbation has E‖ε‖ = ρ: σ = ρ/√P with P = 795·256 + 10 parameters.
  const rnd = e.specs("default").find((x: any) => x.optimizer.name === "random-perturbation") as any;
  assert.ok(Math.abs(rnd.optimizer.sigma * Math.sqrt(795 * 256 + 10) - 0.1) < 1e-6);
});

test("reparameterization: judged on the measurements of the trained models", () => {
  const e = experimentById("reparameterization")!;
  const r = resultsFrom(new Map());
  /** Rows for seeds 0-2, both models, a ∈ {1, 0.2, 5}: λ_max and ℓ2 scale by `move`^±1, adaptive constant. */
  const rows = (o: { move: number; change?: number; samL2: number }) =>
    [0, 1, 2].flatMap((seed) =>
      (["sgd", "sam"] as const).flatMap((arm) =>
        [1, 0.2, 5].map((a) => {
          const f = a === 1 ? 1 : a === 5 ? o.move : 1 / o.move;
          return { seed, arm, a, loss: 1, outputChange: a === 1 ? 0 : (o.change ?? 1e-6), l2: (arm === "sgd" ? 1 : o.samL2) * f, adaptive: arm === "sgd" ? 2 : 1, lambdaMax: 10 * f };
        }),
      ),
    );
  assert.equal(e.judge(r, "default", { rows: rows({ move: 20, samL2: 0.5 }) } as any).verdict, "reproduced");
  assert.equal(e.judge(r, "default", { rows: rows({ move: 20, samL2: 0.5, change: 1e-2 }) } as any).verdict, "inconclusive", "a changed function is not a reparameterization");
  assert.equal(e.judge(r, "default", { rows: rows({ move: 1.1, samL2: 0.5 }) } as any).verdict, "not reproduced");
  const j = e.judge(r, "default", { rows: rows({ move: 20, samL2: 0.5 }) } as any);
  assert.equal(j.numbers.orderingReversed.value, 3);
  assert.equal(j.numbers.adaptiveOrderingKept.value, 3);
});

test("Kendall's τ-b by hand, and its bootstrap interval", () => {
  // x = [1, 2, 3, 4], y = [1, 3, 2, 4]: 5 concordant pairs, 1 discordant → τ = (5 − 1)/6.
  assert.ok(Math.abs(kendallTau([1, 2, 3, 4], [1, 3, 2, 4]) - 4 / 6) < 1e-12);
  assert.equal(kendallTau([1, 2, 3], [3, 2, 1]), -1);
  // Ties: x = [1, 1, 2], y = [1, 2, 3]: c = 2, d = 0, one pair tied in x only → τ-b = 2/√(2·3).
  assert.ok(Math.abs(kendallTau([1, 1, 2], [1, 2, 3]) - 2 / Math.sqrt(6)) < 1e-12);
  const m = kendallCi([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 8, 7], "τ");
  assert.ok(m.value! > 0.9 && m.lo! > 0 && m.hi! <= 1);
});

test("sharpness-vs-generalization: judged on the measured sharpness of the trained models", () => {
  const e = experimentById("sharpness-vs-generalization")!;
  const specs = e.specs("default") as RunSpec[];
  const accuracy = (i: number) => 0.6 + 0.01 * i;
  const r = fake(e, "default", trainFake((s) => accuracy(specs.findIndex((x) => anyRunKey(x) === anyRunKey(s)))));
  // Sharpness falling with accuracy (rising with error) for the small m; unrelated for the large one.
  const models = (small: (i: number) => number) => ({ models: specs.map((s, i) => ({ key: anyRunKey(s), label: "", seed: s.seed, small: small(i), large: (i * 7) % 5 })) }) as any;
  assert.equal(e.judge(r, "default", models((i) => 10 - 0.3 * i)).verdict, "reproduced");
  assert.equal(e.judge(r, "default", models((i) => 1 + 0.3 * i)).verdict, "not reproduced");
  assert.equal(e.judge(r, "default", models((i) => [3, 1, 2][i % 3] - 0.01 * i)).verdict, "inconclusive");
});

test("verdicts are the three words", () => {
  assert.deepEqual([...VERDICTS], ["reproduced", "not reproduced", "inconclusive"]);
});

// ---------------------------------------------------------------- part 2: 003 Fig 2c and the review's audit

/** A training result with the given final test and validation accuracies. */
const valFake = (acc: (spec: RunSpec) => { test: number; val?: number }) => (spec: RunSpec) => {
  const r = trainFake((s) => acc(s).test)(spec);
  const v = acc(spec).val;
  if (v !== undefined) Object.assign(r.metrics, { validationAccuracy: v, bestValidationAccuracy: v, testAccuracyAtBestValidation: acc(spec).test });
  return r;
};

test("perturbation-batch: the least-squares slope over log₂ |B'| decides; SAM vs the largest B' is a second verdict", async () => {
  const { slope } = await import("../../src/experiments/perturbation-batch.js");
  assert.equal(slope([0, 1, 2], [1, 3, 5]), 2); // y = 1 + 2x exactly
  const e = experimentById("perturbation-batch")!;
  const size = (s: RunSpec) => (s.optimizer.name === "sgd" ? 0 : ((s.optimizer.ascentBatchSize as number | undefined) ?? s.batchSize));
  const make = (perDoubling: number[]) => fake(e, "default", trainFake((s) => (s.optimizer.name === "sgd" ? 0.6 : 0.7 + perDoubling[s.seed] * Math.log2(size(s)))));
  const falling = e.judge(make([-0.01, -0.012, -0.011]), "default");
  assert.equal(falling.verdict, "reproduced", falling.reason);
  assert.ok(Math.abs(falling.numbers.slope.value! + 0.011) < 1e-12); // mean of the three slopes
  assert.equal(falling.also?.[0].verdict, "reproduced");
  assert.equal(e.judge(make([0.01, 0.012, 0.011]), "default").verdict, "not reproduced");
  assert.equal(e.judge(make([-0.03, 0.02, -0.005]), "default").verdict, "inconclusive");
});

test("batchnorm-perturbation: a clear difference either way reproduces it; equivalence within ±1 point does not", () => {
  const e = experimentById("batchnorm-perturbation")!;
  const make = (d: number[]) => fake(e, "default", trainFake((s) => (s.optimizer.name === "sgd" ? 0.6 : 0.7 + (s.optimizer.bnStats === "perturbed" ? d[s.seed] : 0))));
  assert.equal(e.judge(make(WIN), "default").verdict, "reproduced");
  assert.equal(e.judge(make(LOSS), "default").verdict, "reproduced");
  assert.equal(e.judge(make([0.001, -0.001, 0.0005]), "default").verdict, "not reproduced");
  assert.equal(e.judge(make(STRADDLE), "default").verdict, "inconclusive");
  // every spec has BatchNorm; the perturbed arm says so in its spec
  for (const s of e.specs("default") as RunSpec[]) assert.equal(s.model.batchNorm, true);
});

test("rho-selection-cost: the optimism of the test-set choice, paired by seed", () => {
  const e = experimentById("rho-selection-cost")!;
  // Validation prefers ρ 0.05; the test set prefers ρ 0.2, by gap[seed].
  const make = (gap: number[], valBest = 0.05) =>
    fake(e, "default", valFake((s) => {
      const rho = s.optimizer.rho as number;
      return { val: rho === valBest ? 0.3 : 0.25, test: rho === 0.2 ? 0.7 + gap[s.seed] : 0.7 };
    }));
  const j = e.judge(make([0.02, 0.03, 0.025]), "default");
  assert.equal(j.verdict, "reproduced", j.reason);
  assert.equal(j.numbers.rhoVal.value, 0.05);
  assert.equal(j.numbers.rhoTest.value, 0.2);
  assert.ok(Math.abs(j.numbers.optimism.value! - 0.025) < 1e-12);
  assert.equal(e.judge(make([0.02, 0.03, 0.025], 0.2), "default").verdict, "not reproduced", "validation finds the test-best ρ");
  assert.equal(e.judge(make([0.06, -0.05, 0.01]), "default").verdict, "inconclusive");
});

test("compute-matched-baseline: how much of SAM's gain survives a tuned, compute-matched SGD", () => {
  const e = experimentById("compute-matched-baseline")!;
  // SAM (ρ 0.2 best on validation) at 0.70 + noise; plain SGD 0.60; SGD with 2× epochs by config.
  const make = (o: { plain: number; tunedTest: (seed: number) => number }) =>
    fake(e, "default", valFake((s) => {
      const noise = s.seed / 1000;
      if (s.optimizer.name === "sam") return { val: s.optimizer.rho === 0.2 ? 0.3 : 0.2, test: 0.7 + noise };
      if (s.epochs === 30) return { test: o.plain + noise };
      const cosine = s.optimizer.base.lrSchedule === "cosine" && s.optimizer.base.lr === 0.1 && s.optimizer.base.clipNorm === undefined;
      return { val: cosine ? 0.29 : 0.2, test: cosine ? o.tunedTest(s.seed) : 0.6 };
    }));
  const most = e.judge(make({ plain: 0.6, tunedTest: (seed) => 0.68 + seed / 1000 }), "default");
  assert.equal(most.verdict, "reproduced", most.reason); // 2 of the 10 points remain
  assert.equal(most.numbers.rhoVal.value, 0.2);
  const kept = e.judge(make({ plain: 0.6, tunedTest: (seed) => 0.61 + seed / 2000 }), "default");
  assert.equal(kept.verdict, "not reproduced", kept.reason); // ≈ 9 of 10 points remain, tight CI
  const noGain = e.judge(make({ plain: 0.7, tunedTest: () => 0.6 }), "default");
  assert.equal(noGain.verdict, "inconclusive");
  assert.match(noGain.reason, /no gain to explain/);
  const straddle = e.judge(make({ plain: 0.6, tunedTest: (seed) => [0.70, 0.62, 0.64][seed] }), "default");
  assert.equal(straddle.verdict, "inconclusive", straddle.reason);
  // the tuned SGD runs have a validation split; nothing is tuned on the test set
  for (const s of e.specs("default") as RunSpec[]) if (s.epochs === 60 || s.optimizer.name === "sam") assert.equal(s.data.validationSize, 1000);
});

test("erm-sam-switch's Fig 10: the barrier over the chord on α ∈ [0, 1] decides the basin sub-verdict", async () => {
  const { barriers } = await import("../../src/experiments/erm-sam-switch.js");
  const line = (seed: number, bump: number) =>
    [-0.5, 0, 0.25, 0.5, 0.75, 1, 1.5].map((alpha) => ({ seed, alpha, trainLoss: 1 - 0.2 * alpha + bump * Math.max(0, 1 - Math.abs(alpha - 0.5) * 4), testLoss: 1, testAccuracy: 0.5 }));
  // chord at α 0.5 is 0.9; bump 0.3 lifts it to 1.2: barrier 0.3, relative to max(1, 0.8) = 0.3
  const [b] = barriers(line(0, 0.3));
  assert.ok(Math.abs(b.barrier - 0.3) < 1e-12 && Math.abs(b.relative - 0.3) < 1e-12);
  assert.equal(barriers(line(0, 0))[0].barrier, 0);
  const e = experimentById("erm-sam-switch")!;
  const r = fake(e, "default", trainFake((s) => 0.6 + s.seed / 100));
  const basin = (bumps: number[]) => e.judge(r, "default", { rows: bumps.flatMap((x, seed) => line(seed, x)) } as any).also!.find((a) => /basin/.test(a.claim))!.verdict;
  assert.equal(basin([0, 0.01, 0.02]), "reproduced");
  assert.equal(basin([0, 0.01, 0.3]), "not reproduced");
  assert.equal(basin([0.1, 0.01, 0.02]), "inconclusive");
});
