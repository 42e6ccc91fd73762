import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { ensureBootstrapAdmin } from '../clients/repository.js'
import { hashToken } from '../clients/tokens.js'
import type { Config } from '../config.js'
import type { Database } from '../db/database.js'
import { recordPolicyVersions } from '../policy/repository.js'
import { POLICY_VERSIONS } from '../policy/registry.js'

declare module 'fastify' {
  interface FastifyInstance {
    database: Database
    config: Config
    /** The service's clock; tests pass their own. */
    now: () => Date
  }
}

export interface DatabasePluginOptions {
  readonly config: Config
  readonly database: Database
  readonly now?: () => Date
  /** Close the database when the app closes (the process owns it); tests that share one say false. */
  readonly closeDatabase?: boolean
  /**
   * Run the migrations at start (default). False when an owner role migrated already and this
   * process runs as the runtime role, which may not create or alter anything: then start-up only
   * checks that the schema is current.
   */
  readonly migrate?: boolean
}

export class SchemaNotMigratedError extends Error {
  override readonly name = 'SchemaNotMigratedError'
  constructor() {
    super(
      'the database schema is not at the latest migration; run the migrations with the owner role (DATABASE_MIGRATION_URL, or npm run migrate, which runs `shizenha migrate`) first'
    )
  }
}

/** Migrates, publishes the policy versions and the bootstrap admin, then exposes the database. */
export default fp<DatabasePluginOptions>(
  async function databasePlugin(fastify: FastifyInstance, options) {
    const { database, config } = options
    const now = options.now ?? (() => new Date())
    if (options.migrate === false) {
      if (!(await database.isMigrated())) throw new SchemaNotMigratedError()
    } else {
      await database.migrateToLatestOrThrow()
    }
    await recordPolicyVersions(database.db, POLICY_VERSIONS, now())
    const bootstrapToken = config.bootstrapAdminToken
    if (bootstrapToken !== undefined) {
      const admin = await database.transaction((tx) => ensureBootstrapAdmin(tx, hashToken(bootstrapToken), now()))
      if (admin.status === 'revoked') {
        fastify.log.warn(
          { clientId: admin.id },
          'BOOTSTRAP_ADMIN_TOKEN names a revoked client: it stays revoked and admits nobody; set a new token to create a new admin'
        )
      } else if (admin.status === 'created' && admin.replaced.length > 0) {
        fastify.log.info(
          { clientId: admin.id, revoked: admin.replaced },
          'a new BOOTSTRAP_ADMIN_TOKEN: its admin was created and the earlier bootstrap admins revoked'
        )
      }
    }
    fastify.decorate('database', database)
    fastify.decorate('config', config)
    fastify.decorate('now', now)
    if (options.closeDatabase !== false) fastify.addHook('onClose', async () => database.close())
  },
  { name: 'database' }
)
