import { PGlite } from '@electric-sql/pglite'
import { PostgresDialect, type Dialect } from 'kysely'
import { PGliteDialect } from 'kysely-pglite-dialect'
import pg from 'pg'
import { lockDataDir } from './data-dir-lock.js'

const INT8_OID = 20

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
}

export interface OpenedDialect {
  readonly dialect: Dialect
  readonly kind: 'postgres' | 'pglite'
  readonly pglite?: PGlite
  /** Releases what the dialect holds beyond its connections (the data directory's lock). */
  readonly release?: () => Promise<void>
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
      }
    })
    // An idle client's error (the server restarting) must not crash the process; the pool replaces it.
    pool.on('error', () => {})
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
