import t from 'tap'
import { assertDenied, assertProblem, billing, codes, consentBody, createRecipient, grantConsent, UNKNOWN_ID } from './fixtures.js'
import { buildTestApp, daysFrom, type TestApp } from './helper.js'

const MEMBER = 'M-000123'
const JAPANESE = /[\u3040-\u30ff\u3400-\u9fff]/

/** The five §II categories with their purpose, a service category §II allows, and the necessary items (policy v1). */
const CATEGORIES = [
  {
    category: 'insurer',
    purpose: 'brokerage',
    serviceCategory: 'mutual_aid_insurance',
    items: ['name', 'name_kana', 'address', 'phone', 'date_of_birth', 'member_number', 'insurance_application']
  },
  {
    category: 'travel_provider',
    purpose: 'brokerage',
    serviceCategory: 'travel',
    items: ['name', 'name_kana', 'address', 'phone', 'date_of_birth', 'travel_booking']
  },
  {
    category: 'financial_institution',
    purpose: 'billing',
    serviceCategory: 'joint_purchasing',
    items: ['name', 'name_kana', 'member_number', 'bank_account', 'billing_amount']
  },
  {
    category: 'credit_company',
    purpose: 'billing',
    serviceCategory: 'other_living',
    items: ['name', 'name_kana', 'address', 'phone', 'date_of_birth', 'credit_card', 'billing_amount']
  },
  {
    category: 'member_activity',
    purpose: 'member_activities',
    serviceCategory: 'welfare',
    items: ['name', 'address', 'phone', 'activity_participation']
  }
] as const

async function ledgerEntries(test: TestApp, query = '') {
  const res = await test.request({ method: 'GET', url: `/v1/ledger${query}` })
  if (res.statusCode !== 200) throw new Error(`ledger failed: ${res.statusCode} ${res.body}`)
  return res.json().entries as { id: string; kind: string; memberId: string; hash: string; seq: number; chain: number }[]
}

t.test('consents', async (t) => {
  t.test('grant answers 201 with id, status active and its ledger entry; list shows it', async (t) => {
    const test = await buildTestApp(t)
    const recipient = await createRecipient(test)
    const res = await test.request({
      method: 'POST',
      url: `/v1/members/${MEMBER}/consents`,
      payload: consentBody({ recipientId: recipient.id, dataItems: ['name', 'bank_account', 'billing_amount'], method: 'web' })
    })
    t.equal(res.statusCode, 201)
    const consent = res.json()
    t.match(consent.id, /^[0-9a-f-]{36}$/)
    t.match(consent, {
      memberId: MEMBER,
      recipientCategory: 'financial_institution',
      recipientId: recipient.id,
      dataItems: ['name', 'bank_account', 'billing_amount'],
      method: 'web',
      evidenceRef: 'form-2024-0001',
      status: 'active',
      withdrawnAt: null
    })
    t.type(consent.entry, 'object', 'an entry is returned')
    t.type(consent.entry.chain, 'number')
    t.ok(Number.isInteger(consent.entry.seq) && consent.entry.seq >= 1, 'seq is a positive integer')
    t.match(consent.entry.hash, /^[0-9a-f]{64}$/)

    const entries = await ledgerEntries(test)
    t.equal(entries.length, 1, 'one ledger entry')
    t.match(entries[0], { id: consent.entry.id, kind: 'consent_granted', memberId: MEMBER, hash: consent.entry.hash, seq: consent.entry.seq })

    const list = await test.request({ method: 'GET', url: `/v1/members/${MEMBER}/consents` })
    t.equal(list.statusCode, 200)
    const consents = list.json().consents
    t.equal(consents.length, 1)
    t.match(consents[0], { id: consent.id, status: 'active', recipientId: recipient.id })

    const otherMember = await test.request({ method: 'GET', url: '/v1/members/M-999999/consents' })
    t.equal(otherMember.statusCode, 200)
    t.same(otherMember.json().consents, [], 'consents belong to their member')
  })

  t.test('withdraw: 200 withdrawn, twice 409, unknown 404', async (t) => {
    const test = await buildTestApp(t)
    const recipient = await createRecipient(test)
    const consent = await grantConsent(test, MEMBER)
    const allowed = await test.request({ method: 'POST', url: '/v1/checks', payload: billing(MEMBER, recipient.id) })
    t.equal(allowed.json().decision, 'allow', 'allowed while the consent is in effect')

    const res = await test.request({
      method: 'POST',
      url: `/v1/members/${MEMBER}/consents/${consent.id}/withdraw`,
      payload: { reason: 'member asked by phone' }
    })
    t.equal(res.statusCode, 200)
    const withdrawn = res.json()
    t.match(withdrawn, { id: consent.id, status: 'withdrawn', withdrawalReason: 'member asked by phone' })
    t.ok(!Number.isNaN(Date.parse(withdrawn.withdrawnAt)), 'withdrawnAt is set')
    t.match(withdrawn.entry.hash, /^[0-9a-f]{64}$/)

    const list = await test.request({ method: 'GET', url: `/v1/members/${MEMBER}/consents` })
    t.match(list.json().consents, [{ id: consent.id, status: 'withdrawn' }])

    const denied = await test.request({ method: 'POST', url: '/v1/checks', payload: billing(MEMBER, recipient.id) })
    t.equal(denied.json().decision, 'deny')
    t.same(codes(denied.json()), ['consent_withdrawn'])

    const again = await test.request({ method: 'POST', url: `/v1/members/${MEMBER}/consents/${consent.id}/withdraw`, payload: {} })
    assertProblem(t, again, 409)

    const unknown = await test.request({ method: 'POST', url: `/v1/members/${MEMBER}/consents/${UNKNOWN_ID}/withdraw`, payload: {} })
    assertProblem(t, unknown, 404)

    // Another member's consent id is not found under this member.
    const other = await grantConsent(test, 'M-000456')
    const wrongMember = await test.request({ method: 'POST', url: `/v1/members/${MEMBER}/consents/${other.id}/withdraw`, payload: {} })
    assertProblem(t, wrongMember, 404)

    const kinds = (await ledgerEntries(test)).map((e) => e.kind).sort()
    t.same(kinds, ['consent_granted', 'consent_granted', 'consent_withdrawn'], 'the failed withdrawals wrote nothing')
  })

  t.test('withdraw with an empty body works', async (t) => {
    const test = await buildTestApp(t)
    const consent = await grantConsent(test, MEMBER)
    const res = await test.request({ method: 'POST', url: `/v1/members/${MEMBER}/consents/${consent.id}/withdraw` })
    t.equal(res.statusCode, 200)
    t.match(res.json(), { id: consent.id, status: 'withdrawn', withdrawalReason: null })
    t.ok(!Number.isNaN(Date.parse(res.json().withdrawnAt)), 'withdrawnAt defaults to now')

    const second = await grantConsent(test, MEMBER)
    const withEmptyObject = await test.request({ method: 'POST', url: `/v1/members/${MEMBER}/consents/${second.id}/withdraw`, payload: {} })
    t.equal(withEmptyObject.statusCode, 200)
    t.equal(withEmptyObject.json().status, 'withdrawn')
  })

  t.test('invalid consents are 400 and write nothing', async (t) => {
    const test = await buildTestApp(t)
    const insurer = await createRecipient(test, { category: 'insurer' })
    const cases: [string, Record<string, unknown>][] = [
      ['unknown recipientCategory', { recipientCategory: 'pharmacy' }],
      ['recipientId of another category', { recipientCategory: 'financial_institution', recipientId: insurer.id }],
      ['unknown recipientId', { recipientId: UNKNOWN_ID }],
      ['obtainedAt in the future', { obtainedAt: daysFrom(3) }],
      ['sensitive dataItems', { dataItems: ['name', 'health_care'] }]
    ]
    for (const [name, overrides] of cases) {
      const res = await test.request({ method: 'POST', url: `/v1/members/${MEMBER}/consents`, payload: consentBody(overrides) })
      assertProblem(t, res, 400, name)
    }
    const problem = (
      await test.request({ method: 'POST', url: `/v1/members/${MEMBER}/consents`, payload: consentBody({ recipientCategory: 'pharmacy' }) })
    ).json()
    t.ok(
      Array.isArray(problem.errors) && problem.errors.some((e: { path: string }) => e.path.includes('recipientCategory')),
      'the enum failure names recipientCategory'
    )

    const list = await test.request({ method: 'GET', url: `/v1/members/${MEMBER}/consents` })
    t.same(list.json().consents, [], 'no consent was stored')
    t.same(await ledgerEntries(test), [], 'nothing was written to the ledger')
  })
})

t.test('suspensions', async (t) => {
  t.test('suspend denies third_party with provision_suspended; lifting restores it', async (t) => {
    const test = await buildTestApp(t)
    const recipient = await createRecipient(test)
    await grantConsent(test, MEMBER)
    const before = await test.request({ method: 'POST', url: '/v1/checks', payload: billing(MEMBER, recipient.id) })
    t.equal(before.json().decision, 'allow', 'allowed before the suspension')

    const res = await test.request({
      method: 'POST',
      url: `/v1/members/${MEMBER}/suspensions`,
      payload: { reason: 'member asked to stop provision', requestedAt: daysFrom(-0.5) }
    })
    t.equal(res.statusCode, 201)
    const suspension = res.json()
    t.match(suspension.id, /^[0-9a-f-]{36}$/)
    t.match(suspension, { memberId: MEMBER, reason: 'member asked to stop provision', liftedAt: null })
    t.match(suspension.entry.hash, /^[0-9a-f]{64}$/)

    const suspended = await test.request({ method: 'POST', url: '/v1/checks', payload: billing(MEMBER, recipient.id) })
    assertDenied(t, suspended, ['provision_suspended'], '2(5)')

    const otherMember = await grantConsent(test, 'M-000456')
    t.ok(otherMember.id, 'consent for another member')
    const unaffected = await test.request({ method: 'POST', url: '/v1/checks', payload: billing('M-000456', recipient.id) })
    t.equal(unaffected.json().decision, 'allow', 'another member is not suspended')

    const lifted = await test.request({ method: 'DELETE', url: `/v1/members/${MEMBER}/suspensions/${suspension.id}` })
    t.equal(lifted.statusCode, 200)
    t.equal(lifted.json().id, suspension.id)
    t.ok(!Number.isNaN(Date.parse(lifted.json().liftedAt)), 'liftedAt is set')

    const after = await test.request({ method: 'POST', url: '/v1/checks', payload: billing(MEMBER, recipient.id) })
    t.equal(after.json().decision, 'allow', 'allowed again once lifted')
    t.same(codes(after.json()), ['consent_on_record'])

    const twice = await test.request({ method: 'DELETE', url: `/v1/members/${MEMBER}/suspensions/${suspension.id}` })
    assertProblem(t, twice, 409)

    const unknown = await test.request({ method: 'DELETE', url: `/v1/members/${MEMBER}/suspensions/${UNKNOWN_ID}` })
    assertProblem(t, unknown, 404)

    const wrongMember = await test.request({ method: 'DELETE', url: `/v1/members/M-000456/suspensions/${suspension.id}` })
    assertProblem(t, wrongMember, 404)

    const kinds = (await ledgerEntries(test, `?memberId=${MEMBER}`)).map((e) => e.kind).sort()
    t.same(kinds, ['consent_granted', 'suspension_created', 'suspension_lifted'], 'checks and failed lifts wrote nothing')
  })
})

t.test('third-party provision for each §II category', async (t) => {
  for (const c of CATEGORIES) {
    t.test(c.category, async (t) => {
      const test = await buildTestApp(t)
      const recipient = await createRecipient(test, { category: c.category })
      const check = {
        channel: 'third_party',
        memberId: MEMBER,
        purpose: c.purpose,
        serviceCategory: c.serviceCategory,
        dataItems: [...c.items],
        recipientId: recipient.id,
        method: 'document'
      }

      const withoutConsent = await test.request({ method: 'POST', url: '/v1/checks', payload: check })
      assertDenied(t, withoutConsent, ['consent_missing'], '2(5)')

      const consent = await grantConsent(test, MEMBER, { recipientCategory: c.category, recipientId: recipient.id, dataItems: [...c.items] })

      const res = await test.request({ method: 'POST', url: '/v1/checks', payload: check })
      t.equal(res.statusCode, 200)
      const body = res.json()
      t.equal(body.decision, 'allow')
      t.same(codes(body), ['consent_on_record'])
      t.equal(body.consentId, consent.id)
      t.ok(
        body.obligations.some((o: { code: string; items?: string[] }) => o.code === 'items_limited_to' && o.items?.length === c.items.length),
        'items_limited_to obligation'
      )
      t.ok(
        body.obligations.some((o: { code: string }) => o.code === 'keep_provision_record'),
        'keep_provision_record obligation'
      )

      const otherMember = await test.request({ method: 'POST', url: '/v1/checks', payload: { ...check, memberId: 'M-000999' } })
      t.equal(otherMember.json().decision, 'deny')
      t.same(codes(otherMember.json()), ['consent_missing'], "one member's consent does not cover another")

      const entries = await ledgerEntries(test)
      t.same(
        entries.map((e) => e.kind),
        ['consent_granted'],
        'checks wrote nothing'
      )
    })
  }
})

t.test('Accept-Language picks the message language; English by default', async (t) => {
  const test = await buildTestApp(t)
  const recipient = await createRecipient(test)
  const check = billing(MEMBER, recipient.id)

  const byDefault = await test.request({ method: 'POST', url: '/v1/checks', payload: check })
  const english = await test.request({ method: 'POST', url: '/v1/checks', payload: check, headers: { 'accept-language': 'en' } })
  const japanese = await test.request({ method: 'POST', url: '/v1/checks', payload: check, headers: { 'accept-language': 'ja' } })
  for (const res of [byDefault, english, japanese]) {
    t.equal(res.statusCode, 200)
    t.equal(res.json().decision, 'deny')
    t.same(codes(res.json()), ['consent_missing'])
  }
  const en = english.json().reasons[0].message as string
  const ja = japanese.json().reasons[0].message as string
  const def = byDefault.json().reasons[0].message as string
  t.type(en, 'string')
  t.ok(en.length > 0, 'the English message is not empty')
  t.notMatch(en, JAPANESE, 'the en message is English')
  t.match(ja, JAPANESE, 'the ja message contains Japanese characters')
  t.not(ja, en, 'ja differs from en')
  t.equal(def, en, 'default is English')

  const preferJa = await test.request({ method: 'POST', url: '/v1/checks', payload: check, headers: { 'accept-language': 'ja-JP,en;q=0.5' } })
  t.equal(preferJa.json().reasons[0].message, ja, 'ja-JP with quality ordering picks Japanese')

  const unknown = await test.request({ method: 'POST', url: '/v1/checks', payload: check, headers: { 'accept-language': 'fr' } })
  t.equal(unknown.json().reasons[0].message, en, 'an unsupported language falls back to English')

  // Allow messages follow the header too.
  await grantConsent(test, MEMBER)
  const allowJa = await test.request({ method: 'POST', url: '/v1/checks', payload: check, headers: { 'accept-language': 'ja' } })
  const allowEn = await test.request({ method: 'POST', url: '/v1/checks', payload: check })
  t.equal(allowJa.json().decision, 'allow')
  t.match(allowJa.json().reasons[0].message, JAPANESE)
  t.notMatch(allowEn.json().reasons[0].message, JAPANESE)
  t.not(allowJa.json().reasons[0].message, allowEn.json().reasons[0].message)
})
