/**
 * Character classes as bit flags, looked up by UTF-16 code unit: the detectors' scan reads
 * one class per character, so this is one array read instead of a regex or a chain of
 * range tests. The table covers every code unit (64 KiB), so no bounds test is needed.
 */

export const DIGIT = 1
export const UPPER = 2
export const LOWER = 4
/** `_ - + /`: the punctuation of base64, base64url and most token formats. */
export const TOKEN_PUNCT = 8
/** ` - . ( )`: what may sit between the digit groups of a card or phone number. */
export const NUMBER_SEPARATOR = 16

export const ALNUM = DIGIT | UPPER | LOWER
/** What a token run (a candidate key, token or secret) is made of. */
export const TOKEN_CHAR = ALNUM | TOKEN_PUNCT

/** Class bits per UTF-16 code unit; 0 for everything outside ASCII letters, digits and the above. */
export const CHAR_CLASSES = new Uint8Array(65_536)
for (let code = 48; code <= 57; code++) CHAR_CLASSES[code] = DIGIT
for (let code = 65; code <= 90; code++) CHAR_CLASSES[code] = UPPER
for (let code = 97; code <= 122; code++) CHAR_CLASSES[code] = LOWER
for (const char of '_-+/') CHAR_CLASSES[char.charCodeAt(0)] = TOKEN_PUNCT
for (const char of ' -.()') {
  const code = char.charCodeAt(0)
  CHAR_CLASSES[code] = (CHAR_CLASSES[code] as number) | NUMBER_SEPARATOR
}

/** The class bits of `text[index]`; 0 past either end. */
export function classAt(text: string, index: number): number {
  return index >= 0 && index < text.length ? (CHAR_CLASSES[text.charCodeAt(index)] as number) : 0
}

/** Whether `text[index]` is an ASCII digit (false past either end). */
export function isDigitAt(text: string, index: number): boolean {
  return (classAt(text, index) & DIGIT) !== 0
}

/** Whether `text[index]` is an ASCII letter or digit (false past either end). */
export function isAlnumAt(text: string, index: number): boolean {
  return (classAt(text, index) & ALNUM) !== 0
}
