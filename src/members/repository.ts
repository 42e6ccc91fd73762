import { randomUUID } from 'node:crypto'
import type { Queryable } from '../db/database.js'
import type { ConsentRow, SuspensionRow } from '../db/tables.js'
import type { ConsentFacts } from '../policy/engine.js'
import type { ConsentMethod, DataItem, RecipientCategory } from '../policy/vocabulary.js'

export interface Consent {
  readonly id: string
  readonly memberId: string
  readonly recipientCategory: RecipientCategory
  readonly recipientId: string | null
  readonly dataItems: DataItem[] | null
  readonly obtainedAt: string
  readonly method: ConsentMethod
  readonly evidenceRef: string
  readonly withdrawnAt: string | null
  readonly withdrawalReason: string | null
  readonly createdAt: string
}

export interface Suspension {
  readonly id: string
  readonly memberId: string
  readonly reason: string
  readonly requestedAt: string
  readonly liftedAt: string | null
  readonly createdAt: string
}

const toConsent = (row: ConsentRow): Consent => ({
  id: row.id,
  memberId: row.member_id,
  recipientCategory: row.recipient_category as RecipientCategory,
  recipientId: row.recipient_id,
  dataItems: (row.data_items as DataItem[] | null) ?? null,
  obtainedAt: row.obtained_at.toISOString(),
  method: row.method as ConsentMethod,
  evidenceRef: row.evidence_ref,
  withdrawnAt: row.withdrawn_at?.toISOString() ?? null,
  withdrawalReason: row.withdrawal_reason,
  createdAt: row.created_at.toISOString()
})

const toSuspension = (row: SuspensionRow): Suspension => ({
  id: row.id,
  memberId: row.member_id,
  reason: row.reason,
  requestedAt: row.requested_at.toISOString(),
  liftedAt: row.lifted_at?.toISOString() ?? null,
  createdAt: row.created_at.toISOString()
})

export function toConsentFacts(consent: Consent): ConsentFacts {
  return {
    id: consent.id,
    recipientCategory: consent.recipientCategory,
    recipientId: consent.recipientId,
    dataItems: consent.dataItems,
    obtainedAt: new Date(consent.obtainedAt),
    method: consent.method,
    withdrawnAt: consent.withdrawnAt === null ? null : new Date(consent.withdrawnAt)
  }
}

export interface NewConsent {
  readonly recipientCategory: RecipientCategory
  readonly recipientId?: string | undefined
  readonly dataItems?: DataItem[] | undefined
  readonly obtainedAt: string
  readonly method: ConsentMethod
  readonly evidenceRef: string
}

export async function insertConsent(db: Queryable, memberId: string, consent: NewConsent, now: Date): Promise<Consent> {
  const row = await db
    .insertInto('consents')
    .values({
      id: randomUUID(),
      member_id: memberId,
      recipient_category: consent.recipientCategory,
      recipient_id: consent.recipientId ?? null,
      data_items: consent.dataItems === undefined ? null : JSON.stringify(consent.dataItems),
      obtained_at: consent.obtainedAt,
      method: consent.method,
      evidence_ref: consent.evidenceRef,
      created_at: now
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  return toConsent(row)
}

export async function listConsents(db: Queryable, memberId: string): Promise<Consent[]> {
  const rows = await db.selectFrom('consents').selectAll().where('member_id', '=', memberId).orderBy('created_at').orderBy('id').execute()
  return rows.map(toConsent)
}

export async function findConsentForUpdate(db: Queryable, memberId: string, id: string): Promise<Consent | undefined> {
  const row = await db
    .selectFrom('consents')
    .selectAll()
    .where('member_id', '=', memberId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst()
  return row && toConsent(row)
}

export async function markConsentWithdrawn(db: Queryable, id: string, withdrawnAt: Date, reason: string | null): Promise<Consent> {
  const row = await db
    .updateTable('consents')
    .set({ withdrawn_at: withdrawnAt, withdrawal_reason: reason })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow()
  return toConsent(row)
}

export async function insertSuspension(db: Queryable, memberId: string, input: { reason: string; requestedAt: string }, now: Date): Promise<Suspension> {
  const row = await db
    .insertInto('suspensions')
    .values({ id: randomUUID(), member_id: memberId, reason: input.reason, requested_at: input.requestedAt, created_at: now })
    .returningAll()
    .executeTakeFirstOrThrow()
  return toSuspension(row)
}

export async function listSuspensions(db: Queryable, memberId: string): Promise<Suspension[]> {
  const rows = await db.selectFrom('suspensions').selectAll().where('member_id', '=', memberId).orderBy('created_at').orderBy('id').execute()
  return rows.map(toSuspension)
}

export async function findSuspensionForUpdate(db: Queryable, memberId: string, id: string): Promise<Suspension | undefined> {
  const row = await db
    .selectFrom('suspensions')
    .selectAll()
    .where('member_id', '=', memberId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst()
  return row && toSuspension(row)
}

export async function markSuspensionLifted(db: Queryable, id: string, liftedAt: Date): Promise<Suspension> {
  const row = await db.updateTable('suspensions').set({ lifted_at: liftedAt }).where('id', '=', id).returningAll().executeTakeFirstOrThrow()
  return toSuspension(row)
}

export async function hasActiveSuspension(db: Queryable, memberId: string): Promise<boolean> {
  const row = await db
    .selectFrom('suspensions')
    .select('id')
    .where('member_id', '=', memberId)
    .where('lifted_at', 'is', null)
    .limit(1)
    .executeTakeFirst()
  return row !== undefined
}
