import type { FastifyInstance, FastifyRequest } from 'fastify'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import fp from 'fastify-plugin'
import { DomainError } from '../errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * True from the moment the app starts closing (SIGTERM): /readyz answers 503 and new requests
     * are refused, while the requests already in flight are answered.
     */
    readonly draining: boolean
  }
}

/** The event loop lags: a request taken on now would only wait behind the others. Nothing was done. */
export class OverloadedError extends DomainError {
  constructor() {
    super('overloaded', 503, 'Service Unavailable', 'the service is overloaded; nothing was done; retry shortly')
  }
}

/** The process is closing: it answers what it already took on, nothing new. Nothing was done. */
export class ShuttingDownError extends DomainError {
  constructor() {
    super('shutting_down', 503, 'Service Unavailable', 'the service is shutting down; nothing was done; retry shortly')
  }
}

/** Liveness and metrics answer even under pressure: a busy process is alive, and its numbers matter most then. */
const ALWAYS_ANSWERED = new Set(['/healthz', '/metrics'])
/** While draining, /readyz answers for itself (503 not_ready), so the orchestrator is told why. */
const ANSWERED_WHILE_DRAINING = new Set([...ALWAYS_ANSWERED, '/readyz'])
/** The event loop's lag is the mean over this window, taken anew at its end. */
const SAMPLE_MS = 1_000
const RESOLUTION_MS = 10
/** On close, how long the loop reads what already reached the sockets before the listener closes. */
const LINGER_MS = 100

function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? ''
}

/**
 * The event loop's mean lag over the last second, in ms. Sampling starts once the app is ready:
 * start-up work (migrations; on the embedded database every one of them runs on this thread)
 * would otherwise read as overload for the first second of service.
 */
function eventLoopLag(fastify: FastifyInstance): () => number {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  let lagMs = 0
  let sampler: NodeJS.Timeout | undefined
  fastify.addHook('onReady', async () => {
    histogram.enable()
    sampler = setInterval(() => {
      // No sample at all in a whole window: the loop never got round to the timer.
      lagMs = histogram.count === 0 ? Number.POSITIVE_INFINITY : Math.max(0, histogram.mean / 1e6 - RESOLUTION_MS)
      histogram.reset()
    }, SAMPLE_MS)
    sampler.unref()
  })
  fastify.addHook('onClose', async () => {
    clearInterval(sampler)
    histogram.disable()
  })
  return () => lagMs
}

/**
 * Refuses work the process cannot take on, early (before authentication and body parsing) and
 * with a retryable 503 problem (Retry-After from the error handler):
 * - while the event loop lags more than `maxEventLoopDelayMs` on average over the last second:
 *   CPU saturation, which no queue sees (what @fastify/under-pressure's maxEventLoopDelay does,
 *   here without its start-up reading and without a dependency);
 * - while the app is closing (`draining`).
 * A full ledger queue is refused by the group committer itself (503 ledger_busy), at the exact
 * moment and only for the acts that would wait in it (plugins/decisions.ts, LEDGER_MAX_QUEUED_ENTRIES).
 */
export default fp<{ maxEventLoopDelayMs: number }>(
  async function loadShedding(fastify: FastifyInstance, options) {
    let draining = false
    fastify.decorate('draining', { getter: () => draining })
    const lag = options.maxEventLoopDelayMs > 0 ? eventLoopLag(fastify) : () => 0

    // Registered before the decisions plugin, so this runs before the ledger queue is drained.
    fastify.addHook('preClose', async () => {
      draining = true
      fastify.log.info('draining: /readyz is 503, new requests are refused, requests in flight are answered')
      // Connections the kernel accepted and requests already sent, which a busy loop has not read
      // yet (the embedded database keeps it busy), would be dropped unanswered when the listener
      // closes; a moment of idle loop reads them, so they are answered (503 shutting_down) instead.
      await new Promise((resolve) => setTimeout(resolve, LINGER_MS))
    })
    fastify.addHook('onRequest', async (request) => {
      const route = routeOf(request)
      if (draining && !ANSWERED_WHILE_DRAINING.has(route)) throw new ShuttingDownError()
      const lagMs = lag()
      if (lagMs > options.maxEventLoopDelayMs && !ALWAYS_ANSWERED.has(route)) {
        request.log.warn({ eventLoopLagMs: Math.round(lagMs) }, 'request refused: the service is overloaded')
        throw new OverloadedError()
      }
    })
    // A kept-alive connection would hold the close open after its last answer (Fastify keeps idle
    // connections for 72 s): while draining, every answer closes its connection.
    fastify.addHook('onSend', async (_request, reply) => {
      if (draining) reply.header('connection', 'close')
    })
  },
  { name: 'load-shedding', dependencies: ['errors'] }
)
