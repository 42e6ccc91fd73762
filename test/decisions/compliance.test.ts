/**
 * The law's conditions over HTTP, on whichever database the suite runs against: the 2(5)b
 * condition, recipients abroad, the sensitive-item ground, contracts from their signing, a stop
 * of use, what a recipient must confirm, and the notice's warnings.
 */
import t from 'tap'
import { noticeV1 } from '../../src/policy/notice-v1.js'
import { noticeV3 } from '../../src/policy/notice-v3.js'
import {
  addContract,
  addInspection,
  assertProblem,
  billing,
  codes,
  createContractor,
  createRecipient,
  grantConsent,
  jointUse,
  statutoryException,
  type Tap
} from '../fixtures.js'
import { buildTestApp, daysFrom, type TestApp } from '../helper.js'

const MEMBER = 'M-comp-001'
const JAPANESE = /[\u3040-\u30ff\u3400-\u9fff]/

function post(test: TestApp, url: string, payload: unknown, headers: Record<string, string> = {}) {
  return test.request({ method: 'POST', url, payload: payload as Record<string, unknown>, headers })
}

async function entry(test: TestApp, id: string): Promise<Record<string, any>> {
  const res = await test.request({ method: 'GET', url: `/v1/ledger/${id}` })
  if (res.statusCode !== 200) throw new Error(`ledger entry: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** A 403 transfer, recorded: returns the body. */
async function deniedTransfer(t: Tap, test: TestApp, payload: unknown, expected: string[]) {
  const res = await post(test, '/v1/transfers', payload)
  t.equal(res.statusCode, 403, 'denied')
  const body = res.json()
  t.equal(body.decision, 'deny')
  t.same(codes(body), [...expected].sort(), `denied for ${expected.join(', ')}`)
  t.match(body.entry?.hash, /^[0-9a-f]{64}$/, 'and recorded')
  return body
}

t.test('vital_interest needs why consent could not be obtained (2(5)b, APPI Art. 27(1)(ii))', async (t) => {
  const test = await buildTestApp(t)
  const vital = (consentImpracticable?: string) => ({
    ...statutoryException(MEMBER),
    purpose: 'urgent_contact',
    exception: {
      basis: 'vital_interest',
      reference: 'ambulance crew request 7',
      approvedBy: 'privacy manager',
      ...(consentImpracticable === undefined ? {} : { consentImpracticable })
    }
  })

  const denied = await deniedTransfer(t, test, vital(), ['consent_impracticability_missing'])
  t.match(denied.reasons[0], { clause: '2(5)b', law: 'APPI Art. 27(1)(ii)' })
  const deniedEntry = await entry(test, denied.entry.id)
  t.equal(deniedEntry.decision, 'deny', 'the deny is in the ledger')
  t.equal(deniedEntry.reasons[0].code, 'consent_impracticability_missing')

  const checked = await post(test, '/v1/checks', vital())
  t.equal(checked.statusCode, 200, 'a check answers 200, not 400')
  t.same(codes(checked.json()), ['consent_impracticability_missing'])

  const reason = 'The member collapsed during delivery and cannot be asked.'
  const allowed = await post(test, '/v1/transfers', vital(reason))
  t.equal(allowed.statusCode, 201)
  t.same(codes(allowed.json()), ['vital_interest'])
  t.equal((await entry(test, allowed.json().entry.id)).exception.consentImpracticable, reason, 'the reason is recorded')

  const legal = await post(test, '/v1/transfers', statutoryException(MEMBER))
  t.equal(legal.statusCode, 201, 'a legal obligation needs no such reason')

  const tooLong = await post(test, '/v1/checks', vital('x'.repeat(1001)))
  assertProblem(t, tooLong, 400, 'an overlong reason')
})

t.test('recipients carry their country; a recipient abroad is denied (APPI Art. 28)', async (t) => {
  const test = await buildTestApp(t)
  const home = await createRecipient(test)
  t.equal((home as Record<string, unknown>).country, 'JP', 'JP by default')
  const abroad = await createRecipient(test, { name: 'Pacific Card Services', country: 'US' })
  t.equal((abroad as Record<string, unknown>).country, 'US')
  t.equal((await test.request({ method: 'GET', url: `/v1/recipients/${abroad.id}` })).json().country, 'US', 'GET shows it')
  const listed = (await test.request({ method: 'GET', url: '/v1/recipients' })).json().recipients as { id: string; country: string }[]
  t.same(listed.map((r) => r.country).sort(), ['JP', 'US'], 'the list shows it')

  for (const country of ['us', 'USA', 'J', '1P']) {
    assertProblem(t, await post(test, '/v1/recipients', { category: 'insurer', name: 'X', address: 'Y', representative: 'Z', country }), 400, country)
  }

  await grantConsent(test, MEMBER)
  const denied = await deniedTransfer(t, test, billing(MEMBER, abroad.id), ['recipient_abroad'])
  t.match(denied.reasons[0], { clause: 'II', law: 'APPI Art. 28' })
  const snapshot = (await entry(test, denied.entry.id)).recipient
  t.equal(snapshot.country, 'US', 'the ledger snapshot names the country')

  const allowed = await post(test, '/v1/transfers', billing(MEMBER, home.id))
  t.equal(allowed.statusCode, 201, 'the recipient in Japan is allowed')
  t.equal((await entry(test, allowed.json().entry.id)).recipient.country, 'JP')
  const records = (await test.request({ method: 'GET', url: `/v1/members/${MEMBER}/provision-records?format=csv` })).body
  t.match(records, /,JP,/, 'the provision record shows it')

  const moved = await test.request({ method: 'PATCH', url: `/v1/recipients/${home.id}`, payload: { country: 'SG' } })
  t.equal(moved.statusCode, 200)
  t.equal(moved.json().country, 'SG')
  await deniedTransfer(t, test, billing(MEMBER, home.id), ['recipient_abroad'])
})

t.test('sensitive items: the deny rests on §II and the co-op’s rule; the law allows it with consent', async (t) => {
  const test = await buildTestApp(t)
  const bank = await createRecipient(test)
  await grantConsent(test, MEMBER)
  const en = await post(test, '/v1/checks', { ...billing(MEMBER, bank.id), dataItems: ['name', 'health_care'] })
  const reason = en.json().reasons.find((r: { code: string }) => r.code === 'sensitive_item')
  t.equal(reason.clause, 'II', 'the notice’s §II is the ground')
  t.match(reason.law, /27\(2\) forbids only opt-out provision/, 'law says Art. 27(2) bars opt-out provision only')
  t.match(reason.law, /with consent/)
  t.match(reason.message, /opt-out/)
  t.match(reason.message, /consent it would be lawful/)
  const ja = await post(test, '/v1/checks', { ...billing(MEMBER, bank.id), dataItems: ['name', 'health_care'] }, { 'accept-language': 'ja' })
  const jaMessage = ja.json().reasons.find((r: { code: string }) => r.code === 'sensitive_item').message
  t.match(jaMessage, /オプトアウト/)
  t.match(jaMessage, /同意があれば適法/)
})

t.test('an entrustment needs a contract already signed', async (t) => {
  const test = await buildTestApp(t)
  const contractor = await createContractor(test)
  await addInspection(test, contractor.id)
  await addContract(test, contractor.id, { reference: 'C-unsigned', signedAt: daysFrom(2), validFrom: daysFrom(-30) })
  const request = { channel: 'entrustment', memberId: MEMBER, purpose: 'delivery', dataItems: ['name', 'address'], contractorId: contractor.id }
  const denied = await deniedTransfer(t, test, request, ['contract_not_signed'])
  t.match(denied.reasons[0], { clause: '2(4)', law: 'APPI Art. 25' })

  const signed = await addContract(test, contractor.id, { reference: 'C-signed', signedAt: daysFrom(-1), validFrom: daysFrom(-30) })
  const allowed = await post(test, '/v1/transfers', request)
  t.equal(allowed.statusCode, 201)
  t.equal(allowed.json().contractId, signed.id)
  const contract = (await entry(test, allowed.json().entry.id)).contractor.contract
  t.equal(contract.id, signed.id)
  t.ok(contract.signedAt, 'the ledger snapshot of the contract names its signing')
})

t.test('suspensions: scope provision (default) stops third-party provision, scope use every channel but statutory exceptions', async (t) => {
  const test = await buildTestApp(t)
  const bank = await createRecipient(test)
  const contractor = await createContractor(test)
  await addContract(test, contractor.id)
  await addInspection(test, contractor.id)
  const member = 'M-comp-use'
  await grantConsent(test, member)
  const entrust = { channel: 'entrustment', memberId: member, purpose: 'delivery', dataItems: ['name', 'address'], contractorId: contractor.id }

  const provision = await post(test, `/v1/members/${member}/suspensions`, { reason: 'asked to stop provision', requestedAt: daysFrom(-1) })
  t.equal(provision.statusCode, 201)
  t.equal(provision.json().scope, 'provision', 'provision by default')
  await deniedTransfer(t, test, billing(member, bank.id), ['provision_suspended'])
  t.equal((await post(test, '/v1/transfers', jointUse(member))).statusCode, 201, 'joint use goes on under a provision suspension')
  t.equal((await post(test, '/v1/transfers', entrust)).statusCode, 201, 'entrustment goes on under a provision suspension')
  await test.request({ method: 'DELETE', url: `/v1/members/${member}/suspensions/${provision.json().id}` })

  assertProblem(t, await post(test, `/v1/members/${member}/suspensions`, { reason: 'x', requestedAt: daysFrom(-1), scope: 'everything' }), 400, 'unknown scope')

  const use = await post(test, `/v1/members/${member}/suspensions`, { reason: 'asked to stop every use', requestedAt: daysFrom(-1), scope: 'use' })
  t.equal(use.statusCode, 201)
  t.equal(use.json().scope, 'use')
  t.equal((await entry(test, use.json().entry.id)).suspension.scope, 'use', 'the ledger records the scope')
  const listed = (await test.request({ method: 'GET', url: `/v1/members/${member}/suspensions` })).json().suspensions as { id: string; scope: string }[]
  t.same(
    listed.map((s) => s.scope),
    ['provision', 'use'],
    'the list shows each scope'
  )

  const joint = await deniedTransfer(t, test, jointUse(member), ['use_suspended'])
  t.match(joint.reasons[0], { clause: '2(7)', law: 'APPI Art. 35(1), 35(5)' })
  await deniedTransfer(t, test, entrust, ['use_suspended'])
  await deniedTransfer(t, test, billing(member, bank.id), ['use_suspended'])
  const checked = await post(test, '/v1/checks', jointUse(member))
  t.same(codes(checked.json()), ['use_suspended'], 'checks see it too')
  t.equal((await post(test, '/v1/transfers', statutoryException(member))).statusCode, 201, 'a statutory exception goes ahead')
  t.equal((await post(test, '/v1/transfers', jointUse('M-comp-other'))).statusCode, 201, 'another member is not suspended')

  await test.request({ method: 'DELETE', url: `/v1/members/${member}/suspensions/${use.json().id}` })
  t.equal((await post(test, '/v1/transfers', jointUse(member))).statusCode, 201, 'lifted: joint use again')
})

t.test('an allowed third-party decision carries providerDetails for the recipient (APPI Art. 30)', async (t) => {
  const test = await buildTestApp(t)
  const bank = await createRecipient(test)
  await grantConsent(test, MEMBER)
  const res = await post(test, '/v1/transfers', billing(MEMBER, bank.id))
  t.equal(res.statusCode, 201)
  const details = res.json().providerDetails
  const shizenha = noticeV1.parties.find((p) => p.id === 'shizenha')!
  t.same(details.name, shizenha.name, 'the co-op’s name from the policy')
  t.equal(details.address, null, 'no address: the notice states none, and none is made up')
  t.equal(details.representative, null, 'no representative either')
  t.same(details.acquisition, { clause: '2(1)', ...(({ ja, en }) => ({ ja, en }))(noticeV1.clauses.find((c) => c.id === '2(1)')!) })
  t.same(details.missing, ['address', 'representative'], 'the decision says what is missing')
  t.match(details.message, /Art\. 30/)
  t.match(details.message, /address, representative/)
  t.same((await entry(test, res.json().entry.id)).providerDetails.missing, ['address', 'representative'], 'the ledger keeps what was handed over')

  const ja = await post(test, '/v1/checks', billing(MEMBER, bank.id), { 'accept-language': 'ja' })
  t.match(ja.json().providerDetails.message, JAPANESE, 'the message follows Accept-Language')
  t.match(ja.json().providerDetails.message, /住所、代表者/)

  const denied = await post(test, '/v1/checks', billing('M-comp-nobody', bank.id))
  t.equal(denied.json().decision, 'deny')
  t.notOk('providerDetails' in denied.json(), 'a deny carries none')
  t.notOk('providerDetails' in (await post(test, '/v1/checks', jointUse(MEMBER))).json(), 'joint use carries none')

  const policy = (await test.request({ method: 'GET', url: '/v1/policy' })).json()
  t.ok(
    policy.warnings.some((w: { code: string }) => w.code === 'joint_use_responsible_party_address'),
    'while they are missing, the policy’s warning stands'
  )
})

t.test('GET /v1/policy lists the notice’s warnings with their articles and clauses', async (t) => {
  const test = await buildTestApp(t)
  const res = await test.request({ method: 'GET', url: '/v1/policy' })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.version, noticeV3.version, 'the version in force now: every legal person of 2(2)')
  t.same(body.jointUserKinds, ['federation', 'member_coop', 'jccu'], 'the joint users of 2(2), by kind')
  t.same(body.providerKinds, ['federation', 'member_coop'], 'the providers: those responsible for management')
  t.same(
    body.entities.map((e: { id: string; kind: string }) => [e.id, e.kind]),
    [
      ['shizenha', 'federation'],
      ['JCCU', 'jccu']
    ],
    'the legal persons the notice names (member co-ops are registered)'
  )
  const byCode = Object.fromEntries((body.warnings as { code: string; article: string; clause: string; ja: string; en: string }[]).map((w) => [w.code, w]))
  t.same(Object.fromEntries(Object.entries(byCode).map(([code, w]) => [code, [w.article, w.clause]])), {
    joint_use_responsible_party_address: ['APPI Art. 27(5)(iii)', '2(2)'],
    joint_use_responsible_party_representative: ['APPI Art. 27(5)(iii)', '2(2)'],
    joint_use_joint_user_purposes: ['APPI Art. 27(5)(iii)', '2(2)'],
    joint_use_joint_users_not_named: ['APPI Art. 27(5)(iii)', '2(2)'],
    vital_interest_consent_impracticable: ['APPI Art. 27(1)(ii)', '2(5)b'],
    provision_abroad_not_stated: ['APPI Art. 28', 'II']
  })
  for (const warning of Object.values(byCode)) {
    t.match(warning.ja, JAPANESE, `${warning.code}: ja`)
    t.notMatch(warning.en, JAPANESE, `${warning.code}: en`)
  }
  t.same(
    body.versions.map((v: { version: string }) => v.version),
    ['2026-11-01.1', '2027-04-01.1', '2026-12-07.1', '2027-04-01.2'],
    'every published version is listed'
  )
})
