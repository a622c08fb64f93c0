/**
 * Signs a person in at the test provider without a browser: follows the authorization
 * request through the provider's development login and consent forms with plain fetch
 * and a small cookie jar, and returns the URL the provider sends the browser back to
 * (the gateway's callback with `code`, `state` and `iss`). Works in Node and in workerd.
 */

const MAX_STEPS = 20

/** Cookies by name, as a browser would keep them for one site (paths are ignored). */
class CookieJar {
  readonly #cookies = new Map<string, string>()

  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';')
      const separator = pair.indexOf('=')
      if (separator < 1) continue
      const name = pair.slice(0, separator).trim()
      const value = pair.slice(separator + 1).trim()
      const expired = attributes.some((attribute) => {
        const [key = '', setting = ''] = attribute.split('=').map((part) => part.trim())
        if (key.toLowerCase() === 'max-age') return Number(setting) <= 0
        if (key.toLowerCase() === 'expires') return Date.parse(setting) <= Date.now()
        return false
      })
      if (expired || value === '') this.#cookies.delete(name)
      else this.#cookies.set(name, value)
    }
  }

  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }
}

/**
 * Follows `authorizationUrl` at the provider, signs in as `login` and consents; returns the
 * redirect back to the client (which is not fetched). Throws with the provider's page when
 * it ends anywhere else.
 */
export async function signInAtProvider(authorizationUrl: string, login: string): Promise<string> {
  const providerOrigin = new URL(authorizationUrl).origin
  const jar = new CookieJar()
  let next: { url: string; init: RequestInit } = { url: authorizationUrl, init: {} }
  for (let step = 0; step < MAX_STEPS; step++) {
    const response = await fetch(next.url, {
      ...next.init,
      redirect: 'manual',
      headers: { ...(next.init.headers as Record<string, string>), cookie: jar.header() },
    })
    jar.store(response)
    const location = response.headers.get('location')
    if (location) {
      await response.body?.cancel()
      const target = new URL(location, next.url)
      if (target.origin !== providerOrigin) return target.href
      next = { url: target.href, init: {} }
      continue
    }
    const page = await response.text()
    const form = /<form[^>]*action="([^"]+)"[^>]*>[\s\S]*?name="prompt" value="(\w+)"/.exec(page)
    if (response.status !== 200 || !form?.[1] || !form[2]) {
      throw new Error(`the provider stopped at ${next.url} (${response.status}): ${page}`)
    }
    const fields = new URLSearchParams({ prompt: form[2] })
    if (form[2] === 'login') {
      fields.set('login', login)
      fields.set('password', 'any-password')
    }
    next = {
      url: new URL(form[1].replaceAll('&amp;', '&'), next.url).href,
      init: {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: fields.toString(),
      },
    }
  }
  throw new Error(`the provider did not send the browser back within ${MAX_STEPS} steps`)
}
