/**
 * The notice linted against APPI: each warning is pinned to its article and clause, and a
 * document that states what was missing clears exactly that warning (table-driven).
 */
import t from 'tap'
import { deepFreeze, type PolicyDocument } from '../../src/policy/document.js'
import { lintPolicy, POLICY_WARNING_CODES, type PolicyWarningCode } from '../../src/policy/lint.js'
import { noticeV1 } from '../../src/policy/notice-v1.js'
import { noticeV2 } from '../../src/policy/notice-v2.js'
import { POLICY_VERSIONS } from '../../src/policy/registry.js'

const JAPANESE = /[\u3040-\u30ff\u3400-\u9fff]/

/** What each warning cites, from appi.md and the notice, not from the lint's code. */
const EXPECTED: Record<PolicyWarningCode, { article: string; clause: string }> = {
  joint_use_responsible_party_address: { article: 'APPI Art. 27(5)(iii)', clause: '2(2)' },
  joint_use_responsible_party_representative: { article: 'APPI Art. 27(5)(iii)', clause: '2(2)' },
  joint_use_joint_user_purposes: { article: 'APPI Art. 27(5)(iii)', clause: '2(2)' },
  joint_use_joint_users_not_named: { article: 'APPI Art. 27(5)(iii)', clause: '2(2)' },
  vital_interest_consent_impracticable: { article: 'APPI Art. 27(1)(ii)', clause: '2(5)b' },
  provision_abroad_not_stated: { article: 'APPI Art. 28', clause: 'II' }
}

const text = (ja: string, en: string) => ({ ja, en })

/** One fix per warning: what a later version would have to state. The texts are test data only. */
const FIXES: Record<PolicyWarningCode, (doc: PolicyDocument) => PolicyDocument> = {
  joint_use_responsible_party_address: (doc) => ({
    ...doc,
    parties: doc.parties.map((p) => (p.role === 'responsible_for_management' ? { ...p, address: text('(試験用住所)', '(test address)') } : p))
  }),
  joint_use_responsible_party_representative: (doc) => ({
    ...doc,
    parties: doc.parties.map((p) => (p.role === 'responsible_for_management' ? { ...p, representative: text('(試験用代表者)', '(test representative)') } : p))
  }),
  joint_use_joint_user_purposes: (doc) => ({ ...doc, jointUse: { ...doc.jointUse, jointUserPurposes: text('(試験用目的)', '(test purposes)') } }),
  joint_use_joint_users_not_named: (doc) => ({
    ...doc,
    parties: doc.parties.map((p) => (p.id === 'member_coops' ? { ...p, members: [text('(試験用生協A)', '(test co-op A)')] } : p))
  }),
  vital_interest_consent_impracticable: (doc) => ({
    ...doc,
    exceptions: doc.exceptions.map((e) =>
      e.basis === 'vital_interest' ? { ...e, condition: text('本人の同意を得ることが困難であるとき', "when the person's consent is hard to obtain") } : e
    )
  }),
  provision_abroad_not_stated: (doc) => ({ ...doc, provisionAbroad: text('(試験用:外国への提供は行いません)', '(test: no provision abroad)') })
}

const codesOf = (doc: PolicyDocument) => lintPolicy(doc).map((w) => w.code)

t.test('every published version is linted; version 1 and 2 state none of the six', async (t) => {
  for (const version of POLICY_VERSIONS) {
    t.strictSame(codesOf(version), [...POLICY_WARNING_CODES], `${version.version}: every warning`)
  }
})

t.test('each warning names its article and clause, in both languages', async (t) => {
  for (const warning of lintPolicy(noticeV1)) {
    t.equal(warning.article, EXPECTED[warning.code].article, `${warning.code}: article`)
    t.equal(warning.clause, EXPECTED[warning.code].clause, `${warning.code}: clause`)
    t.ok(
      noticeV1.clauses.some((c) => c.id === warning.clause),
      `${warning.code}: the clause is one of the notice`
    )
    t.match(warning.ja, JAPANESE, `${warning.code}: ja is Japanese`)
    t.notMatch(warning.en, JAPANESE, `${warning.code}: en is English`)
  }
})

t.test('a version that states what was missing clears exactly that warning', async (t) => {
  for (const code of POLICY_WARNING_CODES) {
    const fixed = deepFreeze(FIXES[code]({ ...noticeV2, version: `fixed-${code}` }))
    t.strictSame(
      codesOf(fixed),
      POLICY_WARNING_CODES.filter((c) => c !== code),
      `${code}: cleared, the others stand`
    )
  }
  const everything = deepFreeze(POLICY_WARNING_CODES.reduce((doc, code) => FIXES[code](doc), { ...noticeV2, version: 'fixed-all' } as PolicyDocument))
  t.strictSame(lintPolicy(everything), [], 'a version stating all of it has no warning')
})

t.test('the address fix must cover every responsible party', async (t) => {
  const half: PolicyDocument = deepFreeze({
    ...noticeV2,
    version: 'half',
    parties: noticeV2.parties.map((p) => (p.id === 'shizenha' ? { ...p, address: text('(試験用住所)', '(test address)') } : p))
  })
  t.ok(codesOf(half).includes('joint_use_responsible_party_address'), 'the member co-ops still lack one')
})

t.test('lint is pure', async (t) => {
  const before = JSON.stringify(noticeV1)
  t.strictSame(lintPolicy(noticeV1), lintPolicy(noticeV1))
  t.equal(JSON.stringify(noticeV1), before)
})
