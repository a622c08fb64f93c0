/**
 * Masks free text (cells, JSON strings, bodies, recorded commands) with the detectors a
 * policy turns on, each with its own strategy, and counts what it masked.
 */
import { findSensitive } from './detectors/find-sensitive.ts'
import { maskFunction } from './strategies.ts'
import {
  type DetectorMatch,
  type DetectorName,
  type MaskedWindow,
  type MaskFunction,
  type MaskStrategy,
  type MaskTally,
  type TextMasker,
  tallyOf,
} from './types.ts'

/**
 * A masker applying `rules` (detector → strategy) under `key`. `mask` returns the very
 * string it was given when nothing matched, so callers can skip re-encoding by identity.
 */
export function createTextMasker(
  rules: ReadonlyMap<DetectorName, MaskStrategy>,
  key: Uint8Array
): TextMasker {
  const enabled: ReadonlySet<DetectorName> = new Set(rules.keys())
  const active = enabled.size > 0
  const masks = new Map<DetectorName, MaskFunction>()
  for (const [detector, strategy] of rules)
    masks.set(detector, maskFunction(strategy, key, detector))

  const replace = (
    text: string,
    matches: readonly DetectorMatch[],
    from: number,
    to: number,
    tally?: MaskTally
  ) => {
    let out = ''
    let at = from
    for (const { start, end, detector } of matches) {
      if (end > to) break
      const mask = masks.get(detector)
      if (!mask) continue
      out += text.slice(at, start) + mask(text.slice(start, end))
      at = end
      if (tally) tallyOf(tally, `detector:${detector}`)
    }
    return out + text.slice(at, to)
  }

  return {
    active,
    mask(text, tally) {
      if (!active || text.length === 0) return text
      const matches = findSensitive(text, enabled)
      return matches.length === 0 ? text : replace(text, matches, 0, text.length, tally)
    },
    maskWindow(text, from, until, tally): MaskedWindow {
      const matches = findSensitive(text, enabled, from)
      let end = until
      for (const match of matches) {
        if (match.start >= until) break
        // Never emit part of a match: stop before one that crosses `until`.
        if (match.end > until) {
          end = match.start
          break
        }
      }
      return { masked: replace(text, matches, from, end, tally), end }
    },
  }
}
