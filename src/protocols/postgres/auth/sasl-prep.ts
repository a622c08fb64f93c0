/**
 * SASLprep (RFC 4013) of a SCRAM password, done the way Postgres does it
 * (src/common/saslprep.c), because the gateway's proof must match the verifier the
 * origin computed from the same password. Postgres falls back to the raw password
 * whenever SASLprep fails (invalid UTF-8, prohibited or unassigned characters, a bidi
 * violation, or nothing left after mapping), and checks the mapped input rather than
 * the normalised output; both quirks are reproduced here.
 *
 * Not exact, by design (the full tables are ~800 ranges for passwords no one uses):
 * - Unassigned code points (RFC 3454 A.1) are checked against today's Unicode
 *   (`\p{Cn}`), so a character assigned after Unicode 3.2 counts as allowed;
 * - LCat (D.2, bidi class L) is approximated by "a letter that is not RandALCat".
 * Either can only matter for a password that mixes such characters with ones that NFKC
 * or the mapping step changes; ASCII passwords (the advice for origin credentials)
 * are never changed at all.
 */

type Ranges = readonly (readonly [number, number])[]

/** RFC 3454 C.1.2, mapped to U+0020. */
const NON_ASCII_SPACE: Ranges = [
  [0x00a0, 0x00a0],
  [0x1680, 0x1680],
  [0x2000, 0x200b],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
]

/** RFC 3454 B.1, mapped to nothing. */
const MAPPED_TO_NOTHING: Ranges = [
  [0x00ad, 0x00ad],
  [0x034f, 0x034f],
  [0x1806, 0x1806],
  [0x180b, 0x180d],
  [0x200b, 0x200d],
  [0x2060, 0x2060],
  [0xfe00, 0xfe0f],
  [0xfeff, 0xfeff],
]

/**
 * RFC 4013 §2.3 prohibited output: C.1.2, C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.7, C.8, C.9.
 * The noncharacters U+nFFFE-U+nFFFF of planes 1-14 (C.4) are left to the `\p{Cn}` check.
 */
const PROHIBITED: Ranges = [
  [0x0000, 0x001f],
  [0x007f, 0x00a0],
  [0x0340, 0x0341],
  [0x06dd, 0x06dd],
  [0x070f, 0x070f],
  [0x1680, 0x1680],
  [0x180e, 0x180e],
  [0x2000, 0x200f],
  [0x2028, 0x202f],
  [0x205f, 0x2063],
  [0x206a, 0x206f],
  [0x2ff0, 0x2ffb],
  [0x3000, 0x3000],
  [0xd800, 0xf8ff],
  [0xfdd0, 0xfdef],
  [0xfeff, 0xfeff],
  [0xfff9, 0xffff],
  [0x1d173, 0x1d17a],
  [0xe0001, 0xe0001],
  [0xe0020, 0xe007f],
  [0xf0000, 0x10ffff],
]

/** RFC 3454 D.1: bidi class R or AL. */
const RAND_AL_CAT: Ranges = [
  [0x05be, 0x05be],
  [0x05c0, 0x05c0],
  [0x05c3, 0x05c3],
  [0x05d0, 0x05ea],
  [0x05f0, 0x05f4],
  [0x061b, 0x061b],
  [0x061f, 0x061f],
  [0x0621, 0x063a],
  [0x0640, 0x064a],
  [0x066d, 0x066f],
  [0x0671, 0x06d5],
  [0x06dd, 0x06dd],
  [0x06e5, 0x06e6],
  [0x06fa, 0x06fe],
  [0x0700, 0x070d],
  [0x0710, 0x0710],
  [0x0712, 0x072c],
  [0x0780, 0x07a5],
  [0x07b1, 0x07b1],
  [0x200f, 0x200f],
  [0xfb1d, 0xfb1d],
  [0xfb1f, 0xfb28],
  [0xfb2a, 0xfb36],
  [0xfb38, 0xfb3c],
  [0xfb3e, 0xfb3e],
  [0xfb40, 0xfb41],
  [0xfb43, 0xfb44],
  [0xfb46, 0xfbb1],
  [0xfbd3, 0xfd3d],
  [0xfd50, 0xfd8f],
  [0xfd92, 0xfdc7],
  [0xfdf0, 0xfdfc],
  [0xfe70, 0xfe74],
  [0xfe76, 0xfefc],
]

const UNASSIGNED = /\p{Cn}/u
const LETTER = /\p{L}/u

function inRanges(code: number, ranges: Ranges): boolean {
  for (const [first, last] of ranges) {
    if (code < first) return false
    if (code <= last) return true
  }
  return false
}

/** The password as Postgres feeds it to PBKDF2: SASLprepped, or unchanged if that fails. */
export function saslPrepPassword(password: string): string {
  // Postgres's quick check: pure ASCII needs no processing, control characters included.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the whole ASCII range is meant.
  if (/^[\u0000-\u007f]*$/.test(password)) return password
  return saslPrep(password) ?? password
}

/** RFC 4013 steps 1-4, or null where Postgres would report SASLPREP_PROHIBITED. */
function saslPrep(input: string): string | null {
  const mapped: number[] = []
  for (const char of input) {
    const code = char.codePointAt(0) as number
    if (inRanges(code, NON_ASCII_SPACE)) mapped.push(0x20)
    else if (!inRanges(code, MAPPED_TO_NOTHING)) mapped.push(code)
  }
  if (mapped.length === 0) return null
  for (const code of mapped) {
    if (inRanges(code, PROHIBITED) || UNASSIGNED.test(String.fromCodePoint(code))) return null
  }
  if (mapped.some((code) => inRanges(code, RAND_AL_CAT))) {
    const isLCat = (code: number) =>
      !inRanges(code, RAND_AL_CAT) && LETTER.test(String.fromCodePoint(code))
    const first = mapped[0] as number
    const last = mapped[mapped.length - 1] as number
    if (mapped.some(isLCat)) return null
    if (!inRanges(first, RAND_AL_CAT) || !inRanges(last, RAND_AL_CAT)) return null
  }
  return String.fromCodePoint(...mapped).normalize('NFKC')
}
