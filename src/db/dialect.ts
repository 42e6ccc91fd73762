import { PGlite } from '@electric-sql/pglite'
import { PostgresDialect, type Dialect } from 'kysely'
import { PGliteDialect } from 'kysely-pglite-dialect'
import pg from 'pg'
import { lockDataDir } from './data-dir-lock.js'

const INT8_OID = 20
/** A server that is gone (a dead host, a black-holed port) must fail callers, not hold them. */
const CONNECT_TIMEOUT_MS = 5_000

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
}

export interface OpenedDialect {
  readonly dialect: Dialect
  readonly kind: 'postgres' | 'pglite'
  readonly pglite?: PGlite
  /** Releases what the dialect holds beyond its connections (the data directory's lock). */
  readonly release?: () => Promise<void>
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

export async function openDialect(options: DialectOptions): Promise<OpenedDialect> {
  if (options.url !== undefined) {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize,
      options: `-c search_path=${options.schema}`,
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser
      },
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS
    })
    watchConnections(pool, options.logger ?? STDERR_LOGGER)
    return { dialect: new PostgresDialect({ pool }), kind: 'postgres' }
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
  return { dialect: new PGliteDialect(pglite), kind: 'pglite', pglite, ...(release ? { release } : {}) }
}
