import type pg from 'pg'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { PGlite } from '@electric-sql/pglite'
import type { StorageCapabilities } from './capabilities.js'
import { FileMigrationProvider, Kysely, Migrator, sql, type Transaction } from 'kysely'
import { openDialect, type DialectOptions } from './dialect.js'
import { identityOf, ReaderRefusedError, standbyMismatch, StandbyProofPrivilegeError, type ServerIdentity } from './standby.js'
import { connectFailure, MigrationError, migrationFailure, readerRefused } from './startup-errors.js'
import type { Database as Tables } from './tables.js'

export type Db = Kysely<Tables>
export type Tx = Transaction<Tables>
/** What repositories take: the database, or the transaction their caller owns. */
export type Queryable = Kysely<Tables> | Transaction<Tables>

const MIGRATIONS_FOLDER = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'migrations')

/** Owns the connection (pool or embedded database), migrations and transactions. */
export class Database {
  private constructor(
    readonly db: Db,
    /** What the backend can do; the rest of the code asks this, never which engine it is. */
    readonly capabilities: StorageCapabilities,
    private readonly schema: string,
    private readonly pglite: PGlite | undefined,
    private readonly release: (() => Promise<void>) | undefined,
    /**
     * For naming the server in start-up errors (never shown with its password) and for the
     * change feed's own listening connection.
     */
    readonly url: string | undefined,
    private readonly pool: pg.Pool | undefined = undefined,
    private readonly dataDir = ''
  ) {}

  /** Where the data lives, in words an operator can act on (never with a password). */
  get label(): string {
    if (this.url === undefined) return `embedded PostgreSQL (PGlite) in ${this.dataDir}`
    const url = new URL(this.url)
    return `PostgreSQL at ${url.hostname}:${url.port || '5432'}${url.pathname}`
  }

  /** Connections of the primary's pool in use, idle and waited for; undefined on the embedded database. */
  poolUsage(): { total: number; idle: number; waiting: number } | undefined {
    return this.pool && { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount }
  }

  /**
   * Opens the database and, on PostgreSQL, connects once, so that a server that is not there, a
   * database that does not exist or a credential that is wrong is reported as such.
   * @throws StartupError naming the address and the cause (never the password).
   */
  static async open(options: DialectOptions & { readonly readUrl?: string | undefined }): Promise<Database> {
    const { dialect, capabilities, pglite, release, pool } = await openDialect(options)
    const database = new Database(
      new Kysely<Tables>({ dialect }),
      capabilities,
      options.schema,
      pglite,
      release,
      options.url,
      pool,
      path.resolve(options.dataDir)
    )
    if (options.url !== undefined) {
      try {
        await database.ping()
        if (options.schema !== 'public') await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(options.schema)}`.execute(database.db)
      } catch (err) {
        await database.close().catch(() => {})
        throw connectFailure(err, options.url)
      }
      if (options.readUrl !== undefined) await database.attachReader({ ...options, url: options.readUrl })
    }
    return database
  }

  /**
   * Where reads that decide nothing go: the standby of DATABASE_READ_URL when there is one, else
   * the primary. It may lag the primary by a little: an entry just recorded can take a moment
   * to show there. Decisions never read it.
   */
  get reader(): Db {
    return this.replica ?? this.db
  }

  private replica: Db | undefined
  /** The primary's identity, which the standby's must match (see src/db/standby.ts). */
  private primaryIdentity: ServerIdentity | undefined

  /** Whether reads that decide nothing go to a standby of DATABASE_READ_URL rather than the primary. */
  get readsFromStandby(): boolean {
    return this.replica !== undefined
  }

  /**
   * Attaches the standby only once it has proved to be one of the primary: anything else that
   * merely answers (a restored backup, a staging copy, a promoted or forked replica) would have
   * verify and export read, and sign, a history the primary never had.
   * @throws StartupError: connectFailure when it cannot be reached, readerRefused when it is no
   * standby of the primary or the role may not ask.
   */
  private async attachReader(options: DialectOptions & { readonly url: string }): Promise<void> {
    const { dialect } = await openDialect(options)
    const replica = new Kysely<Tables>({ dialect })
    let reason: string | undefined
    try {
      this.primaryIdentity = await identityOf(this.db, 'DATABASE_URL')
      reason = standbyMismatch(this.primaryIdentity, await identityOf(replica, 'DATABASE_READ_URL'))
    } catch (err) {
      await replica.destroy().catch(() => {})
      await this.close().catch(() => {})
      if (err instanceof StandbyProofPrivilegeError) throw readerRefused(err.message, options.url)
      throw connectFailure(err, options.url)
    }
    if (reason !== undefined) {
      await replica.destroy().catch(() => {})
      await this.close().catch(() => {})
      throw readerRefused(reason, options.url)
    }
    this.replica = replica
  }

  /**
   * Checks again that DATABASE_READ_URL is a standby of the primary, before a verify or an export
   * reads it and for /readyz: what it points at can change while the service runs (a promotion, a
   * DNS name moved). Nothing to prove without a standby.
   * @throws ReaderRefusedError when it no longer is one (or the role may not ask); the driver's
   * error when it cannot be reached.
   */
  async proveReader(): Promise<void> {
    if (this.replica === undefined || this.primaryIdentity === undefined) return
    let reason: string | undefined
    try {
      reason = standbyMismatch(this.primaryIdentity, await identityOf(this.replica, 'DATABASE_READ_URL'))
    } catch (err) {
      if (err instanceof StandbyProofPrivilegeError) throw new ReaderRefusedError(err.message)
      throw err
    }
    if (reason !== undefined) throw new ReaderRefusedError(reason)
  }

  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(work)
  }

  /** Throws when the database cannot be reached. */
  async ping(): Promise<void> {
    await sql`SELECT 1`.execute(this.db)
  }

  private migrator(): Migrator {
    return new Migrator({
      db: this.db,
      provider: new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS_FOLDER }),
      migrationTableSchema: this.schema
    })
  }

  /**
   * Brings the schema to the latest migration. Kysely takes a Postgres advisory lock around the
   * run, so replicas starting together migrate once.
   * @throws MigrationError naming the migration that failed and why, or a StartupError when the
   * run could not begin (the connection failed before any migration).
   */
  async migrateToLatestOrThrow(): Promise<void> {
    const { error, results } = await this.migrator().migrateToLatest()
    if (error !== undefined) {
      throw migrationFailure(error, results?.find((r) => r.status === 'Error')?.migrationName, this.url)
    }
  }

  /** @throws MigrationError when a `down` fails. */
  async migrateDownOrThrow(): Promise<void> {
    const { error } = await this.migrator().migrateDown()
    if (error !== undefined) throw new MigrationError('migration down failed', { cause: error })
  }

  /** True when every known migration has been applied. */
  async isMigrated(): Promise<boolean> {
    const migrations = await this.migrator().getMigrations()
    return migrations.every((m) => m.executedAt !== undefined)
  }

  /** A dump of the embedded database's files, for starting copies of it; PGlite only. */
  async dumpPglite(): Promise<Blob> {
    if (!this.pglite) throw new Error('only an embedded database can be dumped')
    return this.pglite.dumpDataDir('none')
  }

  async close(): Promise<void> {
    await this.replica?.destroy()
    await this.db.destroy()
    await this.release?.()
  }
}
