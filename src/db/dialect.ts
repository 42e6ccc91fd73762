import { PGlite } from '@electric-sql/pglite'
import { PostgresAdapter, PostgresDialect, sql, type Dialect, type DialectAdapter, type Kysely, type MigrationLockOptions } from 'kysely'
import { PGliteDialect } from 'kysely-pglite-dialect'
import { embeddedCapabilities, serverCapabilities, type StorageCapabilities } from './capabilities.js'
import type { EmbeddedListen } from './change-feed.js'
import pg from 'pg'
import { runMarkedCopies } from './copy-in.js'
import { prepareMarkedStatements } from './prepared-statements.js'
import { lockDataDir } from './data-dir-lock.js'

const INT8_OID = 20

/**
 * How long the service waits on PostgreSQL before it answers 503 instead of hanging; every bound
 * is in milliseconds. The first three are the server's own (set on each session at connect), so
 * a live but stuck server cancels the statement cleanly and the connection stays usable. The last
 * two are this process's, for a server that does not answer at all (a frozen host, a black-holed
 * network): the connection that did not answer is closed and never reused.
 */
export interface DatabaseTimeouts {
  /** `statement_timeout`: a statement running longer is cancelled (SQLSTATE 57014). */
  readonly statementMs: number
  /** `lock_timeout`: a wait for a row or table lock (a ledger head another session holds) ends (55P03). */
  readonly lockMs: number
  /** `idle_in_transaction_session_timeout`: a session left idle inside a transaction is ended, so it cannot hold locks forever. */
  readonly idleInTransactionMs: number
  /** Connecting, or waiting for a free connection of the pool, gives up after this long. */
  readonly connectMs: number
  /**
   * A query with no answer at all after this long fails and its connection is closed. Longer than
   * `statementMs`, so that a server that is merely slow cancels the statement itself first.
   */
  readonly queryMs: number
}

export const DEFAULT_DATABASE_TIMEOUTS: DatabaseTimeouts = Object.freeze({
  statementMs: 5_000,
  lockMs: 5_000,
  idleInTransactionMs: 10_000,
  connectMs: 5_000,
  queryMs: 7_000
})

/** The bounds a validated configuration sets (the DATABASE_*_TIMEOUT_MS variables). */
export function databaseTimeoutsOf(config: {
  readonly databaseStatementTimeoutMs: number
  readonly databaseLockTimeoutMs: number
  readonly databaseIdleInTransactionTimeoutMs: number
  readonly databaseConnectTimeoutMs: number
  readonly databaseQueryTimeoutMs: number
}): DatabaseTimeouts {
  return Object.freeze({
    statementMs: config.databaseStatementTimeoutMs,
    lockMs: config.databaseLockTimeoutMs,
    idleInTransactionMs: config.databaseIdleInTransactionTimeoutMs,
    connectMs: config.databaseConnectTimeoutMs,
    queryMs: config.databaseQueryTimeoutMs
  })
}

/** The query timed out on this side: PostgreSQL did not answer at all. A 503, like a lost connection. */
export class QueryTimeoutError extends Error {
  override readonly name = 'QueryTimeoutError'
  /** The socket-level code the error classifier knows as "the server is not answering". */
  readonly code = 'ETIMEDOUT'
  constructor(timeoutMs: number) {
    super(`Query read timeout: PostgreSQL did not answer within ${timeoutMs} ms; the connection was closed`)
  }
}

/** Where the pool reports connections it lost; the service's pino logger fits. */
export interface PoolLogger {
  warn(obj: { err: unknown }, msg: string): void
}

/** Without a logger of the caller's, lost connections still reach stderr, never nowhere. */
const STDERR_LOGGER: PoolLogger = {
  warn: ({ err }, msg) => process.stderr.write(`${msg}: ${err instanceof Error ? err.message : String(err)}\n`)
}

/** bigint columns hold sequence numbers and counts; past 2^53 a silent rounding would corrupt them. */
function parseInt8(text: string): number {
  const value = Number(text)
  if (!Number.isSafeInteger(value)) throw new RangeError('int8 value exceeds the safe integer range')
  return value
}

export interface DialectOptions {
  /** PostgreSQL URL; absent means the embedded PGlite database. */
  readonly url?: string | undefined
  /** Where PGlite keeps its files; `memory://` keeps them in memory. */
  readonly dataDir: string
  readonly schema: string
  readonly poolSize: number
  /** A PGlite data directory dump to start from instead of running initdb (tests use it). */
  readonly pgliteTemplate?: Blob | undefined
  /** Receives the errors of lost PostgreSQL connections; default stderr. */
  readonly logger?: PoolLogger | undefined
  /** PostgreSQL only (the embedded database has no other sessions to wait for); default DEFAULT_DATABASE_TIMEOUTS. */
  readonly timeouts?: DatabaseTimeouts | undefined
}

export interface OpenedDialect {
  readonly dialect: Dialect
  readonly capabilities: StorageCapabilities
  readonly pglite?: PGlite
  /** Releases what the dialect holds beyond its connections (the data directory's lock). */
  readonly release?: () => Promise<void>
  /** PostgreSQL's pool, for its usage figures on /metrics. */
  readonly pool?: pg.Pool
}

/**
 * A connection that dies (the server crashed, restarted or cut it) emits `error` on its client. A
 * client checked out by a query has no listener of the pool's, and an unheard `error` event ends
 * the process; so every client gets one. The query itself fails on its own and is answered 503;
 * pg-pool drops the dead client and connects anew on the next checkout. The pool reports idle
 * clients' errors as well, so each error is logged once, whichever listener hears it first.
 */
function watchConnections(pool: pg.Pool, logger: PoolLogger): void {
  const logged = new WeakSet<object>()
  const report = (err: Error) => {
    if (logged.has(err)) return
    logged.add(err)
    logger.warn({ err }, 'PostgreSQL connection lost')
  }
  pool.on('connect', (client) => client.on('error', report))
  pool.on('error', report)
}

/**
 * Run by the migration lock (below) on the connection that migrates: a migration may rightly run
 * long (an index on a big table), and a replica starting while another migrates waits for the
 * lock as long as that takes, so this one session runs without the bounds. The client side sees
 * this exact text and stops timing the connection, and the pool closes it when it is released:
 * a session with its bounds lifted is never reused.
 */
const UNBOUNDED_SESSION_SQL = "SELECT set_config('statement_timeout', '0', false), set_config('lock_timeout', '0', false)"

class MigrationAwareAdapter extends PostgresAdapter {
  override async acquireMigrationLock(db: Kysely<unknown>, options: MigrationLockOptions): Promise<void> {
    await sql.raw(UNBOUNDED_SESSION_SQL).execute(db)
    await super.acquireMigrationLock(db, options)
  }
}

class BoundedPostgresDialect extends PostgresDialect {
  override createAdapter(): DialectAdapter {
    return new MigrationAwareAdapter()
  }
}

/** Settles as `pending` does, or rejects with QueryTimeoutError after `timeoutMs` and calls `onTimeout`. */
function withDeadline<T>(pending: Promise<T>, timeoutMs: number, onTimeout: (error: QueryTimeoutError) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const error = new QueryTimeoutError(timeoutMs)
      reject(error)
      onTimeout(error)
    }, timeoutMs)
    pending.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (err: unknown) => {
        clearTimeout(timer)
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the driver's own failure, passed on as it is
        reject(err)
      }
    )
  })
}

/**
 * Bounds every query on the pool's connections from this side. PostgreSQL's own timeouts cannot
 * fire on a server that is frozen or unreachable; then nothing would ever answer the query, and
 * pg would queue every later query of that connection behind it. So a query that has no answer
 * within `timeoutMs` fails with QueryTimeoutError and its connection is closed: whatever the
 * server may still do with it, no later query, and no later transaction, can run on it. The
 * queries that follow on that connection (the transaction's ROLLBACK) fail with the same error.
 */
function boundQueries(pool: pg.Pool, timeoutMs: number): void {
  const unbounded = new WeakSet<pg.ClientBase>()
  const timedOut = new WeakMap<pg.ClientBase, QueryTimeoutError>()
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown
    client.query = ((...args: unknown[]) => {
      const failed = timedOut.get(client)
      if (failed !== undefined) return Promise.reject(failed)
      if (args[0] === UNBOUNDED_SESSION_SQL) unbounded.add(client)
      const pending = query(...args)
      // Callback and submittable forms (cursors) are left alone; Kysely uses the promise form.
      if (unbounded.has(client) || !(pending instanceof Promise)) return pending
      return withDeadline(pending, timeoutMs, (error) => {
        timedOut.set(client, error)
        // With a query outstanding, pg destroys the socket rather than waiting for a goodbye.
        void client.end().catch(() => {})
      })
    }) as typeof client.query
  })
  // Closing a client before pg-pool looks at it makes the pool drop it instead of keeping it idle.
  pool.on('release', (_err: Error | undefined, client: pg.PoolClient) => {
    if (unbounded.has(client)) void client.end().catch(() => {})
  })
}

function postgresPool(url: string, options: DialectOptions): pg.Pool {
  const timeouts = options.timeouts ?? DEFAULT_DATABASE_TIMEOUTS
  const settings = {
    search_path: options.schema,
    statement_timeout: timeouts.statementMs,
    lock_timeout: timeouts.lockMs,
    idle_in_transaction_session_timeout: timeouts.idleInTransactionMs
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize,
    // Set at connect, these are each session's defaults; a RESET returns to them, not to the server's.
    options: Object.entries(settings)
      .map(([name, value]) => `-c ${name}=${value}`)
      .join(' '),
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? parseInt8 : (pg.types.getTypeParser(oid, format) as (value: string) => unknown)) as typeof pg.types.getTypeParser
    },
    // A server that is gone (a dead host, a black-holed port) must fail callers, not hold them;
    // this also bounds the wait for a free connection when every one is busy.
    connectionTimeoutMillis: timeouts.connectMs
  })
  prepareMarkedStatements(pool)
  runMarkedCopies(pool)
  // Last, so that its deadline covers the statements the patches above send.
  boundQueries(pool, timeouts.queryMs)
  watchConnections(pool, options.logger ?? STDERR_LOGGER)
  return pool
}

export async function openDialect(options: DialectOptions): Promise<OpenedDialect> {
  if (options.url !== undefined) {
    const pool = postgresPool(options.url, options)
    return { dialect: new BoundedPostgresDialect({ pool }), capabilities: serverCapabilities(options.url), pool }
  }
  const inMemory = options.dataDir.startsWith('memory://')
  const release = inMemory ? undefined : await lockDataDir(options.dataDir)
  let pglite: PGlite
  try {
    pglite = await PGlite.create(options.dataDir, {
      parsers: { [INT8_OID]: parseInt8 },
      ...(options.pgliteTemplate ? { loadDataDir: options.pgliteTemplate } : {})
    })
    if (options.schema !== 'public') {
      await pglite.exec(`CREATE SCHEMA IF NOT EXISTS "${options.schema}"; SET search_path TO "${options.schema}"`)
    }
  } catch (err) {
    await release?.()
    throw err
  }
  const listen: EmbeddedListen = async (channel, onPayload) => {
    await pglite.listen(channel, onPayload)
  }
  return { dialect: new PGliteDialect(pglite), capabilities: embeddedCapabilities(listen), pglite, ...(release ? { release } : {}) }
}
