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

export const toConsent = (row: ConsentRow): Consent => ({
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

export const toSuspension = (row: SuspensionRow): Suspension => ({
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

/** A consent as the service makes it, before it is stored: the id and times are the act's own. */
export function newConsent(memberId: string, input: NewConsent, now: Date): Consent {
  return {
    id: randomUUID(),
    memberId,
    recipientCategory: input.recipientCategory,
    recipientId: input.recipientId ?? null,
    dataItems: input.dataItems ?? null,
    obtainedAt: new Date(input.obtainedAt).toISOString(),
    method: input.method,
    evidenceRef: input.evidenceRef,
    withdrawnAt: null,
    withdrawalReason: null,
    createdAt: now.toISOString()
  }
}

export function newSuspension(memberId: string, input: { reason: string; requestedAt: string }, now: Date): Suspension {
  return { id: randomUUID(), memberId, reason: input.reason, requestedAt: new Date(input.requestedAt).toISOString(), liftedAt: null, createdAt: now.toISOString() }
}

/** Stores consents, new ones and changed ones (withdrawn), as they stand after a group of acts. */
export async function saveConsents(db: Queryable, created: readonly Consent[], withdrawn: readonly Consent[]): Promise<void> {
  if (created.length > 0) {
    await db
      .insertInto('consents')
      .values(
        created.map((c) => ({
          id: c.id,
          member_id: c.memberId,
          recipient_category: c.recipientCategory,
          recipient_id: c.recipientId,
          data_items: c.dataItems === null ? null : JSON.stringify(c.dataItems),
          obtained_at: c.obtainedAt,
          method: c.method,
          evidence_ref: c.evidenceRef,
          withdrawn_at: c.withdrawnAt,
          withdrawal_reason: c.withdrawalReason,
          created_at: c.createdAt
        }))
      )
      .execute()
  }
  for (const c of withdrawn) {
    await db.updateTable('consents').set({ withdrawn_at: c.withdrawnAt, withdrawal_reason: c.withdrawalReason }).where('id', '=', c.id).execute()
  }
}

export async function saveSuspensions(db: Queryable, created: readonly Suspension[], lifted: readonly Suspension[]): Promise<void> {
  if (created.length > 0) {
    await db
      .insertInto('suspensions')
      .values(
        created.map((s) => ({ id: s.id, member_id: s.memberId, reason: s.reason, requested_at: s.requestedAt, lifted_at: s.liftedAt, created_at: s.createdAt }))
      )
      .execute()
  }
  for (const s of lifted) {
    await db.updateTable('suspensions').set({ lifted_at: s.liftedAt }).where('id', '=', s.id).execute()
  }
}

export async function listConsents(db: Queryable, memberId: string): Promise<Consent[]> {
  const rows = await db.selectFrom('consents').selectAll().where('member_id', '=', memberId).orderBy('created_at').orderBy('id').execute()
  return rows.map(toConsent)
}

export async function listSuspensions(db: Queryable, memberId: string): Promise<Suspension[]> {
  const rows = await db.selectFrom('suspensions').selectAll().where('member_id', '=', memberId).orderBy('created_at').orderBy('id').execute()
  return rows.map(toSuspension)
}
