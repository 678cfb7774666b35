// Small statistics for the benchmark: percentiles and medians.

/** The p-th percentile (0..100) of numbers, by nearest rank. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function median(values) {
  return percentile(values, 50);
}

/** p50, p99 and p99.9 of latencies in ms. */
export function summary(latenciesMs) {
  return { n: latenciesMs.length, p50: percentile(latenciesMs, 50), p99: percentile(latenciesMs, 99), p999: percentile(latenciesMs, 99.9) };
}

/** The median of each numeric field across several runs' results. */
export function medianOf(runs) {
  const out = {};
  for (const key of Object.keys(runs[0])) {
    const values = runs.map((r) => r[key]);
    out[key] = typeof values[0] === 'number' ? median(values) : values[values.length - 1];
  }
  return out;
}
