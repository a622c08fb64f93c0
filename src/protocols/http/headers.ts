/**
 * Header hygiene at both ends of the proxy. Toward the origin: drop the caller's
 * credentials and hop-by-hop headers (RFC 9110 §7.6.1), inject the connection's own
 * credential. Toward the caller: drop hop-by-hop headers.
 */
import type { HttpCredential } from '../../connections/connection.ts'
import { toBase64, utf8 } from '../../encoding.ts'

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])

/** Never forwarded to the origin: the caller's Gatehouse credential and gateway/edge internals. */
const CALLER_ONLY = new Set([
  'authorization',
  'host',
  'content-length',
  'expect',
  'cf-connecting-ip',
  'x-real-ip',
])
const CALLER_ONLY_PREFIXES = ['x-gatehouse-', 'cf-']

/** Header values that must never reach a transcript. */
const SECRET_HEADER = /authorization|cookie|token|secret|password|api-?key|session/i

export const SESSION_HEADER = 'x-gatehouse-session'

function connectionListed(headers: Headers): Set<string> {
  const listed = new Set<string>()
  for (const name of (headers.get('connection') ?? '').split(',')) {
    const trimmed = name.trim().toLowerCase()
    if (trimmed) listed.add(trimmed)
  }
  return listed
}

export function toOriginHeaders(
  incoming: Headers,
  credential: HttpCredential | null,
  sessionId: string
): Headers {
  const listed = connectionListed(incoming)
  const outgoing = new Headers()
  for (const [name, value] of incoming) {
    if (HOP_BY_HOP.has(name) || listed.has(name) || CALLER_ONLY.has(name)) continue
    if (CALLER_ONLY_PREFIXES.some((prefix) => name.startsWith(prefix))) continue
    outgoing.append(name, value)
  }
  if (credential) applyCredential(outgoing, credential)
  outgoing.set(SESSION_HEADER, sessionId)
  return outgoing
}

function applyCredential(headers: Headers, credential: HttpCredential): void {
  switch (credential.type) {
    case 'bearer':
      headers.set('authorization', `Bearer ${credential.token}`)
      return
    case 'basic':
      headers.set(
        'authorization',
        `Basic ${toBase64(utf8(`${credential.username}:${credential.password}`))}`
      )
      return
    case 'header':
      headers.set(credential.name, credential.value)
      return
  }
}

export function toCallerHeaders(origin: Headers): Headers {
  const listed = connectionListed(origin)
  const outgoing = new Headers()
  for (const [name, value] of origin) {
    if (HOP_BY_HOP.has(name) || listed.has(name)) continue
    outgoing.append(name, value)
  }
  return outgoing
}

/** The caller's headers as recorded: secrets replaced, so transcripts can be shared. */
export function headersForTranscript(headers: Headers): Record<string, string> {
  const recorded: Record<string, string> = {}
  for (const [name, value] of headers) {
    recorded[name] = SECRET_HEADER.test(name) ? '[redacted]' : value
  }
  return recorded
}
