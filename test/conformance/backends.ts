/**
 * The storage backends the conformance suite runs on, in one process: embedded PGlite always,
 * and a PostgreSQL server whenever one is named (DATABASE_URL, else DATABASE_URL_FOR_TESTS).
 * Every file under test/conformance/ runs its cases once per backend, each in a database of its
 * own, so that whatever the service relies on from storage is proven on both, and whatever
 * differs between them is asserted as the capabilities say it differs.
 */
import type t from 'tap'
import type { DatabaseEngine } from '../../src/db/capabilities.js'
import type { Database } from '../../src/db/database.js'
import { openTestDatabaseOn } from '../helper.js'

/** The `t` a tap test callback receives. */
export type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

const named = (value: string | undefined): string | undefined => (value === undefined || value === '' ? undefined : value)

/** The PostgreSQL server the PostgreSQL half runs on, or undefined: that half is skipped. */
export const POSTGRES_SERVER_URL = named(process.env.DATABASE_URL) ?? named(process.env.DATABASE_URL_FOR_TESTS)

export interface Backend {
  /** The subtest's name. */
  readonly name: string
  /** The engine `database.capabilities.engine` must name on this backend. */
  readonly engine: DatabaseEngine
  /** Why the backend's half does not run here (a skip reason), or false. */
  readonly skip: string | false
  /**
   * A fresh, migrated database of the test's own: on PostgreSQL a new database on the server,
   * dropped when `t` ends; on PGlite a new in-memory database from the migrated template.
   * Closed when `t` ends (after anything the test registers later, such as an app).
   */
  open(t: Tap, options?: { readonly poolSize?: number }): Promise<Database>
}

function backend(name: string, engine: DatabaseEngine, server: string | undefined, skip: string | false): Backend {
  return {
    name,
    engine,
    skip,
    async open(t, options = {}) {
      const { database } = await openTestDatabaseOn(t, server, options.poolSize ?? 10)
      t.teardown(() => database.close())
      await database.migrateToLatestOrThrow()
      if (database.capabilities.engine !== engine) throw new Error(`the ${name} backend opened a ${database.capabilities.engine} database`)
      return database
    }
  }
}

export const backends: readonly Backend[] = [
  backend('PGlite', 'pglite', undefined, false),
  backend(
    'PostgreSQL',
    'postgres',
    POSTGRES_SERVER_URL,
    POSTGRES_SERVER_URL === undefined ? 'no PostgreSQL server: set DATABASE_URL or DATABASE_URL_FOR_TESTS to run the PostgreSQL half' : false
  )
]

/**
 * Runs `suite` once per backend, each as a subtest named after the backend (a skipped one shows
 * its reason). Sequential: the backends never share a database, and a failure names its backend.
 */
export function forEachBackend(t: Tap, suite: (t: Tap, backend: Backend) => Promise<void>): void {
  for (const backend of backends) {
    t.test(backend.name, { skip: backend.skip }, (t) => suite(t, backend))
  }
}
