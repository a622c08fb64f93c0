import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { passesLuhn } from '../../../src/masking/detectors/validators.ts'
import { deriveMaskingKey, maskFunction } from '../../../src/masking/strategies.ts'
import { createTextMasker } from '../../../src/masking/text-masker.ts'
import type { DetectorName, MaskStrategy, MaskTally } from '../../../src/masking/types.ts'

const encoder = new TextEncoder()
const KEY = deriveMaskingKey(encoder.encode('test masking secret'))
const OTHER_KEY = deriveMaskingKey(encoder.encode('another deployment'))

/** Each character's class: what a format-preserving fake must keep. */
function shapeOf(value: string): string {
  return value.replace(/[0-9]/g, '9').replace(/[a-z]/g, 'a').replace(/[A-Z]/g, 'A')
}

/** RFC 4648 §6 base32 (lowercase, unpadded) back to bytes. */
function fromBase32(text: string): Uint8Array {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567'
  const bytes: number[] = []
  let buffer = 0
  let bits = 0
  for (const char of text) {
    buffer = (buffer << 5) | alphabet.indexOf(char)
    bits += 5
    if (bits >= 8) {
      bits -= 8
      bytes.push((buffer >>> bits) & 0xff)
    }
  }
  return Uint8Array.from(bytes)
}

describe('masking key', () => {
  it('is HKDF-SHA256 of the secret with info "gatehouse masking v1", 32 bytes', async () => {
    const secret = encoder.encode('test masking secret')
    const material = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveBits'])
    const expected = await crypto.subtle.deriveBits(
      {
        name: 'HKDF',
        hash: 'SHA-256',
        salt: new Uint8Array(),
        info: encoder.encode('gatehouse masking v1'),
      },
      material,
      256
    )
    expect(KEY).toEqual(new Uint8Array(expected))
  })
})

describe('redact', () => {
  it('replaces the whole value with [REDACTED]', () => {
    const redact = maskFunction('redact', KEY)
    expect(redact('4111 1111 1111 1111')).toBe('[REDACTED]')
    expect(redact('')).toBe('[REDACTED]')
  })
})

describe('partial', () => {
  const partial = maskFunction('partial', KEY)

  it.each([
    ['4111 1111 1111 1111', '**** **** **** 1111'],
    ['4111-1111-1111-1111', '****-****-****-1111'],
    ['+44 20 7946 0018', '+** ** **** 0018'],
    ['jane.doe@example.com', '****.***@******e.com'],
    ['123-45-6789', '***-**-6789'],
    ['Zoë Müller', '*** **ller'],
    ['12345', '*2345'],
  ])('shows only the last four letters or digits of %s', (value, expected) => {
    expect(partial(value)).toBe(expected)
  })

  it.each([
    ['1234', '****'],
    ['ab-c', '**-*'],
    ['', ''],
  ])('stars %s whole when it has four or fewer', (value, expected) => {
    expect(partial(value)).toBe(expected)
  })
})

describe('token', () => {
  const token = maskFunction('token', KEY)

  it('is tok_ and the first 16 base32 characters of HMAC-SHA256(key, value)', async () => {
    const hmacKey = await crypto.subtle.importKey(
      'raw',
      KEY,
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign']
    )
    const mac = new Uint8Array(
      await crypto.subtle.sign('HMAC', hmacKey, encoder.encode('jane.doe@example.com'))
    )
    const masked = token('jane.doe@example.com')
    expect(masked).toBe('tok_syrcxr7vh6w6svh5')
    expect(fromBase32(masked.slice(4))).toEqual(mac.slice(0, 10))
  })

  it('gives equal values equal tokens, so masked columns still join', () => {
    expect(maskFunction('token', KEY)('4111 1111 1111 1111')).toBe(token('4111 1111 1111 1111'))
  })

  it('gives different values and different keys different tokens', () => {
    expect(token('jane@example.com')).not.toBe(token('john@example.com'))
    expect(maskFunction('token', OTHER_KEY)('jane.doe@example.com')).not.toBe(
      token('jane.doe@example.com')
    )
  })
})

describe('fake', () => {
  const fake = maskFunction('fake', KEY)

  it('keeps the shape of a value: digits, lowercase, uppercase and the rest in place', () => {
    expect(fake('AKIAIOSFODNN7EXAMPLE')).toBe('VPGVXONRRVVM4PVWUIJD')
    expect(fake('+44 20 7946 0018')).toBe('+05 35 6061 5247')
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii', maxLength: 80 }), (value) => {
        fc.pre(!value.includes('@'))
        expect(shapeOf(fake(value))).toBe(shapeOf(value))
      })
    )
  })

  it('turns non-ASCII letters into ASCII letters of the same case', () => {
    expect(fake('Zoë Müller')).toBe('Zfo Umhbvf')
  })

  it('is deterministic per key and value, and differs under another key', () => {
    expect(maskFunction('fake', KEY)('ORD-2024-000123')).toBe(fake('ORD-2024-000123'))
    expect(maskFunction('fake', OTHER_KEY)('ORD-2024-000123')).not.toBe(fake('ORD-2024-000123'))
  })

  it('fakes an email address into the never-routable example.invalid domain', () => {
    expect(fake('jane.doe@example.com')).toBe('mpge.cxb@example.invalid')
    expect(maskFunction('fake', KEY, 'email')('jane.doe@example.com')).toBe(
      'mpge.cxb@example.invalid'
    )
  })

  it('fakes a card as a Luhn-valid number of the same length, grouping and scheme digit', () => {
    const fakeCard = maskFunction('fake', KEY, 'card')
    expect(fakeCard('4111 1111 1111 1111')).toBe('4922 3297 4680 5787')
    fc.assert(
      fc.property(
        fc.constantFrom('4', '5', '3', '6', '2'),
        fc.integer({ min: 12, max: 18 }),
        fc.constantFrom('', ' ', '-'),
        fc.nat(),
        (scheme, rest, separator, seed) => {
          const digits = scheme + String(seed).padStart(rest, '7').slice(0, rest)
          const card = digits.replace(/(\d{4})(?=\d)/g, `$1${separator}`)
          const faked = fakeCard(card)
          expect(shapeOf(faked)).toBe(shapeOf(card))
          expect(faked[0]).toBe(scheme)
          expect(passesLuhn(faked.replace(/\D/g, ''))).toBe(true)
        }
      )
    )
  })
})

describe('createTextMasker', () => {
  const masker = createTextMasker(
    new Map<DetectorName, MaskStrategy>([
      ['email', 'token'],
      ['card', 'partial'],
      ['phone', 'fake'],
      ['aws_key', 'redact'],
    ]),
    KEY
  )

  it("masks each finding with its detector's strategy and counts it", () => {
    const tally: MaskTally = new Map()
    const text = 'jane.doe@example.com paid with 4111 1111 1111 1111, call +44 20 7946 0018'
    expect(masker.mask(text, tally)).toBe(
      'tok_syrcxr7vh6w6svh5 paid with **** **** **** 1111, call +05 35 6061 5247'
    )
    expect(tally).toEqual(
      new Map([
        ['detector:email', 1],
        ['detector:card', 1],
        ['detector:phone', 1],
      ])
    )
  })

  it('returns the very same string when nothing matched', () => {
    const text = `order ${'ORD-2024-000123'} shipped`
    expect(masker.mask(text)).toBe(text)
  })

  it('leaves alone what no rule asks for', () => {
    expect(masker.mask('SSN 123-45-6789')).toBe('SSN 123-45-6789')
  })

  it('is inactive without rules', () => {
    const none = createTextMasker(new Map(), KEY)
    expect(none.active).toBe(false)
    expect(none.mask('jane@example.com')).toBe('jane@example.com')
  })
})
