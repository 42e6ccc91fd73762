/**
 * Domain errors carry a stable `code` and an HTTP status; the error plugin maps them to
 * problem+json. Handlers and services throw; nothing branches on message text.
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    readonly title: string,
    detail: string,
    /** Extra problem members (RFC 9457 extensions) the client needs, never internals. */
    readonly extensions: Readonly<Record<string, unknown>> = {}
  ) {
    super(detail)
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string) {
    super('not_found', 404, 'Not Found', `${what} does not exist`)
  }
}

export class ConflictError extends DomainError {
  constructor(code: string, detail: string) {
    super(code, 409, 'Conflict', detail)
  }
}

export class InvalidRequestError extends DomainError {
  constructor(code: string, detail: string) {
    super(code, 400, 'Bad Request', detail)
  }
}

/** Why a request's bearer token was refused: a caller can tell a typo from a revoked token. */
export const TOKEN_STATUSES = ['missing', 'malformed', 'unknown', 'revoked', 'expired'] as const
export type TokenStatus = (typeof TOKEN_STATUSES)[number]

/** ASCII without quotes or backslashes: also the RFC 6750 error_description. */
const TOKEN_DETAILS: Record<TokenStatus, string> = {
  missing: 'a bearer token is required: send Authorization: Bearer <token>',
  malformed: 'the Authorization header is not Bearer followed by one token of letters, digits and -._~+/=',
  unknown: 'the bearer token is not one this service issued',
  revoked: 'the bearer token was revoked: ask an admin for a new one',
  expired: 'the bearer token has expired: ask an admin for a new one'
}

export class UnauthorizedError extends DomainError {
  constructor(readonly tokenStatus: TokenStatus) {
    super('unauthorized', 401, 'Unauthorized', TOKEN_DETAILS[tokenStatus], { tokenStatus })
  }

  /**
   * The WWW-Authenticate challenge (RFC 9110 §11.6.1, RFC 6750 §3): a request with no credentials
   * gets no error code, a header that is not a bearer token is invalid_request, and a token the
   * service does not accept is invalid_token.
   */
  get challenge(): string {
    if (this.tokenStatus === 'missing') return 'Bearer realm="shizenha"'
    const error = this.tokenStatus === 'malformed' ? 'invalid_request' : 'invalid_token'
    return `Bearer realm="shizenha", error="${error}", error_description="${this.message}"`
  }
}

export class ForbiddenError extends DomainError {
  constructor(detail = 'your role does not permit this request') {
    super('forbidden', 403, 'Forbidden', detail)
  }
}

export class IdempotencyConflictError extends DomainError {
  constructor() {
    super('idempotency_key_reused', 422, 'Unprocessable Content', 'this Idempotency-Key was already used with a different request body')
  }
}

/** The ledger could not record a decision: the caller must not proceed with the hand-off. */
export class LedgerUnavailableError extends DomainError {
  constructor() {
    super('ledger_unavailable', 503, 'Service Unavailable', 'the decision could not be recorded; nothing was allowed')
  }
}

/** A client asked outside its channels or purposes; the attempt is in the ledger as `entry`. */
export class ClientScopeError extends DomainError {
  constructor(entry: Readonly<Record<string, unknown>>) {
    super('client_scope', 403, 'Forbidden', 'this client may not use this channel or purpose, or act for this provider; the attempt was recorded', { entry })
  }
}

/** A value PostgreSQL refused (SQLSTATE class 22): the same request can never succeed. */
export class ValueOutOfRangeError extends InvalidRequestError {
  constructor() {
    super('value_out_of_range', 'a value in the request cannot be stored (out of range or malformed)')
  }
}

/** The database cannot be reached or cannot work now; nothing was changed, and a retry may succeed. */
export class DatabaseUnavailableError extends DomainError {
  constructor() {
    super('database_unavailable', 503, 'Service Unavailable', 'the database is unavailable; nothing was changed; retry later', {})
  }
}
