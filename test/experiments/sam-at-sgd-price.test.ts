/**
 * sam-at-sgd-price: the equal-time budget (epochs per arm from the cost model) and the verdict
 * rule on constructed results; its real runs at quick scale go through test/cli/reproduce.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ARMS, COST, budget, epochsOf, runsAtSameEpochs, runsOf, sameEpochArms, samAtSgdPrice as e, standing } from "../../src/experiments/sam-at-sgd-price.js";
import { SCALES, type Measured, type Scale } from "../../src/experiments/experiment.js";
import { anyRunKey } from "../../src/experiments/tasks.js";
import { fakeResults, trainFake } from "./fakes.js";

const arm = (id: string) => ARMS.find((a) => a.id === id)!;

test("each arm gets the epochs whose planned cost is nearest the budget (SAM's time at the setting's epochs)", () => {
  // Default: budget = 30 SAM epochs × 1.87 = 56.1 SGD epochs.
  assert.ok(Math.abs(budget("default") - 30 * COST.sam) < 1e-12);
  assert.equal(epochsOf(arm("sam"), "default"), 30);
  assert.equal(epochsOf(arm("sgd"), "default"), 56); // round(56.1)
  assert.equal(epochsOf(arm("esam"), "default"), 23); // 56.1 / 2.41 = 23.28
  // SAM in the last 25%: E = 46 → round(34.5) = 35 SGD epochs + 11 SAM epochs = 35 + 20.57 = 55.57
  // (E = 47: 35 + 12 × 1.87 = 57.44, farther); SAM from epoch 36.
  assert.equal(epochsOf(arm("last25"), "default"), 46);
  const [last] = runsOf(arm("last25"), "default");
  assert.equal(last.optimizer.switchEpoch, 36);
  assert.equal(last.optimizer.rhoSchedule, "erm-to-sam");
  // MESA: 6 epochs before its term at 1.08, then 1.49: E = 39 → 6.48 + 33 × 1.49 = 55.65.
  assert.equal(epochsOf(arm("mesa"), "default"), 39);
  for (const s of SCALES)
    for (const a of ARMS) {
      const E = epochsOf(a, s);
      const b = budget(s);
      // Nearest: neither one epoch more nor one fewer is closer.
      assert.ok(Math.abs(a.cost(s, E) - b) <= Math.abs(a.cost(s, E + 1) - b) && (E === 1 || Math.abs(a.cost(s, E) - b) <= Math.abs(a.cost(s, E - 1) - b)), `${a.id} at ${s}`);
      for (const spec of runsOf(a, s)) assert.equal(spec.epochs, E);
    }
});

test("the specs: every arm on every seed, plus SGD at the setting's epochs; the arms' own settings", () => {
  for (const s of SCALES) assert.equal(e.specs(s).length, (ARMS.length + 1 + sameEpochArms(s).length) * runsOf(arm("sgd"), s).length);
  // The supplementary arms at SAM's epochs: all but SGD and SAM at default; SAM in the last 25% of 30 epochs switches at 24.
  assert.deepEqual(sameEpochArms("default").map((a) => a.id), ["looksam", "every4", "last25", "msam", "saf", "mesa", "esam"]);
  assert.deepEqual(sameEpochArms("quick"), []);
  assert.equal(runsAtSameEpochs(arm("last25"), "default")[0].optimizer.switchEpoch, 24);
  assert.equal(runsAtSameEpochs(arm("msam"), "default")[0].epochs, 30);
  assert.equal(runsOf(arm("sgd"), "default").length, 5);
  const [mesa] = runsOf(arm("mesa"), "default");
  assert.equal(mesa.optimizer.decay, 0.998);
  assert.equal(mesa.optimizer.startEpoch, 7);
  assert.equal(runsOf(arm("saf"), "quick")[0].optimizer.startEpoch, 2);
  assert.equal(runsOf(arm("every4"), "default")[0].optimizer.everyK, 4);
});

const m = (value: number, lo: number, hi: number): Measured => ({ value, lo, hi, n: 5, what: "" });

test("standing: keeps, loses or unclear, at the rule's boundaries", () => {
  const cases: [Measured, Measured, string][] = [
    [m(0.05, 0.01, 0.09), m(-0.01, -0.03, 0.01), "keeps"], // beats SGD, CI of − SAM reaches 0
    [m(0.05, 0.01, 0.09), m(-0.01, -0.03, 0), "keeps"], // upper bound exactly 0
    [m(0.05, 0.01, 0.09), m(-0.02, -0.03, -0.001), "loses"], // clearly worse than SAM
    [m(0, -0.01, 0.01), m(0, -0.01, 0.01), "loses"], // mean − SGD ≤ 0
    [m(-0.01, -0.03, 0.01), m(0.01, -0.01, 0.03), "loses"],
    [m(0.05, -0.01, 0.11), m(0, -0.02, 0.02), "unclear"], // ahead of SGD, CI includes 0
  ];
  for (const [vsSgd, vsSam, want] of cases) assert.equal(standing(vsSgd, vsSam), want, JSON.stringify([vsSgd, vsSam]));
});

/** Results where arm `id` at seed s has final test accuracy acc(id, s), at equal time and at SAM's epochs alike ("sgd30": SGD at the setting's epochs). */
function fake(scale: Scale, acc: (id: string, seed: number) => number) {
  const idOf = new Map<string, string>();
  for (const a of ARMS) for (const s of runsOf(a, scale)) idOf.set(anyRunKey(s), a.id);
  for (const a of sameEpochArms(scale)) for (const s of runsAtSameEpochs(a, scale)) idOf.set(anyRunKey(s), a.id);
  return fakeResults(e, scale, trainFake((spec) => acc(idOf.get(anyRunKey(spec)) ?? "sgd30", spec.seed)));
}
const jitter = (s: number) => [0.001, -0.002, 0.0015, -0.001, 0.0005][s];

test("the verdict: a cheap arm keeps the gain, none does, or there is no gain to keep", () => {
  // SAM +10 points over equal-time SGD; MSAM level with SAM (CI of − SAM around 0): kept.
  const kept = e.judge(fake("default", (id, s) => (id === "sam" ? 0.6 : id === "msam" ? 0.6 + jitter(s) : 0.5)), "default");
  assert.equal(kept.verdict, "reproduced", kept.reason);
  assert.match(kept.reason, /MSAM/);
  assert.equal(kept.also?.find((x) => x.claim.startsWith("MSAM"))?.verdict, "reproduced");
  assert.equal(kept.also?.find((x) => x.claim.startsWith("SAF"))?.verdict, "not reproduced");
  // The supplementary arms at SAM's epochs, outside the verdict: MSAM there too at SAM's level, kept; the rest at SGD's, lost.
  const supp = kept.also!.filter((x) => x.claim.startsWith("Supplementary"));
  assert.equal(supp.length, 7);
  assert.deepEqual(supp.map((x) => x.verdict), supp.map((x) => (x.claim.includes("MSAM") ? "reproduced" : "not reproduced")));
  // Every cheap arm at SGD's level or clearly below SAM: not reproduced; ESAM keeping it does not count (costlier than SAM).
  const lost = e.judge(fake("default", (id, s) => (id === "sam" || id === "esam" ? 0.6 : id === "sgd" || id === "sgd30" ? 0.5 : 0.55 + jitter(s))), "default");
  assert.equal(lost.verdict, "not reproduced", lost.reason);
  for (const id of ["looksam", "every4", "last25", "msam", "saf", "mesa"]) assert.match(lost.reason, new RegExp(`${id} − SGD`), `${id} counts as cheap`);
  // MSAM 0.5 points below SAM on every seed: clearly worse (the CI of − SAM lies below 0), lost.
  const below = e.judge(fake("default", (id, s) => (id === "sam" ? 0.6 : id === "msam" ? 0.595 + jitter(s) : 0.5)), "default");
  assert.equal(below.verdict, "not reproduced", below.reason);
  assert.equal(lost.also?.find((x) => x.claim.startsWith("ESAM"))?.verdict, "reproduced");
  assert.match(lost.also!.find((x) => x.claim.startsWith("ESAM"))!.claim, /not cheaper than SAM/);
  // SAM no better than equal-time SGD: inconclusive whatever the others do.
  const none = e.judge(fake("default", (id, s) => (id === "sam" ? 0.5 + jitter(s) : 0.5)), "default");
  assert.equal(none.verdict, "inconclusive");
  assert.match(none.reason, /no gain to keep/);
  // A cheap arm ahead of SGD with a CI including 0, none keeping: inconclusive.
  const wide = e.judge(fake("default", (id, s) => (id === "sam" ? 0.6 : id === "looksam" ? 0.5 + [0.09, -0.02, 0.08, -0.01, 0.06][s] : 0.5)), "default");
  assert.equal(wide.verdict, "inconclusive", wide.reason);
  assert.match(wide.reason, /LookSAM/);
  assert.ok(Math.abs(wide.numbers.samMinusSgd.value! - 0.1) < 1e-9);
});
