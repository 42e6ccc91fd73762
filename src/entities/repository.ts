import { randomUUID } from 'node:crypto'
import type { Queryable } from '../db/database.js'
import type { EntityRow } from '../db/tables.js'
import { NAMED_ENTITIES, namedEntity, type EntityFacts } from '../policy/parties.js'
import type { Entity, NewMemberCoop } from './schemas.js'

const fromPolicy = (facts: EntityFacts): Entity => ({ ...facts, source: 'policy', createdAt: null, updatedAt: null })

export function toEntity(row: EntityRow): Entity {
  return {
    id: row.id,
    kind: 'member_coop',
    name: { ja: row.name_ja, en: row.name_en },
    address: row.address,
    representative: row.representative,
    corporateNumber: row.corporate_number,
    active: row.active,
    source: 'registry',
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString()
  }
}

export async function insertMemberCoop(db: Queryable, coop: NewMemberCoop, now: Date): Promise<Entity> {
  const row = await db
    .insertInto('entities')
    .values({
      id: randomUUID(),
      kind: 'member_coop',
      name_ja: coop.name.ja,
      name_en: coop.name.en,
      address: coop.address ?? null,
      representative: coop.representative ?? null,
      corporate_number: coop.corporateNumber ?? null,
      active: true,
      created_at: now,
      updated_at: now
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  return toEntity(row)
}

/** Every legal person, the named ones first, then member co-ops in order of registration. */
export async function listEntities(db: Queryable, filter: { active?: boolean | undefined } = {}): Promise<Entity[]> {
  let query = db.selectFrom('entities').selectAll()
  if (filter.active !== undefined) query = query.where('active', '=', filter.active)
  const rows = await query.orderBy('created_at').orderBy('id').execute()
  const named = NAMED_ENTITIES.map(fromPolicy).filter((e) => filter.active === undefined || e.active === filter.active)
  return [...named, ...rows.map(toEntity)]
}

/** The entity with this id (a named one's exactly, a member co-op's UUID in any case). */
export async function findEntity(db: Queryable, id: string): Promise<Entity | undefined> {
  const named = namedEntity(id)
  if (named !== undefined) return fromPolicy(named)
  const rows = await findRegistered(db, [id])
  return rows[0]
}

/** The registered member co-ops among `ids`; ids that are not UUIDs name none. */
export async function findRegistered(db: Queryable, ids: readonly string[]): Promise<Entity[]> {
  const uuids = ids.map((id) => id.toLowerCase()).filter((id) => UUID.test(id))
  if (uuids.length === 0) return []
  const rows = await db.selectFrom('entities').selectAll().where('id', 'in', uuids).execute()
  return rows.map(toEntity)
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export async function setEntityActive(db: Queryable, id: string, active: boolean, now: Date): Promise<Entity | undefined> {
  const row = await db.updateTable('entities').set({ active, updated_at: now }).where('id', '=', id).returningAll().executeTakeFirst()
  return row && toEntity(row)
}
