import cors from '@fastify/cors'
import type { IncomingMessage, ServerResponse } from 'node:http'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import helmet, { type HelmetOptions } from 'helmet'
import { DomainError } from '../errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The counters behind every 429 (README, "Throttling"); the auth plugin applies them. */
    throttle: Throttle
  }
}

/** 429: an address over its failed-authentication limit, or a client over its own `rateLimit`. */
export class RateLimitedError extends DomainError {
  constructor(detail: string) {
    super('rate_limited', 429, 'Too Many Requests', detail)
  }
}

export interface Throttle {
  /**
   * Call before the token lookup, so that a guesser over the limit costs no database query.
   * @throws RateLimitedError (with Retry-After on the reply) when the request's source address
   * has failed authentication `authFailureLimit` times within the window.
   */
  refuseFailingAddress(request: FastifyRequest, reply: FastifyReply): Promise<void>
  /** Counts a failed authentication (no token, or none that is valid) against the source address. */
  countFailure(request: FastifyRequest): Promise<void>
  /**
   * Counts a request of the authenticated `request.client` when its record sets `rateLimit`;
   * other clients are never counted.
   * @throws RateLimitedError (with Retry-After on the reply) beyond `rateLimit` requests a minute.
   */
  countClientRequest(request: FastifyRequest, reply: FastifyReply): Promise<void>
}

const CLIENT_WINDOW_MS = 60_000

// Nothing the API returns is a page; /docs sets its own policy (plugins/docs.ts).
const HELMET_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  crossOriginResourcePolicy: { policy: 'same-origin' }
}

/**
 * The headers helmet sets for `options`, worked out once. They never vary by request, and the
 * Fastify plugin built helmet's middleware anew for every request: a twentieth of a check's work.
 */
function securityHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {}
  const recorder = {
    setHeader(name: string, value: unknown) {
      headers[name.toLowerCase()] = String(value)
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()]
    }
  }
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    if (err !== undefined) throw new Error('helmet refused its options', { cause: err })
  })
  return headers
}

/** Headers fit for a JSON API, CORS only when configured, and the throttling counters. */
export default fp(
  async function security(fastify: FastifyInstance) {
    const { config } = fastify
    const headers = securityHeaders(HELMET_OPTIONS)
    fastify.addHook('onRequest', (_request, reply, done) => {
      reply.headers(headers)
      done()
    })
    if (config.corsOrigin !== undefined) {
      // Preflights carry no credentials; the CORS plugin answers them itself.
      fastify.addHook('onRoute', (route) => {
        if (route.method === 'OPTIONS') route.config = { ...route.config, access: 'public' }
      })
      await fastify.register(cors, {
        origin: config.corsOrigin.split(',').map((o) => o.trim()),
        methods: ['GET', 'POST', 'PATCH', 'DELETE'],
        strictPreflight: false
      })
    }

    // The plugin's counters only (in memory, per process); no route gets its hook. Failures are
    // keyed by source address (an IPv6 address by its /64), clients by id.
    await fastify.register(rateLimit, { global: false })
    const failures = fastify.createRateLimit({ max: config.authFailureLimit, timeWindow: config.authFailureWindowMs })
    const clients = fastify.createRateLimit({
      keyGenerator: (request) => request.client?.id ?? '',
      allowList: (request) => (request.client?.rateLimit ?? null) === null,
      max: (request) => request.client?.rateLimit ?? 1,
      timeWindow: CLIENT_WINDOW_MS
    })
    const throttle: Throttle = {
      async refuseFailingAddress(request, reply) {
        const state = await failures(request, { increment: false })
        if (state.isAllowed || state.remaining > 0) return
        reply.header('retry-after', state.ttlInSeconds)
        throw new RateLimitedError('too many failed authentications from this address; retry after the time in Retry-After')
      },
      async countFailure(request) {
        const state = await failures(request)
        if (!state.isAllowed && state.remaining === 0 && !state.isExceeded) {
          request.log.warn(
            { address: state.key, windowMs: state.timeWindow },
            'failed authentications from one address reached the limit; it is refused until the window ends'
          )
        }
      },
      async countClientRequest(request, reply) {
        const state = await clients(request)
        if (state.isAllowed || !state.isExceeded) return
        reply.header('retry-after', state.ttlInSeconds)
        throw new RateLimitedError(`this client may make ${state.max} requests a minute; retry after the time in Retry-After`)
      }
    }
    fastify.decorate('throttle', throttle)

    // Only JSON bodies are accepted; without this, text/plain would reach validation as a string.
    fastify.removeContentTypeParser('text/plain')
    fastify.addHook('onSend', async (_request, reply) => {
      reply.header('cache-control', reply.getHeader('cache-control') ?? 'no-store')
    })
  },
  { name: 'security', dependencies: ['database'] }
)
