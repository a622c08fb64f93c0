import { describe, expect, it } from 'vitest'
import { findSensitive, MAX_MATCH_CHARS } from '../../../src/masking/detectors/find-sensitive.ts'
import {
  isPlausibleSsn,
  passesIbanChecksum,
  passesLuhn,
} from '../../../src/masking/detectors/validators.ts'
import { DEFAULT_MAX_MATCH_CHARS } from '../../../src/masking/text-stream.ts'
import { DETECTOR_NAMES, type DetectorName } from '../../../src/masking/types.ts'

const ALL: ReadonlySet<DetectorName> = new Set(DETECTOR_NAMES)

/** What the detectors find in `text`, as [detector, matched text] pairs. */
function found(text: string, enabled: ReadonlySet<DetectorName> = ALL): [DetectorName, string][] {
  return findSensitive(text, enabled).map((match) => [
    match.detector,
    text.slice(match.start, match.end),
  ])
}

/** A PEM block with deterministic base64 lines (no real key material in the repository). */
function pemBlock(label: string, lines: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  let seed = 7
  const body: string[] = []
  for (let line = 0; line < lines; line++) {
    let chars = ''
    for (let i = 0; i < 64; i++) {
      // xorshift32: deterministic filler that looks like key material.
      seed ^= seed << 13
      seed ^= seed >>> 17
      seed ^= seed << 5
      chars += alphabet[(seed >>> 0) % 64]
    }
    body.push(chars)
  }
  return `-----BEGIN ${label}-----\n${body.join('\n')}\n-----END ${label}-----`
}

// Vendor tokens are assembled from parts so secret scanners reading the repository do not
// mistake these fixtures for leaked credentials.
const GITHUB_TOKEN = `${'ghp'}_${'a1B2c3D4e5F6g7H8i9J0'}${'k1L2m3N4o5P6q7R8'}`
const GITHUB_PAT = `${'github'}_pat_11ABCDEFG0123456789_${'abcdefghijklmnopqrstuvwxyzABCDEFGH'}`
const SLACK_BOT_TOKEN = `${'xoxb'}-123456789012-1234567890123-${'AbCdEfGhIjKlMnOpQrStUvWx'}`
const SLACK_WEBHOOK = `https://hooks.slack.com/services/${'T0123ABCD'}/${'B0456EFGH'}/${'aBcDeFgHiJkLmNoPqRsTuVwX'}`
const STRIPE_LIVE = `${'sk'}_live_${'4eC39HqLyjWDarjtT1zdp7dc'}`
const STRIPE_RESTRICTED = `${'rk'}_test_${'51HxYzAbCdEf9876543210'}`
const OPENAI_PROJECT_KEY = `${'sk'}-proj-${'Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z'}`
const OPENAI_LEGACY_KEY = `${'sk'}-${'T3BlbkFJ8xQ2mN7pL4kR9sV1wY6zA0bC3dE5fG7hJ2'}`
const AWS_ACCESS_KEY_ID = `${'AKIA'}IOSFODNN7EXAMPLE`
const AWS_SECRET = `${'wJalrXUtnFEMI'}/K7MDENG/bPxRfiCYEXAMPLEKEY`
const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'
const RANDOM_SECRET = 'Zx8Kp2Lm9Qr4Tv7Wy1Bn5Cd3Fg6Hj0'

describe('detectors find what they are for', () => {
  it.each<[string, string, DetectorName, string]>([
    ['a plain address', 'mail jane.doe@example.com today', 'email', 'jane.doe@example.com'],
    [
      'a tagged address before a full stop',
      'to ops+alerts@mail.example.co.uk.',
      'email',
      'ops+alerts@mail.example.co.uk',
    ],
    [
      'an address in angle brackets',
      'From: "Jane" <jane_doe-1@sub.example.org>',
      'email',
      'jane_doe-1@sub.example.org',
    ],
    ['a UK number in E.164 with spaces', 'call +44 20 7946 0018 now', 'phone', '+44 20 7946 0018'],
    ['a US number in E.164 with spaces', 'call +1 202 555 0143', 'phone', '+1 202 555 0143'],
    ['a compact E.164 number', 'tel:+12025550143', 'phone', '+12025550143'],
    [
      'a US number with the area code in parentheses',
      'office (202) 555-0143 ext',
      'phone',
      '(202) 555-0143',
    ],
    ['a dashed US number', 'cell: 202-555-0143', 'phone', '202-555-0143'],
    ['a dotted US number', 'cell 202.555.0143.', 'phone', '202.555.0143'],
    [
      'a US number with country code and parentheses',
      '+1 (202) 555-0143',
      'phone',
      '+1 (202) 555-0143',
    ],
    ['a national number with trunk 0', 'ring 020 7946 0018', 'phone', '020 7946 0018'],
    ['a spaced Visa number', 'card 4111 1111 1111 1111 exp 12/27', 'card', '4111 1111 1111 1111'],
    ['a dashed Mastercard number', 'card 5555-5555-5555-4444', 'card', '5555-5555-5555-4444'],
    ['a bare Visa number', 'pan=4012888888881881;', 'card', '4012888888881881'],
    ['an Amex number in 4-6-5 groups', 'amex 3782 822463 10005', 'card', '3782 822463 10005'],
    ['a 2-series Mastercard', '2223003122003222', 'card', '2223003122003222'],
    ['a Discover number', '6011111111111117', 'card', '6011111111111117'],
    [
      'an IBAN in print form',
      'pay GB82 WEST 1234 5698 7654 32 now',
      'iban',
      'GB82 WEST 1234 5698 7654 32',
    ],
    [
      'an IBAN in electronic form',
      'iban: DE89370400440532013000',
      'iban',
      'DE89370400440532013000',
    ],
    ['the shortest IBAN (Norway)', 'NO9386011117947', 'iban', 'NO9386011117947'],
    ['a dashed SSN', 'SSN 123-45-6789.', 'us_ssn', '123-45-6789'],
    ['a bare SSN after its label', '{"ssn":"219099998"}', 'us_ssn', '219099998'],
    [
      'a bare SSN after "social security number"',
      'Social Security Number: 536225512',
      'us_ssn',
      '536225512',
    ],
    ['a JWT', `Authorization: Bearer ${JWT}`, 'jwt', JWT],
    ['an AWS access key id', `key=${AWS_ACCESS_KEY_ID}&x=1`, 'aws_key', AWS_ACCESS_KEY_ID],
    [
      'an AWS secret assigned to its name',
      `aws_secret_access_key = ${AWS_SECRET}`,
      'aws_key',
      AWS_SECRET,
    ],
    ['an AWS secret in JSON', `{"AWS_SECRET_ACCESS_KEY": "${AWS_SECRET}"}`, 'aws_key', AWS_SECRET],
    ['a classic GitHub token', `token ${GITHUB_TOKEN}`, 'github_token', GITHUB_TOKEN],
    ['a fine-grained GitHub token', GITHUB_PAT, 'github_token', GITHUB_PAT],
    ['a Slack bot token', `SLACK_TOKEN=${SLACK_BOT_TOKEN}`, 'slack_token', SLACK_BOT_TOKEN],
    ['a Slack webhook URL', `post to ${SLACK_WEBHOOK} please`, 'slack_token', SLACK_WEBHOOK],
    ['a Stripe live secret key', `"${STRIPE_LIVE}"`, 'stripe_key', STRIPE_LIVE],
    ['a Stripe restricted test key', STRIPE_RESTRICTED, 'stripe_key', STRIPE_RESTRICTED],
    [
      'an OpenAI project key',
      `OPENAI_API_KEY=${OPENAI_PROJECT_KEY}`,
      'api_key',
      OPENAI_PROJECT_KEY,
    ],
    ['a legacy OpenAI key', OPENAI_LEGACY_KEY, 'api_key', OPENAI_LEGACY_KEY],
    ['a random high-entropy token', `session ${RANDOM_SECRET} ok`, 'secret', RANDOM_SECRET],
    [
      'padded base64 key material',
      'k: q8Vx2LmN5pR7tW1yZ3bC6dF9gH0jK4sA==,',
      'secret',
      'q8Vx2LmN5pR7tW1yZ3bC6dF9gH0jK4sA==',
    ],
    [
      'Basic credentials (user:password)',
      'Basic YWxhZGRpbjpvcGVuc2VzYW1lMTIz',
      'secret',
      'YWxhZGRpbjpvcGVuc2VzYW1lMTIz',
    ],
    [
      'a hex secret assigned to a key name',
      'api_key=3f9a0c6e1b7d4f2a8c5e9b0d1f3a7c6e',
      'secret',
      '3f9a0c6e1b7d4f2a8c5e9b0d1f3a7c6e',
    ],
  ])('finds %s', (_, text, detector, value) => {
    expect(found(text)).toEqual([[detector, value]])
  })

  it.each([
    'RSA PRIVATE KEY',
    'EC PRIVATE KEY',
    'OPENSSH PRIVATE KEY',
    'ENCRYPTED PRIVATE KEY',
    'PRIVATE KEY',
    'PGP PRIVATE KEY BLOCK',
  ])('finds a whole %s PEM block, not the secrets inside it', (label) => {
    const key = pemBlock(label, 25)
    expect(found(`config:\n${key}\nrest`)).toEqual([['private_key', key]])
  })

  it('finds a PEM key written inside a JSON string', () => {
    const key = pemBlock('PRIVATE KEY', 3).replaceAll('\n', '\\n')
    expect(found(`{"private_key": "${key}\\n"}`)).toEqual([['private_key', key]])
  })

  it('still masks the lines of a PEM key cut before its END line', () => {
    const truncated = pemBlock('RSA PRIVATE KEY', 2).split('\n').slice(0, 3).join('\n')
    expect(found(truncated).map(([detector]) => detector)).toEqual(['secret', 'secret'])
  })

  it('prefers a Stripe key over the generic sk- API key and a JWT over secret', () => {
    expect(found(`${STRIPE_LIVE} ${JWT}`).map(([detector]) => detector)).toEqual([
      'stripe_key',
      'jwt',
    ])
  })

  it('finds several values in one text, in order', () => {
    const text = `Jane <jane@example.com>, +44 20 7946 0018, card 4111111111111111, ${AWS_ACCESS_KEY_ID}`
    expect(found(text)).toEqual([
      ['email', 'jane@example.com'],
      ['phone', '+44 20 7946 0018'],
      ['card', '4111111111111111'],
      ['aws_key', AWS_ACCESS_KEY_ID],
    ])
  })

  it('runs only the detectors it is given', () => {
    const text = 'jane@example.com 4111 1111 1111 1111'
    expect(found(text, new Set(['card']))).toEqual([['card', '4111 1111 1111 1111']])
    expect(found(text, new Set())).toEqual([])
  })

  it('leaves out matches that start before `from` (stream context)', () => {
    const text = 'a@example.com b@example.com'
    expect(findSensitive(text, ALL, 1)).toEqual([{ start: 14, end: 27, detector: 'email' }])
  })

  it('keeps every match within what a stream holds back', () => {
    expect(MAX_MATCH_CHARS).toBeLessThan(DEFAULT_MAX_MATCH_CHARS)
    const key = pemBlock('RSA PRIVATE KEY', 100) // 6.4 K characters, an 8192-bit key
    expect(found(key)).toEqual([['private_key', key]])
  })
})

describe('detectors leave ordinary data alone', () => {
  it.each([
    ['an order number', 'ORD-2024-000123'],
    ['a hash-prefixed order number', 'order #100045678 shipped'],
    ['a UUID', '123e4567-e89b-12d3-a456-426614174000'],
    ['an all-digit UUID', '12345678-1234-1234-1234-123456789012'],
    ['an ISO timestamp', '2026-01-02T03:04:05Z'],
    ['a timestamp with a space', '2026-01-02 03:04:05.123'],
    ['epoch milliseconds', 'at 1767322800000'],
    ['epoch seconds', 'at 1767322800'],
    ['an IPv4 address', 'from 192.168.100.200 and 10.0.0.1'],
    ['an IPv6 address', 'fe80::1ff:fe23:4567:890a'],
    ['a semantic version', 'v1.22.3-beta.4+build.5678'],
    ['a price', '$1,234.56 and €1.234.567,89'],
    ['an amount with many digits', 'total 1234567890123.45'],
    ['a git commit SHA', 'e83c5163316f89bfbde7d9ab23ca2e25604af290'],
    ['a SHA-256 digest', 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'],
    ['a 16-digit number failing Luhn', '1234567812345678'],
    ['a Visa-prefixed number failing Luhn', '4111 1111 1111 1112'],
    ['an IBAN failing mod-97', 'GB82 WEST 1234 5698 7654 33'],
    ['an IBAN of the wrong length', 'GB82WEST123456987654'],
    ['an SSN with area 000', '000-12-3456'],
    ['an SSN with area 666', '666-12-3456'],
    ['an SSN with group 00', '123-00-4567'],
    ['the voided SSN from a wallet insert', '078-05-1120'],
    ['nine bare digits without an SSN label', 'ref 536225512'],
    ['a US-shaped number with area code 123', '123-456-7890'],
    ['a dashed id longer than a card', '4111-1111-1111-1111-2222'],
    ['ordinary prose', 'The quick brown fox jumps over the lazy dog; then it rests.'],
    ['a file path', '/usr/local/lib/node_modules/typescript/bin/tsc'],
    ['a Windows path', 'C:\\Program Files\\Gatehouse\\config\\settings.yaml'],
    ['a URL without credentials', 'https://example.com/api/v2/users/42?page=3&sort=name'],
    ['base64 of short text', 'SGVsbG8sIFdvcmxkIQ=='],
    ['base64 of a sentence', 'VGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcw=='],
    ['a camelCase identifier', 'createUserAccountWithEmailV2'],
    ['a kebab-case name with a version', 'Order-Confirmation-Email-Template-V2'],
    ['a snake_case column', 'customer_billing_address_line_2'],
    ['a Stripe object id', 'pi_3MtwBwLkdIwHu7ix28a3tqPa'],
    ['an sk- slug that is prose', 'sk-learn-pipeline-tutorial-notes'],
    ['a mention that is not an address', '@jane and user@localhost'],
    ['a JWT-looking string whose header is not JSON', 'eyJub3QganNvbg.eyJzdWIiOiIxIn0.sig'],
    ['a phone-shaped version', 'build 202.555.0143.7'],
    ['a date range', '2024-01-01/2024-12-31'],
    ['a tracking number', '1Z999AA10123456784'],
  ])('leaves %s alone', (_, text) => {
    expect(found(text)).toEqual([])
  })
})

describe('validators', () => {
  it('accepts numbers that pass Luhn and refuses one digit off', () => {
    expect(passesLuhn('79927398713')).toBe(true)
    expect(passesLuhn('79927398710')).toBe(false)
  })

  it('checks IBANs with ISO 7064 mod 97-10', () => {
    expect(passesIbanChecksum('GB82WEST12345698765432')).toBe(true)
    expect(passesIbanChecksum('GB28WEST12345698765432')).toBe(false)
  })

  it('refuses SSNs the SSA never issues', () => {
    expect(isPlausibleSsn('123', '45', '6789')).toBe(true)
    expect(isPlausibleSsn('900', '12', '3456')).toBe(false)
    expect(isPlausibleSsn('123', '45', '0000')).toBe(false)
    expect(isPlausibleSsn('219', '09', '9999')).toBe(false)
  })
})
