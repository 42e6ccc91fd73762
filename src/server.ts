import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { Database } from './db/database.js'
import { databaseTimeoutsOf } from './db/dialect.js'
import { migrateAsOwner } from './db/migrate.js'
import { maskSecrets, StartupError } from './db/startup-errors.js'
import { createLogger } from './logger.js'
import { logStartupSummary } from './startup-summary.js'

/** Signals during the drain that end it at once: the first repeat may be the process group's echo. */
const ABORTING_REPEATS = 2

/**
 * Closes the app once, gracefully: on SIGTERM or SIGINT (then exit 0), or on an error nothing
 * caught (then exit 1, after the requests in flight were answered). `app.close()` does it in this
 * order: /readyz turns 503 and new requests are refused (503 shutting_down); the ledger's queued
 * groups commit and their callers are answered; the listener closes once every request in flight
 * has its answer; then the change feed and the database pools close. Past `timeoutMs`, on an
 * error during the close, or on the third signal, the process exits 1 at once: whoever was still
 * waiting gets no answer, which never means "allowed". A second signal only logs: a supervisor
 * that signals the whole process group (systemd, most others) reaches this process twice, once
 * itself and once through npm, which forwards its own.
 */
function closeGracefully(app: FastifyInstance, logger: Logger, timeoutMs: number): void {
  let closing = false
  let repeatedSignals = 0
  const close = (reason: string, exitCode: 0 | 1) => {
    if (closing) {
      logger.warn({ reason }, 'closing already; exiting at once')
      process.exit(1)
    }
    closing = true
    const startedAt = Date.now()
    logger.info({ reason, timeoutMs }, 'shutting down')
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'graceful shutdown timed out')
      process.exit(1)
    }, timeoutMs)
    timer.unref()
    app.close().then(
      () => {
        logger.info({ ms: Date.now() - startedAt }, 'closed')
        process.exit(exitCode)
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed')
        process.exit(1)
      }
    )
  }
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing && ++repeatedSignals < ABORTING_REPEATS) {
      logger.warn({ signal }, 'signal repeated while draining; draining on (one more signal exits at once)')
      return
    }
    close(signal, 0)
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception')
    close('uncaughtException', 1)
  })
  process.on('unhandledRejection', (err) => {
    logger.fatal({ err }, 'unhandled rejection')
    close('unhandledRejection', 1)
  })
}

async function main(): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(78)
    }
    throw err
  }
  const logger = createLogger(config)
  const splitRoles = config.databaseMigrationUrl !== undefined && config.databaseUrl !== undefined
  if (splitRoles) {
    await migrateAsOwner({ migrationUrl: config.databaseMigrationUrl!, runtimeUrl: config.databaseUrl!, schema: config.databaseSchema, logger })
  } else if (config.databaseUrl !== undefined) {
    logger.warn(
      'one database role migrates and runs the service (DATABASE_MIGRATION_URL is unset): it owns the ledger tables and could disable their triggers; see README "Two database roles"'
    )
  }
  const database = await Database.open({
    url: config.databaseUrl,
    readUrl: config.databaseReadUrl,
    dataDir: config.dataDir,
    schema: config.databaseSchema,
    poolSize: config.databasePoolSize,
    timeouts: databaseTimeoutsOf(config),
    logger
  })
  const app = await buildApp({ config, database, logger, migrate: !splitRoles })
  await app.listen({ port: config.port, host: config.host })
  logger.info({ database: database.capabilities.engine }, 'ready')
  await logStartupSummary(app, config, logger)
  closeGracefully(app, logger, config.shutdownTimeoutMs)
}

main().catch((err: unknown) => {
  // The logger may not exist yet; print the cause without request data, and never the password
  // of DATABASE_URL, which a driver's message could quote.
  const text = err instanceof StartupError ? err.message : err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  process.stderr.write(`failed to start: ${maskSecrets(maskSecrets(text, process.env.DATABASE_URL), process.env.DATABASE_MIGRATION_URL)}\n`)
  process.exit(1)
})
