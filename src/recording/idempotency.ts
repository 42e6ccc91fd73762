import canonicalize from 'canonicalize'
import { createHash } from 'node:crypto'
import { sql } from 'kysely'
import type { Queryable } from '../db/database.js'

export interface StoredResponse {
  readonly statusCode: number
  readonly body: unknown
}

export function requestHash(body: unknown): string {
  return createHash('sha256')
    .update(canonicalize(body) ?? '', 'utf8')
    .digest('hex')
}

export interface IdempotencyClaim {
  readonly clientId: string
  readonly key: string
  readonly hash: string
}

/** The map key of a claim: one client's keys never meet another's. */
export const claimId = (clientId: string, key: string): string => `${clientId}\u0000${key}`

/**
 * Claims every key of a group inside the caller's transaction, in one statement. A key another
 * transaction is claiming makes this wait until that one ends; a key already used comes back with
 * its first response, to replay (same body) or refuse (another body: the caller's choice).
 * Keys are claimed in sorted order, so two groups claiming the same keys cannot deadlock.
 * @returns the keys that were already used, by claimId, with their stored request hash and response.
 */
export async function claimIdempotencyKeys(
  db: Queryable,
  claims: readonly IdempotencyClaim[],
  now: Date
): Promise<Map<string, StoredResponse & { readonly hash: string }>> {
  const earlier = new Map<string, StoredResponse & { hash: string }>()
  if (claims.length === 0) return earlier
  const sorted = [...claims].sort((a, b) => (a.clientId === b.clientId ? (a.key < b.key ? -1 : 1) : a.clientId < b.clientId ? -1 : 1))
  const claimed = await db
    .insertInto('idempotency_keys')
    .values(sorted.map((c) => ({ client_id: c.clientId, key: c.key, request_hash: c.hash, status_code: 0, response: 'null', created_at: now })))
    .onConflict((oc) => oc.columns(['client_id', 'key']).doNothing())
    .returning(['client_id', 'key'])
    .execute()
  const fresh = new Set(claimed.map((row) => claimId(row.client_id, row.key)))
  const used = sorted.filter((c) => !fresh.has(claimId(c.clientId, c.key)))
  if (used.length === 0) return earlier
  const rows = await db
    .selectFrom('idempotency_keys')
    .select(['client_id', 'key', 'request_hash', 'status_code', 'response'])
    .where((eb) => eb.or(used.map((c) => eb.and([eb('client_id', '=', c.clientId), eb('key', '=', c.key)]))))
    .execute()
  for (const row of rows) {
    earlier.set(claimId(row.client_id, row.key), { hash: row.request_hash, statusCode: row.status_code, body: row.response })
  }
  return earlier
}

/**
 * Stores the responses of freshly claimed keys, with the hash of the request each answers (the
 * claim may have been made for another job of the group that was then refused), in one statement.
 */
export async function storeIdempotentResponses(
  db: Queryable,
  responses: readonly { readonly clientId: string; readonly key: string; readonly hash: string; readonly response: StoredResponse }[]
): Promise<void> {
  if (responses.length === 0) return
  const rows = JSON.stringify(
    responses.map((r) => ({ client_id: r.clientId, key: r.key, request_hash: r.hash, status_code: r.response.statusCode, response: r.response.body }))
  )
  await sql`
    UPDATE idempotency_keys AS k SET request_hash = v.request_hash, status_code = v.status_code, response = v.response
    FROM jsonb_to_recordset(${rows}::jsonb) AS v(client_id text, key text, request_hash text, status_code integer, response jsonb)
    WHERE k.client_id = v.client_id AND k.key = v.key`.execute(db)
}

/** Gives back keys claimed for requests that were refused (4xx), in one statement. */
export async function releaseIdempotencyKeys(db: Queryable, claims: readonly { readonly clientId: string; readonly key: string }[]): Promise<void> {
  if (claims.length === 0) return
  await db
    .deleteFrom('idempotency_keys')
    .where((eb) => eb.or(claims.map((c) => eb.and([eb('client_id', '=', c.clientId), eb('key', '=', c.key)]))))
    .execute()
}

/** Forgets keys older than the retention; keys are kept at least that long. */
export async function purgeIdempotencyKeys(db: Queryable, now: Date, ttlHours: number): Promise<number> {
  const cutoff = new Date(now.getTime() - ttlHours * 3_600_000)
  const result = await db.deleteFrom('idempotency_keys').where('created_at', '<', cutoff).executeTakeFirst()
  return Number(result.numDeletedRows ?? 0)
}
