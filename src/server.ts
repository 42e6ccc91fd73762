import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { Database } from './db/database.js'
import { maskSecrets, StartupError } from './db/startup-errors.js'
import { createLogger } from './logger.js'

const SHUTDOWN_GRACE_MS = 10_000

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
  const database = await Database.open({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    schema: config.databaseSchema,
    poolSize: config.databasePoolSize,
    logger
  })
  const app = await buildApp({ config, database, logger })
  await app.listen({ port: config.port, host: config.host })
  logger.info({ database: database.kind }, 'ready')

  let closing = false
  const shutdown = (signal: string) => {
    if (closing) return
    closing = true
    logger.info({ signal }, 'shutting down')
    const timer = setTimeout(() => {
      logger.error('graceful shutdown timed out')
      process.exit(1)
    }, SHUTDOWN_GRACE_MS)
    timer.unref()
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed')
        process.exit(1)
      }
    )
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
}

main().catch((err: unknown) => {
  // The logger may not exist yet; print the cause without request data, and never the password
  // of DATABASE_URL, which a driver's message could quote.
  const text = err instanceof StartupError ? err.message : err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  process.stderr.write(`failed to start: ${maskSecrets(text, process.env.DATABASE_URL)}\n`)
  process.exit(1)
})
