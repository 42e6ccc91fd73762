import { EXAMPLE, EXAMPLE_CONSENT, EXAMPLE_CONTRACT, EXAMPLE_CONTRACTOR, EXAMPLE_INSPECTION, EXAMPLE_RECIPIENT } from './examples.js'
import { decide, type DecisionRequest, type Facts } from './policy/engine.js'
import { FEDERATION } from './policy/parties.js'
import { presentDecision, type Language } from './policy/presenter.js'
import { POLICY_VERSIONS } from './policy/registry.js'

// The example decisions sit below both the decision routes and the ledger's, whose examples show
// the entries those decisions make, so that neither folder imports the other.

type ExampleRequest = DecisionRequest

const JOINT_USE: ExampleRequest = {
  channel: 'joint_use',
  memberId: EXAMPLE.memberId,
  purpose: 'ordering',
  dataItems: ['name', 'address', 'phone'],
  jointUser: 'JCCU'
}
const ENTRUSTMENT: ExampleRequest = {
  channel: 'entrustment',
  memberId: EXAMPLE.memberId,
  purpose: 'delivery',
  serviceCategory: 'joint_purchasing',
  dataItems: ['name', 'address', 'phone'],
  contractorId: EXAMPLE.contractorId
}
const THIRD_PARTY: ExampleRequest = {
  channel: 'third_party',
  memberId: EXAMPLE.memberId,
  purpose: 'billing',
  serviceCategory: 'joint_purchasing',
  dataItems: ['name', 'bank_account', 'billing_amount'],
  recipientId: EXAMPLE.recipientId,
  method: 'electronic'
}
const STATUTORY_EXCEPTION: ExampleRequest = {
  channel: 'statutory_exception',
  memberId: EXAMPLE.memberId,
  purpose: 'billing',
  dataItems: ['name', 'address', 'billing_amount'],
  exception: {
    basis: 'legal_obligation',
    reference: '国税通則法第74条の2に基づく税務調査(2026年11月18日付 照会書 第118号)',
    approvedBy: '総務部 個人情報管理者 佐藤花子'
  }
}
export const SENSITIVE_EXAMPLE_REQUEST: ExampleRequest = { ...THIRD_PARTY, dataItems: ['name', 'bank_account', 'billing_amount', 'health_care'] }

/** The example requests, one per channel, for the examples of other routes (the ledger's). */
export const DECISION_EXAMPLE_REQUESTS = { joint_use: JOINT_USE, entrustment: ENTRUSTMENT, third_party: THIRD_PARTY, statutory_exception: STATUTORY_EXCEPTION }

/**
 * The world the example requests are decided in (src/examples.ts): the engine itself decides
 * them, so the response examples are exactly what the service answers for the request examples.
 */
const EXAMPLE_POLICY = POLICY_VERSIONS.find((p) => p.version === EXAMPLE.policyVersion)!
export const EXAMPLE_FACTS: Facts = {
  provider: FEDERATION,
  memberSeen: true,
  recipient: { id: EXAMPLE.recipientId, ...EXAMPLE_RECIPIENT, country: 'JP', active: true, equivalentMeasures: null },
  contractor: {
    id: EXAMPLE.contractorId,
    ...EXAMPLE_CONTRACTOR,
    country: 'JP',
    equivalentMeasures: null,
    contracts: [
      {
        id: EXAMPLE.contractId,
        reference: EXAMPLE_CONTRACT.reference,
        signedAt: new Date(EXAMPLE_CONTRACT.signedAt),
        validFrom: new Date(EXAMPLE_CONTRACT.validFrom),
        validUntil: new Date(EXAMPLE_CONTRACT.validUntil),
        purposes: [...EXAMPLE_CONTRACT.purposes],
        dataItems: [...EXAMPLE_CONTRACT.dataItems]
      }
    ],
    latestInspection: { id: EXAMPLE.inspectionId, inspectedAt: new Date(EXAMPLE_INSPECTION.inspectedAt), result: EXAMPLE_INSPECTION.result }
  },
  consents: [
    {
      id: EXAMPLE.consentId,
      providerId: FEDERATION.id,
      recipientCategory: EXAMPLE_CONSENT.recipientCategory,
      recipientId: null,
      contractorId: null,
      foreignRecipient: null,
      dataItems: null,
      obtainedAt: new Date(EXAMPLE_CONSENT.obtainedAt),
      method: EXAMPLE_CONSENT.method,
      withdrawnAt: null,
      policyVersion: EXAMPLE.policyVersion
    }
  ],
  suspensions: []
}

/** The decision of `request` in the example world, as the routes present it. */
export function decidedExample(request: ExampleRequest, language: Language = 'en', facts: Facts = EXAMPLE_FACTS) {
  return presentDecision(decide(request, EXAMPLE_POLICY, facts, new Date(EXAMPLE.decidedAt)), language)
}
