import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import type { Queryable } from '../db/database.js'
import type { RecipientRow } from '../db/tables.js'
import { equivalentMeasuresOf, storedMeasures } from '../policy/abroad.js'
import type { RecipientFacts } from '../policy/engine.js'
import { HOME_COUNTRY, type RecipientCategory } from '../policy/vocabulary.js'
import type { NewRecipient, Recipient, RecipientFilter } from './schemas.js'

/** What the engine reads of a recipient. */
export function toRecipientFacts(recipient: Recipient): RecipientFacts {
  return { ...recipient, equivalentMeasures: equivalentMeasuresOf(recipient.equivalentMeasures) }
}

export function toRecipient(row: RecipientRow): Recipient {
  return {
    id: row.id,
    category: row.category as RecipientCategory,
    name: row.name,
    address: row.address,
    representative: row.representative,
    country: row.country,
    active: row.active,
    equivalentMeasures: storedMeasures(row.equivalent_measures),
    code: row.code ?? null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString()
  }
}

export async function insertRecipient(db: Queryable, recipient: NewRecipient, now: Date): Promise<Recipient> {
  const row = await db
    .insertInto('recipients')
    .values({
      id: randomUUID(),
      category: recipient.category,
      name: recipient.name,
      address: recipient.address,
      representative: recipient.representative,
      country: recipient.country ?? HOME_COUNTRY,
      equivalent_measures: recipient.equivalentMeasures ? JSON.stringify(storedMeasures(recipient.equivalentMeasures)) : null,
      code: recipient.code ?? null,
      active: true,
      created_at: now,
      updated_at: now
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  return toRecipient(row)
}

export async function listRecipients(db: Queryable, filter: RecipientFilter): Promise<Recipient[]> {
  let query = db.selectFrom('recipients').selectAll()
  if (filter.category !== undefined) query = query.where('category', '=', filter.category)
  if (filter.active !== undefined) query = query.where('active', '=', filter.active)
  if (filter.code !== undefined) query = query.where('code', '=', filter.code)
  // The name is matched as text: LIKE's wildcards in it are taken literally.
  if (filter.name !== undefined) query = query.where(sql<boolean>`strpos(lower(name), lower(${filter.name})) > 0`)
  const rows = await query.orderBy('created_at').orderBy('id').execute()
  return rows.map(toRecipient)
}

export async function findRecipient(db: Queryable, id: string): Promise<Recipient | undefined> {
  const row = await db.selectFrom('recipients').selectAll().where('id', '=', id).executeTakeFirst()
  return row && toRecipient(row)
}

export async function updateRecipient(
  db: Queryable,
  id: string,
  changes: Partial<Pick<Recipient, 'name' | 'address' | 'representative' | 'country' | 'active' | 'equivalentMeasures' | 'code'>>,
  now: Date
): Promise<Recipient | undefined> {
  const { equivalentMeasures, ...columns } = changes
  const row = await db
    .updateTable('recipients')
    .set({
      ...columns,
      ...(equivalentMeasures === undefined
        ? {}
        : { equivalent_measures: equivalentMeasures === null ? null : JSON.stringify(storedMeasures(equivalentMeasures)) }),
      updated_at: now
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst()
  return row && toRecipient(row)
}
