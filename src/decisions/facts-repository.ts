import { sql } from 'kysely'
import type { Queryable } from '../db/database.js'
import type { ConsentRow, ContractorRow, ContractRow, InspectionRow, RecipientRow, SuspensionRow } from '../db/tables.js'

export interface FactRows {
  readonly recipients: RecipientRow[]
  readonly contractors: ContractorRow[]
  readonly contracts: ContractRow[]
  /** The latest inspection of each contractor. */
  readonly inspections: InspectionRow[]
  readonly consents: ConsentRow[]
  readonly suspensions: SuspensionRow[]
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
 * Everything a set of decisions reads, in one statement (one round trip, one snapshot): the
 * recipients and contractors named, the contractors' contracts and latest inspections, and the
 * members' consents and suspensions. With `lock`, the recipient and contractor rows are
 * share-locked, so a deactivation cannot commit between this read and the caller's commit.
 */
export async function loadFactRows(
  db: Queryable,
  ids: { readonly recipientIds: readonly string[]; readonly contractorIds: readonly string[]; readonly memberIds: readonly string[] },
  lock: boolean
): Promise<FactRows> {
  const share = lock ? sql`FOR SHARE` : sql``
  const { rows: [result] } = await sql<Record<keyof FactRows, unknown>>`
    SELECT
      (SELECT json_agg(r) FROM (SELECT * FROM recipients WHERE id = ANY(${[...ids.recipientIds]}::uuid[]) ${share}) r) AS recipients,
      (SELECT json_agg(k) FROM (SELECT * FROM contractors WHERE id = ANY(${[...ids.contractorIds]}::uuid[]) ${share}) k) AS contractors,
      (SELECT json_agg(c ORDER BY c.valid_from, c.id) FROM contracts c WHERE c.contractor_id = ANY(${[...ids.contractorIds]}::uuid[])) AS contracts,
      (SELECT json_agg(i) FROM (
        SELECT DISTINCT ON (contractor_id) * FROM inspections WHERE contractor_id = ANY(${[...ids.contractorIds]}::uuid[])
        ORDER BY contractor_id, inspected_at DESC, created_at DESC) i) AS inspections,
      (SELECT json_agg(c ORDER BY c.created_at, c.id) FROM consents c WHERE c.member_id = ANY(${[...ids.memberIds]}::text[])) AS consents,
      (SELECT json_agg(s ORDER BY s.created_at, s.id) FROM suspensions s WHERE s.member_id = ANY(${[...ids.memberIds]}::text[])) AS suspensions
  `.execute(db)
  return {
    recipients: rows(result!.recipients),
    contractors: rows(result!.contractors),
    contracts: rows(result!.contracts),
    inspections: rows(result!.inspections),
    consents: rows(result!.consents),
    suspensions: rows(result!.suspensions)
  }
}
