import { databaseTimeoutsOf } from '../db/dialect.js'
import { existsSync } from 'node:fs'
import { ConfigError, loadConfig, type Config } from '../config.js'
import { DataDirLockedError } from '../db/data-dir-lock.js'
import { Database } from '../db/database.js'
import { classifyDatabaseError } from '../db/errors.js'
import { maskSecrets, MigrationError, StartupError } from '../db/startup-errors.js'
import { checkpointSettingsOf, CheckpointService } from '../ledger/checkpoints-service.js'
import { createLogger } from '../logger.js'
import { CliError, failure, unreachable, usageError } from './exit.js'

/** The service's own settings (DATABASE_URL, DATA_DIR, CHECKPOINT_…), validated as the service validates them. */
export function cliConfig(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) throw usageError(err.message)
    throw err
  }
}

export interface DatabaseAccess {
  /** `migrate` may create the embedded database; every other command needs one that exists. */
  readonly create?: boolean
}

/** Where the database is, for messages: the server of DATABASE_URL (never its password) or DATA_DIR. */
function describe(config: Config): string {
  if (config.databaseUrl === undefined) return `the embedded database in ${config.dataDir}`
  try {
    const url = new URL(config.databaseUrl)
    return `PostgreSQL at ${url.host}${url.pathname}`
  } catch {
    return 'PostgreSQL (DATABASE_URL)'
  }
}

/**
 * Opens the service's database as the service would (DATABASE_URL, else the embedded one in
 * DATA_DIR), runs `work` and closes it. Every command but `migrate` refuses a database that is
 * not at the latest migration.
 * @throws CliError: unreachable (3) when the database cannot be opened or is lost on the way
 * (the embedded one also while the service holds it); failure (1) when it is not migrated or a
 * migration fails.
 */
export async function withDatabase<T>(work: (database: Database, config: Config) => Promise<T>, access: DatabaseAccess = {}): Promise<T> {
  const config = cliConfig()
  if (config.databaseUrl === undefined && !access.create && !existsSync(config.dataDir)) {
    throw unreachable(
      `there is no embedded database in ${config.dataDir}: set DATA_DIR to the service's, or DATABASE_URL, or pass --url to go through the service`
    )
  }
  let database: Database
  try {
    database = await Database.open({
      url: config.databaseUrl,
      dataDir: config.dataDir,
      schema: config.databaseSchema,
      poolSize: 2,
      timeouts: databaseTimeoutsOf(config)
    })
  } catch (err) {
    if (err instanceof DataDirLockedError) throw unreachable(`${err.message}; or pass --url to go through the running service`)
    if (err instanceof StartupError) throw unreachable(err.message)
    throw err
  }
  try {
    if (!access.create && !(await database.isMigrated())) {
      throw failure(`${describe(config)} is not at the latest migration: run \`shizenha migrate\` (or start the service) first`)
    }
    return await work(database, config)
  } catch (err) {
    if (err instanceof MigrationError) throw failure(err.message)
    if (err instanceof StartupError || (!(err instanceof CliError) && classifyDatabaseError(err) === 'unavailable')) {
      throw unreachable(`lost ${describe(config)}: ${maskSecrets((err as Error).message, config.databaseUrl)}`)
    }
    throw err
  } finally {
    await database.close().catch(() => {})
  }
}

/** The service's log lines (warnings and worse) as plain text on stderr, for a person at a terminal. */
export function cliLogger() {
  return createLogger(
    { logLevel: 'warn' },
    {
      write(line: string) {
        const { msg } = JSON.parse(line) as { msg?: string }
        process.stderr.write(`shizenha: ${msg ?? line.trim()}\n`)
      }
    }
  )
}

/**
 * The service's checkpoint service over this database, with the service's key settings: the
 * same verify, export trailer and checkpoints as the HTTP routes. On PostgreSQL the ops host's
 * DATA_DIR is not the service's, so a key is never made there: one already there is used (and
 * signs only if it is the key this database's checkpoints are signed with).
 */
export function checkpointService(database: Database, config: Config): CheckpointService {
  const settings = { ...checkpointSettingsOf(config, database.capabilities), createKey: database.capabilities.embedded }
  return new CheckpointService(database, settings, cliLogger(), () => new Date())
}
