import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import type { Database } from '../db/database.js'
import { latestCheckpoint, readHeads } from '../ledger/checkpoints-repository.js'
import { ServiceMetrics, type LedgerState, type PoolUsage } from '../metrics.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's Prometheus metrics; GET /metrics renders them. */
    metrics: ServiceMetrics
  }
}

export interface MetricsPluginOptions {
  /**
   * The PostgreSQL pool's usage, read on every scrape. Absent, or answering undefined (the
   * embedded database has no pool), the pool gauges show 0.
   */
  readonly poolUsage?: (() => PoolUsage | undefined) | undefined
}

/** The route pattern a request matched, for metrics and logs: never the raw URL, which would carry member ids. */
export function routePattern(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unmatched'
}

/** undefined_table: a database migrated before the checkpoints existed has no checkpoint table. */
const UNDEFINED_TABLE = '42P01'

async function readLedgerState(database: Database): Promise<LedgerState> {
  const { heads } = await readHeads(database.db)
  const latest = await latestCheckpoint(database.db).catch((err: unknown) => {
    if ((err as { code?: unknown } | null)?.code === UNDEFINED_TABLE) return undefined
    throw err
  })
  return {
    entries: heads.reduce((sum, head) => sum + head.seq, 0),
    checkpoint: latest && { signedAt: new Date(latest.signed_at), entries: Number(latest.tree_size) }
  }
}

/** The operation whose 200 answers are ledger verify reports (src/ledger/routes.ts). */
const VERIFY_OPERATION = 'verifyLedger'

/**
 * Gives the app its own metrics (a registry per app, with the process's default metrics) and
 * records what passes through HTTP: every response by route pattern, method and status, and
 * the result of every ledger verify served. The ledger queue and the decision counts are wired
 * by the decisions plugin; the pool, the ledger's size and its latest checkpoint are read when
 * /metrics is scraped.
 */
export default fp<MetricsPluginOptions>(
  async function metrics(fastify: FastifyInstance, options) {
    const metrics = new ServiceMetrics()
    fastify.decorate('metrics', metrics)

    metrics.watchPool(options.poolUsage ?? (() => undefined), fastify.config.databasePoolSize)
    metrics.watchLedger(
      () => readLedgerState(fastify.database),
      // Each scrape would say it again while the database is away; the probes and 503s say it already.
      (err) => fastify.log.debug({ err }, 'metrics: reading the ledger size and latest checkpoint failed')
    )

    fastify.addHook('onResponse', async (request, reply) => {
      metrics.responded(routePattern(request), request.method, reply.statusCode, reply.elapsedTime / 1000)
    })

    // The verify route belongs to the ledger; its reports are seen here on their way out.
    const verified = async (_request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
      if (reply.statusCode === 200 && typeof (payload as { ok?: unknown } | null)?.ok === 'boolean') {
        metrics.verified(payload as { ok: boolean })
      }
      return payload
    }
    fastify.addHook('onRoute', (route: RouteOptions) => {
      if (route.schema?.operationId !== VERIFY_OPERATION) return
      const hooks = route.preSerialization
      route.preSerialization = [...(hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks]), verified]
    })
  },
  { name: 'metrics', dependencies: ['database'] }
)
