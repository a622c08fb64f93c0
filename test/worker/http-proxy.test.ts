import { beforeAll, describe, expect, inject, it } from 'vitest'
import {
  applyPolicy,
  asAgent,
  closedSession,
  errorOf,
  GATEWAY,
  gatewayFetch,
  mintToken,
  originUrl,
  putHttpConnection,
  transcriptOf,
} from './support/gateway.ts'
import { arrivalsWith, uniqueMarker } from './support/origin.ts'

type Echo = {
  method: string
  url: string
  headers: Record<string, string | undefined>
  bodyBytes: number
  bodySha256: string
  body: string
}

let token: string

beforeAll(async () => {
  await putHttpConnection(
    'api',
    { url: `${originUrl()}/base` },
    { type: 'bearer', token: 'origin-secret-bearer' }
  )
  await putHttpConnection(
    'basic-api',
    { url: originUrl() },
    { type: 'basic', username: 'svc', password: 'pä55:word' }
  )
  await putHttpConnection(
    'header-api',
    { url: originUrl() },
    { type: 'header', name: 'X-Api-Key', value: 'k-123' }
  )
  await putHttpConnection('small-api', { url: originUrl(), maxBodyBytes: 1024 })
  await putHttpConnection('slow-api', { url: originUrl(), timeoutMs: 300 })
  await putHttpConnection('dead-api', { url: `http://127.0.0.1:${inject('deadPort')}` })
  await putHttpConnection('redirecting', { url: `${originUrl()}/base` })
  const grantAll = {
    grants: ['agent:proxy-tester'],
    rules: [{ name: 'all', action: 'allow' as const }],
  }
  await applyPolicy({
    version: 1,
    connections: {
      api: grantAll,
      'basic-api': grantAll,
      'header-api': grantAll,
      'small-api': grantAll,
      'slow-api': grantAll,
      'dead-api': grantAll,
      redirecting: grantAll,
    },
  })
  ;({ token } = await mintToken('proxy-tester', ['*']))
})

async function proxied(path: string, init: RequestInit = {}) {
  return gatewayFetch(`/proxy/${path}`, asAgent(token, init))
}

describe('forwarding', () => {
  it('preserves method, path under the target base, query and ordinary headers', async () => {
    const response = await proxied('api/users/42/orders?status=open&page=2', {
      method: 'PATCH',
      headers: {
        'x-request-id': 'abc',
        accept: 'application/json',
        'content-type': 'application/json',
      },
      body: '{"note":"hi"}',
    })
    expect(response.status).toBe(200)
    const echo = (await response.json()) as Echo
    expect(echo.method).toBe('PATCH')
    expect(echo.url).toBe('/base/users/42/orders?status=open&page=2')
    expect(echo.headers['x-request-id']).toBe('abc')
    expect(echo.headers.accept).toBe('application/json')
    expect(echo.body).toBe('{"note":"hi"}')
  })

  it('replaces the caller Authorization with the connection bearer credential', async () => {
    const echo = (await (await proxied('api/whoami')).json()) as Echo
    expect(echo.headers.authorization).toBe('Bearer origin-secret-bearer')
    expect(JSON.stringify(echo.headers)).not.toContain(token)
  })

  it('injects basic credentials, UTF-8 encoded', async () => {
    const echo = (await (await proxied('basic-api/x')).json()) as Echo
    const expected = btoa(String.fromCharCode(...new TextEncoder().encode('svc:pä55:word')))
    expect(echo.headers.authorization).toBe(`Basic ${expected}`)
  })

  it('injects a custom header credential and forwards no Authorization at all', async () => {
    const echo = (await (await proxied('header-api/x')).json()) as Echo
    expect(echo.headers['x-api-key']).toBe('k-123')
    expect(echo.headers.authorization).toBeUndefined()
  })

  it('drops hop-by-hop headers, headers named in Connection, and gateway headers toward the origin', async () => {
    const echo = (await (
      await proxied('api/x', {
        headers: {
          connection: 'x-secret-hop',
          'x-secret-hop': 'drop me',
          'proxy-authorization': 'Basic abc',
          te: 'trailers',
          'x-gatehouse-forged': 'nope',
          'cf-connecting-ip': '203.0.113.9',
        },
      })
    ).json()) as Echo
    expect(echo.headers['x-secret-hop']).toBeUndefined()
    expect(echo.headers['proxy-authorization']).toBeUndefined()
    expect(echo.headers.te).toBeUndefined()
    expect(echo.headers['x-gatehouse-forged']).toBeUndefined()
    expect(echo.headers['cf-connecting-ip']).toBeUndefined()
    expect(echo.headers['x-gatehouse-session']).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('drops hop-by-hop headers from the response and keeps every Set-Cookie', async () => {
    const response = await proxied('api/cookies')
    expect(response.headers.get('x-origin-private')).toBeNull()
    expect(response.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; Path=/'])
    expect(response.headers.get('x-gatehouse-session')).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('keeps the origin Content-Length and records the bytes sent', async () => {
    const response = await proxied('api/sized')
    const length = Number(response.headers.get('content-length'))
    expect(length).toBeGreaterThan(0)
    expect((await response.arrayBuffer()).byteLength).toBe(length)
    const session = await closedSession(response.headers.get('x-gatehouse-session') ?? '')
    expect(session.bytesDown).toBe(length)
  })

  it('passes origin error statuses through unchanged', async () => {
    const response = await proxied('api/status/418')
    expect(response.status).toBe(418)
  })

  it('streams a large response body through intact', async () => {
    const bytes = 8 * 1024 * 1024 + 123
    const response = await proxied(`api/stream?bytes=${bytes}`)
    expect(response.status).toBe(200)
    expect(response.headers.get('x-origin-hop')).toBe('kept')
    let received = 0
    for await (const chunk of response.body as ReadableStream<Uint8Array>) {
      received += chunk.byteLength
      expect(chunk.every((byte) => byte === 0x61)).toBe(true)
    }
    expect(received).toBe(bytes)
    const session = await closedSession(response.headers.get('x-gatehouse-session') ?? '')
    expect(session.bytesDown).toBe(bytes)
  })

  it('does not follow redirects and rewrites a Location back into the target to the gateway path', async () => {
    // The test's own fetch into the Worker would follow redirects; ask it not to.
    const manual = { redirect: 'manual' } as const
    const inside = await proxied(
      `redirecting/redirect?to=${encodeURIComponent(`${originUrl()}/base/next?x=1`)}`,
      manual
    )
    expect(inside.status).toBe(302)
    expect(inside.headers.get('location')).toBe(`${GATEWAY}/proxy/redirecting/next?x=1`)
    const outside = await proxied(
      `redirecting/redirect?to=${encodeURIComponent('https://elsewhere.example/x')}`,
      manual
    )
    expect(outside.status).toBe(302)
    expect(outside.headers.get('location')).toBe('https://elsewhere.example/x')
  })
})

describe('request bodies', () => {
  it('records a small body in the write-ahead command event', async () => {
    const response = await proxied('api/payments', { method: 'POST', body: '{"amount":12}' })
    const events = await transcriptOf(response.headers.get('x-gatehouse-session') ?? '')
    const command = events.find((event) => event.type === 'command')
    expect(command?.data.command).toMatchObject({
      method: 'POST',
      path: '/payments',
      body: { bytes: 13, text: '{"amount":12}' },
    })
  })

  it('streams a large body with its declared length and records its size and hash', async () => {
    const body = new Uint8Array(3 * 1024 * 1024).fill(7)
    const digest = [...new Uint8Array(await crypto.subtle.digest('SHA-256', body))]
      .map((byte) => byte.toString(16).padStart(2, '0'))
      .join('')
    const response = await proxied('api/upload', {
      method: 'PUT',
      body,
      headers: { 'content-length': String(body.length) },
    })
    const echo = (await response.json()) as Echo
    expect(echo.bodyBytes).toBe(body.length)
    expect(echo.bodySha256).toBe(digest)
    expect(echo.headers['content-length']).toBe(String(body.length))
    const events = await transcriptOf(response.headers.get('x-gatehouse-session') ?? '')
    expect(events.find((event) => event.type === 'command')?.data.command).toMatchObject({
      body: { bytes: body.length, streamed: true },
    })
    expect(events.find((event) => event.type === 'outcome')?.data).toMatchObject({
      bytesUp: body.length,
      summary: { status: 200, requestBodySha256: digest },
    })
  })

  it('accepts a body without a declared length (chunked) under the limit', async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('part-one,'))
        controller.enqueue(new TextEncoder().encode('part-two'))
        controller.close()
      },
    })
    const response = await proxied('api/chunked', { method: 'POST', body: stream })
    expect(((await response.json()) as Echo).body).toBe('part-one,part-two')
  })

  it('refuses a declared body over the limit with 413 and forwards nothing', async () => {
    const marker = uniqueMarker('too-large')
    const response = await proxied('small-api/upload', {
      method: 'POST',
      body: 'x'.repeat(1025),
      headers: { 'x-test-marker': marker },
    })
    expect(await errorOf(response)).toMatchObject({ status: 413, code: 'request.too_large' })
    expect(await arrivalsWith(marker)).toEqual([])
  })

  it('refuses a chunked body that grows past the limit with 413 and forwards nothing', async () => {
    const marker = uniqueMarker('chunked-too-large')
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 5; i++) controller.enqueue(new Uint8Array(300))
        controller.close()
      },
    })
    const response = await proxied('small-api/upload', {
      method: 'POST',
      body: stream,
      headers: { 'x-test-marker': marker },
    })
    expect(await errorOf(response)).toMatchObject({ status: 413, code: 'request.too_large' })
    expect(await arrivalsWith(marker)).toEqual([])
    const session = await closedSession(response.headers.get('x-gatehouse-session') ?? '')
    expect(session.outcome).toBe('refused')
  })

  it('refuses a GET that carries a body', async () => {
    const response = await proxied('api/x', { method: 'GET', headers: { 'content-length': '3' } })
    expect(await errorOf(response)).toMatchObject({ status: 400, code: 'request.invalid' })
  })
})

describe('origin failures', () => {
  it('answers 502 origin.unreachable when the origin refuses connections', async () => {
    const response = await proxied('dead-api/x')
    expect(await errorOf(response)).toMatchObject({ status: 502, code: 'origin.unreachable' })
    const session = await closedSession(response.headers.get('x-gatehouse-session') ?? '')
    expect(session).toMatchObject({ outcome: 'error', errors: 1 })
  })

  it('answers 504 origin.timeout when the origin is slower than the connection timeout', async () => {
    const response = await proxied('slow-api/slow?ms=2000')
    expect(await errorOf(response)).toMatchObject({ status: 504, code: 'origin.timeout' })
  })
})

describe('paths', () => {
  it.each([
    ['an encoded slash', 'api/admin%2Fusers'],
    ['an encoded backslash', 'api/admin%5Cusers'],
    ['an encoded NUL', 'api/admin%00'],
    ['malformed percent-encoding', 'api/%zz'],
    ['a ";" path parameter', 'api/admin;jsessionid=x/users'],
    ['an encoded ";" path parameter', 'api/admin%3Bx/users'],
  ])('refuses %s with 400 before anything is forwarded', async (_label, path) => {
    const marker = uniqueMarker('path')
    const response = await proxied(path, { headers: { 'x-test-marker': marker } })
    expect(await errorOf(response)).toMatchObject({ status: 400, code: 'request.ambiguous_path' })
    expect(await arrivalsWith(marker)).toEqual([])
  })

  it('treats a double-encoded dot segment as literal data, decoded once', async () => {
    // %252e decodes once to the text "%2e", which is a name, not a dot segment.
    const echo = (await (await proxied('api/%252e%252e/x')).json()) as Echo
    expect(echo.url).toBe('/base/%252e%252e/x')
  })

  it('collapses repeated slashes and forwards the canonical path', async () => {
    const echo = (await (await proxied('api//users///7')).json()) as Echo
    expect(echo.url).toBe('/base/users/7')
  })

  it('re-encodes path segments canonically', async () => {
    const echo = (await (await proxied("api/files/a%20b/%7Euser/x:y@z!$&'()*+,=")).json()) as Echo
    expect(echo.url).toBe("/base/files/a%20b/~user/x:y@z!$&'()*+,=")
  })

  it('forwards the bare connection path as the target base', async () => {
    const echo = (await (await proxied('api')).json()) as Echo
    expect(echo.url).toBe('/base/')
  })
})
