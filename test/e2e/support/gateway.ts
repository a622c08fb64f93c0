/** Talking to the running dev stack directly: as an agent or admin, and to the demo origin's stats. */
import { inject } from 'vitest'

/** A data-path request through the gateway with an agent token. */
export function asAgent(token: string, method: string, path: string, body?: unknown) {
  return fetch(`${inject('gatewayUrl')}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
}

/** A GET with the bootstrap admin token (the admin API, transcripts, exports). */
export function asAdmin(path: string): Promise<Response> {
  return fetch(`${inject('gatewayUrl')}${path}`, {
    headers: { authorization: `Bearer ${inject('adminToken')}` },
  })
}

/** The gateway's JSON error code of a refusal. */
export async function errorCode(response: Response): Promise<string> {
  const body = (await response.json()) as { error?: { code?: string } }
  return body.error?.code ?? `(no error body, status ${response.status})`
}

/** What reached the demo origin, per route; asked directly with the origin's own secret. */
export async function originStats(): Promise<{
  requests: Record<string, number>
  unauthorized: number
}> {
  const response = await fetch(`${inject('demoOriginUrl')}/_demo/stats`, {
    headers: { authorization: `Bearer ${inject('demoOriginToken')}` },
  })
  if (response.status !== 200) throw new Error(`demo origin stats: ${response.status}`)
  return response.json() as Promise<{ requests: Record<string, number>; unauthorized: number }>
}

/** Retries `check` until it stops throwing (the recorder closes sessions after the answer). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}
