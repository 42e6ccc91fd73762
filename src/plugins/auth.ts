import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { findActiveClientByTokenHash, type Client } from '../clients/repository.js'
import { hashToken, sameHash } from '../clients/tokens.js'
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

// The scheme is case-insensitive (RFC 9110 §11.1); the token itself is not.
const BEARER = /^Bearer +([A-Za-z0-9._~+/=-]{1,512})$/i

async function authenticate(fastify: FastifyInstance, request: FastifyRequest): Promise<Client> {
  const match = BEARER.exec(request.headers.authorization ?? '')
  if (!match?.[1]) throw new UnauthorizedError()
  const tokenHash = hashToken(match[1])
  const client = await findActiveClientByTokenHash(fastify.database.db, tokenHash)
  // The lookup is by hash, so timing says nothing about the token; the compare is belt and braces.
  if (!client || !sameHash(client.tokenHash, tokenHash)) throw new UnauthorizedError()
  const { tokenHash: _drop, ...rest } = client
  return rest
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
