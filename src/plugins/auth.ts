import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { resolveClient } from '../clients/authenticate.js'
import type { Client } from '../clients/repository.js'
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
}

async function authenticate(fastify: FastifyInstance, request: FastifyRequest): Promise<Client> {
  const client = await resolveClient(fastify.database, request)
  if (!client) throw new UnauthorizedError()
  return client
}

/**
 * Every route declares `config.access`. A route without one is refused to everybody, so a new
 * route cannot be exposed by forgetting to say who may call it.
 */
export default fp(
  async function auth(fastify: FastifyInstance) {
    fastify.decorateRequest('client', null)
    async function authorize(request: FastifyRequest): Promise<void> {
      const access = request.routeOptions.config.access
      if (access === 'public') return
      const client = await authenticate(fastify, request)
      request.client = client
      if (access === undefined || !access.roles.includes(client.role)) throw new ForbiddenError()
    }
    // A route-level hook, appended after the rate limiter's own, so that failed authentication
    // attempts count against the caller's limit too.
    fastify.addHook('onRoute', (route) => {
      const existing = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]
      route.onRequest = [...existing, authorize] as typeof route.onRequest
    })
  },
  { name: 'auth', dependencies: ['database', 'security'] }
)
