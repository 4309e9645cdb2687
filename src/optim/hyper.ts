/**
 * Hyperparameter descriptors: each algorithm declares its hyperparameters once — type, default,
 * allowed range, one-line doc — as plain data next to its factory. The factory validates its
 * options with it (`resolveOptions`), and the run registry (train/registry.ts) derives CLI
 * flags, spec validation, sweep overrides, labels and the README table check from the same
 * objects. Browser-safe: no `node:` imports.
 *
 * Messages keep one shape everywhere: `<owner>: <name> must be <allowed> (got <value>)`, where
 * `<allowed>` comes from `allowedText` (e.g. "a finite number in [0, 1)").
 */
import { checkKeys } from "./validate.js";

/**
 * What every hyperparameter declares besides its type, default and range.
 *
 * @inline
 */
type Common = {
  /** One line, shown in --help and the docs. */
  doc: string;
  /** Name in run specs and CLI flags when it differs from the library option (learningRate → lr). */
  spec?: string;
  /** Symbol used in labels ("ρ"); hyperparameters with one are shown in run labels. */
  symbol?: string;
  /** Filled from the run (e.g. "seed"), not part of the optimizer's spec. */
  fromRun?: "seed";
  /**
   * Left out of a filled run spec when it has its default, so that adding the field kept the
   * keys (hashes) of every existing run. Code reading the spec uses `?? default`.
   */
  omitDefault?: boolean;
};

/**
 * A numeric hyperparameter: default, range and flags.
 *
 * @example
 * ```ts
 * const lambda: NumberHyper = { type: "number", default: 0.9, min: 0, max: 1, maxOpen: true, doc: "EMA factor λ" };
 * allowedText(lambda); // "a finite number in [0, 1)"
 * ```
 */
export type NumberHyper = Common & {
  /** The kind: a number. */
  type: "number";
  /** Default; `null` = "not set" (the factory documents what that means); absent = required. */
  default?: number | null;
  /** Lower bound (inclusive unless `minOpen`). */
  min?: number;
  /** Upper bound (inclusive unless `maxOpen`). */
  max?: number;
  /** The lower bound is excluded. */
  minOpen?: boolean;
  /** The upper bound is excluded. */
  maxOpen?: boolean;
  /** Only integers are allowed. */
  integer?: boolean;
  /** Infinity is allowed (written "inf" in specs and flags). */
  allowInfinity?: boolean;
  /** The library also takes a schedule here (checked by the factory, not by the descriptor). */
  schedule?: boolean;
  /** Sweeps sample it log-uniformly by default. */
  log?: boolean;
};
/** A boolean hyperparameter with its default. */
export type BooleanHyper = Common & {
  /** The kind: true or false. */
  type: "boolean";
  /** The default. */
  default: boolean;
};
/** A hyperparameter taking one of a few strings, with its default. */
export type EnumHyper = Common & {
  /** The kind: one of `values`. */
  type: "enum";
  /** The allowed strings. */
  values: readonly string[];
  /** The default, one of `values`. */
  default: string;
};
/**
 * One declared hyperparameter: a number, a boolean or an enum, each with its one-line `doc`
 * (and optionally its spec name, label symbol, …). A {@link Descriptor} lists them.
 */
export type Hyper = NumberHyper | BooleanHyper | EnumHyper;

/**
 * An algorithm's (or a component's) hyperparameters, declared once: its factory validates its
 * options with it ({@link resolveOptions}); the run registry derives CLI flags, spec checks,
 * sweep overrides, labels and the README's table from it.
 *
 * @example
 * ```ts
 * for (const [name, h] of Object.entries(samDescriptor.params)) console.log(name, h.default, allowedText(h));
 * ```
 */
export type Descriptor = {
  /** Name in specs and on the CLI ("sam", "multistep-sam"). */
  name: string;
  /** The library export, used as the owner in error messages ("multiStepSam"). */
  fn: string;
  /** Human name in labels ("SAM"). */
  label: string;
  /** Where the rule comes from. */
  paper: string;
  /** The hyperparameters by option name, each with type, default, range and doc. */
  params: Record<string, Hyper>;
};

/**
 * What a value must be, in words: "a finite number ≥ 0", "an integer in [1, 10]", "one of …".
 * The `<allowed>` of every validation message.
 *
 * @example
 * ```ts
 * allowedText(samDescriptor.params.p); // "a finite number > 1 (or Infinity)"
 * ```
 */
export function allowedText(h: Hyper): string {
  if (h.type === "boolean") return "true or false";
  if (h.type === "enum") return `one of ${h.values.map((v) => JSON.stringify(v)).join(", ")}`;
  const kind = h.integer ? "an integer" : "a finite number";
  const lo = h.min ?? -Infinity;
  const hi = h.max ?? Infinity;
  let range = "";
  if (lo > -Infinity && hi < Infinity) range = ` in ${h.minOpen ? "(" : "["}${lo}, ${hi}${h.maxOpen ? ")" : "]"}`;
  else if (lo > -Infinity) range = ` ${h.minOpen ? ">" : "≥"} ${lo}`;
  else if (hi < Infinity) range = ` ${h.maxOpen ? "<" : "≤"} ${hi}`;
  return kind + range + (h.allowInfinity ? " (or Infinity)" : "");
}

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : typeof v === "function" ? "a function" : String(v);
}

/** Whether `v` is an allowed value of `h` (the one range check of the library and of run specs). */
export function fitsHyper(h: Hyper, v: unknown): boolean {
  if (h.type === "boolean") return typeof v === "boolean";
  if (h.type === "enum") return h.values.includes(v as string);
  if (typeof v !== "number" || !(Number.isFinite(v) || (!!h.allowInfinity && v === Infinity))) return false;
  if (h.integer && !Number.isInteger(v) && v !== Infinity) return false;
  if (h.min !== undefined && !(h.minOpen ? v > h.min : v >= h.min)) return false;
  return h.max === undefined || (h.maxOpen ? v < h.max : v <= h.max);
}

/**
 * Throws `RangeError("<owner>: <name> must be … (got …)")` unless `v` fits `h` (type, range,
 * integer, Infinity only where allowed).
 *
 * @example
 * ```ts
 * checkHyper("sam", "rho", samDescriptor.params.rho, -1); // RangeError: sam: rho must be a finite number ≥ 0 (got -1)
 * ```
 */
export function checkHyper(owner: string, name: string, h: Hyper, v: unknown): void {
  if (!fitsHyper(h, v)) throw new RangeError(`${owner}: ${name} must be ${allowedText(h)} (got ${show(v)})`);
}

/**
 * A factory's options with the descriptor's defaults filled in, every value checked, and unknown
 * keys rejected. `extraKeys` are options the descriptor does not cover (nonFinite, functions).
 * A schedule (a non-number where `schedule` is set) and `null` are passed through unchecked.
 *
 * Returns a new object; does not change `options`. Throws a `RangeError` naming the first bad or
 * unknown option.
 *
 * @example
 * ```ts
 * const { rho, eta } = resolveOptions(asamDescriptor, options, ["nonFinite", "adaptiveLeaves"]);
 * ```
 */
export function resolveOptions(d: Descriptor, options: object | undefined, extraKeys: readonly string[] = []): Record<string, any> {
  checkKeys(d.fn, options, [...Object.keys(d.params), ...extraKeys]);
  const given = (options ?? {}) as Record<string, unknown>;
  const out: Record<string, any> = { ...given };
  for (const [name, h] of Object.entries(d.params)) {
    const v = given[name] === undefined ? h.default : given[name];
    out[name] = v;
    if (v === undefined || v === null) continue;
    if (h.type === "number" && h.schedule && typeof v !== "number") continue;
    checkHyper(d.fn, name, h, v);
  }
  return out;
}
