/**
 * Construction-time validation shared by every optimizer factory. Each check throws a
 * `RangeError` whose one-line message names the option, the value given and what is allowed,
 * e.g. `sam: rho must be a finite number ≥ 0 (got -1)`.
 */

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "function") return "a function";
  return String(v);
}

function fail(owner: string, name: string, allowed: string, v: unknown): never {
  throw new RangeError(`${owner}: ${name} must be ${allowed} (got ${show(v)})`);
}

/** A finite number in [lo, hi] (or [lo, hi) with `hiOpen`, (lo, …] with `loOpen`). */
export function checkNumber(
  owner: string,
  name: string,
  v: unknown,
  { lo = -Infinity, hi = Infinity, loOpen = false, hiOpen = false, integer = false, allowInfinity = false } = {},
): number {
  const finiteOk = typeof v === "number" && (Number.isFinite(v) || (allowInfinity && v === Infinity));
  const ok =
    finiteOk &&
    !Number.isNaN(v) &&
    (loOpen ? (v as number) > lo : (v as number) >= lo) &&
    (hiOpen ? (v as number) < hi : (v as number) <= hi) &&
    (!integer || Number.isInteger(v) || v === Infinity);
  if (!ok) {
    const kind = integer ? "an integer" : "a finite number";
    let range = "";
    if (lo > -Infinity && hi < Infinity) range = ` in ${loOpen ? "(" : "["}${lo}, ${hi}${hiOpen ? ")" : "]"}`;
    else if (lo > -Infinity) range = ` ${loOpen ? ">" : "≥"} ${lo}`;
    else if (hi < Infinity) range = ` ${hiOpen ? "<" : "≤"} ${hi}`;
    fail(owner, name, kind + range, v);
  }
  return v as number;
}

export function checkBoolean(owner: string, name: string, v: unknown): boolean {
  if (typeof v !== "boolean") fail(owner, name, "true or false", v);
  return v as boolean;
}

export function checkOneOf<T>(owner: string, name: string, v: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) fail(owner, name, `one of ${allowed.map(show).join(", ")}`, v);
  return v as T;
}

/** Reject option names the factory does not know (a typo would otherwise be silently ignored). */
export function checkKeys(owner: string, opts: object | undefined, known: readonly string[]): void {
  if (opts === undefined) return;
  if (opts === null || typeof opts !== "object") throw new RangeError(`${owner}: options must be an object (got ${show(opts)})`);
  for (const k of Object.keys(opts)) {
    if (!known.includes(k)) throw new RangeError(`${owner}: unknown option ${show(k)} (known: ${known.join(", ")})`);
  }
}
