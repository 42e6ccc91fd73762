import { randomUUID } from 'node:crypto'
import t from 'tap'
import { toClient } from '../../src/clients/repository.js'
import { GroupApplier, type ActContext, type Job } from '../../src/recording/acts.js'
import { requestHash } from '../../src/recording/idempotency.js'
import { LedgerWriter } from '../../src/ledger/writer.js'
import type { DecisionRequest } from '../../src/policy/engine.js'
import { assertProblem, billing, consentBody, countEntries, createRecipient, grantConsent, jointUse, memberEntries } from '../fixtures.js'
import { buildTestApp, createClient } from '../helper.js'
import { SeenMembers } from '../../src/recording/seen-members.js'

/**
 * Every route that records something honours an Idempotency-Key, so a caller whose answer was
 * lost (a 503 after the commit, a dropped connection) can send the call again without recording
 * it twice: batches, consent grants and withdrawals, suspensions and their lifting. (Transfers:
 * test/ledger/transfers.test.ts.)
 */

const key = () => `key-${randomUUID()}`

t.test('a batch with a key: a repeat answers as the first time and records nothing', async (t) => {
  const test = await buildTestApp(t)
  const bank = (await createRecipient(test)).id
  await grantConsent(test, 'M-ib-1')
  const items = [billing('M-ib-1', bank), billing('M-ib-2', bank), jointUse('M-ib-3')]
  const headers = { 'idempotency-key': key() }
  const first = await test.request({ method: 'POST', url: '/v1/transfers/batch', payload: { items }, headers })
  t.equal(first.statusCode, 200)
  t.same(
    first.json().results.map((r: { decision: string }) => r.decision),
    ['allow', 'deny', 'allow']
  )
  t.notOk(first.headers['idempotent-replayed'], 'the first answer is not a replay')
  const afterFirst = await countEntries(test)

  const again = await test.request({ method: 'POST', url: '/v1/transfers/batch', payload: { items }, headers })
  t.equal(again.statusCode, 200)
  t.equal(again.headers['idempotent-replayed'], 'true')
  t.equal(again.body, first.body, 'byte for byte the first answer')
  t.equal(await countEntries(test), afterFirst, 'nothing recorded')
  const decisions = (await memberEntries(test, 'M-ib-1')).filter((e) => e.kind === 'decision')
  t.same(
    decisions.map((e) => [e.id, e.idempotencyKey]),
    [[first.json().results[0].entry.id, headers['idempotency-key']]],
    "one entry for the item, carrying the batch's key"
  )

  const other = await test.request({ method: 'POST', url: '/v1/transfers/batch', payload: { items: items.slice(0, 2) }, headers })
  assertProblem(t, other, 422, 'the key with other items')
  t.equal(other.json().code, 'idempotency_key_reused')
  t.equal(await countEntries(test), afterFirst, 'nothing recorded for the conflict')
})

t.test('concurrent repeats of one batch record it once', async (t) => {
  const test = await buildTestApp(t)
  const items = Array.from({ length: 20 }, (_, i) => jointUse(`M-ibc-${i}`))
  const headers = { 'idempotency-key': key() }
  const before = await countEntries(test)
  const answers = await Promise.all(Array.from({ length: 8 }, () => test.request({ method: 'POST', url: '/v1/transfers/batch', payload: { items }, headers })))
  t.same(
    answers.map((a) => a.statusCode),
    Array(8).fill(200)
  )
  t.equal(new Set(answers.map((a) => a.body)).size, 1, 'all the same answer')
  t.equal(answers.filter((a) => a.headers['idempotent-replayed'] === 'true').length, 7, 'seven replays')
  t.equal(await countEntries(test), before + items.length, 'each item recorded once')
})

t.test('consents and suspensions with a key', async (t) => {
  const test = await buildTestApp(t)
  const member = 'M-ic-1'
  const post = (url: string, payload: object, idempotencyKey: string) =>
    test.request({ method: 'POST', url, payload, headers: { 'idempotency-key': idempotencyKey } })

  t.test('a grant repeated: the same consent, receipt and entry; one consent on record', async (t) => {
    const grantKey = key()
    const body = consentBody()
    const first = await post(`/v1/members/${member}/consents`, body, grantKey)
    t.equal(first.statusCode, 201)
    const before = await countEntries(test, member)
    const again = await post(`/v1/members/${member}/consents`, body, grantKey)
    t.equal(again.statusCode, 201)
    t.equal(again.headers['idempotent-replayed'], 'true')
    t.same(again.json(), first.json(), 'the same consent id, receipt and entry')
    t.equal(await countEntries(test, member), before, 'no second grant entry')
    const listed = await test.request({ method: 'GET', url: `/v1/members/${member}/consents` })
    t.same(
      listed.json().consents.map((c: { id: string }) => c.id),
      [first.json().id],
      'one consent on record'
    )
    const other = await post(`/v1/members/${member}/consents`, consentBody({ evidenceRef: 'another form' }), grantKey)
    assertProblem(t, other, 422, 'the key with another body')
  })

  t.test('a withdrawal repeated: the first answer again, not a 409', async (t) => {
    const consent = await grantConsent(test, 'M-ic-2')
    const withdrawKey = key()
    const url = `/v1/members/M-ic-2/consents/${consent.id}/withdraw`
    const first = await post(url, { reason: 'by phone' }, withdrawKey)
    t.equal(first.statusCode, 200)
    const before = await countEntries(test, 'M-ic-2')
    const again = await post(url, { reason: 'by phone' }, withdrawKey)
    t.equal(again.statusCode, 200)
    t.equal(again.headers['idempotent-replayed'], 'true')
    t.equal(again.body, first.body)
    t.equal(await countEntries(test, 'M-ic-2'), before)
    const unkeyed = await test.request({ method: 'POST', url, payload: { reason: 'by phone' } })
    assertProblem(t, unkeyed, 409, 'without the key it is a second withdrawal, refused')
  })

  t.test('a suspension and its lifting repeated: one of each', async (t) => {
    const suspendKey = key()
    const body = { reason: '本人から第三者提供停止の請求', requestedAt: '2026-11-24T15:00:00+09:00' }
    const first = await post('/v1/members/M-ic-3/suspensions', body, suspendKey)
    t.equal(first.statusCode, 201)
    const again = await post('/v1/members/M-ic-3/suspensions', body, suspendKey)
    t.equal(again.statusCode, 201)
    t.equal(again.headers['idempotent-replayed'], 'true')
    t.equal(again.json().id, first.json().id)
    const liftKey = key()
    const lift = () => test.request({ method: 'DELETE', url: `/v1/members/M-ic-3/suspensions/${first.json().id}`, headers: { 'idempotency-key': liftKey } })
    const lifted = await lift()
    t.equal(lifted.statusCode, 200)
    const liftedAgain = await lift()
    t.equal(liftedAgain.statusCode, 200, 'the repeat of the lifting answers as it did')
    t.equal(liftedAgain.headers['idempotent-replayed'], 'true')
    const listed = await test.request({ method: 'GET', url: '/v1/members/M-ic-3/suspensions' })
    t.equal(listed.json().suspensions.length, 1, 'one suspension on record')
    t.same((await memberEntries(test, 'M-ic-3')).map((e) => e.kind).sort(), ['suspension_created', 'suspension_lifted'], 'one entry each')
  })

  t.test('a key used on one route is a conflict on another', async (t) => {
    const shared = key()
    t.equal((await post(`/v1/members/M-ic-4/consents`, consentBody(), shared)).statusCode, 201)
    const before = await countEntries(test)
    const suspension = await post('/v1/members/M-ic-4/suspensions', { reason: 'x', requestedAt: '2026-11-24T15:00:00+09:00' }, shared)
    assertProblem(t, suspension, 422, 'a suspension under a consent grant’s key')
    const transfer = await post('/v1/transfers', jointUse('M-ic-4'), shared)
    assertProblem(t, transfer, 422, 'a transfer under it')
    t.equal(await countEntries(test), before, 'nothing recorded')
  })

  t.test('a refused act gives its key back', async (t) => {
    const reused = key()
    const missing = await post(`/v1/members/M-ic-5/consents/${randomUUID()}/withdraw`, {}, reused)
    assertProblem(t, missing, 404, 'a withdrawal of no consent')
    const granted = await post('/v1/members/M-ic-5/consents', consentBody(), reused)
    t.equal(granted.statusCode, 201, 'the key is free for the next call')
    t.notOk(granted.headers['idempotent-replayed'])
  })

  t.test("a key belongs to its client: another client's same key records its own", async (t) => {
    const shared = key()
    const body = { reason: 'x', requestedAt: '2026-11-24T15:00:00+09:00' }
    const ops = await createClient(test, { role: 'ops' })
    const mine = await post('/v1/members/M-ic-6/suspensions', body, shared)
    const theirs = await test.request({
      method: 'POST',
      url: '/v1/members/M-ic-6/suspensions',
      payload: body,
      headers: { 'idempotency-key': shared },
      token: ops.token
    })
    t.equal(theirs.statusCode, 201)
    t.notOk(theirs.headers['idempotent-replayed'])
    t.not(theirs.json().id, mine.json().id)
  })
})

t.test('one key on two jobs of one group: the job that answers owns the key', async (t) => {
  const test = await buildTestApp(t)
  const admin = toClient(await test.database.db.selectFrom('clients').selectAll().where('role', '=', 'admin').executeTakeFirstOrThrow())
  const ctx: ActContext = { client: admin, language: 'en', log: test.app.log }
  const inOneGroup = (jobs: Job[]) =>
    test.database.transaction(async (tx) => {
      const ledger = await LedgerWriter.lock(tx, ['M-ig-1', 'M-ig-2'])
      const outcomes = await GroupApplier.apply(tx, ledger, new Date(), jobs, new SeenMembers())
      await ledger.flush()
      return outcomes
    })
  const transfer = (memberId: string, key: string): Job => {
    const request = jointUse(memberId) as DecisionRequest
    return { acts: [{ kind: 'decision', ctx, action: 'transfer', request }], idempotency: { key, hash: requestHash(request) } }
  }

  const shared = key()
  const [first, second] = await inOneGroup([transfer('M-ig-1', shared), transfer('M-ig-2', shared)])
  t.equal(first?.ok, true, 'the first job is decided')
  t.match(second, { ok: false, error: { code: 'idempotency_key_reused' } }, 'the second, another body under the same key, is a conflict')
  const again = await test.request({ method: 'POST', url: '/v1/transfers', payload: jointUse('M-ig-1'), headers: { 'idempotency-key': shared } })
  t.equal(again.headers['idempotent-replayed'], 'true', 'a repeat of the first job over HTTP replays its answer')
  t.equal(again.json().entry.id, first?.ok ? first.value.results[0]?.kind === 'decision' && first.value.results[0].body.entry.id : undefined)

  // The first job is refused (no such consent) and gives the key back; the second uses it.
  const given = key()
  const refused: Job = {
    acts: [{ kind: 'consent_withdrawn', ctx, memberId: 'M-ig-2', consentId: randomUUID(), input: {} }],
    idempotency: { key: given, hash: 'hash-of-a-withdrawal' }
  }
  const [withdrawal, decided] = await inOneGroup([refused, transfer('M-ig-2', given)])
  t.match(withdrawal, { ok: false, error: { status: 404 } })
  t.equal(decided?.ok, true)
  const stored = await test.database.db.selectFrom('idempotency_keys').select(['request_hash']).where('key', '=', given).executeTakeFirstOrThrow()
  t.equal(stored.request_hash, requestHash(jointUse('M-ig-2')), 'the key holds the hash of the request it answers')
  const replay = await test.request({ method: 'POST', url: '/v1/transfers', payload: jointUse('M-ig-2'), headers: { 'idempotency-key': given } })
  t.equal(replay.headers['idempotent-replayed'], 'true')
})
