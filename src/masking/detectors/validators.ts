/**
 * Check-digit and numbering-plan rules that turn a pattern hit into a finding: a 16-digit
 * number that fails Luhn is an order id, not a card; an IBAN that fails mod-97 is a typo
 * or a reference number.
 */

/** Luhn (ISO/IEC 7812-1 Annex B) over a string of ASCII digits. */
export function passesLuhn(digits: string): boolean {
  let sum = 0
  let double = false
  for (let i = digits.length - 1; i >= 0; i--) {
    let digit = digits.charCodeAt(i) - 48
    if (double) {
      digit *= 2
      if (digit > 9) digit -= 9
    }
    sum += digit
    double = !double
  }
  return sum % 10 === 0
}

/**
 * Whether a digit string has the issuer prefix and length of a payment card scheme in wide
 * use (Visa, Mastercard incl. the 2-series, Amex, Diners, JCB, Discover, UnionPay).
 */
export function isCardNumberShape(digits: string): boolean {
  const length = digits.length
  const two = Number(digits.slice(0, 2))
  const four = Number(digits.slice(0, 4))
  switch (digits[0]) {
    case '4':
      return length === 13 || length === 16 || length === 19
    case '5':
      return two >= 51 && two <= 55 && length === 16
    case '2':
      return four >= 2221 && four <= 2720 && length === 16
    case '3':
      if (two === 34 || two === 37) return length === 15
      if (two === 35) return length >= 16 && length <= 19
      return (two === 30 || two === 36 || two === 38 || two === 39) && length >= 14 && length <= 16
    case '6': {
      const three = Number(digits.slice(0, 3))
      const known = four === 6011 || two === 65 || two === 62 || (three >= 644 && three <= 649)
      return known && length >= 16 && length <= 19
    }
    default:
      return false
  }
}

/** IBAN length per country, as `CCnn` (SWIFT IBAN Registry, ISO 13616). */
const IBAN_LENGTHS = new Map(
  `
  AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 DE22
  DJ27 DK18 DO28 EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HN28
  HR21 HU28 IE22 IL23 IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25
  MC27 MD24 ME22 MK19 MN20 MR27 MT31 MU30 NI28 NL18 NO15 OM23 PK24 PL28 PS29 PT25 QA29
  RO24 RS22 RU33 SA24 SC31 SD18 SE24 SI19 SK24 SM27 SO23 ST25 SV28 TL23 TN24 TR26 UA29
  VA22 VG24 XK20 YE30
`
    .trim()
    .split(/\s+/)
    .map((entry) => [entry.slice(0, 2), Number(entry.slice(2))] as const)
)

/** The IBAN length for a two-letter country code, or undefined where IBANs are not used. */
export function ibanLength(countryCode: string): number | undefined {
  return IBAN_LENGTHS.get(countryCode)
}

/** ISO 7064 MOD 97-10 over an IBAN in electronic form (uppercase, no spaces). */
export function passesIbanChecksum(iban: string): boolean {
  const rearranged = iban.slice(4) + iban.slice(0, 4)
  let remainder = 0
  for (let i = 0; i < rearranged.length; i++) {
    const code = rearranged.charCodeAt(i)
    // Letters count as two digits: A = 10 … Z = 35.
    remainder =
      code >= 65 ? (remainder * 100 + (code - 55)) % 97 : (remainder * 10 + (code - 48)) % 97
  }
  return remainder === 1
}

/**
 * Social Security Administration rules for an SSN that could have been issued: area not
 * 000, 666 or 900-999; group not 00; serial not 0000. Also refuses the two numbers the SSA
 * lists as publicised and voided (078-05-1120 from a 1938 wallet insert, 219-09-9999 from
 * an advertisement). 123-45-6789 stays detectable on purpose: it is what people paste when
 * they test whether SSNs are masked, and masking it costs nothing.
 */
export function isPlausibleSsn(area: string, group: string, serial: string): boolean {
  if (area === '000' || area === '666' || area[0] === '9') return false
  if (group === '00' || serial === '0000') return false
  const whole = `${area}${group}${serial}`
  return whole !== '078051120' && whole !== '219099999'
}
