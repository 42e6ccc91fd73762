import { randomUUID } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import t from 'tap'
import { billing, consentBody, countEntries, createRecipient, grantConsent, jointUse, memberEntries, type EntryRef, type Tap } from '../fixtures.js'
import { buildTestApp, createClient, daysFrom, type TestApp } from '../helper.js'

const PROBLEM_JSON = /^application\/problem\+json/
const HEX64 = /^[0-9a-f]{64}$/

interface DecisionBody {
  decision: 'allow' | 'deny'
  reasons: { code: string; clause: string; message: string }[]
  policyVersion: string
  obligations: unknown[]
  entry: EntryRef
}

async function getEntry(test: TestApp, id: string): Promise<LightMyRequestResponse> {
  return test.request({ method: 'GET', url: `/v1/ledger/${id}` })
}

/**
 * The decision a transfer answered is in the ledger: GET /v1/ledger/{id} returns it with the same
 * hash, decision, reasons, and it is listed under the member.
 */
async function assertRecorded(t: Tap, test: TestApp, res: LightMyRequestResponse, memberId: string, expected: 'allow' | 'deny'): Promise<Record<string, any>> {
  t.equal(res.statusCode, expected === 'allow' ? 201 : 403, `transfer answered ${expected === 'allow' ? 201 : 403}`)
  t.match(res.headers['content-type'], /^application\/json/, 'a decision is JSON')
  const body = res.json<DecisionBody>()
  t.equal(body.decision, expected)
  t.ok(body.entry, 'the body carries its ledger entry')
  t.match(body.entry.hash, HEX64, 'entry.hash is lowercase hex SHA-256')
  t.ok(Number.isInteger(body.entry.seq) && body.entry.seq >= 1, 'entry.seq is a positive integer')
  t.ok(Number.isInteger(body.entry.chain), 'entry.chain is an integer')
  const got = await getEntry(test, body.entry.id)
  t.equal(got.statusCode, 200, 'GET /v1/ledger/{id} finds the entry')
  const entry = got.json()
  t.equal(entry.id, body.entry.id)
  t.equal(entry.hash, body.entry.hash, 'same hash')
  t.equal(entry.chain, body.entry.chain, 'same chain')
  t.equal(entry.seq, body.entry.seq, 'same seq')
  t.equal(new Date(entry.recordedAt).getTime(), new Date(body.entry.recordedAt).getTime(), 'same recordedAt')
  t.equal(entry.kind, 'decision')
  t.equal(entry.memberId, memberId)
  t.equal(entry.decision, body.decision, 'same decision')
  t.same(entry.reasons, body.reasons, 'same reasons')
  t.equal(entry.policyVersion, body.policyVersion, 'same policy version')
  const listed = await memberEntries(test, memberId)
  const mine = listed.filter((e) => e.id === body.entry.id)
  t.equal(mine.length, 1, 'listed exactly once under GET /v1/ledger?memberId')
  t.equal(mine[0]?.hash, body.entry.hash, 'the listing shows the same hash')
  return entry
}

t.test('every 201 and every 403 of POST /v1/transfers is in the ledger', async (t) => {
  const test = await buildTestApp(t)
  const bank = (await createRecipient(test)).id
  await grantConsent(test, 'M-allowed')

  const before = await countEntries(test)
  const allowed = await test.request({ method: 'POST', url: '/v1/transfers', payload: billing('M-allowed', bank) })
  const allowedEntry = await assertRecorded(t, test, allowed, 'M-allowed', 'allow')
  t.equal(allowedEntry.channel, 'third_party')
  t.equal(allowedEntry.recipientId, bank)
  t.same(allowedEntry.dataItems, ['name', 'bank_account', 'billing_amount'])

  const joint = await test.request({ method: 'POST', url: '/v1/transfers', payload: jointUse('M-joint') })
  await assertRecorded(t, test, joint, 'M-joint', 'allow')

  // No consent on record.
  const noConsent = await test.request({ method: 'POST', url: '/v1/transfers', payload: billing('M-denied', bank) })
  const noConsentEntry = await assertRecorded(t, test, noConsent, 'M-denied', 'deny')
  t.ok(
    noConsent.json().reasons.some((r: { code: string }) => r.code === 'consent_missing'),
    'denied for a missing consent'
  )
  t.ok(noConsentEntry.reasons.some((r: { code: string }) => r.code === 'consent_missing'))

  // A well-formed id naming no recipient is a deny, recorded.
  const unknown = await test.request({ method: 'POST', url: '/v1/transfers', payload: billing('M-allowed', randomUUID()) })
  await assertRecorded(t, test, unknown, 'M-allowed', 'deny')
  t.ok(unknown.json().reasons.some((r: { code: string }) => r.code === 'recipient_unknown'))

  // A sensitive item never leaves through third_party.
  const sensitive = await test.request({
    method: 'POST',
    url: '/v1/transfers',
    payload: { ...billing('M-allowed', bank), dataItems: ['name', 'health_care'] }
  })
  await assertRecorded(t, test, sensitive, 'M-allowed', 'deny')

  // An unknown joint user.
  const stranger = await test.request({ method: 'POST', url: '/v1/transfers', payload: { ...jointUse('M-joint'), jointUser: 'ACME' } })
  await assertRecorded(t, test, stranger, 'M-joint', 'deny')

  t.equal(await countEntries(test), before + 6, 'one row per transfer, no more')

  // A 400 (schema) is not a decision and writes nothing.
  const invalid = await test.request({ method: 'POST', url: '/v1/transfers', payload: { ...billing('M-allowed', bank), method: undefined } })
  t.equal(invalid.statusCode, 400)
  t.equal(await countEntries(test), before + 6, 'a rejected request writes nothing')
})

t.test('a deny body carries its entry; an attempt outside the client scope is a recorded 403 too', async (t) => {
  const test = await buildTestApp(t)
  const bank = (await createRecipient(test)).id
  const deny = await test.request({ method: 'POST', url: '/v1/transfers', payload: billing('M-0001', bank) })
  t.equal(deny.statusCode, 403)
  const body = deny.json()
  t.equal(body.decision, 'deny')
  t.type(body.entry, 'object', 'a deny has entry')
  t.match(body.entry, { id: String, chain: Number, seq: Number, hash: HEX64, recordedAt: String })

  const system = await createClient(test, { role: 'system', channels: ['joint_use'] })
  const before = await countEntries(test)
  const outside = await test.request({ method: 'POST', url: '/v1/transfers', payload: billing('M-0002', bank), token: system.token })
  t.equal(outside.statusCode, 403)
  t.match(outside.headers['content-type'], PROBLEM_JSON)
  const problem = outside.json()
  t.equal(problem.status, 403)
  t.equal(problem.code, 'client_scope')
  t.match(problem.entry, { id: String, chain: Number, seq: Number, hash: HEX64, recordedAt: String }, 'the scope problem carries the recorded entry')
  t.equal(await countEntries(test), before + 1, 'the attempt is recorded')
  // Whether or not the body names it, the attempt must be findable under the member.
  const listed = await memberEntries(test, 'M-0002')
  t.equal(listed.length, 1, 'listed under the member')
  const entryId: string = problem.entry?.id ?? listed[0]?.id
  const entry = (await getEntry(test, entryId)).json()
  t.equal(entry.decision, 'deny')
  t.equal(entry.memberId, 'M-0002')
  t.equal(entry.clientId, system.id)
  t.equal(entry.action, 'transfer')
  if (problem.entry) t.equal(entry.hash, problem.entry.hash, 'same hash as the body says')
  t.ok(entry.reasons.some((r: { code: string }) => r.code === 'client_scope'))

  // Within scope, the same client is answered normally.
  const inside = await test.request({ method: 'POST', url: '/v1/transfers', payload: jointUse('M-0002'), token: system.token })
  await assertRecorded(t, test, inside, 'M-0002', 'allow')
})

t.test('idempotency', async (t) => {
  const test = await buildTestApp(t)
  const bank = (await createRecipient(test)).id
  await grantConsent(test, 'M-idem')

  t.test('same key and body: identical answer, no second row (allow)', async (t) => {
    const key = `key-${randomUUID()}`
    const payload = billing('M-idem', bank)
    const first = await test.request({ method: 'POST', url: '/v1/transfers', payload, headers: { 'idempotency-key': key } })
    t.equal(first.statusCode, 201)
    t.notOk(first.headers['idempotent-replayed'], 'the first answer is not a replay')
    const afterFirst = await countEntries(test)
    const second = await test.request({ method: 'POST', url: '/v1/transfers', payload, headers: { 'idempotency-key': key } })
    t.equal(second.statusCode, first.statusCode, 'same status')
    t.same(second.json(), first.json(), 'same body')
    t.equal(second.body, first.body, 'byte-identical body')
    t.equal(second.headers['idempotent-replayed'], 'true')
    t.equal(await countEntries(test), afterFirst, 'no second row')
    // A differently ordered but equal JSON body is the same request.
    const reordered = Object.fromEntries(Object.entries(payload).reverse())
    const third = await test.request({ method: 'POST', url: '/v1/transfers', payload: reordered, headers: { 'idempotency-key': key } })
    t.equal(third.statusCode, 201)
    t.same(third.json(), first.json())
    t.equal(await countEntries(test), afterFirst, 'still no second row')
  })

  t.test('same key and body: identical answer, no second row (deny)', async (t) => {
    const key = `key-${randomUUID()}`
    const payload = billing('M-idem-none', bank)
    const first = await test.request({ method: 'POST', url: '/v1/transfers', payload, headers: { 'idempotency-key': key } })
    t.equal(first.statusCode, 403)
    const afterFirst = await countEntries(test)
    const second = await test.request({ method: 'POST', url: '/v1/transfers', payload, headers: { 'idempotency-key': key } })
    t.equal(second.statusCode, 403)
    t.equal(second.body, first.body, 'byte-identical body')
    t.equal(second.headers['idempotent-replayed'], 'true')
    t.equal(await countEntries(test), afterFirst, 'no second row')
  })

  t.test('same key, another body: 422 problem, nothing written', async (t) => {
    const key = `key-${randomUUID()}`
    const first = await test.request({ method: 'POST', url: '/v1/transfers', payload: billing('M-idem', bank), headers: { 'idempotency-key': key } })
    t.equal(first.statusCode, 201)
    const afterFirst = await countEntries(test)
    const other = await test.request({ method: 'POST', url: '/v1/transfers', payload: jointUse('M-idem'), headers: { 'idempotency-key': key } })
    t.equal(other.statusCode, 422)
    t.match(other.headers['content-type'], PROBLEM_JSON)
    t.match(other.json(), { status: 422, type: String, title: String, detail: String })
    t.notOk(other.json().entry, 'no entry')
    t.equal(await countEntries(test), afterFirst, 'nothing written')
    // The key still answers the first request.
    const again = await test.request({ method: 'POST', url: '/v1/transfers', payload: billing('M-idem', bank), headers: { 'idempotency-key': key } })
    t.equal(again.statusCode, 201)
    t.equal(again.body, first.body)
    t.equal(await countEntries(test), afterFirst)
  })

  t.test('a key belongs to its client', async (t) => {
    const key = `key-${randomUUID()}`
    const system = await createClient(test, { role: 'system' })
    const a = await test.request({ method: 'POST', url: '/v1/transfers', payload: jointUse('M-idem'), headers: { 'idempotency-key': key } })
    const before = await countEntries(test)
    const b = await test.request({
      method: 'POST',
      url: '/v1/transfers',
      payload: jointUse('M-idem'),
      headers: { 'idempotency-key': key },
      token: system.token
    })
    t.equal(b.statusCode, 201)
    t.notOk(b.headers['idempotent-replayed'], 'another client’s key is not a replay')
    t.not(b.json().entry.id, a.json().entry.id)
    t.equal(await countEntries(test), before + 1)
  })

  t.test('concurrent repeats of one key write one row', async (t) => {
    const key = `key-${randomUUID()}`
    const payload = billing('M-idem', bank)
    const before = await countEntries(test)
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => test.request({ method: 'POST', url: '/v1/transfers', payload, headers: { 'idempotency-key': key } }))
    )
    t.same(
      responses.map((r) => r.statusCode),
      Array(10).fill(201),
      'all 201'
    )
    t.equal(new Set(responses.map((r) => r.body)).size, 1, 'all the same body')
    t.equal(responses.filter((r) => r.headers['idempotent-replayed'] === 'true').length, 9, 'nine replays')
    t.equal(await countEntries(test), before + 1, 'one row')
  })
})

t.test('batch', async (t) => {
  const test = await buildTestApp(t)
  const bank = (await createRecipient(test)).id
  await grantConsent(test, 'M-b1')

  const items = [
    billing('M-b1', bank), // allow
    billing('M-b2', bank), // deny: no consent
    jointUse('M-b3'), // allow
    billing('M-b1', randomUUID()), // deny: unknown recipient
    { ...billing('M-b1', bank), dataItems: ['name', 'health_care'] }, // deny: sensitive
    jointUse('M-b1') // allow
  ]
  const expected = ['allow', 'deny', 'allow', 'deny', 'deny', 'allow']
  const before = await countEntries(test)
  const res = await test.request({ method: 'POST', url: '/v1/transfers/batch', payload: { items } })
  t.equal(res.statusCode, 200)
  const { results } = res.json<{ results: DecisionBody[] }>()
  t.equal(results.length, items.length, 'one result per item')
  t.same(
    results.map((r) => r.decision),
    expected,
    'results in request order, each decided on its own'
  )
  t.equal(new Set(results.map((r) => r.entry?.id)).size, items.length, 'each result has its own entry')
  t.equal(await countEntries(test), before + items.length, 'one row per item')
  for (const [i, result] of results.entries()) {
    const entry = (await getEntry(test, result.entry.id)).json()
    const item = items[i]!
    t.equal(entry.memberId, item.memberId, `item ${i}: the entry is of its member`)
    t.equal(entry.channel, item.channel, `item ${i}: and of its channel`)
    t.equal(entry.decision, result.decision, `item ${i}: same decision`)
    t.equal(entry.hash, result.entry.hash, `item ${i}: same hash`)
    t.same(entry.reasons, result.reasons, `item ${i}: same reasons`)
  }
  // Items of one member take consecutive positions of its chain in request order.
  const m1 = results.filter((_, i) => items[i]!.memberId === 'M-b1').map((r) => r.entry.seq)
  t.same(
    m1,
    [...m1].sort((a, b) => a - b),
    'seq grows in request order within a chain'
  )

  const tooMany = await test.request({ method: 'POST', url: '/v1/transfers/batch', payload: { items: Array.from({ length: 1001 }, () => jointUse('M-b4')) } })
  t.equal(tooMany.statusCode, 400, '1001 items is a 400')
  t.match(tooMany.headers['content-type'], PROBLEM_JSON)
  const none = await test.request({ method: 'POST', url: '/v1/transfers/batch', payload: { items: [] } })
  t.equal(none.statusCode, 400, '0 items is a 400')
  t.match(none.headers['content-type'], PROBLEM_JSON)
  t.equal(await countEntries(test), before + items.length, 'rejected batches write nothing')

  const max = await test.request({
    method: 'POST',
    url: '/v1/transfers/batch',
    payload: { items: Array.from({ length: 1000 }, (_, i) => jointUse(`M-max-${i % 37}`)) }
  })
  t.equal(max.statusCode, 200, '1000 items are accepted')
  t.equal(max.json().results.length, 1000)
  t.equal(await countEntries(test), before + items.length + 1000)
})

t.test('consents and suspensions are ledger entries and decide later transfers', async (t) => {
  const test = await buildTestApp(t)
  const bank = (await createRecipient(test)).id
  const member = 'M-consent'

  const consent = await grantConsent(test, member)
  t.ok(consent.entry?.id, 'the grant answers its entry')
  const granted = (await getEntry(test, consent.entry.id)).json()
  t.equal(granted.kind, 'consent_granted')
  t.equal(granted.memberId, member)
  t.equal(granted.hash, consent.entry.hash)

  const ok = await test.request({ method: 'POST', url: '/v1/transfers', payload: billing(member, bank) })
  await assertRecorded(t, test, ok, member, 'allow')
  t.equal(ok.json().consentId, consent.id, 'the allow names the consent')

  const withdraw = await test.request({ method: 'POST', url: `/v1/members/${member}/consents/${consent.id}/withdraw`, payload: { reason: 'member asked' } })
  t.equal(withdraw.statusCode, 200)
  const withdrawal = withdraw.json()
  t.ok(withdrawal.entry?.id, 'the withdrawal answers its entry')
  const withdrawn = (await getEntry(test, withdrawal.entry.id)).json()
  t.equal(withdrawn.kind, 'consent_withdrawn')
  t.equal(withdrawn.memberId, member)
  t.equal(withdrawn.hash, withdrawal.entry.hash)
  t.ok(withdrawal.entry.seq > ok.json().entry.seq, 'the withdrawal comes after the transfer in the chain')

  const after = await test.request({ method: 'POST', url: '/v1/transfers', payload: billing(member, bank) })
  await assertRecorded(t, test, after, member, 'deny')
  t.ok(
    after.json().reasons.some((r: { code: string }) => r.code === 'consent_withdrawn'),
    'denied: consent_withdrawn'
  )

  // Suspension: a fresh consent, then suspend, then lift.
  const consent2 = await grantConsent(test, member)
  t.equal((await getEntry(test, consent2.entry.id)).json().kind, 'consent_granted')
  t.equal((await test.request({ method: 'POST', url: '/v1/transfers', payload: billing(member, bank) })).statusCode, 201)
  const suspend = await test.request({
    method: 'POST',
    url: `/v1/members/${member}/suspensions`,
    payload: { reason: 'Art. 35 request', requestedAt: daysFrom(0) }
  })
  t.equal(suspend.statusCode, 201)
  const suspension = suspend.json()
  t.ok(suspension.entry?.id)
  const created = (await getEntry(test, suspension.entry.id)).json()
  t.equal(created.kind, 'suspension_created')
  t.equal(created.memberId, member)

  const suspended = await test.request({ method: 'POST', url: '/v1/transfers', payload: billing(member, bank) })
  await assertRecorded(t, test, suspended, member, 'deny')
  t.ok(
    suspended.json().reasons.some((r: { code: string }) => r.code === 'provision_suspended'),
    'denied: provision_suspended'
  )

  const lift = await test.request({ method: 'DELETE', url: `/v1/members/${member}/suspensions/${suspension.id}` })
  t.equal(lift.statusCode, 200)
  t.ok(lift.json().entry?.id)
  const lifted = (await getEntry(test, lift.json().entry.id)).json()
  t.equal(lifted.kind, 'suspension_lifted')
  t.equal(lifted.memberId, member)

  const resumed = await test.request({ method: 'POST', url: '/v1/transfers', payload: billing(member, bank) })
  await assertRecorded(t, test, resumed, member, 'allow')

  const kinds = (await memberEntries(test, member)).map((e) => e.kind)
  for (const kind of ['consent_granted', 'consent_withdrawn', 'suspension_created', 'suspension_lifted', 'decision']) {
    t.ok(kinds.includes(kind), `the member's ledger holds ${kind}`)
  }
  const byKind = await test.request({ method: 'GET', url: `/v1/ledger?memberId=${member}&kind=consent_withdrawn` })
  t.same(
    byKind.json().entries.map((e: { id: string }) => e.id),
    [withdrawal.entry.id],
    'filter by kind'
  )
})

t.test('fail closed: when the ledger cannot append, nothing is allowed', async (t) => {
  const SECRET = 'TRIGGER-SECRET-8f3a'

  async function assertFailsClosed(t: Tap, test: TestApp, res: LightMyRequestResponse, rowsBefore: number) {
    t.equal(res.statusCode, 503, 'the answer is 503')
    t.match(res.headers['content-type'], PROBLEM_JSON, 'as problem+json')
    const body = res.json()
    t.equal(body.status, 503)
    t.type(body.detail, 'string')
    t.notMatch(res.body, /"decision"\s*:\s*"allow"/, 'no decision: allow anywhere in the body')
    t.notMatch(res.body, new RegExp(SECRET), 'the database error does not leak')
    t.notMatch(res.body, /ledger_entries|no_more|INSERT|constraint|trigger|stack|\bat .*\.ts/i, 'the detail is generic')
    t.notOk(body.entry, 'no entry')
    t.equal(await countEntries(test), rowsBefore, 'the ledger has no new row')
  }

  t.test('an insert trigger that raises', async (t) => {
    const test = await buildTestApp(t)
    const bank = (await createRecipient(test)).id
    await grantConsent(test, 'M-closed')
    const payload = billing('M-closed', bank)
    t.equal((await test.request({ method: 'POST', url: '/v1/transfers', payload })).statusCode, 201, 'the transfer is allowed while the ledger works')

    const db = test.database.db
    await sql.raw(`CREATE FUNCTION test_refuse_append() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${SECRET}: refused'; END $$`).execute(db)
    await sql`CREATE TRIGGER test_refuse_append BEFORE INSERT ON ledger_entries FOR EACH ROW EXECUTE FUNCTION test_refuse_append()`.execute(db)
    const before = await countEntries(test)
    const headsBefore = (await sql<{ chain: number; seq: number | string; hash: string }>`SELECT chain, seq, hash FROM ledger_heads ORDER BY chain`.execute(db))
      .rows

    const res = await test.request({ method: 'POST', url: '/v1/transfers', payload })
    await assertFailsClosed(t, test, res, before)

    const keyed = await test.request({ method: 'POST', url: '/v1/transfers', payload, headers: { 'idempotency-key': 'closed-1' } })
    await assertFailsClosed(t, test, keyed, before)

    const batch = await test.request({ method: 'POST', url: '/v1/transfers/batch', payload: { items: [payload, jointUse('M-closed')] } })
    await assertFailsClosed(t, test, batch, before)

    const grant = await test.request({
      method: 'POST',
      url: '/v1/members/M-closed/consents',
      payload: consentBody({ recipientCategory: 'insurer', method: 'web', evidenceRef: 'web-1' })
    })
    t.equal(grant.statusCode, 503, 'a consent that cannot be recorded is not registered either')
    const consents = (await test.request({ method: 'GET', url: '/v1/members/M-closed/consents' })).json().consents
    t.notOk(
      consents.some((c: { recipientCategory: string }) => c.recipientCategory === 'insurer'),
      'the unrecorded consent does not exist'
    )

    const headsAfter = (await sql<{ chain: number; seq: number | string; hash: string }>`SELECT chain, seq, hash FROM ledger_heads ORDER BY chain`.execute(db))
      .rows
    t.same(headsAfter, headsBefore, 'no chain head moved')

    // Once the ledger works again, the idempotency key that failed was not burnt.
    await sql`DROP TRIGGER test_refuse_append ON ledger_entries`.execute(db)
    const retried = await test.request({ method: 'POST', url: '/v1/transfers', payload, headers: { 'idempotency-key': 'closed-1' } })
    t.equal(retried.statusCode, 201)
    t.notOk(retried.headers['idempotent-replayed'], 'not a replay of the failure')
    t.equal(await countEntries(test), before + 1)
    const verify = (await test.request({ method: 'GET', url: '/v1/ledger/verify' })).json()
    t.equal(verify.ok, true, 'the ledger still verifies')
  })

  t.test('a CHECK (false) NOT VALID constraint', async (t) => {
    const test = await buildTestApp(t)
    const bank = (await createRecipient(test)).id
    await grantConsent(test, 'M-closed')
    const payload = billing('M-closed', bank)
    t.equal((await test.request({ method: 'POST', url: '/v1/transfers', payload })).statusCode, 201)
    await sql`ALTER TABLE ledger_entries ADD CONSTRAINT no_more CHECK (false) NOT VALID`.execute(test.database.db)
    const before = await countEntries(test)
    const res = await test.request({ method: 'POST', url: '/v1/transfers', payload })
    await assertFailsClosed(t, test, res, before)
    const joint = await test.request({ method: 'POST', url: '/v1/transfers', payload: jointUse('M-other') })
    await assertFailsClosed(t, test, joint, before)
  })
})
