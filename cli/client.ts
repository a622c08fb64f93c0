/**
 * The CLI's HTTP client for the gateway. Every failure becomes one of two typed errors:
 * a refusal the gateway sent (`{error:{code,message,data}}`), or a gateway that could not
 * be reached or did not answer like Gatehouse. Commands never see a raw fetch error.
 */

/** How long a single admin call may take before the CLI gives up. */
const REQUEST_TIMEOUT_MS = 30_000

/** A refusal or failure reported by the gateway, with its stable code. */
export class GatewayError extends Error {
  override readonly name = 'GatewayError'
  readonly code: string
  readonly status: number
  readonly data: unknown

  constructor(code: string, message: string, status: number, data?: unknown) {
    super(message)
    this.code = code
    this.status = status
    this.data = data
  }
}

/** Nothing answered at the gateway URL (refused, DNS failure, timeout). */
export class GatewayUnreachableError extends Error {
  override readonly name = 'GatewayUnreachableError'
  readonly code = 'gateway.unreachable'
  readonly url: string

  constructor(url: string, reason: string) {
    super(`Could not reach the gateway at ${url} (${reason}).`)
    this.url = url
  }
}

export type RequestOptions = {
  /** Sent as JSON with `Content-Type: application/json`. */
  json?: unknown
  /** Sent as is, with `contentType`. */
  body?: string
  contentType?: string
  accept?: string
  headers?: Record<string, string | undefined>
  query?: Record<string, string | number | boolean | undefined>
}

export type RawResponse = { status: number; contentType: string; text: string }

export type ClientOptions = {
  /** Base URL of the gateway, e.g. http://127.0.0.1:8787 */
  gateway: string
  /** Admin token, agent token or OIDC JWT; omitted means no Authorization header. */
  token?: string | undefined
}

export class GatehouseClient {
  readonly gateway: string
  readonly #token: string | undefined

  constructor(options: ClientOptions) {
    this.gateway = options.gateway.replace(/\/+$/, '')
    this.#token = options.token || undefined
  }

  /** Calls the gateway and parses its JSON answer; throws GatewayError on any non-2xx. */
  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.raw(method, path, options)
    if (response.status === 204) return undefined as T
    return parseJson(response, this.gateway) as T
  }

  /** Calls the gateway and returns the body as text (2xx only). */
  async raw(method: string, path: string, options: RequestOptions = {}): Promise<RawResponse> {
    const response = await this.#fetch(method, path, options)
    const result: RawResponse = {
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      text: await response.text(),
    }
    if (response.status >= 200 && response.status < 300) return result
    throw refusalFrom(result, this.gateway)
  }

  /** Calls the gateway and returns the body's bytes exactly (2xx only). */
  async bytes(method: string, path: string, options: RequestOptions = {}): Promise<Uint8Array> {
    const response = await this.#fetch(method, path, options)
    if (response.status >= 200 && response.status < 300) {
      return new Uint8Array(await response.arrayBuffer())
    }
    throw refusalFrom(
      {
        status: response.status,
        contentType: response.headers.get('content-type') ?? '',
        text: await response.text(),
      },
      this.gateway
    )
  }

  async #fetch(method: string, path: string, options: RequestOptions): Promise<Response> {
    const url = new URL(`${this.gateway}${path}`)
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(key, String(value))
    }
    const headers = new Headers()
    if (this.#token) headers.set('authorization', `Bearer ${this.#token}`)
    headers.set('accept', options.accept ?? 'application/json')
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (value !== undefined) headers.set(name, value)
    }
    let body: string | undefined
    if (options.json !== undefined) {
      headers.set('content-type', 'application/json')
      body = JSON.stringify(options.json)
    } else if (options.body !== undefined) {
      headers.set('content-type', options.contentType ?? 'text/plain')
      body = options.body
    }

    try {
      return await fetch(url, {
        method,
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      })
    } catch (error) {
      throw new GatewayUnreachableError(this.gateway, describeFetchFailure(error))
    }
  }
}

function parseJson(response: RawResponse, gateway: string): unknown {
  try {
    return JSON.parse(response.text)
  } catch {
    throw new GatewayError(
      'gateway.bad_response',
      `${gateway} answered ${response.status} with a body that is not JSON; is this a Gatehouse gateway?`,
      response.status
    )
  }
}

/** Turns a non-2xx answer into a GatewayError, keeping the gateway's code and data. */
function refusalFrom(response: RawResponse, gateway: string): GatewayError {
  let body: unknown
  try {
    body = JSON.parse(response.text)
  } catch {}
  const error =
    typeof body === 'object' && body !== null && 'error' in body ? body.error : undefined
  if (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    typeof error.code === 'string' &&
    'message' in error &&
    typeof error.message === 'string'
  ) {
    return new GatewayError(
      error.code,
      error.message,
      response.status,
      'data' in error ? error.data : undefined
    )
  }
  return new GatewayError(
    'gateway.bad_response',
    `${gateway} answered ${response.status} without a Gatehouse error body; is this a Gatehouse gateway?`,
    response.status
  )
}

/** Node's fetch hides the socket error in `cause`; surface the part a person can act on. */
function describeFetchFailure(error: unknown): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') {
    return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`
  }
  const cause = error instanceof Error ? error.cause : undefined
  if (cause instanceof Error) {
    const code = 'code' in cause && typeof cause.code === 'string' ? cause.code : undefined
    return code ?? cause.message
  }
  return error instanceof Error ? error.message : String(error)
}
