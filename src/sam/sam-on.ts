/**
 * SAM-ON — SAM on the normalization layers only (Mueller, Vlaar, Rolnick & Hein, NeurIPS 2023,
 * "Normalization Layers Are All That Sharpness-Aware Minimization Needs"; mueller-mp/SAM-ON,
 * sam_on.py `SAM_ON` with `only_norm`):
 *
 *   g_N = ∇L_B(w) on the normalization parameters N (BatchNorm scale and offset), 0 elsewhere
 *   ε = ρ g_N / (‖g_N‖₂ + 1e-12)                 (the norm over N alone)
 *   w ← base step with ∇L_B(w + ε), taken at w   (every leaf descends)
 *
 * It is SAM with `perturbLeaves: "norm"` (leaves.ts): the official code selects parameters whose
 * name contains "norm" or "bn"; this library's models keep them under "norms". A model without
 * normalization layers has nothing to perturb (an error). ASAM-ON is
 * `asam(base, { perturbLeaves: "norm" })`.
 *
 * Defaults: rho 0.5 (the official train.py's default; the paper tunes larger ρ than SAM's,
 * since only a few parameters move).
 */
import type { GradientTransformation } from "../optim/types.js";
import { resolveOptions, type Descriptor } from "../optim/hyper.js";
import type { SharpnessAwareOptimizer } from "./core.js";
import { CORE_OPTIONS } from "./core.js";
import { rhoHyper } from "./rho.js";
import { sam, type SamOptions, type SamState } from "./sam.js";

/** Options of {@link samOn}: SAM's, without `perturbLeaves` (fixed to "norm"), `normalize` and `p`; ρ defaults to 0.5. */
export type SamOnOptions = Omit<SamOptions, "perturbLeaves" | "normalize" | "p">;

/**
 * SAM-ON's hyperparameters, declared once. The factory validates its options with it ({@link resolveOptions}); the
 * run registry derives flags, spec checks and docs from it.
 *
 * @example
 * ```ts
 * for (const [k, h] of Object.entries(samOnDescriptor.params)) console.log(k, h.default, h.doc);
 * ```
 */
export const samOnDescriptor = {
  name: "sam-on",
  fn: "samOn",
  label: "SAM-ON",
  paper: "Mueller et al., NeurIPS 2023 (mueller-mp/SAM-ON)",
  params: {
    rho: rhoHyper(0.5),
    m: { type: "number", default: null, min: 1, integer: true, doc: "m-sharpness sub-batch size (null: the whole batch)" },
  },
} as const satisfies Descriptor;

/**
 * Wrap `base` with SAM-ON (Mueller et al., NeurIPS 2023): SAM whose ε touches only the
 * normalization layers' parameters N, ε = ρ g_N/(‖g_N‖₂ + 1e-12), every leaf still descending
 * (`sam(base, { perturbLeaves: "norm" })`). A model without normalization layers is an error.
 * Defaults: rho 0.5.
 * Consumes what every sharpness-aware optimizer's `init` and `step` consume (see
 * {@link SharpnessAwareOptimizer}); options are validated when it is built (`RangeError` naming
 * the option).
 *
 * @example
 * ```ts
 * const opt = samOn(sgd({ learningRate: 0.1, momentum: 0.9 }), { rho: 0.5 }); // a model with BatchNorm
 * ```
 */
export function samOn<BS>(base: GradientTransformation<BS>, options: SamOnOptions = {}): SharpnessAwareOptimizer<SamState<BS>> {
  const o = resolveOptions(samOnDescriptor, options, CORE_OPTIONS.filter((k) => k !== "perturbLeaves"));
  return sam(base, { ...(o as SamOnOptions), m: o.m ?? undefined, perturbLeaves: "norm" });
}
