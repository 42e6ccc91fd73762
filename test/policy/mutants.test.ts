/**
 * Rows the mutation run (stryker.config.mjs, test/README.md) showed engine.test.ts to be without:
 * each one pins an edge where a changed comparison, condition or list in src/policy would turn an
 * allow into a deny or a deny into an allow, or change the reasons a deny gives. Table-driven like
 * engine.test.ts, asserting the decision and the exact reason codes (and items where a reason has
 * them); the expectations follow the notice and APPI, not the engine's code.
 */
import t, { type Test } from 'tap'
import { EQUIVALENT_MEASURES_CHECK_DAYS, equivalentMeasuresOf, isAbroadForArt28, measuresCurrent, storedMeasures } from '../../src/policy/abroad.js'
import { deepFreeze, type PolicyDocument } from '../../src/policy/document.js'
import {
  decide,
  denyOutsideClientScope,
  OBLIGATION_CODES,
  type ConsentFacts,
  type ContractFacts,
  type ContractorFacts,
  type Decision,
  type DecisionRequest,
  type Facts,
  type RecipientFacts
} from '../../src/policy/engine.js'
import { noticeV1 } from '../../src/policy/notice-v1.js'
import { noticeV3 } from '../../src/policy/notice-v3.js'
import { FEDERATION, type EntityFacts } from '../../src/policy/parties.js'
import type { ReasonCode, WarningCode } from '../../src/policy/reasons.js'
import type { Channel, DataItem } from '../../src/policy/vocabulary.js'

const NOW = new Date('2026-11-25T00:00:00Z')
const DAY_MS = 86_400_000
const at = (ms: number): Date => new Date(NOW.getTime() + ms)
const MEMBER = 'M-000123'

// ---------------------------------------------------------------------------------------------
// Builders: the same shapes as engine.test.ts, kept apart so that this file stands on its own.

const INSURER_ITEMS: DataItem[] = ['name', 'name_kana', 'address', 'phone', 'date_of_birth', 'member_number', 'insurance_application']

const provideInsurer = (overrides: Partial<DecisionRequest> = {}): DecisionRequest => ({
  channel: 'third_party',
  memberId: MEMBER,
  purpose: 'brokerage',
  serviceCategory: 'mutual_aid_insurance',
  dataItems: [...INSURER_ITEMS],
  recipientId: 'R-insurer',
  method: 'electronic',
  ...overrides
})

const entrust = (overrides: Partial<DecisionRequest> = {}): DecisionRequest => ({
  channel: 'entrustment',
  memberId: MEMBER,
  purpose: 'delivery',
  serviceCategory: 'joint_purchasing',
  dataItems: ['name', 'address', 'phone'],
  contractorId: 'K-1',
  ...overrides
})

const jointUse = (jointUser: string | undefined): DecisionRequest => ({
  channel: 'joint_use',
  memberId: MEMBER,
  purpose: 'ordering',
  serviceCategory: 'joint_purchasing',
  dataItems: ['name'],
  ...(jointUser === undefined ? {} : { jointUser })
})

const recipient = (overrides: Partial<RecipientFacts> = {}): RecipientFacts => ({
  id: 'R-insurer',
  category: 'insurer',
  name: 'Insurer Co., Ltd.',
  address: 'Kobe',
  representative: 'Tanaka',
  country: 'JP',
  active: true,
  equivalentMeasures: null,
  ...overrides
})

const consent = (overrides: Partial<ConsentFacts> = {}): ConsentFacts => ({
  id: 'CS-insurer',
  providerId: FEDERATION.id,
  recipientCategory: 'insurer',
  recipientId: null,
  contractorId: null,
  foreignRecipient: null,
  dataItems: null,
  obtainedAt: at(-30 * DAY_MS),
  method: 'web',
  withdrawnAt: null,
  policyVersion: noticeV1.version,
  ...overrides
})

const contract = (overrides: Partial<ContractFacts> = {}): ContractFacts => ({
  id: 'C-1',
  reference: 'OUT-2026-001',
  signedAt: new Date('2025-12-15T00:00:00Z'),
  validFrom: new Date('2026-01-01T00:00:00Z'),
  validUntil: new Date('2027-12-31T23:59:59Z'),
  purposes: ['delivery', 'billing'],
  dataItems: ['name', 'address', 'phone', 'order_history'],
  ...overrides
})

const contractor = (overrides: Partial<ContractorFacts> = {}): ContractorFacts => ({
  id: 'K-1',
  name: 'Kansai Logistics',
  address: 'Osaka',
  country: 'JP',
  equivalentMeasures: null,
  contracts: [contract()],
  latestInspection: { id: 'I-1', inspectedAt: at(-100 * DAY_MS), result: 'passed' },
  ...overrides
})

const PH_INFO = { country: 'PH', system: 'Data Privacy Act of 2012', measures: 'Contract clauses' }

/** A consent to entrustment to contractor K-1 in the Philippines, given with the rule 17(2) information. */
const contractorConsent = (overrides: Partial<ConsentFacts> = {}): ConsentFacts =>
  consent({ id: 'CS-manila', recipientCategory: null, contractorId: 'K-1', foreignRecipient: PH_INFO, ...overrides })

const MEMBER_COOP: EntityFacts = {
  id: '5d0c7a4e-3b8f-4a51-9a3e-2f6d1c9b7e10',
  kind: 'member_coop',
  name: { ja: '生活協同組合コープ自然派兵庫', en: 'Co-op Shizenha Hyogo' },
  address: null,
  representative: null,
  corporateNumber: null,
  active: true
}

const facts = (overrides: Partial<Facts> = {}): Facts => ({ provider: FEDERATION, memberSeen: true, consents: [], suspensions: [], ...overrides })
const insurerFacts = (overrides: Partial<Facts> = {}): Facts => facts({ recipient: recipient(), consents: [consent()], ...overrides })
const manilaFacts = (consents: ConsentFacts[], overrides: Partial<Facts> = {}): Facts =>
  facts({ contractor: contractor({ country: 'PH' }), consents, ...overrides })
const measures = (lastCheckedAt: Date) => ({ basis: 'Contract clauses binding the recipient to APPI-level measures', lastCheckedAt })

// ---------------------------------------------------------------------------------------------
// Expectations

interface Expected {
  readonly decision: 'allow' | 'deny'
  readonly reasons: ReasonCode[]
  /** Items of the reasons that carry them, by code. */
  readonly items?: Partial<Record<ReasonCode, DataItem[]>>
  readonly consentId?: string
}

interface Row {
  readonly name: string
  readonly policy?: PolicyDocument
  readonly published?: readonly PolicyDocument[]
  readonly request: DecisionRequest
  readonly facts: Facts
  readonly now?: Date
  readonly expected: Expected
}

const allow = (reasons: ReasonCode[], consentId?: string): Expected => ({ decision: 'allow', reasons, ...(consentId === undefined ? {} : { consentId }) })
const deny = (...reasons: ReasonCode[]): Expected => ({ decision: 'deny', reasons })
const ENTRUSTED: ReasonCode[] = ['contract_in_force', 'inspection_current']
const PROVIDED: ReasonCode[] = ['consent_on_record']

function check(t: Test, decision: Decision, expected: Expected): void {
  t.equal(decision.decision, expected.decision, 'decision')
  t.strictSame(decision.reasons.map((r) => r.code).sort(), [...expected.reasons].sort(), 'exactly these reason codes')
  for (const [code, items] of Object.entries(expected.items ?? {})) {
    t.strictSame(decision.reasons.find((r) => r.code === code)?.items, items, `${code} names these items`)
  }
  if (expected.decision === 'allow') t.equal(decision.consentId, expected.consentId, 'consentId')
  else t.strictSame(decision.obligations, [], 'a deny has no obligations')
}

function runRows(t: Test, rows: readonly Row[]): void {
  for (const row of rows) {
    t.test(row.name, async (t) => {
      check(t, decide(row.request, row.policy ?? noticeV1, row.facts, row.now ?? NOW, row.published), row.expected)
    })
  }
}

// ---------------------------------------------------------------------------------------------
// Entrustment: a contract's last instant, and items each covered by some contract but by none whole.

t.test('entrustment: contract validity and coverage', async (t) => {
  runRows(t, [
    {
      name: 'a contract valid until exactly now is still in force',
      request: entrust(),
      facts: facts({ contractor: contractor({ contracts: [contract({ validUntil: NOW })] }) }),
      expected: allow(ENTRUSTED)
    },
    {
      name: 'a contract valid from one millisecond from now is not in force yet',
      request: entrust(),
      facts: facts({ contractor: contractor({ contracts: [contract({ validFrom: at(1) })] }) }),
      expected: deny('contract_missing')
    },
    {
      name: 'each item is in some contract for the purpose, but no contract has them all: every requested item is named',
      request: entrust({ dataItems: ['name', 'email'] }),
      facts: facts({
        contractor: contractor({
          contracts: [
            contract({ id: 'C-name', purposes: ['delivery'], dataItems: ['name'] }),
            contract({ id: 'C-email', purposes: ['delivery'], dataItems: ['email'] })
          ]
        })
      }),
      expected: { ...deny('contract_items_not_covered'), items: { contract_items_not_covered: ['name', 'email'] } }
    },
    {
      name: 'no contract is for the purpose, one of them has the items: only the purpose is reported',
      request: entrust({ purpose: 'survey' }),
      facts: facts({
        contractor: contractor({
          contracts: [contract({ id: 'C-all', purposes: ['delivery'] }), contract({ id: 'C-name', purposes: ['billing'], dataItems: ['name'] })]
        })
      }),
      expected: deny('contract_purpose_not_covered')
    },
    {
      name: 'contracts for the purpose: the items named are those no contract for the purpose has',
      request: entrust({ dataItems: ['name', 'email', 'bank_account'] }),
      facts: facts({
        contractor: contractor({
          contracts: [
            contract({ id: 'C-wide', purposes: ['delivery'], dataItems: ['name', 'email'] }),
            contract({ id: 'C-narrow', purposes: ['delivery'], dataItems: ['name'] })
          ]
        })
      }),
      expected: { ...deny('contract_items_not_covered'), items: { contract_items_not_covered: ['bank_account'] } }
    },
    {
      name: 'an inspection one millisecond short of the interval is current',
      request: entrust(),
      facts: facts({ contractor: contractor({ latestInspection: { id: 'I-1', inspectedAt: at(-365 * DAY_MS + 1), result: 'passed' } }) }),
      expected: allow(ENTRUSTED)
    }
  ])
})

// ---------------------------------------------------------------------------------------------
// Entrustment abroad (Art. 28(1)): which consents to the contractor count.

t.test('entrustment abroad: the consent that grounds it', async (t) => {
  const abroadAllowed = (consentId?: string): Expected =>
    allow([...ENTRUSTED, consentId === undefined ? 'abroad_equivalent_measures' : 'abroad_consent_on_record'], consentId)
  runRows(t, [
    {
      name: 'a consent obtained exactly now counts',
      request: entrust(),
      facts: manilaFacts([contractorConsent({ obtainedAt: NOW })]),
      expected: abroadAllowed('CS-manila')
    },
    {
      name: 'a consent obtained one millisecond from now does not count yet',
      request: entrust(),
      facts: manilaFacts([contractorConsent({ obtainedAt: at(1) })]),
      expected: deny('contractor_abroad')
    },
    {
      name: 'a consent withdrawn exactly now no longer counts',
      request: entrust(),
      facts: manilaFacts([contractorConsent({ withdrawnAt: NOW })]),
      expected: deny('contractor_abroad')
    },
    {
      name: 'a consent withdrawn with effect one millisecond from now still counts',
      request: entrust(),
      facts: manilaFacts([contractorConsent({ withdrawnAt: at(1) })]),
      expected: abroadAllowed('CS-manila')
    },
    {
      name: 'a consent to entrustment to another contractor does not count',
      request: entrust(),
      facts: manilaFacts([contractorConsent({ contractorId: 'K-2' })]),
      expected: deny('contractor_abroad')
    },
    {
      name: 'a consent that permits another provider does not count',
      request: entrust(),
      facts: manilaFacts([contractorConsent({ providerId: MEMBER_COOP.id })]),
      expected: deny('contractor_abroad')
    },
    {
      name: 'a consent listing every entrusted item counts',
      request: entrust(),
      facts: manilaFacts([contractorConsent({ dataItems: ['phone', 'address', 'name'] })]),
      expected: abroadAllowed('CS-manila')
    },
    {
      name: 'a consent to the contractor given without the rule 17(2) information does not count',
      request: entrust(),
      facts: manilaFacts([contractorConsent({ foreignRecipient: null })]),
      expected: deny('contractor_abroad')
    },
    {
      name: 'a consent to a recipient category is no consent to the contractor',
      request: entrust(),
      facts: manilaFacts([consent({ foreignRecipient: PH_INFO })]),
      expected: deny('contractor_abroad')
    },
    {
      name: 'no provider: a consent permits no one, so the contractor abroad is denied as well',
      request: entrust(),
      facts: manilaFacts([contractorConsent()], { provider: null }),
      expected: deny('provider_unknown', 'contractor_abroad')
    }
  ])
})

// ---------------------------------------------------------------------------------------------
// An equivalent-measures system (Art. 28(3)) counts when checked within the last year, not later.

t.test('equivalent measures: checked within the interval that ends now', async (t) => {
  const usRecipient = (lastCheckedAt: Date) => insurerFacts({ recipient: recipient({ country: 'US', equivalentMeasures: measures(lastCheckedAt) }) })
  const grounded = allow([...PROVIDED, 'abroad_equivalent_measures'], 'CS-insurer')
  runRows(t, [
    { name: 'checked exactly now', request: provideInsurer(), facts: usRecipient(NOW), expected: grounded },
    { name: 'checked one millisecond from now: not a check yet', request: provideInsurer(), facts: usRecipient(at(1)), expected: deny('recipient_abroad') },
    { name: 'checked a year from now: not a check yet', request: provideInsurer(), facts: usRecipient(at(365 * DAY_MS)), expected: deny('recipient_abroad') },
    { name: 'checked exactly 365 days ago', request: provideInsurer(), facts: usRecipient(at(-365 * DAY_MS)), expected: grounded },
    { name: 'checked 365 days and 1 ms ago', request: provideInsurer(), facts: usRecipient(at(-365 * DAY_MS - 1)), expected: deny('recipient_abroad') },
    {
      name: 'entrustment to PH on measures checked exactly 365 days ago',
      request: entrust(),
      facts: facts({ contractor: contractor({ country: 'PH', equivalentMeasures: measures(at(-365 * DAY_MS)) }) }),
      expected: allow([...ENTRUSTED, 'abroad_equivalent_measures'])
    },
    {
      name: 'entrustment to PH on measures checked one millisecond from now',
      request: entrust(),
      facts: facts({ contractor: contractor({ country: 'PH', equivalentMeasures: measures(at(1)) }) }),
      expected: deny('contractor_abroad')
    }
  ])
  t.equal(EQUIVALENT_MEASURES_CHECK_DAYS, 365, 'about once a year, as the PPC guidelines expect')
  t.equal(measuresCurrent(null, NOW), false, 'no system recorded: nothing is current')
})

// ---------------------------------------------------------------------------------------------
// The PPC-designated countries (rule 15) are treated as Japan; every other country is abroad.

t.test('designated countries: each one is treated as Japan, others are abroad', async (t) => {
  const EU_AND_EEA_AND_UK = [
    ...[
      'AT',
      'BE',
      'BG',
      'HR',
      'CY',
      'CZ',
      'DK',
      'EE',
      'FI',
      'FR',
      'DE',
      'GR',
      'HU',
      'IE',
      'IT',
      'LV',
      'LT',
      'LU',
      'MT',
      'NL',
      'PL',
      'PT',
      'RO',
      'SK',
      'SI',
      'ES',
      'SE'
    ],
    ...['IS', 'LI', 'NO'],
    'GB'
  ]
  const rows: Row[] = [
    ...['JP', ...EU_AND_EEA_AND_UK].map((country): Row => ({
      name: `a recipient in ${country} needs no Art. 28 ground`,
      request: provideInsurer(),
      facts: insurerFacts({ recipient: recipient({ country }) }),
      expected: allow(PROVIDED, 'CS-insurer')
    })),
    // Near misses: outside the EU/EEA (CH, US, KR, CN), a code in the wrong case, and the EU itself.
    ...['CH', 'US', 'KR', 'CN', 'de', 'jp', 'EU', ''].map((country): Row => ({
      name: `a recipient in ${JSON.stringify(country)} is abroad`,
      request: provideInsurer(),
      facts: insurerFacts({ recipient: recipient({ country }) }),
      expected: deny('recipient_abroad')
    })),
    ...['AT', 'NO', 'GB'].map((country): Row => ({
      name: `a contractor in ${country} needs no Art. 28 ground`,
      request: entrust(),
      facts: facts({ contractor: contractor({ country }) }),
      expected: allow(ENTRUSTED)
    }))
  ]
  runRows(t, rows)
  t.equal(isAbroadForArt28('JP'), false, 'Japan')
})

t.test('equivalent measures as stored and as the engine reads them', async (t) => {
  t.strictSame(
    storedMeasures({ basis: 'APEC CBPR', lastCheckedAt: '2026-11-25T09:00:00+09:00' }),
    { basis: 'APEC CBPR', lastCheckedAt: '2026-11-25T00:00:00.000Z' },
    'the time in UTC'
  )
  t.equal(storedMeasures(null), null)
  t.equal(storedMeasures(undefined), null)
  const read = equivalentMeasuresOf({ basis: 'APEC CBPR', lastCheckedAt: '2026-11-25T09:00:00+09:00' })
  t.equal(read?.basis, 'APEC CBPR')
  t.equal(read?.lastCheckedAt.getTime(), NOW.getTime(), 'the instant, whatever the offset it was written with')
  t.equal(equivalentMeasuresOf(null), null)
  t.equal(equivalentMeasuresOf(undefined), null)
})

// ---------------------------------------------------------------------------------------------
// Third-party provision: what fails closed when the notice's data does not know a thing.

t.test('third party: the notice decides what it knows, and denies the rest', async (t) => {
  const withoutEmail: PolicyDocument = deepFreeze({ ...noticeV1, version: 'test-no-email', dataItems: noticeV1.dataItems.filter((d) => d.id !== 'email') })
  const withoutMemberActivity: PolicyDocument = deepFreeze({
    ...noticeV1,
    version: 'test-no-member-activity',
    recipientCategories: noticeV1.recipientCategories.filter((c) => c.id !== 'member_activity')
  })
  const unpublished: PolicyDocument = deepFreeze({ ...noticeV1, version: 'test-unpublished' })
  const withoutInsurerOld: PolicyDocument = deepFreeze({
    ...noticeV1,
    version: 'test-without-insurer',
    recipientCategories: noticeV1.recipientCategories.filter((c) => c.id !== 'insurer')
  })
  runRows(t, [
    {
      // Through a decision: otherwise only the document hash in versions.test.ts notices the flag flipped.
      name: 'household to an insurer: not a necessary item, and not a sensitive one',
      request: provideInsurer({ dataItems: ['name', 'household'] }),
      facts: insurerFacts(),
      expected: { ...deny('items_not_necessary', 'consent_items_not_covered'), items: { items_not_necessary: ['household'] } }
    },
    {
      name: 'an item the notice does not list is treated as sensitive',
      policy: withoutEmail,
      request: provideInsurer({ dataItems: ['name', 'email'] }),
      facts: insurerFacts(),
      expected: { ...deny('sensitive_item', 'consent_items_not_covered'), items: { sensitive_item: ['email'] } }
    },
    {
      name: 'a recipient of a category the notice does not have is unknown',
      policy: withoutMemberActivity,
      request: { ...provideInsurer(), purpose: 'member_activities', serviceCategory: undefined, dataItems: ['name'], recipientId: 'R-activity' },
      facts: facts({
        recipient: recipient({ id: 'R-activity', category: 'member_activity' }),
        consents: [consent({ id: 'CS-activity', recipientCategory: 'member_activity' })]
      }),
      expected: deny('recipient_unknown')
    },
    {
      name: 'a consent given under the version deciding covers its necessary items, even when no list of published versions has it',
      policy: unpublished,
      published: [],
      request: provideInsurer(),
      facts: insurerFacts({ consents: [consent({ policyVersion: unpublished.version })] }),
      expected: allow(PROVIDED, 'CS-insurer')
    },
    {
      name: 'a consent given under a version whose §II had no such category covers nothing',
      published: [withoutInsurerOld],
      request: provideInsurer(),
      facts: insurerFacts({ consents: [consent({ policyVersion: withoutInsurerOld.version })] }),
      expected: deny('consent_items_not_covered')
    },
    {
      name: 'no provider: nothing permits a provision, and no consent is for no one',
      request: provideInsurer(),
      facts: insurerFacts({ provider: null }),
      expected: deny('provider_unknown', 'consent_missing')
    },
    {
      name: 'a recipient in the US and a consent with the information for another country',
      request: provideInsurer(),
      facts: insurerFacts({ recipient: recipient({ country: 'US' }), consents: [consent({ foreignRecipient: { ...PH_INFO, country: 'VN' } })] }),
      expected: deny('recipient_abroad')
    },
    {
      name: 'a recipient in the US: the consent that permits must be the one given with the information',
      request: provideInsurer(),
      facts: insurerFacts({
        recipient: recipient({ country: 'US' }),
        consents: [consent({ id: 'CS-informed', foreignRecipient: { ...PH_INFO, country: 'US' }, withdrawnAt: at(-DAY_MS) }), consent({ id: 'CS-plain' })]
      }),
      expected: deny('recipient_abroad')
    }
  ])
})

// ---------------------------------------------------------------------------------------------
// Channels and joint users the engine does not know: default deny.

t.test('default deny: what the engine has no rule for', async (t) => {
  const unknownChannel: DecisionRequest = { ...jointUse('JCCU'), channel: 'sale' as Channel }
  const decision = decide(unknownChannel, noticeV1, facts(), NOW)
  t.equal(decision.decision, 'deny', 'a channel the notice does not name is denied')
  t.strictSame(decision.obligations, [], 'with no obligations')
  t.equal(decision.providerDetails, undefined, 'and no provider details')

  runRows(t, [
    {
      name: 'a statutory basis the notice does not state is denied',
      policy: deepFreeze({ ...noticeV1, version: 'test-no-vital-interest', exceptions: noticeV1.exceptions.filter((e) => e.basis !== 'vital_interest') }),
      request: {
        channel: 'statutory_exception',
        memberId: MEMBER,
        purpose: 'urgent_contact',
        dataItems: ['name'],
        exception: { basis: 'vital_interest', reference: 'Fire brigade request 7', approvedBy: 'Dept. manager Sato', consentImpracticable: 'Unconscious' }
      },
      facts: facts(),
      expected: deny('legal_obligation')
    },
    {
      name: 'v3: a joint user the registry did not look up is unknown',
      policy: noticeV3,
      request: jointUse('JCCU'),
      facts: facts(),
      expected: deny('joint_user_unknown')
    },
    {
      name: 'v3: a joint user of a kind the notice does not name as joint user',
      policy: deepFreeze({ ...noticeV3, version: 'test-no-jccu', jointUse: { ...noticeV3.jointUse, jointUsers: ['shizenha', 'member_coops'] } }),
      request: jointUse('JCCU'),
      facts: facts({ jointUser: { ...MEMBER_COOP, id: 'JCCU', kind: 'jccu' } }),
      expected: deny('joint_user_unknown')
    }
  ])
})

// ---------------------------------------------------------------------------------------------
// Warnings: what an allow or deny carries for a data-protection officer (not part of the decision).

t.test('warnings: the notice’s joint-use gaps on a joint-use allow, member_unseen on any decision', async (t) => {
  const JOINT_USE_GAPS: WarningCode[] = [
    'joint_use_responsible_party_address',
    'joint_use_responsible_party_representative',
    'joint_use_joint_user_purposes',
    'joint_use_joint_users_not_named'
  ]
  const codes = (decision: Decision) => decision.warnings.map((w) => w.code)

  const allowed = decide(jointUse('JCCU'), noticeV1, facts(), NOW)
  t.equal(allowed.decision, 'allow')
  t.strictSame(codes(allowed), JOINT_USE_GAPS, 'a joint-use allow carries the gaps of 2(2), and only those')
  t.ok(
    allowed.warnings.every((w) => w.clause === '2(2)' && w.article === 'APPI Art. 27(5)(iii)'),
    'each names clause 2(2) and Art. 27(5)(iii)'
  )

  t.strictSame(codes(decide(jointUse('Zenrosai'), noticeV1, facts(), NOW)), [], 'a joint-use deny carries none')
  t.strictSame(codes(decide(provideInsurer(), noticeV1, insurerFacts(), NOW)), [], 'a third-party allow carries none')
  t.strictSame(codes(decide(entrust(), noticeV1, facts({ contractor: contractor() }), NOW)), [], 'an entrustment allow carries none')

  const unseen = decide(provideInsurer(), noticeV1, insurerFacts({ memberSeen: false }), NOW)
  t.equal(unseen.decision, 'allow', 'the warning does not decide')
  t.strictSame(unseen.warnings, [{ code: 'member_unseen', clause: '2(6)' }], 'a member never seen is warned of')
  const unseenDeny = decide(provideInsurer(), noticeV1, insurerFacts({ memberSeen: false, consents: [] }), NOW)
  t.equal(unseenDeny.decision, 'deny')
  t.strictSame(codes(unseenDeny), ['member_unseen'], 'on a deny too')
  t.strictSame(
    codes(decide(jointUse('JCCU'), noticeV1, facts({ memberSeen: false }), NOW)),
    [...JOINT_USE_GAPS, 'member_unseen'],
    'after the gaps on a joint use'
  )
})

// ---------------------------------------------------------------------------------------------
// Provider details (APPI Art. 30) go with every allowed provision, entrustment abroad included.

t.test('provider details: with an allowed provision only', async (t) => {
  const rows: { name: string; decision: Decision; details: boolean }[] = [
    { name: 'third-party allow', decision: decide(provideInsurer(), noticeV1, insurerFacts(), NOW), details: true },
    { name: 'entrustment abroad on a consent', decision: decide(entrust(), noticeV1, manilaFacts([contractorConsent()]), NOW), details: true },
    { name: 'entrustment in Japan', decision: decide(entrust(), noticeV1, facts({ contractor: contractor() }), NOW), details: false },
    { name: 'third-party deny', decision: decide(provideInsurer(), noticeV1, insurerFacts({ consents: [] }), NOW), details: false }
  ]
  for (const row of rows) {
    t.equal(row.decision.providerDetails !== undefined, row.details, `${row.name}: ${row.details ? 'carries' : 'carries no'} provider details`)
    if (row.details) t.strictSame(row.decision.providerDetails?.name, FEDERATION.name, `${row.name}: the provider is named`)
  }
})

// ---------------------------------------------------------------------------------------------
// What the HTTP contract lists beside the engine: the obligation codes, a client-scope deny.

t.test('the obligation codes the schema lists are those the engine gives', async (t) => {
  const abroad = decide(entrust(), noticeV1, manilaFacts([contractorConsent()]), NOW)
  t.equal(abroad.decision, 'allow')
  t.strictSame(abroad.obligations.map((o) => o.code).sort(), [...OBLIGATION_CODES].sort(), 'an entrustment abroad carries each of them')
})

t.test('a client-scope deny carries no warnings', async (t) => {
  const decision = denyOutsideClientScope(noticeV1, FEDERATION.id)
  t.equal(decision.decision, 'deny')
  t.strictSame(
    decision.reasons.map((r) => r.code),
    ['client_scope']
  )
  t.strictSame(decision.warnings, [])
})
