import { sql } from 'kysely'
import { parse } from 'csv-parse/sync'
import t from 'tap'
import { buildTestApp } from '../helper.js'
import { billing, createRecipient, grantConsent } from '../fixtures.js'

t.test('the database refuses entries outside the chains, and verify sees tampered filter columns', async (t) => {
  const test = await buildTestApp(t)
  const recipient = await createRecipient(test)
  await grantConsent(test, 'M-HARD-1')
  const allowed = await test.request({ method: 'POST', url: '/v1/transfers', payload: billing('M-HARD-1', recipient.id) })
  t.equal(allowed.statusCode, 201)
  const entryId = allowed.json().entry.id as string

  const forged = (chain: number, seq: number) =>
    sql`
    INSERT INTO ledger_entries (id, chain, seq, prev_hash, hash, recorded_at, kind, member_id, client_id, content)
    SELECT gen_random_uuid(), ${chain}, ${seq}, prev_hash, hash, recorded_at, kind, member_id, client_id, content
    FROM ledger_entries WHERE id = ${entryId}`.execute(test.database.db)
  await t.rejects(forged(99, 1), 'a chain outside 0..15 is refused')
  await t.rejects(forged(0, -5), 'a seq below 1 is refused')

  await sql`ALTER TABLE ledger_entries DISABLE TRIGGER USER`.execute(test.database.db)
  await sql`UPDATE ledger_entries SET decision = NULL WHERE id = ${entryId}`.execute(test.database.db)
  await sql`ALTER TABLE ledger_entries ENABLE TRIGGER USER`.execute(test.database.db)
  const verify = await test.request({ method: 'GET', url: '/v1/ledger/verify' })
  t.equal(verify.json().ok, false)
  t.equal(verify.json().firstFailure.entryId, entryId, 'the entry whose filter column was blanked is named')
})

t.test('verify stays ok while transfers are being appended', async (t) => {
  const test = await buildTestApp(t)
  const recipient = await createRecipient(test)
  const members = Array.from({ length: 40 }, (_, i) => `M-LIVE-${i}`)
  for (const member of members) await grantConsent(test, member)
  const appends = Promise.all(
    Array.from({ length: 200 }, (_, i) => test.request({ method: 'POST', url: '/v1/transfers', payload: billing(members[i % members.length]!, recipient.id) }))
  )
  const verifies = Promise.all(Array.from({ length: 5 }, () => test.request({ method: 'GET', url: '/v1/ledger/verify' })))
  const [answers, reports] = await Promise.all([appends, verifies])
  t.ok(answers.every((a) => a.statusCode === 201))
  for (const report of reports) t.equal(report.json().ok, true, JSON.stringify(report.json().firstFailure ?? {}))
})

t.test('a provision-record CSV cannot carry a spreadsheet formula', async (t) => {
  const test = await buildTestApp(t)
  const recipient = await createRecipient(test, { name: '=HYPERLINK("http://x.example","click")', address: '+81-3-0000' })
  await grantConsent(test, 'M-CSV-1', { evidenceRef: '@SUM(1+1)' })
  t.equal((await test.request({ method: 'POST', url: '/v1/transfers', payload: billing('M-CSV-1', recipient.id) })).statusCode, 201)
  const csv = await test.request({ method: 'GET', url: '/v1/members/M-CSV-1/provision-records?format=csv' })
  const [, row] = parse(csv.body.replace(/^\uFEFF/, ''))
  for (const cell of row!) t.notMatch(cell, /^[=+\-@]/, `cell ${cell} does not start a formula`)
  t.ok(
    row!.some((cell) => cell.includes('HYPERLINK')),
    'the name is still there, as text'
  )
})

t.test('unparseable text and instants are 400s, not 5xx', async (t) => {
  const test = await buildTestApp(t)
  const nul = await test.request({
    method: 'POST',
    url: '/v1/recipients',
    payload: { category: 'insurer', name: 'a\u0000b', address: 'x', representative: 'y' }
  })
  t.equal(nul.statusCode, 400)
  const surrogate = await test.request({
    method: 'POST',
    url: '/v1/members/M-1/consents',
    payload: { recipientCategory: 'insurer', obtainedAt: '2026-01-01T00:00:00Z', method: 'paper', evidenceRef: 'x\ud800' }
  })
  t.equal(surrogate.statusCode, 400)
  const leap = await test.request({ method: 'POST', url: '/v1/members/M-1/suspensions', payload: { reason: 'asked', requestedAt: '2099-12-31T23:59:60Z' } })
  t.equal(leap.statusCode, 400)
  const badUrl = await test.request({ method: 'GET', url: '/v1/members/%E0%A4%A/consents' })
  t.equal(badUrl.statusCode, 400)
  t.match(badUrl.headers['content-type'], /application\/problem\+json/)
  t.notMatch(badUrl.body, /%E0/, 'the URL is not echoed')
  const unknown = await test.request({ method: 'GET', url: '/v1/no-such-thing', token: null })
  t.equal(unknown.statusCode, 401, 'unknown /v1 paths need a token too')
  t.equal((await test.request({ method: 'GET', url: '/v1/ledger' })).json().entries.length, 0, 'nothing was recorded')
})

t.test('guessing tokens is rate limited per address', async (t) => {
  const test = await buildTestApp(t, { config: { authFailureLimit: 5, authFailureWindowMs: 60_000 } })
  const statuses: number[] = []
  for (let i = 0; i < 8; i += 1) {
    statuses.push((await test.request({ method: 'GET', url: '/v1/policy', token: `guess-${i}-0123456789abcdef` })).statusCode)
  }
  t.same(statuses.slice(0, 5), [401, 401, 401, 401, 401])
  t.ok(
    statuses.slice(5).every((s) => s === 429),
    `then 429: ${statuses.join(',')}`
  )
})
