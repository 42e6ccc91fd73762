import { migrateAsOwner } from '../../db/migrate.js'
import { roleOf } from '../../db/roles.js'
import { MigrationError, StartupError } from '../../db/startup-errors.js'
import { cliConfig, cliLogger, withDatabase } from '../database-access.js'
import { failure, unreachable } from '../exit.js'

/**
 * Brings the database to the latest migration, as the service does at start: with
 * DATABASE_MIGRATION_URL (and DATABASE_URL), as the owner role, then granting the runtime role of
 * DATABASE_URL its privileges; else on DATABASE_URL, or the embedded database in DATA_DIR
 * (created when missing). Safe while replicas start: an advisory lock serializes the runs.
 */
export async function migrateCommand(): Promise<void> {
  const config = cliConfig()
  if (config.databaseMigrationUrl !== undefined && config.databaseUrl !== undefined) {
    try {
      await migrateAsOwner({ migrationUrl: config.databaseMigrationUrl, runtimeUrl: config.databaseUrl, schema: config.databaseSchema, logger: cliLogger() })
    } catch (err) {
      if (err instanceof MigrationError) throw failure(err.message)
      if (err instanceof StartupError) throw unreachable(err.message)
      throw err
    }
    process.stdout.write(`the database is at the latest migration (run as the owner role); ${roleOf(config.databaseUrl)} has the runtime privileges\n`)
    return
  }
  const message = await withDatabase(
    async (database) => {
      if (await database.isMigrated()) return 'the database is already at the latest migration'
      await database.migrateToLatestOrThrow()
      return 'the database is now at the latest migration'
    },
    { create: true }
  )
  process.stdout.write(`${message}\n`)
}
