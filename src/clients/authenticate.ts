import type { FastifyRequest } from 'fastify'
import type { Database } from '../db/database.js'
import type { TokenStatus } from '../errors.js'
import { findClientByTokenHash, type Client } from './repository.js'
import type { TokenCache } from './token-cache.js'
import { TOKEN_CHARACTERS, hashToken, sameHash } from './tokens.js'

// The scheme is case-insensitive (RFC 9110 §11.1); the token itself is not.
const BEARER = new RegExp(`^Bearer +([${TOKEN_CHARACTERS}]{1,512}) *$`, 'i')

const resolved = new WeakMap<FastifyRequest, Promise<Client | TokenStatus>>()

/** Whether `client`'s token has reached its `expiresAt` by `now`; checked on every request, cached or not. */
function expired(client: Client, now: Date): boolean {
  return client.expiresAt !== null && Date.parse(client.expiresAt) <= now.getTime()
}

async function lookUp(database: Database, cache: TokenCache, request: FastifyRequest): Promise<Client | TokenStatus> {
  const header = request.headers.authorization
  if (header === undefined || header.trim() === '') return 'missing'
  const token = BEARER.exec(header)?.[1]
  if (!token) return 'malformed'
  const tokenHash = hashToken(token)
  const cached = cache.get(tokenHash)
  if (cached) return cached
  const started = cache.begin()
  const client = await findClientByTokenHash(database.db, tokenHash)
  // The lookup is by hash, so timing says nothing about the token; the compare is belt and braces.
  if (!client || !sameHash(client.tokenHash, tokenHash)) return 'unknown'
  // Told apart from `unknown` so that its holder asks for a new token rather than hunting for a
  // typo; only someone who once held the token learns it.
  if (client.revokedAt !== null) return 'revoked'
  const { tokenHash: _stored, ...rest } = client
  cache.remember(tokenHash, rest, started)
  return rest
}

/**
 * The client a request's bearer token names, or why there is none (also `expired` when its token
 * has reached its `expiresAt` by `now`, the service's clock). Looked up at most once per request,
 * however often it is asked for, and answered from the cache while the change feed vouches for it
 * and its TTL has not run out; the auth plugin (`fastify.authenticate`) is the one that asks.
 */
export function resolveClient(database: Database, cache: TokenCache, request: FastifyRequest, now: () => Date): Promise<Client | TokenStatus> {
  let pending = resolved.get(request)
  if (!pending) {
    pending = lookUp(database, cache, request).then((client) => (typeof client === 'string' ? client : expired(client, now()) ? 'expired' : client))
    resolved.set(request, pending)
  }
  return pending
}
