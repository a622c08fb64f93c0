/**
 * One error family for the whole gateway. Every refusal has a stable `code` that
 * clients, tests and transcripts can rely on; each protocol maps it to its own
 * wire form (JSON body here, ErrorResponse for Postgres, and so on).
 */

/** Stable error codes and the HTTP status each one maps to. */
export const ERROR_STATUS = {
  'auth.missing_token': 401,
  'auth.malformed_token': 401,
  'auth.invalid_token': 401,
  'auth.expired_token': 401,
  'auth.revoked_token': 401,
  'auth.provider_unavailable': 503,
  'auth.login_unavailable': 404,
  'auth.login_failed': 401,
  'auth.session_required': 401,
  'auth.csrf_failed': 403,
  'access.denied': 403,
  'access.locked': 403,
  'admin.forbidden': 403,
  'connection.not_found': 404,
  'policy.blocked': 403,
  'policy.invalid': 400,
  'policy.unsafe_session': 403,
  'policy.conflict': 409,
  'approval.required': 403,
  'approval.pending': 202,
  'approval.denied': 403,
  'approval.expired': 403,
  'approval.cancelled': 403,
  'approval.not_found': 404,
  'approval.already_decided': 409,
  'approval.self_approval': 403,
  'approval.not_an_approver': 403,
  'approval.mismatch': 409,
  'approval.used': 409,
  'approval.body_too_large': 413,
  'approval.unavailable': 503,
  'request.invalid': 400,
  'request.ambiguous_path': 400,
  'request.wrong_protocol': 400,
  'request.upgrade_required': 426,
  'request.too_large': 413,
  'request.unsupported_media_type': 415,
  'resource.not_found': 404,
  'resource.conflict': 409,
  'query.failed': 422,
  'masking.lineage_unknown': 403,
  'masking.laundering': 403,
  'masking.binary_copy': 403,
  'masking.catalog_unavailable': 502,
  'masking.unsupported_encoding': 502,
  'masking.invalid_body': 502,
  'session.idle_timeout': 408,
  'session.too_long': 408,
  'session.killed': 403,
  'origin.unreachable': 502,
  'origin.timeout': 504,
  'origin.host_key_mismatch': 502,
  'origin.auth_failed': 502,
  'origin.protocol_error': 502,
  'recorder.unavailable': 503,
  'credential.unavailable': 500,
  'config.invalid': 500,
  'slack.invalid_signature': 401,
  'slack.stale_request': 401,
  'slack.unavailable': 502,
  'slack.rejected': 502,
  internal: 500,
} as const

export type ErrorCode = keyof typeof ERROR_STATUS

export type GatehouseErrorOptions = {
  /** Logged and recorded, never sent to the caller. */
  detail?: string
  /** Machine-readable extras that are safe to send (e.g. zod issues of a policy document). */
  data?: unknown
  cause?: unknown
}

/** A refusal or failure with a stable code, a message a person can act on, and a private detail. */
export class GatehouseError extends Error {
  override readonly name = 'GatehouseError'
  readonly code: ErrorCode
  readonly detail: string | undefined
  readonly data: unknown

  constructor(code: ErrorCode, message: string, options: GatehouseErrorOptions = {}) {
    super(message, { cause: options.cause })
    this.code = code
    this.detail = options.detail
    this.data = options.data
  }

  get status(): (typeof ERROR_STATUS)[ErrorCode] {
    return ERROR_STATUS[this.code]
  }

  /** The JSON body sent to HTTP callers: code and message, never the detail. */
  toJSON(): { error: { code: ErrorCode; message: string; data?: unknown } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.data === undefined ? {} : { data: this.data }),
      },
    }
  }
}

/** Wraps anything thrown into a GatehouseError, keeping known ones as they are. */
export function toGatehouseError(error: unknown): GatehouseError {
  if (error instanceof GatehouseError) return error
  return new GatehouseError('internal', 'The gateway failed to handle this request.', {
    detail: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    cause: error,
  })
}

/** RFC 6750 §3: 401s tell the client how to authenticate. */
const WWW_AUTHENTICATE: Partial<Record<ErrorCode, string>> = {
  'auth.missing_token': 'Bearer realm="gatehouse"',
  'auth.malformed_token': 'Bearer realm="gatehouse", error="invalid_request"',
  'auth.invalid_token': 'Bearer realm="gatehouse", error="invalid_token"',
  'auth.expired_token':
    'Bearer realm="gatehouse", error="invalid_token", error_description="expired"',
  'auth.revoked_token':
    'Bearer realm="gatehouse", error="invalid_token", error_description="revoked"',
}

/** The HTTP form of an error: status, JSON body, and RFC 6750 challenge for 401s. */
export function jsonErrorResponse(
  error: GatehouseError,
  headers: Record<string, string> = {}
): Response {
  const response = Response.json(error.toJSON(), { status: error.status, headers })
  const challenge = WWW_AUTHENTICATE[error.code]
  if (challenge) response.headers.set('www-authenticate', challenge)
  response.headers.set('cache-control', 'no-store')
  return response
}
