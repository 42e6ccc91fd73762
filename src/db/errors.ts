/**
 * What a failure of the database means for the caller:
 * - `unavailable`: the server cannot be reached or cannot do the work now (connection lost,
 *   shutting down, out of resources, timed out, read-only, lock not available); retrying later
 *   may succeed, so it is a 503.
 * - `bad_input`: PostgreSQL refused a value (SQLSTATE class 22, data exception), so the same
 *   request can never succeed; a 400.
 * - `internal`: anything else is a fault of ours; a 500.
 */
export type DatabaseFailure = 'unavailable' | 'bad_input' | 'internal'

/** SQLSTATE classes and codes that say "not now" rather than "never". */
const UNAVAILABLE_CLASSES = new Set(['08', '53', '57', '58'])
const UNAVAILABLE_CODES = new Set([
  '25006', // read_only_sql_transaction (a standby, or default_transaction_read_only)
  '25P03', // idle_in_transaction_session_timeout ended the session
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available (lock_timeout)
  '55000' // object_not_in_prerequisite_state (e.g. the server is in recovery)
])

/** Node's socket errors: the server is not there. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN', 'ENETUNREACH'])

/**
 * node-postgres raises these without any code; they are its whole vocabulary for "the
 * connection is gone", so they are matched here, in this one place, and nowhere else.
 */
const PG_CONNECTION_MESSAGES = [
  'Connection terminated',
  'connection timeout',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end on the pool',
  'Query read timeout'
]

/** The SQLSTATE of a PostgreSQL error, if `err` carries one. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
}

export function classifyDatabaseError(err: unknown): DatabaseFailure {
  if (!(err instanceof Error)) return 'internal'
  const state = sqlState(err)
  if (state !== undefined) {
    if (state.startsWith('22')) return 'bad_input'
    if (UNAVAILABLE_CLASSES.has(state.slice(0, 2)) || UNAVAILABLE_CODES.has(state)) return 'unavailable'
    return 'internal'
  }
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && SOCKET_CODES.has(code)) return 'unavailable'
  if (err.name === 'AggregateError' && Array.isArray((err as AggregateError).errors)) {
    // Connecting to "localhost" tries ::1 and 127.0.0.1 and reports both refusals at once.
    return (err as AggregateError).errors.every((e) => classifyDatabaseError(e) === 'unavailable') ? 'unavailable' : 'internal'
  }
  if (PG_CONNECTION_MESSAGES.some((m) => err.message.startsWith(m) || err.message.includes(m))) return 'unavailable'
  if (err.cause !== undefined && err.cause !== err) return classifyDatabaseError(err.cause)
  return 'internal'
}
