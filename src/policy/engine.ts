import { isAbroadForArt28, measuresCurrent, type EquivalentMeasures, type ForeignRecipientInformation } from './abroad.js'
import type { PolicyDocument, RecipientCategoryEntry } from './document.js'
import { lintPolicy } from './lint.js'
import { jointUserKinds, providerKinds, type EntityFacts } from './parties.js'
import { providerDetails, type ProviderDetails } from './provider.js'
import { REASONS, WARNINGS, type ReasonCode, type WarningCode } from './reasons.js'
import { POLICY_VERSIONS, policyVersion } from './registry.js'
import {
  type Channel,
  type ConsentMethod,
  type DataItem,
  type ExceptionBasis,
  type InspectionResult,
  type Method,
  type Purpose,
  type RecipientCategory,
  type ServiceCategory,
  type SuspensionScope
} from './vocabulary.js'

export interface DecisionRequest {
  readonly channel: Channel
  readonly memberId: string
  readonly purpose: Purpose
  /** Absent where the hand-off concerns no particular goods or service (governance, member activities). */
  readonly serviceCategory?: ServiceCategory | undefined
  readonly dataItems: DataItem[]
  readonly recipientId?: string
  readonly contractorId?: string
  readonly jointUser?: string
  /** The legal person that provides; absent: the calling client's own. */
  readonly providerId?: string
  readonly method?: Method
  readonly exception?: {
    readonly basis: ExceptionBasis
    readonly reference: string
    readonly approvedBy: string
    /** Why the person's consent could not be obtained; the law's condition for vital_interest. */
    readonly consentImpracticable?: string | undefined
  }
}

export interface RecipientFacts {
  readonly id: string
  readonly category: RecipientCategory
  readonly name: string
  readonly address: string
  readonly representative: string
  /** ISO 3166-1 alpha-2, upper case. */
  readonly country: string
  readonly active: boolean
  /** A recorded equivalent-measures system (Art. 28(1)); null: none. */
  readonly equivalentMeasures: EquivalentMeasures | null
}

export interface ContractFacts {
  readonly id: string
  readonly reference: string
  readonly signedAt: Date
  readonly validFrom: Date
  readonly validUntil: Date
  readonly purposes: Purpose[]
  readonly dataItems: DataItem[]
}

export interface InspectionFacts {
  readonly id: string
  readonly inspectedAt: Date
  readonly result: InspectionResult
}

export interface ContractorFacts {
  readonly id: string
  readonly name: string
  readonly address: string
  /** ISO 3166-1 alpha-2, upper case: an entrustment abroad is a provision abroad for Art. 28. */
  readonly country: string
  readonly equivalentMeasures: EquivalentMeasures | null
  readonly contracts: ContractFacts[]
  readonly latestInspection: InspectionFacts | null
}

export interface ConsentFacts {
  readonly id: string
  /** The legal person the member consented to provide: a consent permits that provider only. */
  readonly providerId: string
  /** null for a consent to entrustment to a contractor abroad (contractorId). */
  readonly recipientCategory: RecipientCategory | null
  readonly recipientId: string | null
  /** A consent to entrustment to this contractor abroad (Art. 28). */
  readonly contractorId: string | null
  /** The information the member was given on the recipient abroad (PPC rule 17(2)); null: none. */
  readonly foreignRecipient: ForeignRecipientInformation | null
  readonly dataItems: DataItem[] | null
  readonly obtainedAt: Date
  readonly method: ConsentMethod
  readonly withdrawnAt: Date | null
  /** The version in force when the member gave the consent: what a consent without an item list covers. */
  readonly policyVersion: string
}

/**
 * What the engine knows of the world at decision time. `undefined` recipient or contractor
 * means the channel does not need one; `null` means the id names no registered party.
 */
export interface Facts {
  /** The legal person that provides; null: the id names no active provider. */
  readonly provider: EntityFacts | null
  /** joint_use only: the joint user named; null: no such person. */
  readonly jointUser?: EntityFacts | null
  /** Whether anything (a consent, a suspension, an entry) was ever recorded for the member. */
  readonly memberSeen: boolean
  readonly recipient?: RecipientFacts | null
  readonly contractor?: ContractorFacts | null
  /** The member's consents (any state); only consulted for third-party provision. */
  readonly consents: ConsentFacts[]
  /** The scopes of the member's suspensions in effect (APPI Art. 35); empty when none is. */
  readonly suspensions: readonly SuspensionScope[]
}

export interface Reason {
  readonly code: ReasonCode
  readonly clause: string
  readonly law?: string
  /** The offending items, where the reason is about items. */
  readonly items?: DataItem[]
}

export type ObligationCode = 'items_limited_to' | 'keep_provision_record' | 'reinspect_by'
export const OBLIGATION_CODES: readonly ObligationCode[] = Object.freeze(['items_limited_to', 'keep_provision_record', 'reinspect_by'])

export interface Obligation {
  readonly code: ObligationCode
  readonly items?: DataItem[]
  /** RFC 3339 instant by which the obligation must be met. */
  readonly until?: string
  /** ISO 8601 duration for which a record must be kept. */
  readonly retention?: string
}

/** What the decision does not turn on but a data-protection officer should see (a gap in the notice, a doubtful member id). */
export interface Warning {
  readonly code: WarningCode
  readonly clause: string
  readonly article?: string
}

export interface Decision {
  readonly decision: 'allow' | 'deny'
  readonly reasons: Reason[]
  readonly obligations: Obligation[]
  readonly policyVersion: string
  /** The legal person that provides (or would have). */
  readonly providerId: string
  readonly warnings: Warning[]
  /** The consent that permitted a third-party provision. */
  readonly consentId?: string
  /** The contract that covered an entrustment. */
  readonly contractId?: string
  /** With an allowed third-party provision: what the recipient must confirm (APPI Art. 30). */
  readonly providerDetails?: ProviderDetails
}

const DAY_MS = 86_400_000

function reason(code: ReasonCode, items?: DataItem[]): Reason {
  const definition: { clause: string; law?: string } = REASONS[code]
  return {
    code,
    clause: definition.clause,
    ...(definition.law === undefined ? {} : { law: definition.law }),
    ...(items === undefined ? {} : { items })
  }
}

interface Verdict {
  readonly denials: Reason[]
  readonly grounds: Reason[]
  readonly obligations: Obligation[]
  consentId?: string
  contractId?: string
}

function covers(granted: DataItem[], requested: DataItem[]): boolean {
  return requested.every((item) => granted.includes(item))
}

function checkPurposeAnnounced(policy: PolicyDocument, request: DecisionRequest, verdict: Verdict): void {
  if (!policy.purposes.some((p) => p.id === request.purpose)) verdict.denials.push(reason('purpose_not_in_notice'))
}

/** Whether the joint user named is one of 2(2): an active person of a joint-user kind (by id in versions that state no kinds). */
function isJointUser(policy: PolicyDocument, request: DecisionRequest, facts: Facts): boolean {
  const kinds = jointUserKinds(policy)
  if (kinds.length === 0) return request.jointUser !== undefined && policy.jointUse.jointUsers.includes(request.jointUser)
  const jointUser = facts.jointUser
  return jointUser !== undefined && jointUser !== null && jointUser.active && kinds.includes(jointUser.kind)
}

function decideJointUse(policy: PolicyDocument, request: DecisionRequest, facts: Facts, verdict: Verdict): void {
  if (!isJointUser(policy, request, facts)) verdict.denials.push(reason('joint_user_unknown'))
  if (!policy.jointUse.purposes.includes(request.purpose)) verdict.denials.push(reason('purpose_not_in_notice'))
  verdict.grounds.push(reason('joint_use_announced'))
}

function decideEntrustment(policy: PolicyDocument, request: DecisionRequest, facts: Facts, now: Date, verdict: Verdict): void {
  checkPurposeAnnounced(policy, request, verdict)
  const contractor = facts.contractor
  if (!contractor) {
    verdict.denials.push(reason('contractor_unknown'))
    return
  }
  if (isAbroadForArt28(contractor.country)) checkEntrustmentAbroad(request, facts, contractor, now, verdict)
  const valid = contractor.contracts.filter((c) => c.validFrom <= now && now <= c.validUntil)
  // A contract binds the contractor from its signing; a validity period alone binds nobody.
  const inForce = valid.filter((c) => c.signedAt <= now)
  const covering = inForce.find((c) => c.purposes.includes(request.purpose) && covers(c.dataItems, request.dataItems))
  if (inForce.length === 0) {
    verdict.denials.push(reason(valid.length > 0 ? 'contract_not_signed' : 'contract_missing'))
  } else if (covering === undefined) {
    const forPurpose = inForce.filter((c) => c.purposes.includes(request.purpose))
    if (forPurpose.length === 0) verdict.denials.push(reason('contract_purpose_not_covered'))
    const candidates = forPurpose.length > 0 ? forPurpose : inForce
    if (!candidates.some((c) => covers(c.dataItems, request.dataItems))) {
      const uncovered = request.dataItems.filter((item) => !candidates.some((c) => c.dataItems.includes(item)))
      verdict.denials.push(reason('contract_items_not_covered', uncovered.length > 0 ? uncovered : request.dataItems))
    }
  } else {
    verdict.contractId = covering.id
    verdict.grounds.push(reason('contract_in_force'))
  }

  const inspection = contractor.latestInspection
  if (inspection === null) {
    verdict.denials.push(reason('inspection_missing'))
    return
  }
  const due = new Date(inspection.inspectedAt.getTime() + policy.contractorInspectionIntervalDays * DAY_MS)
  if (inspection.result !== 'passed') verdict.denials.push(reason('inspection_failed'))
  if (due < now) verdict.denials.push(reason('inspection_overdue'))
  if (inspection.result === 'passed' && due >= now) {
    verdict.grounds.push(reason('inspection_current'))
    verdict.obligations.push({ code: 'reinspect_by', until: due.toISOString() })
  }
}

/** The consents in effect at `now` that permit `provider`'s provision. */
function consentsInEffect(consents: readonly ConsentFacts[], provider: EntityFacts | null, now: Date): ConsentFacts[] {
  return consents.filter((c) => c.providerId === provider?.id && c.obtainedAt <= now && (c.withdrawnAt === null || c.withdrawnAt > now))
}

/**
 * Entrustment to a contractor abroad is a provision to a third party abroad (Art. 28(1)): it needs
 * the member's consent given with the foreign-recipient information (PPC rule 17(2)) or an
 * equivalent-measures system checked periodically (Art. 28(3)). Either way it is recorded (Art. 29).
 */
function checkEntrustmentAbroad(request: DecisionRequest, facts: Facts, contractor: ContractorFacts, now: Date, verdict: Verdict): void {
  const consent = consentsInEffect(facts.consents, facts.provider, now).find(
    (c) =>
      c.contractorId === contractor.id && c.foreignRecipient?.country === contractor.country && (c.dataItems === null || covers(c.dataItems, request.dataItems))
  )
  if (consent !== undefined) {
    verdict.consentId = consent.id
    verdict.grounds.push(reason('abroad_consent_on_record'))
  } else if (measuresCurrent(contractor.equivalentMeasures, now)) {
    verdict.grounds.push(reason('abroad_equivalent_measures'))
  } else {
    verdict.denials.push(reason('contractor_abroad'))
    return
  }
  verdict.obligations.push({ code: 'keep_provision_record', retention: KEEP_FOR })
}

/** Art. 29 records of a provision abroad are kept as long as any other (enforcement rule 21). */
const KEEP_FOR = 'P3Y'

function checkCategoryRules(category: RecipientCategoryEntry, request: DecisionRequest, verdict: Verdict): void {
  if (!category.purposes.includes(request.purpose)) verdict.denials.push(reason('purpose_not_allowed'))
  // A category bound to a kind of service (insurers, travel) needs the request to name that kind.
  if (category.serviceCategories !== null && (request.serviceCategory === undefined || !category.serviceCategories.includes(request.serviceCategory))) {
    verdict.denials.push(reason('service_category_not_allowed'))
  }
}

/**
 * The items a consent covers. One without its own list covers the necessary items of the
 * version in force when it was given, not those of a later version the member never saw; a
 * version this service does not know covers nothing, so the engine fails closed.
 */
function consentedItems(consent: ConsentFacts, policy: PolicyDocument, published: readonly PolicyDocument[]): DataItem[] {
  if (consent.dataItems !== null) return consent.dataItems
  const given = consent.policyVersion === policy.version ? policy : policyVersion(consent.policyVersion, published)
  return given?.recipientCategories.find((c) => c.id === consent.recipientCategory)?.necessaryItems ?? []
}

function findConsent(
  request: DecisionRequest,
  policy: PolicyDocument,
  published: readonly PolicyDocument[],
  facts: Facts,
  recipient: RecipientFacts,
  now: Date,
  verdict: Verdict
): void {
  const applicable = facts.consents.filter(
    (c) =>
      c.providerId === facts.provider?.id &&
      c.recipientCategory === recipient.category &&
      (c.recipientId === null || c.recipientId === recipient.id) &&
      c.obtainedAt <= now
  )
  const inEffect = applicable.filter((c) => c.withdrawnAt === null || c.withdrawnAt > now)
  const sufficient = inEffect.find((c) => covers(consentedItems(c, policy, published), request.dataItems))
  if (sufficient !== undefined) {
    verdict.consentId = sufficient.id
    verdict.grounds.push(reason('consent_on_record'))
  } else if (inEffect.length > 0) {
    verdict.denials.push(reason('consent_items_not_covered'))
  } else if (applicable.length > 0) {
    verdict.denials.push(reason('consent_withdrawn'))
  } else {
    verdict.denials.push(reason('consent_missing'))
  }
}

/**
 * A recipient abroad (outside Japan and the designated countries) needs, beside the consent to the
 * provision (when there is none, both are denied), that consent given with the foreign-recipient information (PPC rule 17(2)) or a
 * current equivalent-measures system (Art. 28(1), 28(3)).
 */
function checkProvisionAbroad(recipient: RecipientFacts, consent: ConsentFacts | undefined, now: Date, verdict: Verdict): void {
  if (consent !== undefined && consent.foreignRecipient?.country === recipient.country) verdict.grounds.push(reason('abroad_consent_on_record'))
  else if (measuresCurrent(recipient.equivalentMeasures, now)) verdict.grounds.push(reason('abroad_equivalent_measures'))
  else verdict.denials.push(reason('recipient_abroad'))
}

function decideThirdParty(
  policy: PolicyDocument,
  published: readonly PolicyDocument[],
  request: DecisionRequest,
  facts: Facts,
  now: Date,
  verdict: Verdict
): void {
  checkPurposeAnnounced(policy, request, verdict)
  const sensitive = request.dataItems.filter((item) => policy.dataItems.find((d) => d.id === item)?.sensitive !== false)
  if (sensitive.length > 0) verdict.denials.push(reason('sensitive_item', sensitive))
  if (request.method === undefined || !policy.methods.some((m) => m.id === request.method)) {
    verdict.denials.push(reason('method_not_allowed'))
  }
  if (facts.suspensions.includes('provision')) verdict.denials.push(reason('provision_suspended'))

  const recipient = facts.recipient
  if (!recipient) {
    verdict.denials.push(reason('recipient_unknown'))
    return
  }
  if (!recipient.active) verdict.denials.push(reason('recipient_inactive'))
  const category = policy.recipientCategories.find((c) => c.id === recipient.category)
  if (category === undefined) {
    verdict.denials.push(reason('recipient_unknown'))
    return
  }
  checkCategoryRules(category, request, verdict)
  const unnecessary = request.dataItems.filter((item) => !sensitive.includes(item) && !category.necessaryItems.includes(item))
  if (unnecessary.length > 0) verdict.denials.push(reason('items_not_necessary', unnecessary))
  findConsent(request, policy, published, facts, recipient, now, verdict)
  if (isAbroadForArt28(recipient.country)) {
    checkProvisionAbroad(
      recipient,
      facts.consents.find((c) => c.id === verdict.consentId),
      now,
      verdict
    )
  }
  verdict.obligations.push({ code: 'keep_provision_record', retention: policy.provisionRecordRetention })
}

function decideStatutoryException(policy: PolicyDocument, request: DecisionRequest, verdict: Verdict): void {
  const exception = policy.exceptions.find((e) => e.basis === request.exception?.basis)
  if (exception === undefined || !request.exception?.reference || !request.exception.approvedBy) {
    // Unreachable through the HTTP schema; kept so that the engine alone still fails closed.
    verdict.denials.push(reason('legal_obligation'))
    return
  }
  // Art. 27(1)(ii) allows provision to protect life, body or property only when consent is hard
  // to obtain; 2(5)b does not say so, but the law decides, and a reason must be on record.
  if (exception.basis === 'vital_interest' && !request.exception.consentImpracticable?.trim()) {
    verdict.denials.push(reason('consent_impracticability_missing'))
    return
  }
  verdict.grounds.push(reason(exception.basis))
}

/**
 * Decides whether a hand-off is allowed under `policy` at `now`. Pure: no I/O, no clock.
 * Default deny: an allow needs a ground and no violation; a deny lists every violated rule.
 * @param published every published version, for what a consent given under an earlier one means.
 */
export function decide(
  request: DecisionRequest,
  policy: PolicyDocument,
  facts: Facts,
  now: Date,
  published: readonly PolicyDocument[] = POLICY_VERSIONS
): Decision {
  const verdict: Verdict = { denials: [], grounds: [], obligations: [] }
  checkProvider(policy, facts, verdict)
  // A stop of use (Art. 35) halts every channel but what a law or a life requires.
  if (request.channel !== 'statutory_exception' && facts.suspensions.includes('use')) verdict.denials.push(reason('use_suspended'))
  switch (request.channel) {
    case 'joint_use':
      decideJointUse(policy, request, facts, verdict)
      break
    case 'entrustment':
      decideEntrustment(policy, request, facts, now, verdict)
      break
    case 'third_party':
      decideThirdParty(policy, published, request, facts, now, verdict)
      break
    case 'statutory_exception':
      decideStatutoryException(policy, request, verdict)
      break
  }
  const allowed = verdict.denials.length === 0 && verdict.grounds.length > 0
  const providerId = facts.provider?.id ?? request.providerId ?? ''
  const warnings = warningsOf(policy, request, facts, allowed)
  if (!allowed) {
    return { decision: 'deny', reasons: dedupe(verdict.denials), obligations: [], policyVersion: policy.version, providerId, warnings }
  }
  // The recipient abroad, or the contractor abroad, is told who provides as any recipient is (Art. 30).
  const provides = request.channel === 'third_party' || verdict.obligations.some((o) => o.code === 'keep_provision_record')
  return {
    decision: 'allow',
    reasons: verdict.grounds,
    obligations: [{ code: 'items_limited_to', items: [...request.dataItems] }, ...verdict.obligations],
    policyVersion: policy.version,
    providerId,
    warnings,
    ...(verdict.consentId === undefined ? {} : { consentId: verdict.consentId }),
    ...(verdict.contractId === undefined ? {} : { contractId: verdict.contractId }),
    ...(provides && facts.provider ? { providerDetails: providerDetails(policy, facts.provider) } : {})
  }
}

/** The provider must be a legal person responsible for management under 2(2): the federation or an active member co-op. */
function checkProvider(policy: PolicyDocument, facts: Facts, verdict: Verdict): void {
  const kinds = providerKinds(policy)
  const provider = facts.provider
  if (provider === null || !provider.active || (kinds.length > 0 && !kinds.includes(provider.kind))) verdict.denials.push(reason('provider_unknown'))
}

/**
 * A joint-use allow carries what Art. 27(5)(iii) asks the notice to state and it does not, so the
 * gap is seen on every decision that rests on it; any decision on a member never seen says so.
 */
function warningsOf(policy: PolicyDocument, request: DecisionRequest, facts: Facts, allowed: boolean): Warning[] {
  const warnings: Warning[] = []
  if (allowed && request.channel === 'joint_use') {
    for (const gap of lintPolicy(policy)) {
      if (gap.clause === policy.jointUse.clause) warnings.push({ code: gap.code, clause: gap.clause, article: gap.article })
    }
  }
  if (!facts.memberSeen) warnings.push({ code: 'member_unseen', clause: WARNINGS.member_unseen.clause })
  return warnings
}

function dedupe(reasons: Reason[]): Reason[] {
  const seen = new Set<string>()
  return reasons.filter((r) => (seen.has(r.code) ? false : (seen.add(r.code), true)))
}

/** The decision given when the calling system asks outside the channels or purposes it was granted. */
export function denyOutsideClientScope(policy: PolicyDocument, providerId: string): Decision {
  return { decision: 'deny', reasons: [reason('client_scope')], obligations: [], policyVersion: policy.version, providerId, warnings: [] }
}
