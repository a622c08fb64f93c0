/**
 * The gateway as the server a Postgres client first talks to: it refuses TLS inside the
 * tunnel ('N': the WebSocket is already the secure channel), recognises a CancelRequest,
 * negotiates the protocol down to 3.0, and decides which startup parameters may travel
 * to the origin. The user and database a client names are recorded, never used: the
 * connection fixes both, and the caller was authenticated by its token.
 */
import { GatehouseError } from '../../errors.ts'
import { encodeBackendMessage } from './codec/backend.ts'
import { decodeStartupFrame, PROTOCOL_VERSION_3_0 } from './codec/startup.ts'
import type { FrameStream } from './frame-stream.ts'

const NO_ENCRYPTION = new Uint8Array([0x4e]) // 'N'

/** Startup parameters passed on to the origin; anything else (options, role GUCs) stays here. */
const FORWARDED_PARAMETERS = new Set([
  'application_name',
  'datestyle',
  'timezone',
  'intervalstyle',
  'extra_float_digits',
  'bytea_output',
])
const UTF8_NAMES = new Set(['utf8', 'utf-8', 'unicode', 'auto'])

export type ClientStart =
  | { kind: 'session'; requested: Record<string, string>; forwarded: Record<string, string> }
  | { kind: 'cancel'; processId: number; secretKey: Uint8Array }

/** Reads the client's startup phase; undefined when it hangs up first. */
export async function readClientStartup(
  frames: FrameStream,
  writer: WritableStreamDefaultWriter<Uint8Array>
): Promise<ClientStart | undefined> {
  for (;;) {
    const frame = await frames.next()
    if (!frame) return undefined
    if (frame.phase !== 'startup')
      throw new GatehouseError('request.invalid', 'Expected a startup message.')
    const message = decodeStartupFrame(frame)
    switch (message.type) {
      case 'SSLRequest':
      case 'GSSENCRequest':
        await writer.write(NO_ENCRYPTION)
        break
      case 'CancelRequest':
        return { kind: 'cancel', processId: message.processId, secretKey: message.secretKey }
      case 'StartupMessage': {
        if (message.protocolVersion >>> 16 !== 3) {
          throw new GatehouseError('request.invalid', 'Only protocol version 3 is supported.')
        }
        const requested = { ...message.parameters }
        if (message.protocolVersion !== PROTOCOL_VERSION_3_0) {
          // 55.2.1: tell a newer client we speak 3.0 and ignore its _pq_ options.
          await writer.write(
            encodeBackendMessage({
              type: 'NegotiateProtocolVersion',
              newestVersion: PROTOCOL_VERSION_3_0,
              unrecognizedOptions: Object.keys(requested).filter((name) =>
                name.startsWith('_pq_.')
              ),
            })
          )
        }
        return { kind: 'session', requested, forwarded: forwardedParameters(requested) }
      }
    }
  }
}

function forwardedParameters(requested: Record<string, string>): Record<string, string> {
  if (requested.replication !== undefined && requested.replication !== 'false') {
    throw new GatehouseError(
      'request.invalid',
      'Replication connections are not allowed through Gatehouse.'
    )
  }
  const encoding = requested.client_encoding
  if (encoding !== undefined && !UTF8_NAMES.has(encoding.toLowerCase())) {
    throw new GatehouseError(
      'request.invalid',
      `Gatehouse speaks UTF8 only; the client asked for client_encoding ${encoding}.`
    )
  }
  // The classifier reads SQL as a UTF-8, standard-strings server would; make the origin one.
  const forwarded: Record<string, string> = {
    client_encoding: 'UTF8',
    standard_conforming_strings: 'on',
  }
  for (const [name, value] of Object.entries(requested)) {
    if (FORWARDED_PARAMETERS.has(name.toLowerCase())) forwarded[name] = value
  }
  return forwarded
}
