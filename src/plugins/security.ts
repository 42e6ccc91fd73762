import cors from '@fastify/cors'
import helmet from '@fastify/helmet'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { resolveClient } from '../clients/authenticate.js'
import { DomainError } from '../errors.js'


/** Headers fit for a JSON API, CORS only when configured, and a per-client rate limit. */
export default fp(
  async function security(fastify: FastifyInstance) {
    const { config } = fastify
    await fastify.register(helmet, {
      global: true,
      // Nothing the API returns is a page; /docs sets its own policy (plugins/docs.ts).
      contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
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
      // Per client once the token is known; callers without a valid token share their IP's
      // bucket, so guessing tokens is limited too.
      keyGenerator: async (request: FastifyRequest) => {
        const client = await resolveClient(fastify.database, request)
        return client ? `client:${client.id}` : `ip:${request.ip}`
      },
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
