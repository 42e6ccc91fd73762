import { POLICY_VERSIONS } from './policy/registry.js'

/**
 * The example world of the OpenAPI document: one member, one bank (a §II financial institution),
 * one contractor with a contract and a passed inspection, and the member's consent to provision
 * to banks. Every route's examples are drawn from it, so that they tell one story in /docs, and
 * test/docs/examples.test.ts registers it in a real app and sends every request example there.
 *
 * The ids are placeholders: they name nothing in a real database. The test registers the objects
 * and substitutes the ids they get.
 */
export const EXAMPLE = Object.freeze({
  memberId: 'M-000123',
  memberCoopId: '5d0c7a4e-3b8f-4a51-9a3e-2f6d1c9b7e10',
  recipientId: 'b55b62dc-2c21-49a4-9b94-881a36773c79',
  contractorId: 'bba7a76c-3590-4598-aff2-379bd397c6b1',
  consentId: 'c0ed24d6-505c-4295-9c9f-5b45000a5a6e',
  suspensionId: '604cff3f-03a3-4c60-97a7-f6f0f67d37e4',
  entryId: '4edc4608-dae3-4fc0-bd65-1f45f6609030',
  clientId: '6a4f481d-c056-4b12-8dd0-4777d91d3d3b',
  contractId: 'eec6478f-6086-4c85-b401-0e0f73bb04e9',
  inspectionId: '30d8325a-44f8-4b9d-a102-c076edb9b99f',
  receiptId: '3c6e0f4e-2316-4bb9-8375-70c08e8d837b',
  /** The X-Request-Id of an answer, which problems repeat as `instance`. */
  requestId: '7e778035-8122-405b-9b61-37bd94a97e62',
  hash: '964ec683dff48bd559e9917202d5d63b57788d5fccfeab706ba21d5be384e6c7',
  prevHash: '3b5408d3055eece874b0d86e1b84e3e7acc2c9d975d2edc900d969dd5c040756',
  /** When the example decisions are made and recorded. */
  decidedAt: '2026-11-25T10:15:30.123+09:00',
  recordedAt: '2026-11-25T01:15:30.123Z',
  /** When the example objects were registered. */
  createdAt: '2026-11-20T00:30:00.000Z',
  policyVersion: POLICY_VERSIONS[0]!.version
})

/** A ledger entry as answers refer to it (Decision.entry, Consent.entry, …). */
export const EXAMPLE_ENTRY = Object.freeze({ id: EXAMPLE.entryId, chain: 11, seq: 42, hash: EXAMPLE.hash, recordedAt: EXAMPLE.recordedAt })

/** POST /v1/recipients: the bank that debits the member's account. */
/** A member co-op as an admin registers it: nothing the registrar does not know is given. */
export const EXAMPLE_MEMBER_COOP = Object.freeze({ kind: 'member_coop' as const, name: { ja: '生活協同組合コープ自然派兵庫', en: 'Co-op Shizenha Hyogo' } })

export const EXAMPLE_RECIPIENT = Object.freeze({
  category: 'financial_institution',
  name: '自然派信用金庫',
  address: '大阪府大阪市北区梅田1-1-1',
  representative: '理事長 山田太郎'
} as const)

/** POST /v1/contractors: the delivery company the co-op entrusts. */
export const EXAMPLE_CONTRACTOR = Object.freeze({ name: '自然派ロジスティクス株式会社', address: '大阪府茨木市彩都あさぎ1-2-3' } as const)

/** POST /v1/contractors/{id}/contracts: what the contractor may handle, and for how long. */
export const EXAMPLE_CONTRACT = Object.freeze({
  reference: 'C-2026-014',
  signedAt: '2026-10-15T10:00:00+09:00',
  validFrom: '2026-11-01T00:00:00+09:00',
  validUntil: '2027-10-31T23:59:59+09:00',
  purposes: ['delivery'],
  dataItems: ['name', 'address', 'phone']
} as const)

/** POST /v1/contractors/{id}/inspections: the latest inspection, passed. */
export const EXAMPLE_INSPECTION = Object.freeze({
  inspectedAt: '2026-11-10T14:00:00+09:00',
  result: 'passed',
  inspector: '品質管理部 鈴木一郎',
  notes: '保管・廃棄手順と委託先社員の教育記録を確認'
} as const)

/** POST /v1/members/{memberId}/consents: the member's consent, on paper, to provision to banks. */
export const EXAMPLE_CONSENT = Object.freeze({
  recipientCategory: 'financial_institution',
  obtainedAt: '2026-11-19T14:00:00+09:00',
  method: 'paper',
  evidenceRef: 'form-2026-0001'
} as const)
