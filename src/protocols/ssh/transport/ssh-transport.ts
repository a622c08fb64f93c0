/**
 * The SSH transport layer (RFC 4253) for either role: the version exchange, key exchange
 * (the first one and any the peer starts later), packet protection, and the ordering
 * rules around NEWKEYS, including OpenSSH's strict key exchange against prefix truncation.
 * Above it the connection layer sees only whole, authenticated message payloads.
 */

import type { SshSigner } from '../keys/ed25519-signer.ts'
import type { PublicKey } from '../keys/public-key.ts'
import { Msg } from '../wire/message-numbers.ts'
import { SshDisconnected, SshProtocolError } from '../wire/ssh-error.ts'
import { SshReader } from '../wire/ssh-reader.ts'
import { payload } from '../wire/ssh-writer.ts'
import {
  CIPHERS,
  decodeKexInit,
  encodeKexInit,
  KEX_ALGORITHMS,
  type KexInit,
  MACS,
  negotiateAll,
  STRICT_KEX,
} from './algorithms.ts'
import { ByteSource } from './byte-source.ts'
import { ecdhRound, protectionsOf } from './ecdh-round.ts'
import {
  CLEAR,
  checkPacketLength,
  framePacket,
  type PacketProtection,
  unpad,
} from './packet-protection.ts'

export const GATEHOUSE_VERSION = 'SSH-2.0-Gatehouse_1.0'
const MAX_VERSION_LINE = 255
const MAX_BANNER_LINES = 32
/** Traffic after which the gateway starts a new key exchange itself. */
const REKEY_BYTES = 1024 * 1024 * 1024

export type Duplex = { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> }

export type TransportOptions =
  | {
      role: 'client'
      /** Host key algorithms to offer, best first (those of the pinned key). */
      hostKeyAlgorithms: readonly string[]
      /** Throws to refuse the server's host key (pinning). */
      verifyHostKey: (key: PublicKey) => void | Promise<void>
    }
  | { role: 'server'; hostKey: SshSigner }

type HeldSend = { message: Uint8Array; resolve: () => void; reject: (error: unknown) => void }

export class SshTransport {
  readonly role: 'client' | 'server'
  readonly #options: TransportOptions
  readonly #source: ByteSource
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>
  #inbound: PacketProtection = CLEAR
  #outbound: PacketProtection = CLEAR
  #inSequence = 0
  #outSequence = 0
  #writes: Promise<void> = Promise.resolve()
  /** Connection-layer messages sent during a key exchange wait here until NEWKEYS. */
  #held: HeldSend[] | null = null
  /** Our KEXINIT while a key exchange runs. */
  #ownKexInit: Uint8Array | null = null
  #strict = false
  #firstKex = true
  #closed = false
  #sessionId: Uint8Array | null = null
  peerVersion = ''
  bytesOut = 0
  /** Key exchanges completed, the first one included. */
  keyExchanges = 0
  #bytesAtLastKex = 0

  private constructor(duplex: Duplex, options: TransportOptions) {
    this.role = options.role
    this.#options = options
    this.#source = new ByteSource(duplex.readable)
    this.#writer = duplex.writable.getWriter()
  }

  /** Exchanges versions and keys; resolves once traffic is encrypted. `signal` ends it early. */
  static async open(
    duplex: Duplex,
    options: TransportOptions,
    signal?: AbortSignal
  ): Promise<SshTransport> {
    const transport = new SshTransport(duplex, options)
    const abort = () => transport.close()
    signal?.addEventListener('abort', abort, { once: true })
    try {
      await transport.#handshake()
    } catch (error) {
      await transport.fail(error)
      throw signal?.aborted ? signal.reason : error
    } finally {
      signal?.removeEventListener('abort', abort)
    }
    return transport
  }

  /** H of the first key exchange (RFC 4253 §7.2): signed in user authentication. */
  get sessionId(): Uint8Array {
    if (!this.#sessionId) throw new Error('no key exchange yet')
    return this.#sessionId
  }

  get bytesIn(): number {
    return this.#source.consumed
  }

  /** Sequence number of the last packet received (for UNIMPLEMENTED). */
  get lastSequence(): number {
    return (this.#inSequence - 1) >>> 0
  }

  async #handshake(): Promise<void> {
    await this.#writeRaw(new TextEncoder().encode(`${GATEHOUSE_VERSION}\r\n`))
    this.peerVersion = await this.#readVersion()
    await this.#startKex()
    const first = await this.#readPayload()
    if (!first) throw new SshDisconnected('the peer closed the connection during the handshake')
    if (first[0] !== Msg.KEXINIT) throw new SshProtocolError('the first packet is not KEXINIT')
    await this.#kex(first)
  }

  async #readVersion(): Promise<string> {
    // A server may print lines before its version (RFC 4253 §4.2); a client may not.
    const lines = this.role === 'client' ? MAX_BANNER_LINES : 1
    for (let i = 0; i < lines; i++) {
      const line = await this.#source.readLine(MAX_VERSION_LINE)
      if (line.startsWith('SSH-')) {
        if (!line.startsWith('SSH-2.0-') && !line.startsWith('SSH-1.99-')) {
          throw new SshProtocolError(
            `unsupported protocol version ${JSON.stringify(line.slice(0, 40))}`
          )
        }
        return line
      }
    }
    throw new SshProtocolError('the peer did not send an SSH version line')
  }

  /**
   * The next connection-layer message (or SERVICE_REQUEST/ACCEPT, EXT_INFO); `null` when
   * the peer closed the stream. Key exchanges the peer starts are run here, in between.
   */
  async receive(): Promise<Uint8Array | null> {
    for (;;) {
      const message = await this.#readPayload()
      if (!message) return null
      switch (message[0]) {
        case Msg.DISCONNECT: {
          const reader = new SshReader(message, 1)
          const reason = reader.uint32()
          throw new SshDisconnected(`the peer disconnected: ${safeText(reader)}`, reason)
        }
        case Msg.IGNORE:
        case Msg.DEBUG:
        case Msg.UNIMPLEMENTED:
          continue
        case Msg.KEXINIT:
          await this.#kex(message)
          continue
        case Msg.NEWKEYS:
        case Msg.KEX_ECDH_INIT:
        case Msg.KEX_ECDH_REPLY:
          throw new SshProtocolError(`key exchange message ${message[0]} outside a key exchange`)
        default:
          return message
      }
    }
  }

  /** Sends a message; during a key exchange it waits for the new keys. */
  send(message: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new SshDisconnected('the connection is closed'))
    if (this.#held) {
      return new Promise((resolve, reject) => this.#held?.push({ message, resolve, reject }))
    }
    return this.#write(message)
  }

  /** Starts a new key exchange (RFC 4253 §9); traffic waits for the new keys meanwhile. */
  rekey(): void {
    if (this.#closed || this.#ownKexInit) return
    this.#startKex().catch((error) => this.fail(error))
  }

  /** Sends DISCONNECT with `reason` and closes. */
  async disconnect(reason: number, description: string): Promise<void> {
    if (this.#closed) return
    const message = payload((w) => w.byte(Msg.DISCONNECT).uint32(reason).text(description).text(''))
    await this.#write(message).catch(() => {})
    this.close()
  }

  /** Ends the connection after `error`: protocol errors are named to the peer first. */
  async fail(error: unknown): Promise<void> {
    if (error instanceof SshProtocolError) await this.disconnect(error.reason, error.message)
    else this.close()
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const held of this.#held ?? []) held.reject(new SshDisconnected('the connection closed'))
    this.#held = null
    this.#writer.close().catch(() => {})
    this.#source.cancel()
  }

  get closed(): boolean {
    return this.#closed
  }

  // Reading and writing packets

  async #readPayload(): Promise<Uint8Array | null> {
    const length = await this.#source.read(4)
    if (!length) return null
    const packetLength = new DataView(length.buffer, length.byteOffset, 4).getUint32(0)
    checkPacketLength(packetLength, this.#inbound)
    const rest = await this.#source.read(packetLength + this.#inbound.tagLength)
    if (!rest) throw new SshDisconnected('the peer closed the connection mid-packet')
    const message = unpad(await this.#inbound.open(length, rest))
    this.#inSequence = (this.#inSequence + 1) >>> 0
    if (message.length === 0) throw new SshProtocolError('an empty message')
    if (this.#strict && this.#firstKex && !isKexMessage(message[0] as number)) {
      throw new SshProtocolError(`message ${message[0]} during the strict initial key exchange`)
    }
    return message
  }

  #write(message: Uint8Array, after?: () => void): Promise<void> {
    const write = this.#writes.then(async () => {
      const sealed = await this.#outbound.seal(framePacket(message, this.#outbound))
      this.#outSequence = (this.#outSequence + 1) >>> 0
      after?.()
      await this.#writeRaw(sealed)
      // RFC 4253 §9: new keys after about a gigabyte each way.
      if (this.bytesOut + this.bytesIn - this.#bytesAtLastKex > REKEY_BYTES) this.rekey()
    })
    this.#writes = write.catch(() => {})
    return write
  }

  async #writeRaw(bytes: Uint8Array): Promise<void> {
    this.bytesOut += bytes.length
    await this.#writer.write(bytes)
  }

  // Key exchange

  #ownInit(): Uint8Array {
    const kex = [...KEX_ALGORITHMS, this.role === 'client' ? STRICT_KEX.client : STRICT_KEX.server]
    const options = this.#options
    const hostKey =
      options.role === 'client' ? [...options.hostKeyAlgorithms] : [options.hostKey.publicKey.type]
    return encodeKexInit({
      kex,
      hostKey,
      cipherC2S: [...CIPHERS],
      cipherS2C: [...CIPHERS],
      macC2S: [...MACS],
      macS2C: [...MACS],
      compressionC2S: ['none'],
      compressionS2C: ['none'],
    })
  }

  async #startKex(): Promise<void> {
    if (this.#ownKexInit) return
    this.#held ??= []
    this.#ownKexInit = this.#ownInit()
    await this.#write(this.#ownKexInit)
  }

  async #kex(peerInit: Uint8Array): Promise<void> {
    await this.#startKex()
    const own = this.#ownKexInit as Uint8Array
    const client = this.role === 'client' ? own : peerInit
    const server = this.role === 'client' ? peerInit : own
    const clientInit = decodeKexInit(client)
    const serverInit = decodeKexInit(server)
    const negotiated = negotiateAll(clientInit, serverInit)
    if (this.#firstKex) this.#strict = negotiated.strict
    const peer = this.role === 'client' ? serverInit : clientInit
    if (peer.firstKexPacketFollows && guessedWrong(peer, clientInit, serverInit)) {
      await this.#readPayload()
    }

    const options = this.#options
    const round = await ecdhRound(
      options.role === 'client'
        ? { role: 'client', verifyHostKey: options.verifyHostKey }
        : { role: 'server', hostKey: options.hostKey },
      {
        clientVersion: this.role === 'client' ? GATEHOUSE_VERSION : this.peerVersion,
        serverVersion: this.role === 'client' ? this.peerVersion : GATEHOUSE_VERSION,
        clientKexInit: client,
        serverKexInit: server,
        negotiated,
        write: (message) => this.#write(message),
        expect: (type) => this.#expect(type),
      }
    )
    this.#sessionId ??= round.hash
    const { outbound, inbound } = await protectionsOf(this.role, negotiated, round, this.#sessionId)

    const strict = this.#strict
    await this.#write(
      payload((w) => w.byte(Msg.NEWKEYS)),
      () => {
        this.#outbound = outbound
        if (strict) this.#outSequence = 0
      }
    )
    await this.#expect(Msg.NEWKEYS)
    this.#inbound = inbound
    if (strict) this.#inSequence = 0
    this.#firstKex = false
    this.#ownKexInit = null
    this.keyExchanges++
    this.#bytesAtLastKex = this.bytesOut + this.bytesIn
    const held = this.#held ?? []
    this.#held = null
    for (const send of held) this.#write(send.message).then(send.resolve, send.reject)
  }

  /** The next key-exchange message, which must be `type` (IGNORE/DEBUG skipped unless strict). */
  async #expect(type: number): Promise<Uint8Array> {
    for (;;) {
      const message = await this.#readPayload()
      if (!message) throw new SshDisconnected('the peer closed the connection during key exchange')
      const got = message[0] as number
      if (got === type) return message
      if (got === Msg.DISCONNECT) {
        const reader = new SshReader(message, 1)
        const reason = reader.uint32()
        throw new SshDisconnected(`the peer disconnected: ${safeText(reader)}`, reason)
      }
      if (!this.#strict && (got === Msg.IGNORE || got === Msg.DEBUG)) continue
      throw new SshProtocolError(`expected message ${type} in the key exchange, got ${got}`)
    }
  }
}

function isKexMessage(type: number): boolean {
  return (
    type === Msg.KEXINIT ||
    type === Msg.NEWKEYS ||
    type === Msg.KEX_ECDH_INIT ||
    type === Msg.KEX_ECDH_REPLY ||
    type === Msg.DISCONNECT
  )
}

/** RFC 4253 §7: a guessed first packet is ignored when the guess of kex or host key was wrong. */
function guessedWrong(peer: KexInit, client: KexInit, server: KexInit): boolean {
  return (
    peer.kex[0] !== client.kex.find((name) => server.kex.includes(name)) ||
    peer.hostKey[0] !== client.hostKey.find((name) => server.hostKey.includes(name))
  )
}

function safeText(reader: SshReader): string {
  try {
    return reader.text().slice(0, 200)
  } catch {
    return '(no description)'
  }
}
