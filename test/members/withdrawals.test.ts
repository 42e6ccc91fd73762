/**
 * Backdated withdrawals: a withdrawal dated before it is recorded lists, in its answer and its
 * ledger entry, the transfers allowed on that consent in between, read from the ledger.
 */
import t from 'tap'
import { toClient } from '../../src/clients/repository.js'
import { GroupApplier, type Act, type ActContext, type Job } from '../../src/recording/acts.js'
import { LedgerWriter } from '../../src/ledger/writer.js'
import { billing, createRecipient, grantConsent, jointUse } from '../fixtures.js'
import { buildTestApp, daysFrom, type TestApp } from '../helper.js'
import { SeenMembers } from '../../src/recording/seen-members.js'

const MEMBER = 'M-withdraw-1'
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function transfer(test: TestApp, payload: Record<string, unknown>) {
  return test.request({ method: 'POST', url: '/v1/transfers', payload })
}

t.test('a backdated withdrawal lists the transfers allowed on that consent since withdrawnAt', async (t) => {
  const test = await buildTestApp(t)
  const bank = await createRecipient(test)
  const insurer = await createRecipient(test, { category: 'insurer', name: 'Kyosai' })
  const consent = await grantConsent(test, MEMBER, { obtainedAt: daysFrom(-10) })
  const insurerConsent = await grantConsent(test, MEMBER, { recipientCategory: 'insurer', obtainedAt: daysFrom(-10) })
  await grantConsent(test, 'M-withdraw-2', { obtainedAt: daysFrom(-10) })
  const brokerage = {
    channel: 'third_party',
    memberId: MEMBER,
    purpose: 'brokerage',
    serviceCategory: 'mutual_aid_insurance',
    dataItems: ['name', 'insurance_application'],
    recipientId: insurer.id,
    method: 'document'
  }

  const before = await transfer(test, billing(MEMBER, bank.id))
  t.equal(before.statusCode, 201, 'a transfer before the member withdrew')
  await pause(5)
  const withdrawnAt = new Date().toISOString()
  await pause(5)
  const after1Items = billing(MEMBER, bank.id).dataItems
  const after2Items = ['name', 'bank_account']
  const after1 = await transfer(test, billing(MEMBER, bank.id))
  const after2 = await transfer(test, { ...billing(MEMBER, bank.id), dataItems: after2Items })
  t.equal(after1.statusCode, 201)
  t.equal(after2.statusCode, 201)
  // Transfers that must stay out of the list.
  t.equal((await transfer(test, { ...billing(MEMBER, bank.id), dataItems: ['health_care'] })).statusCode, 403, 'a denied transfer')
  t.equal((await transfer(test, brokerage)).statusCode, 201, 'a transfer on another consent')
  t.equal((await transfer(test, jointUse(MEMBER))).statusCode, 201, 'joint use, on no consent')
  t.equal((await transfer(test, billing('M-withdraw-2', bank.id))).statusCode, 201, 'another member’s transfer')
  t.equal((await test.request({ method: 'POST', url: '/v1/checks', payload: billing(MEMBER, bank.id) })).json().decision, 'allow', 'a check, never recorded')

  const res = await test.request({
    method: 'POST',
    url: `/v1/members/${MEMBER}/consents/${consent.id}/withdraw`,
    payload: { withdrawnAt, reason: 'withdrawn by letter, received late' }
  })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.status, 'withdrawn')
  t.equal(body.backdated, true)
  const expected = (
    [
      [after1, after1Items],
      [after2, after2Items]
    ] as const
  ).map(([r, dataItems]) => ({
    entryId: r.json().entry.id,
    recordedAt: r.json().entry.recordedAt,
    hash: r.json().entry.hash,
    recipientId: bank.id,
    purpose: 'billing',
    dataItems
  }))
  t.same(body.transfersAfterWithdrawal, expected, 'exactly the two allowed on this consent after withdrawnAt, oldest first')

  const entry = (await test.request({ method: 'GET', url: `/v1/ledger/${body.entry.id}` })).json()
  t.equal(entry.backdated, true, 'the ledger entry says so')
  t.same(entry.transfersAfterWithdrawal, expected, 'and lists them')

  // The next transfer is denied: the withdrawal is in effect.
  t.equal((await transfer(test, billing(MEMBER, bank.id))).statusCode, 403)

  const onTime = await test.request({ method: 'POST', url: `/v1/members/${MEMBER}/consents/${insurerConsent.id}/withdraw`, payload: {} })
  t.equal(onTime.statusCode, 200)
  t.equal(onTime.json().backdated, false, 'a withdrawal dated now is not backdated')
  t.same(onTime.json().transfersAfterWithdrawal, [])
})

t.test('a transfer at exactly withdrawnAt is listed; one just before is not', async (t) => {
  const test = await buildTestApp(t)
  const bank = await createRecipient(test)
  const consent = await grantConsent(test, MEMBER, { obtainedAt: daysFrom(-10) })
  const first = await transfer(test, billing(MEMBER, bank.id))
  await pause(5)
  const second = await transfer(test, billing(MEMBER, bank.id))
  const res = await test.request({
    method: 'POST',
    url: `/v1/members/${MEMBER}/consents/${consent.id}/withdraw`,
    payload: { withdrawnAt: second.json().entry.recordedAt }
  })
  t.same(
    res.json().transfersAfterWithdrawal.map((x: { entryId: string }) => x.entryId),
    [second.json().entry.id],
    'from withdrawnAt inclusive'
  )
  t.ok(first.json().entry.recordedAt < second.json().entry.recordedAt)
})

t.test('a transfer and a backdated withdrawal in one group: the withdrawal sees the transfer', async (t) => {
  const test = await buildTestApp(t)
  const bank = await createRecipient(test)
  const consent = await grantConsent(test, MEMBER, { obtainedAt: daysFrom(-10) })
  const admin = toClient(await test.database.db.selectFrom('clients').selectAll().where('role', '=', 'admin').executeTakeFirstOrThrow())
  const ctx: ActContext = { client: admin, language: 'en', log: test.app.log }
  const request = { ...billing(MEMBER, bank.id) } as Extract<Act, { kind: 'decision' }>['request']
  const jobs: Job[] = [
    { acts: [{ kind: 'decision', ctx, action: 'transfer', request }] },
    { acts: [{ kind: 'consent_withdrawn', ctx, memberId: MEMBER, consentId: consent.id, input: { withdrawnAt: daysFrom(-1) } }] }
  ]
  const outcomes = await test.database.transaction(async (tx) => {
    const ledger = await LedgerWriter.lock(tx, [MEMBER])
    const results = await GroupApplier.apply(tx, ledger, new Date(), jobs, new SeenMembers())
    await ledger.flush()
    return results
  })
  const [decided, withdrawn] = outcomes.map((o) => (o.ok ? o.value.results[0] : undefined))
  if (decided?.kind !== 'decision' || withdrawn?.kind !== 'consent') {
    t.fail('both acts apply')
    return
  }
  t.equal(decided.body.decision, 'allow', 'the transfer, first in the group, is allowed')
  t.equal(withdrawn.backdated, true)
  t.same(
    withdrawn.transfersAfterWithdrawal?.map((x) => x.entryId),
    [decided.body.entry.id],
    'listed although it was not yet committed when the group read the ledger'
  )
})
