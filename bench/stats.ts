/**
 * Pure statistics helpers for the benchmark: medians, nearest-rank
 * percentiles and per-sample summaries. No I/O, so they are unit-tested.
 *
 * @module
 */

/** Median of the values (mean of the two middle ones for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return NaN;
  const s = [...finite].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Nearest-rank percentile (`p` in 0..100): the smallest value such that at
 * least p% of the samples are less than or equal to it. p=0 is the minimum,
 * p=100 the maximum. NaN when empty.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in 0..100, got ${p}`);
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return NaN;
  const s = [...finite].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[rank - 1];
}

/** Summary of one latency sample set. */
export interface Summary {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Summarises samples (NaN fields when empty). */
export function summarize(values: readonly number[]): Summary {
  const finite = values.filter((v) => Number.isFinite(v));
  const n = finite.length;
  let min = Infinity, max = -Infinity, sum = 0;
  for (const v of finite) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return {
    count: n,
    min: n ? min : NaN,
    p50: percentile(finite, 50),
    p90: percentile(finite, 90),
    p99: percentile(finite, 99),
    max: n ? max : NaN,
    mean: n ? sum / n : NaN,
  };
}

/** Rounds for display: fixed decimals, "—" for NaN/undefined. */
export function fmt(value: number | undefined, decimals = 1): string {
  if (value === undefined || !Number.isFinite(value)) return "—";
  return value.toFixed(decimals);
}

/** `a / b` rounded to two decimals as "1.23x", "—" when not computable. */
export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b <= 0) {
    return "—";
  }
  return `${(a / b).toFixed(2)}x`;
}

/**
 * Send times of a paced schedule: message i is due at `start + i * 1000 / rate`.
 * Computing each deadline from the start (instead of sleeping a fixed period
 * after each send) keeps the average rate exact however late a timer fires.
 */
export function dueAt(start: number, index: number, ratePerSecond: number): number {
  return start + (index * 1000) / ratePerSecond;
}
