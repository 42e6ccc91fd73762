import type { ColumnType, Generated, Insertable, Selectable } from 'kysely'

/** Timestamps come back as Date and go in as Date or RFC 3339 text. */
type Timestamp = ColumnType<Date, Date | string, Date | string>
type Json<T> = ColumnType<T, string, string>

export interface PolicyVersionsTable {
  version: string
  effective_from: Timestamp
  document: Json<unknown>
  document_hash: string
  recorded_at: Timestamp
}

export interface RecipientsTable {
  id: string
  category: string
  name: string
  address: string
  representative: string
  /** ISO 3166-1 alpha-2, upper case. */
  country: string
  active: boolean
  created_at: Timestamp
  updated_at: Timestamp
  /** { basis, lastCheckedAt } (APPI Art. 28(1), 28(3)); null: none recorded. */
  equivalent_measures: Json<EquivalentMeasuresJson | null> | null
  /** The recipient's own code, e.g. a bank's 金融機関コード; null: none recorded. */
  code: string | null
}

/** A recorded equivalent-measures system as stored. */
export interface EquivalentMeasuresJson {
  basis: string
  lastCheckedAt: string
}

export interface ContractorsTable {
  id: string
  name: string
  address: string
  created_at: Timestamp
  /** ISO 3166-1 alpha-2, upper case. */
  country: Generated<string>
  equivalent_measures: Json<EquivalentMeasuresJson | null> | null
}

/** A member co-op (the federation and JCCU are named by the policy document, not stored). */
export interface EntitiesTable {
  id: string
  kind: string
  name_ja: string
  name_en: string
  address: string | null
  representative: string | null
  corporate_number: string | null
  active: boolean
  created_at: Timestamp
  updated_at: Timestamp
}

export interface ContractsTable {
  id: string
  contractor_id: string
  reference: string
  signed_at: Timestamp
  valid_from: Timestamp
  valid_until: Timestamp
  purposes: Json<string[]>
  data_items: Json<string[]>
  created_at: Timestamp
}

export interface InspectionsTable {
  id: string
  contractor_id: string
  inspected_at: Timestamp
  result: string
  inspector: string
  notes: string | null
  created_at: Timestamp
}

export interface ConsentsTable {
  id: string
  member_id: string
  /** The legal person the member consented to provide. */
  provider_id: string
  /** null for a consent to entrustment to a contractor abroad. */
  recipient_category: string | null
  recipient_id: string | null
  contractor_id: string | null
  /** { country, system, measures } (PPC rule 17(2)); null: none given. */
  foreign_recipient: Json<{ country: string; system: string; measures: string } | null> | null
  data_items: Json<string[] | null> | null
  obtained_at: Timestamp
  method: string
  evidence_ref: string
  withdrawn_at: Timestamp | null
  withdrawal_reason: string | null
  created_at: Timestamp
  /** The policy version in force when the member gave the consent. */
  policy_version: string
}

export interface SuspensionsTable {
  id: string
  member_id: string
  /** The legal person the member asked; the stop applies to every provider all the same. */
  provider_id: string
  reason: string
  requested_at: Timestamp
  lifted_at: Timestamp | null
  created_at: Timestamp
  /** 'provision' or 'use' (APPI Art. 35). */
  scope: string
}

export interface ClientsTable {
  id: string
  name: string
  role: string
  /** The legal person whose system the client is: the provider of what it records (default: the federation). */
  entity_id: Generated<string>
  channels: Json<string[] | null> | null
  purposes: Json<string[] | null> | null
  token_hash: string
  created_at: Timestamp
  revoked_at: Timestamp | null
  /** Requests per minute; null: not throttled. */
  rate_limit: number | null
  /** The token is refused from this time on; null: it does not expire. */
  expires_at: Timestamp | null
}

export interface LedgerEntriesTable {
  position: Generated<number>
  id: string
  chain: number
  seq: number
  prev_hash: string
  hash: string
  recorded_at: Timestamp
  kind: string
  member_id: string
  client_id: string
  channel: string | null
  decision: string | null
  recipient_id: string | null
  contractor_id: string | null
  content: Json<Record<string, unknown>>
}

export interface LedgerHeadsTable {
  chain: number
  seq: number
  hash: string
}

export interface IdempotencyKeysTable {
  client_id: string
  key: string
  request_hash: string
  status_code: number
  response: Json<unknown>
  created_at: Timestamp
}

export interface Database {
  policy_versions: PolicyVersionsTable
  entities: EntitiesTable
  recipients: RecipientsTable
  contractors: ContractorsTable
  contracts: ContractsTable
  inspections: InspectionsTable
  consents: ConsentsTable
  suspensions: SuspensionsTable
  clients: ClientsTable
  ledger_entries: LedgerEntriesTable
  ledger_heads: LedgerHeadsTable
  idempotency_keys: IdempotencyKeysTable
}

export type RecipientRow = Selectable<RecipientsTable>
export type EntityRow = Selectable<EntitiesTable>
export type ContractorRow = Selectable<ContractorsTable>
export type ContractRow = Selectable<ContractsTable>
export type InspectionRow = Selectable<InspectionsTable>
export type ConsentRow = Selectable<ConsentsTable>
export type SuspensionRow = Selectable<SuspensionsTable>
export type ClientRow = Selectable<ClientsTable>
export type LedgerEntryRow = Selectable<LedgerEntriesTable>
export type NewLedgerEntry = Insertable<LedgerEntriesTable>
