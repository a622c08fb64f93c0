/**
 * Masking of HTTP responses from a real local origin: JSON by path and detectors, chunked
 * so values straddle chunk boundaries, compressed bodies decoded and masked, plain text
 * by detectors, and transcripts that hold no raw value.
 */
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, it } from 'vitest'
import { deriveMaskingKey, maskFunction } from '../../src/masking/strategies.ts'
import { DETECTOR_NAMES } from '../../src/masking/types.ts'
import { ORIGIN_CUSTOMERS } from '../harness/origin-customers.ts'
import {
  applyPolicy,
  asAgent,
  closedSession,
  gatewayFetch,
  mintToken,
  originUrl,
  putHttpConnection,
  transcriptOf,
} from './support/gateway.ts'

const KEY = deriveMaskingKey(
  Uint8Array.from(atob(env.CREDENTIALS_KEY as string), (char) => char.charCodeAt(0))
)
const token = (value: string) => maskFunction('token', KEY)(value)
const partial = (value: string) => maskFunction('partial', KEY)(value)

let agent: string

beforeAll(async () => {
  await putHttpConnection('crm', { url: originUrl() })
  await putHttpConnection('crm-raw', { url: originUrl() })
  await applyPolicy({
    version: 1,
    connections: {
      crm: {
        grants: ['agent:crm-bot'],
        default: 'allow',
        masking: {
          paths: { '$.customers[*].email': 'token', '$..card.number': 'partial' },
          detectors: { all: 'redact' },
        },
      },
      'crm-raw': { grants: ['agent:crm-bot'], default: 'allow' },
    },
  })
  ;({ token: agent } = await mintToken('crm-bot', ['*']))
})

function get(path: string): Promise<Response> {
  return gatewayFetch(`/proxy/${path}`, asAgent(agent))
}

const MASKED = {
  customers: [
    {
      id: 1,
      order: 'ORD-2024-000123',
      email: token('ada@example.com'),
      card: { number: partial('4111 1111 1111 1111'), expires: '2029-04' },
      note: 'key [REDACTED] rotated on 2026-01-02T03:04:05Z',
    },
    {
      id: 2,
      order: 'ORD-2024-000124',
      email: token('grace@example.com'),
      card: { number: partial('5500 0055 5555 5559'), expires: '2030-01' },
      note: 'call [REDACTED] after 5pm',
    },
  ],
  next: null,
}

describe('JSON responses', () => {
  it.each([
    ['whole', 'customers'],
    ['chunked in 7-byte pieces', 'customers?chunk=7'],
    ['gzip', 'customers?encoding=gzip&chunk=13'],
    ['deflate', 'customers?encoding=deflate'],
  ])('masks by path and detector (%s)', async (_case, path) => {
    const response = await get(`crm/${path}`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-encoding')).toBeNull()
    expect(response.headers.get('x-gatehouse-masking')).toBe(
      `paths=2; detectors=${DETECTOR_NAMES.join(',')}`
    )
    expect(await response.json()).toEqual(MASKED)
  })

  it('passes the same body untouched on a connection without masking', async () => {
    const response = await get('crm-raw/customers?chunk=7')
    expect(await response.json()).toEqual({ customers: ORIGIN_CUSTOMERS, next: null })
  })

  it('passes a compressed body with a Content-Length through unmasked connections as sent', async () => {
    const response = await get('crm-raw/customers?encoding=gzip&length')
    expect(response.status).toBe(200)
    expect(response.headers.get('content-encoding')).toBe('gzip')
    // The gzip bytes and their length went out as the origin sent them; fetch decodes them.
    expect(await response.json()).toEqual({ customers: ORIGIN_CUSTOMERS, next: null })
  })

  it('refuses a compression it cannot decode rather than pass it unmasked', async () => {
    const response = await get('crm/customers?encoding=br')
    expect(response.status).toBe(502)
    const body = (await response.json()) as { error: { code: string } }
    expect(body.error.code).toBe('masking.unsupported_encoding')
  })
})

describe('text responses', () => {
  it('masks detector findings, also across chunk boundaries', async () => {
    const response = await get('crm/customers?format=text&chunk=5')
    expect(await response.text()).toBe(
      '[REDACTED] key [REDACTED] rotated on 2026-01-02T03:04:05Z\n[REDACTED] call [REDACTED] after 5pm'
    )
  })
})

describe('transcripts', () => {
  it('record what was masked and no raw value', async () => {
    const response = await gatewayFetch(
      '/proxy/crm/customers?chunk=7&contact=ada@example.com',
      asAgent(agent)
    )
    await response.arrayBuffer()
    const session = response.headers.get('x-gatehouse-session') as string
    await closedSession(session)
    const events = await transcriptOf(session)
    const text = JSON.stringify(events)
    for (const raw of ['ada@example.com', '4111 1111 1111 1111', 'AKIAIOSFODNN7EXAMPLE']) {
      expect(text).not.toContain(raw)
    }
    const outcome = events.find((event) => event.type === 'outcome')
    expect(outcome?.data.summary).toMatchObject({
      masked: expect.arrayContaining([
        { by: 'path:$.customers[*].email', count: 2 },
        { by: 'path:$..card.number', count: 2 },
      ]),
    })
  })
})
