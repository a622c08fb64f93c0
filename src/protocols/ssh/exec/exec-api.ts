/**
 * `POST /v1/connections/:name/exec` `{command, stdin?, timeoutSeconds?}`: a shell command
 * on an SSH connection. The answer is `{exitCode, signal, stdout, stderr, timedOut, …}`;
 * with `Accept: application/x-ndjson` the output streams instead, one JSON line per chunk
 * (`{"stdout": "…"}`, `{"stderr": "…"}`) and a last `{"exit": {…}}` line.
 */
import { Hono } from 'hono'
import { readJson } from '../../../admin/body.ts'
import { type AppEnv, clientOf } from '../../../app-env.ts'
import { jsonErrorResponse, toGatehouseError } from '../../../errors.ts'
import { openSession } from '../../../pipeline/session.ts'
import { SESSION_HEADER } from '../../http/headers.ts'
import { approvalHeaders, httpHoldOptions } from '../../http/hold.ts'
import { ExecRequest } from './exec-request.ts'
import { type ExecStreams, runExec, streamExec } from './run-exec.ts'

export const execRoutes = new Hono<AppEnv>()

execRoutes.post('/:name/exec', async (c) => {
  const { gateway } = c.var
  const session = await openSession(gateway, {
    authorization: c.req.header('authorization'),
    connectionName: c.req.param('name'),
    protocol: 'ssh-api',
    kinds: ['ssh'],
    client: clientOf(c.req.raw),
  })
  let streaming = false
  try {
    let input: ExecRequest
    try {
      input = await readJson(c.req.raw, ExecRequest)
    } catch (error) {
      const refusal = toGatehouseError(error)
      session.recordRefusal(refusal)
      throw refusal
    }
    const hold = httpHoldOptions(c.req.raw, gateway.config)
    const headers = { [SESSION_HEADER]: session.id }
    if (!c.req.header('accept')?.includes('application/x-ndjson')) {
      const result = await runExec(session, input, hold)
      return c.json({ ...result, sessionId: session.id }, 200, headers)
    }
    const streams = await streamExec(session, input, hold)
    streaming = true
    const body = ndjson(streams)
    gateway.waitUntil(streams.ended.catch(() => {}).then(() => session.close()))
    return new Response(body, {
      headers: { ...headers, 'content-type': 'application/x-ndjson; charset=utf-8' },
    })
  } catch (error) {
    const refusal = toGatehouseError(error)
    return jsonErrorResponse(refusal, { [SESSION_HEADER]: session.id, ...approvalHeaders(refusal) })
  } finally {
    if (!streaming) gateway.waitUntil(session.close())
  }
})

/** Interleaves stdout and stderr chunks as JSON lines, then the exit line. */
function ndjson(streams: ExecStreams): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>()
  const writer = writable.getWriter()
  // The caller hung up (the body was cancelled): the command is not left running for nobody.
  writer.closed.catch(() => streams.stop())
  let writes = Promise.resolve()
  const line = (value: unknown) => {
    writes = writes.then(() => writer.write(encoder.encode(`${JSON.stringify(value)}\n`)))
    return writes
  }
  const pump = async (stream: ReadableStream<Uint8Array>, name: 'stdout' | 'stderr') => {
    const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true })
      if (text) await line({ [name]: text })
    }
    const tail = decoder.decode()
    if (tail) await line({ [name]: tail })
  }
  void (async () => {
    try {
      await Promise.all([pump(streams.stdout, 'stdout'), pump(streams.stderr, 'stderr')])
      const end = await streams.ended
      await line({ exit: end })
      await writer.close()
    } catch (error) {
      const failure = toGatehouseError(error)
      await line({ error: { code: failure.code, message: failure.message } }).catch(() => {})
      await writer.close().catch(() => {})
    }
  })()
  return readable
}
