import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import type { OidcConfig } from '../../src/config.ts'
import { verifyIdToken } from '../../src/identity/oidc.ts'
import worker from '../../src/index.ts'
import { APPROVALS_CLIENT } from '../harness/oidc-clients.ts'
import { approvalRow, pendingApproval, personToken } from './support/approvals.ts'
import {
  callback,
  csrfOf,
  LOGIN_COOKIE,
  openCookie,
  pageCode,
  postForm,
  providerCallback,
  SESSION_COOKIE,
  sealCookie,
  setCookie,
  signIn,
  startLogin,
} from './support/approver-session.ts'
import {
  adminJson,
  applyPolicy,
  asAgent,
  GATEWAY,
  gatewayFetch,
  originUrl,
  putHttpConnection,
} from './support/gateway.ts'
import { signedByProvider, unsignedToken } from './support/oidc.ts'
import { arrivalsWith, uniqueMarker } from './support/origin.ts'

let agentToken: string
let carolToken: string

beforeAll(async () => {
  await putHttpConnection('page-api', { url: originUrl() })
  await applyPolicy({
    version: 1,
    groups: { 'payments-approvers': { members: ['idp:payments-approvers'] } },
    connections: {
      'page-api': {
        grants: ['agent:page-agent', 'user:carol'],
        approval: { approvers: ['group:payments-approvers'] },
        rules: [
          {
            name: 'payments',
            match: { methods: ['POST'], paths: ['/payments/**'] },
            action: 'require_approval',
            reason: 'Moving money needs a human.',
          },
          { name: 'the-rest', action: 'allow' },
        ],
      },
    },
  })
  ;({ token: agentToken } = await adminJson<{ token: string }>(
    'POST',
    '/tokens',
    { name: 'page-agent', connections: ['page-api'] },
    201
  ))
  carolToken = await personToken('carol', ['payments-approvers'])
})

/** A payment held for approval; `wait: false` answers 202 at once instead of waiting. */
async function holdPayment(options: { token?: string } = {}) {
  const marker = uniqueMarker('page')
  const response = await gatewayFetch(
    `/proxy/page-api/payments/${marker}?amount=5`,
    asAgent(options.token ?? agentToken, {
      method: 'POST',
      headers: {
        'x-test-marker': marker,
        'content-type': 'application/json',
        prefer: 'wait=0',
      },
      body: `{"amount":5,"note":"${marker}"}`,
    })
  )
  expect(response.status, await response.clone().text()).toBe(202)
  await response.body?.cancel()
  const id = response.headers.get('x-gatehouse-approval') ?? ''
  expect(id).toMatch(/^[0-9a-f]{64}$/)
  return { id, marker, path: `/approvals/${id}` }
}

function page(path: string, cookie?: string): Promise<Response> {
  return gatewayFetch(path, { redirect: 'manual', headers: cookie ? { cookie } : {} })
}

const COOKIE_ATTRIBUTES = '; Path=/; HttpOnly; Secure; SameSite=Lax'
const SOME_ID = 'a'.repeat(64)

describe('sign-in', () => {
  it('sends the browser to the IdP with PKCE S256, state and nonce kept in a signed cookie', async () => {
    const first = await gatewayFetch(`/auth/login?return=%2Fapprovals%2F${SOME_ID}`, {
      redirect: 'manual',
    })
    expect(first.status).toBe(302)
    const location = new URL(first.headers.get('location') ?? '')
    expect(`${location.origin}${location.pathname}`).toBe(`${inject('oidcIssuer')}/auth`)
    const query = Object.fromEntries(location.searchParams)
    expect(query).toEqual({
      client_id: APPROVALS_CLIENT.id,
      redirect_uri: `${GATEWAY}/auth/callback`,
      response_type: 'code',
      scope: 'openid email groups',
      state: expect.stringMatching(/^[\w-]{43}$/),
      nonce: expect.stringMatching(/^[\w-]{43}$/),
      code_challenge: expect.stringMatching(/^[\w-]{43}$/),
      code_challenge_method: 'S256',
    })
    const { line } = setCookie(first, LOGIN_COOKIE)
    expect(line).toMatch(new RegExp(`^${LOGIN_COOKIE}=[^;]+; Max-Age=600${COOKIE_ATTRIBUTES}$`))
    const kept = openCookie(setCookie(first, LOGIN_COOKIE).pair).payload
    expect(kept).toMatchObject({ state: query.state, nonce: query.nonce })
    expect(JSON.stringify(kept)).not.toContain(query.code_challenge)

    const second = new URL((await startLogin(`/approvals/${SOME_ID}`)).location)
    expect(second.searchParams.get('state')).not.toBe(query.state)
    expect(second.searchParams.get('nonce')).not.toBe(query.nonce)
  })

  it('refuses return paths that would leave the approval pages (no open redirect)', async () => {
    for (const target of [
      'https://evil.example/approvals/x',
      '//evil.example/approvals/x',
      '/\\evil.example',
      `/approvals/${SOME_ID}/../../v1/admin`,
      `/approvals/${SOME_ID}?intent=approve&next=https://evil.example`,
      '/v1/admin/tokens',
      '',
    ]) {
      const response = await gatewayFetch(`/auth/login?return=${encodeURIComponent(target)}`, {
        redirect: 'manual',
      })
      const html = await response.text()
      expect([response.status, pageCode(html)], target).toEqual([400, 'request.invalid'])
      expect(response.headers.get('location')).toBeNull()
      expect(response.headers.getSetCookie()).toEqual([])
    }
    const missing = await gatewayFetch('/auth/login', { redirect: 'manual' })
    expect(missing.status).toBe(400)
  })

  it('signs a person in at the real IdP and returns to the page with exact cookie attributes', async () => {
    const returnTo = `/approvals/${SOME_ID}?intent=approve`
    const { response } = await signIn('alice', returnTo)
    expect(response.headers.get('location')).toBe(returnTo)
    const session = setCookie(response, SESSION_COOKIE)
    expect(session.line).toMatch(
      new RegExp(`^${SESSION_COOKIE}=[^;]+; Max-Age=28800${COOKIE_ATTRIBUTES}$`)
    )
    expect(setCookie(response, LOGIN_COOKIE).line).toBe(
      `${LOGIN_COOKIE}=; Max-Age=0${COOKIE_ATTRIBUTES}`
    )
    const { payload } = openCookie(session.pair)
    expect(payload).toMatchObject({
      sub: 'alice',
      email: 'alice@example.com',
      groups: ['payments-approvers'],
      iss: inject('oidcIssuer'),
      csrf: expect.stringMatching(/^[\w-]{43}$/),
    })
    expect((payload.exp as number) - (payload.iat as number)).toBe(8 * 60 * 60)
  })

  it('refuses a callback without the login cookie, or whose state is not the one it sent', async () => {
    const { location, loginCookie } = await startLogin(`/approvals/${SOME_ID}`)
    const back = await providerCallback(location, 'alice')

    const noCookie = await callback(back)
    expect([noCookie.status, pageCode(await noCookie.text())]).toEqual([401, 'auth.login_failed'])

    const otherState = back.replace(/state=[^&]+/, 'state=forged-state-value')
    const forged = await callback(otherState, loginCookie)
    expect([forged.status, pageCode(await forged.text())]).toEqual([401, 'auth.login_failed'])
    expect(forged.headers.getSetCookie()).toEqual([
      `${LOGIN_COOKIE}=; Max-Age=0${COOKIE_ATTRIBUTES}`,
    ])
    expect(forged.headers.get('content-security-policy')).toMatch(/^default-src 'none'; /)
    expect(forged.headers.get('cache-control')).toBe('no-store')

    const noState = await callback(back.replace(/&?state=[^&]+/, ''), loginCookie)
    expect([noState.status, pageCode(await noState.text())]).toEqual([401, 'auth.login_failed'])
  })

  it('refuses a login cookie whose state was rewritten, and a replayed code', async () => {
    const { location, loginCookie } = await startLogin(`/approvals/${SOME_ID}`)
    const back = await providerCallback(location, 'alice')
    const { name, payload, signature } = openCookie(loginCookie)
    const rewritten = sealCookie(
      name,
      { ...payload, returnTo: `/approvals/${'b'.repeat(64)}` },
      signature
    )
    const tampered = await callback(back, rewritten)
    expect([tampered.status, pageCode(await tampered.text())]).toEqual([401, 'auth.login_failed'])

    // The first use of the code signs in; the IdP refuses the same code a second time.
    expect((await callback(back, loginCookie)).status).toBe(303)
    const replay = await callback(back, loginCookie)
    expect([replay.status, pageCode(await replay.text())]).toEqual([401, 'auth.login_failed'])
  })

  it('tells the person when the IdP refused the sign-in, without echoing its text', async () => {
    const { location, loginCookie } = await startLogin(`/approvals/${SOME_ID}`)
    const state = location.searchParams.get('state') ?? ''
    const iss = encodeURIComponent(inject('oidcIssuer'))
    const response = await callback(
      `/auth/callback?error=access_denied&error_description=Call+0800-EVIL&state=${state}&iss=${iss}`,
      loginCookie
    )
    const html = await response.text()
    expect([response.status, pageCode(html)]).toEqual([401, 'auth.login_failed'])
    expect(html).toContain('The identity provider refused the sign-in (access_denied).')
    expect(html).not.toContain('0800-EVIL')
  })

  it('explains the page when approver sign-in is not configured', async () => {
    const ctx = createExecutionContext()
    const response = await worker.fetch(
      new Request(`${GATEWAY}/auth/login?return=%2Fapprovals%2F${SOME_ID}`),
      { ...env, OIDC_CLIENT_ID: '' },
      ctx
    )
    await waitOnExecutionContext(ctx)
    const html = await response.text()
    expect([response.status, pageCode(html)]).toEqual([404, 'auth.login_unavailable'])
    expect(html).toContain('OIDC_CLIENT_ID')
    expect(html).toContain(`${GATEWAY}/auth/callback`)
  })
})

describe('ID token verification', () => {
  const config = (): OidcConfig => ({
    issuer: inject('oidcIssuer'),
    audience: 'not-used-for-id-tokens',
    groupsClaim: 'groups',
    jwksUri: undefined,
    algorithms: ['ES256'],
  })
  const expected = { clientId: APPROVALS_CLIENT.id, nonce: 'nonce-0123456789' }
  const idToken = (claims: Record<string, unknown> = {}) =>
    signedByProvider({ aud: APPROVALS_CLIENT.id, nonce: expected.nonce, sub: 'alice', ...claims })

  it('accepts an ID token the IdP signed for the sign-in client and nonce', async () => {
    const verified = await verifyIdToken(
      await idToken({ groups: ['payments-approvers'], email: 'alice@example.com' }),
      config(),
      expected,
      Date.now()
    )
    expect(verified).toEqual({
      subject: 'alice',
      email: 'alice@example.com',
      groups: ['payments-approvers'],
      issuer: inject('oidcIssuer'),
    })
  })

  it('refuses a tampered, unsigned, foreign-audience, wrong-nonce or expired ID token', async () => {
    const good = await idToken()
    const [header, payload, signature] = good.split('.')
    const claims = JSON.parse(atob((payload ?? '').replace(/-/g, '+').replace(/_/g, '/')))
    const forgedPayload = btoa(JSON.stringify({ ...claims, sub: 'mallory' }))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '')
    const cases: [string, string, string][] = [
      ['tampered', `${header}.${forgedPayload}.${signature}`, 'auth.invalid_token'],
      [
        'unsigned',
        unsignedToken({ aud: APPROVALS_CLIENT.id, nonce: expected.nonce, sub: 'alice' }),
        'auth.invalid_token',
      ],
      ['another client', await idToken({ aud: 'ci-agent' }), 'auth.invalid_token'],
      ['another nonce', await idToken({ nonce: 'replayed-nonce' }), 'auth.invalid_token'],
      ['no nonce', await idToken({ nonce: undefined }), 'auth.invalid_token'],
      [
        'another azp',
        await idToken({ aud: [APPROVALS_CLIENT.id, 'ci-agent'], azp: 'ci-agent' }),
        'auth.invalid_token',
      ],
      [
        'expired',
        await idToken({ exp: Math.floor(Date.now() / 1000) - 120 }),
        'auth.expired_token',
      ],
    ]
    for (const [label, token, code] of cases) {
      await expect(
        verifyIdToken(token, config(), expected, Date.now()),
        label
      ).rejects.toMatchObject({ code })
    }
  })
})

describe('sessions', () => {
  it('sends a visitor without a session to sign in, keeping only a valid intent', async () => {
    const withIntent = await page(`/approvals/${SOME_ID}?intent=approve`)
    expect(withIntent.status).toBe(303)
    expect(withIntent.headers.get('location')).toBe(
      `/auth/login?return=${encodeURIComponent(`/approvals/${SOME_ID}?intent=approve`)}`
    )
    const odd = await page(`/approvals/${SOME_ID}?intent=https://evil.example`)
    expect(odd.headers.get('location')).toBe(
      `/auth/login?return=${encodeURIComponent(`/approvals/${SOME_ID}`)}`
    )
  })

  it('treats a forged, unsigned, re-signed or other-purpose session cookie as no session', async () => {
    const { id, path } = await holdPayment()
    const { cookie } = await signIn('bob', path)
    const { name, payload, signature } = openCookie(cookie)
    const promoted = { ...payload, groups: ['payments-approvers'] }
    const { loginCookie } = await startLogin(path)
    const forgeries = {
      unsigned: sealCookie(name, promoted),
      'signature kept, groups changed': sealCookie(name, promoted, signature),
      'signed by another key': sealCookie(name, promoted, btoa('x'.repeat(32))),
      'the login cookie under the session name': `${name}=${loginCookie.split('=').slice(1).join('=')}`,
      'expired but signed': sealCookie(name, { ...payload, exp: 1 }, signature),
    }
    for (const [label, forged] of Object.entries(forgeries)) {
      const view = await page(path, forged)
      expect(view.status, label).toBe(303)
      const post = await postForm(path, { verdict: 'approve', csrf: String(payload.csrf) }, forged)
      expect([post.status, pageCode(await post.text())], label).toEqual([
        401,
        'auth.session_required',
      ])
    }
    expect((await approvalRow(id)).state).toBe('pending')
  })

  it('signs out with the form on the page, clearing the cookie', async () => {
    const { cookie } = await signIn('alice', `/approvals/${SOME_ID}`)
    const csrf = String(openCookie(cookie).payload.csrf)
    const refused = await postForm('/auth/logout', { csrf: 'wrong' }, cookie)
    expect([refused.status, pageCode(await refused.text())]).toEqual([403, 'auth.csrf_failed'])
    const response = await postForm('/auth/logout', { csrf }, cookie)
    expect(response.status).toBe(200)
    expect(setCookie(response, SESSION_COOKIE).line).toBe(
      `${SESSION_COOKIE}=; Max-Age=0${COOKIE_ATTRIBUTES}`
    )
  })
})

describe('the approval page', () => {
  it('shows an approver the full request, with the decision form and strict headers', async () => {
    const { path, marker } = await holdPayment()
    const { cookie } = await signIn('alice', `${path}?intent=approve`)
    const response = await page(`${path}?intent=approve`, cookie)
    const html = await response.text()
    expect(response.status, html).toBe(200)
    for (const shown of [
      'page-agent',
      'agent:page-agent',
      'page-api',
      `POST /payments/${marker}?amount=5`,
      'content-type',
      'application/json',
      `{&quot;amount&quot;:5,&quot;note&quot;:&quot;${marker}&quot;}`,
      'payments',
      'Moving money needs a human.',
      'group:payments-approvers',
      'pending',
      'Signed in as alice@example.com (alice)',
    ]) {
      expect(html, shown).toContain(shown)
    }
    expect(html).toMatch(
      /<button class="approve" type="submit" name="verdict" value="approve" autofocus/
    )
    expect(html).toContain(`action="${path}"`)
    expect(csrfOf(html)).toBe(openCookie(cookie).payload.csrf)

    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? ''
    const digest = new Uint8Array(
      await crypto.subtle.digest('SHA-256', new TextEncoder().encode(style))
    )
    const hash = btoa(String.fromCharCode(...digest))
    expect(response.headers.get('content-security-policy')).toBe(
      `default-src 'none'; style-src 'sha256-${hash}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`
    )
    expect(response.headers.get('x-frame-options')).toBe('DENY')
    expect(response.headers.get('referrer-policy')).toBe('no-referrer')
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(html).not.toContain('<script')
  })

  it('decides nothing on a link with ?intent=approve', async () => {
    const { id, path } = await holdPayment()
    const { cookie } = await signIn('alice', `${path}?intent=approve`)
    expect((await page(`${path}?intent=approve`, cookie)).status).toBe(200)
    expect((await approvalRow(id)).state).toBe('pending')
  })

  it('refuses a decision without the CSRF token, with a wrong one, or from another site', async () => {
    const { id, path } = await holdPayment()
    const { cookie } = await signIn('alice', path)
    const csrf = csrfOf(await (await page(path, cookie)).text())
    const attempts: [string, Response][] = [
      ['no token', await postForm(path, { verdict: 'approve' }, cookie)],
      [
        'wrong token',
        await postForm(
          path,
          // One character changed (never to itself).
          { verdict: 'approve', csrf: `${csrf.slice(0, -1)}${csrf.endsWith('A') ? 'B' : 'A'}` },
          cookie
        ),
      ],
      ['short token', await postForm(path, { verdict: 'approve', csrf: 'x' }, cookie)],
      [
        'cross-site origin',
        await postForm(path, { verdict: 'approve', csrf }, cookie, {
          origin: 'https://evil.example',
        }),
      ],
      [
        'cross-site fetch metadata',
        await postForm(path, { verdict: 'approve', csrf }, cookie, {
          origin: GATEWAY,
          'sec-fetch-site': 'cross-site',
        }),
      ],
      [
        'same-site sibling',
        await postForm(path, { verdict: 'approve', csrf }, cookie, {
          'sec-fetch-site': 'same-site',
        }),
      ],
      [
        'opaque origin, no metadata',
        await postForm(path, { verdict: 'approve', csrf }, cookie, { origin: 'null' }),
      ],
    ]
    for (const [label, response] of attempts) {
      expect([response.status, pageCode(await response.text())], label).toEqual([
        403,
        'auth.csrf_failed',
      ])
    }
    expect((await approvalRow(id)).state).toBe('pending')
  })

  it('approves with a same-origin POST carrying the token; the held command then goes through', async () => {
    const marker = uniqueMarker('page-approve')
    const held = gatewayFetch(
      `/proxy/page-api/payments/${marker}`,
      asAgent(agentToken, { method: 'POST', headers: { 'x-test-marker': marker }, body: 'pay' })
    )
    const { id } = await pendingApproval('page-api', marker)
    const path = `/approvals/${id}`
    const { cookie } = await signIn('alice', path)
    const csrf = csrfOf(await (await page(path, cookie)).text())
    // Chromium under Referrer-Policy: no-referrer posts `Origin: null` with Fetch Metadata.
    const response = await postForm(
      path,
      { verdict: 'approve', csrf, comment: ' ok by me ' },
      cookie,
      {
        origin: 'null',
        'sec-fetch-site': 'same-origin',
      }
    )
    const html = await response.text()
    expect(response.status, html).toBe(200)
    expect(html).toContain('You approved this request.')
    expect(html).toContain('Approved by alice &lt;alice@example.com&gt; via web')
    expect(html).toContain('“ok by me”')
    expect(html).not.toContain('name="verdict"')
    const forwarded = await held
    expect(forwarded.status).toBe(200)
    await forwarded.body?.cancel()
    expect(await arrivalsWith(marker)).toHaveLength(1)
    expect(await approvalRow(id)).toMatchObject({
      state: 'approved',
      decidedBy: 'user:alice',
      decidedVia: 'web',
    })

    const again = await postForm(path, { verdict: 'deny', csrf }, cookie)
    const second = await again.text()
    expect([again.status, pageCode(second)]).toEqual([409, 'approval.already_decided'])
  })

  it('denies with the deny button', async () => {
    const { id, path } = await holdPayment()
    const { cookie } = await signIn('alice', path)
    const csrf = csrfOf(await (await page(path, cookie)).text())
    const response = await postForm(path, { verdict: 'deny', csrf }, cookie)
    expect(response.status).toBe(200)
    expect(await response.text()).toContain('You denied this request.')
    expect((await approvalRow(id)).state).toBe('denied')
  })

  it('shows someone outside the approver group neither the request nor the buttons', async () => {
    const { id, path, marker } = await holdPayment()
    const { cookie } = await signIn('bob', path)
    const view = await page(path, cookie)
    const html = await view.text()
    expect([view.status, pageCode(html)]).toEqual([403, 'approval.not_an_approver'])
    expect(html).not.toContain(marker)
    expect(html).not.toContain('name="verdict"')
    const post = await postForm(path, { verdict: 'approve', csrf: csrfOf(html) }, cookie)
    const refusal = await post.text()
    expect([post.status, pageCode(refusal)]).toEqual([403, 'approval.not_an_approver'])
    expect(refusal).not.toContain(marker)
    expect((await approvalRow(id)).state).toBe('pending')
  })

  it('never lets the requester approve their own request, even as an approver', async () => {
    const { id, path, marker } = await holdPayment({ token: carolToken })
    const { cookie } = await signIn('carol', path)
    const view = await page(path, cookie)
    const html = await view.text()
    expect(view.status).toBe(200)
    expect(html).toContain(marker)
    expect(html).toContain('You cannot decide a request you (or your agent) made.')
    expect(html).not.toContain('name="verdict"')
    const post = await postForm(path, { verdict: 'approve', csrf: csrfOf(html) }, cookie)
    expect([post.status, pageCode(await post.text())]).toEqual([403, 'approval.self_approval'])
    expect((await approvalRow(id)).state).toBe('pending')
  })

  it('answers 404 for an approval that does not exist', async () => {
    const { cookie } = await signIn('alice', `/approvals/${SOME_ID}`)
    const response = await page(`/approvals/${'f'.repeat(64)}`, cookie)
    expect([response.status, pageCode(await response.text())]).toEqual([404, 'approval.not_found'])
    const malformed = await page('/approvals/not-an-id', cookie)
    expect(malformed.status).toBe(404)
  })
})
