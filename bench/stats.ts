/** Percentiles over sorted samples (nearest-rank). */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))
  return sorted[rank] ?? Number.NaN
}

export function summarize(samples: readonly number[]): { p50: number; p99: number; mean: number } {
  const sorted = [...samples].sort((a, b) => a - b)
  const mean = sorted.reduce((sum, value) => sum + value, 0) / (sorted.length || 1)
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), mean }
}

/**
 * Times `once(i)` on its own, `samples` times after `warmup` untimed calls, and returns
 * per-call percentiles in microseconds.
 */
export function timeEach(
  once: (index: number) => void,
  samples: number,
  warmup: number
): { p50Micros: number; p99Micros: number; maxMicros: number } {
  for (let i = 0; i < warmup; i++) once(i)
  const micros = new Float64Array(samples)
  for (let i = 0; i < samples; i++) {
    const start = process.hrtime.bigint()
    once(i)
    micros[i] = Number(process.hrtime.bigint() - start) / 1000
  }
  const sorted = Array.from(micros).sort((a, b) => a - b)
  const round = (value: number) => Math.round(value * 100) / 100
  return {
    p50Micros: round(percentile(sorted, 0.5)),
    p99Micros: round(percentile(sorted, 0.99)),
    maxMicros: round(sorted.at(-1) ?? 0),
  }
}
