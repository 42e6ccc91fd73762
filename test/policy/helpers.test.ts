/**
 * The small pieces around the engine that the mutation run found unpinned: which version is in
 * force for a list given out of order, the legal persons a version names, that a published
 * document cannot be changed at run time, the lint's edges and texts, and the consent-method
 * labels members read.
 */
import t from 'tap'
import { deepFreeze, type PolicyDocument } from '../../src/policy/document.js'
import { lintPolicy, policyWarningText, POLICY_WARNING_CODES } from '../../src/policy/lint.js'
import { noticeV1 } from '../../src/policy/notice-v1.js'
import { noticeV2 } from '../../src/policy/notice-v2.js'
import { noticeV3 } from '../../src/policy/notice-v3.js'
import { FEDERATION, missingDetails, namedEntities, namedEntity, NAMED_ENTITIES, type EntityFacts } from '../../src/policy/parties.js'
import { warningText, WARNINGS } from '../../src/policy/reasons.js'
import { POLICY_VERSIONS, policyInForce } from '../../src/policy/registry.js'
import { CONSENT_METHOD_LABELS, CONSENT_METHODS } from '../../src/policy/vocabulary.js'

const JAPANESE = /[\u3040-\u30ff\u3400-\u9fff]/
const text = (ja: string, en: string) => ({ ja, en })

t.test('policyInForce: the version that came into force last, whatever the order of the list', async (t) => {
  const later = deepFreeze({ ...noticeV1, version: 'later', effectiveFrom: '2027-01-01T00:00:00+09:00' })
  const earlier = deepFreeze({ ...noticeV1, version: 'earlier', effectiveFrom: '2026-01-01T00:00:00+09:00' })
  const afterBoth = new Date('2028-01-01T00:00:00Z')
  t.equal(policyInForce(afterBoth, [later, earlier]).version, 'later', 'listed first, in force last')
  t.equal(policyInForce(afterBoth, [earlier, later]).version, 'later', 'listed last, in force last')
  t.equal(policyInForce(new Date('2026-06-01T00:00:00Z'), [later, earlier]).version, 'earlier', 'before the later one, the earlier')
  t.throws(() => policyInForce(afterBoth, []), { message: 'no policy version is published' }, 'no version at all is an error, not undefined')
})

t.test('the legal persons a version names', async (t) => {
  t.strictSame(namedEntities(noticeV1), [], 'version 1 states no kinds, so it names no legal person')
  const named = namedEntities(noticeV3)
  t.strictSame(
    named.map((e) => [e.id, e.kind]),
    [
      ['shizenha', 'federation'],
      ['JCCU', 'jccu']
    ],
    'the federation and JCCU; the member co-ops are registered, never named'
  )
  for (const entity of named) {
    t.equal(entity.active, true, `${entity.id}: active`)
    t.equal(entity.address, null, `${entity.id}: the notice states no address`)
    t.equal(entity.representative, null, `${entity.id}: the notice states no representative`)
    t.equal(entity.corporateNumber, null, `${entity.id}: nor a corporate number`)
  }
  const withAddress: PolicyDocument = deepFreeze({
    ...noticeV3,
    version: 'test-address',
    parties: noticeV3.parties.map((p) =>
      p.id === 'shizenha' ? { ...p, address: text('大阪府(試験用)', 'Osaka (test)'), representative: text('代表理事 試験', 'Test') } : p
    )
  })
  const federation = namedEntities(withAddress).find((e) => e.kind === 'federation')
  t.equal(federation?.address, '大阪府(試験用)', 'an address the notice states is kept as written, in Japanese')
  t.equal(federation?.representative, '代表理事 試験', 'so is a representative')

  t.equal(FEDERATION.kind, 'federation')
  t.equal(namedEntity('shizenha'), FEDERATION, 'the federation by its id')
  t.equal(namedEntity('JCCU')?.kind, 'jccu', 'JCCU by its id')
  t.equal(namedEntity('member_coops'), undefined, 'the member co-ops are no one person')
  t.equal(namedEntity('nobody'), undefined, 'an id no one has')
  t.equal(NAMED_ENTITIES.length, 2)
})

t.test('missingDetails: what an entity record does not state', async (t) => {
  const entity = (overrides: Partial<EntityFacts>): EntityFacts => ({
    ...FEDERATION,
    address: 'Osaka',
    representative: 'Test',
    corporateNumber: '1234567890123',
    ...overrides
  })
  t.strictSame(missingDetails(entity({})), [], 'a complete record')
  t.strictSame(missingDetails(entity({ address: null })), ['address'])
  t.strictSame(missingDetails(entity({ representative: null, corporateNumber: null })), ['representative', 'corporateNumber'])
  t.strictSame(missingDetails(FEDERATION), ['address', 'representative', 'corporateNumber'], 'the federation as the notice names it')
})

t.test('a published document cannot be changed at run time', async (t) => {
  for (const version of POLICY_VERSIONS) {
    const unfrozen: string[] = []
    const walk = (value: unknown, path: string): void => {
      if (value === null || typeof value !== 'object') return
      if (!Object.isFrozen(value)) unfrozen.push(path)
      for (const [key, inner] of Object.entries(value)) walk(inner, `${path}.${key}`)
    }
    walk(version, version.version)
    t.strictSame(unfrozen, [], `${version.version}: every object and array in it is frozen`)
  }
  t.throws(() => {
    ;(noticeV1.recipientCategories[0]!.necessaryItems as string[]).push('health_care')
  }, TypeError)

  const value = { a: [{ b: 1 }], c: null, d: 'text' }
  t.equal(deepFreeze(value), value, 'deepFreeze returns what it froze')
  t.ok(Object.isFrozen(value) && Object.isFrozen(value.a) && Object.isFrozen(value.a[0]), 'nested objects and arrays are frozen')
  t.equal(deepFreeze(null), null, 'null passes through')
  t.equal(deepFreeze('text'), 'text', 'so does a string')
})

t.test('lint: a gap in any one party is a gap', async (t) => {
  const codes = (doc: PolicyDocument) => lintPolicy(doc).map((w) => w.code)
  const oneRepresentative: PolicyDocument = deepFreeze({
    ...noticeV2,
    version: 'test-one-representative',
    parties: noticeV2.parties.map((p) => (p.id === 'shizenha' ? { ...p, representative: text('代表理事 試験', 'Test') } : p))
  })
  t.ok(codes(oneRepresentative).includes('joint_use_responsible_party_representative'), 'the member co-ops still name no representative')
  const noMembers: PolicyDocument = deepFreeze({
    ...noticeV2,
    version: 'test-no-members',
    parties: noticeV2.parties.map((p) => (p.id === 'member_coops' ? { ...p, members: [] } : p))
  })
  t.ok(codes(noMembers).includes('joint_use_joint_users_not_named'), 'an empty list names no member co-op')
})

t.test('warning texts: each code its own, in both languages', async (t) => {
  const linted = lintPolicy(noticeV1)
  t.strictSame(
    linted.map((w) => w.code),
    [...POLICY_WARNING_CODES]
  )
  for (const warning of linted) {
    t.strictSame(policyWarningText(warning.code), { ja: warning.ja, en: warning.en }, `${warning.code}: the rule's own texts`)
    t.strictSame(warningText(warning.code), { ja: warning.ja, en: warning.en }, `${warning.code}: as a decision's warning`)
    t.ok(warning.en.length > 0, `${warning.code}: an English text`)
  }
  t.equal(new Set(linted.map((w) => w.en)).size, linted.length, 'no two warnings share an English text')
  t.strictSame(warningText('member_unseen'), WARNINGS.member_unseen.message, "the service's own warning")
})

t.test('consent-method labels: every method, in both languages', async (t) => {
  for (const method of CONSENT_METHODS) {
    const label = CONSENT_METHOD_LABELS[method]
    t.match(label.ja, JAPANESE, `${method}: ja is Japanese`)
    t.ok(label.en.length > 0, `${method}: en is given`)
    t.notMatch(label.en, JAPANESE, `${method}: en is English`)
  }
  const labels = CONSENT_METHODS.map((m) => CONSENT_METHOD_LABELS[m])
  t.equal(new Set(labels.map((l) => l.ja)).size, labels.length, 'the Japanese labels tell the methods apart')
  t.equal(new Set(labels.map((l) => l.en)).size, labels.length, 'so do the English ones')
})
