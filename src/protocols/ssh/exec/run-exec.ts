/**
 * One shell command on an SSH connection through the shared pipeline: classify the
 * command line, then decide → write ahead → hold → run on a fresh origin login → mask
 * the output → record the outcome with the exit status and the (masked) output. Shared
 * by the exec API and the MCP `exec` tool.
 */
import { SshCredential, SshTarget } from '../../../connections/connection.ts'
import { utf8 } from '../../../encoding.ts'
import { GatehouseError, toGatehouseError } from '../../../errors.ts'
import { maskTextStream } from '../../../masking/text-stream.ts'
import { tallyReport } from '../../../masking/types.ts'
import type { HoldOptions } from '../../../pipeline/pause.ts'
import type { ForwardContext, GatewaySession } from '../../../pipeline/session.ts'
import type { Outcome, ShellCommand } from '../../../pipeline/types.ts'
import { classifyShell } from '../../../policy/shell/index.ts'
import type { Channel, ExitInfo } from '../connection/channel.ts'
import { openSshOrigin, type SshOrigin } from '../origin.ts'
import { DEFAULT_EXEC_TIMEOUT_SECONDS, type ExecRequest, type ExecResult } from './exec-request.ts'
import { commandSummary, OutputTap } from './output-tap.ts'

/** A command still running after this can be killed by a responder (containment/kill.ts). */
const KILL_SWITCH_AFTER_MS = 1_000

/** stdout and stderr each held at most in a JSON response; stream for more. */
export const MAX_COLLECTED_BYTES = 8 * 1024 * 1024

/** A running command's masked output streams and how it ends. */
export type ExecStreams = {
  stdout: ReadableStream<Uint8Array>
  stderr: ReadableStream<Uint8Array>
  /** Resolves once the command ended and the origin login closed. */
  ended: Promise<ExecEnd>
  /** Kills the command (the caller went away): SIGKILL, then the channel closes. */
  stop: () => void
}

export type ExecEnd = {
  exitCode: number | null
  signal: string | null
  timedOut: boolean
  masked: { by: string; count: number }[]
}

/** Runs the command and returns its output as it streams. */
export async function streamExec(
  session: GatewaySession,
  input: ExecRequest,
  hold: HoldOptions
): Promise<ExecStreams> {
  const command = classifyRequest(session, input)
  return session.run(command, (context) => forwardExec(session, context, input), hold)
}

/** Runs the command and collects its output (up to MAX_COLLECTED_BYTES per stream). */
export async function runExec(
  session: GatewaySession,
  input: ExecRequest,
  hold: HoldOptions
): Promise<ExecResult> {
  const streams = await streamExec(session, input, hold)
  const [stdout, stderr] = await Promise.all([
    collect(streams.stdout, MAX_COLLECTED_BYTES),
    collect(streams.stderr, MAX_COLLECTED_BYTES),
  ])
  const end = await streams.ended
  return {
    exitCode: end.exitCode,
    signal: end.signal,
    stdout: stdout.text,
    stderr: stderr.text,
    timedOut: end.timedOut,
    truncated: stdout.truncated || stderr.truncated,
    ...(end.masked.length ? { masked: end.masked } : {}),
  }
}

function classifyRequest(session: GatewaySession, input: ExecRequest): ShellCommand {
  try {
    const command = classifyShell(input.command, 'api')
    return input.stdin === undefined
      ? command
      : { ...command, stdin: { bytes: utf8(input.stdin).length, text: input.stdin } }
  } catch (error) {
    const refusal = toGatehouseError(error)
    session.recordRefusal(refusal)
    throw refusal
  }
}

async function forwardExec(
  session: GatewaySession,
  context: ForwardContext,
  input: ExecRequest
): Promise<{ result: ExecStreams; settled: Promise<Outcome> }> {
  const target = SshTarget.parse(context.connection.target)
  const credential = SshCredential.parse(await context.credential())
  const origin = await openSshOrigin(context.connection.name, target, credential)
  const startedAt = Date.now()
  const open = await startCommand(context.connection.name, origin, input.command)

  // stdin, then end of file, so commands that read it (cat, sh -s) finish.
  const stdinDone = (input.stdin ? open.write(utf8(input.stdin)) : Promise.resolve())
    .then(() => open.eof())
    .catch(() => {})

  let timedOut = false
  const seconds = Math.min(
    input.timeoutSeconds ?? target.execTimeoutSeconds ?? DEFAULT_EXEC_TIMEOUT_SECONDS,
    target.execTimeoutSeconds ?? Number.POSITIVE_INFINITY
  )
  const stop = () => {
    void open.request('signal', false, (w) => w.text('KILL')).catch(() => {})
    void open.close()
  }
  const timer = setTimeout(() => {
    timedOut = true
    stop()
  }, seconds * 1000)
  // The kill switch costs a Durable Object call and an index write: armed only for commands
  // that outlive a quick one, so a short exec pays nothing for it.
  let killed: AbortSignal | undefined
  const arming = setTimeout(() => {
    killed = session.killed
    killed.addEventListener('abort', stop, { once: true })
    if (killed.aborted) stop()
  }, KILL_SWITCH_AFTER_MS)

  const stdoutTap = new OutputTap()
  const stderrTap = new OutputTap()
  const stdout = maskTextStream(
    open.data.pipeThrough(stdoutTap.stream),
    context.masking.text,
    context.tally
  )
  const stderr = maskTextStream(
    open.extended.pipeThrough(stderrTap.stream),
    context.masking.text,
    context.tally
  )

  const exit: Promise<ExitInfo> = open.exit.finally(async () => {
    clearTimeout(timer)
    clearTimeout(arming)
    killed?.removeEventListener('abort', stop)
    await stdinDone
    await origin.close().catch(() => {})
  })
  const ended = exit.then(
    (info): ExecEnd => ({
      exitCode: info.status ?? null,
      signal: info.signal ?? null,
      timedOut,
      masked: tallyReport(context.tally),
    })
  )
  const settled = ended.then((end): Outcome => {
    const bytes = origin.bytes()
    if (killed?.aborted) throw killed.reason
    return {
      status: end.timedOut ? 'error' : 'ok',
      ...(end.timedOut ? { errorCode: 'origin.timeout' } : {}),
      bytesUp: bytes.up,
      bytesDown: bytes.down,
      durationMs: Date.now() - startedAt,
      summary: { ...commandSummary(end, stdoutTap, stderrTap), timedOut: end.timedOut },
    }
  })
  return { result: { stdout, stderr, ended, stop }, settled }
}

/** A session channel on the origin running `command`; the login is closed if it cannot start. */
async function startCommand(name: string, origin: SshOrigin, command: string): Promise<Channel> {
  try {
    const channel = await origin.connection.openSession()
    if (!(await channel.request('exec', true, (w) => w.text(command)))) {
      throw new GatehouseError(
        'origin.protocol_error',
        `The SSH host of "${name}" refused to run the command.`
      )
    }
    return channel
  } catch (error) {
    await origin.close()
    throw error instanceof GatehouseError
      ? error
      : new GatehouseError(
          'origin.protocol_error',
          `The SSH host of "${name}" could not start the command.`,
          { detail: String(error), cause: error }
        )
  }
}

/** Reads a stream to text, keeping at most `max` bytes (and draining the rest). */
async function collect(
  stream: ReadableStream<Uint8Array>,
  max: number
): Promise<{ text: string; truncated: boolean }> {
  const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })
  let text = ''
  let kept = 0
  let truncated = false
  for await (const chunk of stream) {
    if (kept >= max) {
      truncated = true
      continue
    }
    const part = chunk.subarray(0, max - kept)
    kept += part.length
    if (part.length < chunk.length) truncated = true
    text += decoder.decode(part, { stream: true })
  }
  return { text: text + decoder.decode(), truncated }
}
