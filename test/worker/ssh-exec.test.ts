import { beforeAll, describe, expect, inject, it } from 'vitest'
import { decideWith, pendingApproval, personToken } from './support/approvals.ts'
import {
  admin,
  applyPolicy,
  asAgent,
  errorOf,
  gatewayFetch,
  mintToken,
  sessionsOf,
  transcriptOf,
} from './support/gateway.ts'
import { type ExecBody, execRequest, putSshConnection, sshd } from './support/ssh.ts'

let token: string
const marker = (name: string) => `${sshd().markerDir}/${name}-${crypto.randomUUID()}`

async function exec(body: unknown, connection = 'box', headers: Record<string, string> = {}) {
  const response = await execRequest(connection, token, body, headers)
  expect(response.status, await response.clone().text()).toBe(200)
  return (await response.json()) as ExecBody
}

/** Whether a file exists on the host, asked through an allowed command. */
async function exists(path: string): Promise<boolean> {
  const result = await exec({ command: `test -e ${path} && echo yes || echo no` })
  return result.stdout.trim() === 'yes'
}

beforeAll(async () => {
  const server = sshd()
  expect((await putSshConnection('box')).status).toBe(201)
  expect(
    (
      await putSshConnection('box-password', {
        hostKey: server.hostKeys.rsa,
        credential: { type: 'password', username: server.user, password: server.password },
      })
    ).status
  ).toBe(201)
  expect((await putSshConnection('box-wrong-key', { hostKey: server.wrongHostKey })).status).toBe(
    201
  )
  expect(
    (
      await putSshConnection('box-bad-login', {
        credential: {
          type: 'key',
          username: server.user,
          privateKey: server.unauthorizedPrivateKey,
        },
      })
    ).status
  ).toBe(201)
  expect((await putSshConnection('box-dead', { port: inject('deadPort') })).status).toBe(201)
  expect((await putSshConnection('box-http', { port: inject('originPort') })).status).toBe(201)
  expect((await putSshConnection('box-masked', { target: { execTimeoutSeconds: 5 } })).status).toBe(
    201
  )
  const everyone = ['agent:ssh-bot']
  const open = { grants: everyone, default: 'allow' as const }
  await applyPolicy({
    version: 1,
    connections: {
      box: {
        grants: everyone,
        rules: [
          {
            name: 'no-rm-root',
            action: 'block',
            match: { programs: ['rm'], options: ['r', 'R', 'recursive'], args: ['/', '/*'] },
            reason: 'Deleting the root file system is never allowed.',
          },
          { name: 'no-mkfs', action: 'block', match: { programs: ['mkfs*'] } },
          {
            name: 'sudo-needs-approval',
            action: 'require_approval',
            match: { classes: ['privilege'] },
            approvers: ['idp:sre'],
          },
          { name: 'everything-else', action: 'allow' },
        ],
      },
      'box-password': open,
      'box-wrong-key': open,
      'box-bad-login': open,
      'box-dead': open,
      'box-http': open,
      'box-masked': { ...open, masking: { detectors: { email: 'redact', card: 'partial' } } },
    },
  })
  ;({ token } = await mintToken('ssh-bot', ['*']))
})

describe('exec API', () => {
  it('returns stdout, stderr and the exit status of a command on the host', async () => {
    const result = await exec({ command: 'echo out; echo err >&2; whoami; exit 3' })
    expect(result).toMatchObject({
      exitCode: 3,
      signal: null,
      stdout: `out\n${sshd().user}\n`,
      stderr: 'err\n',
      timedOut: false,
      truncated: false,
    })
  })

  it('feeds stdin to the command and closes it', async () => {
    const result = await exec({ command: 'tr a-z A-Z', stdin: 'hello through gatehouse\n' })
    expect(result.stdout).toBe('HELLO THROUGH GATEHOUSE\n')
    expect(result.exitCode).toBe(0)
  })

  it('logs in with a password and an RSA host key pinned', async () => {
    const result = await exec({ command: 'echo via-password' }, 'box-password')
    expect(result.stdout).toBe('via-password\n')
  })

  it('collects a long output whole', async () => {
    const result = await exec({ command: 'seq 1 200000' })
    const lines = result.stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(200_000)
    expect(lines.at(-1)).toBe('200000')
  })

  it('streams output as NDJSON when asked, ending with the exit line', async () => {
    const response = await execRequest(
      'box',
      token,
      { command: 'head -c 20000000 /dev/zero | tr "\\0" x; echo; echo done >&2; exit 7' },
      { accept: 'application/x-ndjson' }
    )
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('application/x-ndjson')
    let stdoutChars = 0
    let stderr = ''
    let exit: unknown
    let lines = 0
    const decoder = new TextDecoder()
    let buffer = ''
    for await (const chunk of response.body as ReadableStream<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true })
      let newline = buffer.indexOf('\n')
      while (newline >= 0) {
        const line = JSON.parse(buffer.slice(0, newline)) as Record<string, unknown>
        buffer = buffer.slice(newline + 1)
        lines++
        if (typeof line.stdout === 'string') stdoutChars += line.stdout.length
        if (typeof line.stderr === 'string') stderr += line.stderr
        if (line.exit) exit = line.exit
        newline = buffer.indexOf('\n')
      }
    }
    expect(stdoutChars).toBe(20_000_001)
    expect(stderr).toBe('done\n')
    expect(exit).toMatchObject({ exitCode: 7, timedOut: false })
    expect(lines).toBeGreaterThan(3)
  })

  it('kills a streaming command when the caller hangs up', async () => {
    const path = marker('hung-up')
    const caller = new AbortController()
    const response = await gatewayFetch(
      '/v1/connections/box/exec',
      asAgent(token, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' },
        body: JSON.stringify({ command: `echo started; sleep 2; touch ${path}` }),
        signal: caller.signal,
      })
    )
    expect(response.status).toBe(200)
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('started')
    caller.abort()
    await reader.cancel().catch(() => {})
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    expect(await exists(path)).toBe(false)
  })

  it('lets a responder kill a long-running command', async () => {
    const path = marker('killed')
    const running = execRequest('box', token, { command: `sleep 20; touch ${path}` })
    const deadline = Date.now() + 10_000
    let id: string | undefined
    while (!id && Date.now() < deadline) {
      const open = (await sessionsOf('agent:ssh-bot')).find(
        (row) => row.status === 'open' && row.protocol === 'ssh-api'
      )
      id = open?.id
      if (!id) await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(id, 'the running command is indexed as an open session').toBeDefined()
    const started = Date.now()
    expect((await admin('POST', `/sessions/${id}/kill`, { reason: 'runaway' })).status).toBe(200)
    const response = await running
    expect(Date.now() - started).toBeLessThan(5_000)
    await response.body?.cancel()
    const events = await transcriptOf(id as string)
    expect(events.find((event) => event.type === 'access.refused')?.data).toMatchObject({
      code: 'session.killed',
      reason: 'runaway',
    })
    expect(await exists(path)).toBe(false)
  })

  it('kills a command that outlives its timeout and returns what it printed', async () => {
    const started = Date.now()
    const result = await exec({ command: 'echo started; sleep 30; echo never', timeoutSeconds: 1 })
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(result.timedOut).toBe(true)
    expect(result.stdout).toBe('started\n')
    expect(result.exitCode).toBeNull()
  })

  it('blocks rm -rf / in every spelling, and nothing runs on the host', async () => {
    for (const spelling of ['rm -rf /', 'rm -r -f /', "bash -c 'rm -rf /'", 'ls; sudo rm -fr /*']) {
      const path = marker('blocked')
      const response = await execRequest('box', token, { command: `touch ${path}; ${spelling}` })
      const error = await errorOf(response)
      expect(error, spelling).toMatchObject({ status: 403, code: 'policy.blocked' })
      expect(error.message).toContain('Deleting the root file system is never allowed.')
      expect(await exists(path), spelling).toBe(false)
    }
  })

  it('holds a sudo command for approval and runs it once approved', async () => {
    const path = marker('approved')
    const command = `sudo -n true; touch ${path}`
    const first = await execRequest('box', token, { command }, { prefer: 'wait=0' })
    expect(first.status).toBe(202)
    const approvalId = first.headers.get('x-gatehouse-approval') as string
    expect(approvalId).toBeTruthy()
    expect(await exists(path)).toBe(false)
    const pending = await pendingApproval('box', 'sudo')
    expect(pending.id).toBe(approvalId)
    const approver = await personToken('sre-1', ['sre'])
    expect((await decideWith(approver, approvalId, 'approve')).status).toBe(200)
    const retried = await exec({ command }, 'box', { 'x-gatehouse-approval': approvalId })
    expect(retried.exitCode).toBe(0)
    expect(await exists(path)).toBe(true)
  })

  it('refuses a host whose key is not the pinned one, before logging in', async () => {
    const path = marker('mitm')
    const error = await errorOf(
      await execRequest('box-wrong-key', token, { command: `touch ${path}` })
    )
    expect(error).toMatchObject({ status: 502, code: 'origin.host_key_mismatch' })
    expect(await exists(path)).toBe(false)
  })

  it('reports a refused login and an unreachable host as gateway errors', async () => {
    expect(
      await errorOf(await execRequest('box-bad-login', token, { command: 'true' }))
    ).toMatchObject({
      status: 502,
      code: 'origin.auth_failed',
    })
    expect(await errorOf(await execRequest('box-dead', token, { command: 'true' }))).toMatchObject({
      status: 502,
      code: 'origin.unreachable',
    })
  })

  it('says so when the host is not an SSH server (an HTTP server answering garbage)', async () => {
    const error = await errorOf(await execRequest('box-http', token, { command: 'true' }))
    expect(error).toMatchObject({ status: 502, code: 'origin.protocol_error' })
    expect(error.message).toContain('box-http')
  })

  it('refuses a malformed body, a postgres-only route mix-up and an unknown connection', async () => {
    expect(await errorOf(await execRequest('box', token, { cmd: 'ls' }))).toMatchObject({
      status: 400,
      code: 'request.invalid',
    })
    expect(
      await errorOf(await execRequest('box', token, { command: 'ls', timeoutSeconds: -1 }))
    ).toMatchObject({ status: 400 })
    expect(await errorOf(await execRequest('nowhere', token, { command: 'ls' }))).toMatchObject({
      status: 404,
      code: 'connection.not_found',
    })
  })

  it('masks sensitive output for the caller and in the transcript', async () => {
    const result = await exec(
      { command: 'echo "mail ada@example.com card 4111 1111 1111 1111"' },
      'box-masked'
    )
    expect(result.stdout).not.toContain('ada@example.com')
    expect(result.stdout).not.toContain('4111 1111 1111 1111')
    expect(result.masked?.map((entry) => entry.by).sort()).toEqual([
      'detector:card',
      'detector:email',
    ])
    const events = await transcriptOf(result.sessionId)
    const text = JSON.stringify(events)
    expect(text).not.toContain('ada@example.com')
    expect(text).not.toContain('4111 1111 1111 1111')
  })

  it('records the command before it runs and its exit status and output after', async () => {
    const result = await exec({ command: 'echo recorded; exit 4' })
    const events = await transcriptOf(result.sessionId)
    const command = events.find((event) => event.type === 'command')
    const outcome = events.find((event) => event.type === 'outcome')
    expect(command?.data).toMatchObject({
      command: { kind: 'shell', text: 'echo recorded; exit 4', via: 'api' },
      decision: { action: 'allow', rule: { name: 'everything-else' } },
    })
    expect(outcome?.data).toMatchObject({
      status: 'ok',
      summary: { exitCode: 4, stdout: 'recorded\n', stdoutBytes: 9 },
    })
    expect((command?.seq ?? 0) < (outcome?.seq ?? 0)).toBe(true)
    const sessions = await admin('GET', `/sessions/${result.sessionId}`)
    expect(((await sessions.json()) as { protocol: string }).protocol).toBe('ssh-api')
  })
})
