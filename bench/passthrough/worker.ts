/**
 * The baseline for the proxy benchmark: a bare Worker that forwards every request to the
 * origin and does nothing else, run by the same `wrangler dev` as the gateway.
 */
export default {
  fetch(request: Request, env: { ORIGIN_URL: string }): Promise<Response> {
    const url = new URL(request.url)
    return fetch(`${env.ORIGIN_URL}${url.pathname}${url.search}`, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
    })
  },
}
