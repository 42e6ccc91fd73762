import type { FastifyRequest } from 'fastify'
import type { Database } from '../db/database.js'
import { findActiveClientByTokenHash, type Client } from './repository.js'
import type { TokenCache } from './token-cache.js'
import { TOKEN_CHARACTERS, hashToken, sameHash } from './tokens.js'

// The scheme is case-insensitive (RFC 9110 §11.1); the token itself is not.
const BEARER = new RegExp(`^Bearer +([${TOKEN_CHARACTERS}]{1,512}) *$`, 'i')

const resolved = new WeakMap<FastifyRequest, Promise<Client | null>>()

/** Whether `client`'s token has reached its `expiresAt` by `now`; checked on every request, cached or not. */
function expired(client: Client, now: Date): boolean {
  return client.expiresAt !== null && Date.parse(client.expiresAt) <= now.getTime()
}

async function lookUp(database: Database, cache: TokenCache, request: FastifyRequest): Promise<Client | null> {
  const token = BEARER.exec(request.headers.authorization ?? '')?.[1]
  if (!token) return null
  const tokenHash = hashToken(token)
  const cached = cache.get(tokenHash)
  if (cached) return cached
  const started = cache.begin()
  const client = await findActiveClientByTokenHash(database.db, tokenHash)
  // The lookup is by hash, so timing says nothing about the token; the compare is belt and braces.
  if (!client || !sameHash(client.tokenHash, tokenHash)) return null
  const { tokenHash: _stored, ...rest } = client
  cache.remember(tokenHash, rest, started)
  return rest
}

/**
 * The client a request's bearer token names, or null (also when its token has expired by `now`,
 * the service's clock). Looked up at most once per request, however often it is asked for, and
 * answered from the cache while the change feed vouches for it and its TTL has not run out; the
 * auth plugin (`fastify.authenticate`) is the one that asks.
 */
export function resolveClient(database: Database, cache: TokenCache, request: FastifyRequest, now: () => Date): Promise<Client | null> {
  let pending = resolved.get(request)
  if (!pending) {
    pending = lookUp(database, cache, request).then((client) => (client === null || expired(client, now()) ? null : client))
    resolved.set(request, pending)
  }
  return pending
}
