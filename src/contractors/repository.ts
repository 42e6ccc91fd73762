import { randomUUID } from 'node:crypto'
import type { Queryable } from '../db/database.js'
import type { ContractorRow, ContractRow, InspectionRow } from '../db/tables.js'
import { equivalentMeasuresOf, storedMeasures } from '../policy/abroad.js'
import type { ContractFacts, ContractorFacts, InspectionFacts } from '../policy/engine.js'
import { HOME_COUNTRY, type DataItem, type InspectionResult, type Purpose } from '../policy/vocabulary.js'
import type { Contract, Contractor, ContractorChanges, Inspection, NewContract, NewContractor, NewInspection } from './schemas.js'

const toContractor = (row: ContractorRow): Contractor => ({
  id: row.id,
  name: row.name,
  address: row.address,
  country: row.country,
  equivalentMeasures: storedMeasures(row.equivalent_measures),
  createdAt: row.created_at.toISOString()
})

const toContract = (row: ContractRow): Contract => ({
  id: row.id,
  contractorId: row.contractor_id,
  reference: row.reference,
  signedAt: row.signed_at.toISOString(),
  validFrom: row.valid_from.toISOString(),
  validUntil: row.valid_until.toISOString(),
  purposes: row.purposes as Purpose[],
  dataItems: row.data_items as DataItem[],
  createdAt: row.created_at.toISOString()
})

const toInspection = (row: InspectionRow): Inspection => ({
  id: row.id,
  contractorId: row.contractor_id,
  inspectedAt: row.inspected_at.toISOString(),
  result: row.result as InspectionResult,
  inspector: row.inspector,
  notes: row.notes,
  createdAt: row.created_at.toISOString()
})

export async function insertContractor(db: Queryable, contractor: NewContractor, now: Date): Promise<Contractor> {
  const row = await db
    .insertInto('contractors')
    .values({
      id: randomUUID(),
      name: contractor.name,
      address: contractor.address,
      country: contractor.country ?? HOME_COUNTRY,
      equivalent_measures: contractor.equivalentMeasures ? JSON.stringify(storedMeasures(contractor.equivalentMeasures)) : null,
      created_at: now
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  return toContractor(row)
}

/** Records a contractor's country or its equivalent-measures system (a new periodic check). */
export async function updateContractor(db: Queryable, id: string, changes: ContractorChanges): Promise<Contractor | undefined> {
  const row = await db
    .updateTable('contractors')
    .set({
      ...(changes.country === undefined ? {} : { country: changes.country }),
      ...(changes.equivalentMeasures === undefined
        ? {}
        : { equivalent_measures: changes.equivalentMeasures === null ? null : JSON.stringify(storedMeasures(changes.equivalentMeasures)) })
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst()
  return row && toContractor(row)
}

export async function listContractors(db: Queryable): Promise<Contractor[]> {
  const rows = await db.selectFrom('contractors').selectAll().orderBy('created_at').orderBy('id').execute()
  return rows.map(toContractor)
}

export async function findContractor(db: Queryable, id: string): Promise<Contractor | undefined> {
  const row = await db.selectFrom('contractors').selectAll().where('id', '=', id).executeTakeFirst()
  return row && toContractor(row)
}

export async function listContracts(db: Queryable, contractorId: string): Promise<Contract[]> {
  const rows = await db.selectFrom('contracts').selectAll().where('contractor_id', '=', contractorId).orderBy('valid_from').orderBy('id').execute()
  return rows.map(toContract)
}

export async function listInspections(db: Queryable, contractorId: string): Promise<Inspection[]> {
  const rows = await db
    .selectFrom('inspections')
    .selectAll()
    .where('contractor_id', '=', contractorId)
    .orderBy('inspected_at', 'desc')
    .orderBy('created_at', 'desc')
    .execute()
  return rows.map(toInspection)
}

export async function insertContract(db: Queryable, contractorId: string, contract: NewContract, now: Date): Promise<Contract> {
  const row = await db
    .insertInto('contracts')
    .values({
      id: randomUUID(),
      contractor_id: contractorId,
      reference: contract.reference,
      signed_at: contract.signedAt,
      valid_from: contract.validFrom,
      valid_until: contract.validUntil,
      purposes: JSON.stringify(contract.purposes),
      data_items: JSON.stringify(contract.dataItems),
      created_at: now
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  return toContract(row)
}

export async function insertInspection(db: Queryable, contractorId: string, inspection: NewInspection, now: Date): Promise<Inspection> {
  const row = await db
    .insertInto('inspections')
    .values({
      id: randomUUID(),
      contractor_id: contractorId,
      inspected_at: inspection.inspectedAt,
      result: inspection.result,
      inspector: inspection.inspector,
      notes: inspection.notes ?? null,
      created_at: now
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  return toInspection(row)
}

/** What the engine needs of a contractor: its contracts and its latest inspection. */
export function toContractorFacts(row: ContractorRow, contracts: readonly ContractRow[], latest: InspectionRow | undefined): ContractorFacts {
  return {
    id: row.id,
    name: row.name,
    address: row.address,
    country: row.country,
    equivalentMeasures: equivalentMeasuresOf(row.equivalent_measures),
    contracts: contracts
      .filter((c) => c.contractor_id === row.id)
      .map(toContract)
      .map((c): ContractFacts => ({
        id: c.id,
        reference: c.reference,
        signedAt: new Date(c.signedAt),
        validFrom: new Date(c.validFrom),
        validUntil: new Date(c.validUntil),
        purposes: c.purposes,
        dataItems: c.dataItems
      })),
    latestInspection: latest ? { id: latest.id, inspectedAt: latest.inspected_at, result: latest.result as InspectionFacts['result'] } : null
  }
}
