import { randomUUID } from 'node:crypto'
import type { Queryable } from '../db/database.js'
import type { ClientRow } from '../db/tables.js'
import { FEDERATION } from '../policy/parties.js'
import type { Channel, Purpose, Role } from '../policy/vocabulary.js'
import type { Client } from './schemas.js'

export type { Client } from './schemas.js'

export function toClient(row: ClientRow): Client {
  return {
    id: row.id,
    name: row.name,
    role: row.role as Role,
    entityId: row.entity_id,
    channels: (row.channels as Channel[] | null) ?? null,
    purposes: (row.purposes as Purpose[] | null) ?? null,
    rateLimit: row.rate_limit ?? null,
    createdAt: row.created_at.toISOString(),
    revokedAt: row.revoked_at?.toISOString() ?? null,
    expiresAt: row.expires_at?.toISOString() ?? null
  }
}

/** The client whose token hashes to `tokenHash`, revoked or not (revoked rows are kept, and token hashes are unique). */
export async function findClientByTokenHash(db: Queryable, tokenHash: string): Promise<(Client & { tokenHash: string }) | undefined> {
  const row = await db.selectFrom('clients').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst()
  return row && { ...toClient(row), tokenHash: row.token_hash }
}

export async function insertClient(
  db: Queryable,
  client: {
    id: string
    name: string
    role: Role
    /** Omitted: the federation. */
    entityId?: string
    channels: Channel[] | null
    purposes: Purpose[] | null
    rateLimit: number | null
    tokenHash: string
    now: Date
    /** Omitted or null: the token does not expire. */
    expiresAt?: Date | null
  }
): Promise<Client> {
  const row = await db
    .insertInto('clients')
    .values({
      id: client.id,
      name: client.name,
      role: client.role,
      entity_id: client.entityId ?? FEDERATION.id,
      channels: client.channels === null ? null : JSON.stringify(client.channels),
      purposes: client.purposes === null ? null : JSON.stringify(client.purposes),
      rate_limit: client.rateLimit,
      expires_at: client.expiresAt ?? null,
      token_hash: client.tokenHash,
      created_at: client.now
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  return toClient(row)
}

/** The first bootstrap admin's id; admins of later tokens are `bootstrap-admin-<uuid>`. */
export const BOOTSTRAP_ADMIN_ID = 'bootstrap-admin'

export type BootstrapAdmin =
  /** `created`: the token is new; `replaced` names the earlier bootstrap admins it revoked. */
  | { readonly status: 'created'; readonly id: string; readonly replaced: readonly string[] }
  /** The token is on record: `active` as it was, or `revoked` for good (it admits nobody). */
  | { readonly status: 'active' | 'revoked'; readonly id: string }

/**
 * Gives BOOTSTRAP_ADMIN_TOKEN its admin. Every token is a client record of its own: a token on
 * record is left as it is (a revoked one stays revoked); a new token gets a new admin, and the
 * bootstrap admins of earlier tokens are revoked, so the old token stops working. Run it in a
 * transaction; replicas starting at once insert one record (the token hash is unique).
 */
export async function ensureBootstrapAdmin(db: Queryable, tokenHash: string, now: Date): Promise<BootstrapAdmin> {
  const onRecord = async (): Promise<BootstrapAdmin | undefined> => {
    const row = await db.selectFrom('clients').select(['id', 'revoked_at']).where('token_hash', '=', tokenHash).executeTakeFirst()
    return row && { status: row.revoked_at === null ? 'active' : 'revoked', id: row.id }
  }
  const existing = await onRecord()
  if (existing) return existing
  const firstTaken = await db.selectFrom('clients').select('id').where('id', '=', BOOTSTRAP_ADMIN_ID).executeTakeFirst()
  const id = firstTaken ? `${BOOTSTRAP_ADMIN_ID}-${randomUUID()}` : BOOTSTRAP_ADMIN_ID
  const inserted = await db
    .insertInto('clients')
    .values({ id, name: 'bootstrap admin', role: 'admin', entity_id: FEDERATION.id, token_hash: tokenHash, created_at: now })
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst()
  if (!inserted) {
    // Another replica inserted this token's admin first.
    const winner = await onRecord()
    if (!winner) throw new Error('the bootstrap admin could be neither inserted nor found')
    return winner
  }
  const replaced = await db
    .updateTable('clients')
    .set({ revoked_at: now })
    .where((eb) => eb.or([eb('id', '=', BOOTSTRAP_ADMIN_ID), eb('id', 'like', `${BOOTSTRAP_ADMIN_ID}-%`)]))
    .where('token_hash', '<>', tokenHash)
    .where('revoked_at', 'is', null)
    .returning('id')
    .execute()
  // Other running replicas may have the old bootstrap admins cached: the trigger on clients
  // (migration 2026-12-07T02) tells them when this commits.
  return { status: 'created', id, replaced: replaced.map((r) => r.id) }
}

export async function listClients(db: Queryable): Promise<Client[]> {
  const rows = await db.selectFrom('clients').selectAll().orderBy('created_at').orderBy('id').execute()
  return rows.map(toClient)
}

export async function revokeClient(db: Queryable, id: string, now: Date): Promise<Client | undefined> {
  const row = await db.updateTable('clients').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).returningAll().executeTakeFirst()
  return row && toClient(row)
}

export async function findClient(db: Queryable, id: string): Promise<Client | undefined> {
  const row = await db.selectFrom('clients').selectAll().where('id', '=', id).executeTakeFirst()
  return row && toClient(row)
}
