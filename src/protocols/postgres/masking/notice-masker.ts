/**
 * Origin errors and notices can quote data (`Key (email)=(ada@example.com) already
 * exists.`): their text fields go through the detectors before the client sees them.
 */
import type { TextMasker } from '../../../masking/types.ts'
import { decodeBackendMessage, encodeBackendMessage } from '../codec/backend.ts'
import type { MessageFrame } from '../codec/framer.ts'
import type { NoticeFieldName } from '../codec/notice-fields.ts'

/** Fields that carry free text from the server (the rest are codes, names and positions). */
const TEXT_FIELDS: readonly NoticeFieldName[] = [
  'message',
  'detail',
  'hint',
  'where',
  'internalQuery',
]

/** The frame's bytes with detector findings masked; the original bytes when none. */
export function maskNoticeFrame(frame: MessageFrame, masker: TextMasker): Uint8Array {
  const message = decodeBackendMessage(frame)
  if (message.type !== 'ErrorResponse' && message.type !== 'NoticeResponse') return frame.bytes
  let changed = false
  const fields = { ...message.fields }
  for (const name of TEXT_FIELDS) {
    const value = fields[name]
    if (value === undefined) continue
    const masked = masker.mask(value)
    if (masked !== value) {
      fields[name] = masked
      changed = true
    }
  }
  return changed ? encodeBackendMessage({ ...message, fields }) : frame.bytes
}
