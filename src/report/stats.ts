/** Small statistics for reports: mean, sample std, and a t-based 95% confidence interval. */

/**
 * t₀.₉₇₅(ν) for ν = 1…30, to 6 decimals (the values of @stdlib/stats-base-dists-t-quantile
 * 0.2.3, which the test compares at more points). Kept as a table: the library brings 231
 * packages for this one function.
 */
const T95 = [
  12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157, 2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.13145, 2.119905, 2.109816, 2.100922, 2.093024,
  2.085963, 2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831, 2.048407, 2.04523, 2.042272,
];
/** z₀.₉₇₅, the normal quantile. */
const Z975 = 1.959963984540054;

/**
 * The two-sided 95% Student t quantile t₀.₉₇₅(ν): the table for ν ≤ 30, above it the
 * Cornish-Fisher expansion in 1/ν (Abramowitz & Stegun 26.7.5, four terms), within 3e-8 of the
 * exact quantile for ν > 30.
 * @example tQuantile975(2) // 4.302653
 */
export function tQuantile975(df: number): number {
  if (!(df >= 1) || !Number.isInteger(df)) return NaN;
  if (df <= T95.length) return T95[df - 1];
  const z = Z975;
  const [z3, z5, z7, z9] = [z ** 3, z ** 5, z ** 7, z ** 9];
  const g = [(z3 + z) / 4, (5 * z5 + 16 * z3 + 3 * z) / 96, (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / 384, (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / 92160];
  return z + g.reduce((s, gi, i) => s + gi / df ** (i + 1), 0);
}

export function mean(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

export function std(xs: number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

/** Half-width of the two-sided 95% t interval of the mean (NaN for fewer than 2 values). */
export function ci95(xs: number[]): number {
  if (xs.length < 2) return NaN;
  return (tQuantile975(xs.length - 1) * std(xs)) / Math.sqrt(xs.length);
}
