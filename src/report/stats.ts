/** Small statistics for reports: mean, sample std, and a t-based 95% confidence interval. */

const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

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
  const t = xs.length - 1 <= T95.length ? T95[xs.length - 2] : 1.96;
  return (t * std(xs)) / Math.sqrt(xs.length);
}
