import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { resolveClient } from '../clients/authenticate.js'
import type { Client } from '../clients/repository.js'
import { TokenCache } from '../clients/token-cache.js'
import { ForbiddenError, UnauthorizedError } from '../errors.js'
import type { Role } from '../policy/vocabulary.js'

/** Who may call a route: nobody needs a token for `public`; otherwise one of `roles`. */
export type Access = 'public' | { readonly roles: readonly Role[] }

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access
  }
  interface FastifyRequest {
    client: Client | null
  }
  interface FastifyInstance {
    /**
     * The client the request's bearer token names, also set as `request.client`; the token is
     * looked up once per request.
     * @throws RateLimitedError before the lookup when the source address is over its limit of
     * failed authentications, and after it when the client is over its own `rateLimit`.
     * @throws UnauthorizedError without a valid token (missing, malformed, unknown, revoked or
     * expired, as its `tokenStatus` says); that counts as a failure of the address.
     */
    authenticate(request: FastifyRequest, reply: FastifyReply): Promise<Client>
  }
}

/**
 * Every route declares `config.access`. A route without one is refused to everybody, so a new
 * route cannot be exposed by forgetting to say who may call it. Public routes never look a
 * token up and are never throttled.
 */
export default fp(
  async function auth(fastify: FastifyInstance) {
    fastify.decorateRequest('client', null)
    const tokens = new TokenCache(fastify.changes, fastify.config.tokenCacheTtlMs)
    fastify.decorate('authenticate', async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<Client> {
      await fastify.throttle.refuseFailingAddress(request, reply)
      const client = await resolveClient(fastify.database, tokens, request, fastify.now)
      if (typeof client === 'string') {
        await fastify.throttle.countFailure(request)
        throw new UnauthorizedError(client)
      }
      request.client = client
      await fastify.throttle.countClientRequest(request, reply)
      return client
    })
    async function authorize(request: FastifyRequest, reply: FastifyReply): Promise<void> {
      const access = request.routeOptions.config.access
      if (access === 'public') return
      const client = await fastify.authenticate(request, reply)
      if (!access?.roles.includes(client.role)) throw new ForbiddenError()
    }
    // A hook on every route; the not-found handler (plugins/errors.ts) authenticates by itself.
    fastify.addHook('onRoute', (route) => {
      const existing = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]
      route.onRequest = [...existing, authorize] as typeof route.onRequest
    })
  },
  { name: 'auth', dependencies: ['database', 'security', 'change-feed'] }
)
