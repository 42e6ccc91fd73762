import { buildApp } from './app.js'
import { loadConfig } from './config.js'
import { Database } from './db/database.js'
import { createLogger } from './logger.js'

/** Builds the app on a throwaway in-memory database and returns its OpenAPI document. */
export async function openApiDocument(): Promise<unknown> {
  const config = loadConfig({}, { logLevel: 'silent' })
  const database = await Database.open({ dataDir: 'memory://', schema: 'public', poolSize: 1 })
  const app = await buildApp({ config, database, logger: createLogger(config, { write: () => {} }) })
  try {
    return app.swagger()
  } finally {
    await app.close()
  }
}
