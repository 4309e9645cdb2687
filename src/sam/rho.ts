/**
 * ρ schedules (002 Fig 8, 9, 21; 003 Thm 2): ρ as a function of the step.
 *
 *   constant            ρ(t) = ρ
 *   rhoInvSqrt(ρ0)      ρ(t) = ρ0 / √(t + 1)                 (003 Thm 2: ρ0/√t, 1-based)
 *   rhoFollowLr(ρ0, η)  ρ(t) = ρ0 · η(t) / η(0)              (tied to the learning rate, as GSAM)
 *   rhoSwitch(ρ, at)    ERM→SAM: ρ(t) = 0 for t < at, then ρ; SAM→ERM: ρ, then 0 (002 §4.3)
 *   rhoEvery(ρ, k)      ρ on every k-th step (t mod k = 0), 0 (the base optimizer, one pass)
 *                       on the others: "SAM every k-th step", the hand-rolled way to SAM's gain
 *                       at less than its 2× cost
 *
 * A schedule carries two faces: `value(count)` in-graph (array math, for jit) and `zeroAt(t)`
 * on the host, which the optimizer's `phase(t)` uses: where ρ(t) = 0 the step is the base
 * optimizer's and costs one pass — a separately compiled step, not a branch in the graph.
 */
import "../engine/polyfills.js";
import { numpy as np } from "@jax-js/jax";
import type { Schedule } from "../optim/types.js";
import { checkNumber, checkOneOf } from "../optim/validate.js";
import type { NumberHyper } from "../optim/hyper.js";

/** ρ as every radius-based descriptor declares it; `schedule: false` for variants that need a constant. */
export function rhoHyper(defaultRho: number, { schedule = true } = {}) {
  return { type: "number", default: defaultRho, min: 0, schedule, symbol: "ρ", doc: schedule ? "perturbation radius ρ (or a ρ schedule)" : "perturbation radius ρ (constant)" } as const satisfies NumberHyper;
}

/**
 * A ρ schedule: ρ as a function of the step, with an in-graph face (`value`, for jit) and a
 * host face (`zeroAt`, for the phases: where ρ(t) = 0 the step is the base optimizer's one-pass
 * step). Made by {@link rhoInvSqrt}, {@link rhoFollowLr}, {@link rhoSwitch} and {@link rhoEvery}.
 *
 * @example
 * ```ts
 * const opt = sam(sgd({ learningRate: 0.1 }), { rho: rhoInvSqrt(0.1) });
 * ```
 */
export type RhoSchedule = {
  /** The tag that tells a schedule from a number. */
  readonly kind: "rho-schedule";
  /** ρ at the step count (0-d int32, consumed), as a 0-d float array. */
  value(count: np.Array): np.Array;
  /** Host side: is ρ(t) exactly 0 at step t (0-based)? */
  zeroAt(t: number): boolean;
  /** For reports. */
  readonly describe: string;
};

/**
 * A radius option: a constant ρ ≥ 0 or a {@link RhoSchedule}.
 *
 * @example
 * ```ts
 * const constant: Rho = 0.05;
 * const decaying: Rho = rhoInvSqrt(0.1);
 * ```
 */
export type Rho = number | RhoSchedule;

/**
 * ρ(t) = ρ0 / √(t + 1) (003 Thm 2's ρ0/√t with 1-based steps), t the step count. `rho0` ≥ 0
 * (validated). `value` consumes its count.
 *
 * @example
 * ```ts
 * const opt = sam(sgd({ learningRate: 0.1 }), { rho: rhoInvSqrt(0.2) }); // ρ 0.2, 0.141, 0.115, …
 * ```
 */
export function rhoInvSqrt(rho0: number): RhoSchedule {
  checkNumber("rhoInvSqrt", "rho0", rho0, { lo: 0 });
  return {
    kind: "rho-schedule",
    value: (c) => np.reciprocal(np.sqrt(c.astype(np.float32).add(1))).mul(rho0),
    zeroAt: () => rho0 === 0,
    describe: `${rho0}/sqrt(t+1)`,
  };
}

/**
 * ρ(t) = ρ0 · η(t)/η(0) for a learning-rate schedule η with η(0) = `lr0` (host-known, > 0),
 * so ρ decays with the learning rate (as GSAM). `rho0` ≥ 0. `value` consumes its count.
 *
 * @example
 * ```ts
 * const lr = cosineDecaySchedule({ initValue: 0.1, decaySteps: 10_000 });
 * const opt = sam(sgd({ learningRate: lr }), { rho: rhoFollowLr(0.05, lr, 0.1) });
 * ```
 */
export function rhoFollowLr(rho0: number, lr: Schedule, lr0: number): RhoSchedule {
  checkNumber("rhoFollowLr", "rho0", rho0, { lo: 0 });
  checkNumber("rhoFollowLr", "lr0", lr0, { lo: 0, loOpen: true });
  return { kind: "rho-schedule", value: (c) => lr(c).mul(rho0 / lr0), zeroAt: () => rho0 === 0, describe: `${rho0}·lr(t)/${lr0}` };
}

/**
 * Switch between ERM and SAM at step `at` (002 §4.3): `"erm-to-sam"` (default) has ρ(t) = 0
 * for t < at, then ρ; `"sam-to-erm"` has ρ for t < at, then 0. The ρ = 0 steps are the base
 * optimizer's one-pass steps. `rho` ≥ 0 and the integer `at` ≥ 0 are validated.
 *
 * @example
 * ```ts
 * const opt = sam(sgd({ learningRate: 0.05 }), { rho: rhoSwitch(0.1, 3000) }); // ERM, then SAM from step 3000
 * ```
 */
export function rhoSwitch(rho: number, at: number, direction: "erm-to-sam" | "sam-to-erm" = "erm-to-sam"): RhoSchedule {
  checkNumber("rhoSwitch", "rho", rho, { lo: 0 });
  checkNumber("rhoSwitch", "at", at, { lo: 0, integer: true });
  checkOneOf("rhoSwitch", "direction", direction, ["erm-to-sam", "sam-to-erm"]);
  const on = (t: number) => (direction === "erm-to-sam" ? t >= at : t < at);
  return {
    kind: "rho-schedule",
    value: (c) => {
      const active = direction === "erm-to-sam" ? c.greaterEqual(at) : c.less(at);
      return np.where(active, rho, 0).astype(np.float32);
    },
    zeroAt: (t) => rho === 0 || !on(t),
    describe: `${direction} at step ${at} (ρ ${rho})`,
  };
}

/**
 * ρ on steps t with t mod k = 0, else 0. Acts through the phases (`phasedStep`, the trainer):
 * in-graph it is the constant ρ, and the steps in between are compiled as the base optimizer's
 * one-pass step. k = 1 is SAM.
 *
 * `rho` ≥ 0 and the integer `k` ≥ 1 are validated.
 *
 * @example
 * ```ts
 * sam(sgd({ learningRate: 0.1 }), { rho: rhoEvery(0.1, 4) }) // SAM on one step in 4
 * ```
 */
export function rhoEvery(rho: number, k: number): RhoSchedule {
  checkNumber("rhoEvery", "rho", rho, { lo: 0 });
  checkNumber("rhoEvery", "k", k, { lo: 1, integer: true });
  return {
    kind: "rho-schedule",
    value: (c) => {
      c.dispose();
      return np.array(rho);
    },
    zeroAt: (t) => rho === 0 || t % k !== 0,
    describe: `ρ ${rho} every ${k} steps`,
  };
}

/** Validate a ρ option: a number ≥ 0 or a schedule. */
export function checkRho(owner: string, rho: unknown): Rho {
  if (typeof rho === "object" && rho !== null && (rho as RhoSchedule).kind === "rho-schedule") return rho as RhoSchedule;
  return checkNumber(owner, "rho", rho, { lo: 0 });
}

/** ρ at `count` (consumed): the number itself, or the schedule's array. */
export function rhoAt(rho: Rho, count: np.Array): number | np.Array {
  if (typeof rho === "number") {
    count.dispose();
    return rho;
  }
  return rho.value(count);
}

/** The phase for host step t: "base" where ρ(t) = 0 (one pass), else "step". */
export function rhoPhase(rho: Rho, t: number): string {
  return (typeof rho === "number" ? rho === 0 : rho.zeroAt(t)) ? "base" : "step";
}

/** Is ρ identically 0 (the whole optimizer is its base)? */
export function rhoIsZero(rho: Rho): boolean {
  return typeof rho === "number" && rho === 0;
}

/**
 * The parts of a variant that a ρ (number or schedule) decides: trivial when ρ ≡ 0, a "base"
 * phase (one pass, no perturbation) wherever ρ(t) = 0. Spread into a `Perturbation`.
 */
export function rhoPhases(rho: Rho): { trivial: boolean; phase: (t: number) => string; secondPass: (phase: string) => boolean } {
  return { trivial: rhoIsZero(rho), phase: (t) => rhoPhase(rho, t), secondPass: (phase) => phase !== "base" };
}
