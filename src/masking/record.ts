/**
 * What a transcript stores is masked: commands (SQL text, parameters, HTTP bodies and
 * headers) and outcomes (origin error messages) pass through the connection's detectors
 * before they are written, and say what was masked so evidence can be shared as it is.
 */
import { type MaskTally, type TextMasker, tallyReport } from './types.ts'

type Recorded<T> = T & { masked?: { by: string; count: number }[] }

/**
 * A copy of `value` with every string masked by `masker`, plus `masked` when anything
 * was; `value` itself when nothing changed (the common case costs one scan, no copy).
 */
export function maskForRecord<T extends Record<string, unknown>>(
  value: T,
  masker: TextMasker
): Recorded<T> {
  if (!masker.active) return value
  const tally: MaskTally = new Map()
  const masked = maskStrings(value, masker, tally) as T
  return tally.size ? { ...masked, masked: tallyReport(tally) } : value
}

function maskStrings(value: unknown, masker: TextMasker, tally: MaskTally): unknown {
  if (typeof value === 'string') return masker.mask(value, tally)
  if (Array.isArray(value)) {
    let changed = false
    const out = value.map((item) => {
      const masked = maskStrings(item, masker, tally)
      changed ||= masked !== item
      return masked
    })
    return changed ? out : value
  }
  if (typeof value === 'object' && value !== null) {
    let changed = false
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) {
      const masked = maskStrings(item, masker, tally)
      changed ||= masked !== item
      out[key] = masked
    }
    return changed ? out : value
  }
  return value
}
