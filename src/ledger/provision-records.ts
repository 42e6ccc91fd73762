import type { Queryable } from '../db/database.js'

/** One third-party provision, as APPI Art. 29 and enforcement rule 20 require it to be recorded. */
export interface ProvisionRecord {
  readonly entryId: string
  readonly providedAt: string
  readonly recipient: { id: string; name: string; address: string; representative: string; category: string }
  readonly purpose: string
  readonly serviceCategory: string
  readonly dataItems: string[]
  readonly method: string
  readonly consent: { id: string; obtainedAt: string; method: string; evidenceRef: string } | null
  readonly policyVersion: string
  /** Rule 21: three years from the provision. */
  readonly retainUntil: string
}

function addYears(instant: string, years: number): string {
  const date = new Date(instant)
  date.setUTCFullYear(date.getUTCFullYear() + years)
  return date.toISOString()
}

const RETENTION_YEARS = 3

/**
 * The member's allowed third-party provisions, newest first, read from the ledger alone: the
 * snapshots there say who the recipient was at the time, whatever the registry says now.
 */
export async function listProvisionRecords(db: Queryable, memberId: string): Promise<ProvisionRecord[]> {
  const rows = await db
    .selectFrom('ledger_entries')
    .select(['content'])
    .where('member_id', '=', memberId)
    .where('kind', '=', 'decision')
    .where('channel', '=', 'third_party')
    .where('decision', '=', 'allow')
    .orderBy('position', 'desc')
    .execute()
  return rows
    .map((row) => row.content as Record<string, any>)
    .filter((content) => content.action === 'transfer')
    .map((content) => ({
      entryId: content.id,
      providedAt: content.recordedAt,
      recipient: {
        id: content.recipient.id,
        name: content.recipient.name,
        address: content.recipient.address,
        representative: content.recipient.representative,
        category: content.recipient.category
      },
      purpose: content.purpose,
      serviceCategory: content.serviceCategory,
      dataItems: content.dataItems,
      method: content.method,
      consent: content.consent
        ? { id: content.consent.id, obtainedAt: content.consent.obtainedAt, method: content.consent.method, evidenceRef: content.consent.evidenceRef }
        : null,
      policyVersion: content.policyVersion,
      retainUntil: addYears(content.recordedAt, RETENTION_YEARS)
    }))
}
