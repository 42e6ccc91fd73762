import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { randomUUID } from 'node:crypto'
import clientRoutes from './clients/routes.js'
import type { Config } from './config.js'
import { capConnections, connectionTimeouts } from './connection-limits.js'
import contractorRoutes from './contractors/routes.js'
import type { Database } from './db/database.js'
import decisionRoutes from './decisions/routes.js'
import entityRoutes from './entities/routes.js'
import { purgeIdempotencyKeys } from './recording/idempotency.js'
import checkpointsPlugin from './ledger/checkpoints-plugin.js'
import ledgerRoutes from './ledger/routes.js'
import memberRoutes from './decisions/member-routes.js'
import operationRoutes from './operations/routes.js'
import auth from './plugins/auth.js'
import changeFeed from './plugins/change-feed.js'
import databasePlugin from './plugins/database.js'
import decisionsPlugin from './plugins/decisions.js'
import docs from './plugins/docs.js'
import errors, { connectionErrorHandler, frameworkErrorHandler } from './plugins/errors.js'
import loadShedding from './plugins/load-shedding.js'
import metricsPlugin, { routePattern } from './plugins/metrics.js'
import security from './plugins/security.js'
import validation from './plugins/validation.js'
import recipientRoutes from './recipients/routes.js'

export interface AppOptions {
  readonly config: Config
  readonly database: Database
  readonly logger: Logger
  readonly now?: () => Date
  /** Whether closing the app closes the database too; default true. */
  readonly closeDatabase?: boolean
  /** Whether to run the migrations at start; default true (see plugins/database.ts). */
  readonly migrate?: boolean
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/
const BODY_LIMIT = 1024 * 1024
const PURGE_INTERVAL_MS = 3_600_000

/** Builds the whole service without listening: server.ts listens, tests inject. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const fastify = Fastify({
    loggerInstance: options.logger as unknown as FastifyBaseLogger,
    // Fastify's own per-request lines log the raw URL; ours below log the route pattern instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    // A caller's request id is kept when it is safe to echo; otherwise we make one.
    genReqId: (req) => {
      const offered = req.headers['x-request-id']
      return typeof offered === 'string' && REQUEST_ID.test(offered) ? offered : randomUUID()
    },
    requestIdHeader: false,
    routerOptions: { maxParamLength: 200 },
    // Requests arriving while the app closes are refused by the load-shedding plugin, as problem+json.
    return503OnClosing: false,
    frameworkErrors: frameworkErrorHandler,
    ...connectionTimeouts(options.config),
    clientErrorHandler: connectionErrorHandler
  }).withTypeProvider<TypeBoxTypeProvider>()
  capConnections(fastify.server, options.config.maxConnections, fastify.log)

  await fastify.register(validation)
  await fastify.register(errors)
  // Before the database and decisions plugins: it refuses work first, and starts draining first on
  // close. The event loop's lag is a sign of overload on PostgreSQL only: the embedded database runs
  // every query on this thread, so there the lag is its own work, which the ledger queue bounds.
  await fastify.register(loadShedding, {
    maxEventLoopDelayMs: options.database.capabilities.onEventLoop ? 0 : options.config.maxEventLoopDelayMs
  })
  await fastify.register(databasePlugin, {
    config: options.config,
    database: options.database,
    ...(options.now ? { now: options.now } : {}),
    ...(options.closeDatabase === undefined ? {} : { closeDatabase: options.closeDatabase }),
    ...(options.migrate === undefined ? {} : { migrate: options.migrate })
  })
  await fastify.register(metricsPlugin, { poolUsage: () => options.database.poolUsage() })
  await fastify.register(changeFeed)
  await fastify.register(decisionsPlugin)
  await fastify.register(checkpointsPlugin)
  await fastify.register(security)
  await fastify.register(auth)
  await fastify.register(docs)

  fastify.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id)
    // Answered before the body was read (401, 429, 503): the rest would only be read and thrown
    // away, and a client trickling it would hold the socket until REQUEST_TIMEOUT_MS; close instead.
    if (request.raw.complete === false) reply.header('connection', 'close')
  })
  // One line per request, by route pattern: the raw URL would carry member ids.
  fastify.addHook('onResponse', async (request, reply) => {
    const route = routePattern(request)
    request.log.info(
      { method: request.method, route, statusCode: reply.statusCode, responseTime: Math.round(reply.elapsedTime), clientId: request.client?.id },
      'request completed'
    )
  })

  await fastify.register(operationRoutes)
  await fastify.register(entityRoutes)
  await fastify.register(recipientRoutes)
  await fastify.register(contractorRoutes)
  await fastify.register(memberRoutes)
  await fastify.register(decisionRoutes)
  await fastify.register(ledgerRoutes)
  await fastify.register(clientRoutes)

  const purge = setInterval(() => {
    purgeIdempotencyKeys(options.database.db, fastify.now(), options.config.idempotencyTtlHours).catch((err: unknown) =>
      fastify.log.warn({ err }, 'purging old idempotency keys failed')
    )
  }, PURGE_INTERVAL_MS)
  purge.unref()
  fastify.addHook('onClose', async () => clearInterval(purge))

  await fastify.ready()
  return fastify
}
