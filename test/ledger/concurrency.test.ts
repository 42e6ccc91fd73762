import { randomUUID } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import t from 'tap'
import { billing, countEntries, jointUse, type Tap } from '../fixtures.js'
import { buildTestApp, openTestDatabase, type TestApp } from '../helper.js'

/** Denied without any setup: a well-formed recipient id that names nobody. */
function unknownRecipient(memberId: string) {
  return { ...billing(memberId, randomUUID()), dataItems: ['name', 'bank_account'] }
}

/** Even i: a joint use, allowed without any setup; odd i: a denied third-party provision. */
function transfer(test: TestApp, i: number, memberId: string): Promise<LightMyRequestResponse> {
  return test.request({ method: 'POST', url: '/v1/transfers', payload: i % 2 === 0 ? jointUse(memberId, 'delivery') : unknownRecipient(memberId) })
}

/** Every chain is 1..N without gaps or duplicates, and its head is at N. */
async function assertChainsContiguous(t: Tap, test: TestApp): Promise<void> {
  const { rows } = await sql<{
    chain: number
    n: number | string
    distinct_seq: number | string
    min_seq: number | string
    max_seq: number | string
    head_seq: number | string
  }>`
    SELECT e.chain, count(*) AS n, count(DISTINCT e.seq) AS distinct_seq, min(e.seq) AS min_seq, max(e.seq) AS max_seq, max(h.seq) AS head_seq
    FROM ledger_entries e JOIN ledger_heads h ON h.chain = e.chain
    GROUP BY e.chain ORDER BY e.chain`.execute(test.database.db)
  t.ok(rows.length > 0, 'some chains hold entries')
  const bad = rows.filter(
    (r) => Number(r.min_seq) !== 1 || Number(r.max_seq) !== Number(r.n) || Number(r.distinct_seq) !== Number(r.n) || Number(r.head_seq) !== Number(r.n)
  )
  t.same(bad, [], 'every chain is seq 1..N without gaps or duplicates, head at N')
  const links = await sql<{ broken: number | string }>`
    SELECT count(*) AS broken FROM ledger_entries e
    LEFT JOIN ledger_entries p ON p.chain = e.chain AND p.seq = e.seq - 1
    WHERE (e.seq = 1 AND e.prev_hash <> ${'0'.repeat(64)}) OR (e.seq > 1 AND (p.hash IS NULL OR p.hash <> e.prev_hash))`.execute(test.database.db)
  t.equal(Number(links.rows[0]!.broken), 0, 'every prevHash is the previous entry of its chain')
}

async function assertVerifies(t: Tap, test: TestApp): Promise<void> {
  const res = await test.request({ method: 'GET', url: '/v1/ledger/verify' })
  t.equal(res.statusCode, 200)
  const report = res.json()
  t.equal(report.ok, true, 'GET /v1/ledger/verify is ok')
  t.notOk(report.firstFailure)
  t.equal(report.entriesChecked, await countEntries(test), 'verify checked every entry')
}

function assertAnswered(t: Tap, responses: LightMyRequestResponse[], label: string): void {
  const statuses = responses.map((r) => r.statusCode)
  const unexpected = statuses.filter((s) => s !== 201 && s !== 403)
  t.same(unexpected, [], `${label}: every request answered 201 or 403`)
  const allowed = responses.filter((r) => r.statusCode === 201)
  t.ok(
    allowed.every((r) => r.json().decision === 'allow'),
    `${label}: every 201 is an allow`
  )
  t.ok(
    responses.filter((r) => r.statusCode === 403).every((r) => r.json().decision === 'deny'),
    `${label}: every 403 is a deny`
  )
  const ids = responses.map((r) => (r.statusCode === 201 || r.statusCode === 403 ? r.json().entry?.id : undefined))
  t.equal(new Set(ids.filter(Boolean)).size, responses.length, `${label}: every answer has its own entry`)
  const positions = responses.map((r) => (r.statusCode === 201 || r.statusCode === 403 ? `${r.json().entry?.chain}:${r.json().entry?.seq}` : r.body))
  t.equal(new Set(positions).size, responses.length, `${label}: no two answers name the same (chain, seq)`)
}

t.test('500 concurrent transfers on one member, then on 500 members', async (t) => {
  const test = await buildTestApp(t)
  const N = 500

  t.test('one member', async (t) => {
    const member = 'M-hot'
    const started = Date.now()
    const responses = await Promise.all(Array.from({ length: N }, (_, i) => transfer(test, i, member)))
    t.comment(`${N} transfers on one member in ${Date.now() - started} ms`)
    assertAnswered(t, responses, 'one member')
    t.equal(responses.filter((r) => r.statusCode === 201).length, N / 2, 'half allowed')
    t.equal(await countEntries(test, member), N, 'all recorded')
    const seqs = responses.map((r) => r.json().entry.seq as number).sort((a, b) => a - b)
    t.same(
      seqs,
      Array.from({ length: N }, (_, i) => i + 1),
      'the answers name seq 1..N of the member’s chain'
    )
    t.equal(new Set(responses.map((r) => r.json().entry.chain)).size, 1, 'one chain')
    await assertChainsContiguous(t, test)
    await assertVerifies(t, test)
  })

  t.test('many members', async (t) => {
    const before = await countEntries(test)
    const started = Date.now()
    const responses = await Promise.all(Array.from({ length: N }, (_, i) => transfer(test, i, `M-${String(i).padStart(5, '0')}`)))
    t.comment(`${N} transfers on ${N} members in ${Date.now() - started} ms`)
    assertAnswered(t, responses, 'many members')
    t.equal(await countEntries(test), before + N, 'all recorded')
    for (const [i, r] of responses.entries()) {
      if (r.json().entry === undefined) t.fail(`response ${i} has no entry`)
    }
    const members = await sql<{ member_id: string; n: number | string }>`
      SELECT member_id, count(*) AS n FROM ledger_entries WHERE member_id LIKE 'M-0%' GROUP BY member_id`.execute(test.database.db)
    t.equal(members.rows.length, N, 'every member has its entry')
    t.ok(
      members.rows.every((r) => Number(r.n) === 1),
      'exactly one each'
    )
    await assertChainsContiguous(t, test)
    await assertVerifies(t, test)
  })
})

t.test('two app instances on one database keep one chain per chain id', async (t) => {
  const { database, reopen } = await openTestDatabase(t)
  const second = await reopen()
  const a = await buildTestApp(t, { database })
  const b = await buildTestApp(t, { database: second })
  t.teardown(async () => {
    await database.close()
    if (second !== database) await second.close()
  })
  t.comment(second === database ? 'PGlite: both apps share one Database' : 'PostgreSQL: two pools')

  const members = ['M-a', 'M-b', 'M-c', 'M-d', 'M-e']
  const PER_APP = 150
  const requests: Promise<LightMyRequestResponse>[] = []
  for (let i = 0; i < PER_APP; i += 1) {
    requests.push(transfer(a, i, members[i % members.length]!))
    requests.push(transfer(b, i + 1, members[(i + 2) % members.length]!))
  }
  const started = Date.now()
  const responses = await Promise.all(requests)
  t.comment(`${responses.length} transfers through two apps in ${Date.now() - started} ms`)
  assertAnswered(t, responses, 'two apps')
  t.equal(await countEntries(a), 2 * PER_APP, 'all recorded')
  const dup = await sql<{ n: number | string }>`
    SELECT count(*) AS n FROM (SELECT chain, seq FROM ledger_entries GROUP BY chain, seq HAVING count(*) > 1) d`.execute(database.db)
  t.equal(Number(dup.rows[0]!.n), 0, 'no duplicate (chain, seq)')
  await assertChainsContiguous(t, a)
  await assertVerifies(t, a)
  const viaB = (await b.request({ method: 'GET', url: '/v1/ledger/verify' })).json()
  t.equal(viaB.ok, true, 'the other instance verifies the same ledger')
  t.equal(viaB.entriesChecked, 2 * PER_APP)
})

t.test('pagination while entries are appended', async (t) => {
  const test = await buildTestApp(t)
  const seed = await Promise.all(Array.from({ length: 90 }, (_, i) => transfer(test, i, `M-p${i % 4}`)))
  t.ok(
    seed.every((r) => r.statusCode === 201 || r.statusCode === 403),
    'seeded'
  )

  async function pageThrough(t: Tap, url: string, existing: string[]): Promise<void> {
    const served: string[] = []
    let appending = true
    let appended = 0
    const appender = (async () => {
      while (appending) {
        await Promise.all([transfer(test, appended, 'M-p1'), transfer(test, appended + 1, 'M-p2'), transfer(test, appended + 2, 'M-new')])
        appended += 3
      }
    })()
    let cursor: string | null = null
    let pages = 0
    try {
      do {
        const res: LightMyRequestResponse = await test.request({ method: 'GET', url: `${url}${cursor ? `&cursor=${cursor}` : ''}` })
        t.equal(res.statusCode, 200, `page ${pages + 1}`)
        const page = res.json()
        t.ok(page.entries.length <= 7, 'at most limit entries per page')
        served.push(...page.entries.map((e: { id: string }) => e.id))
        cursor = page.nextCursor
        pages += 1
        // Let the appender get some writes in between pages.
        await new Promise((resolve) => setImmediate(resolve))
      } while (cursor !== null && pages < 1000)
    } finally {
      appending = false
      await appender
    }
    t.comment(`${pages} pages, ${served.length} entries served, ${appended} appended meanwhile`)
    t.ok(appended > 0, 'entries were appended while paging')
    t.equal(new Set(served).size, served.length, 'no entry served twice')
    const counts = new Map<string, number>()
    for (const id of served) counts.set(id, (counts.get(id) ?? 0) + 1)
    const missing = existing.filter((id) => counts.get(id) !== 1)
    t.same(missing, [], 'every entry that existed when paging started is served exactly once')
  }

  t.test('the whole ledger', async (t) => {
    const existing = (await sql<{ id: string }>`SELECT id FROM ledger_entries`.execute(test.database.db)).rows.map((r) => r.id)
    t.ok(existing.length >= 90)
    await pageThrough(t, '/v1/ledger?limit=7', existing)
  })

  t.test('one member', async (t) => {
    const existing = (await sql<{ id: string }>`SELECT id FROM ledger_entries WHERE member_id = 'M-p1'`.execute(test.database.db)).rows.map((r) => r.id)
    t.ok(existing.length > 7, 'more than one page')
    await pageThrough(t, '/v1/ledger?memberId=M-p1&limit=7', existing)
  })

  t.test('an invalid cursor is a 400', async (t) => {
    const bad = [
      Buffer.from('not-a-cursor').toString('base64url'),
      Buffer.from('p:0').toString('base64url'),
      Buffer.from('p:-5').toString('base64url'),
      Buffer.from('p:1.5').toString('base64url'),
      Buffer.from('p:abc').toString('base64url'),
      'zzzz',
      '!!!',
      'a'.repeat(65)
    ]
    for (const cursor of bad) {
      const res = await test.request({ method: 'GET', url: `/v1/ledger?limit=7&cursor=${encodeURIComponent(cursor)}` })
      t.equal(res.statusCode, 400, `cursor ${JSON.stringify(cursor)} is a 400`)
      t.match(res.headers['content-type'], /^application\/problem\+json/)
    }
  })
})
