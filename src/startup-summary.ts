import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { createFirstAdmin, firstAdminNotice } from './clients/first-admin.js'
import { listClients } from './clients/repository.js'
import type { Config } from './config.js'
import { policyInForce } from './policy/registry.js'

/**
 * The lines a person starting the service reads first: where it listens, where the data is, the
 * policy in force, where the API reference is, how to stop it, and the warning that every /v1
 * call will be 401 while no admin client exists. On a fresh embedded database it makes the first
 * admin instead and shows its token on stderr, last, where it is seen.
 */
export async function logStartupSummary(app: FastifyInstance, config: Config, logger: Logger): Promise<void> {
  const address = app.server.address()
  const base =
    typeof address === 'object' && address !== null ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : ''
  // Decided before the lines are written, so that once they are, the first admin exists.
  const hasAdmin = (await listClients(app.database.db)).some((c) => c.role === 'admin' && c.revokedAt === null)
  const token = hasAdmin ? undefined : await createFirstAdmin(app.database, app.now())
  logger.info(`listening on ${base} — API reference ${base}/docs`)
  logger.info(`database: ${app.database.label}; policy in force ${policyInForce(app.now()).version}; stop with SIGTERM (kill ${process.pid})`)
  if (token !== undefined) {
    process.stderr.write(`${firstAdminNotice(token)}\n`)
  } else if (!hasAdmin) {
    // The CLI cannot open the embedded database while this process holds it.
    const create = app.database.capabilities.embedded ? 'stop the service and run' : 'run'
    logger.warn(
      `no admin client exists: every /v1 call will be 401. Start with BOOTSTRAP_ADMIN_TOKEN=<a long random string>, or ${create} \`npx shizenha clients create --name admin --role admin\``
    )
  }
}
