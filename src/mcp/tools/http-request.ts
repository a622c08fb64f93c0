/**
 * `http_request`: one request to an HTTP connection, through the same function as
 * `ANY /proxy/:connection/*` (proxyThroughSession): canonical path, policy, write-ahead,
 * hold, credential injection, masking and recording are the proxy's own. The answer is
 * read here (bounded) and returned as text.
 */
import { z } from 'zod'
import { concatBytes, fromBase64, sha256Hex, toBase64, utf8 } from '../../encoding.ts'
import type { HttpCommand } from '../../pipeline/types.ts'
import { ConnectionName } from '../../policy/document.ts'
import { PROXY_PREFIX, proxyThroughSession } from '../../protocols/http/proxy-request.ts'
import { type ReplayWait, replayWait, runToolSession } from '../tool-session.ts'
import { ApprovalId } from './approval-id.ts'
import {
  connectionEnum,
  defineTool,
  inputSchema,
  type KindTool,
  kindToolDescription,
  ReplayRefusal,
  type ToolCall,
} from './tool.ts'

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const
const MAX_PATH_CHARS = 8_192
const MAX_HEADERS = 64
const MAX_HEADER_VALUE_CHARS = 8_192
/** Request bodies over MCP; the /mcp request itself is capped at MAX_MCP_BODY_BYTES. */
const MAX_BODY_CHARS = 512 * 1024
/** Response bytes returned to the model; the rest is read and counted, not returned. */
export const MAX_RESULT_BODY_BYTES = 256 * 1024

/** RFC 9110 §5.1 field-name token. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** RFC 9110 §5.5 field value: no control characters but tab (so no CR or LF). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what it refuses.
const HEADER_VALUE = /^[^\u0000-\u0008\u000a-\u001f\u007f]*$/
/** Headers the gateway sets itself: the caller's own credential never goes to the origin. */
const GATEWAY_HEADERS = new Set([
  'authorization',
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'upgrade',
  'te',
  'trailer',
  'expect',
])
const GATEWAY_HEADER_PREFIXES = ['x-gatehouse-', 'cf-']

const HeaderFields = z
  .record(
    z.string().regex(HEADER_NAME, 'must be an HTTP header name'),
    z.string().max(MAX_HEADER_VALUE_CHARS).regex(HEADER_VALUE, {
      message: 'must not contain control characters or line breaks',
    })
  )
  .refine((headers) => Object.keys(headers).length <= MAX_HEADERS, {
    message: `at most ${MAX_HEADERS} headers`,
  })
  .superRefine((headers, ctx) => {
    for (const name of Object.keys(headers)) {
      const lower = name.toLowerCase()
      if (
        GATEWAY_HEADERS.has(lower) ||
        GATEWAY_HEADER_PREFIXES.some((prefix) => lower.startsWith(prefix))
      ) {
        ctx.addIssue({
          code: 'custom',
          message: `${name} is set by the gateway (it injects the connection's credential itself)`,
          path: [name],
        })
      }
    }
  })

function httpSchema(connection: z.ZodType<string>) {
  return z
    .object({
      connection: connection.describe('The HTTP connection to call.'),
      method: z.enum(METHODS).default('GET'),
      path: z
        .string()
        .min(1)
        .max(MAX_PATH_CHARS)
        .regex(/^\//, 'must start with "/"')
        .refine((path) => !path.includes('#'), 'must not contain a fragment (#)')
        .describe(
          "Path on the connection's base URL, with an optional ?query: /orders?status=open."
        ),
      headers: HeaderFields.optional().describe(
        'Request headers; Authorization is injected by the gateway, never sent by you.'
      ),
      body: z.string().max(MAX_BODY_CHARS).optional().describe('Request body as text (JSON, …).'),
      approvalId: ApprovalId.optional().describe(
        'Only when resending a request that was held for approval: the approval id it got.'
      ),
    })
    .strict()
    .refine((input) => input.body === undefined || !['GET', 'HEAD'].includes(input.method), {
      message: 'GET and HEAD requests cannot carry a body',
      path: ['body'],
    })
}

const HttpInput = httpSchema(ConnectionName)
type HttpInput = z.infer<typeof HttpInput>

/** What http_request runs: the arguments, or an approval's stored request (bytes as stored). */
type HttpCall = Omit<HttpInput, 'body'> & { body: Uint8Array | null }

export const httpRequestTool: KindTool = {
  kind: 'http',
  ...defineTool({
    name: 'http_request',
    input: HttpInput,
    definition: (grants) => ({
      name: 'http_request',
      title: 'Call an HTTP API',
      description: kindToolDescription(grants, 'http', [
        'Send one HTTP request to an HTTP connection through the Gatehouse gateway, which adds the credential, and get {status, headers, body} back (the body as text, masked where the policy says; base64 in bodyBase64 when it is not text).',
        'Every request is checked against the policy before it reaches the API and is recorded.',
      ]),
      inputSchema: inputSchema(httpSchema(connectionEnum(grants, 'http'))),
      annotations: { openWorldHint: true, destructiveHint: true },
    }),
    run: (call, input) =>
      runHttpTool(call, { ...input, body: input.body === undefined ? null : utf8(input.body) }),
  }),
  async replay(call, approval, waitMs, waiting) {
    const command = approval.command
    if (command.kind !== 'http') return new ReplayRefusal('it is not an HTTP request', false)
    const rebuilt = rebuildRequest(command)
    if (rebuilt instanceof ReplayRefusal) return rebuilt
    // The fingerprint covers the body's digest, not its recorded text: check the text too.
    if (
      command.body &&
      command.body.sha256 !== (await sha256Hex(rebuilt.body ?? new Uint8Array()))
    ) {
      return new ReplayRefusal('its body is stored masked', true)
    }
    return runHttpTool(
      call,
      { ...rebuilt, connection: approval.connection.name, approvalId: approval.id },
      replayWait(waitMs, waiting)
    )
  },
}

function runHttpTool(call: ToolCall, input: HttpCall, replay?: ReplayWait) {
  const [rawPath = '/', ...query] = input.path.split('?')
  return runToolSession(
    call,
    {
      tool: 'http_request',
      connection: input.connection,
      kinds: ['http'],
      arguments: {
        connection: input.connection,
        method: input.method,
        path: input.path,
        ...(input.headers ? { headers: input.headers } : {}),
        ...(input.body ? { bodyBytes: input.body.length } : {}),
      },
      ...(input.approvalId ? { approvalId: input.approvalId } : {}),
      ...replay,
    },
    async (session, held) => {
      const request = new Request(`${call.gateway.publicUrl}${PROXY_PREFIX}${input.connection}`, {
        method: input.method,
        headers: input.headers ?? {},
        body: input.body,
      })
      const response = await proxyThroughSession(session, call.gateway, {
        request,
        rawPath,
        query: canonicalQuery(query.join('?')),
        hold: held.hold,
      })
      const result = await readResponse(response)
      return {
        result,
        summary: {
          status: result.status,
          bodyBytes: result.bodyBytes,
          truncated: result.truncated,
        },
      }
    }
  )
}

/** The query as an HTTP client would send it: URL-parsed, so `a b` becomes `a%20b`. */
function canonicalQuery(query: string): string {
  return query ? new URL(`http://query.invalid/?${query}`).search.slice(1) : ''
}

type HttpResult = {
  status: number
  headers: Record<string, string>
  body?: string
  bodyBase64?: string
  bodyBytes: number
  truncated: boolean
}

/** Reads the (already masked) answer: the first MAX_RESULT_BODY_BYTES kept, the rest counted. */
async function readResponse(response: Response): Promise<HttpResult> {
  const headers: Record<string, string> = {}
  for (const [name, value] of response.headers) headers[name] = value
  let stream = response.body
  const encoding = (response.headers.get('content-encoding') ?? 'identity').toLowerCase()
  if (stream && (encoding === 'gzip' || encoding === 'deflate')) {
    // An unmasked body passes with its encoding; a model needs the text.
    stream = stream.pipeThrough(new DecompressionStream(encoding))
    delete headers['content-encoding']
    delete headers['content-length']
  }
  const kept: Uint8Array[] = []
  let bytes = 0
  let keptBytes = 0
  if (stream) {
    for await (const chunk of stream) {
      bytes += chunk.byteLength
      if (keptBytes < MAX_RESULT_BODY_BYTES) {
        const part = chunk.subarray(0, MAX_RESULT_BODY_BYTES - keptBytes)
        kept.push(part)
        keptBytes += part.byteLength
      }
    }
  }
  const body = concatBytes(kept)
  const truncated = bytes > keptBytes
  const base = { status: response.status, headers, bodyBytes: bytes, truncated }
  if (!bytes) return base
  const binary = encoding !== 'identity' && encoding !== 'gzip' && encoding !== 'deflate'
  if (!binary) {
    try {
      // `stream: true` lets a cut multi-byte character at the end pass.
      const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body, {
        stream: truncated,
      })
      return { ...base, body: text }
    } catch {}
  }
  return { ...base, bodyBase64: toBase64(body) }
}

/** The request an approval stores, as http_request runs it, or why it cannot be rebuilt. */
function rebuildRequest(command: HttpCommand): Omit<HttpCall, 'connection'> | ReplayRefusal {
  // The proxy records the caller's own Authorization; http_request never sends one.
  if ('authorization' in command.headers) {
    return new ReplayRefusal(
      'it was requested through the HTTP proxy; resend it there with X-Gatehouse-Approval',
      false
    )
  }
  if (!(METHODS as readonly string[]).includes(command.method)) {
    return new ReplayRefusal(`http_request cannot send ${command.method} requests`, false)
  }
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(command.headers)) {
    if (GATEWAY_HEADERS.has(name)) continue
    if (value === '[redacted]')
      return new ReplayRefusal(`its ${name} header is stored redacted`, true)
    headers[name] = value
  }
  let body: Uint8Array | null = null
  if (command.body) {
    if (command.body.text !== undefined) body = utf8(command.body.text)
    else if (command.body.base64 !== undefined) body = fromBase64(command.body.base64)
    else return new ReplayRefusal('its body was too large to be stored', false)
  }
  const path = command.path
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/')
  return {
    method: command.method as HttpInput['method'],
    path: command.query ? `${path}?${command.query}` : path,
    headers,
    body,
  }
}
