/**
 * The vocabulary of masking, shared by the detectors, the strategies, the SQL lineage
 * analysis and the protocol maskers. Nothing here knows a wire format.
 */

/** How a sensitive value is rewritten. */
export type MaskStrategy =
  /** Replaced whole by `[REDACTED]`. */
  | 'redact'
  /** All but the last four letters or digits hidden: `************1111`. */
  | 'partial'
  /** A fake of the same shape (digits for digits, letters for letters), stable per value. */
  | 'fake'
  /** A keyed deterministic token (`tok_…`, HMAC under MASKING_KEY): joinable, not reversible. */
  | 'token'

export const MASK_STRATEGIES = ['redact', 'partial', 'fake', 'token'] as const

/** Content detectors: each validates what its pattern finds (Luhn, mod-97, …). */
export const DETECTOR_NAMES = [
  'email',
  'phone',
  'card',
  'iban',
  'us_ssn',
  'jwt',
  'aws_key',
  'github_token',
  'slack_token',
  'stripe_key',
  'api_key',
  'private_key',
  'secret',
] as const
export type DetectorName = (typeof DETECTOR_NAMES)[number]

/** One detector finding in a text: UTF-16 offsets, non-overlapping, sorted. */
export type DetectorMatch = { start: number; end: number; detector: DetectorName }

/**
 * Why a value was masked, as reported to the agent and stored in the transcript:
 * `column:public.customers.email`, `path:$.users[*].email`, `detector:card`,
 * `lineage:unknown` (a result column masked because its origin could not be established).
 */
export type MaskReason = string

/** How often each reason masked something (a cell, a JSON value, a detector match). */
export type MaskTally = Map<MaskReason, number>

/** A strategy with the key that `token` and `fake` need, ready to apply. */
export type MaskFunction = (value: string) => string

/** Masks free text with the detectors in force; reports what it masked into `tally`. */
export type TextMasker = {
  /** False when no detector is in force: callers may skip the scan. */
  readonly active: boolean
  mask(text: string, tally?: MaskTally): string
  /**
   * For streams (text-stream.ts): masks text[from, until) with text before `from` read as
   * context only, stopping early (`end` < `until`) rather than emit part of a match that
   * crosses `until`. Maskers without it cannot mask streams.
   */
  maskWindow?(text: string, from: number, until: number, tally?: MaskTally): MaskedWindow
}

/** What `maskWindow` masked: text[from, end) with its matches replaced. */
export type MaskedWindow = { masked: string; end: number }

/** Adds `count` to a reason's tally. */
export function tallyOf(tally: MaskTally, reason: MaskReason, count = 1): void {
  tally.set(reason, (tally.get(reason) ?? 0) + count)
}

/** A tally as recorded and reported: `[{ by: 'detector:email', count: 3 }]`. */
export function tallyReport(tally: MaskTally): { by: MaskReason; count: number }[] {
  return [...tally].map(([by, count]) => ({ by, count }))
}
