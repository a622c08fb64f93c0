/**
 * A session's closing manifest: what the transcript held when the gateway closed it
 * (event count, chain head, time range, who, where, how), signed with the gateway's
 * Ed25519 key. With it, events removed or appended after the fact are caught even when
 * the chain itself was recomputed.
 */
import { z } from 'zod'
import { utf8 } from '../encoding.ts'
import {
  checkSignature,
  type SignatureCheck,
  type SigningJwk,
  type SigningKey,
  signBytes,
} from './signing-key.ts'

export const MANIFEST_VERSION = 1
/** Names what the signature is for, so this key's signatures cannot stand in elsewhere. */
export const MANIFEST_TYPE = 'gatehouse.session-manifest'

const SHA256_HEX = /^[0-9a-f]{64}$/

export const Manifest = z.object({
  v: z.literal(MANIFEST_VERSION),
  type: z.literal(MANIFEST_TYPE),
  session: z.string(),
  /** The `v` of the transcript's events. */
  transcriptVersion: z.number().int(),
  protocol: z.string(),
  connection: z.string(),
  caller: z.object({
    id: z.string(),
    name: z.string(),
    via: z.string(),
    tokenId: z.string().optional(),
  }),
  /** Events in the transcript, `session.start` to `session.end`. */
  events: z.number().int().positive(),
  /** Hash of the last event's line: the chain head. */
  lastHash: z.string().regex(SHA256_HEX),
  /** `at` of the first and of the last event. */
  startedAt: z.iso.datetime(),
  endedAt: z.iso.datetime(),
  signedAt: z.iso.datetime(),
})
export type Manifest = z.infer<typeof Manifest>

/** A manifest as stored and exported: the exact bytes that were signed, and the signature. */
export type SignedManifest = {
  /** The manifest's JSON text exactly as signed. */
  text: string
  signature: string
  kid: string
}

/**
 * The stored form, one line: `{"manifest":<text>,"signature":"…","kid":"…"}`. The
 * manifest stays readable JSON, and the signed bytes are cut out of the line as they are,
 * never re-serialised.
 */
const ENVELOPE =
  /^\{"manifest":(\{.*\}),"signature":"([A-Za-z0-9_-]+)","kid":"([A-Za-z0-9_-]+)"\}$/s

/** Whether a line is a signed manifest rather than a transcript event (exports end with one). */
export function isManifestLine(line: string): boolean {
  return line.startsWith('{"manifest":')
}

/** Serialises and signs a manifest; returns the line to store. */
export async function signManifest(key: SigningKey, manifest: Manifest): Promise<string> {
  const text = JSON.stringify(manifest)
  const signature = await signBytes(key, utf8(text))
  return `{"manifest":${text},"signature":"${signature}","kid":"${key.kid}"}`
}

/** Splits a stored manifest line into the signed text and its signature; undefined if it is not one. */
export function parseSignedManifest(line: string): SignedManifest | undefined {
  const match = ENVELOPE.exec(line.replace(/\r?\n$/, ''))
  if (!match) return undefined
  const [, text = '', signature = '', kid = ''] = match
  return { text, signature, kid }
}

export type ManifestCheck = {
  kid: string | undefined
  signature: SignatureCheck | 'unreadable'
  /** Only when the signature is valid and what it signs is a manifest. */
  manifest: Manifest | undefined
  /** Why validly signed text is still not a manifest. */
  invalid?: string
}

/**
 * Checks a stored manifest line against the gateway's public keys and parses what was
 * signed. Only a valid signature yields a manifest to rely on.
 */
export async function checkManifest(
  line: string,
  keys: readonly SigningJwk[]
): Promise<ManifestCheck> {
  const signed = parseSignedManifest(line)
  if (!signed) return { signature: 'unreadable', kid: undefined, manifest: undefined }
  const { kid } = signed
  const signature = await checkSignature(keys, kid, utf8(signed.text), signed.signature)
  if (signature !== 'valid') return { signature, kid, manifest: undefined }
  let parsed: ReturnType<typeof Manifest.safeParse>
  try {
    parsed = Manifest.safeParse(JSON.parse(signed.text))
  } catch {
    return { signature, kid, manifest: undefined, invalid: 'is not JSON' }
  }
  if (parsed.success) return { signature, kid, manifest: parsed.data }
  const issue = parsed.error.issues[0]
  const invalid = `${issue?.path.join('.') || '(root)'} ${issue?.message ?? 'is invalid'}`
  return { signature, kid, manifest: undefined, invalid }
}
