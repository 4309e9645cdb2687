/**
 * ASAM — Adaptive SAM (Kwon et al., ICML 2021; seed 000), following SamsungLabs/ASAM.
 *
 *   T = |w| + η  (element-wise, on the adaptive leaves; T = 1 on the others)
 *   ε = ρ T² g / (‖T g‖₂ + 1e-12)
 *   w ← base step with ∇L_B(w + ε), taken at w
 *
 * With T ≡ 1 this is SAM. η = 0 on all leaves is the `adaptive=True` form of davda54/sam and
 * nblt/F-SAM; η = 0.01 is the ASAM paper's default. The official code scales only parameters
 * whose name contains "weight" (not biases, not BatchNorm); `adaptiveLeaves` expresses that:
 * a predicate on the dotted leaf path (e.g. `(path) => path.endsWith(".w")`). Default: all
 * leaves. We use eps 1e-12 (the official code adds 1e-16).
 *
 * Defaults: rho 0.5, eta 0.01 (ASAM paper, CIFAR-10).
 */
import "../engine/polyfills.js";
import { numpy as np, tree } from "@jax-js/jax";
import type { GradientTransformation, Params } from "../optim/types.js";
import { EPS, leafPaths, treeNorm, type Scalar } from "../engine/tree.js";
import { resolveOptions, type Descriptor } from "../optim/hyper.js";
import { checkRho, rhoAt, rhoPhases, type Rho, rhoHyper } from "./rho.js";
import { makeSharpnessAware, noExtraState, type SharpnessAwareOptimizer, type SharpnessState, CORE_OPTIONS, type CoreOptions } from "./core.js";

/**
 * Options of {@link asam} (and every optimizer's {@link CoreOptions}); each default is the one stated.
 *
 * @example
 * ```ts
 * const o: AsamOptions = { rho: 1, eta: 0.01, adaptiveLeaves: (path) => path.endsWith(".w") };
 * const opt = asam(sgd({ learningRate: 0.1 }), o);
 * ```
 */
export interface AsamOptions extends CoreOptions {
  /** Radius ρ ≥ 0 or a ρ schedule. Default 0.5. */
  rho?: Rho;
  /** η ≥ 0 in T = |w| + η. Default 0.01. */
  eta?: number;
  /** Which leaves get T = |w| + η (dotted path predicate). Default: all. */
  adaptiveLeaves?: (path: string) => boolean;
}

/**
 * ASAM's hyperparameters, declared once (adaptiveLeaves, a function, is not a hyperparameter). The factory validates its options with it ({@link resolveOptions}); the
 * run registry derives flags, spec checks and docs from it.
 *
 * @example
 * ```ts
 * for (const [k, h] of Object.entries(asamDescriptor.params)) console.log(k, h.default, h.doc);
 * ```
 */
export const asamDescriptor = {
  name: "asam",
  fn: "asam",
  label: "ASAM",
  paper: "Kwon et al., ICML 2021 (SamsungLabs/ASAM)",
  params: {
    rho: rhoHyper(0.5),
    eta: { type: "number", default: 0.01, min: 0, symbol: "η", doc: "η in T = |w| + η" },
  },
} as const satisfies Descriptor;

/** The state of {@link asam}: the base optimizer's, the step count and the skipped-step count (ASAM keeps nothing of its own). */
export type AsamState<BS = unknown> = SharpnessState<BS, Record<string, never>>;

export function checkAdaptiveLeaves(owner: string, f: unknown): ((path: string) => boolean) | undefined {
  if (f !== undefined && typeof f !== "function") throw new RangeError(`${owner}: adaptiveLeaves must be a function (path) => boolean (got ${String(f)})`);
  return f as ((path: string) => boolean) | undefined;
}

/**
 * `ρ T² d / (‖T d‖₂ + 1e-12)` with `T = |w| + η` on the selected leaves, 1 elsewhere.
 * Consumes `d`, `params` (and `rho` when an array). Shared by ASAM and F-SAM's adaptive form.
 *
 * @example
 * ```ts
 * const eps = adaptivePerturbation(g, tree.ref(params), 0.5, 0.01); // ASAM's ε on every leaf
 * ```
 */
export function adaptivePerturbation(d: Params, params: Params, rho: Scalar, eta: number, adaptiveLeaves?: (path: string) => boolean): Params {
  const paths = leafPaths(params);
  const [dl, def] = tree.flatten(d) as [np.Array[], any];
  const wl = tree.leaves(params) as np.Array[];
  const ts: (np.Array | null)[] = wl.map((w, i) => {
    if (adaptiveLeaves && !adaptiveLeaves(paths[i])) {
      w.dispose();
      return null;
    }
    return np.abs(w).add(eta);
  });
  const td = dl.map((x, i) => (ts[i] ? x.mul(ts[i]!.ref) : x));
  const scale = np.divide(rho, treeNorm(td.map((x) => x.ref)).add(EPS)); // consumes rho
  const eps = td.map((x, i) => (ts[i] ? x.mul(ts[i]!) : x).mul(scale.ref));
  scale.dispose();
  return tree.unflatten(def, eps) as Params;
}

/**
 * Wrap `base` with ASAM (Kwon et al., ICML 2021): T = |w| + η element-wise on the adaptive
 * leaves (1 on the others), ε = ρ T² g / (‖T g‖₂ + 1e-12), then the base step with
 * ∇L_B(w + ε) at w. T ≡ 1 is SAM. Defaults: rho 0.5, eta 0.01, adaptiveLeaves all leaves (the
 * official code: weights only, `(path) => path.endsWith(".w")`).
 * Consumes what every sharpness-aware optimizer's `init` and `step` consume (see
 * {@link SharpnessAwareOptimizer}); options are validated when it is built (`RangeError` naming
 * the option).
 *
 * @example
 * ```ts
 * const opt = asam(sgd({ learningRate: 0.1 }), { rho: 0.5, eta: 0.01 });
 * ```
 */
export function asam<BS>(base: GradientTransformation<BS>, options: AsamOptions = {}): SharpnessAwareOptimizer<AsamState<BS>> {
  const { rho, eta, adaptiveLeaves } = resolveOptions(asamDescriptor, options, [...CORE_OPTIONS, "adaptiveLeaves"]) as AsamOptions & { rho: Rho; eta: number };
  checkRho("asam", rho);
  checkAdaptiveLeaves("asam", adaptiveLeaves);
  return makeSharpnessAware<BS, Record<string, never>>(base, {
    name: "asam",
    ...rhoPhases(rho),
    initExtra: noExtraState,
    perturb(g, params, extra, count) {
      return [adaptivePerturbation(g, params, rhoAt(rho, count), eta, adaptiveLeaves), extra];
    },
  }, undefined, options);
}
