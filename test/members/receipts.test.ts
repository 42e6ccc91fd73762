/**
 * Consent receipts (after ISO/IEC TS 27560 and the Kantara Consent Receipt): the grant answers
 * with one, GET …/receipt rebuilds the same one from the stored consent and its ledger entry,
 * and its ledger entry and hash check against the ledger.
 */
import t from 'tap'
import { noticeV1 } from '../../src/policy/notice-v1.js'
import { noticeV3, noticeV4 } from '../../src/policy/notice-v3.js'
import { policyInForce } from '../../src/policy/registry.js'
import { assertProblem, consentBody, createRecipient, UNKNOWN_ID } from '../fixtures.js'
import { buildTestApp, daysFrom, type TestApp } from '../helper.js'

const MEMBER = 'M-receipt-1'

async function grant(test: TestApp, memberId: string, overrides: Record<string, unknown> = {}) {
  const res = await test.request({ method: 'POST', url: `/v1/members/${memberId}/consents`, payload: consentBody(overrides) })
  if (res.statusCode !== 201) throw new Error(`consent failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

function receiptOf(test: TestApp, memberId: string, consentId: string) {
  return test.request({ method: 'GET', url: `/v1/members/${memberId}/consents/${consentId}/receipt` })
}

t.test('a grant answers with a receipt; GET …/receipt returns the same receipt again', async (t) => {
  const test = await buildTestApp(t)
  const bank = await createRecipient(test, { name: '自然派信用金庫', country: 'JP' })
  const consent = await grant(test, MEMBER, { recipientId: bank.id, method: 'web', evidenceRef: 'web-session-7' })
  const receipt = consent.receipt
  t.type(receipt, 'object', 'the grant carries a receipt')
  t.match(receipt.receiptId, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a UUID')
  t.match(receipt.specification, /27560/)
  t.equal(receipt.issuedAt, consent.entry.recordedAt, 'issued when the grant was recorded')
  t.equal(receipt.jurisdiction, 'JP')
  t.same(receipt.controller.name, noticeV1.parties[0]!.name, 'the controller, from the policy')
  t.equal(receipt.controller.address, null, 'no address is made up')
  t.same(receipt.controller.missing, ['address', 'representative'])
  t.equal(receipt.memberId, MEMBER)
  t.equal(receipt.consentId, consent.id)
  t.equal(receipt.obtainedAt, consent.obtainedAt)
  t.equal(receipt.method, 'web')
  t.same(receipt.methodLabel, { ja: 'ウェブ', en: 'On the web' })
  t.equal(receipt.evidenceRef, 'web-session-7')
  t.same(receipt.legalBasis, { clause: '2(5)', law: 'APPI Art. 27(1)' })
  t.same(
    receipt.purposes.map((p: { id: string; clause: string }) => [p.id, p.clause]),
    [['billing', 'I.6']],
    'the purposes §II.3 gives'
  )
  t.equal(receipt.itemsListed, false)
  t.same(
    receipt.dataCategories.map((d: { id: string }) => d.id),
    ['name', 'name_kana', 'member_number', 'bank_account', 'billing_amount'],
    'without its own list: the necessary items of its version'
  )
  t.match(receipt.recipient, { category: 'financial_institution', clause: 'II.3', id: bank.id, name: '自然派信用金庫', country: 'JP' })
  t.same(
    receipt.provisionMethods.map((m: { id: string }) => m.id),
    ['document', 'electronic']
  )
  const given = policyInForce(new Date(consent.obtainedAt))
  t.same(receipt.policy, { version: given.version, effectiveFrom: given.effectiveFrom, title: given.title }, 'the version in force when it was given')
  t.same(receipt.ledgerEntry, consent.entry, 'the ledger entry with its hash')

  const again = await receiptOf(test, MEMBER, consent.id)
  t.equal(again.statusCode, 200)
  t.same(again.json(), receipt, 'rebuilt from the stored consent and its entry: the same receipt')

  // The member checks the receipt against the ledger.
  const ledger = await test.request({ method: 'GET', url: `/v1/ledger/${receipt.ledgerEntry.id}` })
  t.equal(ledger.json().hash, receipt.ledgerEntry.hash, 'the ledger holds the entry the receipt names')
  t.equal(ledger.json().consent.id, consent.id)
  t.equal(ledger.json().policyVersion, receipt.policy.version)

  // A renamed recipient does not change a receipt already given.
  await test.request({ method: 'PATCH', url: `/v1/recipients/${bank.id}`, payload: { name: 'Renamed' } })
  const withdrawn = await test.request({ method: 'POST', url: `/v1/members/${MEMBER}/consents/${consent.id}/withdraw`, payload: {} })
  t.equal(withdrawn.statusCode, 200)
  t.same((await receiptOf(test, MEMBER, consent.id)).json(), receipt, 'after a rename and a withdrawal: the same receipt of the grant')
})

t.test('a receipt for a category-wide consent with its own item list', async (t) => {
  const test = await buildTestApp(t)
  const consent = await grant(test, MEMBER, { recipientCategory: 'insurer', dataItems: ['name', 'insurance_application'] })
  t.equal(consent.receipt.itemsListed, true)
  t.same(consent.receipt.dataCategories, [
    { id: 'name', ja: '氏名', en: 'Name', sensitive: false },
    { id: 'insurance_application', ja: '共済・保険の申込内容', en: 'Insurance application', sensitive: false }
  ])
  t.match(consent.receipt.recipient, { category: 'insurer', id: null, name: null, country: null })
  t.same(
    consent.receipt.purposes.map((p: { id: string }) => p.id),
    ['brokerage']
  )
  t.same((await receiptOf(test, MEMBER, consent.id)).json(), consent.receipt)
})

t.test('receipts of unknown consents, or of another member’s, are 404', async (t) => {
  const test = await buildTestApp(t)
  const consent = await grant(test, MEMBER)
  assertProblem(t, await receiptOf(test, MEMBER, UNKNOWN_ID), 404, 'unknown consent')
  assertProblem(t, await receiptOf(test, 'M-receipt-2', consent.id), 404, 'another member')
  assertProblem(t, await receiptOf(test, MEMBER, 'not-a-uuid'), 400, 'not a UUID')
})

t.test('a consent keeps the version in force when the member gave it', async (t) => {
  // The clock stands after version 2 came into force.
  const now = new Date('2027-05-01T10:00:00+09:00')
  const test = await buildTestApp(t, { now: () => new Date(now) })
  const before = await grant(test, MEMBER, { obtainedAt: '2027-03-20T10:00:00+09:00' })
  const after = await grant(test, MEMBER, { obtainedAt: '2027-04-15T10:00:00+09:00' })
  // Version 3 (every legal person) is in force before 2027-04-01, version 4 (v2's §II.3 with them) after.
  t.equal(before.policyVersion, noticeV3.version, 'given before 2027-04-01: version 3')
  t.equal(after.policyVersion, noticeV4.version, 'given after: version 4')
  t.equal(before.receipt.policy.version, noticeV3.version)
  t.notOk(
    before.receipt.dataCategories.some((d: { id: string }) => d.id === 'capital_contribution'),
    'v1: no capital_contribution'
  )
  t.ok(
    after.receipt.dataCategories.some((d: { id: string }) => d.id === 'capital_contribution'),
    'v2: capital_contribution'
  )
  t.same(
    after.receipt.purposes.map((p: { id: string }) => p.id),
    ['billing', 'capital_contribution']
  )
  const listed = (await test.request({ method: 'GET', url: `/v1/members/${MEMBER}/consents` })).json().consents as { id: string; policyVersion: string }[]
  // Both were recorded at the same (fixed) instant, so the list's order between them is the ids'.
  t.same(
    Object.fromEntries(listed.map((c) => [c.id, c.policyVersion])),
    { [before.id]: noticeV3.version, [after.id]: noticeV4.version },
    'the consent rows keep the version'
  )
  const entry = (await test.request({ method: 'GET', url: `/v1/ledger/${before.entry.id}` })).json()
  t.equal(entry.policyVersion, noticeV3.version, 'the ledger entry names the same version')

  // Items a version-1 consent could not have covered are refused at the grant.
  const refused = await test.request({
    method: 'POST',
    url: `/v1/members/${MEMBER}/consents`,
    payload: consentBody({ obtainedAt: '2027-03-20T10:00:00+09:00', dataItems: ['name', 'capital_contribution'] })
  })
  assertProblem(t, refused, 400, 'capital_contribution under version 1')
  t.ok(daysFrom(0), 'the helper clock is untouched')
})
