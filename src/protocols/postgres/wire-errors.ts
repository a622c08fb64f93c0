/**
 * Gatehouse refusals as Postgres sees them: an ErrorResponse with a SQLSTATE a driver can
 * act on, the person-readable message, and the stable Gatehouse code in the detail.
 */
import type { ErrorCode } from '../../errors.ts'
import { type GatehouseError, toGatehouseError } from '../../errors.ts'
import { encodeBackendMessage } from './codec/backend.ts'
import { ProtocolError } from './codec/protocol-error.ts'

/** Appendix A: Error Codes. */
const SQLSTATE: Partial<Record<ErrorCode, string>> = {
  'policy.blocked': '42501', // insufficient_privilege
  'approval.required': '42501',
  'approval.denied': '42501',
  'approval.expired': '42501',
  'approval.cancelled': '57014', // query_canceled
  'approval.body_too_large': '54000',
  'approval.unavailable': '57P03',
  'access.denied': '42501',
  'access.locked': '42501',
  'masking.lineage_unknown': '42501',
  'masking.laundering': '42501',
  'masking.binary_copy': '42501',
  'masking.catalog_unavailable': '08006',
  'origin.unreachable': '08006', // connection_failure
  'origin.timeout': '08006',
  'recorder.unavailable': '57P03', // cannot_connect_now: try again shortly
  'request.invalid': '08P01', // protocol_violation
  'request.too_large': '54000', // program_limit_exceeded
  'session.idle_timeout': '57P05', // idle_session_timeout
  'session.too_long': '57P01', // admin_shutdown
  'session.killed': '57P01', // admin_shutdown: terminating connection due to administrator command
}

export type WireError = { sqlState: string; code: string; message: string; fatal: boolean }

export function toWireError(error: unknown, fatal = false): WireError {
  if (error instanceof ProtocolError) {
    return { sqlState: error.sqlState, code: error.code, message: error.message, fatal: true }
  }
  const known: GatehouseError = toGatehouseError(error)
  return {
    sqlState: SQLSTATE[known.code] ?? 'XX000',
    code: known.code,
    message: known.message,
    fatal,
  }
}

export function errorResponse(error: WireError): Uint8Array {
  const severity = error.fatal ? 'FATAL' : 'ERROR'
  return encodeBackendMessage({
    type: 'ErrorResponse',
    fields: {
      severity,
      severityNonLocalized: severity,
      code: error.sqlState,
      message: error.message,
      detail: `gatehouse: ${error.code}`,
    },
  })
}

export function noticeResponse(message: string, detail?: string): Uint8Array {
  return encodeBackendMessage({
    type: 'NoticeResponse',
    fields: {
      severity: 'NOTICE',
      severityNonLocalized: 'NOTICE',
      code: '00000',
      message,
      ...(detail ? { detail } : {}),
    },
  })
}
