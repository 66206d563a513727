/** Small statistics helpers for the benchmarks: percentiles over samples, medians and spread over runs. */

/** The `p`-th percentile (0..100) of `values` by the nearest-rank method; NaN when empty. Sorts a copy. */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** p50, p99 and max of latency samples in one sort. */
export function latencySummary(values: ArrayLike<number>): { p50: number; p99: number; max: number; count: number } {
  if (values.length === 0) return { p50: Number.NaN, p99: Number.NaN, max: Number.NaN, count: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  return { p50: at(50), p99: at(99), max: sorted[sorted.length - 1]!, count: sorted.length };
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** (max - min) / median, as a fraction: how far apart repeated runs landed. */
export function spread(values: readonly number[]): number {
  const m = median(values);
  if (values.length < 2 || !Number.isFinite(m) || m === 0) return 0;
  return (Math.max(...values) - Math.min(...values)) / m;
}

/** A growable array of numbers without boxing: latency samples can run into the millions. */
export class Samples {
  #data = new Float64Array(1024);
  #length = 0;

  push(value: number): void {
    if (this.#length === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.#length++] = value;
  }

  /** Adds `value` `count` times (all records of one request share its latency). */
  pushMany(value: number, count: number): void {
    for (let i = 0; i < count; i++) this.push(value);
  }

  get length(): number {
    return this.#length;
  }

  values(): Float64Array {
    return this.#data.subarray(0, this.#length);
  }
}

export function round(value: number, digits = 0): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** 12345.6 -> "12,346"; NaN -> "-". */
export function fmt(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return '-';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function pct(value: number, digits = 0): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(digits)} %` : '-';
}
