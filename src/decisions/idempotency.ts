import canonicalize from 'canonicalize'
import { createHash } from 'node:crypto'
import type { Queryable } from '../db/database.js'
import { IdempotencyConflictError } from '../errors.js'

export interface StoredResponse {
  readonly statusCode: number
  readonly body: unknown
}

export function requestHash(body: unknown): string {
  return createHash('sha256').update(canonicalize(body) ?? '', 'utf8').digest('hex')
}

/**
 * Claims `key` for this client inside the caller's transaction. A concurrent claim of the same
 * key waits on the primary key until the first transaction ends, then sees its stored response.
 * @returns the first response when the key was already used with the same body.
 * @throws IdempotencyConflictError when it was used with another body.
 */
export async function claimIdempotencyKey(
  db: Queryable,
  clientId: string,
  key: string,
  hash: string,
  now: Date
): Promise<StoredResponse | null> {
  const claimed = await db
    .insertInto('idempotency_keys')
    .values({ client_id: clientId, key, request_hash: hash, status_code: 0, response: 'null', created_at: now })
    .onConflict((oc) => oc.columns(['client_id', 'key']).doNothing())
    .returning('key')
    .executeTakeFirst()
  if (claimed) return null
  const existing = await db
    .selectFrom('idempotency_keys')
    .select(['request_hash', 'status_code', 'response'])
    .where('client_id', '=', clientId)
    .where('key', '=', key)
    .executeTakeFirstOrThrow()
  if (existing.request_hash !== hash) throw new IdempotencyConflictError()
  return { statusCode: existing.status_code, body: existing.response }
}

export async function storeIdempotentResponse(db: Queryable, clientId: string, key: string, response: StoredResponse): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .set({ status_code: response.statusCode, response: JSON.stringify(response.body) })
    .where('client_id', '=', clientId)
    .where('key', '=', key)
    .execute()
}

/** Forgets keys older than the retention; keys are kept at least that long. */
export async function purgeIdempotencyKeys(db: Queryable, now: Date, ttlHours: number): Promise<number> {
  const cutoff = new Date(now.getTime() - ttlHours * 3_600_000)
  const result = await db.deleteFrom('idempotency_keys').where('created_at', '<', cutoff).executeTakeFirst()
  return Number(result.numDeletedRows ?? 0)
}

