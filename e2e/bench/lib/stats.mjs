// Percentiles and the small summaries every phase reports.

/** Nearest-rank percentile (p in 0–100) of a list of numbers; null for an empty list. */
export function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const summary = (values) => ({
  n: values.length,
  p50: percentile(values, 50),
  p99: percentile(values, 99),
  max: values.length ? Math.max(...values) : null,
});

/**
 * Lost and duplicated ids in one tab: `expected` are the ids the tab had to deliver (published after
 * it was ready), `delivered` what it handed to the application, repeats included.
 */
export function accountDeliveries(expected, delivered) {
  const counts = new Map();
  for (const id of delivered) counts.set(id, (counts.get(id) ?? 0) + 1);
  let lost = 0;
  for (const id of expected) if (!counts.has(id)) lost++;
  let duplicated = 0;
  for (const n of counts.values()) if (n > 1) duplicated += n - 1;
  return { lost, duplicated };
}
