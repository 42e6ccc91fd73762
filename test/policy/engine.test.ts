/**
 * Table-driven tests of the pure decision engine `decide(request, policy, facts, now)`.
 *
 * Every row names the request, the facts and the instant, and the decision expected under the
 * first published notice: allow or deny, the exact set of reason codes with the clause each one
 * cites (and the offending items where the reason is about items), and, for an allow, the exact
 * obligations and the consent or contract that permitted it. The expectations follow
 * shared/contract.md and shared/policy/privacy-notice.md, not the engine's code.
 */
import t, { type Test } from 'tap'
import { deepFreeze, type PolicyDocument } from '../../src/policy/document.js'
import {
  decide,
  denyOutsideClientScope,
  type ConsentFacts,
  type ContractFacts,
  type ContractorFacts,
  type Decision,
  type DecisionRequest,
  type Facts,
  type InspectionFacts,
  type Obligation,
  type RecipientFacts
} from '../../src/policy/engine.js'
import { noticeV1 } from '../../src/policy/notice-v1.js'
import { noticeV2 } from '../../src/policy/notice-v2.js'
import { noticeV3, noticeV4 } from '../../src/policy/notice-v3.js'
import { FEDERATION, type EntityFacts } from '../../src/policy/parties.js'
import { providerDetails } from '../../src/policy/provider.js'
import { POLICY_VERSIONS, policyInForce } from '../../src/policy/registry.js'
import { REASON_CODES, REASONS, type ReasonCode } from '../../src/policy/reasons.js'
import {
  DATA_ITEMS,
  PURPOSES,
  SERVICE_CATEGORIES,
  type DataItem,
  type ExceptionBasis,
  type Method,
  type Purpose,
  type RecipientCategory,
  type ServiceCategory,
  type SuspensionScope
} from '../../src/policy/vocabulary.js'

// ---------------------------------------------------------------------------------------------
// Time

const NOW = new Date('2026-11-25T00:00:00Z')
const DAY_MS = 86_400_000
const INTERVAL_DAYS = 365
const daysAgo = (days: number, extraMs = 0): Date => new Date(NOW.getTime() - days * DAY_MS - extraMs)
const daysAhead = (days: number): Date => new Date(NOW.getTime() + days * DAY_MS)
const msAgo = (ms: number): Date => new Date(NOW.getTime() - ms)
const msAhead = (ms: number): Date => new Date(NOW.getTime() + ms)
const plusInterval = (d: Date): string => new Date(d.getTime() + INTERVAL_DAYS * DAY_MS).toISOString()

// ---------------------------------------------------------------------------------------------
// The §II table of contract.md, written out here so that a change to the policy data shows up.

interface CategoryRule {
  readonly purpose: Purpose
  /** `null`: any service category. */
  readonly serviceCategory: ServiceCategory | null
  readonly necessaryItems: DataItem[]
}

const SECTION_II: Record<RecipientCategory, CategoryRule> = {
  insurer: {
    purpose: 'brokerage',
    serviceCategory: 'mutual_aid_insurance',
    necessaryItems: ['name', 'name_kana', 'address', 'phone', 'date_of_birth', 'member_number', 'insurance_application']
  },
  travel_provider: {
    purpose: 'brokerage',
    serviceCategory: 'travel',
    necessaryItems: ['name', 'name_kana', 'address', 'phone', 'date_of_birth', 'travel_booking']
  },
  financial_institution: {
    purpose: 'billing',
    serviceCategory: null,
    necessaryItems: ['name', 'name_kana', 'member_number', 'bank_account', 'billing_amount']
  },
  credit_company: {
    purpose: 'billing',
    serviceCategory: null,
    necessaryItems: ['name', 'name_kana', 'address', 'phone', 'date_of_birth', 'credit_card', 'billing_amount']
  },
  member_activity: {
    purpose: 'member_activities',
    serviceCategory: null,
    necessaryItems: ['name', 'address', 'phone', 'activity_participation']
  }
}
const CATEGORIES = Object.keys(SECTION_II) as RecipientCategory[]

// ---------------------------------------------------------------------------------------------
// Request builders

const MEMBER = 'M-000123'

/** `jointUser: null` leaves the field out. */
function jointUse(purpose: Purpose, dataItems: DataItem[], jointUser: string | null = 'JCCU'): DecisionRequest {
  return {
    channel: 'joint_use',
    memberId: MEMBER,
    purpose,
    serviceCategory: 'joint_purchasing',
    dataItems,
    ...(jointUser === null ? {} : { jointUser })
  }
}

function entrust(overrides: Partial<DecisionRequest> = {}): DecisionRequest {
  return {
    channel: 'entrustment',
    memberId: MEMBER,
    purpose: 'delivery',
    serviceCategory: 'joint_purchasing',
    dataItems: ['name', 'address', 'phone'],
    contractorId: 'K-1',
    ...overrides
  }
}

/** A third-party request that, by default, fits its category exactly. */
function provide(category: RecipientCategory, overrides: Partial<DecisionRequest> = {}): DecisionRequest {
  const rule = SECTION_II[category]
  return {
    channel: 'third_party',
    memberId: MEMBER,
    purpose: rule.purpose,
    serviceCategory: rule.serviceCategory ?? 'joint_purchasing',
    dataItems: [...rule.necessaryItems],
    recipientId: recipientId(category),
    method: 'electronic',
    ...overrides
  }
}

/** `consentImpracticable: null` leaves it out; by default a vital_interest request gives one (APPI Art. 27(1)(ii)). */
function statutory(
  basis: ExceptionBasis,
  dataItems: DataItem[],
  consentImpracticable: string | null = basis === 'vital_interest' ? IMPRACTICABLE : null
): DecisionRequest {
  return {
    channel: 'statutory_exception',
    memberId: MEMBER,
    purpose: 'urgent_contact',
    serviceCategory: 'joint_purchasing',
    dataItems,
    exception: {
      basis,
      reference: 'Police Act 2(1) request no. 42',
      approvedBy: 'Dept. manager Sato',
      ...(consentImpracticable === null ? {} : { consentImpracticable })
    }
  }
}

const IMPRACTICABLE = 'The member is unconscious in hospital and has no one to consent for them.'

// ---------------------------------------------------------------------------------------------
// Facts builders

/** What every decision knows: the provider (the federation unless a row says otherwise) and whether the member was seen. */
const BASE_FACTS = { provider: FEDERATION, memberSeen: true } as const

const noFacts = (): Facts => ({ ...BASE_FACTS, consents: [], suspensions: [] })

/** A registered member co-op, the shape the registry gives the engine. */
const MEMBER_COOP: EntityFacts = {
  id: '5d0c7a4e-3b8f-4a51-9a3e-2f6d1c9b7e10',
  kind: 'member_coop',
  name: { ja: '生活協同組合コープ自然派兵庫', en: 'Co-op Shizenha Hyogo' },
  address: null,
  representative: null,
  corporateNumber: null,
  active: true
}

function contract(overrides: Partial<ContractFacts> = {}): ContractFacts {
  return {
    id: 'C-1',
    reference: 'OUT-2026-001',
    signedAt: new Date('2025-12-15T00:00:00Z'),
    validFrom: new Date('2026-01-01T00:00:00Z'),
    validUntil: new Date('2027-12-31T23:59:59Z'),
    purposes: ['delivery', 'billing'],
    dataItems: ['name', 'address', 'phone', 'order_history'],
    ...overrides
  }
}

function inspection(inspectedAt: Date, result: 'passed' | 'failed' = 'passed'): InspectionFacts {
  return { id: 'I-1', inspectedAt, result }
}

const RECENT_INSPECTION_AT = daysAgo(100)

function contractor(overrides: Partial<ContractorFacts> = {}): ContractorFacts {
  return {
    id: 'K-1',
    name: 'Kansai Logistics',
    address: 'Osaka',
    country: 'JP',
    equivalentMeasures: null,
    contracts: [contract()],
    latestInspection: inspection(RECENT_INSPECTION_AT),
    ...overrides
  }
}

const entrustFacts = (c: ContractorFacts | null = contractor(), suspensions: SuspensionScope[] = [], consents: ConsentFacts[] = []): Facts => ({
  ...BASE_FACTS,
  contractor: c,
  consents,
  suspensions
})

const recipientId = (category: RecipientCategory): string => `R-${category}`

function recipient(category: RecipientCategory, overrides: Partial<RecipientFacts> = {}): RecipientFacts {
  return {
    id: recipientId(category),
    category,
    name: `${category} Co., Ltd.`,
    address: 'Kobe',
    representative: 'Tanaka',
    country: 'JP',
    active: true,
    equivalentMeasures: null,
    ...overrides
  }
}

function consent(category: RecipientCategory, overrides: Partial<ConsentFacts> = {}): ConsentFacts {
  return {
    id: `CS-${category}`,
    providerId: FEDERATION.id,
    recipientCategory: category,
    recipientId: null,
    contractorId: null,
    foreignRecipient: null,
    dataItems: null,
    obtainedAt: daysAgo(30),
    method: 'web',
    withdrawnAt: null,
    policyVersion: noticeV1.version,
    ...overrides
  }
}

/** Third-party facts: by default the recipient is registered and active, a category-wide consent is on record. */
function provideFacts(
  category: RecipientCategory,
  overrides: { recipient?: RecipientFacts | null; consents?: ConsentFacts[]; suspensions?: SuspensionScope[] } = {}
): Facts {
  return {
    ...BASE_FACTS,
    recipient: overrides.recipient === undefined ? recipient(category) : overrides.recipient,
    consents: overrides.consents ?? [consent(category)],
    suspensions: overrides.suspensions ?? []
  }
}

// ---------------------------------------------------------------------------------------------
// Expectations

interface ExpectedReason {
  readonly code: ReasonCode
  readonly clause: string
  readonly items?: DataItem[]
}

const r = (code: ReasonCode, clause: string, items?: DataItem[]): ExpectedReason => (items === undefined ? { code, clause } : { code, clause, items })

interface Expected {
  readonly decision: 'allow' | 'deny'
  readonly reasons: ExpectedReason[]
  /** Exact obligations of an allow (order does not matter). */
  readonly obligations?: Obligation[]
  readonly consentId?: string
  readonly contractId?: string
}

interface Case {
  readonly name: string
  /** The version deciding the row; the table's (noticeV1 unless said) when absent. */
  readonly policy?: PolicyDocument
  readonly request: DecisionRequest
  readonly facts: Facts
  readonly now: Date
  readonly expected: Expected
}

const deny = (...reasons: ExpectedReason[]): Expected => ({ decision: 'deny', reasons })

const itemsLimitedTo = (items: DataItem[]): Obligation => ({ code: 'items_limited_to', items })
const keepRecord: Obligation = { code: 'keep_provision_record', retention: 'P3Y' }
const reinspectBy = (inspectedAt: Date): Obligation => ({ code: 'reinspect_by', until: plusInterval(inspectedAt) })

function allowThirdParty(items: DataItem[], consentId: string): Expected {
  return {
    decision: 'allow',
    reasons: [r('consent_on_record', '2(5)')],
    obligations: [itemsLimitedTo(items), keepRecord],
    consentId
  }
}

function allowEntrustment(items: DataItem[], contractId: string, inspectedAt: Date): Expected {
  return {
    decision: 'allow',
    reasons: [r('contract_in_force', '2(4)'), r('inspection_current', '2(4)')],
    obligations: [itemsLimitedTo(items), reinspectBy(inspectedAt)],
    contractId
  }
}

// ---------------------------------------------------------------------------------------------
// Joint use (2(2))

const ALL_ITEMS: DataItem[] = [...DATA_ITEMS]

const jointUseCases: Case[] = [
  ...PURPOSES.map((purpose): Case => ({
    name: `JCCU, ${purpose}, every item incl. health_care`,
    request: jointUse(purpose, [...ALL_ITEMS]),
    facts: noFacts(),
    now: NOW,
    expected: { decision: 'allow', reasons: [r('joint_use_announced', '2(2)')], obligations: [itemsLimitedTo([...ALL_ITEMS])] }
  })),
  {
    name: 'JCCU, health_care alone',
    request: jointUse('welfare_procedures', ['health_care']),
    facts: noFacts(),
    now: NOW,
    expected: { decision: 'allow', reasons: [r('joint_use_announced', '2(2)')], obligations: [itemsLimitedTo(['health_care'])] }
  },
  {
    name: 'JCCU, with a suspension and no consent on record (joint use needs neither)',
    request: jointUse('billing', ['name', 'bank_account']),
    facts: { ...BASE_FACTS, consents: [], suspensions: ['provision'] },
    now: NOW,
    expected: { decision: 'allow', reasons: [r('joint_use_announced', '2(2)')], obligations: [itemsLimitedTo(['name', 'bank_account'])] }
  },
  {
    name: 'another joint user',
    request: jointUse('ordering', ['name', 'address'], 'Zenrosai'),
    facts: noFacts(),
    now: NOW,
    expected: deny(r('joint_user_unknown', '2(2)'))
  },
  {
    name: 'joint user spelled in lower case is not JCCU',
    request: jointUse('ordering', ['name'], 'jccu'),
    facts: noFacts(),
    now: NOW,
    expected: deny(r('joint_user_unknown', '2(2)'))
  },
  {
    name: 'no joint user named',
    request: jointUse('ordering', ['name'], null),
    facts: noFacts(),
    now: NOW,
    expected: deny(r('joint_user_unknown', '2(2)'))
  }
]

// ---------------------------------------------------------------------------------------------
// Entrustment (2(3), 2(4))

const DEFAULT_ENTRUST_ITEMS: DataItem[] = ['name', 'address', 'phone']

const entrustmentCases: Case[] = [
  {
    name: 'contract in force covers purpose and items, inspection passed 100 days ago',
    request: entrust(),
    facts: entrustFacts(),
    now: NOW,
    expected: allowEntrustment(DEFAULT_ENTRUST_ITEMS, 'C-1', RECENT_INSPECTION_AT)
  },
  {
    name: 'contract lists sensitive health_care: entrustment covers what its contract lists',
    request: entrust({ purpose: 'welfare_procedures', serviceCategory: 'welfare', dataItems: ['name', 'health_care'] }),
    facts: entrustFacts(
      contractor({ contracts: [contract({ id: 'C-care', purposes: ['welfare_procedures'], dataItems: ['name', 'address', 'health_care'] })] })
    ),
    now: NOW,
    expected: allowEntrustment(['name', 'health_care'], 'C-care', RECENT_INSPECTION_AT)
  },
  {
    name: 'the covering contract in force is chosen over an expired one',
    request: entrust(),
    facts: entrustFacts(
      contractor({
        contracts: [
          contract({ id: 'C-old', validFrom: new Date('2024-01-01T00:00:00Z'), validUntil: new Date('2025-12-31T23:59:59Z') }),
          contract({ id: 'C-new' })
        ]
      })
    ),
    now: NOW,
    expected: allowEntrustment(DEFAULT_ENTRUST_ITEMS, 'C-new', RECENT_INSPECTION_AT)
  },
  {
    name: 'contract becoming valid exactly now is in force',
    request: entrust(),
    facts: entrustFacts(contractor({ contracts: [contract({ validFrom: NOW })] })),
    now: NOW,
    expected: allowEntrustment(DEFAULT_ENTRUST_ITEMS, 'C-1', RECENT_INSPECTION_AT)
  },
  {
    name: 'inspection exactly 365 days ago is still current',
    request: entrust(),
    facts: entrustFacts(contractor({ latestInspection: inspection(daysAgo(365)) })),
    now: NOW,
    expected: allowEntrustment(DEFAULT_ENTRUST_ITEMS, 'C-1', daysAgo(365))
  },
  {
    name: 'unknown contractor',
    request: entrust({ contractorId: 'K-404' }),
    facts: entrustFacts(null),
    now: NOW,
    expected: deny(r('contractor_unknown', '2(3)'))
  },
  {
    name: 'contractor without any contract',
    request: entrust(),
    facts: entrustFacts(contractor({ contracts: [] })),
    now: NOW,
    expected: deny(r('contract_missing', '2(4)'))
  },
  {
    name: 'contract expired',
    request: entrust(),
    facts: entrustFacts(contractor({ contracts: [contract({ validUntil: daysAgo(1) })] })),
    now: NOW,
    expected: deny(r('contract_missing', '2(4)'))
  },
  {
    name: 'contract expired one millisecond ago',
    request: entrust(),
    facts: entrustFacts(contractor({ contracts: [contract({ validUntil: msAgo(1) })] })),
    now: NOW,
    expected: deny(r('contract_missing', '2(4)'))
  },
  {
    name: 'contract not yet valid',
    request: entrust(),
    facts: entrustFacts(contractor({ contracts: [contract({ validFrom: daysAhead(10), validUntil: daysAhead(400) })] })),
    now: NOW,
    expected: deny(r('contract_missing', '2(4)'))
  },
  {
    name: 'contract in force does not cover the purpose',
    request: entrust({ purpose: 'survey' }),
    facts: entrustFacts(),
    now: NOW,
    expected: deny(r('contract_purpose_not_covered', '2(4)'))
  },
  {
    name: 'contract in force does not cover some items',
    request: entrust({ dataItems: ['name', 'email', 'address', 'bank_account'] }),
    facts: entrustFacts(),
    now: NOW,
    expected: deny(r('contract_items_not_covered', '2(4)', ['email', 'bank_account']))
  },
  {
    name: 'contract in force does not cover sensitive health_care',
    request: entrust({ dataItems: ['name', 'health_care'] }),
    facts: entrustFacts(),
    now: NOW,
    expected: deny(r('contract_items_not_covered', '2(4)', ['health_care']))
  },
  {
    name: 'contract covers neither purpose nor items',
    request: entrust({ purpose: 'survey', dataItems: ['name', 'email'] }),
    facts: entrustFacts(),
    now: NOW,
    expected: deny(r('contract_purpose_not_covered', '2(4)'), r('contract_items_not_covered', '2(4)', ['email']))
  },
  {
    name: 'one contract covers the purpose, another the items: neither covers both',
    request: entrust({ dataItems: ['name', 'email'] }),
    facts: entrustFacts(
      contractor({
        contracts: [
          contract({ id: 'C-purpose', purposes: ['delivery'], dataItems: ['name'] }),
          contract({ id: 'C-items', purposes: ['survey'], dataItems: ['name', 'email'] })
        ]
      })
    ),
    now: NOW,
    expected: deny(r('contract_items_not_covered', '2(4)', ['email']))
  },
  {
    name: 'never inspected',
    request: entrust(),
    facts: entrustFacts(contractor({ latestInspection: null })),
    now: NOW,
    expected: deny(r('inspection_missing', '2(4)'))
  },
  {
    name: 'latest inspection failed',
    request: entrust(),
    facts: entrustFacts(contractor({ latestInspection: inspection(daysAgo(10), 'failed') })),
    now: NOW,
    expected: deny(r('inspection_failed', '2(4)'))
  },
  {
    name: 'latest inspection passed 366 days ago',
    request: entrust(),
    facts: entrustFacts(contractor({ latestInspection: inspection(daysAgo(366)) })),
    now: NOW,
    expected: deny(r('inspection_overdue', '2(4)'))
  },
  {
    name: 'latest inspection passed 365 days and 1 ms ago',
    request: entrust(),
    facts: entrustFacts(contractor({ latestInspection: inspection(daysAgo(365, 1)) })),
    now: NOW,
    expected: deny(r('inspection_overdue', '2(4)'))
  },
  {
    name: 'latest inspection failed and is overdue',
    request: entrust(),
    facts: entrustFacts(contractor({ latestInspection: inspection(daysAgo(400), 'failed') })),
    now: NOW,
    expected: deny(r('inspection_failed', '2(4)'), r('inspection_overdue', '2(4)'))
  },
  {
    name: 'several failures: contract expired and never inspected',
    request: entrust(),
    facts: entrustFacts(contractor({ contracts: [contract({ validUntil: daysAgo(1) })], latestInspection: null })),
    now: NOW,
    expected: deny(r('contract_missing', '2(4)'), r('inspection_missing', '2(4)'))
  },
  {
    name: 'several failures: purpose and items not covered, inspection failed and overdue',
    request: entrust({ purpose: 'survey', dataItems: ['name', 'household'] }),
    facts: entrustFacts(contractor({ latestInspection: inspection(daysAgo(500), 'failed') })),
    now: NOW,
    expected: deny(
      r('contract_purpose_not_covered', '2(4)'),
      r('contract_items_not_covered', '2(4)', ['household']),
      r('inspection_failed', '2(4)'),
      r('inspection_overdue', '2(4)')
    )
  }
]

// ---------------------------------------------------------------------------------------------
// Third-party provision (§II with 2(5))

/** Purposes each category may not use (every other purpose of §I). */
const otherPurposes = (category: RecipientCategory): Purpose[] => PURPOSES.filter((p) => p !== SECTION_II[category].purpose)

const thirdPartyAllowCases: Case[] = CATEGORIES.flatMap((category): Case[] => {
  const rule = SECTION_II[category]
  const serviceCategories: ServiceCategory[] = rule.serviceCategory === null ? [...SERVICE_CATEGORIES] : [rule.serviceCategory]
  return serviceCategories.map((serviceCategory): Case => ({
    name: `${category}: ${rule.purpose} / ${serviceCategory}, exactly the necessary items, consent on record`,
    request: provide(category, { serviceCategory }),
    facts: provideFacts(category),
    now: NOW,
    expected: allowThirdParty([...rule.necessaryItems], `CS-${category}`)
  }))
})

const thirdPartyCategoryRuleCases: Case[] = [
  // One purpose outside the category's own for each category (the first and last others), and
  // every other purpose for the insurer.
  ...CATEGORIES.flatMap((category) => {
    const others = otherPurposes(category)
    const picks = category === 'insurer' ? others : [others[0]!, others[others.length - 1]!]
    return picks.map((purpose): Case => ({
      name: `${category}: purpose ${purpose} is not its own`,
      request: provide(category, { purpose }),
      facts: provideFacts(category),
      now: NOW,
      expected: deny(r('purpose_not_allowed', 'II'))
    }))
  }),
  // Every other service category for the two categories tied to one.
  ...(['insurer', 'travel_provider'] as const).flatMap((category) =>
    SERVICE_CATEGORIES.filter((s) => s !== SECTION_II[category].serviceCategory).map((serviceCategory): Case => ({
      name: `${category}: service category ${serviceCategory} is not its own`,
      request: provide(category, { serviceCategory }),
      facts: provideFacts(category),
      now: NOW,
      expected: deny(r('service_category_not_allowed', 'II'))
    }))
  ),
  {
    name: 'insurer: a subset of the necessary items is allowed',
    request: provide('insurer', { dataItems: ['name', 'address', 'insurance_application'] }),
    facts: provideFacts('insurer'),
    now: NOW,
    expected: allowThirdParty(['name', 'address', 'insurance_application'], 'CS-insurer')
  },
  // Items beyond the necessary ones are also beyond a consent without its own list, which
  // covers the necessary items of its version and nothing else.
  {
    name: 'insurer: bank_account is not a necessary item',
    request: provide('insurer', { dataItems: ['name', 'bank_account'] }),
    facts: provideFacts('insurer'),
    now: NOW,
    expected: deny(r('items_not_necessary', 'II', ['bank_account']), r('consent_items_not_covered', '2(5)'))
  },
  {
    name: 'financial_institution: email and order_history are not necessary items',
    request: provide('financial_institution', { dataItems: ['name', 'email', 'bank_account', 'order_history'] }),
    facts: provideFacts('financial_institution'),
    now: NOW,
    expected: deny(r('items_not_necessary', 'II', ['email', 'order_history']), r('consent_items_not_covered', '2(5)'))
  },
  {
    name: 'member_activity: name_kana is not a necessary item',
    request: provide('member_activity', { dataItems: ['name', 'name_kana'] }),
    facts: provideFacts('member_activity'),
    now: NOW,
    expected: deny(r('items_not_necessary', 'II', ['name_kana']), r('consent_items_not_covered', '2(5)'))
  },
  {
    name: 'travel_provider: insurance_application is necessary for insurers only',
    request: provide('travel_provider', { dataItems: ['name', 'insurance_application'] }),
    facts: provideFacts('travel_provider'),
    now: NOW,
    expected: deny(r('items_not_necessary', 'II', ['insurance_application']), r('consent_items_not_covered', '2(5)'))
  },
  ...CATEGORIES.map((category): Case => ({
    name: `${category}: sensitive health_care never leaves through third-party provision`,
    request: provide(category, { dataItems: ['name', 'health_care'] }),
    facts: provideFacts(category),
    now: NOW,
    // A consent without its own list covers only the necessary items, so not health_care either.
    expected: deny(r('sensitive_item', 'II', ['health_care']), r('consent_items_not_covered', '2(5)'))
  })),
  {
    name: 'method missing',
    request: provide('insurer', { method: undefined }),
    facts: provideFacts('insurer'),
    now: NOW,
    expected: deny(r('method_not_allowed', 'II'))
  },
  {
    name: 'method outside §II (fax)',
    request: provide('insurer', { method: 'fax' as Method }),
    facts: provideFacts('insurer'),
    now: NOW,
    expected: deny(r('method_not_allowed', 'II'))
  },
  {
    name: 'by document is allowed as well as electronic',
    request: provide('credit_company', { method: 'document' }),
    facts: provideFacts('credit_company'),
    now: NOW,
    expected: allowThirdParty([...SECTION_II.credit_company.necessaryItems], 'CS-credit_company')
  }
]

const thirdPartyRecipientCases: Case[] = [
  {
    name: 'unknown recipient',
    request: provide('insurer', { recipientId: 'R-404' }),
    facts: provideFacts('insurer', { recipient: null }),
    now: NOW,
    expected: deny(r('recipient_unknown', 'II'))
  },
  {
    name: 'inactive recipient',
    request: provide('travel_provider'),
    facts: provideFacts('travel_provider', { recipient: recipient('travel_provider', { active: false }) }),
    now: NOW,
    expected: deny(r('recipient_inactive', 'II'))
  }
]

const thirdPartyConsentCases: Case[] = [
  {
    name: 'no consent on record',
    request: provide('insurer'),
    facts: provideFacts('insurer', { consents: [] }),
    now: NOW,
    expected: deny(r('consent_missing', '2(5)'))
  },
  {
    name: 'consent withdrawn yesterday',
    request: provide('insurer'),
    facts: provideFacts('insurer', { consents: [consent('insurer', { withdrawnAt: daysAgo(1) })] }),
    now: NOW,
    expected: deny(r('consent_withdrawn', '2(5)'))
  },
  {
    name: 'consent withdrawn exactly now',
    request: provide('insurer'),
    facts: provideFacts('insurer', { consents: [consent('insurer', { withdrawnAt: NOW })] }),
    now: NOW,
    expected: deny(r('consent_withdrawn', '2(5)'))
  },
  {
    name: 'consent withdrawn with effect in the future is still in effect',
    request: provide('insurer'),
    facts: provideFacts('insurer', { consents: [consent('insurer', { withdrawnAt: msAhead(1) })] }),
    now: NOW,
    expected: allowThirdParty([...SECTION_II.insurer.necessaryItems], 'CS-insurer')
  },
  {
    name: 'consent obtained in the future is not on record yet',
    request: provide('insurer'),
    facts: provideFacts('insurer', { consents: [consent('insurer', { obtainedAt: msAhead(1) })] }),
    now: NOW,
    expected: deny(r('consent_missing', '2(5)'))
  },
  {
    name: 'consent obtained exactly now',
    request: provide('insurer'),
    facts: provideFacts('insurer', { consents: [consent('insurer', { obtainedAt: NOW })] }),
    now: NOW,
    expected: allowThirdParty([...SECTION_II.insurer.necessaryItems], 'CS-insurer')
  },
  {
    name: 'consent for another category only',
    request: provide('financial_institution'),
    facts: provideFacts('financial_institution', { consents: [consent('credit_company')] }),
    now: NOW,
    expected: deny(r('consent_missing', '2(5)'))
  },
  {
    name: 'consent for another category naming this recipient id',
    request: provide('financial_institution'),
    facts: provideFacts('financial_institution', {
      consents: [consent('credit_company', { recipientId: recipientId('financial_institution') })]
    }),
    now: NOW,
    expected: deny(r('consent_missing', '2(5)'))
  },
  {
    name: 'consent for a specific other recipient of the same category',
    request: provide('insurer'),
    facts: provideFacts('insurer', { consents: [consent('insurer', { recipientId: 'R-other-insurer' })] }),
    now: NOW,
    expected: deny(r('consent_missing', '2(5)'))
  },
  {
    name: 'consent for this specific recipient',
    request: provide('insurer'),
    facts: provideFacts('insurer', { consents: [consent('insurer', { id: 'CS-this', recipientId: recipientId('insurer') })] }),
    now: NOW,
    expected: allowThirdParty([...SECTION_II.insurer.necessaryItems], 'CS-this')
  },
  {
    name: 'consent listing items that do not cover the request',
    request: provide('credit_company'),
    facts: provideFacts('credit_company', { consents: [consent('credit_company', { dataItems: ['name', 'credit_card'] })] }),
    now: NOW,
    expected: deny(r('consent_items_not_covered', '2(5)'))
  },
  {
    name: 'consent listing exactly the requested items',
    request: provide('credit_company', { dataItems: ['name', 'credit_card', 'billing_amount'] }),
    facts: provideFacts('credit_company', {
      consents: [consent('credit_company', { id: 'CS-listed', dataItems: ['billing_amount', 'credit_card', 'name'] })]
    }),
    now: NOW,
    expected: allowThirdParty(['name', 'credit_card', 'billing_amount'], 'CS-listed')
  },
  {
    name: 'a withdrawn consent and a later one in effect: the one in effect permits',
    request: provide('member_activity'),
    facts: provideFacts('member_activity', {
      consents: [
        consent('member_activity', { id: 'CS-old', obtainedAt: daysAgo(400), withdrawnAt: daysAgo(200) }),
        consent('member_activity', { id: 'CS-new', obtainedAt: daysAgo(100) })
      ]
    }),
    now: NOW,
    expected: allowThirdParty([...SECTION_II.member_activity.necessaryItems], 'CS-new')
  },
  {
    name: 'a withdrawn consent covering the items and one in effect that does not',
    request: provide('member_activity'),
    facts: provideFacts('member_activity', {
      consents: [consent('member_activity', { id: 'CS-old', withdrawnAt: daysAgo(1) }), consent('member_activity', { id: 'CS-narrow', dataItems: ['name'] })]
    }),
    now: NOW,
    expected: deny(r('consent_items_not_covered', '2(5)'))
  },
  {
    name: 'provision suspended at the member’s request',
    request: provide('insurer'),
    facts: provideFacts('insurer', { suspensions: ['provision'] }),
    now: NOW,
    expected: deny(r('provision_suspended', '2(5)'))
  }
]

const thirdPartyMultipleCases: Case[] = [
  {
    name: 'sensitive item, suspended and no consent: all reported',
    request: provide('insurer', { dataItems: ['name', 'health_care'] }),
    facts: provideFacts('insurer', { consents: [], suspensions: ['provision'] }),
    now: NOW,
    expected: deny(r('sensitive_item', 'II', ['health_care']), r('provision_suspended', '2(5)'), r('consent_missing', '2(5)'))
  },
  {
    name: 'unknown recipient, sensitive item, no method and suspended: all reported',
    request: provide('insurer', { recipientId: 'R-404', dataItems: ['health_care'], method: undefined }),
    facts: provideFacts('insurer', { recipient: null, consents: [], suspensions: ['provision'] }),
    now: NOW,
    expected: deny(r('recipient_unknown', 'II'), r('sensitive_item', 'II', ['health_care']), r('method_not_allowed', 'II'), r('provision_suspended', '2(5)'))
  },
  {
    name: 'inactive, wrong purpose and service category, unnecessary items, consent withdrawn: all reported',
    request: provide('insurer', { purpose: 'billing', serviceCategory: 'housing', dataItems: ['name', 'bank_account', 'email'] }),
    facts: provideFacts('insurer', {
      recipient: recipient('insurer', { active: false }),
      consents: [consent('insurer', { withdrawnAt: daysAgo(3) })]
    }),
    now: NOW,
    expected: deny(
      r('recipient_inactive', 'II'),
      r('purpose_not_allowed', 'II'),
      r('service_category_not_allowed', 'II'),
      r('items_not_necessary', 'II', ['bank_account', 'email']),
      r('consent_withdrawn', '2(5)')
    )
  },
  {
    name: 'wrong purpose and consent items not covered',
    request: provide('financial_institution', { purpose: 'delivery' }),
    facts: provideFacts('financial_institution', { consents: [consent('financial_institution', { dataItems: ['name'] })] }),
    now: NOW,
    expected: deny(r('purpose_not_allowed', 'II'), r('consent_items_not_covered', '2(5)'))
  }
]

// ---------------------------------------------------------------------------------------------
// Statutory exceptions (2(5)a, 2(5)b)

const statutoryCases: Case[] = [
  {
    name: 'legal obligation',
    request: statutory('legal_obligation', ['name', 'address']),
    facts: noFacts(),
    now: NOW,
    expected: { decision: 'allow', reasons: [r('legal_obligation', '2(5)a')], obligations: [itemsLimitedTo(['name', 'address'])] }
  },
  {
    name: 'vital interest',
    request: statutory('vital_interest', ['name', 'phone']),
    facts: noFacts(),
    now: NOW,
    expected: { decision: 'allow', reasons: [r('vital_interest', '2(5)b')], obligations: [itemsLimitedTo(['name', 'phone'])] }
  },
  {
    name: 'legal obligation with health_care',
    request: statutory('legal_obligation', ['name', 'health_care']),
    facts: noFacts(),
    now: NOW,
    expected: {
      decision: 'allow',
      reasons: [r('legal_obligation', '2(5)a')],
      obligations: [itemsLimitedTo(['name', 'health_care'])]
    }
  },
  {
    name: 'vital interest with health_care, member suspended third-party provision and every use, and gave no consent',
    request: statutory('vital_interest', ['name', 'date_of_birth', 'health_care']),
    facts: { ...BASE_FACTS, consents: [], suspensions: ['provision', 'use'] },
    now: NOW,
    expected: {
      decision: 'allow',
      reasons: [r('vital_interest', '2(5)b')],
      obligations: [itemsLimitedTo(['name', 'date_of_birth', 'health_care'])]
    }
  }
]

/** Drops serviceCategory: the hand-offs of the contract that concern no particular goods or service. */
function withoutServiceCategory(request: DecisionRequest): DecisionRequest {
  const { serviceCategory: _dropped, ...rest } = request
  return rest
}

// serviceCategory is optional on every channel; only the §II categories tied to one need it.
const withoutServiceCategoryCases: Case[] = [
  {
    name: 'joint use for governance (I.14) without a service category',
    request: withoutServiceCategory(jointUse('governance', ['name', 'address'])),
    facts: noFacts(),
    now: NOW,
    expected: { decision: 'allow', reasons: [r('joint_use_announced', '2(2)')], obligations: [itemsLimitedTo(['name', 'address'])] }
  },
  {
    name: 'entrustment without a service category',
    request: withoutServiceCategory(entrust()),
    facts: entrustFacts(),
    now: NOW,
    expected: allowEntrustment(DEFAULT_ENTRUST_ITEMS, 'C-1', RECENT_INSPECTION_AT)
  },
  {
    name: 'statutory exception without a service category',
    request: withoutServiceCategory(statutory('legal_obligation', ['name'])),
    facts: noFacts(),
    now: NOW,
    expected: { decision: 'allow', reasons: [r('legal_obligation', '2(5)a')], obligations: [itemsLimitedTo(['name'])] }
  },
  ...(['financial_institution', 'credit_company', 'member_activity'] as const).map((category): Case => ({
    name: `${category} without a service category (its row names none)`,
    request: withoutServiceCategory(provide(category)),
    facts: provideFacts(category),
    now: NOW,
    expected: allowThirdParty([...SECTION_II[category].necessaryItems], `CS-${category}`)
  })),
  ...(['insurer', 'travel_provider'] as const).map((category): Case => ({
    name: `${category} without a service category is denied: its row names one`,
    request: withoutServiceCategory(provide(category)),
    facts: provideFacts(category),
    now: NOW,
    expected: deny(r('service_category_not_allowed', 'II'))
  }))
]

// ---------------------------------------------------------------------------------------------
// 2(5)b needs the law's condition: consent hard to obtain (APPI Art. 27(1)(ii)).

const vitalInterestConditionCases: Case[] = [
  {
    name: 'vital interest without saying why consent could not be obtained',
    request: statutory('vital_interest', ['name', 'phone'], null),
    facts: noFacts(),
    now: NOW,
    expected: deny(r('consent_impracticability_missing', '2(5)b'))
  },
  {
    name: 'vital interest with a blank reason for consent being impracticable',
    request: statutory('vital_interest', ['name'], '   '),
    facts: noFacts(),
    now: NOW,
    expected: deny(r('consent_impracticability_missing', '2(5)b'))
  },
  {
    name: 'legal obligation needs no such reason',
    request: statutory('legal_obligation', ['name'], null),
    facts: noFacts(),
    now: NOW,
    expected: { decision: 'allow', reasons: [r('legal_obligation', '2(5)a')], obligations: [itemsLimitedTo(['name'])] }
  }
]

// ---------------------------------------------------------------------------------------------
// Recipients abroad (APPI Art. 28): the notice states no provision abroad.

const foreignRecipientCases: Case[] = [
  ...CATEGORIES.map((category): Case => ({
    name: `${category}: a recipient in the US is denied although every other rule is met`,
    request: provide(category),
    facts: provideFacts(category, { recipient: recipient(category, { country: 'US' }) }),
    now: NOW,
    expected: deny(r('recipient_abroad', 'II'))
  })),
  {
    name: 'a recipient in Korea, inactive and without consent: all reported (the Art. 28 ground too)',
    request: provide('travel_provider'),
    facts: provideFacts('travel_provider', { recipient: recipient('travel_provider', { country: 'KR', active: false }), consents: [] }),
    now: NOW,
    expected: deny(r('recipient_abroad', 'II'), r('recipient_inactive', 'II'), r('consent_missing', '2(5)'))
  }
]

// ---------------------------------------------------------------------------------------------
// Every legal person of 2(2) (from version 3): the federation, the member co-ops and JCCU use
// jointly; the federation and the member co-ops provide.

const OTHER_COOP: EntityFacts = {
  ...MEMBER_COOP,
  id: '9a1f2b3c-4d5e-4f60-8a7b-1c2d3e4f5a6b',
  name: { ja: '生活協同組合コープ自然派京都', en: 'Co-op Shizenha Kyoto' }
}
const JCCU_ENTITY: EntityFacts = {
  id: 'JCCU',
  kind: 'jccu',
  name: { ja: '日本生活協同組合連合会', en: "Japanese Consumers' Co-operative Union (JCCU)" },
  address: null,
  representative: null,
  corporateNumber: null,
  active: true
}
const byProvider = (provider: EntityFacts | null, jointUser?: EntityFacts | null): Facts => ({
  ...noFacts(),
  provider,
  ...(jointUser === undefined ? {} : { jointUser })
})
/** The warnings version 3 carries on every joint-use allow: what Art. 27(5)(iii) asks and the notice leaves out. */
const JOINT_USE_ALLOW = (items: DataItem[]): Expected => ({
  decision: 'allow',
  reasons: [r('joint_use_announced', '2(2)')],
  obligations: [itemsLimitedTo(items)]
})

const legalPersonCases: Case[] = [
  {
    name: 'v3: a member co-op to the federation',
    policy: noticeV3,
    request: jointUse('ordering', ['name', 'address'], FEDERATION.id),
    facts: byProvider(MEMBER_COOP, FEDERATION),
    now: NOW,
    expected: JOINT_USE_ALLOW(['name', 'address'])
  },
  {
    name: 'v3: the federation to a member co-op, every item incl. health_care',
    policy: noticeV3,
    request: jointUse('delivery', [...ALL_ITEMS], MEMBER_COOP.id),
    facts: byProvider(FEDERATION, MEMBER_COOP),
    now: NOW,
    expected: JOINT_USE_ALLOW([...ALL_ITEMS])
  },
  {
    name: 'v3: between two member co-ops',
    policy: noticeV3,
    request: jointUse('after_sales', ['name', 'phone'], OTHER_COOP.id),
    facts: byProvider(MEMBER_COOP, OTHER_COOP),
    now: NOW,
    expected: JOINT_USE_ALLOW(['name', 'phone'])
  },
  {
    name: 'v3: a member co-op to JCCU',
    policy: noticeV3,
    request: jointUse('ordering', ['name'], 'JCCU'),
    facts: byProvider(MEMBER_COOP, JCCU_ENTITY),
    now: NOW,
    expected: JOINT_USE_ALLOW(['name'])
  },
  {
    name: 'v3: a deactivated member co-op is no joint user',
    policy: noticeV3,
    request: jointUse('ordering', ['name'], OTHER_COOP.id),
    facts: byProvider(FEDERATION, { ...OTHER_COOP, active: false }),
    now: NOW,
    expected: deny(r('joint_user_unknown', '2(2)'))
  },
  {
    name: 'v3: an id that names no legal person is no joint user',
    policy: noticeV3,
    request: jointUse('ordering', ['name'], 'Zenrosai'),
    facts: byProvider(FEDERATION, null),
    now: NOW,
    expected: deny(r('joint_user_unknown', '2(2)'))
  },
  {
    name: 'v1 read JCCU alone as joint user: a member co-op is denied under it',
    policy: noticeV1,
    request: jointUse('ordering', ['name'], MEMBER_COOP.id),
    facts: byProvider(FEDERATION, MEMBER_COOP),
    now: NOW,
    expected: deny(r('joint_user_unknown', '2(2)'))
  },
  {
    name: 'v3: JCCU does not provide (it is a joint user, not responsible for management)',
    policy: noticeV3,
    request: jointUse('ordering', ['name'], FEDERATION.id),
    facts: byProvider(JCCU_ENTITY, FEDERATION),
    now: NOW,
    expected: deny(r('provider_unknown', '2(2)'))
  },
  {
    name: 'v3: a deactivated member co-op provides nothing',
    policy: noticeV3,
    request: provide('financial_institution'),
    facts: {
      ...provideFacts('financial_institution', { consents: [consent('financial_institution', { providerId: MEMBER_COOP.id })] }),
      provider: { ...MEMBER_COOP, active: false }
    },
    now: NOW,
    expected: deny(r('provider_unknown', '2(2)'))
  },
  {
    name: 'v3: no such provider',
    policy: noticeV3,
    request: statutory('legal_obligation', ['name'], null),
    facts: byProvider(null),
    now: NOW,
    expected: deny(r('provider_unknown', '2(2)'))
  },
  {
    name: 'v3: a member co-op provides on its own consent',
    policy: noticeV3,
    request: provide('financial_institution'),
    facts: {
      ...provideFacts('financial_institution', { consents: [consent('financial_institution', { providerId: MEMBER_COOP.id })] }),
      provider: MEMBER_COOP
    },
    now: NOW,
    expected: allowThirdParty(SECTION_II.financial_institution.necessaryItems, 'CS-financial_institution')
  },
  {
    name: "v3: a consent given to the federation does not permit a member co-op's provision",
    policy: noticeV3,
    request: provide('financial_institution'),
    facts: { ...provideFacts('financial_institution'), provider: MEMBER_COOP },
    now: NOW,
    expected: deny(r('consent_missing', '2(5)'))
  }
]

// ---------------------------------------------------------------------------------------------
// Art. 28: a party abroad (not Japan, not a PPC-designated country) needs a rule 17(2) consent or
// a current equivalent-measures system; an entrustment abroad is such a provision too.

const PH_INFO = { country: 'PH', system: 'Data Privacy Act of 2012 (RA 10173), National Privacy Commission', measures: 'Contract clauses and ISO/IEC 27001' }
const CURRENT_MEASURES = { basis: 'Contract clauses binding the contractor to APPI-level measures', lastCheckedAt: daysAgo(100) }
const STALE_MEASURES = { basis: 'Contract clauses binding the contractor to APPI-level measures', lastCheckedAt: daysAgo(400) }
const manila = (overrides: Partial<ContractorFacts> = {}) => contractor({ country: 'PH', ...overrides })
const contractorConsent = (overrides: Partial<ConsentFacts> = {}): ConsentFacts => ({
  ...consent('financial_institution'),
  id: 'CS-manila',
  recipientCategory: null,
  contractorId: 'K-1',
  foreignRecipient: PH_INFO,
  dataItems: null,
  ...overrides
})
const ENTRUSTED = ['name', 'address', 'phone'] as DataItem[]
const allowEntrustmentAbroad = (ground: ReasonCode, consentId?: string): Expected => ({
  decision: 'allow',
  reasons: [r('contract_in_force', '2(4)'), r('inspection_current', '2(4)'), r(ground, '2(5)')],
  obligations: [itemsLimitedTo(ENTRUSTED), reinspectBy(RECENT_INSPECTION_AT), keepRecord],
  contractId: 'C-1',
  ...(consentId === undefined ? {} : { consentId })
})

const abroadCases: Case[] = [
  {
    name: 'entrustment to a contractor in PH without either ground is denied',
    request: entrust(),
    facts: entrustFacts(manila()),
    now: NOW,
    expected: deny(r('contractor_abroad', '2(3)'))
  },
  {
    name: 'entrustment to PH with a rule 17(2) consent to that contractor: allowed and recorded',
    request: entrust(),
    facts: entrustFacts(manila(), [], [contractorConsent()]),
    now: NOW,
    expected: allowEntrustmentAbroad('abroad_consent_on_record', 'CS-manila')
  },
  {
    name: 'entrustment to PH with a current equivalent-measures system: allowed and recorded',
    request: entrust(),
    facts: entrustFacts(manila({ equivalentMeasures: CURRENT_MEASURES })),
    now: NOW,
    expected: allowEntrustmentAbroad('abroad_equivalent_measures')
  },
  {
    name: 'entrustment to PH: measures last checked over a year ago ground nothing',
    request: entrust(),
    facts: entrustFacts(manila({ equivalentMeasures: STALE_MEASURES })),
    now: NOW,
    expected: deny(r('contractor_abroad', '2(3)'))
  },
  {
    name: 'entrustment to PH: a consent with another country’s information grounds nothing',
    request: entrust(),
    facts: entrustFacts(manila(), [], [contractorConsent({ foreignRecipient: { ...PH_INFO, country: 'VN' } })]),
    now: NOW,
    expected: deny(r('contractor_abroad', '2(3)'))
  },
  {
    name: 'entrustment to PH: a withdrawn consent grounds nothing',
    request: entrust(),
    facts: entrustFacts(manila(), [], [contractorConsent({ withdrawnAt: daysAgo(1) })]),
    now: NOW,
    expected: deny(r('contractor_abroad', '2(3)'))
  },
  {
    name: 'entrustment to PH: a consent that leaves out an item grounds nothing',
    request: entrust(),
    facts: entrustFacts(manila(), [], [contractorConsent({ dataItems: ['name'] })]),
    now: NOW,
    expected: deny(r('contractor_abroad', '2(3)'))
  },
  {
    name: 'entrustment to a contractor in DE is treated as domestic (PPC-designated)',
    request: entrust(),
    facts: entrustFacts(contractor({ country: 'DE' })),
    now: NOW,
    expected: allowEntrustment(ENTRUSTED, 'C-1', RECENT_INSPECTION_AT)
  },
  {
    name: 'entrustment to a contractor in GB is treated as domestic (PPC-designated)',
    request: entrust(),
    facts: entrustFacts(contractor({ country: 'GB' })),
    now: NOW,
    expected: allowEntrustment(ENTRUSTED, 'C-1', RECENT_INSPECTION_AT)
  },
  {
    name: 'a recipient in DE is treated as domestic for Art. 28',
    request: provide('insurer'),
    facts: provideFacts('insurer', { recipient: recipient('insurer', { country: 'DE' }) }),
    now: NOW,
    expected: allowThirdParty(SECTION_II.insurer.necessaryItems, 'CS-insurer')
  },
  {
    name: 'a recipient in the US with a rule 17(2) consent for the US',
    request: provide('insurer'),
    facts: provideFacts('insurer', {
      recipient: recipient('insurer', { country: 'US' }),
      consents: [consent('insurer', { foreignRecipient: { ...PH_INFO, country: 'US', system: 'No comprehensive federal privacy law' } })]
    }),
    now: NOW,
    expected: {
      ...allowThirdParty(SECTION_II.insurer.necessaryItems, 'CS-insurer'),
      reasons: [r('consent_on_record', '2(5)'), r('abroad_consent_on_record', '2(5)')]
    }
  },
  {
    name: 'a recipient in the US with a current equivalent-measures system',
    request: provide('insurer'),
    facts: provideFacts('insurer', { recipient: recipient('insurer', { country: 'US', equivalentMeasures: CURRENT_MEASURES }) }),
    now: NOW,
    expected: {
      ...allowThirdParty(SECTION_II.insurer.necessaryItems, 'CS-insurer'),
      reasons: [r('consent_on_record', '2(5)'), r('abroad_equivalent_measures', '2(5)')]
    }
  }
]

// ---------------------------------------------------------------------------------------------
// A stop of use (APPI Art. 35(1), 35(5)) halts every channel but statutory exceptions.

const useSuspensionCases: Case[] = [
  {
    name: 'use suspended: joint use is denied',
    request: jointUse('ordering', ['name', 'address']),
    facts: { ...BASE_FACTS, consents: [], suspensions: ['use'] },
    now: NOW,
    expected: deny(r('use_suspended', '2(7)'))
  },
  {
    name: 'use suspended: entrustment is denied',
    request: entrust(),
    facts: entrustFacts(contractor(), ['use']),
    now: NOW,
    expected: deny(r('use_suspended', '2(7)'))
  },
  {
    name: 'provision suspended only: entrustment is allowed',
    request: entrust(),
    facts: entrustFacts(contractor(), ['provision']),
    now: NOW,
    expected: allowEntrustment(DEFAULT_ENTRUST_ITEMS, 'C-1', RECENT_INSPECTION_AT)
  },
  {
    name: 'use suspended: third-party provision is denied for the use, not as a provision suspension',
    request: provide('financial_institution'),
    facts: provideFacts('financial_institution', { suspensions: ['use'] }),
    now: NOW,
    expected: deny(r('use_suspended', '2(7)'))
  },
  {
    name: 'both suspended: third-party provision names both',
    request: provide('financial_institution'),
    facts: provideFacts('financial_institution', { suspensions: ['provision', 'use'] }),
    now: NOW,
    expected: deny(r('provision_suspended', '2(5)'), r('use_suspended', '2(7)'))
  },
  {
    name: 'use suspended: a legal obligation still goes ahead',
    request: statutory('legal_obligation', ['name', 'address']),
    facts: { ...BASE_FACTS, consents: [], suspensions: ['use'] },
    now: NOW,
    expected: { decision: 'allow', reasons: [r('legal_obligation', '2(5)a')], obligations: [itemsLimitedTo(['name', 'address'])] }
  },
  {
    name: 'use suspended and another joint user: both reported',
    request: jointUse('ordering', ['name'], 'Zenrosai'),
    facts: { ...BASE_FACTS, consents: [], suspensions: ['use'] },
    now: NOW,
    expected: deny(r('use_suspended', '2(7)'), r('joint_user_unknown', '2(2)'))
  }
]

// ---------------------------------------------------------------------------------------------
// Contracts count from their signing (2(4), APPI Art. 25).

const contractSigningCases: Case[] = [
  {
    name: 'contract in its validity period but signed only tomorrow',
    request: entrust(),
    facts: entrustFacts(contractor({ contracts: [contract({ signedAt: daysAhead(1) })] })),
    now: NOW,
    expected: deny(r('contract_not_signed', '2(4)'))
  },
  {
    name: 'contract signed one millisecond from now',
    request: entrust(),
    facts: entrustFacts(contractor({ contracts: [contract({ signedAt: msAhead(1) })] })),
    now: NOW,
    expected: deny(r('contract_not_signed', '2(4)'))
  },
  {
    name: 'contract signed exactly now',
    request: entrust(),
    facts: entrustFacts(contractor({ contracts: [contract({ signedAt: NOW })] })),
    now: NOW,
    expected: allowEntrustment(DEFAULT_ENTRUST_ITEMS, 'C-1', RECENT_INSPECTION_AT)
  },
  {
    name: 'contract signed after its validity began counts from the signing',
    request: entrust(),
    facts: entrustFacts(contractor({ contracts: [contract({ validFrom: daysAgo(30), signedAt: daysAgo(1) })] })),
    now: NOW,
    expected: allowEntrustment(DEFAULT_ENTRUST_ITEMS, 'C-1', RECENT_INSPECTION_AT)
  },
  {
    name: 'an unsigned contract beside a signed one that covers: the signed one permits',
    request: entrust(),
    facts: entrustFacts(contractor({ contracts: [contract({ id: 'C-unsigned', signedAt: daysAhead(5) }), contract({ id: 'C-signed' })] })),
    now: NOW,
    expected: allowEntrustment(DEFAULT_ENTRUST_ITEMS, 'C-signed', RECENT_INSPECTION_AT)
  },
  {
    name: 'an unsigned contract in its validity and an expired signed one',
    request: entrust(),
    facts: entrustFacts(contractor({ contracts: [contract({ id: 'C-old', validUntil: daysAgo(1) }), contract({ id: 'C-unsigned', signedAt: daysAhead(5) })] })),
    now: NOW,
    expected: deny(r('contract_not_signed', '2(4)'))
  },
  {
    name: 'unsigned contract and never inspected: both reported',
    request: entrust(),
    facts: entrustFacts(contractor({ contracts: [contract({ signedAt: daysAhead(5) })], latestInspection: null })),
    now: NOW,
    expected: deny(r('contract_not_signed', '2(4)'), r('inspection_missing', '2(4)'))
  }
]

// ---------------------------------------------------------------------------------------------
// A consent means what it meant when given: without its own list it covers the necessary items
// of the version in force then (v1), not a later version's (v2 adds capital_contribution to II.3).

const V2_NOW = new Date('2027-06-01T00:00:00+09:00')
const V2_CONSENT_AT = new Date('2027-04-10T00:00:00+09:00')
const REFUND_ITEMS: DataItem[] = ['name', 'name_kana', 'member_number', 'bank_account', 'capital_contribution']
const refund = (dataItems: DataItem[] = REFUND_ITEMS) => provide('financial_institution', { purpose: 'capital_contribution', dataItems })
const bankConsent = (overrides: Partial<ConsentFacts> = {}) => consent('financial_institution', overrides)

const consentVersionCases: Case[] = [
  {
    name: 'v2: a v1 consent without items does not cover capital_contribution',
    policy: noticeV2,
    request: refund(),
    facts: provideFacts('financial_institution', { consents: [bankConsent()] }),
    now: V2_NOW,
    expected: deny(r('consent_items_not_covered', '2(5)'))
  },
  {
    name: 'v2: a v2 consent without items covers capital_contribution',
    policy: noticeV2,
    request: refund(),
    facts: provideFacts('financial_institution', { consents: [bankConsent({ id: 'CS-v2', policyVersion: noticeV2.version, obtainedAt: V2_CONSENT_AT })] }),
    now: V2_NOW,
    expected: allowThirdParty(REFUND_ITEMS, 'CS-v2')
  },
  {
    name: 'v2: a v1 consent listing capital_contribution covers it by its own list',
    policy: noticeV2,
    request: refund(),
    facts: provideFacts('financial_institution', { consents: [bankConsent({ id: 'CS-listed', dataItems: [...REFUND_ITEMS] })] }),
    now: V2_NOW,
    expected: allowThirdParty(REFUND_ITEMS, 'CS-listed')
  },
  {
    name: 'v2: a refund without the amount is within a v1 consent',
    policy: noticeV2,
    request: refund(['name', 'bank_account']),
    facts: provideFacts('financial_institution', { consents: [bankConsent()] }),
    now: V2_NOW,
    expected: allowThirdParty(['name', 'bank_account'], 'CS-financial_institution')
  },
  {
    name: 'v2: billing on a v1 consent without items',
    policy: noticeV2,
    request: provide('financial_institution'),
    facts: provideFacts('financial_institution', { consents: [bankConsent()] }),
    now: V2_NOW,
    expected: allowThirdParty([...SECTION_II.financial_institution.necessaryItems], 'CS-financial_institution')
  },
  {
    name: 'v2: the v1 consent that does not cover is passed over for a v2 one that does',
    policy: noticeV2,
    request: refund(),
    facts: provideFacts('financial_institution', {
      consents: [bankConsent({ id: 'CS-v1' }), bankConsent({ id: 'CS-v2', policyVersion: noticeV2.version, obtainedAt: V2_CONSENT_AT })]
    }),
    now: V2_NOW,
    expected: allowThirdParty(REFUND_ITEMS, 'CS-v2')
  },
  {
    name: 'a consent naming a version never published covers nothing',
    request: provide('financial_institution'),
    facts: provideFacts('financial_institution', { consents: [bankConsent({ policyVersion: '1999-01-01.1' })] }),
    now: NOW,
    expected: deny(r('consent_items_not_covered', '2(5)'))
  },
  {
    name: 'v1: refunding capital contributions is not II.3’s purpose yet',
    request: refund(),
    facts: provideFacts('financial_institution', { consents: [bankConsent()] }),
    now: NOW,
    expected: deny(r('purpose_not_allowed', 'II'), r('items_not_necessary', 'II', ['capital_contribution']), r('consent_items_not_covered', '2(5)'))
  }
]

const TABLES: Record<string, Case[]> = {
  'any channel: without a service category': withoutServiceCategoryCases,
  joint_use: jointUseCases,
  entrustment: entrustmentCases,
  'third_party: each category allowed': thirdPartyAllowCases,
  'third_party: category rules': thirdPartyCategoryRuleCases,
  'third_party: recipient': thirdPartyRecipientCases,
  'third_party: consent and suspension': thirdPartyConsentCases,
  'third_party: several failures': thirdPartyMultipleCases,
  statutory_exception: statutoryCases,
  'vital_interest: consent impracticable (APPI Art. 27(1)(ii))': vitalInterestConditionCases,
  'third_party: recipient abroad (APPI Art. 28)': foreignRecipientCases,
  'legal persons of 2(2): joint users and providers': legalPersonCases,
  'abroad (APPI Art. 28): entrustment and third party': abroadCases,
  'any channel: use suspended (APPI Art. 35)': useSuspensionCases,
  'entrustment: contracts count from their signing': contractSigningCases,
  'third_party: a consent covers what its version said': consentVersionCases
}

// ---------------------------------------------------------------------------------------------
// Assertions

const sortedCodes = (codes: readonly string[]): string[] => [...codes].sort()
const sortedItems = (items: readonly DataItem[] | undefined): DataItem[] | undefined => (items === undefined ? undefined : [...items].sort())
const byCode = <T extends { code: string }>(list: readonly T[]): T[] => [...list].sort((a, b) => a.code.localeCompare(b.code))

function normaliseObligations(list: readonly Obligation[]): Obligation[] {
  return byCode(list.map((o) => (o.items === undefined ? o : { ...o, items: sortedItems(o.items) })))
}

/** Runs `decide` on frozen copies of the inputs, twice, and checks purity on the way. */
function run(t: Test, request: DecisionRequest, policy: PolicyDocument, facts: Facts, now: Date): Decision {
  const frozenRequest = deepFreeze(structuredClone(request))
  const frozenFacts = deepFreeze(structuredClone(facts))
  const frozenNow = deepFreeze(new Date(now.getTime()))
  const first = decide(frozenRequest, policy, frozenFacts, frozenNow)
  const second = decide(frozenRequest, policy, frozenFacts, frozenNow)
  t.strictSame(second, first, 'deciding twice gives the same decision')
  t.strictSame(frozenRequest, request, 'the request is unchanged')
  t.strictSame(frozenFacts, facts, 'the facts are unchanged')
  t.equal(frozenNow.getTime(), now.getTime(), 'now is unchanged')
  return first
}

function checkDecision(t: Test, decision: Decision, expected: Expected, policy: PolicyDocument, request: DecisionRequest, facts: Facts): void {
  t.equal(decision.decision, expected.decision, 'decision')
  t.strictSame(sortedCodes(decision.reasons.map((x) => x.code)), sortedCodes(expected.reasons.map((x) => x.code)), 'exactly these reason codes')
  t.equal(new Set(decision.reasons.map((x) => x.code)).size, decision.reasons.length, 'no reason is given twice')
  t.equal(decision.policyVersion, policy.version, 'policyVersion is the policy’s version')

  for (const want of expected.reasons) {
    const got = decision.reasons.find((x) => x.code === want.code)
    if (got === undefined) continue // already failed above
    t.equal(got.clause, want.clause, `${want.code} cites clause ${want.clause}`)
    t.strictSame(sortedItems(got.items), sortedItems(want.items), `${want.code} items`)
  }
  for (const got of decision.reasons) {
    const definition: { clause: string; law?: string } = REASONS[got.code]
    t.equal(got.clause, definition.clause, `${got.code}: clause is REASONS[code].clause`)
    t.equal(got.law, definition.law, `${got.code}: law is REASONS[code].law`)
    t.ok(got.clause.length > 0, `${got.code} names a clause`)
  }

  if (expected.decision === 'deny') {
    t.strictSame(decision.obligations, [], 'a deny has no obligations')
    t.ok(decision.reasons.length > 0, 'a deny gives at least one reason')
    t.equal(decision.consentId, undefined, 'a deny names no consent')
    t.equal(decision.contractId, undefined, 'a deny names no contract')
  } else {
    t.strictSame(normaliseObligations(decision.obligations), normaliseObligations(expected.obligations ?? []), 'exactly these obligations')
    t.equal(decision.consentId, expected.consentId, 'consentId')
    t.equal(decision.contractId, expected.contractId, 'contractId')
  }
  const provision = request.channel === 'third_party' || (expected.obligations ?? []).some((o) => o.code === 'keep_provision_record')
  if (expected.decision === 'allow' && provision) {
    t.strictSame(decision.providerDetails, providerDetails(policy, facts.provider!), 'an allowed provision carries the details of the provider that provides')
  } else {
    t.equal(decision.providerDetails, undefined, 'only an allowed provision (third party, or entrustment abroad) carries provider details')
  }
  t.equal(decision.providerId, facts.provider?.id ?? request.providerId ?? '', 'the decision names its provider')
}

function runTable(t: Test, cases: readonly Case[], policy: PolicyDocument): void {
  for (const row of cases) {
    t.test(row.name, async (t) => {
      const decision = run(t, row.request, row.policy ?? policy, row.facts, row.now)
      checkDecision(t, decision, row.expected, row.policy ?? policy, row.request, row.facts)
    })
  }
}

for (const [name, cases] of Object.entries(TABLES)) {
  t.test(name, async (t) => runTable(t, cases, noticeV1))
}

// ---------------------------------------------------------------------------------------------
// A policy whose notice announces fewer purposes: purpose_not_in_notice (2(1)).

const narrowPolicy: PolicyDocument = deepFreeze({
  ...noticeV1,
  purposes: noticeV1.purposes.filter((p) => p.id === 'billing' || p.id === 'brokerage'),
  jointUse: { ...noticeV1.jointUse, purposes: ['billing'] as Purpose[] }
})

const narrowPolicyCases: Case[] = [
  {
    name: 'joint use for an announced purpose',
    request: jointUse('billing', ['name', 'bank_account']),
    facts: noFacts(),
    now: NOW,
    expected: { decision: 'allow', reasons: [r('joint_use_announced', '2(2)')], obligations: [itemsLimitedTo(['name', 'bank_account'])] }
  },
  {
    name: 'joint use for a purpose the notice does not announce',
    request: jointUse('delivery', ['name']),
    facts: noFacts(),
    now: NOW,
    expected: deny(r('purpose_not_in_notice', '2(1)'))
  },
  {
    name: 'joint use with another party for an unannounced purpose',
    request: jointUse('survey', ['name'], 'Zenrosai'),
    facts: noFacts(),
    now: NOW,
    expected: deny(r('joint_user_unknown', '2(2)'), r('purpose_not_in_notice', '2(1)'))
  },
  {
    name: 'entrustment for an unannounced purpose its contract covers',
    request: entrust(),
    facts: entrustFacts(),
    now: NOW,
    expected: deny(r('purpose_not_in_notice', '2(1)'))
  },
  {
    name: 'entrustment to an unknown contractor for an unannounced purpose',
    request: entrust(),
    facts: entrustFacts(null),
    now: NOW,
    expected: deny(r('purpose_not_in_notice', '2(1)'), r('contractor_unknown', '2(3)'))
  },
  {
    name: 'entrustment for an announced purpose its contract covers',
    request: entrust({ purpose: 'billing' }),
    facts: entrustFacts(),
    now: NOW,
    expected: allowEntrustment(DEFAULT_ENTRUST_ITEMS, 'C-1', RECENT_INSPECTION_AT)
  },
  {
    name: 'third party for the category’s own purpose, which the notice does not announce',
    request: provide('member_activity'),
    facts: provideFacts('member_activity'),
    now: NOW,
    expected: deny(r('purpose_not_in_notice', '2(1)'))
  },
  {
    name: 'third party for an announced purpose',
    request: provide('financial_institution'),
    facts: provideFacts('financial_institution'),
    now: NOW,
    expected: allowThirdParty([...SECTION_II.financial_institution.necessaryItems], 'CS-financial_institution')
  }
]

t.test('purpose_not_in_notice under a policy announcing fewer purposes', async (t) => {
  runTable(t, narrowPolicyCases, narrowPolicy)
  t.test('is produced', async (t) => {
    const codes = narrowPolicyCases.flatMap((c) => decide(c.request, narrowPolicy, c.facts, c.now).reasons.map((x) => x.code))
    t.ok(codes.includes('purpose_not_in_notice'), 'purpose_not_in_notice is produced')
  })
})

// ---------------------------------------------------------------------------------------------
// Client scope (2(9))

t.test('denyOutsideClientScope', async (t) => {
  const decision = denyOutsideClientScope(noticeV1, FEDERATION.id)
  t.equal(decision.decision, 'deny')
  t.strictSame(
    decision.reasons.map((x) => x.code),
    ['client_scope']
  )
  t.equal(decision.reasons[0]?.clause, '2(9)')
  t.equal(decision.reasons[0]?.clause, REASONS.client_scope.clause)
  t.strictSame(decision.obligations, [])
  t.equal(decision.policyVersion, noticeV1.version)
  t.equal(decision.consentId, undefined)
  t.equal(decision.contractId, undefined)
  t.strictSame(denyOutsideClientScope(noticeV1, FEDERATION.id), decision, 'pure')
})

// ---------------------------------------------------------------------------------------------
// Statutory exception without its record: the engine alone still fails closed.

t.test('statutory exception lacking reference or approver is denied', async (t) => {
  const base = statutory('legal_obligation', ['name'])
  const incomplete: DecisionRequest[] = [
    { ...base, exception: { basis: 'legal_obligation', reference: '', approvedBy: 'Dept. manager Sato' } },
    { ...base, exception: { basis: 'vital_interest', reference: 'ref', approvedBy: '' } },
    { channel: 'statutory_exception', memberId: MEMBER, purpose: 'urgent_contact', serviceCategory: 'joint_purchasing', dataItems: ['name'] }
  ]
  for (const request of incomplete) {
    const decision = decide(request, noticeV1, noFacts(), NOW)
    t.equal(decision.decision, 'deny')
    t.strictSame(decision.obligations, [])
    t.ok(decision.reasons.length > 0, 'names a reason')
  }
})

// ---------------------------------------------------------------------------------------------
// Coverage: every reason code has a row that produces it.

t.test('every reason code is produced by some row', async (t) => {
  const allRows = Object.values(TABLES).flat()
  const produced = new Set<ReasonCode>()
  for (const row of allRows) {
    for (const reason of decide(row.request, row.policy ?? noticeV1, row.facts, row.now).reasons) produced.add(reason.code)
  }
  const expectedFromRows = new Set<ReasonCode>(allRows.flatMap((row) => row.expected.reasons.map((x) => x.code)))
  const notFromNoticeV1: ReasonCode[] = ['client_scope', 'purpose_not_in_notice']
  const wanted = REASON_CODES.filter((code) => !notFromNoticeV1.includes(code))

  t.strictSame(sortedCodes([...produced]), sortedCodes(wanted), 'the table produces every code but client_scope and purpose_not_in_notice')
  t.strictSame(sortedCodes([...expectedFromRows]), sortedCodes(wanted), 'the table expects every code but client_scope and purpose_not_in_notice')

  const everywhere = new Set<ReasonCode>(produced)
  for (const row of narrowPolicyCases) {
    for (const reason of decide(row.request, narrowPolicy, row.facts, row.now).reasons) everywhere.add(reason.code)
  }
  for (const reason of denyOutsideClientScope(noticeV1, FEDERATION.id).reasons) everywhere.add(reason.code)
  t.strictSame(sortedCodes([...everywhere]), sortedCodes(REASON_CODES), 'with the narrow policy and client scope, every code')
})

t.test('the tables are well formed', async (t) => {
  const allRows = [...Object.values(TABLES).flat(), ...narrowPolicyCases]
  const names = allRows.map((row) => row.name)
  t.equal(new Set(names).size, names.length, 'row names are unique')
  for (const row of allRows) {
    for (const reason of row.expected.reasons) {
      t.equal(reason.clause, REASONS[reason.code].clause, `${row.name}: expected clause of ${reason.code} matches REASONS`)
    }
  }
  t.ok(noticeV1.version.length > 0, 'noticeV1 has a version')
})

// ---------------------------------------------------------------------------------------------
// Policy version 2 (II.3 also for refunding capital contributions, I.11) from its effectiveFrom.

t.test('decisions before version 2’s effectiveFrom keep version 1, from it on use version 2, each naming its version', async (t) => {
  t.strictSame(
    POLICY_VERSIONS.map((v) => v.version),
    [noticeV1.version, noticeV2.version, noticeV3.version, noticeV4.version],
    'every version is published, in the order of publication'
  )
  t.ok(new Date(noticeV2.effectiveFrom) > new Date(noticeV1.effectiveFrom), 'version 2 comes into force after version 1')
  t.equal(noticeV2.effectiveFrom, '2027-04-01T00:00:00+09:00')
  const effective = new Date(noticeV2.effectiveFrom)
  const listedConsent = bankConsent({ id: 'CS-listed', dataItems: [...REFUND_ITEMS] })
  const facts = provideFacts('financial_institution', { consents: [listedConsent] })
  const moments: { name: string; at: Date; version: string; refund: Expected }[] = [
    {
      name: 'one millisecond before',
      at: new Date(effective.getTime() - 1),
      // Version 3 (every legal person of 2(2)) is in force then, with version 1's §II.
      version: noticeV3.version,
      refund: deny(r('purpose_not_allowed', 'II'), r('items_not_necessary', 'II', ['capital_contribution']))
    },
    // Version 4 (version 2's §II.3 with every legal person of 2(2)) supersedes version 2 before it ever applies.
    { name: 'exactly at effectiveFrom', at: effective, version: noticeV4.version, refund: allowThirdParty(REFUND_ITEMS, 'CS-listed') },
    { name: 'a year later', at: new Date(effective.getTime() + 365 * DAY_MS), version: noticeV4.version, refund: allowThirdParty(REFUND_ITEMS, 'CS-listed') }
  ]
  for (const moment of moments) {
    t.test(moment.name, async (t) => {
      const policy = policyInForce(moment.at)
      t.equal(policy.version, moment.version, 'the version in force')
      const refundDecision = run(t, refund(), policy, facts, moment.at)
      checkDecision(t, refundDecision, moment.refund, policy, refund(), facts)
      t.equal(refundDecision.policyVersion, moment.version, 'the refund names the version that decided it')
      const billing = run(t, provide('financial_institution'), policy, facts, moment.at)
      t.equal(billing.decision, 'deny', 'the listed consent does not cover billing_amount')
      const billingWithCategoryConsent = decide(provide('financial_institution'), policy, provideFacts('financial_institution'), moment.at)
      t.equal(billingWithCategoryConsent.decision, 'allow', 'billing is allowed under either version')
      t.equal(billingWithCategoryConsent.policyVersion, moment.version, 'billing names the version that decided it')
    })
  }
  t.test('before version 1 came into force the first version still decides', async (t) => {
    t.equal(policyInForce(new Date('2020-01-01T00:00:00Z')).version, noticeV1.version)
  })
  t.test('version 2 differs from version 1 only in the II.3 row', async (t) => {
    const { version: _v1, effectiveFrom: _e1, recipientCategories: c1, gaps: _gaps, ...rest1 } = noticeV1
    const { version: _v2, effectiveFrom: _e2, recipientCategories: c2, ...rest2 } = noticeV2
    t.strictSame(rest2, rest1, 'everything else is the same document')
    t.strictSame(
      c2.filter((c) => c.id !== 'financial_institution'),
      c1.filter((c) => c.id !== 'financial_institution')
    )
    const row = c2.find((c) => c.id === 'financial_institution')!
    t.strictSame(row.purposes, ['billing', 'capital_contribution'])
    t.strictSame(row.necessaryItems, [...SECTION_II.financial_institution.necessaryItems, 'capital_contribution'])
    t.equal(row.clause, 'II.3')
  })
})

// ---------------------------------------------------------------------------------------------
// What a recipient must confirm (APPI Art. 30): read from the policy, never made up.

t.test('an allowed third-party provision carries the provider details; missing ones are said to be missing', async (t) => {
  const allowed = decide(provide('insurer'), noticeV1, provideFacts('insurer'), NOW)
  t.equal(allowed.decision, 'allow')
  t.strictSame(allowed.providerDetails, {
    name: { ja: '生活協同組合連合会コープ自然派事業連合', en: 'Co-op Shizenha federation' },
    address: null,
    representative: null,
    acquisition: { clause: '2(1)', ja: noticeV1.clauses.find((c) => c.id === '2(1)')!.ja, en: noticeV1.clauses.find((c) => c.id === '2(1)')!.en },
    missing: ['address', 'representative']
  })
  t.equal(decide(provide('insurer'), noticeV1, provideFacts('insurer', { consents: [] }), NOW).providerDetails, undefined, 'a deny carries none')
  t.equal(decide(jointUse('ordering', ['name']), noticeV1, noFacts(), NOW).providerDetails, undefined, 'joint use is no provision: none')

  // The details are the providing person's own: a member co-op registered with its address and representative.
  const coop: EntityFacts = { ...MEMBER_COOP, address: '兵庫県神戸市(試験用)', representative: '代表理事 試験' }
  const byCoop = decide(
    provide('insurer'),
    noticeV3,
    { ...provideFacts('insurer', { consents: [consent('insurer', { providerId: coop.id })] }), provider: coop },
    NOW
  )
  t.equal(byCoop.decision, 'allow')
  t.strictSame(byCoop.providerDetails?.name, coop.name, 'the member co-op that provides is named, not the federation')
  t.strictSame(byCoop.providerDetails?.address, { ja: '兵庫県神戸市(試験用)', en: '兵庫県神戸市(試験用)' })
  t.strictSame(byCoop.providerDetails?.representative, { ja: '代表理事 試験', en: '代表理事 試験' })
  t.strictSame(byCoop.providerDetails?.missing, [], 'a record that states them leaves nothing missing')
})
