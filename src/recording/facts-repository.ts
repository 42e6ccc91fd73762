import { sql } from 'kysely'
import type { Queryable } from '../db/database.js'
import { preparedAs } from '../db/prepared-statements.js'
import type { ConsentRow, ContractorRow, ContractRow, EntityRow, InspectionRow, RecipientRow, SuspensionRow } from '../db/tables.js'

export interface FactRows {
  /** The registered member co-ops named (as providers or joint users). */
  readonly entities: EntityRow[]
  /** The members among those asked for that have at least one ledger entry. */
  readonly seen: string[]
  readonly recipients: RecipientRow[]
  readonly contractors: ContractorRow[]
  readonly contracts: ContractRow[]
  /** The latest inspection of each contractor. */
  readonly inspections: InspectionRow[]
  readonly consents: ConsentRow[]
  readonly suspensions: SuspensionRow[]
  /** Allowed decisions resting on the consents being withdrawn, from the earliest withdrawnAt on. */
  readonly transfers: TransferRow[]
}

/** An allowed decision entry that named a consent, as the ledger holds it. */
export interface TransferRow {
  readonly id: string
  readonly member_id: string
  readonly consent_id: string
  readonly hash: string
  readonly recorded_at: Date
  readonly recipient_id: string | null
  readonly purpose: string
  readonly data_items: string[]
}

/** Consents being withdrawn with effect from an earlier moment: whose transfers since then to read. */
export interface WithdrawalLookup {
  readonly memberIds: readonly string[]
  readonly consentIds: readonly string[]
  /** The earliest withdrawnAt among them; null when there is nothing to look up. */
  readonly since: Date | null
}

/** JSON carries timestamps as text; the row types (and their mappers) hold Dates. */
const TIMESTAMP_COLUMN = /(_at|^valid_from|^valid_until)$/

function rows<T>(json: unknown): T[] {
  const list = (typeof json === 'string' ? JSON.parse(json) : json) as Record<string, unknown>[] | null
  return (list ?? []).map((row) => {
    for (const [column, value] of Object.entries(row)) {
      if (typeof value === 'string' && TIMESTAMP_COLUMN.test(column)) row[column] = new Date(value)
    }
    return row as T
  })
}

/**
 * Everything a set of acts reads, in one statement (one round trip, one snapshot): the
 * recipients and contractors named, the contractors' contracts and latest inspections, the
 * members' consents and suspensions, and for backdated withdrawals the transfers allowed on
 * those consents since (so the group never asks once per act). With `lock`, the recipient and contractor rows are
 * share-locked, so a deactivation cannot commit between this read and the caller's commit.
 */
export async function loadFactRows(
  db: Queryable,
  ids: {
    readonly entityIds: readonly string[]
    readonly recipientIds: readonly string[]
    readonly contractorIds: readonly string[]
    readonly memberIds: readonly string[]
    /** Members whose having an entry is not known yet: the ledger is probed for these only. */
    readonly probeSeen: readonly string[]
  },
  lock: boolean,
  withdrawals: WithdrawalLookup = { memberIds: [], consentIds: [], since: null }
): Promise<FactRows> {
  const share = lock ? sql`FOR SHARE` : sql``
  const name = sql.raw(preparedAs(lock ? 'decision_facts_locked' : 'decision_facts'))
  const {
    rows: [result]
  } = await sql<Record<keyof FactRows, unknown>>`${name}
    SELECT
      (SELECT json_agg(n) FROM (SELECT * FROM entities WHERE id = ANY(${[...ids.entityIds]}::text[]) ${share}) n) AS entities,
      (SELECT json_agg(m) FROM unnest(${[...ids.probeSeen]}::text[]) m WHERE EXISTS (SELECT 1 FROM ledger_entries e WHERE e.member_id = m)) AS seen,
      (SELECT json_agg(r) FROM (SELECT * FROM recipients WHERE id = ANY(${[...ids.recipientIds]}::uuid[]) ${share}) r) AS recipients,
      (SELECT json_agg(k) FROM (SELECT * FROM contractors WHERE id = ANY(${[...ids.contractorIds]}::uuid[]) ${share}) k) AS contractors,
      (SELECT json_agg(c ORDER BY c.valid_from, c.id) FROM contracts c WHERE c.contractor_id = ANY(${[...ids.contractorIds]}::uuid[])) AS contracts,
      (SELECT json_agg(i) FROM (
        SELECT DISTINCT ON (contractor_id) * FROM inspections WHERE contractor_id = ANY(${[...ids.contractorIds]}::uuid[])
        ORDER BY contractor_id, inspected_at DESC, created_at DESC) i) AS inspections,
      (SELECT json_agg(c ORDER BY c.created_at, c.id) FROM consents c WHERE c.member_id = ANY(${[...ids.memberIds]}::text[])) AS consents,
      (SELECT json_agg(s ORDER BY s.created_at, s.id) FROM suspensions s WHERE s.member_id = ANY(${[...ids.memberIds]}::text[])) AS suspensions,
      (SELECT json_agg(t ORDER BY t.position) FROM (
        SELECT e.position, e.id, e.member_id, e.content->>'consentId' AS consent_id, e.hash, e.recorded_at, e.recipient_id,
               e.content->>'purpose' AS purpose, e.content->'dataItems' AS data_items
        FROM ledger_entries e
        WHERE e.member_id = ANY(${[...withdrawals.memberIds]}::text[]) AND e.kind = 'decision' AND e.decision = 'allow'
          AND e.content->>'consentId' = ANY(${[...withdrawals.consentIds]}::text[])
          AND e.recorded_at >= ${withdrawals.since?.toISOString() ?? null}::timestamptz) t) AS transfers
  `.execute(db)
  return {
    entities: rows(result!.entities),
    seen: (typeof result!.seen === 'string' ? (JSON.parse(result!.seen) as string[] | null) : (result!.seen as string[] | null)) ?? [],
    recipients: rows(result!.recipients),
    contractors: rows(result!.contractors),
    contracts: rows(result!.contracts),
    inspections: rows(result!.inspections),
    consents: rows(result!.consents),
    suspensions: rows(result!.suspensions),
    transfers: rows(result!.transfers)
  }
}
