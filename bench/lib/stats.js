// Turning repeated timings into the figures the report shows: median with min
// and max, throughput in GB/s (10^9 bytes per second, like dd prints), and
// ratios paired repetition by repetition (rep i of A over rep i of B) so that
// drift during the run hits both sides of a ratio alike.

/** { median, min, max, n, samples } of numbers (median of an even count: mean of the middle two). */
export function summary(samples) {
  const s = samples.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = s.length >> 1;
  const median = s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  return { median, min: s[0], max: s[s.length - 1], n: s.length, samples };
}

/** GB/s for each timing of `bytes`. */
export function gbps(bytes, msList) {
  return msList.map((ms) => bytes / (ms / 1000) / 1e9);
}

/** Paired ratios a[i] / b[i] (both throughputs or both times, as the caller wants). */
export function pairedRatio(a, b) {
  const n = Math.min(a.length, b.length);
  const r = [];
  for (let i = 0; i < n; i++) r.push(a[i] / b[i]);
  return summary(r);
}

/** "1.23 [1.10–1.30]" with `digits` after the point, or the reason it is missing. */
export function fmt(sum, digits = 2) {
  if (!sum) return 'unavailable';
  if (typeof sum === 'string') return sum;
  const f = (x) => fmtNum(x, digits);
  return sum.n > 1 ? `${f(sum.median)} [${f(sum.min)}–${f(sum.max)}]` : f(sum.median);
}

export function fmtNum(x, digits = 2) {
  if (!Number.isFinite(x)) return '—';
  if (Math.abs(x) >= 1000) return x.toFixed(0);
  if (Math.abs(x) >= 100) return x.toFixed(Math.max(0, digits - 2));
  if (Math.abs(x) >= 10) return x.toFixed(Math.max(0, digits - 1));
  return x.toFixed(digits);
}

/** "1 GiB", "256 MiB". */
export function sizeName(bytes) {
  if (bytes >= 2 ** 30 && bytes % 2 ** 30 === 0) return `${bytes / 2 ** 30} GiB`;
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  if (bytes >= 2 ** 20) return `${+(bytes / 2 ** 20).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

export function bsName(bs) {
  return bs >= 2 ** 20 ? `${bs / 2 ** 20}M` : `${bs / 1024}K`;
}
