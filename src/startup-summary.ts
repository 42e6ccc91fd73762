import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { listClients } from './clients/repository.js'
import type { Config } from './config.js'
import { policyInForce } from './policy/registry.js'

/** Where the data lives, in words an operator can act on, never with a password. */
function databaseLabel(app: FastifyInstance, config: Config): string {
  if (app.database.kind === 'pglite') return `embedded PostgreSQL (PGlite) in ${path.resolve(config.dataDir)}`
  const url = new URL(config.databaseUrl!)
  return `PostgreSQL at ${url.hostname}:${url.port || '5432'}${url.pathname}`
}

/**
 * The lines a person starting the service reads first: where it listens, where the data is, the
 * policy in force, where the API reference is, how to stop it, and the warning that every /v1
 * call will be 401 while no admin client exists.
 */
export async function logStartupSummary(app: FastifyInstance, config: Config, logger: Logger): Promise<void> {
  const address = app.server.address()
  const base =
    typeof address === 'object' && address !== null ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : ''
  logger.info(`listening on ${base} — API reference ${base}/docs`)
  logger.info(`database: ${databaseLabel(app, config)}; policy in force ${policyInForce(app.now()).version}; stop with SIGTERM (kill ${process.pid})`)
  const admins = (await listClients(app.database.db)).filter((c) => c.role === 'admin' && c.revokedAt === null)
  if (admins.length === 0) {
    logger.warn(
      'no admin client exists: every /v1 call will be 401. Start with BOOTSTRAP_ADMIN_TOKEN=<a long random string>, or run `npx shizenha clients create`'
    )
  }
}
