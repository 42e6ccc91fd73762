import cors from '@fastify/cors'
import helmet from '@fastify/helmet'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { createHash } from 'node:crypto'
import { DomainError } from '../errors.js'

/**
 * The limit is per caller: a token names one client, so its hash keys the bucket without a
 * database lookup and before authentication; callers without a token share their IP's bucket.
 */
function rateLimitKey(request: FastifyRequest): string {
  const authorization = request.headers.authorization
  if (authorization) return `token:${createHash('sha256').update(authorization).digest('hex').slice(0, 32)}`
  return `ip:${request.ip}`
}

/** Headers fit for a JSON API, CORS only when configured, and a per-client rate limit. */
export default fp(
  async function security(fastify: FastifyInstance) {
    const { config } = fastify
    await fastify.register(helmet, {
      global: true,
      contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      crossOriginResourcePolicy: { policy: 'same-origin' }
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
    await fastify.register(rateLimit, {
      global: true,
      max: config.rateLimitMax,
      timeWindow: config.rateLimitWindowMs,
      keyGenerator: rateLimitKey,
      // Probes and documents are cheap and must keep answering while a client is throttled.
      allowList: (request) => request.routeOptions.config.access === 'public',
      errorResponseBuilder: (_request, context) =>
        new DomainError('rate_limited', 429, 'Too Many Requests', `rate limit exceeded; retry in ${context.after}`)
    })
    // Only JSON bodies are accepted; without this, text/plain would reach validation as a string.
    fastify.removeContentTypeParser('text/plain')
    fastify.addHook('onSend', async (_request, reply) => {
      reply.header('cache-control', reply.getHeader('cache-control') ?? 'no-store')
    })
  },
  { name: 'security', dependencies: ['database'] }
)
