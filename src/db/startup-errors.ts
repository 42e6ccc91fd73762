import pg from 'pg'
import { classifyDatabaseError, sqlState } from './errors.js'

/**
 * Why the service cannot start, for the operator reading the terminal: each code names what to
 * fix (the address, the database name, the credentials, a migration).
 */
export type StartupFailureCode =
  | 'database_unreachable'
  | 'database_missing'
  | 'authentication_failed'
  | 'database_refused'
  | 'migration_failed'
  /** DATABASE_READ_URL is not a streaming standby of DATABASE_URL (src/db/standby.ts). */
  | 'reader_refused'
  /** Another live process holds the embedded database's DATA_DIR (src/db/data-dir-lock.ts). */
  | 'data_dir_locked'

/**
 * A start-up failure with a message an operator can act on. The message never carries the
 * password of the database URL; `cause` keeps the driver's error for the log.
 */
export class StartupError extends Error {
  override readonly name: string = 'StartupError'
  constructor(
    readonly code: StartupFailureCode,
    message: string,
    options?: ErrorOptions
  ) {
    super(message, options)
  }
}

/** A migration did not apply; the message names it and the database's reason. */
export class MigrationError extends StartupError {
  override readonly name = 'MigrationError'
  constructor(message: string, options?: ErrorOptions) {
    super('migration_failed', message, options)
  }
}

/** Where a PostgreSQL URL leads, resolved as node-postgres resolves it (PG* variables included). */
interface Target {
  readonly address: string
  readonly user: string | undefined
  readonly database: string | undefined
  readonly secrets: readonly string[]
}

function targetOf(url: string): Target {
  const secrets: string[] = []
  try {
    const { password } = new URL(url)
    if (password) secrets.push(password)
    secrets.push(decodeURIComponent(password))
  } catch {
    // Not a WHATWG URL, or a malformed escape; node-postgres's reading below still counts.
  }
  try {
    const client = new pg.Client({ connectionString: url })
    if (typeof client.password === 'string' && client.password) secrets.push(client.password)
    const host = client.host.includes(':') ? `[${client.host}]` : client.host
    return { address: `${host}:${client.port}`, user: client.user, database: client.database, secrets }
  } catch {
    return { address: 'the address in DATABASE_URL', user: undefined, database: undefined, secrets }
  }
}

/** Replaces every occurrence of the URL's password in `text`. */
export function maskSecrets(text: string, url: string | undefined): string {
  if (url === undefined) return text
  return targetOf(url)
    .secrets.filter((s) => s.length > 0)
    .reduce((masked, secret) => masked.split(secret).join('***'), text)
}

/** Connecting to a name with several addresses reports every refusal at once; the first speaks for all. */
function innermost(err: unknown): unknown {
  return err instanceof AggregateError && err.errors.length > 0 ? err.errors[0] : err
}

const SOCKET_REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timed out',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed; try again',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable'
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function describe(err: unknown, target: Target): { code: StartupFailureCode; text: string } {
  const cause = innermost(err)
  const state = sqlState(cause)
  const user = target.user === undefined ? 'the configured user' : `user "${target.user}"`
  switch (state) {
    case '3D000':
      return { code: 'database_missing', text: `database "${target.database ?? '?'}" does not exist on ${target.address}` }
    case '28P01':
      return { code: 'authentication_failed', text: `authentication failed for ${user} on ${target.address}` }
    case '28000':
      // The server's own words say which: an unknown role, or no pg_hba.conf line for this client.
      return { code: 'authentication_failed', text: `PostgreSQL at ${target.address} refused ${user}: ${message(cause)}` }
    case '57P03':
      return { code: 'database_unreachable', text: `PostgreSQL at ${target.address} is starting up, shutting down or recovering; try again` }
    case '53300':
      return { code: 'database_unreachable', text: `PostgreSQL at ${target.address} has no connection slots left` }
    case undefined:
      break
    default:
      return { code: 'database_refused', text: `PostgreSQL at ${target.address} refused: ${message(cause)} (SQLSTATE ${state})` }
  }
  const socketCode = (cause as { code?: unknown } | null)?.code
  const reason = typeof socketCode === 'string' ? SOCKET_REASONS[socketCode] : undefined
  if (reason !== undefined) return { code: 'database_unreachable', text: `cannot connect to PostgreSQL at ${target.address} (${reason})` }
  if (classifyDatabaseError(cause) === 'unavailable') {
    return { code: 'database_unreachable', text: `cannot connect to PostgreSQL at ${target.address} (${message(cause)})` }
  }
  return { code: 'database_refused', text: `cannot use PostgreSQL at ${target.address}: ${message(cause)}` }
}

/**
 * Translates a failure to reach the database at start-up (refused, unknown host, missing
 * database, bad credentials, …) into a StartupError naming the address and the cause.
 */
export function connectFailure(err: unknown, url: string): StartupError {
  const target = targetOf(url)
  const { code, text } = describe(err, target)
  return new StartupError(code, maskSecrets(text, url), { cause: err })
}

/** DATABASE_READ_URL answered, but is no standby of the primary (`reason`): the start stops rather than trust it. */
export function readerRefused(reason: string, url: string): StartupError {
  return new StartupError(
    'reader_refused',
    maskSecrets(
      `DATABASE_READ_URL (PostgreSQL at ${targetOf(url).address}) is not a streaming standby of DATABASE_URL: ${reason}; point it at a standby of the primary or unset it`,
      url
    )
  )
}

/**
 * Translates a failed migration run into a message naming the migration and the database's
 * reason. A run that failed before any migration began (no name) failed on the connection or on
 * the migration tables: the connection's causes are described as at connect time.
 */
export function migrationFailure(err: unknown, migration: string | undefined, url: string | undefined): StartupError {
  const target = url === undefined ? undefined : targetOf(url)
  if (migration === undefined && target !== undefined) {
    const { code, text } = describe(err, target)
    if (code !== 'database_refused') return new StartupError(code, maskSecrets(text, url), { cause: err })
  }
  const cause = innermost(err)
  const state = sqlState(cause)
  const reason = `${message(cause)}${state === undefined ? '' : ` (SQLSTATE ${state})`}`
  const what = migration === undefined ? 'migrations could not run' : `migration "${migration}" failed`
  return new MigrationError(maskSecrets(`${what}: ${reason}`, url), { cause: err })
}
