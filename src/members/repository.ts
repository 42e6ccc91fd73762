import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import type { Queryable } from '../db/database.js'
import type { ConsentRow, SuspensionRow } from '../db/tables.js'
import type { ConsentFacts } from '../policy/engine.js'
import type { ConsentMethod, DataItem, RecipientCategory, SuspensionScope } from '../policy/vocabulary.js'
import type { Consent, NewConsent, Suspension } from './schemas.js'

export type { Consent, NewConsent, Suspension } from './schemas.js'

export const toConsent = (row: ConsentRow): Consent => ({
  id: row.id,
  memberId: row.member_id,
  providerId: row.provider_id,
  recipientCategory: (row.recipient_category as RecipientCategory | null) ?? null,
  recipientId: row.recipient_id,
  contractorId: row.contractor_id ?? null,
  foreignRecipient: row.foreign_recipient ?? null,
  dataItems: (row.data_items as DataItem[] | null) ?? null,
  obtainedAt: row.obtained_at.toISOString(),
  method: row.method as ConsentMethod,
  evidenceRef: row.evidence_ref,
  withdrawnAt: row.withdrawn_at?.toISOString() ?? null,
  withdrawalReason: row.withdrawal_reason,
  createdAt: row.created_at.toISOString(),
  policyVersion: row.policy_version
})

export const toSuspension = (row: SuspensionRow): Suspension => ({
  id: row.id,
  memberId: row.member_id,
  providerId: row.provider_id,
  reason: row.reason,
  requestedAt: row.requested_at.toISOString(),
  liftedAt: row.lifted_at?.toISOString() ?? null,
  createdAt: row.created_at.toISOString(),
  scope: row.scope as SuspensionScope
})

export function toConsentFacts(consent: Consent): ConsentFacts {
  return {
    id: consent.id,
    providerId: consent.providerId,
    recipientCategory: consent.recipientCategory,
    recipientId: consent.recipientId,
    contractorId: consent.contractorId,
    foreignRecipient: consent.foreignRecipient,
    dataItems: consent.dataItems,
    obtainedAt: new Date(consent.obtainedAt),
    method: consent.method,
    withdrawnAt: consent.withdrawnAt === null ? null : new Date(consent.withdrawnAt),
    policyVersion: consent.policyVersion
  }
}

/** A consent as the service makes it, before it is stored: the id and times are the act's own. */
export function newConsent(memberId: string, providerId: string, input: NewConsent, policyVersion: string, now: Date): Consent {
  return {
    id: randomUUID(),
    memberId,
    providerId,
    recipientCategory: input.recipientCategory ?? null,
    recipientId: input.recipientId ?? null,
    contractorId: input.contractorId ?? null,
    foreignRecipient: input.foreignRecipient ?? null,
    dataItems: input.dataItems ?? null,
    obtainedAt: new Date(input.obtainedAt).toISOString(),
    method: input.method,
    evidenceRef: input.evidenceRef,
    withdrawnAt: null,
    withdrawalReason: null,
    createdAt: now.toISOString(),
    policyVersion
  }
}

export function newSuspension(
  memberId: string,
  providerId: string,
  input: { reason: string; requestedAt: string; scope?: SuspensionScope | undefined },
  now: Date
): Suspension {
  return {
    id: randomUUID(),
    memberId,
    providerId,
    reason: input.reason,
    requestedAt: new Date(input.requestedAt).toISOString(),
    liftedAt: null,
    createdAt: now.toISOString(),
    scope: input.scope ?? 'provision'
  }
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
          provider_id: c.providerId,
          recipient_category: c.recipientCategory,
          recipient_id: c.recipientId,
          contractor_id: c.contractorId,
          foreign_recipient: c.foreignRecipient === null ? null : JSON.stringify(c.foreignRecipient),
          data_items: c.dataItems === null ? null : JSON.stringify(c.dataItems),
          obtained_at: c.obtainedAt,
          method: c.method,
          evidence_ref: c.evidenceRef,
          withdrawn_at: c.withdrawnAt,
          withdrawal_reason: c.withdrawalReason,
          created_at: c.createdAt,
          policy_version: c.policyVersion
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
        created.map((s) => ({
          id: s.id,
          member_id: s.memberId,
          provider_id: s.providerId,
          reason: s.reason,
          requested_at: s.requestedAt,
          lifted_at: s.liftedAt,
          created_at: s.createdAt,
          scope: s.scope
        }))
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

export async function findConsent(db: Queryable, memberId: string, consentId: string): Promise<Consent | undefined> {
  const row = await db.selectFrom('consents').selectAll().where('member_id', '=', memberId).where('id', '=', consentId).executeTakeFirst()
  return row && toConsent(row)
}

/** The ledger entry that recorded the grant of a consent, as hashed, with its hash. */
export async function findConsentGrantEntry(
  db: Queryable,
  memberId: string,
  consentId: string
): Promise<{ content: Record<string, unknown>; hash: string } | undefined> {
  const row = await db
    .selectFrom('ledger_entries')
    .select(['content', 'hash'])
    .where('member_id', '=', memberId)
    .where('kind', '=', 'consent_granted')
    .where(sql<string>`content->'consent'->>'id'`, '=', consentId)
    .orderBy('position')
    .executeTakeFirst()
  return row && { content: row.content, hash: row.hash }
}
