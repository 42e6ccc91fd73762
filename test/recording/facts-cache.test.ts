import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import t from 'tap'
import { addContract, addInspection, billing, createContractor, createRecipient, grantConsent, type Tap } from '../fixtures.js'
import { buildTestApp, daysFrom, NEEDS_POSTGRES_FOR_TWO_PROCESSES, twoAppsOnOneDatabase, until, type TestApp } from '../helper.js'

/**
 * Checks keep their facts in memory. Whatever changes a fact (this process, another one, or SQL
 * behind the service's back) must reach every process's next checks: at once where the change
 * was made, within a second elsewhere.
 */

type Source = 'hit' | 'miss' | 'bypass'

async function factsFrom(test: TestApp): Promise<Record<Source, number>> {
  const metric = await test.app.metrics.registry.getSingleMetric('shizenha_check_facts_total')?.get()
  const counts = { hit: 0, miss: 0, bypass: 0 }
  for (const { labels, value } of metric?.values ?? []) counts[labels.source as Source] = value
  return counts
}

async function check(test: TestApp, request: Record<string, unknown>): Promise<{ decision: string; codes: string[] }> {
  const res = await test.request({ method: 'POST', url: '/v1/checks', payload: request })
  if (res.statusCode !== 200) throw new Error(`check answered ${res.statusCode}: ${res.body}`)
  const body = res.json<{ decision: string; reasons: { code: string }[] }>()
  return { decision: body.decision, codes: body.reasons.map((r) => r.code) }
}

/** The check's decision, and where its facts came from (the counter's increase). */
async function checkWithSource(test: TestApp, request: Record<string, unknown>): Promise<{ decision: string; source: Source }> {
  const before = await factsFrom(test)
  const { decision } = await check(test, request)
  const after = await factsFrom(test)
  const source = (['hit', 'miss', 'bypass'] as const).find((s) => after[s] === before[s] + 1)
  if (source === undefined) throw new Error('the check counted no source of facts')
  return { decision, source }
}

/**
 * Checks until one is answered from memory (a read raced by any announced change is not kept, and
 * on PostgreSQL the writer's own announcement comes back a moment after its write), then its decision.
 */
async function fromMemory(t: Tap, test: TestApp, request: Record<string, unknown>): Promise<string | undefined> {
  const started = Date.now()
  while (Date.now() - started <= 1000) {
    const { decision, source } = await checkWithSource(test, request)
    if (source === 'hit') return decision
    await sleep(20)
  }
  t.fail('no check was answered from memory within a second')
  return undefined
}

function delivery(memberId: string, contractorId: string) {
  return { channel: 'entrustment', memberId, purpose: 'delivery', serviceCategory: 'joint_purchasing', dataItems: ['name', 'address', 'phone'], contractorId }
}

async function consentedMember(t: Tap, test: TestApp, memberId: string) {
  const recipient = await createRecipient(test)
  const consent = await grantConsent(test, memberId)
  t.equal((await check(test, billing(memberId, recipient.id))).decision, 'allow', 'allowed with the consent on record')
  return { recipient, consent }
}

t.test('one process: a repeated check is answered from memory, and every change through the API reaches the next check', async (t) => {
  const test = await buildTestApp(t)

  t.test('consents and suspensions', async (t) => {
    const member = 'M-cache-1'
    const { recipient, consent } = await consentedMember(t, test, member)
    t.equal(await fromMemory(t, test, billing(member, recipient.id)), 'allow', 'answered from memory')

    const suspended = await test.request({
      method: 'POST',
      url: `/v1/members/${member}/suspensions`,
      payload: { reason: 'member asked', requestedAt: daysFrom(-1) }
    })
    t.equal(suspended.statusCode, 201)
    t.equal((await check(test, billing(member, recipient.id))).decision, 'deny', 'a suspension denies the very next check')
    t.equal(await fromMemory(t, test, billing(member, recipient.id)), 'deny', 'and so do the checks answered from memory')
    const lifted = await test.request({ method: 'DELETE', url: `/v1/members/${member}/suspensions/${suspended.json().id}` })
    t.equal(lifted.statusCode, 200)
    t.equal((await check(test, billing(member, recipient.id))).decision, 'allow', 'lifting it allows the very next check')
    t.equal(await fromMemory(t, test, billing(member, recipient.id)), 'allow')

    const withdrawn = await test.request({ method: 'POST', url: `/v1/members/${member}/consents/${consent.id}/withdraw`, payload: {} })
    t.equal(withdrawn.statusCode, 200)
    t.equal((await check(test, billing(member, recipient.id))).decision, 'deny', 'a withdrawal denies the very next check')
    t.equal(await fromMemory(t, test, billing(member, recipient.id)), 'deny')
  })

  t.test('recipients', async (t) => {
    const member = 'M-cache-2'
    const { recipient } = await consentedMember(t, test, member)
    t.equal(await fromMemory(t, test, billing(member, recipient.id)), 'allow')
    const res = await test.request({ method: 'PATCH', url: `/v1/recipients/${recipient.id}`, payload: { active: false } })
    t.equal(res.statusCode, 200)
    const after = await check(test, billing(member, recipient.id))
    t.equal(after.decision, 'deny', 'a deactivated recipient denies the very next check')
    t.ok(after.codes.includes('recipient_inactive'), `for that reason (${after.codes.join(', ')})`)
  })

  t.test('contractors, their contracts and inspections', async (t) => {
    const member = 'M-cache-3'
    const contractor = await createContractor(test)
    t.equal((await check(test, delivery(member, contractor.id))).decision, 'deny', 'no contract yet')
    await addContract(test, contractor.id)
    await addInspection(test, contractor.id)
    t.equal((await check(test, delivery(member, contractor.id))).decision, 'allow', 'a new contract and inspection are seen at once')
    t.equal(await fromMemory(t, test, delivery(member, contractor.id)), 'allow')
    await addInspection(test, contractor.id, { inspectedAt: daysFrom(-1), result: 'failed' })
    t.equal((await check(test, delivery(member, contractor.id))).decision, 'deny', 'a failed inspection denies the very next check')
  })

  t.test('a change made in SQL, behind the service, is announced by the database itself', async (t) => {
    const member = 'M-cache-4'
    const { recipient } = await consentedMember(t, test, member)
    t.equal(await fromMemory(t, test, billing(member, recipient.id)), 'allow')
    await sql`UPDATE consents SET withdrawn_at = now() WHERE member_id = ${member}`.execute(test.database.db)
    // The embedded database delivers its notifications as the statement returns; PostgreSQL a moment after.
    const denied = await until(async () => (await check(test, billing(member, recipient.id))).decision === 'deny', 1000)
    t.not(denied, null, `denied within a second (after ${denied} ms)`)

    const other = 'M-cache-5'
    const second = await consentedMember(t, test, other)
    t.equal(await fromMemory(t, test, billing(other, second.recipient.id)), 'allow')
    await sql`UPDATE recipients SET active = false WHERE id = ${second.recipient.id}`.execute(test.database.db)
    t.not(await until(async () => (await check(test, billing(other, second.recipient.id))).decision === 'deny', 1000), null, 'a recipient changed in SQL too')
  })
})

t.test('two processes on one database', { skip: NEEDS_POSTGRES_FOR_TWO_PROCESSES }, async (t) => {
  const [a, b] = await twoAppsOnOneDatabase(t)

  t.test('a withdrawal on one process denies checks on the other within a second', async (t) => {
    const member = 'M-cache-6'
    const { recipient, consent } = await consentedMember(t, a, member)
    t.equal(await fromMemory(t, b, billing(member, recipient.id)), 'allow', 'the other process has the facts in memory')
    const res = await a.request({ method: 'POST', url: `/v1/members/${member}/consents/${consent.id}/withdraw`, payload: {} })
    t.equal(res.statusCode, 200)
    t.equal((await check(a, billing(member, recipient.id))).decision, 'deny', 'denied at once where it was withdrawn')
    const after = await until(async () => (await check(b, billing(member, recipient.id))).decision === 'deny', 1000)
    t.not(after, null, `denied by the other process within a second (after ${after} ms)`)
  })

  t.test('a recipient deactivated on one process is seen by the other within a second', async (t) => {
    const member = 'M-cache-7'
    const { recipient } = await consentedMember(t, a, member)
    t.equal(await fromMemory(t, b, billing(member, recipient.id)), 'allow')
    t.equal((await a.request({ method: 'PATCH', url: `/v1/recipients/${recipient.id}`, payload: { active: false } })).statusCode, 200)
    t.not(await until(async () => (await check(b, billing(member, recipient.id))).decision === 'deny', 1000), null)
  })

  t.test('while the change feed is down, checks read the database', async (t) => {
    const member = 'M-cache-8'
    const { recipient } = await consentedMember(t, a, member)
    t.equal(await fromMemory(t, b, billing(member, recipient.id)), 'allow')
    // Cut every listening connection; a change made while they are down is announced to nobody.
    await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND datname = current_database()`.execute(a.database.db)
    await until(async () => !b.app.changes.live, 1000)
    await sql`UPDATE consents SET withdrawn_at = now() WHERE member_id = ${member}`.execute(a.database.db)
    const down = b.app.changes.live ? undefined : await checkWithSource(b, billing(member, recipient.id))
    if (down !== undefined) t.same(down, { decision: 'deny', source: 'bypass' }, 'the feed is down: the database is asked, not the cache')
    t.equal((await check(b, billing(member, recipient.id))).decision, 'deny', 'the change is never served stale')
    t.not(await until(async () => b.app.changes.live, 5000), null, 'the feed reconnects')
    t.equal(await fromMemory(t, b, billing(member, recipient.id)), 'deny', 'and the cache is used again, afresh')
  })
})
