import type { Logger } from 'pino'
import { Database } from './database.js'
import { grantRuntimeRole, roleOf } from './roles.js'

export interface OwnerMigration {
  /** The owner role's URL (DATABASE_MIGRATION_URL). */
  readonly migrationUrl: string
  /** The runtime role's URL (DATABASE_URL): its user gets the runtime privileges. */
  readonly runtimeUrl: string
  readonly schema: string
  readonly logger: Logger
}

/**
 * Migrates as the owner, then grants the runtime role what the service needs (db/roles.ts), on a
 * connection of its own that is closed before the service starts: the running service never holds
 * the owner's credentials.
 * @throws StartupError when the owner cannot connect, MigrationError when a migration fails.
 */
export async function migrateAsOwner(options: OwnerMigration): Promise<void> {
  const owner = await Database.open({ url: options.migrationUrl, dataDir: 'memory://', schema: options.schema, poolSize: 1, logger: options.logger })
  try {
    await owner.migrateToLatestOrThrow()
    const role = roleOf(options.runtimeUrl)
    await grantRuntimeRole(owner.db, options.schema, role)
    options.logger.info({ runtimeRole: role }, 'migrated with the owner role; the service runs with a role that cannot alter or rewrite the ledger')
  } finally {
    await owner.close()
  }
}
