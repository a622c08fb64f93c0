/** Talking to the Worker under test, as agents and administrators would. */
import { env, exports } from 'cloudflare:workers'
import { expect, inject } from 'vitest'
import type { PolicyDocumentInput } from '../../../src/policy/document.ts'

export const GATEWAY = 'https://gatehouse.test'

export function originUrl(): string {
  return `http://127.0.0.1:${inject('originPort')}`
}

/** A request to the gateway through its real fetch handler. */
export function gatewayFetch(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`${GATEWAY}${path}`, init))
}

export function asAgent(token: string, init: RequestInit = {}): RequestInit {
  const headers = new Headers(init.headers)
  headers.set('authorization', `Bearer ${token}`)
  return { ...init, headers }
}

/** An admin API call with the bootstrap admin token; JSON bodies are serialised. */
export async function admin(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {}
): Promise<Response> {
  return gatewayFetch(`/v1/admin${path}`, {
    method,
    headers: {
      authorization: `Bearer ${env.ADMIN_TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  })
}

export async function adminJson<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
  expectedStatus = 200
): Promise<T> {
  const response = await admin(method, path, body)
  const text = await response.text()
  expect(response.status, text).toBe(expectedStatus)
  return (text ? JSON.parse(text) : undefined) as T
}

export async function putHttpConnection(
  name: string,
  target: Record<string, unknown>,
  credential?: Record<string, unknown> | null
): Promise<void> {
  const response = await admin('PUT', `/connections/${name}`, {
    kind: 'http',
    target,
    ...(credential === undefined ? {} : { credential }),
  })
  expect([200, 201], await response.clone().text()).toContain(response.status)
}

export async function applyPolicy(document: PolicyDocumentInput): Promise<{ version: number }> {
  return adminJson('PUT', '/policy', document)
}

export async function mintToken(
  name: string,
  connections: string[],
  ttlSeconds?: number
): Promise<{ token: string; id: string }> {
  return adminJson(
    'POST',
    '/tokens',
    { name, connections, ...(ttlSeconds ? { ttlSeconds } : {}) },
    201
  )
}

export async function errorOf(
  response: Response
): Promise<{ status: number; code: string; message: string }> {
  const body = (await response.json()) as { error: { code: string; message: string } }
  return { status: response.status, code: body.error.code, message: body.error.message }
}

type SessionRow = {
  id: string
  status: string
  outcome: string
  commands: number
  allowed: number
  blocked: number
  errors: number
  events: number
  callerId: string
  connectionName: string
  protocol: string
  bytesUp: number
  bytesDown: number
  transcriptPrefix: string
  lastHash: string | null
}

/** Recording finishes in waitUntil; wait until the session's index row says closed. */
export async function closedSession(id: string, timeoutMs = 5_000): Promise<SessionRow> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const response = await admin('GET', `/sessions/${id}`)
    if (response.status === 200) {
      const row = (await response.json()) as SessionRow
      if (row.status === 'closed') return row
    } else {
      await response.body?.cancel()
    }
    if (Date.now() > deadline) throw new Error(`session ${id} did not close within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

export type RecordedEvent = {
  v: number
  sid: string
  seq: number
  at: string
  type: string
  prev: string | null
  data: Record<string, unknown>
}

export async function transcriptOf(id: string): Promise<RecordedEvent[]> {
  await closedSession(id)
  const response = await admin('GET', `/sessions/${id}/transcript`)
  expect(response.status).toBe(200)
  return (await response.text())
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as RecordedEvent)
}

/** Sessions of a caller (newest first), from the admin API. */
export async function sessionsOf(callerId: string): Promise<SessionRow[]> {
  const body = await adminJson<{ sessions: SessionRow[] }>(
    'GET',
    `/sessions?caller=${encodeURIComponent(callerId)}&limit=200`
  )
  return body.sessions
}
