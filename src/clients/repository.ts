import type { Queryable } from '../db/database.js'
import type { ClientRow } from '../db/tables.js'
import type { Channel, Purpose, Role } from '../policy/vocabulary.js'

export interface Client {
  readonly id: string
  readonly name: string
  readonly role: Role
  readonly channels: Channel[] | null
  readonly purposes: Purpose[] | null
  readonly createdAt: string
  readonly revokedAt: string | null
}

export function toClient(row: ClientRow): Client {
  return {
    id: row.id,
    name: row.name,
    role: row.role as Role,
    channels: (row.channels as Channel[] | null) ?? null,
    purposes: (row.purposes as Purpose[] | null) ?? null,
    createdAt: row.created_at.toISOString(),
    revokedAt: row.revoked_at?.toISOString() ?? null
  }
}

export async function findActiveClientByTokenHash(db: Queryable, tokenHash: string): Promise<(Client & { tokenHash: string }) | undefined> {
  const row = await db
    .selectFrom('clients')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  return row && { ...toClient(row), tokenHash: row.token_hash }
}

export async function insertClient(
  db: Queryable,
  client: { id: string; name: string; role: Role; channels: Channel[] | null; purposes: Purpose[] | null; tokenHash: string; now: Date }
): Promise<Client> {
  const row = await db
    .insertInto('clients')
    .values({
      id: client.id,
      name: client.name,
      role: client.role,
      channels: client.channels === null ? null : JSON.stringify(client.channels),
      purposes: client.purposes === null ? null : JSON.stringify(client.purposes),
      token_hash: client.tokenHash,
      created_at: client.now
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  return toClient(row)
}

/** The bootstrap admin follows BOOTSTRAP_ADMIN_TOKEN: a new token replaces the old one at start. */
export async function upsertBootstrapAdmin(db: Queryable, tokenHash: string, now: Date): Promise<void> {
  await db
    .insertInto('clients')
    .values({ id: BOOTSTRAP_ADMIN_ID, name: 'bootstrap admin', role: 'admin', token_hash: tokenHash, created_at: now })
    .onConflict((oc) => oc.column('id').doUpdateSet({ token_hash: tokenHash, revoked_at: null }))
    .execute()
}

export const BOOTSTRAP_ADMIN_ID = 'bootstrap-admin'

export async function listClients(db: Queryable): Promise<Client[]> {
  const rows = await db.selectFrom('clients').selectAll().orderBy('created_at').orderBy('id').execute()
  return rows.map(toClient)
}

export async function revokeClient(db: Queryable, id: string, now: Date): Promise<Client | undefined> {
  const row = await db
    .updateTable('clients')
    .set({ revoked_at: now })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst()
  return row && toClient(row)
}

export async function findClient(db: Queryable, id: string): Promise<Client | undefined> {
  const row = await db.selectFrom('clients').selectAll().where('id', '=', id).executeTakeFirst()
  return row && toClient(row)
}
