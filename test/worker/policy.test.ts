import { beforeAll, describe, expect, it } from 'vitest'
import {
  admin,
  adminJson,
  asAgent,
  errorOf,
  gatewayFetch,
  mintToken,
  originUrl,
  putHttpConnection,
  transcriptOf,
} from './support/gateway.ts'
import { arrivalsWith, uniqueMarker } from './support/origin.ts'

const SHOP_POLICY_YAML = `# Shop API: agents read, never delete admin data, and need a human for payments.
version: 1
groups:
  agents:
    members: [agent:shop-bot]
connections:
  shop:
    grants: [group:agents]
    default: block
    rules:
      - name: read-only
        match: { methods: [GET, HEAD] }
        action: allow
      - name: no-admin-deletes
        match: { methods: [DELETE], paths: ['/admin/**'] }
        action: block
        reason: Agents may not delete admin resources.
      - name: payments-need-approval
        match: { methods: [POST], paths: ['/payments', '/payments/**'] }
        action: require_approval
        reason: Moving money needs a human.
        approvers: ['idp:payments-approvers']
      - name: other-deletes
        match: { methods: [DELETE] }
        action: allow
`

let token: string
let appliedVersion: number

async function applyYaml(source: string, headers: Record<string, string> = {}) {
  return admin('PUT', '/policy', source, { 'content-type': 'application/yaml', ...headers })
}

async function shop(method: string, path: string) {
  const marker = uniqueMarker('policy')
  const response = await gatewayFetch(
    `/proxy/shop${path}`,
    asAgent(token, { method, headers: { 'x-test-marker': marker } })
  )
  return { response, marker }
}

beforeAll(async () => {
  await putHttpConnection('shop', { url: originUrl() })
  const response = await applyYaml(SHOP_POLICY_YAML, {
    'x-gatehouse-comment': 'initial shop policy',
  })
  expect(response.status).toBe(200)
  appliedVersion = ((await response.json()) as { version: number }).version
  ;({ token } = await mintToken('shop-bot', ['shop']))
})

describe('enforcement on the proxy', () => {
  it('forwards a command an allow rule matches', async () => {
    const { response, marker } = await shop('GET', '/orders/7')
    expect(response.status).toBe(200)
    expect(await arrivalsWith(marker)).toHaveLength(1)
  })

  it('blocks with 403 policy.blocked, the rule reason and name, and forwards nothing', async () => {
    const { response, marker } = await shop('DELETE', '/admin/users/42')
    const body = (await response.json()) as {
      error: { code: string; message: string; data: unknown }
    }
    expect(response.status).toBe(403)
    expect(body.error).toEqual({
      code: 'policy.blocked',
      message: 'Agents may not delete admin resources.',
      data: { rule: 'no-admin-deletes' },
    })
    expect(await arrivalsWith(marker)).toEqual([])
  })

  it('lets the first matching rule win over a later, broader allow', async () => {
    expect((await shop('DELETE', '/admin')).response.status).toBe(403)
    const { response, marker } = await shop('DELETE', '/carts/3')
    expect(response.status).toBe(200)
    expect(await arrivalsWith(marker)).toHaveLength(1)
  })

  it("holds a command that needs approval and, after the caller's wait, answers 202 without forwarding it", async () => {
    const marker = uniqueMarker('policy')
    const response = await gatewayFetch(
      '/proxy/shop/payments',
      asAgent(token, { method: 'POST', headers: { 'x-test-marker': marker, prefer: 'wait=0' } })
    )
    const id = response.headers.get('x-gatehouse-approval')
    expect(await errorOf(response)).toEqual({
      status: 202,
      code: 'approval.pending',
      message: `This command is waiting for approval at https://gatehouse.test/approvals/${id}. Send the same request again with the header "X-Gatehouse-Approval: ${id}" once it is approved.`,
    })
    expect(await arrivalsWith(marker)).toEqual([])
    const events = await transcriptOf(response.headers.get('x-gatehouse-session') ?? '')
    expect(events.map((event) => event.type)).toEqual([
      'session.start',
      'command',
      'approval',
      'approval',
      'outcome',
      'session.end',
    ])
    expect(events[1]?.data.decision).toMatchObject({
      action: 'require_approval',
      rule: { name: 'payments-need-approval' },
      approvers: ['idp:payments-approvers'],
    })
    expect(events[2]?.data).toMatchObject({ approval: id, state: 'pending' })
    expect(events[3]?.data).toMatchObject({ approval: id, answered: 'still pending' })
    expect(events[4]?.data).toMatchObject({ status: 'blocked', errorCode: 'approval.pending' })
  })

  it('falls to the default block when no rule matches', async () => {
    const { response, marker } = await shop('PUT', '/orders/7')
    expect(await errorOf(response)).toMatchObject({
      status: 403,
      code: 'policy.blocked',
      message: 'Blocked by the default of "shop" (no rule matched).',
    })
    expect(await arrivalsWith(marker)).toEqual([])
  })

  it('cannot dodge a path rule with a trailing slash, doubled slashes or encoding', async () => {
    for (const path of [
      '/admin/users/42/',
      '//admin//users/42',
      '/%61dmin/users/42',
      '/ADMIN/Users/42',
    ]) {
      const { response, marker } = await shop('DELETE', path)
      expect((await errorOf(response)).code, path).toBe('policy.blocked')
      expect(await arrivalsWith(marker)).toEqual([])
    }
  })
})

describe('applying policy documents', () => {
  it('returns the document in force, and its YAML source with comments on request', async () => {
    const current = await adminJson<{
      version: number
      comment: string
      document: { connections: Record<string, unknown> }
    }>('GET', '/policy')
    expect(current.version).toBe(appliedVersion)
    expect(current.comment).toBe('initial shop policy')
    expect(Object.keys(current.document.connections)).toEqual(['shop'])
    const yaml = await admin('GET', '/policy', undefined, { accept: 'application/yaml' })
    expect(yaml.headers.get('content-type')).toBe('application/yaml; charset=utf-8')
    expect(await yaml.text()).toBe(SHOP_POLICY_YAML)
  })

  it('rejects an invalid document with 400 listing every issue, and keeps the old policy in force', async () => {
    const broken = SHOP_POLICY_YAML.replace('action: block', 'action: deny').replace(
      "paths: ['/admin/**']",
      "paths: ['admin/**']"
    )
    const response = await applyYaml(broken)
    const body = (await response.json()) as { error: { code: string; data: { issues: unknown[] } } }
    expect(response.status).toBe(400)
    expect(body.error.code).toBe('policy.invalid')
    expect(body.error.data.issues).toEqual([
      {
        path: 'connections.shop.rules[1].action',
        message: 'Invalid option: expected one of "allow"|"block"|"require_approval"',
      },
      { path: 'connections.shop.rules[1].match.paths[0]', message: 'must start with "/"' },
    ])
    const current = await adminJson<{ version: number }>('GET', '/policy')
    expect(current.version).toBe(appliedVersion)
    expect((await shop('DELETE', '/admin/users/1')).response.status).toBe(403)
  })

  it('rejects YAML that does not parse, naming the line', async () => {
    const response = await applyYaml('version: 1\nconnections:\n  shop: [unclosed\n')
    const error = await errorOf(response)
    expect(error).toMatchObject({ status: 400, code: 'policy.invalid' })
    expect(error.message).toMatch(/line \d+/)
  })

  it('rejects duplicate keys in YAML instead of silently keeping the last', async () => {
    const response = await applyYaml('version: 1\nconnections: {}\nconnections: {}\n')
    expect(await errorOf(response)).toMatchObject({ status: 400, code: 'policy.invalid' })
  })

  it('refuses a body that is neither JSON nor YAML with 415', async () => {
    const response = await admin('PUT', '/policy', 'version=1', { 'content-type': 'text/plain' })
    expect(await errorOf(response)).toMatchObject({
      status: 415,
      code: 'request.unsupported_media_type',
    })
  })

  it('applies only when If-Match names the version in force', async () => {
    const stale = await applyYaml(SHOP_POLICY_YAML, { 'if-match': `"${appliedVersion - 1}"` })
    expect(await errorOf(stale)).toMatchObject({ status: 409, code: 'policy.conflict' })
    const fresh = await applyYaml(SHOP_POLICY_YAML, { 'if-match': `"${appliedVersion}"` })
    expect(fresh.status).toBe(200)
    expect(((await fresh.json()) as { version: number }).version).toBe(appliedVersion + 1)
    appliedVersion += 1
  })

  it('takes effect on the very next request', async () => {
    expect((await shop('GET', '/orders')).response.status).toBe(200)
    const lockdown = SHOP_POLICY_YAML.replace(
      'read-only\n        match: { methods: [GET, HEAD] }\n        action: allow',
      'read-only\n        match: { methods: [GET, HEAD] }\n        action: block'
    )
    expect((await applyYaml(lockdown)).status).toBe(200)
    expect((await errorOf((await shop('GET', '/orders')).response)).code).toBe('policy.blocked')
    expect((await applyYaml(SHOP_POLICY_YAML)).status).toBe(200)
    expect((await shop('GET', '/orders')).response.status).toBe(200)
  })

  it('warns about connections that are not registered or have no policy', async () => {
    await putHttpConnection('orphan', { url: originUrl() })
    const response = await admin('PUT', '/policy', {
      version: 1,
      groups: { agents: { members: ['agent:shop-bot'] } },
      connections: {
        shop: { grants: ['group:agents'], rules: [{ name: 'all', action: 'allow' }] },
        typo: {},
      },
    })
    const body = (await response.json()) as { warnings: string[] }
    expect(body.warnings).toEqual([
      'connection "typo" is not registered yet',
      'connection "orphan" has no policy, so nobody can use it',
    ])
    expect((await applyYaml(SHOP_POLICY_YAML)).status).toBe(200)
  })

  it('keeps every applied version with who applied it', async () => {
    const { versions } = await adminJson<{ versions: { version: number; appliedBy: string }[] }>(
      'GET',
      '/policy/versions'
    )
    expect(versions[0]?.appliedBy).toBe('admin:bootstrap')
    expect(versions.map((v) => v.version)).toEqual(
      [...versions.map((v) => v.version)].sort((a, b) => b - a)
    )
  })
  it('returns YAML for any Accept naming it, rendering a JSON-applied document as YAML', async () => {
    const applied = await admin('PUT', '/policy', {
      version: 1,
      groups: { agents: { members: ['agent:shop-bot'] } },
      connections: {
        shop: { grants: ['group:agents'], rules: [{ name: 'all', action: 'allow' }] },
      },
    })
    expect(applied.status).toBe(200)
    const yaml = await admin('GET', '/policy', undefined, {
      accept: 'text/yaml;q=0.9, application/json;q=0.5',
    })
    expect(yaml.headers.get('content-type')).toBe('application/yaml; charset=utf-8')
    expect(await yaml.text()).toBe(
      'version: 1\ngroups:\n  agents:\n    members:\n      - agent:shop-bot\nconnections:\n  shop:\n    grants:\n      - group:agents\n    rules:\n      - name: all\n        action: allow\n'
    )
    const restored = await applyYaml(SHOP_POLICY_YAML)
    expect(restored.status).toBe(200)
    appliedVersion = ((await restored.json()) as { version: number }).version
  })
})

describe('policy test', () => {
  async function test(body: Record<string, unknown>) {
    return adminJson<{
      granted: boolean
      effective: string
      decision: { rule: { name: string } | null; reason: string }
    }>('POST', '/policy/test', body)
  }

  it('names the rule that would fire for a caller and a request', async () => {
    expect(
      await test({
        as: 'agent:shop-bot',
        connection: 'shop',
        request: { method: 'DELETE', path: '/admin/x' },
      })
    ).toMatchObject({
      granted: true,
      effective: 'block',
      decision: {
        rule: { name: 'no-admin-deletes' },
        reason: 'Agents may not delete admin resources.',
      },
    })
  })

  it('says not_granted for a caller without a grant', async () => {
    expect(
      await test({ as: 'agent:nobody', connection: 'shop', request: { method: 'GET', path: '/' } })
    ).toMatchObject({
      granted: false,
      effective: 'not_granted',
    })
  })

  it('tests a candidate document without applying it', async () => {
    const before = await adminJson<{ version: number }>('GET', '/policy')
    const candidate = {
      version: 1,
      connections: { shop: { grants: ['agent:shop-bot'], default: 'allow' } },
    }
    expect(
      await test({
        as: 'agent:shop-bot',
        connection: 'shop',
        request: { method: 'DELETE', path: '/admin/x' },
        document: candidate,
      })
    ).toMatchObject({ effective: 'allow', decision: { rule: null } })
    const after = await adminJson<{ version: number }>('GET', '/policy')
    expect(after.version).toBe(before.version)
  })
})
