/**
 * One session channel of an agent's SSH client joined to one on the origin. Terminal
 * settings pass through; `shell` and `exec` are commands: decided, written ahead, held
 * for approval or refused (the reason on stderr, exit status 126) before the origin
 * hears of them. Once running, bytes flow both ways under both sides' flow control; the
 * origin's output is masked for the agent and recorded (as asciicast when a pty was
 * asked for). File transfer subsystems and agent/X11 forwarding are refused: they would
 * move data or open paths around the command policy.
 */
import { utf8 } from '../../../encoding.ts'
import { GatehouseError, toGatehouseError } from '../../../errors.ts'
import { maskTerminalStream } from '../../../masking/terminal-stream.ts'
import { maskTextStream } from '../../../masking/text-stream.ts'
import type { HoldOptions } from '../../../pipeline/pause.ts'
import type { ForwardContext, GatewaySession } from '../../../pipeline/session.ts'
import type { Outcome, ShellCommand } from '../../../pipeline/types.ts'
import { classifyShell, interactiveShell } from '../../../policy/shell/index.ts'
import type { TerminalRecorder } from '../../../recorder/terminal-recorder.ts'
import type { Channel, ExitInfo } from '../connection/channel.ts'
import { commandSummary, OutputTap } from '../exec/output-tap.ts'
import type { SshReader } from '../wire/ssh-reader.ts'

/** Exit status reported for a command the gateway refused to run (POSIX "cannot execute"). */
export const REFUSED_EXIT_STATUS = 126

type Pty = { term: string; width: number; height: number }

export function bridgeChannel(
  session: GatewaySession,
  client: Channel,
  origin: Channel
): Promise<void> {
  const bridge = new ChannelBridge(session, client, origin)
  return bridge.done
}

class ChannelBridge {
  readonly #session: GatewaySession
  readonly #client: Channel
  readonly #origin: Channel
  #pty: Pty | undefined
  #started = false
  #recorder: TerminalRecorder | undefined
  #relaying = false
  readonly done: Promise<void>

  constructor(session: GatewaySession, client: Channel, origin: Channel) {
    this.#session = session
    this.#client = client
    this.#origin = origin
    client.onRequest((type, body, wantReply) => this.#request(type, body, wantReply))
    // Either side closing ends the pair; once a command runs, #relay reports its exit first.
    void origin.closed.then(() => {
      if (!this.#relaying) void client.close()
    })
    this.done = Promise.all([client.closed, origin.closed]).then(async () => {
      await this.#recorder?.close()
    })
    void client.closed.then(() => origin.close())
  }

  async #request(type: string, body: SshReader, _wantReply: boolean): Promise<boolean> {
    const origin = this.#origin
    switch (type) {
      case 'pty-req': {
        const term = body.text()
        const width = body.uint32()
        const height = body.uint32()
        const pixelWidth = body.uint32()
        const pixelHeight = body.uint32()
        const modes = body.string()
        this.#pty = { term, width, height }
        return origin.request('pty-req', true, (w) =>
          w
            .text(term)
            .uint32(width)
            .uint32(height)
            .uint32(pixelWidth)
            .uint32(pixelHeight)
            .string(modes)
        )
      }
      case 'env': {
        const name = body.text()
        const value = body.text()
        return origin.request('env', true, (w) => w.text(name).text(value))
      }
      case 'window-change': {
        const width = body.uint32()
        const height = body.uint32()
        const pixelWidth = body.uint32()
        const pixelHeight = body.uint32()
        this.#recorder?.resize(width, height)
        await origin.request('window-change', false, (w) =>
          w.uint32(width).uint32(height).uint32(pixelWidth).uint32(pixelHeight)
        )
        return true
      }
      case 'signal': {
        const name = body.text()
        await origin.request('signal', false, (w) => w.text(name))
        return true
      }
      case 'shell':
        return this.#start(interactiveShell(), () => origin.request('shell', true))
      case 'exec': {
        const line = body.text()
        return this.#start(classifyShell(line, 'exec'), () =>
          origin.request('exec', true, (w) => w.text(line))
        )
      }
      case 'subsystem': {
        const name = body.text().slice(0, 64)
        this.#session.recordRefusal(
          new GatehouseError('policy.blocked', `The ${name} subsystem was refused.`)
        )
        // Taken, then ended with the reason: a refused request would make ssh exit before
        // printing what it was told on stderr.
        return this.#refuse(
          `gatehouse: the ${name} subsystem is not available through Gatehouse: file transfer would bypass the command policy.`
        )
      }
      default:
        // x11-req, auth-agent-req@openssh.com, keepalive@openssh.com, …
        return false
    }
  }

  /** Runs `command` through the pipeline; `forward` asks the origin to start it. */
  async #start(command: ShellCommand, forward: () => Promise<boolean>): Promise<boolean> {
    if (this.#started) return false
    this.#started = true
    const client = this.#client
    const hold: HoldOptions = {
      onPending: (pending) =>
        this.#tell(
          `gatehouse: waiting for approval: ${pending.url} (approval ${pending.id}, expires ${new Date(pending.expiresAt).toISOString()})`
        ),
      signal: closedSignal(client),
    }
    try {
      await this.#session.run(
        command,
        async (context) => {
          if (!(await forward())) {
            throw new GatehouseError(
              'origin.protocol_error',
              `The SSH host of "${context.connection.name}" refused to start ${command.text ? 'the command' : 'a shell'}.`
            )
          }
          return { result: undefined, settled: this.#relay(context, command) }
        },
        hold
      )
    } catch (error) {
      const refusal = toGatehouseError(error)
      return this.#refuse(`gatehouse: ${refusal.code}: ${refusal.message}`)
    }
    return true
  }

  /**
   * Takes the request, says why on stderr, and ends the channel with REFUSED_EXIT_STATUS
   * once the request is answered: clients print stderr and exit with the status.
   */
  async #refuse(message: string): Promise<boolean> {
    this.#started = true
    await this.#tell(message)
    void this.#client.repliesSent().then(() => this.#finish({ status: REFUSED_EXIT_STATUS }))
    return true
  }

  /** Moves bytes both ways until the origin's side ends; resolves with the outcome. */
  async #relay(context: ForwardContext, command: ShellCommand): Promise<Outcome> {
    this.#relaying = true
    const client = this.#client
    const origin = this.#origin
    const startedAt = Date.now()
    const pty = this.#pty
    if (pty) {
      this.#recorder = this.#session.openTerminal(
        {
          width: pty.width,
          height: pty.height,
          timestamp: Math.floor(startedAt / 1000),
          term: pty.term,
          ...(command.text ? { title: command.text.slice(0, 200) } : {}),
        },
        () => {
          void this.#tell(
            'gatehouse: the terminal recording cannot be stored, so the session is ended.'
          ).then(() => this.#finish({ status: REFUSED_EXIT_STATUS }))
        }
      )
    }
    const recorder = this.#recorder
    let inputBytes = 0
    const input = (async () => {
      for await (const chunk of client.data) {
        inputBytes += chunk.length
        await origin.write(chunk)
      }
      await origin.eof()
    })().catch(() => {})

    const outTap = new OutputTap()
    const errTap = new OutputTap()
    const mask = (stream: ReadableStream<Uint8Array>) => {
      const { text } = context.masking
      if (!text.active) return stream
      return pty
        ? stream.pipeThrough(maskTerminalStream(text, context.tally))
        : maskTextStream(stream, text, context.tally)
    }
    const record = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        recorder?.output(chunk)
        controller.enqueue(chunk)
      },
    })
    const relay = async (
      stream: ReadableStream<Uint8Array>,
      write: (bytes: Uint8Array) => Promise<void>
    ) => {
      for await (const chunk of stream) await write(chunk)
    }
    const stdout = relay(mask(origin.data.pipeThrough(outTap.stream).pipeThrough(record)), (b) =>
      client.write(b)
    )
    const stderr = relay(mask(origin.extended.pipeThrough(errTap.stream)), (b) =>
      client.writeExtended(b)
    )
    await Promise.allSettled([stdout, stderr])
    const exit = await origin.exit
    await this.#finish(exit)
    await input
    await recorder?.close()
    return {
      status: 'ok',
      durationMs: Date.now() - startedAt,
      summary: {
        // A terminal's output is in its asciicast recording; a command's is kept here.
        ...commandSummary(
          { exitCode: exit.status ?? null, signal: exit.signal ?? null },
          outTap,
          errTap,
          !pty
        ),
        inputBytes,
        ...(pty ? { pty: `${pty.term} ${pty.width}x${pty.height}` } : {}),
      },
    }
  }

  /** Reports how it ended to the client, then closes its channel. */
  async #finish(exit: ExitInfo): Promise<void> {
    const client = this.#client
    if (!client.isOpen) return
    if (exit.signal) {
      await client
        .request('exit-signal', false, (w) =>
          w
            .text(exit.signal ?? '')
            .boolean(false)
            .text(exit.message ?? '')
            .text('')
        )
        .catch(() => {})
    } else if (exit.status !== undefined) {
      const status = exit.status
      await client.request('exit-status', false, (w) => w.uint32(status)).catch(() => {})
    }
    await client.eof()
    await client.close()
  }

  /** A line on the client's stderr. */
  async #tell(message: string): Promise<void> {
    await this.#client.writeExtended(utf8(`${message}\r\n`)).catch(() => {})
  }
}

function closedSignal(channel: Channel): AbortSignal {
  const controller = new AbortController()
  void channel.closed.then(() => controller.abort(new Error('the client closed the channel')))
  return controller.signal
}
